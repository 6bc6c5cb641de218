//! PyTorch's default initialisation, so a model starts where its PyTorch twin would.
//!
//! `nn.Conv2d` and `nn.Linear` draw their weights from `kaiming_uniform_(a=√5)`, which works out to
//! `U(−1/√fan_in, 1/√fan_in)`, and their biases from the same range. `fan_in` is the number of inputs each output
//! sums: `in_channels/groups · kH · kW` for a convolution, `in_features` for a linear layer.

use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A weight or bias drawn like PyTorch's defaults for a layer with `fan_in` inputs per output.
pub fn pytorch_uniform(shape: impl Into<Shape>, fan_in: usize, rng: &mut Rng) -> Tensor {
    let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
    Tensor::uniform(shape, -bound, bound, rng)
}

/// fastai's embedding initialisation: a normal with standard deviation 0.01, truncated at two of them.
pub fn truncated_normal(shape: impl Into<Shape>, std: f32, rng: &mut Rng) -> Tensor {
    Tensor::from_fn(shape, |_| loop {
        let v = rng.normal();
        if v.abs() <= 2.0 {
            break v * std;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_one_over_root_fan_in() {
        let w = pytorch_uniform([64, 9], 9, &mut Rng::new(1));
        assert!(w.data().iter().all(|v| v.abs() <= 1.0 / 3.0));
        assert!(w.data().iter().any(|v| v.abs() > 0.3));
        let e = truncated_normal([1000], 0.01, &mut Rng::new(2));
        assert!(e.data().iter().all(|v| v.abs() <= 0.02));
    }
}
