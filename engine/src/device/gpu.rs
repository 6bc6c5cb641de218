//! The GPU device on wgpu: WebGPU in the browser, Vulkan, Metal or DX12 natively (Mesa's lavapipe on CPU-only
//! Linux machines).
//!
//! Ops record compute passes into one pending command encoder; nothing is submitted until a tensor is read back,
//! so a chain of ops (a whole training step) is one submission with no readback in between. Pipelines are
//! compiled once per entry point and cached; storage buffers come from a pool and go back to it when their last
//! tensor is dropped. Every shader is compiled with `shaders/prelude.wgsl` in front of it, runs 64 invocations per
//! workgroup and takes its flat index from the prelude's `flat_index`, so large tensors are split over a 2-D grid
//! of workgroups that respects the adapter's per-dimension limit.
//!
//! The GPU knows buffers and kernels, not tensors or ops: an op hands it a [`Kernel`] (its shader's source, an entry
//! point and the bindings it takes, declared once with [`kernels!`]), a uniform struct and the buffers to bind.
//! A kernel's parameters arrive in a uniform buffer: a `#[repr(C)]` struct declared with [`uniforms!`], member for
//! member the shader's `Params`. A native test reads every shader through naga and checks each declaration against
//! it: the entry point exists, it uses exactly the declared bindings under the declared names, and its `Params`
//! has the uniform struct's names, order and offsets.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use wgpu::util::DeviceExt;

/// Invocations per workgroup in every shader: the prelude's `WORKGROUP_SIZE`, in `@workgroup_size(WORKGROUP_SIZE)`.
pub const WORKGROUP_SIZE: usize = 64;

/// What every shader is compiled with in front of it: the flat invocation index, padding's source index, workgroup
/// sums and pooling window geometry.
pub const PRELUDE: &str = include_str!("../../../shaders/prelude.wgsl");

/// A WGSL shader, `shaders/<name>.wgsl`: compiled with [`PRELUDE`] in front of it.
#[derive(Debug)]
pub struct Shader {
    /// The file's name without `.wgsl`, which is also its op's name.
    pub name: &'static str,
    /// The file's source, without the prelude.
    pub source: &'static str,
}

impl Shader {
    /// The source the GPU compiles: the prelude, then the shader.
    pub fn full_source(&self) -> String {
        format!("{PRELUDE}\n{}", self.source)
    }
}

/// One entry point of a shader with the storage buffers it binds, `(name in the WGSL, binding number)` in the
/// order a dispatch passes them, and its uniform struct `U` at binding 0. Declared once per kernel with
/// [`kernels!`]; a dispatch takes exactly `N` buffers, and a native test checks the declaration against the shader.
pub struct Kernel<U, const N: usize> {
    /// The shader the entry point is in.
    pub shader: &'static Shader,
    /// The entry point's name.
    pub entry: &'static str,
    /// `(name, binding)` of each storage buffer, in the order a dispatch passes them.
    pub bindings: [(&'static str, u32); N],
    uniforms: PhantomData<fn() -> U>,
}

impl<U: Uniforms, const N: usize> Kernel<U, N> {
    /// A kernel: `entry` of `shader`, binding `bindings`.
    pub const fn new(shader: &'static Shader, entry: &'static str, bindings: [(&'static str, u32); N]) -> Self {
        Kernel { shader, entry, bindings, uniforms: PhantomData }
    }

    /// What the check against the shader reads.
    pub fn declaration(&'static self) -> Declaration {
        Declaration {
            shader: self.shader,
            entry: self.entry,
            bindings: &self.bindings,
            uniform_members: U::MEMBERS,
            uniform_size: std::mem::size_of::<U>(),
        }
    }
}

/// A [`Kernel`]'s declaration without its types, as the check against its shader reads it.
#[derive(Clone, Copy, Debug)]
pub struct Declaration {
    /// The shader.
    pub shader: &'static Shader,
    /// The entry point.
    pub entry: &'static str,
    /// `(name, binding)` of each storage buffer.
    pub bindings: &'static [(&'static str, u32)],
    /// `(name, byte offset)` of each member of the uniform struct.
    pub uniform_members: &'static [(&'static str, usize)],
    /// The uniform struct's size in bytes.
    pub uniform_size: usize,
}

