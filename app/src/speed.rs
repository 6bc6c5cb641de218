//! `/speed`: how fast this device trains. The benchmark workloads of the project (`BENCHMARKS.md`) run here on the
//! CPU (WebAssembly) and on the GPU (WebGPU), one after the other, with the results as a table and as JSON (which
//! `cargo xtask bench --browser` reads).

use crate::device::{gpu, use_device};
use crate::timing::yield_to_browser;
use engine::Device;
use engine::bench::{self, KernelInputs, Measurement};
use leptos::prelude::*;

/// Every workload on one device, letting the browser draw between them (each keeps the CPU busy for a second or
/// two); `report` gets each result as it comes. Each run reads its result back (no repeats to hide the readback):
/// in a browser the GPU is as likely to be emulated as real.
async fn run_device(device: &Device, name: &str, inputs: &KernelInputs, report: impl Fn(Measurement)) {
    const RUNS: usize = 5;
    for workload in bench::WORKLOADS {
        yield_to_browser().await;
        for m in bench::run_all(device, name, inputs, RUNS, false, &[workload]).await {
            report(m);
        }
    }
}

/// The page.
#[component]
pub fn Speed() -> impl IntoView {
    let page = use_device();
    let results = RwSignal::new(Vec::<Measurement>::new());
    let state = RwSignal::new("idle");
    let run = move |_| {
        if state.get_untracked() == "running" {
            return;
        }
        results.set(Vec::new());
        state.set("running");
        let page = page.get_untracked();
        wasm_bindgen_futures::spawn_local(async move {
            let push = |m: Measurement| results.update(|r| r.push(m));
            let mut inputs = KernelInputs::new(false);
            inputs.expect_from_cpu();
            run_device(&Device::Cpu, "wasm-cpu", &inputs, push).await;
            if let Some(gpu) = page.as_ref().and_then(gpu) {
                run_device(&gpu, "webgpu", &inputs, push).await;
            }
            state.set("done");
        });
    };
    let json = move || {
        let body = results.get().iter().map(Measurement::json).collect::<Vec<_>>().join(",\n  ");
        format!("{{\"results\": [\n  {body}\n]}}")
    };
    view! {
        <article class="speed">
            <h1>"Speed test"</h1>
            <p class="lede">
                "How fast does this device train? The benchmark workloads run here on the CPU (WebAssembly) and on "
                "the GPU (WebGPU, when the browser has it): a training step of the digits CNN and of the tabular "
                "Rossmann model, a 512x512 matrix product, and a convolution forward and backward. Each result is "
                "first checked against the CPU's, then timed five times after a warm-up."
            </p>
            <p class="note">
                "Matrix products on the CPU: "
                <span data-testid="cpu-kernel">{engine::device::cpu::sgemm::Kernel::best().describe()}</span>
                "."
            </p>
            <button type="button" data-testid="run-speed-test" on:click=run disabled=move || state.get() == "running">
                {move || if state.get() == "running" { "Running…" } else { "Run the speed test" }}
            </button>
            <table class="results" data-testid="speed-results">
                <thead>
                    <tr><th>"workload"</th><th>"backend"</th><th>"median"</th><th>"min"</th><th>"max"</th><th>"unit"</th></tr>
                </thead>
                <tbody>
                    {move || {
                        results
                            .get()
                            .into_iter()
                            .map(|m| match &m.error {
                                Some(e) => view! { <tr><td>{m.workload}</td><td>{m.backend.clone()}</td><td colspan="4" class="error">{e.clone()}</td></tr> }.into_any(),
                                None => view! {
                                    <tr>
                                        <td>{m.workload}</td>
                                        <td>{m.backend.clone()}</td>
                                        <td>{format!("{:.1}", m.median())}</td>
                                        <td>{format!("{:.1}", m.min())}</td>
                                        <td>{format!("{:.1}", m.max())}</td>
                                        <td>{m.unit}</td>
                                    </tr>
                                }
                                .into_any(),
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
            <pre class="json" tabindex="0" role="group" aria-label="The results as JSON" data-testid="bench-json" data-state=move || state.get()>{json}</pre>
        </article>
    }
}
