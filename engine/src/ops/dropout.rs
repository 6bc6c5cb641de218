//! Dropout: while training, zero each value with probability `p` and scale the survivors by `1/(1−p)`, so the
//! expected value of every output equals its input; at test time (`training = false`), do nothing.
//!
//! ```text
//! mask[i] = 1 if uniform(seed, i) ≥ p else 0        y[i] = x[i] · mask[i] / (1 − p)
//! ```
//!
//! The uniform numbers come from the engine's counter-based generator ([`crate::rng::uniform_at`]), so the mask
//! depends only on the seed and the element's index: the CPU and the GPU draw the same mask, and a lesson can
//! show it. Backward lets the gradient through the same mask with the same scale.
//!
//! Inputs `[x]`, outputs `[y, mask]` (the mask is kept for backward).

use super::{Example, Op, Path};
use crate::device::gpu::Gpu;
use crate::device::{Device, cpu};
use crate::error::{ErrorKind, OpError, Result};
use crate::rng::{CounterUniform, Rng};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::uniforms;

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

    /// The output and the mask (1 kept, 0 dropped), on `x`'s device.
    pub fn forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        match x.device() {
            Device::Cpu => cpu::elementwise::dropout(self, x),
            Device::Gpu(gpu) => self.forward_gpu(&gpu, x),
        }
    }

    /// `dx = dy · mask · scale`.
    pub fn backward(&self, dy: &Tensor, mask: &Tensor) -> Tensor {
        match dy.device() {
            Device::Cpu => cpu::elementwise::dropout_backward(self, dy, mask),
            Device::Gpu(gpu) => self.backward_gpu(&gpu, dy, mask),
        }
    }

    /// The reference forward.
    pub fn reference_forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        let mask = Tensor::from_fn(self.shape.clone(), |i| if self.keeps(i) { 1.0 } else { 0.0 });
        let y = Tensor::from_fn(self.shape.clone(), |i| x.data()[i] * mask.data()[i] * self.scale());
        (y, mask)
    }

    /// The reference backward.
    pub fn reference_backward(&self, dy: &Tensor, mask: &Tensor) -> Tensor {
        Tensor::from_fn(self.shape.clone(), |i| dy.data()[i] * mask.data()[i] * self.scale())
    }
}

uniforms! {
    /// The `Params` of `shaders/dropout.wgsl`.
    pub struct Uniforms { total: u32, p: f32, training: u32, seed: u32 }
}

impl Dropout {
    fn uniforms(&self) -> Uniforms {
        Uniforms { total: self.shape.numel() as u32, p: self.p, training: self.training as u32, seed: self.seed }
    }

    fn forward_gpu(&self, gpu: &Gpu, x: &Tensor) -> (Tensor, Tensor) {
        let (y, mask) = (gpu.empty(self.shape.clone()), gpu.empty(self.shape.clone()));
        gpu.dispatch("dropout", "forward", &self.uniforms(), &[(1, x.buffer()), (2, y.buffer()), (3, mask.buffer())], y.numel());
        (y, mask)
    }

    fn backward_gpu(&self, gpu: &Gpu, dy: &Tensor, mask: &Tensor) -> Tensor {
        let dx = gpu.empty(self.shape.clone());
        gpu.dispatch("dropout", "backward", &self.uniforms(), &[(4, mask.buffer()), (5, dy.buffer()), (6, dx.buffer())], dx.numel());
        dx
    }
}

impl Op for Dropout {
    fn outputs(&self, x: &[&Tensor], path: Path) -> Vec<Tensor> {
        let (y, mask) = match path {
            Path::Device => self.forward(x[0]),
            Path::Reference => self.reference_forward(x[0]),
        };
        vec![y, mask]
    }

    fn gradients(&self, _: &[&Tensor], out: &[&Tensor], dy: &[&Tensor], path: Path) -> Vec<Option<Tensor>> {
        vec![Some(match path {
            Path::Device => self.backward(dy[0], out[1]),
            Path::Reference => self.reference_backward(dy[0], out[1]),
        })]
    }
}

/// Training at several rates (and p = 0), evaluation, and a tensor large enough to be drawn on several threads.
pub fn examples(rng: &mut Rng) -> Vec<Example> {
    let mut out = Vec::new();
    for (p, training, len) in [(0.5, true, 40), (0.1, true, 17), (0.3, false, 23), (0.0, true, 9), (0.25, true, 70_000)] {
        let x = Tensor::randn([3, len], rng);
        let op = Dropout::new(x.shape(), p, training, rng.below(1000) as u32).expect("valid");
        let example = Example::new(format!("dropout p {p} training {training} [3, {len}]"), op, vec![x]);
        out.push(if len > 1000 { example.finite_differences(None) } else { example });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let dx = op.backward(&Tensor::from_fn([100], |_| 1.0), &mask);
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
