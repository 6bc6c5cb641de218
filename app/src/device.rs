//! The page's one device: WebGPU when the browser offers it, the CPU otherwise, with the reason. Chosen once at
//! start-up and shared with every lesson through context; every lesson, model and op runs on it without asking
//! which it is. This file is the one place the app looks at the device's kind: to choose it, to label it, to fall
//! back to the CPU when a GPU fails, and to train on the CPU where the GPU is the CPU in disguise.

use engine::Device;
use leptos::prelude::*;
use std::future::Future;

/// The device the page computes on.
#[derive(Clone, Debug)]
pub struct PageDevice {
    /// Where the lessons compute.
    pub device: Device,
    /// Why it is the CPU (WebGPU's refusal, in a sentence), or `None` on a GPU.
    pub why_cpu: Option<String>,
}

/// The shared handle: `None` while WebGPU is being asked for a device.
pub type DeviceResource = LocalResource<PageDevice>;

/// Starts looking for WebGPU and shares the result with every page.
pub fn provide_device() {
    provide_context(LocalResource::new(|| async {
        let (device, why_cpu) = Device::best().await;
        PageDevice { device, why_cpu }
    }));
}

/// The page's device, from [`provide_device`].
pub fn use_device() -> DeviceResource {
    expect_context::<DeviceResource>()
}

/// What [`with_fallback`] computed, where, and whether the CPU had to stand in.
pub struct Computed<T> {
    /// The result.
    pub value: T,
    /// The device that computed it, as the header names it.
    pub label: String,
    /// Set when the GPU failed and the CPU stood in, saying so.
    pub fallback: Option<String>,
}

/// Runs `work` on `device`; if a GPU fails, runs it again on the CPU (the page keeps working) and says so. An
/// error on the CPU is the engine's own sentence.
pub async fn with_fallback<T, F, Fut>(device: &Device, work: F) -> Result<Computed<T>, String>
where
    F: Fn(Device) -> Fut,
    Fut: Future<Output = engine::Result<T>>,
{
    let on_cpu = |fallback| async {
        let value = work(Device::Cpu).await.map_err(|e| e.to_string())?;
        Ok(Computed { value, label: Device::Cpu.label(), fallback })
    };
    if *device == Device::Cpu {
        return on_cpu(None).await;
    }
    match work(device.clone()).await {
        Ok(value) => Ok(Computed { value, label: device.label(), fallback: None }),
        Err(e) => on_cpu(Some(format!("The GPU failed ({e}), so this result was computed on the CPU."))).await,
    }
}

/// The page's GPU, if it computes on one: the speed test measures it beside the CPU.
pub fn gpu(page: &PageDevice) -> Option<Device> {
    (page.device != Device::Cpu).then(|| page.device.clone())
}

/// Where a model may train: the devices to offer (the page's, and the CPU when the page has a GPU), which of them
/// is the default, and why when the default is not the page's device.
pub struct TrainingDevices {
    /// `(device, label, key)`: the key names it in a form (`gpu`, `cpu`).
    pub choices: Vec<(Device, String, &'static str)>,
    /// The index of the default.
    pub default: usize,
    /// Why the default is not the page's device.
    pub note: Option<String>,
}

/// The devices to train on. On an adapter that runs shaders on the CPU (SwiftShader, llvmpipe: its device type
/// says CPU) the default is the CPU, where WebAssembly on the same processor trains 50 to 100 times faster
/// (digits: 26,947 against 354 images/s in one `bench --browser` run); the learner can still choose WebGPU.
pub fn training_devices(page: &PageDevice) -> TrainingDevices {
    let cpu = (Device::Cpu, "CPU (WebAssembly)".to_string(), "cpu");
    let Some(gpu) = gpu(page) else { return TrainingDevices { choices: vec![cpu], default: 0, note: None } };
    let label = gpu.label();
    let emulated = gpu.is_emulated();
    let note = emulated.then(|| {
        format!("Your browser's WebGPU ({label}) runs on the CPU, so training runs on the CPU directly, which is far faster there. You can still choose WebGPU.")
    });
    TrainingDevices { choices: vec![(gpu, label, "gpu"), cpu], default: usize::from(emulated), note }
}

/// The header badge naming the device, with a notice when WebGPU is missing.
#[component]
pub fn DeviceBadge() -> impl IntoView {
    let device = use_device();
    move || match device.get() {
        None => view! { <span class="backend" data-testid="backend">"Looking for a GPU…"</span> }.into_any(),
        Some(PageDevice { device, why_cpu: None }) => view! {
            <span class="backend gpu" data-testid="backend" title="Computed on your GPU with WebGPU compute shaders">
                {device.label()}
            </span>
        }
        .into_any(),
        Some(PageDevice { device, why_cpu: Some(why) }) => view! {
            <span class="backend cpu" data-testid="backend">{device.label()}</span>
            <p class="notice" role="status" data-testid="webgpu-notice">
                "WebGPU is not available here, so this page computes on the CPU: the same numbers, only slower. "
                <span class="why">"(" {why} ")"</span>
            </p>
        }
        .into_any(),
    }
}
