//! ReLU, the rectified linear unit: `y = max(x, 0)`. Backward lets the gradient through where `x > 0` and
//! blocks it elsewhere (PyTorch's convention: the gradient at exactly 0 is 0).

use crate::backend::{DeviceTensor, parallel};
use crate::backend::gpu::{Gpu, GpuTensor};
use crate::tensor::Tensor;

/// The CPU reference (on the pool natively: each value on its own). Written as a comparison and a choice, which
/// vectorise to two instructions on every processor; `v.max(0.0)` gives the same values (NaN becomes 0 in both),
/// but its NaN rule costs several instructions in WebAssembly SIMD without relaxed SIMD.
pub fn forward(x: &Tensor) -> Tensor {
    Tensor::new(x.shape().clone(), parallel::map(x.data(), |v| if v > 0.0 { v } else { 0.0 })).expect("same size")
}

/// The CPU reference backward.
pub fn backward(x: &Tensor, dy: &Tensor) -> Tensor {
    let dx = parallel::map2(x.data(), dy.data(), |v, g| if v > 0.0 { g } else { 0.0 });
    Tensor::new(x.shape().clone(), dx).expect("same size")
}

/// Records the forward pass on the GPU (`shaders/relu.wgsl`).
pub fn forward_gpu(gpu: &Gpu, x: &GpuTensor) -> GpuTensor {
    let y = gpu.empty(x.shape().clone());
    gpu.dispatch("relu", "forward", &[x.numel() as u32], &[(1, x.buffer()), (2, y.buffer())], x.numel());
    y
}

/// Records the backward pass on the GPU.
pub fn backward_gpu(gpu: &Gpu, x: &GpuTensor, dy: &GpuTensor) -> GpuTensor {
    let dx = gpu.empty(x.shape().clone());
    gpu.dispatch("relu", "backward", &[x.numel() as u32], &[(1, x.buffer()), (3, dy.buffer()), (4, dx.buffer())], x.numel());
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::check_gradient_eps;
    use crate::rng::Rng;

    #[test]
    fn clips_negatives_and_blocks_their_gradient() {
        let x = Tensor::new([5], vec![-1.0, 0.0, 0.5, 2.0, f32::NAN]).unwrap();
        assert_eq!(forward(&x).data(), &[0.0, 0.0, 0.5, 2.0, 0.0], "NaN becomes 0, as max(NaN, 0) does");
        let x = Tensor::new([4], vec![-1.0, 0.0, 0.5, 2.0]).unwrap();
        assert_eq!(backward(&x, &Tensor::new([4], vec![1.0; 4]).unwrap()).data(), &[0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(10);
        let x = Tensor::randn([3, 5], &mut rng);
        check_gradient_eps(&x, x.shape(), forward, |dy| backward(&x, dy), &mut rng, 1e-3);
    }
}
