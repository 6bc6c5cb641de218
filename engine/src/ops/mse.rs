//! Mean squared error: `loss = mean((input − target)²)` (or the sum, or each square). Backward:
//! `∂input = 2·(input − target)·g / n` (without the `/ n` for the sum), and `∂target = −∂input`.
//!
//! Inputs `[input, target]` of the same shape, outputs `[loss]` (a scalar, or the squares for no reduction).

use super::dispatch::{launch, on_device};
use crate::error::{ErrorKind, OpError, Result};
use crate::ops::cross_entropy::Reduction;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

const OP: &str = "mse_loss";

/// A validated squared-error loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Mse {
    /// The shape of input and target.
    pub shape: Shape,
    /// How the squares are combined.
    pub reduction: Reduction,
}

impl Mse {
    /// Input and target must have the same shape.
    pub fn new(input: &Shape, target: &Shape, reduction: Reduction) -> Result<Mse> {
        if input != target || input.numel() == 0 {
            return Err(OpError::new(OP, ErrorKind::Shape, "the prediction and the target must have the same, non-empty shape")
                .expected(input)
                .given(target)
                .hint("a regression head [N, 1] needs targets [N, 1], not [N]")
                .into());
        }
        Ok(Mse { shape: input.clone(), reduction })
    }

    /// The loss's shape.
    pub fn loss_shape(&self) -> Shape {
        if self.reduction == Reduction::None { self.shape.clone() } else { Shape::default() }
    }

    /// The loss, on the input's device (the CPU runs the reference; the GPU one invocation per square, or for a
    /// mean or a sum one workgroup summing them).
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        on_device(OP, [input, target], || self.reference_forward(input, target), |gpu| match self.reduction {
            Reduction::None => launch(gpu, &SQUARES, &self.uniforms(), [input, target], self.loss_shape()),
            _ => {
                let loss = Tensor::empty_on(gpu, self.loss_shape());
                gpu.dispatch_grid(&REDUCE, &self.uniforms(), [input.buffer(), target.buffer(), loss.buffer()], [1, 1, 1]);
                loss
            }
        })
    }

    /// `(∂input, ∂target)` for the loss's gradient `dloss`.
    pub fn backward(&self, input: &Tensor, target: &Tensor, dloss: &Tensor) -> Result<(Tensor, Tensor)> {
        on_device(OP, [input, target, dloss], || self.reference_backward(input, target, dloss), |gpu| {
            let (dinput, dtarget) = (Tensor::empty_on(gpu, self.shape.clone()), Tensor::empty_on(gpu, self.shape.clone()));
            let buffers = [input.buffer(), target.buffer(), dloss.buffer(), dinput.buffer(), dtarget.buffer()];
            gpu.dispatch(&BACKWARD, &self.uniforms(), buffers, self.shape.numel());
            (dinput, dtarget)
        })
    }

    /// The reference forward.
    pub fn reference_forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        let squares = input.data().iter().zip(target.data()).map(|(a, b)| (a - b) * (a - b));
        let n = self.shape.numel() as f32;
        match self.reduction {
            Reduction::None => Tensor::new(self.shape.clone(), squares.collect()),
            Reduction::Sum => Tensor::new(Shape::default(), vec![squares.sum()]),
            Reduction::Mean => Tensor::new(Shape::default(), vec![squares.sum::<f32>() / n]),
        }
        .expect("the loss shape matches")
    }

    /// The reference backward.
    pub fn reference_backward(&self, input: &Tensor, target: &Tensor, dloss: &Tensor) -> (Tensor, Tensor) {
        let n = self.shape.numel() as f32;
        let dinput = Tensor::from_fn(self.shape.clone(), |i| {
            let g = match self.reduction {
                Reduction::None => dloss.data()[i],
                Reduction::Sum => dloss.data()[0],
                Reduction::Mean => dloss.data()[0] / n,
            };
            2.0 * (input.data()[i] - target.data()[i]) * g
        });
        let dtarget = Tensor::from_fn(self.shape.clone(), |i| -dinput.data()[i]);
        (dinput, dtarget)
    }
}

uniforms! {
    /// The `Params` of `shaders/mse.wgsl`.
    pub struct Uniforms { total: u32, reduction: u32 }
}

kernels! {
    shader "mse", uniforms Uniforms;
    SQUARES = squares(input: 1, truth: 2, loss: 3);
    REDUCE = reduce(input: 1, truth: 2, loss: 3);
    BACKWARD = backward(input: 1, truth: 2, dloss: 4, dinput: 5, dtarget: 6);
}

impl Mse {
    fn uniforms(&self) -> Uniforms {
        Uniforms { total: self.shape.numel() as u32, reduction: self.reduction as u32 }
    }
}

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for Mse {
    fn outputs(&self, x: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        Ok(vec![path.run(|| self.reference_forward(x[0], x[1]), || self.forward(x[0], x[1]))?])
    }

    fn gradients(&self, x: &[&Tensor], _: &[&Tensor], dloss: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        let (dinput, dtarget) = path.run(|| self.reference_backward(x[0], x[1], dloss[0]), || self.backward(x[0], x[1], dloss[0]))?;
        Ok(vec![Some(dinput), Some(dtarget)])
    }
}

/// Every reduction, and a mean over more values than one GPU invocation may loop over on lavapipe (65,536).
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    use crate::ops::dispatch::Example;
    let mut out = Vec::new();
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        let (a, t) = (Tensor::randn([3, 4], rng), Tensor::randn([3, 4], rng));
        out.push(Example::new(format!("mse {reduction:?}"), Mse::new(a.shape(), t.shape(), reduction).expect("valid"), vec![a, t]));
    }
    let (a, t) = (Tensor::randn([100_000], rng), Tensor::randn([100_000], rng));
    out.push(Example::new("mse mean of 100,000", Mse::new(a.shape(), t.shape(), Reduction::Mean).expect("valid"), vec![a, t]).finite_differences(None));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_squares() {
        let a = Tensor::new([2], vec![1.0, 4.0]).unwrap();
        let b = Tensor::new([2], vec![0.0, 2.0]).unwrap();
        assert_eq!(Mse::new(a.shape(), b.shape(), Reduction::Mean).unwrap().forward(&a, &b).unwrap().data(), &[2.5]);
        assert!(Mse::new(a.shape(), &Shape::from([2, 1]), Reduction::Mean).is_err());
    }
}
