//! `/speed`: how fast this device trains. The benchmark workloads of the project (`BENCH.md`) run here on the
//! CPU (WebAssembly) and on the GPU (WebGPU), one after the other, with the results as a table and as JSON (which
//! `cargo xtask bench --browser` reads).

use crate::compute::{Compute, use_compute};
use engine::bench::{self, KernelInputs, Measurement};
use engine::{Backend, Cpu};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Lets the browser draw before the next workload (each workload keeps the CPU busy for a second or two).
pub async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(resolve.unchecked_ref(), 0);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Every workload on one backend, pausing between them; `report` gets each result as it comes. Each run reads its
/// result back (no repeats to hide the readback): in a browser the GPU is as likely to be emulated as real.
async fn run_backend<B: Backend>(b: &B, name: &str, inputs: &KernelInputs, report: impl Fn(Measurement)) {
    const RUNS: usize = 5;
    for workload in bench::WORKLOADS {
        yield_to_browser().await;
        for m in bench::run_all(b, name, inputs, RUNS, false, &[workload]).await {
            report(m);
        }
    }
}

/// The page.
#[component]
pub fn Speed() -> impl IntoView {
    let compute = use_compute();
    let results = RwSignal::new(Vec::<Measurement>::new());
    let state = RwSignal::new("idle");
    let run = move |_| {
        if state.get_untracked() == "running" {
            return;
        }
        results.set(Vec::new());
        state.set("running");
        let compute = compute.get_untracked();
        wasm_bindgen_futures::spawn_local(async move {
            let push = |m: Measurement| results.update(|r| r.push(m));
            let mut inputs = KernelInputs::new(false);
            inputs.expect_from_cpu();
            run_backend(&Cpu, "wasm-cpu", &inputs, push).await;
            if let Some(Compute::Gpu(gpu)) = compute {
                run_backend(gpu.as_ref(), "webgpu", &inputs, push).await;
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
                <span data-testid="cpu-kernel">{engine::backend::sgemm::Kernel::best().describe()}</span>
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
            <pre class="json" data-testid="bench-json" data-state=move || state.get()>{json}</pre>
        </article>
    }
}
