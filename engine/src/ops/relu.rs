//! ReLU, the rectified linear unit: `y = max(x, 0)`. Backward lets the gradient through where `x > 0` and
//! blocks it elsewhere (PyTorch's convention: the gradient at exactly 0 is 0).
//!
//! Inputs `[x]`, outputs `[y]`, both of any shape.

use super::{Example, Op, Path};
use crate::device::gpu::Gpu;
use crate::device::{Device, cpu};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::uniforms;

/// ReLU. It has no settings.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

impl Relu {
    /// `y = max(x, 0)`, on `x`'s device.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        match x.device() {
            Device::Cpu => cpu::elementwise::relu(x),
            Device::Gpu(gpu) => self.forward_gpu(&gpu, x),
        }
    }

    /// `dx = dy` where `x > 0`, else 0.
    pub fn backward(&self, x: &Tensor, dy: &Tensor) -> Tensor {
        match x.device() {
            Device::Cpu => cpu::elementwise::relu_backward(x, dy),
            Device::Gpu(gpu) => self.backward_gpu(&gpu, x, dy),
        }
    }

    /// The reference forward.
    pub fn reference_forward(&self, x: &Tensor) -> Tensor {
        Tensor::from_fn(x.shape().clone(), |i| if x.data()[i] > 0.0 { x.data()[i] } else { 0.0 })
    }

    /// The reference backward.
    pub fn reference_backward(&self, x: &Tensor, dy: &Tensor) -> Tensor {
        Tensor::from_fn(x.shape().clone(), |i| if x.data()[i] > 0.0 { dy.data()[i] } else { 0.0 })
    }
}

uniforms! {
    /// The `Params` of `shaders/relu.wgsl`.
    pub struct Uniforms { total: u32 }
}

impl Relu {
    fn forward_gpu(&self, gpu: &Gpu, x: &Tensor) -> Tensor {
        let y = gpu.empty(x.shape().clone());
        gpu.dispatch("relu", "forward", &Uniforms { total: x.numel() as u32 }, &[(1, x.buffer()), (2, y.buffer())], x.numel());
        y
    }

    fn backward_gpu(&self, gpu: &Gpu, x: &Tensor, dy: &Tensor) -> Tensor {
        let dx = gpu.empty(x.shape().clone());
        let bindings = [(1, x.buffer()), (3, dy.buffer()), (4, dx.buffer())];
        gpu.dispatch("relu", "backward", &Uniforms { total: x.numel() as u32 }, &bindings, x.numel());
        dx
    }
}

impl Op for Relu {
    fn outputs(&self, x: &[&Tensor], path: Path) -> Vec<Tensor> {
        vec![match path {
            Path::Device => self.forward(x[0]),
            Path::Reference => self.reference_forward(x[0]),
        }]
    }

    fn gradients(&self, x: &[&Tensor], _: &[&Tensor], dy: &[&Tensor], path: Path) -> Vec<Option<Tensor>> {
        vec![Some(match path {
            Path::Device => self.backward(x[0], dy[0]),
            Path::Reference => self.reference_backward(x[0], dy[0]),
        })]
    }
}

/// Values on both sides of 0 (finite differences step over the kink with a small ε), and a tensor long enough
/// for the CPU to split it between threads.
pub fn examples(rng: &mut Rng) -> Vec<Example> {
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
        assert_eq!(Relu.forward(&x).data(), &[0.0, 0.0, 0.5, 2.0, 0.0], "NaN becomes 0, as max(NaN, 0) does");
        assert_eq!(Relu.reference_forward(&x).data(), &[0.0, 0.0, 0.5, 2.0, 0.0]);
        let x = Tensor::new([4], vec![-1.0, 0.0, 0.5, 2.0]).unwrap();
        assert_eq!(Relu.backward(&x, &Tensor::new([4], vec![1.0; 4]).unwrap()).data(), &[0.0, 0.0, 1.0, 1.0]);
    }
}
