//! The sandbox's tensor engine: tensors on a device, ops with reference loops and WGSL kernels, layers, training,
//! datasets, and the traces the lessons show.
//!
//! # The shape of it
//!
//! - **One [`Tensor`] type on a [`Device`].** A tensor's values live in host memory (the CPU device) or in a GPU
//!   storage buffer. Ops run where their inputs live, so layers, models, optimizers, the learner and the app hold
//!   `Tensor`s and never ask which device they are on: a program picks one device (the app: WebGPU when the browser
//!   has it, the CPU otherwise) and creates its tensors there. Only reading values back is async
//!   ([`Tensor::read`]); on a GPU every op is recorded without waiting, so a whole training step is one submission.
//! - **An op is its file, its shader and one line.** [`ops`]`/<op>.rs` holds the math, the validated params, the
//!   dispatch on the device (one [`ops::on_device`] call, or the [`ops::Unary`] trait's), the reference loops, the
//!   trace, the GPU encoding with its kernels declared once ([`kernels!`]); `shaders/<op>.wgsl` its kernels; one
//!   line in [`ops`]'s `register!` says what its CPU runs and (in test builds) hands its kernels and examples to
//!   every shared check (`ops::check`).
//! - **The reference apart from the fast path.** "Reference" means the plain loops in an op's file. The CPU runs
//!   them, except where a tuned path in [`device::cpu`] does the same work faster (im2col and the SIMD matrix
//!   products, the vectorised batch norm, the threaded element-wise loops); the shared checks test each tuned path
//!   against the reference, and compare no reference with itself.
//! - **Dependencies run one way.** [`device`] (buffers, kernels, the CPU's loops over slices and plain geometry) at
//!   the bottom, [`tensor`] on it, [`ops`] on both, then [`nn`], [`optim`], [`learner`] and [`data`]. The device is
//!   handed its shaders' source by the ops' kernel declarations and imports neither tensors nor ops; a test reads
//!   every file and fails on an import cycle (`tests/modules.rs`). A trained model leaves as a file through
//!   [`safetensors`] (the format, on tensors) and [`checkpoint`] (a model's `state_dict` with its task, classes,
//!   input statistics and [`architecture`], so that it can be rebuilt), at the level of the models.
//! - **Test code stays out of the product.** Every op's examples, its uniform `ops::Op` view and the check harness
//!   are built for tests and under the `check` feature only (the tests crate enables it, the app does not).
//!
//! # Why one tensor type rather than a backend trait
//!
//! A `Backend` trait with an associated tensor type made every layer, model and lesson generic over the backend,
//! and could not be a trait object, so the app kept one copy of each model per backend and matched on it; every op
//! also cost a method on the trait and a forwarding method in each backend. With the device inside the tensor (as
//! candle does), code above the ops is written once, for one type, and an op's dispatch stays in its own file
//! beside the code it dispatches to. The cost is that [`Tensor::data`] exists only for CPU tensors: a GPU tensor's
//! values come back with [`Tensor::read`], and calling `data` on it is a programming error that panics with that
//! advice.

pub mod architecture;
pub mod bench;
pub mod checkpoint;
pub mod clock;
pub mod data;
pub mod device;
pub mod error;
pub mod heatmap;
pub mod indices;
pub mod learner;
pub mod models;
pub mod nn;
pub mod optim;
pub mod ops;
pub mod padding;
pub mod rng;
pub mod safetensors;
pub mod shape;
pub mod tensor;

pub use device::Device;
pub use error::{Error, ErrorKind, OpError, Result};
pub use indices::Indices;
pub use shape::Shape;
pub use tensor::Tensor;