/// Declares an op's shader and its kernels, once: `shader "relu", uniforms Uniforms;` then one line per entry
/// point, `FORWARD = forward(x: 1, y: 2);`, naming the storage bindings it takes as the WGSL names them, in the
/// order a dispatch passes them. It defines the private statics `SHADER` and one [`Kernel`] per line, and (for the
/// shared checks) `pub fn kernels()` listing their declarations.
#[macro_export]
macro_rules! kernels {
    (shader $name:literal, uniforms $uniforms:ty; $($(#[$meta:meta])* $kernel:ident = $entry:ident($($binding:ident: $slot:literal),+ $(,)?);)+) => {
        /// This op's shader.
        static SHADER: $crate::device::gpu::Shader = $crate::device::gpu::Shader {
            name: $name,
            source: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../shaders/", $name, ".wgsl")),
        };
        $(
            $(#[$meta])*
            static $kernel: $crate::device::gpu::Kernel<$uniforms, { [$($slot),+].len() }> =
                $crate::device::gpu::Kernel::new(&SHADER, stringify!($entry), [$((stringify!($binding), $slot)),+]);
        )+

        /// Every kernel this op declares, for the check against its shader.
        #[cfg(any(test, feature = "check"))]
        pub fn kernels() -> Vec<$crate::device::gpu::Declaration> {
            vec![$($kernel.declaration()),+]
        }
    };
}

/// A kernel's uniform buffer: a `#[repr(C)]` struct laid out exactly like the shader's `Params`. Declare one with
/// [`uniforms!`], which also lists its members for the layout test.
pub trait Uniforms: bytemuck::Pod {
    /// `(name, byte offset)` of every member, in order.
    const MEMBERS: &'static [(&'static str, usize)];
}

/// Declares a kernel's uniform struct: `#[repr(C)]`, `Pod`, with its members listed for the layout test. Every
/// member is a `u32`, `i32`, `f32` or an array of them, named as in the shader's `Params`; where WGSL aligns a
/// `vec4` to 16 bytes, add an explicit `_unused` member so that the offsets agree.
#[macro_export]
macro_rules! uniforms {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        #[allow(missing_docs)]
        $vis struct $name {
            $(pub $field: $ty),*
        }

        impl $crate::device::gpu::Uniforms for $name {
            const MEMBERS: &'static [(&'static str, usize)] = &[$((stringify!($field), std::mem::offset_of!($name, $field))),*];
        }
    };
}

/// A GPU: its device and queue, compiled pipelines, buffer pool and the work recorded since the last submission.
/// Cloning shares it (every GPU tensor holds its GPU).
#[derive(Clone)]
pub struct Gpu {
    state: Arc<GpuState>,
}

struct GpuState {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    max_workgroups: usize,
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<(&'static str, &'static str), wgpu::ComputePipeline>>,
    pending: Mutex<Option<wgpu::CommandEncoder>>,
    pool: Mutex<BufferPool>,
    placeholder: wgpu::Buffer,
    submissions: AtomicUsize,
    /// Storage buffers created (not reused from the pool) since the device opened.
    created: AtomicUsize,
    /// The first error the device reported since the last read, if any.
    failure: Arc<Mutex<Option<String>>>,
    /// Why the device was lost (the driver reset it, the browser took it back, or it was destroyed), once it is.
    lost: Arc<Mutex<Option<String>>>,
    /// Whether large matrix products stage their operands in workgroup memory (see [`Gpu::tiled_products`]).
    tiled_products: AtomicBool,
}

impl PartialEq for Gpu {
    fn eq(&self, other: &Gpu) -> bool {
        Arc::ptr_eq(&self.state, &other.state)
    }
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gpu({})", self.label())
    }
}

/// A storage buffer (a GPU tensor's values); it returns to its GPU's pool when dropped.
pub struct GpuBuffer {
    buffer: wgpu::Buffer,
    gpu: Gpu,
}

