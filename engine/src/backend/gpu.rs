//! The GPU backend on wgpu: WebGPU in the browser, Vulkan, Metal or DX12 natively (Mesa's lavapipe on CPU-only
//! Linux machines).
//!
//! Ops record compute passes into one pending command encoder; nothing is submitted until a tensor is read back,
//! so a chain of ops (a whole training step) is one submission with no readback in between. Pipelines are
//! compiled once per entry point and cached; storage buffers come from a pool and go back to it when their last
//! tensor is dropped. Every kernel runs 64 invocations per workgroup and takes its flat index as
//! `gid.x + gid.y · num_workgroups.x · 64`, so large tensors are split over a 2-D grid of workgroups that respects
//! the adapter's per-dimension limit.

use super::{Backend, DeviceTensor, shaders};
use crate::error::{Error, Result};
use crate::ops::adam::Adam;
use crate::ops::adaptive_avg_pool2d::AdaptiveAvgPool2d;
use crate::ops::avg_pool2d::AvgPool2d;
use crate::ops::batch_norm::{BatchNorm, BatchNormGrads, BatchNormOutput};
use crate::ops::concat::Concat;
use crate::ops::conv2d::{Conv2d, Conv2dGrads};
use crate::ops::cross_entropy::{CrossEntropy, CrossEntropyOutput};
use crate::ops::dropout::Dropout;
use crate::ops::embedding::Embedding;
use crate::ops::gemm::{Gemm, GemmGrads};
use crate::ops::matmul::Matmul;
use crate::ops::max_pool2d::MaxPool2d;
use crate::ops::mse::Mse;
use crate::ops::pad::Pad;
use crate::ops::relu;
use crate::ops::rmspe::Rmspe;
use crate::ops::sgd::Sgd;
use crate::ops::sigmoid::Sigmoid;
use crate::ops::softmax::Softmax;
use crate::ops::sum_to::SumTo;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use wgpu::util::DeviceExt;

/// Invocations per workgroup in every shader (`@workgroup_size(64)`).
const WORKGROUP_SIZE: usize = 64;

/// A GPU device with its queue, compiled pipelines, buffer pool and the work recorded since the last submission.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    max_workgroups: usize,
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<(&'static str, &'static str), wgpu::ComputePipeline>>,
    pending: Mutex<Option<wgpu::CommandEncoder>>,
    pool: Arc<Mutex<BufferPool>>,
    placeholder: wgpu::Buffer,
    submissions: std::sync::atomic::AtomicUsize,
    /// The first error the device reported since the last read, if any.
    failure: Arc<Mutex<Option<String>>>,
    /// Whether large matrix products stage their operands in workgroup memory (see [`Gpu::tiled_products`]).
    tiled_products: std::sync::atomic::AtomicBool,
}

/// A tensor in a GPU storage buffer. Cloning shares the buffer; when the last clone is dropped the buffer goes
/// back to the device's pool for the next tensor of a similar size.
#[derive(Clone, Debug)]
pub struct GpuTensor {
    shape: Shape,
    buffer: Arc<PooledBuffer>,
}

/// A storage buffer that returns to its pool when dropped.
#[derive(Debug)]
struct PooledBuffer {
    buffer: wgpu::Buffer,
    pool: Arc<Mutex<BufferPool>>,
}

/// Free storage buffers by size. Sizes are rounded up to a power of two (at least 256 bytes) so that buffers are
/// reused across slightly different shapes; kernels read their true sizes from their uniforms.
#[derive(Debug, Default)]
struct BufferPool {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        lock(&self.pool).free.entry(self.buffer.size()).or_default().push(self.buffer.clone());
    }
}

