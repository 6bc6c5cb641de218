//! The GPU backend on wgpu: WebGPU in the browser, Vulkan, Metal or DX12 natively (Mesa's lavapipe on CPU-only
//! Linux machines).
//!
//! Ops record compute passes into one pending command encoder; nothing is submitted until a tensor is read back,
//! so a chain of ops is one submission with no readback in between. Pipelines are compiled once per entry point
//! and cached. Every kernel runs 64 invocations per workgroup and takes its flat index as
//! `gid.x + gid.y · num_workgroups.x · 64`, so large tensors are split over a 2-D grid of workgroups that respects
//! the adapter's per-dimension limit.

use super::{Backend, DeviceTensor, shaders};
use crate::error::{Error, Result};
use crate::ops::conv2d::{Conv2d, Conv2dParams};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use wgpu::util::DeviceExt;

/// Invocations per workgroup in every shader (`@workgroup_size(64)`).
const WORKGROUP_SIZE: usize = 64;

/// A GPU device with its queue, compiled pipelines and the work recorded since the last submission.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    max_workgroups: usize,
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<(&'static str, &'static str), wgpu::ComputePipeline>>,
    pending: Mutex<Option<wgpu::CommandEncoder>>,
    placeholder: wgpu::Buffer,
    /// The first error the device reported since the last read, if any.
    failure: Arc<Mutex<Option<String>>>,
}

/// A tensor in a GPU storage buffer.
#[derive(Clone, Debug)]
pub struct GpuTensor {
    shape: Shape,
    buffer: wgpu::Buffer,
}

impl GpuTensor {
    /// The storage buffer holding the values, row-major.
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// How many values.
    pub fn numel(&self) -> usize {
        self.shape.numel()
    }
}

impl DeviceTensor for GpuTensor {
    fn shape(&self) -> &Shape {
        &self.shape
    }
}

/// Locks a mutex, carrying on after a panic elsewhere (the data it guards stays consistent).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Gpu {
    /// Finds a GPU adapter and opens a device on it; an error says why none could be used.
    pub async fn new() -> Result<Gpu> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let options = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        };
        let adapter = instance.request_adapter(&options).await.map_err(|e| {
            Error::Gpu(format!(
                "no GPU adapter is available ({e}); in a browser, use a recent Chrome, Edge or Firefox with WebGPU on"
            ))
        })?;
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("engine"),
            required_limits: adapter.limits(),
            ..Default::default()
        };
        let (device, queue) = adapter
            .request_device(&descriptor)
            .await
            .map_err(|e| Error::Gpu(format!("the GPU adapter refused to open a device ({e})")))?;
        let failure = Arc::new(Mutex::new(None));
        let sink = failure.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            lock(&sink).get_or_insert_with(|| e.to_string());
        }));
        let placeholder = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("placeholder"),
            size: 4,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let info = adapter.get_info();
        #[cfg(target_arch = "wasm32")]
        let info = match info.name.is_empty() {
            true => wgpu::AdapterInfo { name: browser_adapter_name().await.unwrap_or_default(), ..info },
            false => info,
        };
        Ok(Gpu {
            max_workgroups: device.limits().max_compute_workgroups_per_dimension as usize,
            info,
            device,
            queue,
            modules: Mutex::default(),
            pipelines: Mutex::default(),
            pending: Mutex::default(),
            placeholder,
            failure,
        })
    }

    /// What wgpu knows about the adapter (name, backend, device type).
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// An uninitialised-to-zero tensor of `shape` on the GPU.
    pub fn empty(&self, shape: Shape) -> GpuTensor {
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: Self::byte_size(shape.numel()),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        GpuTensor { shape, buffer }
    }

    /// A 4-byte buffer bound where an optional input (such as a bias) is absent.
    pub fn placeholder(&self) -> &wgpu::Buffer {
        &self.placeholder
    }

    /// Buffers are never empty: a binding of size 0 is invalid.
    fn byte_size(numel: usize) -> u64 {
        (numel.max(1) * 4) as u64
    }

    /// The compiled pipeline for `entry` in `shaders/<shader>.wgsl`, compiled on first use.
    fn pipeline(&self, shader: &'static str, entry: &'static str) -> wgpu::ComputePipeline {
        if let Some(p) = lock(&self.pipelines).get(&(shader, entry)) {
            return p.clone();
        }
        let module = lock(&self.modules)
            .entry(shader)
            .or_insert_with(|| {
                // Registration is checked by the engine's shader test, so a missing name is a programming error.
                let source = shaders::source(shader).unwrap_or_else(|| panic!("shader {shader} is not registered"));
                self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(shader),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                })
            })
            .clone();
        let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        lock(&self.pipelines).insert((shader, entry), pipeline.clone());
        pipeline
    }

    /// Records one kernel launch: binding 0 is a uniform buffer holding `uniforms`, bindings 1.. are `buffers` in
    /// order, and `invocations` threads run `entry` of `shaders/<shader>.wgsl`.
    pub fn dispatch(
        &self,
        shader: &'static str,
        entry: &'static str,
        uniforms: &[u32],
        buffers: &[&wgpu::Buffer],
        invocations: usize,
    ) {
        if invocations == 0 {
            return;
        }
        let pipeline = self.pipeline(shader, entry);
        // Uniform structs are sized in multiples of 16 bytes.
        let mut words = uniforms.to_vec();
        words.resize(uniforms.len().div_ceil(4).max(1) * 4, 0);
        let params = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(shader),
            contents: bytemuck::cast_slice(&words),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() }];
        entries.extend(
            buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32 + 1, resource: b.as_entire_binding() }),
        );
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(entry),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let workgroups = invocations.div_ceil(WORKGROUP_SIZE);
        let (x, y) = if workgroups <= self.max_workgroups {
            (workgroups, 1)
        } else {
            (self.max_workgroups, workgroups.div_ceil(self.max_workgroups))
        };
        let mut pending = lock(&self.pending);
        let encoder = pending.get_or_insert_with(|| self.device.create_command_encoder(&Default::default()));
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(entry), timestamp_writes: None });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(x as u32, y as u32, 1);
    }

    /// Submits everything recorded so far.
    pub fn flush(&self) {
        self.submit_with(|_| {});
    }

    /// Appends `last` to the recorded work and submits it all. The lock is held until the submission is queued, so
    /// work another thread records meanwhile cannot be submitted ahead of the work it depends on.
    fn submit_with(&self, last: impl FnOnce(&mut wgpu::CommandEncoder)) {
        let mut pending = lock(&self.pending);
        let mut encoder = pending.take().unwrap_or_else(|| self.device.create_command_encoder(&Default::default()));
        last(&mut encoder);
        self.queue.submit([encoder.finish()]);
    }

    /// The first error the device reported since the last call, as an [`Error`].
    fn take_failure(&self) -> Result<()> {
        match lock(&self.failure).take() {
            Some(message) => Err(Error::Gpu(message)),
            None => Ok(()),
        }
    }

    /// Copies `t` back to the CPU once the recorded work has run.
    pub async fn read_tensor(&self, t: &GpuTensor) -> Result<Tensor> {
        let size = Self::byte_size(t.numel());
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.submit_with(|encoder| encoder.copy_buffer_to_buffer(&t.buffer, 0, &staging, 0, size));

        let (sender, receiver) = futures_channel::oneshot::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        // Natively the device must be polled for the mapping to complete; in the browser the callback fires on its
        // own (and blocking would deadlock the page).
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU failed ({e})")))?;
        let mapped = receiver.await;
        self.take_failure()?;
        match mapped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Error::Gpu(format!("reading a result back failed ({e})"))),
            Err(_) => return Err(Error::Gpu("the GPU device was lost before the result came back".into())),
        }
        let values: Vec<f32> = {
            let view = staging
                .slice(..)
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("reading a result back failed ({e})")))?;
            view.chunks_exact(4).take(t.numel()).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        };
        staging.unmap();
        Tensor::new(t.shape.clone(), values)
    }
}

