//! Mean squared error: `loss = mean((input − target)²)` (or the sum, or each square). Backward:
//! `∂input = 2·(input − target)·g / n` (without the `/ n` for the sum), and `∂target = −∂input`.

use crate::backend::gpu::{Gpu, GpuTensor};
use crate::backend::{Backend, DeviceTensor};
use crate::error::{ErrorKind, OpError, Result};
use crate::ops::cross_entropy::Reduction;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A validated squared-error loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Mse {
    /// The shape of input and target.
    pub shape: Shape,
    /// How the squares are combined.
    pub reduction: Reduction,
}

/// Validates and runs a mean squared error on any backend.
pub fn mse<B: Backend>(backend: &B, input: &B::Tensor, target: &B::Tensor) -> Result<B::Tensor> {
    Ok(backend.mse(&Mse::new(input.shape(), target.shape(), Reduction::Mean)?, input, target))
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

    /// The CPU reference.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        let squares = input.data().iter().zip(target.data()).map(|(a, b)| (a - b) * (a - b));
        let n = self.shape.numel() as f32;
        match self.reduction {
            Reduction::None => Tensor::new(self.shape.clone(), squares.collect()),
            Reduction::Sum => Tensor::new(Shape::default(), vec![squares.sum()]),
            Reduction::Mean => Tensor::new(Shape::default(), vec![squares.sum::<f32>() / n]),
        }
        .expect("the loss shape matches")
    }

    /// The CPU reference backward: `(∂input, ∂target)`.
    pub fn backward(&self, input: &Tensor, target: &Tensor, dloss: &Tensor) -> (Tensor, Tensor) {
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

    fn uniforms(&self) -> [u32; 2] {
        [self.shape.numel() as u32, self.reduction as u32]
    }

    /// Records the forward pass on the GPU (`shaders/mse.wgsl`).
    pub fn forward_gpu(&self, gpu: &Gpu, input: &GpuTensor, target: &GpuTensor) -> GpuTensor {
        let loss = gpu.empty(self.loss_shape());
        let threads = if self.reduction == Reduction::None { self.shape.numel() } else { 1 };
        gpu.dispatch("mse", "forward", &self.uniforms(), &[(1, input.buffer()), (2, target.buffer()), (3, loss.buffer())], threads);
        loss
    }

    /// Records the backward pass on the GPU.
    pub fn backward_gpu(&self, gpu: &Gpu, input: &GpuTensor, target: &GpuTensor, dloss: &GpuTensor) -> (GpuTensor, GpuTensor) {
        let (dinput, dtarget) = (gpu.empty(self.shape.clone()), gpu.empty(self.shape.clone()));
        let bindings = [(1, input.buffer()), (2, target.buffer()), (4, dloss.buffer()), (5, dinput.buffer()), (6, dtarget.buffer())];
        gpu.dispatch("mse", "backward", &self.uniforms(), &bindings, self.shape.numel());
        (dinput, dtarget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::check_gradient;
    use crate::rng::Rng;

    #[test]
    fn mean_of_squares() {
        let a = Tensor::new([2], vec![1.0, 4.0]).unwrap();
        let b = Tensor::new([2], vec![0.0, 2.0]).unwrap();
        assert_eq!(Mse::new(a.shape(), b.shape(), Reduction::Mean).unwrap().forward(&a, &b).data(), &[2.5]);
        assert!(Mse::new(a.shape(), &Shape::from([2, 1]), Reduction::Mean).is_err());
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(16);
        let (a, b) = (Tensor::randn([3, 4], &mut rng), Tensor::randn([3, 4], &mut rng));
        for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            let op = Mse::new(a.shape(), b.shape(), reduction).unwrap();
            check_gradient(&a, &op.loss_shape(), |a| op.forward(a, &b), |g| op.backward(&a, &b, g).0, &mut rng);
            check_gradient(&b, &op.loss_shape(), |b| op.forward(&a, b), |g| op.backward(&a, &b, g).1, &mut rng);
        }
    }
}
