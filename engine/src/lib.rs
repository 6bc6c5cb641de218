//! The sandbox's tensor engine.
//!
//! Every op lives in one file under [`ops`]: its math in a `//!` header, a params struct validated at construction,
//! the CPU reference (`forward`, and `backward` where the op learns), and the step-through trace built from the
//! same indexing function that `forward` uses. Its WGSL kernel sits in `shaders/<op>.wgsl` at the repository root.
//!
//! Two backends run the ops behind the [`Backend`] trait: [`Cpu`] (the reference, and the fallback where a browser
//! has no WebGPU) and [`Gpu`] (wgpu: WebGPU in the browser, Vulkan/Metal/DX12 natively, lavapipe on CPU-only Linux).

pub mod backend;
pub mod bench;
pub mod clock;
pub mod data;
pub mod error;
pub mod indices;
pub mod learner;
pub mod models;
pub mod nn;
pub mod optim;
pub mod ops;
pub mod rng;
pub mod shape;
pub mod tensor;

pub use backend::{Backend, DeviceTensor, cpu::Cpu, gpu::Gpu, gpu::GpuTensor};
pub use error::{Error, ErrorKind, OpError, Result};
pub use indices::Indices;
pub use shape::Shape;
pub use tensor::Tensor;
