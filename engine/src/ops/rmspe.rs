//! Root mean square percentage error, the Rossmann competition's metric:
//!
//! ```text
//! r_i = (y_i − ŷ_i) / y_i          loss = √(mean(r_i²))
//! ```
//!
//! An error of 10 on a sale of 100 counts like an error of 1000 on a sale of 10 000. `y` must not be 0 (the
//! competition skipped days without sales). Backward, with `n` values: `∂ŷ_i = −r_i / (n·loss·y_i)·g` and
//! `∂y_i = r_i·ŷ_i / (n·loss·y_i²)·g` (0 when the loss is 0).

use crate::backend::gpu::{Gpu, GpuTensor};
use crate::backend::{Backend, DeviceTensor};
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A validated RMSPE.
#[derive(Clone, Debug, PartialEq)]
pub struct Rmspe {
    /// The shape of targets and predictions.
    pub shape: Shape,
}

/// Validates and computes the RMSPE on any backend.
pub fn rmspe<B: Backend>(backend: &B, y: &B::Tensor, yhat: &B::Tensor) -> Result<B::Tensor> {
    Ok(backend.rmspe(&Rmspe::new(y.shape(), yhat.shape())?, y, yhat))
}

impl Rmspe {
    /// Targets and predictions must have the same shape.
    pub fn new(y: &Shape, yhat: &Shape) -> Result<Rmspe> {
        if y != yhat || y.numel() == 0 {
            return Err(OpError::new("rmspe", ErrorKind::Shape, "the targets and the predictions must have the same, non-empty shape")
                .expected(y)
                .given(yhat)
                .hint("compare predictions and targets of the same rows")
                .into());
        }
        Ok(Rmspe { shape: y.clone() })
    }

    /// The CPU reference.
    pub fn forward(&self, y: &Tensor, yhat: &Tensor) -> Tensor {
        let n = self.shape.numel() as f32;
        let sum: f32 = y.data().iter().zip(yhat.data()).map(|(y, h)| ((y - h) / y) * ((y - h) / y)).sum();
        Tensor::new(Shape::default(), vec![(sum / n).sqrt()]).expect("a scalar")
    }

    /// The CPU reference backward: `(∂y, ∂ŷ)`.
    pub fn backward(&self, y: &Tensor, yhat: &Tensor, loss: &Tensor, dloss: &Tensor) -> (Tensor, Tensor) {
        let n = self.shape.numel() as f32;
        let (l, g) = (loss.data()[0], dloss.data()[0]);
        let scale = if l == 0.0 { 0.0 } else { g / (n * l) };
        let r = |i: usize| (y.data()[i] - yhat.data()[i]) / y.data()[i];
        let dy = Tensor::from_fn(self.shape.clone(), |i| r(i) * yhat.data()[i] / (y.data()[i] * y.data()[i]) * scale);
        let dyhat = Tensor::from_fn(self.shape.clone(), |i| -r(i) / y.data()[i] * scale);
        (dy, dyhat)
    }

    /// Records the forward pass on the GPU (`shaders/rmspe.wgsl`).
    pub fn forward_gpu(&self, gpu: &Gpu, y: &GpuTensor, yhat: &GpuTensor) -> GpuTensor {
        let loss = gpu.empty(Shape::default());
        gpu.dispatch("rmspe", "forward", &[self.shape.numel() as u32], &[(1, y.buffer()), (2, yhat.buffer()), (3, loss.buffer())], 1);
        loss
    }

    /// Records the backward pass on the GPU.
    pub fn backward_gpu(&self, gpu: &Gpu, y: &GpuTensor, yhat: &GpuTensor, loss: &GpuTensor, dloss: &GpuTensor) -> (GpuTensor, GpuTensor) {
        let (dy, dyhat) = (gpu.empty(self.shape.clone()), gpu.empty(self.shape.clone()));
        let bindings = [(1, y.buffer()), (2, yhat.buffer()), (4, loss.buffer()), (5, dloss.buffer()), (6, dy.buffer()), (7, dyhat.buffer())];
        gpu.dispatch("rmspe", "backward", &[self.shape.numel() as u32], &bindings, self.shape.numel());
        (dy, dyhat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::check_gradient;
    use crate::rng::Rng;

    #[test]
    fn ten_percent_off_everywhere_is_point_one() {
        let y = Tensor::new([2], vec![100.0, 10_000.0]).unwrap();
        let yhat = Tensor::new([2], vec![110.0, 9_000.0]).unwrap();
        let loss = Rmspe::new(y.shape(), yhat.shape()).unwrap().forward(&y, &yhat);
        assert!((loss.data()[0] - 0.1).abs() < 1e-6);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(17);
        let y = Tensor::uniform([6], 1.0, 3.0, &mut rng);
        let yhat = Tensor::uniform([6], 1.0, 3.0, &mut rng);
        let op = Rmspe::new(y.shape(), yhat.shape()).unwrap();
        let loss = op.forward(&y, &yhat);
        let scalar = Shape::default();
        check_gradient(&y, &scalar, |y| op.forward(y, &yhat), |g| op.backward(&y, &yhat, &loss, g).0, &mut rng);
        check_gradient(&yhat, &scalar, |h| op.forward(&y, h), |g| op.backward(&y, &yhat, &loss, g).1, &mut rng);
    }
}
