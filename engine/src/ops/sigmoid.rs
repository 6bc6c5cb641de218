//! Sigmoid, and sigmoid squashed into a range (fastai's `sigmoid_range`, the `y_range` head of a regression).
//!
//! ```text
//! σ(x) = 1 / (1 + e^(−x))          y = low + (high − low) · σ(x)
//! ```
//!
//! The plain sigmoid is the range (0, 1). A regression head with `y_range = (0, log(1.2·max))` can then only
//! predict values in that range, which makes training easier. Backward: `dx = dy · (high − low) · σ(x)(1 − σ(x))`.

use crate::backend::gpu::{Gpu, GpuTensor};
use crate::backend::DeviceTensor;
use crate::error::{ErrorKind, OpError, Result};
use crate::tensor::Tensor;

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

    /// The CPU reference.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        Tensor::from_fn(x.shape().clone(), |i| self.low + (self.high - self.low) * Self::sigma(x.data()[i]))
    }

    /// The CPU reference backward.
    pub fn backward(&self, x: &Tensor, dy: &Tensor) -> Tensor {
        Tensor::from_fn(x.shape().clone(), |i| {
            let s = Self::sigma(x.data()[i]);
            dy.data()[i] * (self.high - self.low) * s * (1.0 - s)
        })
    }

    fn uniforms(&self, total: usize) -> [u32; 4] {
        [total as u32, self.low.to_bits(), self.high.to_bits(), 0]
    }

    /// Records the forward pass on the GPU (`shaders/sigmoid.wgsl`).
    pub fn forward_gpu(&self, gpu: &Gpu, x: &GpuTensor) -> GpuTensor {
        let y = gpu.empty(x.shape().clone());
        gpu.dispatch("sigmoid", "forward", &self.uniforms(x.numel()), &[(1, x.buffer()), (2, y.buffer())], x.numel());
        y
    }

    /// Records the backward pass on the GPU.
    pub fn backward_gpu(&self, gpu: &Gpu, x: &GpuTensor, dy: &GpuTensor) -> GpuTensor {
        let dx = gpu.empty(x.shape().clone());
        gpu.dispatch("sigmoid", "backward", &self.uniforms(x.numel()), &[(1, x.buffer()), (3, dy.buffer()), (4, dx.buffer())], x.numel());
        dx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::check_gradient;
    use crate::rng::Rng;

    #[test]
    fn the_range_is_respected() {
        let op = Sigmoid::range(-1.0, 3.0).unwrap();
        let y = op.forward(&Tensor::new([3], vec![-50.0, 0.0, 50.0]).unwrap());
        assert_eq!(y.data(), &[-1.0, 1.0, 3.0]);
        assert!(Sigmoid::range(2.0, 2.0).is_err());
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(11);
        let x = Tensor::randn([4, 5], &mut rng);
        for op in [Sigmoid::STANDARD, Sigmoid::range(0.0, 5.5).unwrap()] {
            check_gradient(&x, x.shape(), |x| op.forward(x), |dy| op.backward(&x, dy), &mut rng);
        }
    }
}
