//! Root mean square percentage error, the Rossmann competition's metric:
//!
//! ```text
//! r_i = (y_i − ŷ_i) / y_i          loss = √(mean(r_i²))
//! ```
//!
//! An error of 10 on a sale of 100 counts like an error of 1000 on a sale of 10 000. `y` must not be 0 (the
//! competition skipped days without sales). Backward, with `n` values: `∂ŷ_i = −r_i / (n·loss·y_i)·g` and
//! `∂y_i = r_i·ŷ_i / (n·loss·y_i²)·g` (0 when the loss is 0).
//!
//! Inputs `[y, yhat]` of the same shape, outputs `[loss]` (a scalar).

use super::{Example, Op, Path};
use crate::device::Device;
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::uniforms;

/// A validated RMSPE.
#[derive(Clone, Debug, PartialEq)]
pub struct Rmspe {
    /// The shape of targets and predictions.
    pub shape: Shape,
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

    /// The loss, on `y`'s device.
    pub fn forward(&self, y: &Tensor, yhat: &Tensor) -> Tensor {
        match y.device() {
            Device::Cpu => self.reference_forward(y, yhat),
            Device::Gpu(gpu) => self.forward_gpu(&gpu, y, yhat),
        }
    }

    /// `(∂y, ∂ŷ)` from the forward's `loss` and the upstream gradient `dloss`.
    pub fn backward(&self, y: &Tensor, yhat: &Tensor, loss: &Tensor, dloss: &Tensor) -> (Tensor, Tensor) {
        match y.device() {
            Device::Cpu => self.reference_backward(y, yhat, loss, dloss),
            Device::Gpu(gpu) => self.backward_gpu(&gpu, y, yhat, loss, dloss),
        }
    }

    /// The reference forward.
    pub fn reference_forward(&self, y: &Tensor, yhat: &Tensor) -> Tensor {
        let n = self.shape.numel() as f32;
        let sum: f32 = y.data().iter().zip(yhat.data()).map(|(y, h)| ((y - h) / y) * ((y - h) / y)).sum();
        Tensor::scalar((sum / n).sqrt())
    }

    /// The reference backward.
    pub fn reference_backward(&self, y: &Tensor, yhat: &Tensor, loss: &Tensor, dloss: &Tensor) -> (Tensor, Tensor) {
        let n = self.shape.numel() as f32;
        let (l, g) = (loss.data()[0], dloss.data()[0]);
        let scale = if l == 0.0 { 0.0 } else { g / (n * l) };
        let r = |i: usize| (y.data()[i] - yhat.data()[i]) / y.data()[i];
        let dy = Tensor::from_fn(self.shape.clone(), |i| r(i) * yhat.data()[i] / (y.data()[i] * y.data()[i]) * scale);
        let dyhat = Tensor::from_fn(self.shape.clone(), |i| -r(i) / y.data()[i] * scale);
        (dy, dyhat)
    }
}

uniforms! {
    /// The `Params` of `shaders/rmspe.wgsl`.
    pub struct Uniforms { total: u32 }
}

impl Rmspe {
    fn uniforms(&self) -> Uniforms {
        Uniforms { total: self.shape.numel() as u32 }
    }

    /// One workgroup sums the squared ratios.
    fn forward_gpu(&self, gpu: &Gpu, y: &Tensor, yhat: &Tensor) -> Tensor {
        let loss = gpu.empty(Shape::default());
        gpu.dispatch_grid("rmspe", "forward", &self.uniforms(), &[(1, y.buffer()), (2, yhat.buffer()), (3, loss.buffer())], [1, 1, 1]);
        loss
    }

    fn backward_gpu(&self, gpu: &Gpu, y: &Tensor, yhat: &Tensor, loss: &Tensor, dloss: &Tensor) -> (Tensor, Tensor) {
        let (dy, dyhat) = (gpu.empty(self.shape.clone()), gpu.empty(self.shape.clone()));
        let bindings = [(1, y.buffer()), (2, yhat.buffer()), (4, loss.buffer()), (5, dloss.buffer()), (6, dy.buffer()), (7, dyhat.buffer())];
        gpu.dispatch("rmspe", "backward", &self.uniforms(), &bindings, self.shape.numel());
        (dy, dyhat)
    }
}

impl Op for Rmspe {
    fn outputs(&self, x: &[&Tensor], path: Path) -> Vec<Tensor> {
        vec![match path {
            Path::Device => self.forward(x[0], x[1]),
            Path::Reference => self.reference_forward(x[0], x[1]),
        }]
    }

    fn gradients(&self, x: &[&Tensor], loss: &[&Tensor], dloss: &[&Tensor], path: Path) -> Vec<Option<Tensor>> {
        let (dy, dyhat) = match path {
            Path::Device => self.backward(x[0], x[1], loss[0], dloss[0]),
            Path::Reference => self.reference_backward(x[0], x[1], loss[0], dloss[0]),
        };
        vec![Some(dy), Some(dyhat)]
    }
}

/// Sales-like values, and more of them than one GPU invocation may loop over on lavapipe (65,536).
pub fn examples(rng: &mut Rng) -> Vec<Example> {
    let mut out = Vec::new();
    for (len, fd) in [(7, true), (100_000, false)] {
        let (y, yhat) = (Tensor::uniform([len], 1.0, 3.0, rng), Tensor::uniform([len], 1.0, 3.0, rng));
        let example = Example::new(format!("rmspe of {len}"), Rmspe::new(y.shape(), yhat.shape()).expect("valid"), vec![y, yhat]);
        out.push(if fd { example } else { example.finite_differences(None) });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_percent_off_everywhere_is_point_one() {
        let y = Tensor::new([2], vec![100.0, 10_000.0]).unwrap();
        let yhat = Tensor::new([2], vec![110.0, 9_000.0]).unwrap();
        let loss = Rmspe::new(y.shape(), yhat.shape()).unwrap().forward(&y, &yhat);
        assert!((loss.data()[0] - 0.1).abs() < 1e-6);
    }
}