impl GpuBuffer {
    /// The buffer (it may be longer than the tensor: sizes are rounded up for reuse).
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// The GPU it belongs to.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        lock(&self.gpu.state.pool).free.entry(self.buffer.size()).or_default().push(self.buffer.clone());
    }
}

/// Free storage buffers by size. Sizes are rounded up to a power of two (at least 256 bytes) so that buffers are
/// reused across slightly different shapes; kernels read their true sizes from their uniforms.
#[derive(Debug, Default)]
struct BufferPool {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
}

/// Locks a mutex, carrying on after a panic elsewhere (the data it guards stays consistent).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Gpu {
    /// Finds a GPU adapter and opens a device on it; an error says why none could be used.
    pub async fn new() -> Result<Gpu> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let options = wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() };
        let adapter = instance.request_adapter(&options).await.map_err(|e| {
            Error::Gpu(format!("no GPU adapter is available ({e}); in a browser, use a recent Chrome, Edge or Firefox with WebGPU on"))
        })?;
        let descriptor = wgpu::DeviceDescriptor { label: Some("engine"), required_limits: adapter.limits(), ..Default::default() };
        let (device, queue) =
            adapter.request_device(&descriptor).await.map_err(|e| Error::Gpu(format!("the GPU adapter refused to open a device ({e})")))?;
        let failure = Arc::new(Mutex::new(None));
        let sink = failure.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            lock(&sink).get_or_insert_with(|| e.to_string());
        }));
        // A lost device answers nothing more: every read after it fails with this reason, and the page can move
        // its work to a new device (see [`Gpu::is_lost`]).
        let lost = Arc::new(Mutex::new(None));
        let lost_sink = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            lock(&lost_sink).get_or_insert_with(|| format!("{reason:?}: {message}"));
        });
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
        let state = GpuState {
            max_workgroups: device.limits().max_compute_workgroups_per_dimension as usize,
            tiled_products: (!emulated(&info)).into(),
            info,
            device,
            queue,
            modules: Mutex::default(),
            pipelines: Mutex::default(),
            pending: Mutex::default(),
            pool: Mutex::default(),
            placeholder,
            submissions: AtomicUsize::new(0),
            created: AtomicUsize::new(0),
            failure,
            lost,
        };
        Ok(Gpu { state: Arc::new(state) })
    }

    /// `WebGPU: <adapter>` in the browser, `Vulkan: <adapter>` (or Metal, DX12) natively.
    pub fn label(&self) -> String {
        let info = &self.state.info;
        let name = if info.name.is_empty() { "unnamed adapter" } else { &info.name };
        match info.backend {
            wgpu::Backend::BrowserWebGpu => format!("WebGPU: {name}"),
            backend => format!("{backend:?}: {name}"),
        }
    }

    /// What wgpu knows about the adapter (name, backend, device type).
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.state.info
    }

    /// The device's limits (the adapter's own: the engine asks for all it offers), as the home page shows them.
    pub fn limits(&self) -> wgpu::Limits {
        self.state.device.limits()
    }

    /// Whether the adapter runs shaders on the CPU (lavapipe, llvmpipe, SwiftShader).
    pub fn is_emulated(&self) -> bool {
        emulated(&self.state.info)
    }

    /// Whether large matrix products use the kernel that copies 64x64 blocks of their operands into workgroup
    /// memory (each value read once per block instead of once per output). On a real GPU it does; on an adapter
    /// that emulates one on the CPU (lavapipe, SwiftShader) the workgroup's barriers cost more than the copies
    /// save, and products read their operands directly (gemm_512 on lavapipe: 1.4 GFLOP/s tiled, 2.2 direct).
    pub fn tiled_products(&self) -> bool {
        self.state.tiled_products.load(Ordering::Relaxed)
    }

    /// Chooses the matrix-product kernel against [`Gpu::tiled_products`]'s default: tests check both kernels on
    /// whatever adapter they have.
    pub fn set_tiled_products(&self, tiled: bool) {
        self.state.tiled_products.store(tiled, Ordering::Relaxed);
    }

    /// Whether the device was lost: nothing computed on it can be read back any more, and its work has to start
    /// again on a new device (from the last weights read back).
    pub fn is_lost(&self) -> bool {
        lock(&self.state.lost).is_some()
    }

    /// Destroys the device, as a driver reset or the browser taking the GPU back would lose it (test code).
    #[cfg(any(test, feature = "check"))]
    pub fn destroy(&self) {
        self.state.device.destroy();
        // Natively wgpu calls the lost callback when the device is next polled.
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.state.device.poll(wgpu::PollType::Poll);
    }

    /// The largest buffer a tensor may have here, in bytes: every tensor is bound as one storage buffer.
    pub fn max_buffer_bytes(&self) -> u64 {
        let limits = self.state.device.limits();
        limits.max_storage_buffer_binding_size.min(limits.max_buffer_size)
    }

    /// A buffer for `numel` values, left over from earlier work: for kernels that write every element. One larger
    /// than the device allows is refused: the next read fails, saying how large it was and what the device allows
    /// (a small buffer stands in, so that the work recorded meanwhile stays valid).
    pub fn buffer(&self, numel: usize) -> GpuBuffer {
        let bytes = (numel.max(1) as u64).saturating_mul(4);
        if !self.fits_in_binding(numel) {
            let mb = |b: u64| b as f64 / 1_048_576.0;
            lock(&self.state.failure).get_or_insert_with(|| {
                format!(
                    "a tensor of {numel} values ({:.0} MB) is larger than this GPU allows in one buffer ({:.0} MB); use a smaller batch, \
                     fewer channels or a smaller image, or train on the CPU",
                    mb(bytes),
                    mb(self.max_buffer_bytes())
                )
            });
            return self.buffer(1);
        }
        let size = bytes.next_power_of_two().max(256);
        let reused = lock(&self.state.pool).free.get_mut(&size).and_then(Vec::pop);
        let buffer = reused.unwrap_or_else(|| {
            self.state.created.fetch_add(1, Ordering::Relaxed);
            self.state.device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        GpuBuffer { buffer, gpu: self.clone() }
    }

    /// A buffer for `numel` values, all zero.
    pub fn zeroed(&self, numel: usize) -> GpuBuffer {
        let b = self.buffer(numel);
        self.record(|encoder| encoder.clear_buffer(b.buffer(), 0, None));
        b
    }

    /// How many storage buffers were created since the device opened (the rest were reused from the pool): flat
    /// once a training loop has run its first steps, as the soak checks.
    pub fn created_buffers(&self) -> usize {
        self.state.created.load(Ordering::Relaxed)
    }

    /// How many buffers wait in the pool for reuse.
    pub fn pooled_buffers(&self) -> usize {
        lock(&self.state.pool).free.values().map(Vec::len).sum()
    }

    /// A 4-byte buffer bound where an optional input (such as a bias) is absent.
    pub fn placeholder(&self) -> &wgpu::Buffer {
        &self.state.placeholder
    }

    /// A buffer holding `values` (f32 values, or u32 words such as indices). The copy into the pooled buffer is
    /// recorded in order with the pending work, so a reused buffer is never overwritten before the work that
    /// reads it has run.
    pub fn upload<T: bytemuck::Pod>(&self, values: &[T]) -> GpuBuffer {
        let b = self.buffer(std::mem::size_of_val(values).div_ceil(4));
        // A lost device takes no more work (natively wgpu cannot even map a new buffer): the next read says why.
        if !values.is_empty() && !self.is_lost() {
            let staging = self.state.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("upload"),
                contents: bytemuck::cast_slice(values),
                usage: wgpu::BufferUsages::COPY_SRC,
            });
            let size = staging.size();
            self.record(|encoder| encoder.copy_buffer_to_buffer(&staging, 0, b.buffer(), 0, size));
        }
        b
    }

    /// Records commands into the pending encoder (created on first use).
    fn record(&self, commands: impl FnOnce(&mut wgpu::CommandEncoder)) {
        let mut pending = lock(&self.state.pending);
        commands(pending.get_or_insert_with(|| self.state.device.create_command_encoder(&Default::default())));
    }

    /// The compiled pipeline for `entry` of `shader`, compiled on first use.
    fn pipeline(&self, shader: &'static Shader, entry: &'static str) -> wgpu::ComputePipeline {
        let state = &self.state;
        if let Some(p) = lock(&state.pipelines).get(&(shader.name, entry)) {
            return p.clone();
        }
        let module = lock(&state.modules)
            .entry(shader.name)
            .or_insert_with(|| {
                let source = wgpu::ShaderSource::Wgsl(shader.full_source().into());
                state.device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some(shader.name), source })
            })
            .clone();
        let pipeline = state.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        lock(&state.pipelines).insert((shader.name, entry), pipeline.clone());
        pipeline
    }

    /// How many pipelines have been compiled (each entry point once).
    pub fn compiled_pipelines(&self) -> usize {
        lock(&self.state.pipelines).len()
    }

    /// Records one launch of `kernel`: binding 0 is a uniform buffer holding `uniforms`, `buffers` go to the
    /// kernel's declared bindings in order, and `invocations` threads run in workgroups of 64, laid out as a 2-D
    /// grid when one row would be too long.
    pub fn dispatch<U: Uniforms, const N: usize>(&self, kernel: &'static Kernel<U, N>, uniforms: &U, buffers: [&wgpu::Buffer; N], invocations: usize) {
        let workgroups = invocations.div_ceil(WORKGROUP_SIZE);
        let max = self.state.max_workgroups;
        let grid = if workgroups <= max { [workgroups, 1, 1] } else { [max, workgroups.div_ceil(max), 1] };
        self.dispatch_grid(kernel, uniforms, buffers, grid);
    }

    /// Whether a tensor of `numel` values fits in one storage binding of this device (the pool rounds buffers up
    /// to a power of two).
    pub fn fits_in_binding(&self, numel: usize) -> bool {
        (numel.max(1) as u64).saturating_mul(4).next_power_of_two() <= self.max_buffer_bytes()
    }

    /// The most workgroups a dispatch may have along one axis.
    pub fn max_workgroups(&self) -> usize {
        self.state.max_workgroups
    }

    /// A grid of one workgroup per item (a channel, say), in one row: a kernel dispatched on it loops over the
    /// items beyond the row's limit.
    pub fn one_group_each(&self, items: usize) -> [usize; 3] {
        [items.min(self.state.max_workgroups), 1, 1]
    }

    /// Like [`Gpu::dispatch`], for a kernel that lays out its own `[x, y, z]` grid of workgroups.
    pub fn dispatch_grid<U: Uniforms, const N: usize>(&self, kernel: &'static Kernel<U, N>, uniforms: &U, buffers: [&wgpu::Buffer; N], grid: [usize; 3]) {
        if grid.contains(&0) || self.is_lost() {
            return;
        }
        let (shader, entry) = (kernel.shader, kernel.entry);
        let pipeline = self.pipeline(shader, entry);
        // A uniform buffer's size is a multiple of 16 bytes.
        let mut bytes = bytemuck::bytes_of(uniforms).to_vec();
        bytes.resize(bytes.len().div_ceil(16).max(1) * 16, 0);
        let params = self.state.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(shader.name),
            contents: &bytes,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() }];
        let bound = kernel.bindings.iter().zip(buffers);
        entries.extend(bound.map(|(&(_, binding), b)| wgpu::BindGroupEntry { binding, resource: b.as_entire_binding() }));
        let bind_group = self.state.device.create_bind_group(&wgpu::BindGroupDescriptor {
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
        let state = &self.state;
        let mut pending = lock(&state.pending);
        let mut encoder = pending.take().unwrap_or_else(|| state.device.create_command_encoder(&Default::default()));
        last(&mut encoder);
        state.queue.submit([encoder.finish()]);
        state.submissions.fetch_add(1, Ordering::Relaxed);
    }

    /// How many command buffers have been submitted: one per read (or flush), however many ops came before.
    pub fn submissions(&self) -> usize {
        self.state.submissions.load(Ordering::Relaxed)
    }

    /// The first error the device reported since the last call, as an [`Error`]: a shader that did not compile is
    /// named (its file), as is a lost device.
    fn take_failure(&self) -> Result<()> {
        if let Some(why) = lock(&self.state.lost).clone() {
            return Err(Error::Gpu(format!("the GPU device was lost ({why}); its work has to start again on a new device")));
        }
        let Some(message) = lock(&self.state.failure).take() else { return Ok(()) };
        // wgpu and the browsers quote the module's label, which is the shader's name.
        let compiling = message.contains("create_shader_module") || message.contains("ShaderModule");
        let names: Vec<&str> = lock(&self.state.modules).keys().copied().collect();
        match names.into_iter().find(|n| message.contains(&format!("'{n}'")) || message.contains(&format!("\"{n}\""))) {
            Some(name) if compiling => Err(Error::Gpu(format!("the shader shaders/{name}.wgsl did not compile: {message}"))),
            _ => Err(Error::Gpu(message)),
        }
    }

    /// The first `numel` values of `buffer` (on this GPU), once the recorded work has run.
    pub async fn read(&self, buffer: &GpuBuffer, numel: usize) -> Result<Vec<f32>> {
        if self.is_lost() {
            self.take_failure()?;
        }
        let size = (numel.max(1) * 4) as u64;
        let staging = self.state.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.submit_with(|encoder| encoder.copy_buffer_to_buffer(buffer.buffer(), 0, &staging, 0, size));

        let (sender, receiver) = futures_channel::oneshot::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        // Natively the device must be polled for the mapping to complete; in the browser the callback fires on its
        // own (and blocking would deadlock the page).
        #[cfg(not(target_arch = "wasm32"))]
        self.state
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU failed ({e})")))?;
        self.take_failure()?;
        let mapped = receiver.await;
        self.take_failure()?;
        match mapped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Error::Gpu(format!("reading a result back failed ({e})"))),
            Err(_) => return Err(Error::Gpu("the GPU device was lost before the result came back".into())),
        }
        let values: Vec<f32> = {
            let view = staging.slice(..).get_mapped_range().map_err(|e| Error::Gpu(format!("reading a result back failed ({e})")))?;
            view.chunks_exact(4).take(numel).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        };
        staging.unmap();
        Ok(values)
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

