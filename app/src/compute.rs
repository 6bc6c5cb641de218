//! Which backend the page computes on: WebGPU when the browser offers it, the CPU otherwise. Chosen once at
//! start-up and shared with every lesson through context.

use engine::ops::conv2d::conv2d;
use engine::ops::Conv2dParams;
use engine::{Backend, Cpu, Gpu, Tensor};
use leptos::prelude::*;
use std::sync::Arc;

/// The backend chosen for this page.
#[derive(Clone)]
pub enum Compute {
    /// A WebGPU device.
    Gpu(Arc<Gpu>),
    /// The CPU, with the reason WebGPU could not be used.
    Cpu {
        /// Why there is no GPU, in a sentence.
        why: String,
    },
}

impl Compute {
    /// Tries WebGPU, falling back to the CPU.
    async fn detect() -> Compute {
        match Gpu::new().await {
            Ok(gpu) => Compute::Gpu(Arc::new(gpu)),
            Err(e) => Compute::Cpu { why: e.to_string() },
        }
    }

    /// `WebGPU: <adapter>` or `CPU`.
    pub fn label(&self) -> String {
        match self {
            Compute::Gpu(gpu) => gpu.label(),
            Compute::Cpu { .. } => Cpu.label(),
        }
    }
}

/// A convolution computed where the page computes.
pub struct Computed {
    /// The output.
    pub output: Tensor,
    /// The backend that computed it.
    pub backend: String,
    /// Set when the GPU failed and the CPU stood in, saying so.
    pub fallback: Option<String>,
}

impl Compute {
    /// `conv2d(x, w) + b` on this backend; if the GPU fails, on the CPU instead (with a note), so the page keeps
    /// working.
    pub async fn conv2d(&self, x: &Tensor, w: &Tensor, b: Option<&Tensor>, params: &Conv2dParams) -> Result<Computed, String> {
        async fn run<B: Backend>(backend: &B, x: &Tensor, w: &Tensor, b: Option<&Tensor>, params: &Conv2dParams) -> engine::Result<Tensor> {
            let bias = b.map(|b| backend.upload(b));
            let y = conv2d(backend, &backend.upload(x), &backend.upload(w), bias.as_ref(), params)?;
            backend.read(&y).await
        }
        let on_cpu = || async { run(&Cpu, x, w, b, params).await.map_err(|e| e.to_string()) };
        match self {
            Compute::Gpu(gpu) => match run(gpu.as_ref(), x, w, b, params).await {
                Ok(output) => Ok(Computed { output, backend: gpu.label(), fallback: None }),
                Err(e) => Ok(Computed {
                    output: on_cpu().await?,
                    backend: Cpu.label(),
                    fallback: Some(format!("The GPU failed ({e}), so this result was computed on the CPU.")),
                }),
            },
            Compute::Cpu { .. } => Ok(Computed { output: on_cpu().await?, backend: Cpu.label(), fallback: None }),
        }
    }
}

/// The shared handle: `None` while the GPU is being looked for.
pub type ComputeResource = LocalResource<Compute>;

/// Starts looking for a GPU and shares the result with every page.
pub fn provide_compute() {
    provide_context(LocalResource::new(Compute::detect));
}

/// The backend handle provided by [`provide_compute`].
pub fn use_compute() -> ComputeResource {
    expect_context::<ComputeResource>()
}

/// The header badge naming the backend, with a notice when WebGPU is missing.
#[component]
pub fn BackendBadge() -> impl IntoView {
    let compute = use_compute();
    move || match compute.get() {
        None => view! { <span class="backend" data-testid="backend">"Looking for a GPU…"</span> }.into_any(),
        Some(c @ Compute::Gpu(_)) => view! {
            <span class="backend gpu" data-testid="backend" title="Computed on your GPU with WebGPU compute shaders">
                {c.label()}
            </span>
        }
        .into_any(),
        Some(Compute::Cpu { why }) => view! {
            <span class="backend cpu" data-testid="backend">{Cpu.label()}</span>
            <p class="notice" role="status" data-testid="webgpu-notice">
                "WebGPU is not available here, so this page computes on the CPU: the same numbers, only slower. "
                <span class="why">"(" {why} ")"</span>
            </p>
        }
        .into_any(),
    }
}
