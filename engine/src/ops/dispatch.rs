//! How an op runs: where its inputs live ([`on_device`], refusing inputs on different devices), its GPU kernels
//! recorded ([`launch`]), the [`Unary`] ops whose CPU path defaults to the reference, and what the CPU runs for
//! each op ([`CpuPath`]). In test builds also the uniform view of every op that the shared checks drive ([`Op`],
//! [`Path`]) and the [`Example`]s they drive it on. Every op file imports this module; it imports no op.

use crate::device::Device;
use crate::device::gpu::{Gpu, Kernel, Uniforms};
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Runs an op where its inputs live: `cpu()` when they are all on the CPU, `gpu(gpu)` when they are all on one GPU.
/// Inputs on different devices are refused ([`common_device`]). This is every op's one dispatch on the device.
pub fn on_device<'a, T>(op: &'static str, inputs: impl IntoIterator<Item = &'a Tensor>, cpu: impl FnOnce() -> T, gpu: impl FnOnce(&Gpu) -> T) -> Result<T> {
    Ok(match &common_device(op, inputs)? {
        Device::Cpu => cpu(),
        Device::Gpu(g) => gpu(g),
    })
}

/// The device all of `inputs` live on (the CPU when there are none), or an error naming the op (`op`) that says
/// how to bring them together.
pub fn common_device<'a>(op: &'static str, inputs: impl IntoIterator<Item = &'a Tensor>) -> Result<Device> {
    let mut devices = inputs.into_iter().map(Tensor::device);
    let first = devices.next().unwrap_or(Device::Cpu);
    match devices.find(|d| *d != first) {
        None => Ok(first),
        Some(other) => Err(OpError::new(op, ErrorKind::Device, "the inputs live on different devices")
            .expected(format!("every input on {}", first.label()))
            .given(format!("an input on {}", other.label()))
            .hint("create every tensor on the page's one device, or move CPU tensors there with `tensor.to(&device)`")
            .into()),
    }
}

/// Records `kernel` on `gpu` over `inputs`, with a new tensor of `shape` bound last for its output, one invocation
/// per output value: the whole GPU encoding of most kernels.
pub(crate) fn launch<U: Uniforms, const N: usize, const M: usize>(
    gpu: &Gpu,
    kernel: &'static Kernel<U, N>,
    uniforms: &U,
    inputs: [&Tensor; M],
    shape: impl Into<Shape>,
) -> Tensor {
    let shape = shape.into();
    let invocations = shape.numel();
    launch_over(gpu, kernel, uniforms, inputs, shape, invocations)
}

/// [`launch`] with another number of invocations (one per row, say).
pub(crate) fn launch_over<U: Uniforms, const N: usize, const M: usize>(
    gpu: &Gpu,
    kernel: &'static Kernel<U, N>,
    uniforms: &U,
    inputs: [&Tensor; M],
    shape: impl Into<Shape>,
    invocations: usize,
) -> Tensor {
    const { assert!(M + 1 == N, "the kernel binds its inputs and then one output") };
    let out = Tensor::empty_on(gpu, shape);
    let mut buffers = [gpu.placeholder(); N];
    for (slot, input) in buffers.iter_mut().zip(inputs) {
        *slot = input.buffer();
    }
    buffers[M] = out.buffer();
    gpu.dispatch(kernel, uniforms, buffers, invocations);
    out
}

/// An op from one tensor to one tensor whose gradient needs at most its input and the upstream gradient (ReLU,
/// sigmoid, a pool, a padding, a reduction, an embedding's lookup). The op gives its reference loops and its GPU
/// encoding, and a faster CPU path where it has one (the CPU runs the reference otherwise); `forward` and
/// `backward` then run where the tensors live, and in test builds the [`Op`] view the shared checks drive comes
/// with it.
pub trait Unary {
    /// The op's name, as its file and shader are named: errors name it.
    const NAME: &'static str;

    /// The reference forward: plain loops over a CPU tensor.
    fn reference_forward(&self, x: &Tensor) -> Tensor;

    /// The reference backward: `∂x` from the input and the upstream gradient.
    fn reference_backward(&self, x: &Tensor, dy: &Tensor) -> Tensor;

    /// The forward on a GPU: its kernels recorded, nothing waited for.
    fn gpu_forward(&self, gpu: &Gpu, x: &Tensor) -> Tensor;

    /// The backward on a GPU.
    fn gpu_backward(&self, gpu: &Gpu, x: &Tensor, dy: &Tensor) -> Tensor;

    /// The CPU's forward: the reference, unless the op has a faster path (then its registration says `cpu tuned`).
    fn cpu_forward(&self, x: &Tensor) -> Tensor {
        self.reference_forward(x)
    }

    /// The CPU's backward: the reference, unless the op has a faster path.
    fn cpu_backward(&self, x: &Tensor, dy: &Tensor) -> Tensor {
        self.reference_backward(x, dy)
    }

