//! The ops, one file each, registered in one list ([`register!`]).
//!
//! An op's file holds, top to bottom: the math in a `//!` header; its params, validated at construction (a
//! learner-readable error otherwise); the op on a device (`forward`, `backward`: one [`on_device`] call that sends
//! CPU tensors to the reference loops or to the CPU's fast path in [`crate::device::cpu`], and GPU tensors to the
//! op's kernels, and refuses tensors on different devices); the reference loops themselves (`reference_forward`,
//! `reference_backward`), plain and side by side; the trace a lesson shows, built from the same indexing function
//! as the reference; the GPU encoding of `shaders/<op>.wgsl`, its kernels declared once with [`crate::kernels!`]
//! and its typed uniforms; and, as test code, the [`Op`] view of it that the shared checks drive and the
//! [`Example`]s to check it on.
//!
//! Registering an op is one line in [`register!`] below: it declares the module, says whether the CPU runs the
//! reference loops or a tuned path of its own, and (in test builds) hands the op's kernels to the check against
//! its shader and its examples to every shared check (the CPU's tuned path and the GPU against the reference
//! loops, natively and in the browser, and the reference's gradients against finite differences). The checks and
//! the examples are test code (`cfg(test)` or the `check` feature): the shipped engine holds none of them.

#[cfg(any(test, feature = "check"))]
pub mod check;
pub mod dispatch;
pub mod pool;
pub mod taps;

pub use crate::padding::PaddingMode;
pub use conv2d::{Conv2d, Conv2dParams};
#[cfg(any(test, feature = "check"))]
pub use dispatch::{Example, Op, Path};
pub use dispatch::{CpuPath, Unary, common_device, on_device};
pub use pool::Pool2dParams;

/// One registered op, as the shared checks see it.
#[cfg(any(test, feature = "check"))]
pub struct Registered {
    /// The op's name: its file `ops/<name>.rs`, its shader `shaders/<name>.wgsl`.
    pub name: &'static str,
    /// What the CPU runs for it.
    pub cpu: CpuPath,
    /// The source of its file, for the check that `cpu` says what the file does.
    pub source: &'static str,
    /// Its kernels' declarations (none for an op that runs on other ops' kernels), checked against its shader.
    pub kernels: fn() -> Vec<crate::device::gpu::Declaration>,
    /// Examples to check it on, drawn from a seed.
    pub examples: fn(&mut crate::rng::Rng) -> Vec<Example>,
}

/// Registers ops, one line each: `name: cpu reference` for an op whose CPU path is its reference loops,
/// `name: cpu tuned` for one with a faster CPU path of its own, and `(no shader)` after either for an op that
/// runs on other ops' kernels. It declares `ops/<name>.rs`; in test builds it lists the op in [`OPS`].
macro_rules! register {
    ($($name:ident: cpu $cpu:ident $((no $shader:ident))?),* $(,)?) => {
        $(pub mod $name;)*

        /// Every op, in one table (test code).
        #[cfg(any(test, feature = "check"))]
        pub const OPS: &[Registered] = &[$(Registered {
            name: stringify!($name),
            cpu: register!(@cpu $cpu),
            source: include_str!(concat!(stringify!($name), ".rs")),
            kernels: register!(@kernels $name $($shader)?),
            examples: $name::examples,
        }),*];
    };
    (@cpu reference) => { CpuPath::Reference };
    (@cpu tuned) => { CpuPath::Tuned };
    (@kernels $name:ident) => { $name::kernels };
    (@kernels $name:ident shader) => { Vec::new };
}

register! {
    adam: cpu tuned,
    adaptive_avg_pool2d: cpu tuned,
    avg_pool2d: cpu reference,
    batch_norm: cpu tuned,
    channel_mean: cpu reference,
    concat: cpu reference,
    conv2d: cpu tuned,
    cross_entropy: cpu reference,
    dropout: cpu tuned,
    embedding: cpu reference,
    gemm: cpu tuned (no shader),
    matmul: cpu tuned,
    max_pool2d: cpu reference,
    mse: cpu reference,
    pad: cpu reference,
    relu: cpu tuned,
    resize_bilinear: cpu reference,
    rmspe: cpu reference,
    sgd: cpu reference,
    sigmoid: cpu reference,
    softmax: cpu reference,
    sum_to: cpu tuned,
    warp: cpu reference,
}
