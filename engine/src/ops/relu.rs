//! ReLU, the rectified linear unit: `y = max(x, 0)`. Backward lets the gradient through where `x > 0` and
//! blocks it elsewhere (PyTorch's convention: the gradient at exactly 0 is 0).
//!
//! Inputs `[x]`, outputs `[y]`, both of any shape.

use super::dispatch::{Unary, launch};
use crate::device::cpu;
use crate::device::gpu::Gpu;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

/// ReLU. It has no settings.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

impl Unary for Relu {
    const NAME: &'static str = "relu";

    /// `y = max(x, 0)`.
    fn reference_forward(&self, x: &Tensor) -> Tensor {
        Tensor::from_fn(x.shape().clone(), |i| if x.data()[i] > 0.0 { x.data()[i] } else { 0.0 })
    }

    /// `dx = dy` where `x > 0`, else 0.
    fn reference_backward(&self, x: &Tensor, dy: &Tensor) -> Tensor {
        Tensor::from_fn(x.shape().clone(), |i| if x.data()[i] > 0.0 { dy.data()[i] } else { 0.0 })
    }

    /// The same loop on every core.
    fn cpu_forward(&self, x: &Tensor) -> Tensor {
        Tensor::new(x.shape().clone(), cpu::elementwise::relu(x.data())).expect("same size")
    }

    /// The same loop on every core.
    fn cpu_backward(&self, x: &Tensor, dy: &Tensor) -> Tensor {
        Tensor::new(x.shape().clone(), cpu::elementwise::relu_backward(x.data(), dy.data())).expect("same size")
    }

    fn gpu_forward(&self, gpu: &Gpu, x: &Tensor) -> Tensor {
        launch(gpu, &FORWARD, &uniforms(x), [x], x.shape().clone())
    }

    fn gpu_backward(&self, gpu: &Gpu, x: &Tensor, dy: &Tensor) -> Tensor {
        launch(gpu, &BACKWARD, &uniforms(x), [x, dy], x.shape().clone())
    }
}

uniforms! {
    /// The `Params` of `shaders/relu.wgsl`.
    pub struct Uniforms { total: u32 }
}

fn uniforms(x: &Tensor) -> Uniforms {
    Uniforms { total: x.numel() as u32 }
}

kernels! {
    shader "relu", uniforms Uniforms;
    FORWARD = forward(x: 1, y: 2);
    BACKWARD = backward(x: 1, dy: 3, dx: 4);
}

/// Values on both sides of 0 (finite differences step over the kink with a small ε), and a tensor long enough
/// for the CPU to split it between threads.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    use crate::ops::dispatch::Example;
    vec![
        Example::new("relu [3, 5]", Relu, vec![Tensor::randn([3, 5], rng)]).finite_differences(Some(1e-3)),
        Example::new("relu [2, 3, 4]", Relu, vec![Tensor::randn([2, 3, 4], rng)]).finite_differences(Some(1e-3)),
        Example::new("relu [70000]", Relu, vec![Tensor::randn([70_000], rng)]).finite_differences(None),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_negatives_and_blocks_their_gradient() {
        let x = Tensor::new([5], vec![-1.0, 0.0, 0.5, 2.0, f32::NAN]).unwrap();
        assert_eq!(Relu.forward(&x).unwrap().data(), &[0.0, 0.0, 0.5, 2.0, 0.0], "NaN becomes 0, as max(NaN, 0) does");
        assert_eq!(Relu.reference_forward(&x).data(), &[0.0, 0.0, 0.5, 2.0, 0.0]);
        let x = Tensor::new([4], vec![-1.0, 0.0, 0.5, 2.0]).unwrap();
        assert_eq!(Relu.backward(&x, &Tensor::new([4], vec![1.0; 4]).unwrap()).unwrap().data(), &[0.0, 0.0, 1.0, 1.0]);
    }
}
