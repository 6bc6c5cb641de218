//! conv2d on the GPU (natively: Vulkan, lavapipe on CPU-only machines) against the CPU reference and against the
//! ONNX and PyTorch conformance cases.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use engine::{Backend, Cpu};
use tests::compare::{ATOL, RTOL, all_close};
use tests::conformance::{Case, default_dir, read_dir, run_case};
use tests::random::conv2d_cases;

#[test]
fn conv2d_gpu_matches_cpu_reference_on_random_shapes() {
    let Some(gpu) = common::gpu() else { return };
    for (i, case) in conv2d_cases(11, 60).iter().enumerate() {
        let want = Cpu.conv2d(&case.x, &case.w, case.b.as_ref(), &case.params).expect("a valid case");
        let (x, w, b) = (gpu.upload(&case.x), gpu.upload(&case.w), case.b.as_ref().map(|b| gpu.upload(b)));
        let y = gpu.conv2d(&x, &w, b.as_ref(), &case.params).expect("a valid case");
        let got = pollster::block_on(gpu.read(&y)).expect("the GPU result comes back");
        assert_eq!(got.shape(), want.shape(), "case {i}: {case:?}");
        if let Err(m) = all_close("y", got.data(), want.data(), ATOL, RTOL) {
            panic!("case {i} ({:?}, x {}, w {}): {m}", case.params, case.x.shape(), case.w.shape());
        }
    }
}

#[test]
fn conv2d_gpu_splits_large_outputs_over_a_2d_grid_of_workgroups() {
    let Some(gpu) = common::gpu() else { return };
    // 1 x 1 x 2049 x 2049 outputs = 65,601 workgroups of 64: more than one grid dimension allows.
    let mut rng = engine::rng::Rng::new(5);
    let x = engine::Tensor::randn([1, 1, 2049, 2049], &mut rng);
    let w = engine::Tensor::randn([1, 1, 1, 1], &mut rng);
    let params = engine::ops::Conv2dParams::default();
    let want = Cpu.conv2d(&x, &w, None, &params).unwrap();
    let y = gpu.conv2d(&gpu.upload(&x), &gpu.upload(&w), None, &params).unwrap();
    let got = pollster::block_on(gpu.read(&y)).unwrap();
    all_close("y", got.data(), want.data(), ATOL, RTOL).unwrap();
}

#[test]
fn conv2d_conformance_cases_pass_on_cpu_and_gpu() {
    let cases = read_dir(&default_dir()).expect("the conformance cases are readable (set CONFORMANCE_DIR)");
    let mut ran = 0;
    let mut failures = Vec::new();
    for (path, text) in &cases {
        let case = Case::parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
        if !matches!(case.op.as_str(), "Conv" | "conv2d") {
            continue;
        }
        ran += 1;
        if let Err(f) = pollster::block_on(run_case(&Cpu, &case)) {
            failures.push(format!("{} [cpu]: {f}", case.name));
        }
        if let Some(gpu) = common::gpu()
            && let Err(f) = pollster::block_on(run_case(gpu, &case))
        {
            failures.push(format!("{} [gpu]: {f}", case.name));
        }
    }
    assert!(ran >= 25, "only {ran} conv cases found");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
