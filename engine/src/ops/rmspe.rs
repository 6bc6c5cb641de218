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

use super::dispatch::on_device;
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

const OP: &str = "rmspe";

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
            return Err(OpError::new(OP, ErrorKind::Shape, "the targets and the predictions must have the same, non-empty shape")
                .expected(y)
                .given(yhat)
                .hint("compare predictions and targets of the same rows")
                .into());
        }
        Ok(Rmspe { shape: y.clone() })
    }

    /// The loss, on `y`'s device (the CPU runs the reference; on the GPU one workgroup sums the squared ratios).
    pub fn forward(&self, y: &Tensor, yhat: &Tensor) -> Result<Tensor> {
        on_device(OP, [y, yhat], || self.reference_forward(y, yhat), |gpu| {
            let loss = Tensor::empty_on(gpu, Shape::default());
            gpu.dispatch_grid(&FORWARD, &self.uniforms(), [y.buffer(), yhat.buffer(), loss.buffer()], [1, 1, 1]);
            loss
        })
    }

    /// `(∂y, ∂ŷ)` from the forward's `loss` and the upstream gradient `dloss`.
    pub fn backward(&self, y: &Tensor, yhat: &Tensor, loss: &Tensor, dloss: &Tensor) -> Result<(Tensor, Tensor)> {
        on_device(OP, [y, yhat, loss, dloss], || self.reference_backward(y, yhat, loss, dloss), |gpu| {
            let (dy, dyhat) = (Tensor::empty_on(gpu, self.shape.clone()), Tensor::empty_on(gpu, self.shape.clone()));
            let buffers = [y.buffer(), yhat.buffer(), loss.buffer(), dloss.buffer(), dy.buffer(), dyhat.buffer()];
            gpu.dispatch(&BACKWARD, &self.uniforms(), buffers, self.shape.numel());
            (dy, dyhat)
        })
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

kernels! {
    shader "rmspe", uniforms Uniforms;
    FORWARD = forward(y: 1, yhat: 2, loss: 3);
    BACKWARD = backward(y: 1, yhat: 2, saved_loss: 4, dloss: 5, dy: 6, dyhat: 7);
}

impl Rmspe {
    fn uniforms(&self) -> Uniforms {
        Uniforms { total: self.shape.numel() as u32 }
    }
}

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for Rmspe {
    fn outputs(&self, x: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        Ok(vec![path.run(|| self.reference_forward(x[0], x[1]), || self.forward(x[0], x[1]))?])
    }

    fn gradients(&self, x: &[&Tensor], loss: &[&Tensor], dloss: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        let run = |path: crate::ops::dispatch::Path| path.run(|| self.reference_backward(x[0], x[1], loss[0], dloss[0]), || self.backward(x[0], x[1], loss[0], dloss[0]));
        let (dy, dyhat) = run(path)?;
        Ok(vec![Some(dy), Some(dyhat)])
    }
}

/// Sales-like values, and more of them than one GPU invocation may loop over on lavapipe (65,536).
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    let mut out = Vec::new();
    for (len, fd) in [(7, true), (100_000, false)] {
        let (y, yhat) = (Tensor::uniform([len], 1.0, 3.0, rng), Tensor::uniform([len], 1.0, 3.0, rng));
        let example = crate::ops::dispatch::Example::new(format!("rmspe of {len}"), Rmspe::new(y.shape(), yhat.shape()).expect("valid"), vec![y, yhat]);
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
        let loss = Rmspe::new(y.shape(), yhat.shape()).unwrap().forward(&y, &yhat).unwrap();
        assert!((loss.data()[0] - 0.1).abs() < 1e-6);
    }
}
