//! A dense f32 tensor in row-major order: the CPU backend's storage and the engine's exchange format.

use crate::error::{ErrorKind, OpError, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use std::fmt;
use std::sync::Arc;

/// A dense f32 tensor, row-major (C order); images are NCHW. Clones share the values until one is written to
/// (copy on write), so keeping a layer's input for its backward costs nothing.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    shape: Shape,
    data: Arc<Vec<f32>>,
}

impl Tensor {
    /// A tensor from its shape and its values in row-major order.
    pub fn new(shape: impl Into<Shape>, data: Vec<f32>) -> Result<Self> {
        let shape = shape.into();
        if shape.numel() != data.len() {
            return Err(OpError::new("tensor", ErrorKind::Length, "the values do not fill the shape")
                .expected(format!("{} values for shape {shape}", shape.numel()))
                .given(format!("{} values", data.len()))
                .hint("check the shape, or pass one value per element")
                .into());
        }
        Ok(Tensor { shape, data: Arc::new(data) })
    }

    /// A tensor of zeros.
    pub fn zeros(shape: impl Into<Shape>) -> Self {
        let shape = shape.into();
        let data = Arc::new(vec![0.0; shape.numel()]);
        Tensor { shape, data }
    }

    /// A tensor whose element at flat index `i` is `f(i)`.
    pub fn from_fn(shape: impl Into<Shape>, f: impl FnMut(usize) -> f32) -> Self {
        let shape = shape.into();
        let data = Arc::new((0..shape.numel()).map(f).collect());
        Tensor { shape, data }
    }

    /// Standard-normal values from `rng`, like `torch.randn`.
    pub fn randn(shape: impl Into<Shape>, rng: &mut Rng) -> Self {
        Self::from_fn(shape, |_| rng.normal())
    }

    /// Uniform values in `[low, high)` from `rng`.
    pub fn uniform(shape: impl Into<Shape>, low: f32, high: f32, rng: &mut Rng) -> Self {
        Self::from_fn(shape, |_| low + (high - low) * rng.uniform())
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The values, row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The values, row-major, for writing (copied first if another clone shares them).
    pub fn data_mut(&mut self) -> &mut [f32] {
        Arc::make_mut(&mut self.data).as_mut_slice()
    }

    /// The values, giving up the tensor.
    pub fn into_data(self) -> Vec<f32> {
        Arc::try_unwrap(self.data).unwrap_or_else(|shared| (*shared).clone())
    }

    /// The same values with another shape of the same size (shared, not copied).
    pub fn reshaped(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if shape.numel() != self.shape.numel() {
            return Tensor::new(shape, Vec::new());
        }
        Ok(Tensor { shape, data: self.data.clone() })
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 8;
        write!(f, "Tensor{} {:?}", self.shape, &self.data[..self.data.len().min(SHOWN)])?;
        if self.data.len() > SHOWN {
            write!(f, "…")?;
        }
        Ok(())
    }
}
