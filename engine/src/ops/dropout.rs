//! Dropout: while training, zero each value with probability `p` and scale the survivors by `1/(1−p)`, so the
//! expected value of every output equals its input; at test time (`training = false`), do nothing.
//!
//! ```text
//! mask[i] = 1 if uniform(seed, i) ≥ p else 0        y[i] = x[i] · mask[i] / (1 − p)
//! ```
//!
//! The uniform numbers come from the engine's counter-based generator ([`crate::rng::uniform_at`]), so the mask
//! depends only on the seed and the element's index: the CPU and the GPU draw the same mask, and a lesson can
//! show it.
//! Backward lets the gradient through the same mask with the same scale.

use crate::backend::gpu::{Gpu, GpuTensor};
use crate::backend::parallel;
use crate::backend::{Backend, DeviceTensor};
use crate::error::{ErrorKind, OpError, Result};
use crate::rng::CounterUniform;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A validated dropout.
#[derive(Clone, Debug, PartialEq)]
pub struct Dropout {
    /// The shape of the input.
    pub shape: Shape,
    /// The probability of dropping a value, in [0, 1).
    pub p: f32,
    /// Drop (training) or pass everything through (evaluation).
    pub training: bool,
    /// Which mask: the same seed gives the same mask.
    pub seed: u32,
}

/// Validates and runs a dropout on any backend; returns the output and the mask.
pub fn dropout<B: Backend>(backend: &B, x: &B::Tensor, p: f32, training: bool, seed: u32) -> Result<(B::Tensor, B::Tensor)> {
    Ok(backend.dropout(&Dropout::new(x.shape(), p, training, seed)?, x))
}

impl Dropout {
    /// Checks `p`.
    pub fn new(shape: &Shape, p: f32, training: bool, seed: u32) -> Result<Dropout> {
        if !(0.0..1.0).contains(&p) {
            return Err(OpError::new("dropout", ErrorKind::Value, "the drop probability must be at least 0 and below 1")
                .expected("0 ≤ p < 1")
                .given(format!("p = {p}"))
                .hint("p = 0.5 drops half the values; p = 1 would drop everything and divide by zero")
                .into());
        }
        Ok(Dropout { shape: shape.clone(), p, training, seed })
    }

    /// Whether element `i` survives.
    pub fn keeps(&self, i: usize) -> bool {
        !self.training || CounterUniform::new(self.seed).at_least(i as u32, self.p)
    }

    /// The factor survivors are multiplied by.
    pub fn scale(&self) -> f32 {
        if self.training { 1.0 / (1.0 - self.p) } else { 1.0 }
    }

    /// The CPU reference: the output and the mask.
    pub fn forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        if !self.training {
            return (x.clone(), Tensor::from_fn(self.shape.clone(), |_| 1.0));
        }
        let keeps = CounterUniform::new(self.seed).at_least_p(self.p);
        let n = x.data().len();
        // Each element's draw depends only on its index, so the chunks can be drawn on separate threads.
        let mask = parallel::from_fn(n, move |i| if keeps.at(i as u32) { 1.0 } else { 0.0 });
        let y = self.masked(x.data(), &mask);
        (Tensor::new(self.shape.clone(), y).expect("same size"), Tensor::new(self.shape.clone(), mask).expect("same size"))
    }

    /// The CPU reference backward: `dy · mask · scale` for every value.
    pub fn backward(&self, dy: &Tensor, mask: &Tensor) -> Tensor {
        Tensor::new(self.shape.clone(), self.masked(dy.data(), mask.data())).expect("same size")
    }

    /// `value · mask · scale` for every value: the forward applies the mask to x, the backward to dy.
    fn masked(&self, values: &[f32], mask: &[f32]) -> Vec<f32> {
        let scale = self.scale();
        parallel::map2(values, mask, move |v, keep| v * keep * scale)
    }

    fn uniforms(&self) -> [u32; 4] {
        [self.shape.numel() as u32, self.p.to_bits(), self.training as u32, self.seed]
    }

    /// Records the forward pass on the GPU (`shaders/dropout.wgsl`).
    pub fn forward_gpu(&self, gpu: &Gpu, x: &GpuTensor) -> (GpuTensor, GpuTensor) {
        let (y, mask) = (gpu.empty(self.shape.clone()), gpu.empty(self.shape.clone()));
        gpu.dispatch("dropout", "forward", &self.uniforms(), &[(1, x.buffer()), (2, y.buffer()), (3, mask.buffer())], y.numel());
        (y, mask)
    }

    /// Records the backward pass on the GPU.
    pub fn backward_gpu(&self, gpu: &Gpu, dy: &GpuTensor, mask: &GpuTensor) -> GpuTensor {
        let dx = gpu.empty(self.shape.clone());
        gpu.dispatch("dropout", "backward", &self.uniforms(), &[(4, mask.buffer()), (5, dy.buffer()), (6, dx.buffer())], dx.numel());
        dx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::uniform_at;

    #[test]
    fn a_large_mask_drawn_on_several_threads_is_the_counter_generator_s() {
        let x = Tensor::from_fn([200_003], |i| i as f32);
        let op = Dropout::new(x.shape(), 0.25, true, 7).unwrap();
        let (y, mask) = op.forward(&x);
        for i in 0..x.data().len() {
            let keep = uniform_at(7, i as u32) >= 0.25;
            assert_eq!(mask.data()[i], if keep { 1.0 } else { 0.0 }, "mask at {i}");
            assert_eq!(y.data()[i], if keep { i as f32 * op.scale() } else { 0.0 }, "value at {i}");
        }
    }

    #[test]
    fn drops_about_p_and_keeps_the_mean() {
        let x = Tensor::from_fn([10_000], |_| 1.0);
        let op = Dropout::new(x.shape(), 0.3, true, 42).unwrap();
        let (y, mask) = op.forward(&x);
        let kept = mask.data().iter().sum::<f32>() / 10_000.0;
        assert!((kept - 0.7).abs() < 0.02, "kept {kept}");
        let mean = y.data().iter().sum::<f32>() / 10_000.0;
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
        assert!(y.data().iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
    }

    #[test]
    fn evaluation_and_p_zero_pass_everything() {
        let x = Tensor::from_fn([50], |i| i as f32);
        assert_eq!(Dropout::new(x.shape(), 0.5, false, 1).unwrap().forward(&x).0, x);
        assert_eq!(Dropout::new(x.shape(), 0.0, true, 1).unwrap().forward(&x).0, x);
    }

    #[test]
    fn the_seed_fixes_the_mask() {
        let x = Tensor::from_fn([64], |_| 1.0);
        let mask = |seed| Dropout::new(x.shape(), 0.5, true, seed).unwrap().forward(&x).1;
        assert_eq!(mask(3), mask(3));
        assert_ne!(mask(3), mask(4));
    }

    #[test]
    fn backward_uses_the_forward_mask() {
        let x = Tensor::from_fn([100], |i| i as f32 - 50.0);
        let op = Dropout::new(x.shape(), 0.4, true, 9).unwrap();
        let (_, mask) = op.forward(&x);
        let dy = Tensor::from_fn([100], |_| 1.0);
        let dx = op.backward(&dy, &mask);
        for i in 0..100 {
            let expected = if mask.data()[i] == 1.0 { 1.0 / 0.6 } else { 0.0 };
            assert!((dx.data()[i] - expected).abs() < 1e-6);
        }
    }

    #[test]
    fn p_of_one_is_refused() {
        assert!(Dropout::new(&Shape::from([3]), 1.0, true, 0).is_err());
        assert!(Dropout::new(&Shape::from([3]), -0.1, true, 0).is_err());
    }
}
