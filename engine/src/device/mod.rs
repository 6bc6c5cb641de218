//! Where tensors live and ops run: the CPU, or a GPU through wgpu (WebGPU in the browser; Vulkan, Metal or DX12
//! natively, Mesa's lavapipe on machines without a GPU).
//!
//! A program (the app, the `train` and `bench` commands, a test) picks one [`Device`] and hands it to whatever
//! creates tensors: datasets put their batches on it, layers their parameters. From then on every op runs where
//! its inputs are, so nothing above the ops asks which device it is: the CPU runs the op's reference loops, or its
//! fast path in [`cpu`]; a GPU records the op's kernels ([`gpu`]) without waiting.
//!
//! This module is the bottom of the engine: it knows buffers, slices, kernels and plain geometry, and imports
//! neither tensors nor ops (the dependencies run one way: device, tensor, ops, layers, training, the app).

pub mod cpu;
pub mod gpu;
pub mod strided;

use crate::error::Result;
use gpu::Gpu;

/// A place where tensors live and ops run. Cloning is cheap (a GPU is shared, not copied).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Device {
    /// The CPU: the ops' reference loops, or their tuned paths in [`cpu`]. Always available.
    #[default]
    Cpu,
    /// A GPU: the ops' WGSL kernels.
    Gpu(Gpu),
}

impl Device {
    /// The best device here: a GPU when there is one, else the CPU with the reason (a sentence) why not.
    pub async fn best() -> (Device, Option<String>) {
        match Gpu::new().await {
            Ok(gpu) => (Device::Gpu(gpu), None),
            Err(e) => (Device::Cpu, Some(e.to_string())),
        }
    }

    /// A GPU device, or why none could be opened.
    pub async fn gpu() -> Result<Device> {
        Ok(Device::Gpu(Gpu::new().await?))
    }

    /// A short label for people, such as `CPU` or `WebGPU: google swiftshader`.
    pub fn label(&self) -> String {
        match self {
            Device::Cpu => "CPU".to_string(),
            Device::Gpu(gpu) => gpu.label(),
        }
    }

    /// Whether this is a GPU that is really the CPU in disguise (lavapipe, llvmpipe, SwiftShader): correct, but
    /// far slower than the CPU device on the same processor.
    pub fn is_emulated(&self) -> bool {
        match self {
            Device::Cpu => false,
            Device::Gpu(gpu) => gpu.is_emulated(),
        }
    }

    /// Whether this is a GPU that was lost (see [`Gpu::is_lost`]); the CPU never is.
    pub fn is_lost(&self) -> bool {
        matches!(self, Device::Gpu(gpu) if gpu.is_lost())
    }
}
