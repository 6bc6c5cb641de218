//! Browser tests (wasm-bindgen-test in headless Chromium, WebGPU on SwiftShader): every shader compiles with
//! Chrome's WGSL compiler, the WebGPU results match the CPU reference, and the conformance cases pass on both.
//! Run by `cargo xtask test`; by hand: `cargo test -p tests --target wasm32-unknown-unknown --test browser`.

#![cfg(target_arch = "wasm32")]

use engine::{Backend, Cpu, Gpu};
use tests::compare::{ATOL, RTOL, all_close};
use tests::conformance::{Case, run_case};
use tests::random::conv2d_cases;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

include!(concat!(env!("OUT_DIR"), "/embedded_cases.rs"));

/// A WebGPU device, or `None` when the browser has none. Built with `REQUIRE_GPU` set (as `cargo xtask test`
/// does), a missing adapter fails the test instead.
async fn gpu() -> Option<Gpu> {
    match Gpu::new().await {
        Ok(gpu) => Some(gpu),
        Err(e) if option_env!("REQUIRE_GPU").is_some() => panic!("REQUIRE_GPU was set at build time but {e}"),
        Err(e) => {
            console_log!("skipping WebGPU checks: {e}");
            None
        }
    }
}

#[wasm_bindgen_test]
async fn webgpu_adapter_is_found_and_labelled() {
    let Some(gpu) = gpu().await else { return };
    let label = gpu.label();
    console_log!("adapter: {label}");
    assert!(label.starts_with("WebGPU: "), "{label}");
}

#[wasm_bindgen_test]
async fn conv2d_webgpu_matches_cpu_reference_on_random_shapes() {
    let Some(gpu) = gpu().await else { return };
    for (i, case) in conv2d_cases(11, 30).iter().enumerate() {
        let want = Cpu.conv2d(&case.x, &case.w, case.b.as_ref(), &case.params).expect("a valid case");
        let (x, w, b) = (gpu.upload(&case.x), gpu.upload(&case.w), case.b.as_ref().map(|b| gpu.upload(b)));
        let y = gpu.conv2d(&x, &w, b.as_ref(), &case.params).expect("a valid case");
        let got = gpu.read(&y).await.expect("the WebGPU result comes back");
        assert_eq!(got.shape(), want.shape(), "case {i}");
        if let Err(m) = all_close("y", got.data(), want.data(), ATOL, RTOL) {
            panic!("case {i} ({:?}, x {}, w {}): {m}", case.params, case.x.shape(), case.w.shape());
        }
    }
}

#[wasm_bindgen_test]
async fn conv2d_conformance_cases_pass_on_cpu_and_webgpu() {
    let gpu = gpu().await;
    let mut ran = 0;
    let mut failures = Vec::new();
    for (path, text) in EMBEDDED_CASES {
        let case = Case::parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
        if !matches!(case.op.as_str(), "Conv" | "conv2d") {
            continue;
        }
        ran += 1;
        if let Err(f) = run_case(&Cpu, &case).await {
            failures.push(format!("{} [wasm-cpu]: {f}", case.name));
        }
        if let Some(gpu) = &gpu
            && let Err(f) = run_case(gpu, &case).await
        {
            failures.push(format!("{} [webgpu]: {f}", case.name));
        }
    }
    assert!(ran >= 25, "only {ran} conv cases were embedded from {EMBEDDED_FROM} (set CONFORMANCE_DIR)");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
