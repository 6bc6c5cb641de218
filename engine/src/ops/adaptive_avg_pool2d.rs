//! Adaptive average pooling: average over windows chosen so that the output has a requested size, whatever the
//! input's. Output row `i` of `oh` averages input rows `⌊i·H/oh⌋ … ⌈(i+1)·H/oh⌉ − 1` (likewise columns), as in
//! PyTorch. With output size 1x1 it is global average pooling: each channel's feature map becomes one number,
//! which is how a CNN's body (`[C, 11, 11]`) becomes the `[C]` its head reads.

use crate::backend::gpu::{Gpu, GpuTensor};
use crate::backend::{Backend, DeviceTensor};
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A validated adaptive average pooling.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptiveAvgPool2d {
    /// `N`
    pub batch: usize,
    /// `C`
    pub channels: usize,
    /// `H`
    pub in_h: usize,
    /// `W`
    pub in_w: usize,
    /// Requested output height.
    pub out_h: usize,
    /// Requested output width.
    pub out_w: usize,
}

/// Validates and runs an adaptive average pooling on any backend.
pub fn adaptive_avg_pool2d<B: Backend>(backend: &B, x: &B::Tensor, output_size: [usize; 2]) -> Result<B::Tensor> {
    Ok(backend.adaptive_avg_pool2d(&AdaptiveAvgPool2d::new(x.shape(), output_size)?, x))
}

impl AdaptiveAvgPool2d {
    /// Checks `x [N, C, H, W]` and the output size.
    pub fn new(x: &Shape, output_size: [usize; 2]) -> Result<AdaptiveAvgPool2d> {
        let err = |kind, problem: &str| OpError::new("adaptive_avg_pool2d", kind, problem);
        let &[batch, channels, in_h, in_w] = x.dims() else {
            return Err(err(ErrorKind::Shape, "the input must have 4 dimensions")
                .expected("[N, C, H, W]")
                .given(x)
                .hint("add a batch axis with t[None]")
                .into());
        };
        if x.numel() == 0 || output_size.contains(&0) {
            return Err(err(ErrorKind::ZeroSize, "the input and the output size must not be empty")
                .expected("every dimension and the output size at least 1")
                .given(format!("input {x}, output size {output_size:?}"))
                .hint("output size 1x1 is global average pooling")
                .into());
        }
        Ok(AdaptiveAvgPool2d { batch, channels, in_h, in_w, out_h: output_size[0], out_w: output_size[1] })
    }

    /// Global average pooling of `x [N, C, H, W]`: output `[N, C, 1, 1]`.
    pub fn global(x: &Shape) -> Result<AdaptiveAvgPool2d> {
        Self::new(x, [1, 1])
    }

    /// `[N, C, oh, ow]`
    pub fn out_shape(&self) -> Shape {
        Shape::from([self.batch, self.channels, self.out_h, self.out_w])
    }

    /// `[N, C, H, W]`
    pub fn in_shape(&self) -> Shape {
        Shape::from([self.batch, self.channels, self.in_h, self.in_w])
    }

    /// The input range `start..end` that output position `o` of `out` averages over `len` inputs.
    pub fn range(o: usize, out: usize, len: usize) -> std::ops::Range<usize> {
        o * len / out..((o + 1) * len).div_ceil(out)
    }