impl GpuTensor {
    /// The storage buffer holding the values, row-major (it may be longer than the tensor).
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer.buffer
    }

    /// How many values.
    pub fn numel(&self) -> usize {
        self.shape.numel()
    }

    /// The same values seen with another shape of the same size (no copy).
    pub fn reshaped(&self, shape: Shape) -> GpuTensor {
        assert_eq!(shape.numel(), self.shape.numel(), "reshape from {} to {shape} changes the size", self.shape);
        GpuTensor { shape, buffer: self.buffer.clone() }
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
            tiled_products: (!emulated(&info)).into(),
            info,
            device,
            queue,
            modules: Mutex::default(),
            pipelines: Mutex::default(),
            pending: Mutex::default(),
            pool: Arc::default(),
            placeholder,
            submissions: Default::default(),
            failure,
        })
    }

    /// Whether large matrix products use the kernel that copies 64x64 blocks of their operands into workgroup
    /// memory (each value read once per block instead of once per output). On a real GPU it does; on an adapter
    /// that emulates one on the CPU (lavapipe, SwiftShader) the workgroup's barriers cost more than the copies
    /// save, and products read their operands directly (gemm_512 on lavapipe: 1.4 GFLOP/s tiled, 2.2 direct).
    pub fn tiled_products(&self) -> bool {
        self.tiled_products.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Chooses the matrix-product kernel against [`Gpu::tiled_products`]'s default: tests check both kernels on
    /// whatever adapter they have.
    pub fn set_tiled_products(&self, tiled: bool) {
        self.tiled_products.store(tiled, std::sync::atomic::Ordering::Relaxed);
    }

    /// What wgpu knows about the adapter (name, backend, device type).
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// A tensor of `shape` whose values are left over from earlier work: for kernels that write every element.
    pub fn empty(&self, shape: Shape) -> GpuTensor {
        let size = ((shape.numel().max(1) * 4) as u64).next_power_of_two().max(256);
        let reused = lock(&self.pool).free.get_mut(&size).and_then(Vec::pop);
        let buffer = reused.unwrap_or_else(|| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        GpuTensor { shape, buffer: Arc::new(PooledBuffer { buffer, pool: self.pool.clone() }) }
    }

    /// How many buffers wait in the pool for reuse.
    pub fn pooled_buffers(&self) -> usize {
        lock(&self.pool).free.values().map(Vec::len).sum()
    }

    /// A 4-byte buffer bound where an optional input (such as a bias) is absent.
    pub fn placeholder(&self) -> &wgpu::Buffer {
        &self.placeholder
    }

    /// A tensor holding `words` (f32 or u32 bit patterns). The copy into the pooled buffer is recorded in order
    /// with the pending work, so a reused buffer is never overwritten before the work that reads it has run.
    pub fn upload_words(&self, shape: Shape, words: &[u32]) -> GpuTensor {
        let t = self.empty(shape);
        if !words.is_empty() {
            let staging = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("upload"),
                contents: bytemuck::cast_slice(words),
                usage: wgpu::BufferUsages::COPY_SRC,
            });
            let size = staging.size();
            self.record(|encoder| encoder.copy_buffer_to_buffer(&staging, 0, t.buffer(), 0, size));
        }
        t
    }

    /// Records commands into the pending encoder (created on first use).
    fn record(&self, commands: impl FnOnce(&mut wgpu::CommandEncoder)) {
        let mut pending = lock(&self.pending);
        commands(pending.get_or_insert_with(|| self.device.create_command_encoder(&Default::default())));
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

    /// How many pipelines have been compiled (each entry point once).
    pub fn compiled_pipelines(&self) -> usize {
        lock(&self.pipelines).len()
    }

    /// Records one kernel launch: binding 0 is a uniform buffer holding `uniforms`, the other bindings are the
    /// `(binding, buffer)` pairs (exactly those the entry point uses), and `invocations` threads run `entry` of
    /// `shaders/<shader>.wgsl` in workgroups of 64, laid out as a 2-D grid when one row would be too long.
    pub fn dispatch(&self, shader: &'static str, entry: &'static str, uniforms: &[u32], buffers: &[(u32, &wgpu::Buffer)], invocations: usize) {
        let workgroups = invocations.div_ceil(WORKGROUP_SIZE);
        let grid = if workgroups <= self.max_workgroups {
            [workgroups, 1, 1]
        } else {
            [self.max_workgroups, workgroups.div_ceil(self.max_workgroups), 1]
        };
        self.dispatch_grid(shader, entry, uniforms, buffers, grid);
    }

    /// Whether a tensor of `numel` values fits in one storage binding of this device (the pool rounds buffers up
    /// to a power of two).
    pub fn fits_in_binding(&self, numel: usize) -> bool {
        let size = ((numel.max(1) * 4) as u64).next_power_of_two();
        let limits = self.device.limits();
        size <= limits.max_storage_buffer_binding_size.min(limits.max_buffer_size)
    }

    /// The most workgroups a dispatch may have along one axis.
    pub fn max_workgroups(&self) -> usize {
        self.max_workgroups
    }

    /// A grid of one workgroup per item (a channel, say), in one row: a kernel dispatched on it loops over the
    /// items beyond the row's limit.
    pub fn one_group_each(&self, items: usize) -> [usize; 3] {
        [items.min(self.max_workgroups), 1, 1]
    }

    /// Like [`Gpu::dispatch`], for a kernel that lays out its own `[x, y, z]` grid of workgroups.
    pub fn dispatch_grid(&self, shader: &'static str, entry: &'static str, uniforms: &[u32], buffers: &[(u32, &wgpu::Buffer)], grid: [usize; 3]) {
        if grid.contains(&0) {
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
        entries.extend(buffers.iter().map(|&(binding, b)| wgpu::BindGroupEntry { binding, resource: b.as_entire_binding() }));
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(entry),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        self.record(|encoder| {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(entry), timestamp_writes: None });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(grid[0] as u32, grid[1] as u32, grid[2] as u32);
        });
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
        self.submissions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many command buffers have been submitted: one per read (or flush), however many ops came before.
    pub fn submissions(&self) -> usize {
        self.submissions.load(std::sync::atomic::Ordering::Relaxed)
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
        let size = (t.numel().max(1) * 4) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.submit_with(|encoder| encoder.copy_buffer_to_buffer(t.buffer(), 0, &staging, 0, size));

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

/// Whether the adapter runs shaders on the CPU: wgpu says so natively (lavapipe is a `Cpu` device); a browser
/// marks its software adapter as a fallback, or at least names it.
fn emulated(info: &wgpu::AdapterInfo) -> bool {
    let name = info.name.to_lowercase();
    info.device_type == wgpu::DeviceType::Cpu || ["swiftshader", "llvmpipe", "lavapipe"].iter().any(|n| name.contains(n))
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

type G = GpuTensor;

impl Backend for Gpu {
    type Tensor = GpuTensor;

    fn label(&self) -> String {
        let name = if self.info.name.is_empty() { "unnamed adapter" } else { &self.info.name };
        match self.info.backend {
            wgpu::Backend::BrowserWebGpu => format!("WebGPU: {name}"),
            backend => format!("{backend:?}: {name}"),
        }
    }

    fn upload(&self, t: &Tensor) -> G {
        self.upload_words(t.shape().clone(), bytemuck::cast_slice(t.data()))
    }

    async fn read(&self, t: &G) -> Result<Tensor> {
        self.read_tensor(t).await
    }

    fn reshape(&self, t: &G, shape: Shape) -> G {
        t.reshaped(shape)
    }

    fn zeros(&self, shape: Shape) -> G {
        let t = self.empty(shape);
        self.record(|encoder| encoder.clear_buffer(t.buffer(), 0, None));
        t
    }

    fn conv2d(&self, op: &Conv2d, x: &G, w: &G, b: Option<&G>) -> G {
        op.forward_gpu(self, x, w, b)
    }
    fn conv2d_backward(&self, op: &Conv2d, x: &G, w: &G, dy: &G) -> Conv2dGrads<G> {
        op.backward_gpu(self, x, w, dy)
    }
    fn conv2d_param_grads(&self, op: &Conv2d, x: &G, w: &G, dy: &G) -> (G, Option<G>) {
        op.param_grads_gpu(self, x, w, dy)
    }
    fn pad(&self, op: &Pad, x: &G) -> G {
        op.forward_gpu(self, x)
    }
    fn pad_backward(&self, op: &Pad, dy: &G) -> G {
        op.backward_gpu(self, dy)
    }
    fn avg_pool2d(&self, op: &AvgPool2d, x: &G) -> G {
        op.forward_gpu(self, x)
    }
    fn avg_pool2d_backward(&self, op: &AvgPool2d, dy: &G) -> G {
        op.backward_gpu(self, dy)
    }
    fn max_pool2d(&self, op: &MaxPool2d, x: &G) -> (G, G) {
        op.forward_gpu(self, x)
    }
    fn max_pool2d_backward(&self, op: &MaxPool2d, dy: &G, argmax: &G) -> G {
        op.backward_gpu(self, dy, argmax)
    }
    fn adaptive_avg_pool2d(&self, op: &AdaptiveAvgPool2d, x: &G) -> G {
        op.forward_gpu(self, x)
    }
    fn adaptive_avg_pool2d_backward(&self, op: &AdaptiveAvgPool2d, dy: &G) -> G {
        op.backward_gpu(self, dy)
    }
    fn dropout(&self, op: &Dropout, x: &G) -> (G, G) {
        op.forward_gpu(self, x)
    }
    fn dropout_backward(&self, op: &Dropout, dy: &G, mask: &G) -> G {
        op.backward_gpu(self, dy, mask)
    }
    fn batch_norm(&self, op: &BatchNorm, x: &G, weight: &G, bias: &G, running_mean: &G, running_var: &G) -> BatchNormOutput<G> {
        op.forward_gpu(self, x, weight, bias, running_mean, running_var)
    }
    fn batch_norm_backward(&self, op: &BatchNorm, x: &G, weight: &G, saved: &BatchNormOutput<G>, dy: &G) -> BatchNormGrads<G> {
        op.backward_gpu(self, x, weight, saved, dy)
    }
    fn gemm(&self, op: &Gemm, a: &G, b: &G, c: Option<&G>) -> G {
        op.forward_gpu(self, a, b, c)
    }
    fn gemm_backward(&self, op: &Gemm, a: &G, b: &G, dy: &G) -> GemmGrads<G> {
        op.backward_gpu(self, a, b, dy)
    }
    fn matmul(&self, op: &Matmul, a: &G, b: &G) -> G {
        op.forward_gpu(self, a, b)
    }
    fn matmul_backward(&self, op: &Matmul, a: &G, b: &G, dy: &G) -> (G, G) {
        op.backward_gpu(self, a, b, dy)
    }
    fn concat(&self, op: &Concat, xs: &[&G]) -> G {
        op.forward_gpu(self, xs)
    }
    fn concat_backward(&self, op: &Concat, dy: &G) -> Vec<G> {
        op.backward_gpu(self, dy)
    }
    fn sum_to(&self, op: &SumTo, x: &G) -> G {
        op.forward_gpu(self, x)
    }
    fn relu(&self, x: &G) -> G {
        relu::forward_gpu(self, x)
    }
    fn relu_backward(&self, x: &G, dy: &G) -> G {
        relu::backward_gpu(self, x, dy)
    }
    fn sigmoid(&self, op: &Sigmoid, x: &G) -> G {
        op.forward_gpu(self, x)
    }
    fn sigmoid_backward(&self, op: &Sigmoid, x: &G, dy: &G) -> G {
        op.backward_gpu(self, x, dy)
    }
    fn softmax(&self, op: &Softmax, x: &G) -> G {
        op.forward_gpu(self, x)
    }
    fn softmax_backward(&self, op: &Softmax, y: &G, dy: &G) -> G {
        op.backward_gpu(self, y, dy)
    }
    fn embedding(&self, op: &Embedding, weight: &G) -> G {
        op.forward_gpu(self, weight)
    }
    fn embedding_backward(&self, op: &Embedding, dy: &G) -> G {
        op.backward_gpu(self, dy)
    }
    fn cross_entropy(&self, op: &CrossEntropy, logits: &G, weight: Option<&G>) -> CrossEntropyOutput<G> {
        op.forward_gpu(self, logits, weight)
    }
    fn cross_entropy_backward(&self, op: &CrossEntropy, saved: &CrossEntropyOutput<G>, weight: Option<&G>, dloss: &G) -> G {
        op.backward_gpu(self, saved, weight, dloss)
    }
    fn mse(&self, op: &Mse, input: &G, target: &G) -> G {
        op.forward_gpu(self, input, target)
    }
    fn mse_backward(&self, op: &Mse, input: &G, target: &G, dloss: &G) -> (G, G) {
        op.backward_gpu(self, input, target, dloss)
    }
    fn rmspe(&self, op: &Rmspe, y: &G, yhat: &G) -> G {
        op.forward_gpu(self, y, yhat)
    }
    fn rmspe_backward(&self, op: &Rmspe, y: &G, yhat: &G, loss: &G, dloss: &G) -> (G, G) {
        op.backward_gpu(self, y, yhat, loss, dloss)
    }
    fn sgd(&self, op: &Sgd, param: &mut G, grad: &G, velocity: &mut Option<G>) {
        op.step_gpu(self, param, grad, velocity)
    }
    fn adam(&self, op: &Adam, step: u32, param: &mut G, grad: &G, m: &mut G, v: &mut G) {
        op.step_gpu(self, step, param, grad, m, v)
    }
}
