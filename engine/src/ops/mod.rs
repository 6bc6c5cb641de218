//! The ops, one file each, registered in one table ([`OPS`]).
//!
//! An op's file holds, top to bottom: the math in a `//!` header; its params, validated at construction (a
//! learner-readable error otherwise); the op on a device (`forward`, `backward`: a few lines that send CPU tensors
//! to the reference loops or to the CPU's fast path in [`crate::device::cpu`], and GPU tensors to the op's
//! kernels); the reference loops themselves (`reference_forward`, `reference_backward`), plain and side by side;
//! the trace a lesson shows, built from the same indexing function as the reference; the GPU encoding of
//! `shaders/<op>.wgsl` with its typed uniforms; the [`Op`] view of it that the shared tests drive; and
//! [`Example`]s to check it on.
//!
//! Registering an op is one line in [`register!`] below: it declares the module, compiles its shader into the
//! engine, lists its uniforms for the layout test, and hands its examples to every shared check (the CPU and the
//! GPU against the reference loops, natively and in the browser, and the reference's gradients against finite
//! differences).

pub mod check;
pub mod padding;
pub mod pool;

pub use conv2d::{Conv2d, Conv2dParams};
pub use padding::PaddingMode;
pub use pool::Pool2dParams;

use crate::device::gpu::Uniforms;
use crate::tensor::Tensor;

/// Which way an [`Op`] computes: on the inputs' device, or with the reference loops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// Where the inputs live: the CPU's fast path or reference, or the GPU's kernels.
    Device,
    /// The reference loops in the op's file (CPU inputs).
    Reference,
}

/// Every op seen the same way, so that one set of checks covers them all: float tensors in, tensors out, and
/// gradients back, in the order the op's file documents. Integer inputs (indices, targets) belong to the op.
pub trait Op {
    /// How many outputs carry a gradient. They come first; the rest are kept for backward (an argmax, a mask, batch
    /// statistics). An optimizer step has none.
    fn differentiable_outputs(&self) -> usize {
        1
    }

    /// The outputs.
    fn outputs(&self, inputs: &[&Tensor], path: Path) -> Vec<Tensor>;

    /// One gradient per input (`None` for an input that takes none), given the inputs, the outputs of
    /// [`Op::outputs`] and the upstream gradient of each differentiable output.
    fn gradients(&self, inputs: &[&Tensor], outputs: &[&Tensor], dys: &[&Tensor], path: Path) -> Vec<Option<Tensor>>;
}

/// An op with inputs to check it on.
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

impl Example {
    /// An example checked at the usual tolerance (atol 1e-5, rtol 1e-4), with gradients checked by finite
    /// differences with a step of 1e-2.
    pub fn new(name: impl Into<String>, op: impl Op + 'static, inputs: Vec<Tensor>) -> Example {
        Example { name: name.into(), op: Box::new(op), inputs, finite_differences: Some(1e-2), tolerance: (check::ATOL, check::RTOL) }
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

/// One registered op: its name, its shader and its uniforms, and its examples.
pub struct Registered {
    /// The op's name: its file `ops/<name>.rs`, its shader `shaders/<name>.wgsl`.
    pub name: &'static str,
    /// The WGSL source of its shader (without the prelude), if it has one of its own.
    pub shader: Option<&'static str>,
    /// The members `(name, offset)` of its uniform struct, and the struct's size in bytes.
    pub uniforms: Option<(&'static [(&'static str, usize)], usize)>,
    /// Examples to check it on, drawn from a seed.
    pub examples: fn(&mut crate::rng::Rng) -> Vec<Example>,
}

/// The members and size of an op's uniform struct.
const fn layout<U: Uniforms>() -> (&'static [(&'static str, usize)], usize) {
    (U::MEMBERS, std::mem::size_of::<U>())
}

/// Registers ops: `name` for an op with `ops/name.rs` and `shaders/name.wgsl` (whose uniforms are
/// `name::Uniforms`), `name: no shader` for one that runs on other ops' kernels.
macro_rules! register {
    ($($name:ident $(: $no:ident $shader:ident)?),* $(,)?) => {
        $(pub mod $name;)*

        /// Every op, in one table.
        pub const OPS: &[Registered] = &[$(register!(@entry $name $(: $no $shader)?)),*];
    };
    (@entry $name:ident) => {
        Registered {
            name: stringify!($name),
            shader: Some(include_str!(concat!("../../../shaders/", stringify!($name), ".wgsl"))),
            uniforms: Some(layout::<$name::Uniforms>()),
            examples: $name::examples,
        }
    };
    (@entry $name:ident : no shader) => {
        Registered { name: stringify!($name), shader: None, uniforms: None, examples: $name::examples }
    };
}

register! {
    adam,
    adaptive_avg_pool2d,
    avg_pool2d,
    batch_norm,
    channel_mean,
    concat,
    conv2d,
    cross_entropy,
    dropout,
    embedding,
    gemm: no shader,
    matmul,
    max_pool2d,
    mse,
    pad,
    relu,
    rmspe,
    sgd,
    sigmoid,
    softmax,
    sum_to,
}

/// The prelude every shader is compiled with: the flat invocation index, padding's source index, a workgroup sum
/// and pooling window geometry.
pub const PRELUDE: &str = include_str!("../../../shaders/prelude.wgsl");

/// The full WGSL source of the shader `name` (the prelude, then the op's shader), if an op registers one.
pub fn wgsl(name: &str) -> Option<String> {
    let shader = OPS.iter().find(|op| op.name == name)?.shader?;
    Some(format!("{PRELUDE}\n{shader}"))
}
