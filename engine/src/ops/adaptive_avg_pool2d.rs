//! Adaptive average pooling: average over windows chosen so that the output has a requested size, whatever the
//! input's. Output row `i` of `oh` averages input rows `⌊i·H/oh⌋ … ⌈(i+1)·H/oh⌉ − 1` (likewise columns), as in
//! PyTorch. With output size 1x1 it is global average pooling: each channel's feature map becomes one number,
//! which is how a CNN's body (`[C, 11, 11]`) becomes the `[C]` its head reads.
//!
//! Inputs `[x]` `[N, C, H, W]`, outputs `[y]` `[N, C, oh, ow]`.

use super::dispatch::{Unary, launch};
use crate::device::cpu;
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

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

impl AdaptiveAvgPool2d {
    /// Checks `x [N, C, H, W]` and the output size.
    pub fn new(x: &Shape, output_size: [usize; 2]) -> Result<AdaptiveAvgPool2d> {
        let err = |kind, problem: &str| OpError::new(Self::NAME, kind, problem);
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

    fn uniforms(&self) -> Uniforms {
        let [batch, channels, in_h, in_w, out_h, out_w] = [self.batch, self.channels, self.in_h, self.in_w, self.out_h, self.out_w].map(|v| v as u32);
        Uniforms { batch, channels, in_h, in_w, out_h, out_w }
    }
}

impl Unary for AdaptiveAvgPool2d {
    const NAME: &'static str = "adaptive_avg_pool2d";

    /// Each window's mean.
    fn reference_forward(&self, x: &Tensor) -> Tensor {
        let plane = self.in_h * self.in_w;
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

    /// Each `dy` shared evenly among its window's pixels.
    fn reference_backward(&self, _: &Tensor, dy: &Tensor) -> Tensor {
        let plane = self.in_h * self.in_w;
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

    /// To 1x1 (global average pooling, a CNN's head): each plane's mean, the same sum in the same order as the
    /// reference, without its window bookkeeping for every plane ([`cpu::reduce::plane_means`]). Other sizes run
    /// the reference.
    fn cpu_forward(&self, x: &Tensor) -> Tensor {
        if (self.out_h, self.out_w) != (1, 1) {
            return self.reference_forward(x);
        }
        Tensor::new(self.out_shape(), cpu::reduce::plane_means(x.data(), self.in_h * self.in_w)).expect("one mean per plane")
    }

    /// From 1x1: every pixel of a plane gets an equal share of its gradient. Other sizes run the reference.
    fn cpu_backward(&self, x: &Tensor, dy: &Tensor) -> Tensor {
        if (self.out_h, self.out_w) != (1, 1) {
            return self.reference_backward(x, dy);
        }
        Tensor::new(self.in_shape(), cpu::reduce::spread_over_planes(dy.data(), self.in_h * self.in_w)).expect("one share per pixel")
    }

    fn gpu_forward(&self, gpu: &Gpu, x: &Tensor) -> Tensor {
        launch(gpu, &FORWARD, &self.uniforms(), [x], self.out_shape())
    }

    fn gpu_backward(&self, gpu: &Gpu, _: &Tensor, dy: &Tensor) -> Tensor {
        launch(gpu, &BACKWARD, &self.uniforms(), [dy], self.in_shape())
    }
}

uniforms! {
    /// The `Params` of `shaders/adaptive_avg_pool2d.wgsl`.
    pub struct Uniforms { batch: u32, channels: u32, in_h: u32, in_w: u32, out_h: u32, out_w: u32 }
}

kernels! {
    shader "adaptive_avg_pool2d", uniforms Uniforms;
    FORWARD = forward(x: 1, y: 2);
    BACKWARD = backward(dy: 3, dx: 4);
}

/// Overlapping windows (5 into 2, 7 into 3), global pooling, and an output larger than the input.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    let x = Tensor::randn([2, 3, 5, 7], rng);
    [[2, 3], [1, 1], [6, 9]]
        .into_iter()
        .map(|size| crate::ops::dispatch::Example::new(format!("adaptive_avg_pool2d to {size:?}"), AdaptiveAvgPool2d::new(x.shape(), size).expect("valid"), vec![x.clone()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_overlap_like_pytorch() {
        // 5 inputs into 2 outputs: rows 0..3 and 2..5.
        assert_eq!(AdaptiveAvgPool2d::range(0, 2, 5), 0..3);
        assert_eq!(AdaptiveAvgPool2d::range(1, 2, 5), 2..5);
    }

    #[test]
    fn global_pooling_is_the_channel_mean() {
        let x = Tensor::from_fn([1, 2, 2, 2], |i| i as f32);
        let y = AdaptiveAvgPool2d::global(x.shape()).unwrap().forward(&x).unwrap();
        assert_eq!(y.data(), &[1.5, 5.5]);
    }
}
