//! The engine's one tensor type: f32, row-major (C order), NCHW for images, living on a [`Device`].
//!
//! A tensor's values are either in host memory (the CPU device) or in a GPU storage buffer. Ops run on the
//! device their inputs live on, so code above the ops (layers, models, the learner, the app) handles one type
//! and never asks where it is. Reading values is the one place the difference shows: [`Tensor::data`] gives a
//! CPU tensor's values at once, and [`Tensor::read`] brings any tensor's values back to the CPU (awaiting the
//! GPU's work, which is recorded without waiting until then).

use crate::device::Device;
use crate::device::gpu::{Gpu, GpuBuffer};
use crate::error::{ErrorKind, OpError, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use std::fmt;
use std::sync::Arc;

/// A dense f32 tensor on a device. Clones share the values (on the CPU, until one clone is written to: copy
/// on write), so keeping a layer's input for its backward costs nothing.
#[derive(Clone)]
pub struct Tensor {
    shape: Shape,
    storage: Storage,
}

/// Where a tensor's values are.
#[derive(Clone)]
enum Storage {
    /// In host memory.
    Cpu(Arc<Vec<f32>>),
    /// In a GPU storage buffer (which may be longer than the tensor).
    Gpu(Arc<GpuBuffer>),
}

impl Tensor {
    /// A CPU tensor from its shape and its values in row-major order.
    pub fn new(shape: impl Into<Shape>, data: Vec<f32>) -> Result<Self> {
        let shape = shape.into();
        if shape.numel() != data.len() {
            return Err(OpError::new("tensor", ErrorKind::Length, "the values do not fill the shape")
                .expected(format!("{} values for shape {shape}", shape.numel()))
                .given(format!("{} values", data.len()))
                .hint("check the shape, or pass one value per element")
                .into());
        }
        Ok(Tensor { shape, storage: Storage::Cpu(Arc::new(data)) })
    }

    /// A CPU tensor of zeros.
    pub fn zeros(shape: impl Into<Shape>) -> Self {
        let shape = shape.into();
        let data = vec![0.0; shape.numel()];
        Tensor { shape, storage: Storage::Cpu(Arc::new(data)) }
    }

    /// A CPU scalar (shape `[]`).
    pub fn scalar(value: f32) -> Self {
        Tensor { shape: Shape::default(), storage: Storage::Cpu(Arc::new(vec![value])) }
    }

    /// A CPU tensor whose element at flat index `i` is `f(i)`.
    pub fn from_fn(shape: impl Into<Shape>, f: impl FnMut(usize) -> f32) -> Self {
        let shape = shape.into();
        let data = (0..shape.numel()).map(f).collect();
        Tensor { shape, storage: Storage::Cpu(Arc::new(data)) }
    }

    /// Standard-normal values from `rng`, like `torch.randn`.
    pub fn randn(shape: impl Into<Shape>, rng: &mut Rng) -> Self {
        Self::from_fn(shape, |_| rng.normal())
    }

    /// Uniform values in `[low, high)` from `rng`.
    pub fn uniform(shape: impl Into<Shape>, low: f32, high: f32, rng: &mut Rng) -> Self {
        Self::from_fn(shape, |_| low + (high - low) * rng.uniform())
    }

    /// A tensor of `shape` on `gpu` whose values are left over from earlier work: the output of a kernel that
    /// writes every element.
    pub fn empty_on(gpu: &Gpu, shape: impl Into<Shape>) -> Self {
        let shape = shape.into();
        let buffer = gpu.buffer(shape.numel());
        Tensor { shape, storage: Storage::Gpu(Arc::new(buffer)) }
    }

    /// A tensor of zeros on `device`.
    pub fn zeros_on(device: &Device, shape: impl Into<Shape>) -> Self {
        let shape = shape.into();
        match device {
            Device::Cpu => Tensor::zeros(shape),
            Device::Gpu(gpu) => {
                let buffer = gpu.zeroed(shape.numel());
                Tensor { shape, storage: Storage::Gpu(Arc::new(buffer)) }
            }
        }
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// How many values.
    pub fn numel(&self) -> usize {
        self.shape.numel()
    }

    /// The device the values live on.
    pub fn device(&self) -> Device {
        match &self.storage {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Gpu(b) => Device::Gpu(b.gpu().clone()),
        }
    }

    /// The values of a CPU tensor, row-major.
    ///
    /// # Panics
    /// When the tensor lives on a GPU: its values come back with [`Tensor::read`].
    pub fn data(&self) -> &[f32] {
        match &self.storage {
            Storage::Cpu(data) => data,
            Storage::Gpu(_) => panic!("this tensor lives on the GPU: read its values back with `tensor.read().await`"),
        }
    }

    /// The values of a CPU tensor, for writing (copied first if another clone shares them).
    ///
    /// # Panics
    /// When the tensor lives on a GPU.
    pub fn data_mut(&mut self) -> &mut [f32] {
        match &mut self.storage {
            Storage::Cpu(data) => Arc::make_mut(data).as_mut_slice(),
            Storage::Gpu(_) => panic!("a tensor on the GPU is written by GPU ops, not through data_mut"),
        }
    }

    /// The values of a CPU tensor, giving up the tensor.
    ///
    /// # Panics
    /// When the tensor lives on a GPU.
    pub fn into_data(self) -> Vec<f32> {
        match self.storage {
            Storage::Cpu(data) => Arc::try_unwrap(data).unwrap_or_else(|shared| (*shared).clone()),
            Storage::Gpu(_) => panic!("this tensor lives on the GPU: read its values back with `tensor.read().await`"),
        }
    }

    /// The storage buffer of a GPU tensor, for binding it to a kernel.
    ///
    /// # Panics
    /// When the tensor lives on the CPU: every input of a GPU op must be on that GPU.
    pub fn buffer(&self) -> &wgpu::Buffer {
        match &self.storage {
            Storage::Gpu(b) => b.buffer(),
            Storage::Cpu(_) => panic!("a GPU op was given a CPU tensor: put it on the GPU first with `tensor.to(&device)`"),
        }
    }

    /// The same values with another shape of the same size (shared, not copied, on every device).
    pub fn reshaped(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if shape.numel() != self.shape.numel() {
            return Err(OpError::new("reshape", ErrorKind::Length, "the new shape holds a different number of values")
                .expected(format!("{} values", self.shape.numel()))
                .given(format!("shape {shape}"))
                .hint("a reshape keeps every value: the product of the dimensions must not change")
                .into());
        }
        Ok(Tensor { shape, storage: self.storage.clone() })
    }

    /// The tensor on `device`: a CPU tensor's values copied onto a GPU, or the tensor itself (shared) when it is
    /// already there.
    ///
    /// # Panics
    /// When a GPU tensor is asked to move: its values come back to the CPU with [`Tensor::read`].
    pub fn to(&self, device: &Device) -> Tensor {
        match (device, &self.storage) {
            (Device::Cpu, Storage::Cpu(_)) => self.clone(),
            (Device::Gpu(gpu), Storage::Cpu(data)) => {
                Tensor { shape: self.shape.clone(), storage: Storage::Gpu(Arc::new(gpu.upload(data.as_slice()))) }
            }
            (Device::Gpu(gpu), Storage::Gpu(b)) if b.gpu() == gpu => self.clone(),
            _ => panic!("a tensor on the GPU comes back to the CPU with `tensor.read().await`, not `to`"),
        }
    }

    /// The values on the CPU. On a GPU this submits the work recorded so far and waits for it (the only wait in
    /// the engine); on the CPU it is the tensor itself.
    pub async fn read(&self) -> Result<Tensor> {
        match &self.storage {
            Storage::Cpu(_) => Ok(self.clone()),
            Storage::Gpu(b) => Tensor::new(self.shape.clone(), b.gpu().read(b, self.numel()).await?),
        }
    }

    /// Whether two tensors share their storage (a GPU tensor is compared by its buffer).
    fn same_storage(&self, other: &Tensor) -> bool {
        match (&self.storage, &other.storage) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Arc::ptr_eq(a, b),
            (Storage::Gpu(a), Storage::Gpu(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// CPU tensors are equal when their shapes and values are; GPU tensors only when they share their buffer (their
/// values are on the device).
impl PartialEq for Tensor {
    fn eq(&self, other: &Tensor) -> bool {
        if self.shape != other.shape {
            return false;
        }
        match (&self.storage, &other.storage) {
            (Storage::Cpu(a), Storage::Cpu(b)) => a == b,
            _ => self.same_storage(other),
        }
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 8;
        match &self.storage {
            Storage::Cpu(data) => {
                write!(f, "Tensor{} {:?}", self.shape, &data[..data.len().min(SHOWN)])?;
                if data.len() > SHOWN {
                    write!(f, "…")?;
                }
                Ok(())
            }
            Storage::Gpu(_) => write!(f, "Tensor{} on the GPU", self.shape),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshapes_share_the_values_and_keep_their_count() {
        let t = Tensor::from_fn([2, 3], |i| i as f32);
        let r = t.reshaped([3, 2]).unwrap();
        assert!(r.same_storage(&t));
        assert_eq!(r.data(), t.data());
        assert!(t.reshaped([4]).is_err());
    }

    #[test]
    fn writing_one_clone_leaves_the_others() {
        let a = Tensor::zeros([3]);
        let mut b = a.clone();
        b.data_mut()[0] = 1.0;
        assert_eq!(a.data(), &[0.0; 3]);
        assert_eq!(b.data(), &[1.0, 0.0, 0.0]);
    }

    #[test]
    fn a_cpu_tensor_stays_itself_on_the_cpu() {
        let t = Tensor::scalar(2.5);
        assert_eq!(t.device(), Device::Cpu);
        assert!(t.to(&Device::Cpu).same_storage(&t));
        assert_eq!(pollster::block_on(t.read()).unwrap(), t);
    }
}
