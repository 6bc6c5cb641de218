//! Where tensors live and ops run: the CPU, or a GPU through wgpu (WebGPU in the browser; Vulkan, Metal or DX12
//! natively, Mesa's lavapipe on machines without a GPU).
//!
//! A program (the app, the `train` and `bench` commands, a test) picks one [`Device`] and hands it to whatever
//! creates tensors: datasets put their batches on it, layers their parameters. From then on every op runs where
//! its inputs are, so nothing above the ops asks which device it is. Each op file dispatches on its first input's
//! device in a few lines: the CPU runs the op's reference loops, or its fast path in [`cpu`]; a GPU records the
//! op's kernels ([`gpu`]) without waiting.

pub mod cpu;
pub mod gpu;

use crate::error::Result;
use crate::shape::Shape;
use crate::tensor::Tensor;
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

    /// A tensor of zeros on this device.
    pub fn zeros(&self, shape: impl Into<Shape>) -> Tensor {
        match self {
            Device::Cpu => Tensor::zeros(shape),
            Device::Gpu(gpu) => gpu.zeros(shape.into()),
        }
    }
}