    /// The CPU reference.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let plane = self.in_h * self.in_w;
        if self.out_h == 1 && self.out_w == 1 {
            // Global average pooling (a CNN's head): each plane's mean, the same sum in the same order as below,
            // without the windows' bookkeeping for every plane.
            let means = x.data().chunks(plane).map(|values| values.iter().sum::<f32>() / plane as f32).collect();
            return Tensor::new(self.out_shape(), means).expect("one mean per plane");
        }
        let mut y = Tensor::zeros(self.out_shape());
        let mut out = y.data_mut().iter_mut();
        for plane in x.data().chunks(plane) {
            for oy in 0..self.out_h {
                for ox in 0..self.out_w {
                    let (rows, cols) = (Self::range(oy, self.out_h, self.in_h), Self::range(ox, self.out_w, self.in_w));
                    let count = (rows.len() * cols.len()) as f32;
                    let sum: f32 = rows.flat_map(|r| cols.clone().map(move |c| (r, c))).map(|(r, c)| plane[r * self.in_w + c]).sum();
                    if let Some(slot) = out.next() {
                        *slot = sum / count;
                    }
                }
            }
        }
        y
    }

    /// The CPU reference backward.
    pub fn backward(&self, dy: &Tensor) -> Tensor {
        let plane = self.in_h * self.in_w;
        if self.out_h == 1 && self.out_w == 1 {
            // Global pooling: every pixel of a plane gets an equal share of its gradient (added to zero, as below).
            let mut dx = Vec::with_capacity(self.in_shape().numel());
            for &g in dy.data() {
                dx.extend(std::iter::repeat_n(0.0 + g / plane as f32, plane));
            }
            return Tensor::new(self.in_shape(), dx).expect("one share per pixel");
        }
        let mut dx = Tensor::zeros(self.in_shape());
        let planes = dx.data_mut().chunks_mut(plane).zip(dy.data().chunks(self.out_h * self.out_w));
        for (plane, grads) in planes {
            for oy in 0..self.out_h {
                for ox in 0..self.out_w {
                    let (rows, cols) = (Self::range(oy, self.out_h, self.in_h), Self::range(ox, self.out_w, self.in_w));
                    let share = grads[oy * self.out_w + ox] / (rows.len() * cols.len()) as f32;
                    for r in rows {
                        for c in cols.clone() {
                            plane[r * self.in_w + c] += share;
                        }
                    }
                }
            }
        }
        dx
    }

    fn uniforms(&self) -> [u32; 6] {
        [self.batch, self.channels, self.in_h, self.in_w, self.out_h, self.out_w].map(|v| v as u32)
    }

    /// Records the forward pass on the GPU (`shaders/adaptive_avg_pool2d.wgsl`).
    pub fn forward_gpu(&self, gpu: &Gpu, x: &GpuTensor) -> GpuTensor {
        let y = gpu.empty(self.out_shape());
        gpu.dispatch("adaptive_avg_pool2d", "forward", &self.uniforms(), &[(1, x.buffer()), (2, y.buffer())], y.numel());
        y
    }

    /// Records the backward pass on the GPU.
    pub fn backward_gpu(&self, gpu: &Gpu, dy: &GpuTensor) -> GpuTensor {
        let dx = gpu.empty(self.in_shape());
        gpu.dispatch("adaptive_avg_pool2d", "backward", &self.uniforms(), &[(3, dy.buffer()), (4, dx.buffer())], dx.numel());
        dx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::check_gradient;
    use crate::rng::Rng;

    #[test]
    fn windows_overlap_like_pytorch() {
        // 5 inputs into 2 outputs: rows 0..3 and 2..5.
        assert_eq!(AdaptiveAvgPool2d::range(0, 2, 5), 0..3);
        assert_eq!(AdaptiveAvgPool2d::range(1, 2, 5), 2..5);
    }

    #[test]
    fn global_pooling_is_the_channel_mean() {
        let x = Tensor::from_fn([1, 2, 2, 2], |i| i as f32);
        let y = AdaptiveAvgPool2d::global(x.shape()).unwrap().forward(&x);
        assert_eq!(y.data(), &[1.5, 5.5]);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(7);
        let x = Tensor::randn([2, 3, 5, 7], &mut rng);
        for op in [AdaptiveAvgPool2d::new(x.shape(), [2, 3]).unwrap(), AdaptiveAvgPool2d::global(x.shape()).unwrap()] {
            check_gradient(&x, &op.out_shape(), |x| op.forward(x), |dy| op.backward(dy), &mut rng);
        }
    }
}