    /// `y`, on `x`'s device.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        on_device(Self::NAME, [x], || self.cpu_forward(x), |gpu| self.gpu_forward(gpu, x))
    }

    /// `∂x`, where `x` and `dy` live.
    fn backward(&self, x: &Tensor, dy: &Tensor) -> Result<Tensor> {
        on_device(Self::NAME, [x, dy], || self.cpu_backward(x, dy), |gpu| self.gpu_backward(gpu, x, dy))
    }
}

/// What the CPU runs for an op: the reference loops themselves, or a tuned path of its own in
/// [`crate::device::cpu`] (checked against the reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuPath {
    /// The reference loops.
    Reference,
    /// A faster path: im2col, the SIMD products, loops on every core.
    Tuned,
}

/// Which way an [`Op`] computes: on the inputs' device, or with the reference loops.
#[cfg(any(test, feature = "check"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// Where the inputs live: the CPU's fast path or reference, or the GPU's kernels.
    Device,
    /// The reference loops in the op's file (CPU inputs).
    Reference,
}

#[cfg(any(test, feature = "check"))]
impl Path {
    /// `reference()` on the reference path, `device()` on the device's.
    pub fn run<T>(self, reference: impl FnOnce() -> T, device: impl FnOnce() -> Result<T>) -> Result<T> {
        match self {
            Path::Reference => Ok(reference()),
            Path::Device => device(),
        }
    }
}

/// Every op seen the same way, so that one set of checks covers them all: float tensors in, tensors out, and
/// gradients back, in the order the op's file documents. Integer inputs (indices, targets) belong to the op. Test
/// code: the shared checks and the conformance runner drive it.
#[cfg(any(test, feature = "check"))]
pub trait Op {
    /// How many outputs carry a gradient. They come first; the rest are kept for backward (an argmax, a mask, batch
    /// statistics). An optimizer step has none.
    fn differentiable_outputs(&self) -> usize {
        1
    }

    /// The outputs.
    fn outputs(&self, inputs: &[&Tensor], path: Path) -> Result<Vec<Tensor>>;

    /// One gradient per input (`None` for an input that takes none), given the inputs, the outputs of
    /// [`Op::outputs`] and the upstream gradient of each differentiable output.
    fn gradients(&self, inputs: &[&Tensor], outputs: &[&Tensor], dys: &[&Tensor], path: Path) -> Result<Vec<Option<Tensor>>>;
}

#[cfg(any(test, feature = "check"))]
impl<T: Unary> Op for T {
    fn outputs(&self, x: &[&Tensor], path: Path) -> Result<Vec<Tensor>> {
        Ok(vec![path.run(|| self.reference_forward(x[0]), || self.forward(x[0]))?])
    }

    fn gradients(&self, x: &[&Tensor], _: &[&Tensor], dy: &[&Tensor], path: Path) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(path.run(|| self.reference_backward(x[0], dy[0]), || self.backward(x[0], dy[0]))?)])
    }
}

/// Absolute tolerance for a device against the reference.
#[cfg(any(test, feature = "check"))]
pub const ATOL: f32 = 1e-5;
/// Relative tolerance.
#[cfg(any(test, feature = "check"))]
pub const RTOL: f32 = 1e-4;

/// An op with inputs to check it on.
#[cfg(any(test, feature = "check"))]
pub struct Example {
    /// What it is, for messages: `conv2d 3x3 stride 2 reflection`.
    pub name: String,
    /// The op.
    pub op: Box<dyn Op>,
    /// Its inputs, on the CPU.
    pub inputs: Vec<Tensor>,
    /// The step of the finite-difference gradient check (small for ops with kinks, such as ReLU at 0), or `None`
    /// where the reference's gradients are not checked that way (an optimizer step, a large example).
    pub finite_differences: Option<f32>,
    /// `(atol, rtol)` for a device against the reference: `|got − want| ≤ atol + rtol·|want|`.
    pub tolerance: (f32, f32),
}

#[cfg(any(test, feature = "check"))]
impl Example {
    /// An example checked at the usual tolerance (atol 1e-5, rtol 1e-4), with gradients checked by finite
    /// differences with a step of 1e-2.
    pub fn new(name: impl Into<String>, op: impl Op + 'static, inputs: Vec<Tensor>) -> Example {
        Example { name: name.into(), op: Box::new(op), inputs, finite_differences: Some(1e-2), tolerance: (ATOL, RTOL) }
    }

    /// With another finite-difference step, or none.
    pub fn finite_differences(mut self, eps: Option<f32>) -> Example {
        self.finite_differences = eps;
        self
    }

    /// With another tolerance: sums of thousands of terms, added in another order on a device, round differently.
    pub fn tolerance(mut self, atol: f32, rtol: f32) -> Example {
        self.tolerance = (atol, rtol);
        self
    }
}

