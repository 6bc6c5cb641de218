//! Mean squared error: `loss = mean((input − target)²)` (or the sum, or each square). Backward:
//! `∂input = 2·(input − target)·g / n` (without the `/ n` for the sum), and `∂target = −∂input`.
//!
//! Inputs `[input, target]` of the same shape, outputs `[loss]` (a scalar, or the squares for no reduction).

use super::{Example, Op, Path};
use crate::device::Device;
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::ops::cross_entropy::Reduction;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::uniforms;

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
            return Err(OpError::new("mse_loss", ErrorKind::Shape, "the prediction and the target must have the same, non-empty shape")
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

    /// The loss, on the input's device.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        match input.device() {
            Device::Cpu => self.reference_forward(input, target),
            Device::Gpu(gpu) => self.forward_gpu(&gpu, input, target),
        }
    }

    /// `(∂input, ∂target)` for the loss's gradient `dloss`.
    pub fn backward(&self, input: &Tensor, target: &Tensor, dloss: &Tensor) -> (Tensor, Tensor) {
        match input.device() {
            Device::Cpu => self.reference_backward(input, target, dloss),
            Device::Gpu(gpu) => self.backward_gpu(&gpu, input, target, dloss),
        }
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

impl Mse {
    fn uniforms(&self) -> Uniforms {
        Uniforms { total: self.shape.numel() as u32, reduction: self.reduction as u32 }
    }

    /// One invocation per square, or (mean, sum) one workgroup summing them.
    fn forward_gpu(&self, gpu: &Gpu, input: &Tensor, target: &Tensor) -> Tensor {
        let loss = gpu.empty(self.loss_shape());
        let bindings = [(1, input.buffer()), (2, target.buffer()), (3, loss.buffer())];
        match self.reduction {
            Reduction::None => gpu.dispatch("mse", "squares", &self.uniforms(), &bindings, self.shape.numel()),
            _ => gpu.dispatch_grid("mse", "reduce", &self.uniforms(), &bindings, [1, 1, 1]),
        }
        loss
    }

    fn backward_gpu(&self, gpu: &Gpu, input: &Tensor, target: &Tensor, dloss: &Tensor) -> (Tensor, Tensor) {
        let (dinput, dtarget) = (gpu.empty(self.shape.clone()), gpu.empty(self.shape.clone()));
        let bindings = [(1, input.buffer()), (2, target.buffer()), (4, dloss.buffer()), (5, dinput.buffer()), (6, dtarget.buffer())];
        gpu.dispatch("mse", "backward", &self.uniforms(), &bindings, self.shape.numel());
        (dinput, dtarget)
    }
}

impl Op for Mse {
    fn outputs(&self, x: &[&Tensor], path: Path) -> Vec<Tensor> {
        vec![match path {
            Path::Device => self.forward(x[0], x[1]),
            Path::Reference => self.reference_forward(x[0], x[1]),
        }]
    }

    fn gradients(&self, x: &[&Tensor], _: &[&Tensor], dloss: &[&Tensor], path: Path) -> Vec<Option<Tensor>> {
        let (dinput, dtarget) = match path {
            Path::Device => self.backward(x[0], x[1], dloss[0]),
            Path::Reference => self.reference_backward(x[0], x[1], dloss[0]),
        };
        vec![Some(dinput), Some(dtarget)]
    }
}

/// Every reduction, and a mean over more values than one GPU invocation may loop over on lavapipe (65,536).
pub fn examples(rng: &mut Rng) -> Vec<Example> {
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
        assert_eq!(Mse::new(a.shape(), b.shape(), Reduction::Mean).unwrap().forward(&a, &b).data(), &[2.5]);
        assert!(Mse::new(a.shape(), &Shape::from([2, 1]), Reduction::Mean).is_err());
    }
}
