//! Browser tests (wasm-bindgen-test in headless Chromium, WebGPU on SwiftShader): every kernel compiles with
//! Chrome's WGSL compiler and matches its reference loops (now compiled to wasm), the wasm CPU's fast paths match
//! them too, and every conformance case passes on both devices. Run by `cargo xtask test`; by hand: `cargo test -p tests --target wasm32-unknown-unknown --test browser`.

#![cfg(target_arch = "wasm32")]

use engine::Device;
use engine::ops::OPS;
use engine::ops::check::every_op_against_reference;
use tests::conformance::{Case, run_case};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

include!(concat!(env!("OUT_DIR"), "/embedded_cases.rs"));

/// A WebGPU device, or `None` when the browser has none. Built with `REQUIRE_GPU` set (as `cargo xtask test`
/// does), a missing adapter fails the test instead.
async fn gpu() -> Option<Device> {
    match Device::gpu().await {
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
    assert!(label.starts_with("WebGPU: ") && !label.contains("unnamed"), "{label}");
}

#[wasm_bindgen_test]
async fn every_registered_op_on_webgpu_matches_its_reference_loops() {
    let Some(gpu) = gpu().await else { return };
    let report = every_op_against_reference(&gpu, 12).await;
    report.assert_ok();
    assert!(report.compared >= OPS.len());
}

#[wasm_bindgen_test]
async fn every_registered_op_on_the_wasm_cpu_matches_its_reference_loops() {
    // The fast paths built for WebAssembly (SIMD products, the threaded loops run in turn).
    every_op_against_reference(&Device::Cpu, 13).await.assert_ok();
}

#[wasm_bindgen_test]
async fn conformance_cases_pass_on_wasm_cpu_and_webgpu() {
    let gpu = gpu().await;
    let mut failures = Vec::new();
    for (path, text) in EMBEDDED_CASES {
        let case = Case::parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
        if let Err(f) = run_case(&Device::Cpu, &case).await {
            failures.push(format!("{} [wasm-cpu]: {f}", case.name));
        }
        if let Some(gpu) = &gpu
            && let Err(f) = run_case(gpu, &case).await
        {
            failures.push(format!("{} [webgpu]: {f}", case.name));
        }
    }
    console_log!("{} cases from {EMBEDDED_FROM}", EMBEDDED_CASES.len());
    assert!(EMBEDDED_CASES.len() >= 100, "only {} cases were embedded from {EMBEDDED_FROM}", EMBEDDED_CASES.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[wasm_bindgen_test]
async fn training_on_webgpu_follows_the_cpu_step_for_step() {
    let Some(gpu) = gpu().await else { return };
    let mut failures = tests::training::digits_cnn_agrees(&gpu).await;
    failures.extend(tests::training::tabular_model_agrees(&gpu).await);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[wasm_bindgen_test]
fn wasm_simd_products_equal_the_portable_ones() {
    use engine::device::cpu::sgemm::{Kernel, View, sgemm_with};
    assert_eq!(Kernel::best(), Kernel::Simd128, "the browser build multiplies with the WebAssembly SIMD kernel");
    let mut rng = engine::rng::Rng::new(61);
    // Ragged tiles (4 x 8), more than one slice of k (256), of A's rows (64) and of B's columns (512), transposed
    // operands, beta kept or dropped, and a result narrower than C's rows.
    for (m, k, n) in [(1, 1, 1), (5, 3, 9), (67, 300, 21), (70, 257, 530), (4, 8, 8)] {
        for (transpose_a, transpose_b, beta) in [(false, false, 0.0), (true, false, 0.5), (false, true, 1.0), (true, true, 0.0)] {
            let a = engine::Tensor::randn([m * k], &mut rng);
            let b = engine::Tensor::randn([k * n], &mut rng);
            let a_view = if transpose_a { View::rows(a.data(), 0, m).t() } else { View::rows(a.data(), 0, k) };
            let b_view = if transpose_b { View::rows(b.data(), 0, k).t() } else { View::rows(b.data(), 0, n) };
            let ldc = n + 3;
            let c0 = engine::Tensor::randn([m * ldc], &mut rng);
            let (mut simd, mut portable) = (c0.data().to_vec(), c0.data().to_vec());
            sgemm_with(Kernel::Simd128, 1, m, k, n, 1.5, a_view, b_view, beta, &mut simd, 0, ldc);
            sgemm_with(Kernel::MatrixMultiply, 1, m, k, n, 1.5, a_view, b_view, beta, &mut portable, 0, ldc);
            for (i, (s, p)) in simd.iter().zip(&portable).enumerate() {
                assert!((s - p).abs() <= 1e-4 * (1.0 + p.abs()), "{m}x{k}x{n} (transposed {transpose_a}, {transpose_b}) element {i}: {s} != {p}");
            }
            assert!(simd.iter().zip(c0.data()).enumerate().all(|(i, (s, c))| i % ldc < n || s == c), "columns past n are left alone");
        }
    }
}