#[cfg(test)]
mod tests {
    use super::*;

    crate::uniforms! {
        struct Nothing { n: u32 }
    }

    /// A shader with a mistake in it, as a broken edit of a file in `shaders/` would be.
    static BROKEN: Shader = Shader { name: "broken_example", source: "@compute @workgroup_size(64) fn main() { let x: f32 = ; }" };
    static KERNEL: Kernel<Nothing, 0> = Kernel::new(&BROKEN, "main", []);

    fn gpu() -> Option<Gpu> {
        match pollster::block_on(Gpu::new()) {
            Ok(gpu) => Some(gpu),
            Err(e) if std::env::var_os("REQUIRE_GPU").is_some() => panic!("REQUIRE_GPU is set but {e}"),
            Err(e) => {
                eprintln!("skipping GPU checks: {e}");
                None
            }
        }
    }

    #[test]
    fn a_shader_that_does_not_compile_names_its_file() {
        let Some(gpu) = gpu() else { return };
        gpu.dispatch(&KERNEL, &Nothing::default(), [], 64);
        let out = gpu.buffer(1);
        let e = pollster::block_on(gpu.read(&out, 1)).unwrap_err().to_string();
        assert!(e.contains("the shader shaders/broken_example.wgsl did not compile"), "{e}");
    }

    #[test]
    fn a_buffer_larger_than_the_device_allows_is_refused_in_words() {
        let Some(gpu) = gpu() else { return };
        let numel = (gpu.max_buffer_bytes() / 4 + 1) as usize;
        let too_large = gpu.zeroed(numel);
        let e = pollster::block_on(gpu.read(&too_large, 1)).unwrap_err().to_string();
        assert!(e.contains(&format!("a tensor of {numel} values")) && e.contains("larger than this GPU allows in one buffer"), "{e}");
        // The device goes on working.
        let fine = gpu.upload(&[1.0f32, 2.0]);
        assert_eq!(pollster::block_on(gpu.read(&fine, 2)).unwrap(), [1.0, 2.0]);
    }
}