/// The adapter's name as the browser reports it: wgpu copies only `info.description`, which Chrome leaves empty,
/// so this falls back to `vendor architecture` (such as `google swiftshader`).
#[cfg(target_arch = "wasm32")]
async fn browser_adapter_name() -> Option<String> {
    use js_sys::{Function, Promise, Reflect};
    let get = |target: &wasm_bindgen::JsValue, key: &str| Reflect::get(target, &key.into()).ok();
    let gpu = get(&get(&js_sys::global(), "navigator")?, "gpu")?;
    let request: Function = get(&gpu, "requestAdapter")?.into();
    let promise: Promise = request.call0(&gpu).ok()?.into();
    let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let info = get(&adapter, "info")?;
    let field = |key: &str| get(&info, key).and_then(|v| v.as_string()).unwrap_or_default();
    let description = field("description");
    let name = if description.is_empty() { format!("{} {}", field("vendor"), field("architecture")) } else { description };
    let name = name.trim().to_string();
    (!name.is_empty()).then_some(name)
}

impl Backend for Gpu {
    type Tensor = GpuTensor;

    fn label(&self) -> String {
        let name = if self.info.name.is_empty() { "unnamed adapter" } else { &self.info.name };
        match self.info.backend {
            wgpu::Backend::BrowserWebGpu => format!("WebGPU: {name}"),
            backend => format!("{backend:?}: {name}"),
        }
    }

    fn upload(&self, t: &Tensor) -> GpuTensor {
        let contents: &[u8] = if t.data().is_empty() { &[0; 4] } else { bytemuck::cast_slice(t.data()) };
        let buffer = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        });
        GpuTensor { shape: t.shape().clone(), buffer }
    }

    async fn read(&self, t: &GpuTensor) -> Result<Tensor> {
        self.read_tensor(t).await
    }

    fn conv2d(&self, x: &GpuTensor, w: &GpuTensor, b: Option<&GpuTensor>, params: &Conv2dParams) -> Result<GpuTensor> {
        Ok(Conv2d::new(params, &x.shape, &w.shape, b.map(|b| &b.shape))?.forward_gpu(self, x, w, b))
    }
}
