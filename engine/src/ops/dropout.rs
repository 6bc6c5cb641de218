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

use super::dispatch::{launch, on_device};
use crate::device::cpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::rng::CounterUniform;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

const OP: &str = "dropout";

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
            return Err(OpError::new(OP, ErrorKind::Value, "the drop probability must be at least 0 and below 1")
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

    /// The output and the mask (1 kept, 0 dropped), on `x`'s device. The CPU draws the mask on every core (each
    /// element's draw depends on its index alone, so the mask is the reference's).
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let cpu = || {
            if !self.training {
                return (x.clone(), Tensor::from_fn(self.shape.clone(), |_| 1.0));
            }
            let mask = cpu::elementwise::dropout_mask(x.numel(), self.seed, self.p);
            let y = cpu::elementwise::masked(x.data(), &mask, self.scale());
            (self.tensor(y), self.tensor(mask))
        };
        on_device(OP, [x], cpu, |gpu| {
            let (y, mask) = (Tensor::empty_on(gpu, self.shape.clone()), Tensor::empty_on(gpu, self.shape.clone()));
            gpu.dispatch(&FORWARD, &self.uniforms(), [x.buffer(), y.buffer(), mask.buffer()], y.numel());
            (y, mask)
        })
    }

    /// `dx = dy · mask · scale`.
    pub fn backward(&self, dy: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let cpu = || self.tensor(cpu::elementwise::masked(dy.data(), mask.data(), self.scale()));
        on_device(OP, [dy, mask], cpu, |gpu| launch(gpu, &BACKWARD, &self.uniforms(), [mask, dy], self.shape.clone()))
    }

    /// Values of the input's shape as a tensor.
    fn tensor(&self, values: Vec<f32>) -> Tensor {
        Tensor::new(self.shape.clone(), values).expect("one value per element")
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

kernels! {
    shader "dropout", uniforms Uniforms;
    FORWARD = forward(x: 1, y: 2, mask: 3);
    BACKWARD = backward(kept: 4, dy: 5, dx: 6);
}

impl Dropout {
    fn uniforms(&self) -> Uniforms {
        Uniforms { total: self.shape.numel() as u32, p: self.p, training: self.training as u32, seed: self.seed }
    }
}

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for Dropout {
    fn outputs(&self, x: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        let (y, mask) = path.run(|| self.reference_forward(x[0]), || self.forward(x[0]))?;
        Ok(vec![y, mask])
    }

    fn gradients(&self, _: &[&Tensor], out: &[&Tensor], dy: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(path.run(|| self.reference_backward(dy[0], out[1]), || self.backward(dy[0], out[1]))?)])
    }
}

/// Training at several rates (and p = 0), evaluation, and a tensor large enough to be drawn on several threads.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    let mut out = Vec::new();
    for (p, training, len) in [(0.5, true, 40), (0.1, true, 17), (0.3, false, 23), (0.0, true, 9), (0.25, true, 70_000)] {
        let x = Tensor::randn([3, len], rng);
        let op = Dropout::new(x.shape(), p, training, rng.below(1000) as u32).expect("valid");
        let example = crate::ops::dispatch::Example::new(format!("dropout p {p} training {training} [3, {len}]"), op, vec![x]);
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
        let (y, mask) = op.forward(&x).unwrap();
        let kept = mask.data().iter().sum::<f32>() / 10_000.0;
        assert!((kept - 0.7).abs() < 0.02, "kept {kept}");
        let mean = y.data().iter().sum::<f32>() / 10_000.0;
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
        assert!(y.data().iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
    }

    #[test]
    fn evaluation_and_p_zero_pass_everything() {
        let x = Tensor::from_fn([50], |i| i as f32);
        assert_eq!(Dropout::new(x.shape(), 0.5, false, 1).unwrap().forward(&x).unwrap().0, x);
        assert_eq!(Dropout::new(x.shape(), 0.0, true, 1).unwrap().forward(&x).unwrap().0, x);
    }

    #[test]
    fn the_seed_fixes_the_mask() {
        let x = Tensor::from_fn([64], |_| 1.0);
        let mask = |seed| Dropout::new(x.shape(), 0.5, true, seed).unwrap().forward(&x).unwrap().1;
        assert_eq!(mask(3), mask(3));
        assert_ne!(mask(3), mask(4));
    }

    #[test]
    fn backward_uses_the_forward_mask() {
        let x = Tensor::from_fn([100], |i| i as f32 - 50.0);
        let op = Dropout::new(x.shape(), 0.4, true, 9).unwrap();
        let (_, mask) = op.forward(&x).unwrap();
        let dx = op.backward(&Tensor::from_fn([100], |_| 1.0), &mask).unwrap();
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
