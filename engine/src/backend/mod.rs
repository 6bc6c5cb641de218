//! Where ops run: the [`Backend`] trait, and its two implementations [`cpu::Cpu`] and [`gpu::Gpu`].
//!
//! # Design
//!
//! A backend owns its tensors (`Backend::Tensor`): plain [`Tensor`]s on the CPU, GPU buffers on the GPU. Ops are
//! recorded without waiting; only [`Backend::read`], which brings values back to the CPU, is async. On the GPU
//! that means a chain of ops is recorded into one command buffer and submitted once, when something is read.
//!
//! Code that should run on either backend is written once, generic over `B: Backend`; the app picks the backend
//! at start-up (WebGPU when the browser has it, the CPU otherwise) and calls that code with it.
//!
//! Adding an op adds one method here, and one line to each of the two implementations: the op's file holds its
//! CPU reference and its GPU encoding.

pub mod cpu;
pub mod gpu;
pub mod shaders;

use crate::error::Result;
use crate::ops::conv2d::Conv2dParams;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::future::Future;

/// A tensor that lives on a backend.
pub trait DeviceTensor: Clone {
    /// Its shape.
    fn shape(&self) -> &Shape;
}

/// A place where ops run. See the module docs for the design.
pub trait Backend {
    /// This backend's tensors.
    type Tensor: DeviceTensor;

    /// A short label for people, such as `CPU` or `WebGPU: SwiftShader Device`.
    fn label(&self) -> String;

    /// Copies a CPU tensor onto the backend.
    fn upload(&self, t: &Tensor) -> Self::Tensor;

    /// Copies a tensor back to the CPU; on the GPU this submits the recorded work and waits for it.
    fn read(&self, t: &Self::Tensor) -> impl Future<Output = Result<Tensor>>;

    /// 2-D convolution, see [`crate::ops::conv2d`].
    fn conv2d(
        &self,
        x: &Self::Tensor,
        w: &Self::Tensor,
        b: Option<&Self::Tensor>,
        params: &Conv2dParams,
    ) -> Result<Self::Tensor>;
}
