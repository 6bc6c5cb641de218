//! Sigmoid, and sigmoid squashed into a range (fastai's `sigmoid_range`, the `y_range` head of a regression).
//!
//! ```text
//! σ(x) = 1 / (1 + e^(−x))          y = low + (high − low) · σ(x)
//! ```
//!
//! The plain sigmoid is the range (0, 1). A regression head with `y_range = (0, log(1.2·max))` can then only
//! predict values in that range, which makes training easier. Backward: `dx = dy · (high − low) · σ(x)(1 − σ(x))`.
//!
//! Inputs `[x]`, outputs `[y]`, both of any shape.

use super::dispatch::{Unary, launch};
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

/// A sigmoid squashed into `(low, high)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sigmoid {
    /// The value for x → −∞.
    pub low: f32,
    /// The value for x → +∞.
    pub high: f32,
}

impl Sigmoid {
    /// The ordinary sigmoid, into (0, 1).
    pub const STANDARD: Sigmoid = Sigmoid { low: 0.0, high: 1.0 };

    /// A sigmoid into `(low, high)`; `low` must be below `high`.
    pub fn range(low: f32, high: f32) -> Result<Sigmoid> {
        if !low.is_finite() || !high.is_finite() || low >= high {
            return Err(OpError::new("sigmoid_range", ErrorKind::Value, "the range must run from a lower to a higher finite value")
                .expected("low < high")
                .given(format!("low {low}, high {high}"))
                .hint("for sales on a log scale, (0, log(1.2 · the largest sale))")
                .into());
        }
        Ok(Sigmoid { low, high })
    }

    fn sigma(x: f32) -> f32 {
        1.0 / (1.0 + (-x).exp())
    }

    fn uniforms(&self, x: &Tensor) -> Uniforms {
        Uniforms { total: x.numel() as u32, low: self.low, high: self.high }
    }
}

impl Unary for Sigmoid {
    const NAME: &'static str = "sigmoid";

    /// `y = low + (high − low)·σ(x)`.
    fn reference_forward(&self, x: &Tensor) -> Tensor {
        Tensor::from_fn(x.shape().clone(), |i| self.low + (self.high - self.low) * Self::sigma(x.data()[i]))
    }

    /// `dx = dy·(high − low)·σ(x)(1 − σ(x))`.
    fn reference_backward(&self, x: &Tensor, dy: &Tensor) -> Tensor {
        Tensor::from_fn(x.shape().clone(), |i| {
            let s = Self::sigma(x.data()[i]);
            dy.data()[i] * (self.high - self.low) * s * (1.0 - s)
        })
    }

    fn gpu_forward(&self, gpu: &Gpu, x: &Tensor) -> Tensor {
        launch(gpu, &FORWARD, &self.uniforms(x), [x], x.shape().clone())
    }

    fn gpu_backward(&self, gpu: &Gpu, x: &Tensor, dy: &Tensor) -> Tensor {
        launch(gpu, &BACKWARD, &self.uniforms(x), [x, dy], x.shape().clone())
    }
}

uniforms! {
    /// The `Params` of `shaders/sigmoid.wgsl`.
    pub struct Uniforms { total: u32, low: f32, high: f32 }
}

kernels! {
    shader "sigmoid", uniforms Uniforms;
    FORWARD = forward(x: 1, y: 2);
    BACKWARD = backward(x: 1, dy: 3, dx: 4);
}

/// The plain sigmoid and two ranges.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    [Sigmoid::STANDARD, Sigmoid::range(-1.0, 3.0).expect("valid"), Sigmoid::range(0.0, 5.5).expect("valid")]
        .into_iter()
        .map(|op| crate::ops::dispatch::Example::new(format!("sigmoid into ({}, {})", op.low, op.high), op, vec![Tensor::randn([4, 5], rng)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_is_respected() {
        let op = Sigmoid::range(-1.0, 3.0).unwrap();
        let y = op.forward(&Tensor::new([3], vec![-50.0, 0.0, 50.0]).unwrap()).unwrap();
        assert_eq!(y.data(), &[-1.0, 1.0, 3.0]);
        assert!(Sigmoid::range(2.0, 2.0).is_err());
    }
}
