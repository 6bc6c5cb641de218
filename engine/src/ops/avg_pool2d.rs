//! Average pooling: each output value is the mean of one window of its input channel.
//!
//! ```text
//! y[n, c, oy, ox] = Σ_{taps in the image} x[n, c, row, col] / divisor
//! ```
//!
//! The divisor counts the taps inside the image, or, with `count_include_pad`, the taps inside the padded input
//! (zeros of the padding then pull the mean down). Backward spreads `dy / divisor` evenly over the window.
//! Window geometry and output size: [`PoolGeometry`].
//!
//! Inputs `[x]` `[N, C, H, W]`, outputs `[y]` `[N, C, H', W']`.

use super::pool::{Pool2dParams, PoolGeometry, PoolTrace};
use super::dispatch::{Unary, launch};
use crate::device::gpu::Gpu;
use crate::error::Result;
use crate::kernels;
use crate::tensor::Tensor;

pub use super::pool::PoolUniforms as Uniforms;

/// A validated average pooling.
#[derive(Clone, Debug, PartialEq)]
pub struct AvgPool2d {
    /// The windows.
    pub geometry: PoolGeometry,
    /// Whether padding counts in the divisor.
    pub count_include_pad: bool,
}

impl AvgPool2d {
    /// Checks `params` against `x [N, C, H, W]`.
    pub fn new(params: &Pool2dParams, x: &crate::Shape, count_include_pad: bool) -> Result<AvgPool2d> {
        Ok(AvgPool2d { geometry: PoolGeometry::new(Self::NAME, params, x)?, count_include_pad })
    }

    /// The number window `(oy, ox)` divides by (never 0: an empty window averages to 0).
    pub fn divisor(&self, oy: usize, ox: usize) -> f32 {
        self.geometry.tap_count(oy, ox, self.count_include_pad).max(1) as f32
    }

    /// Window `(oy, ox)` of plane `plane` (`n·C + c`): the pixels it averages, with their values, the divisor and
    /// the result, exactly as the reference computes it.
    pub fn trace(&self, x: &Tensor, plane: usize, oy: usize, ox: usize) -> PoolTrace {
        let g = &self.geometry;
        let values = &x.data()[plane * g.in_h * g.in_w..][..g.in_h * g.in_w];
        let pixels: Vec<(usize, usize, f32)> = g.window(oy, ox).map(|(r, c)| (r, c, values[r * g.in_w + c])).collect();
        let sum: f32 = pixels.iter().map(|p| p.2).sum();
        let divisor = self.divisor(oy, ox);
        PoolTrace { pixels, divisor, argmax: None, output: sum / divisor }
    }
}

impl Unary for AvgPool2d {
    const NAME: &'static str = "avg_pool2d";

    /// Each window's sum over its divisor.
    fn reference_forward(&self, x: &Tensor) -> Tensor {
        let g = &self.geometry;
        let mut y = Tensor::zeros(g.out_shape());
        let mut out = y.data_mut().iter_mut();
        for plane in x.data().chunks(g.in_h * g.in_w) {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    let sum: f32 = g.window(oy, ox).map(|(r, c)| plane[r * g.in_w + c]).sum();
                    if let Some(slot) = out.next() {
                        *slot = sum / self.divisor(oy, ox);
                    }
                }
            }
        }
        y
    }

    /// Each `dy` over its divisor, sent to every pixel of its window.
    fn reference_backward(&self, _: &Tensor, dy: &Tensor) -> Tensor {
        let g = &self.geometry;
        let mut dx = Tensor::zeros(g.in_shape());
        let planes = dx.data_mut().chunks_mut(g.in_h * g.in_w).zip(dy.data().chunks(g.out_h * g.out_w));
        for (plane, grads) in planes {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    let share = grads[oy * g.out_w + ox] / self.divisor(oy, ox);
                    for (r, c) in g.window(oy, ox) {
                        plane[r * g.in_w + c] += share;
                    }
                }
            }
        }
        dx
    }

    /// One invocation per output.
    fn gpu_forward(&self, gpu: &Gpu, x: &Tensor) -> Tensor {
        launch(gpu, &FORWARD, &self.geometry.uniforms(self.count_include_pad), [x], self.geometry.out_shape())
    }

    /// One invocation per input pixel, gathering from the windows that cover it.
    fn gpu_backward(&self, gpu: &Gpu, _: &Tensor, dy: &Tensor) -> Tensor {
        launch(gpu, &BACKWARD, &self.geometry.uniforms(self.count_include_pad), [dy], self.geometry.in_shape())
    }
}

kernels! {
    shader "avg_pool2d", uniforms Uniforms;
    FORWARD = forward(x: 1, y: 2);
    BACKWARD = backward(dy: 3, dx: 4);
}

/// Random windows, with and without the padding in the divisor.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    super::pool::random_windows(rng, 10)
        .into_iter()
        .enumerate()
        .map(|(i, (params, x))| {
            let op = AvgPool2d::new(&params, &x, i % 2 == 0).expect("accepted");
            crate::ops::dispatch::Example::new(format!("avg_pool2d {params:?} count_include_pad {} of {x}", i % 2 == 0), op, vec![Tensor::randn(x, rng)])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_counts_only_when_asked() {
        // A 2x2 image of ones, 3x3 window, padding 1, stride 2: one window, 4 pixels of 9 taps.
        let x = Tensor::new([1, 1, 2, 2], vec![1.0; 4]).unwrap();
        let p = Pool2dParams::new(3).stride(2).padding(1);
        assert_eq!(AvgPool2d::new(&p, x.shape(), false).unwrap().forward(&x).unwrap().data(), &[1.0]);
        assert_eq!(AvgPool2d::new(&p, x.shape(), true).unwrap().forward(&x).unwrap().data(), &[4.0 / 9.0]);
    }

    #[test]
    fn the_trace_equals_forward() {
        let x = Tensor::randn([1, 2, 5, 5], &mut crate::rng::Rng::new(24));
        let op = AvgPool2d::new(&Pool2dParams::new(3).stride(2).padding(1), x.shape(), false).unwrap();
        let y = op.forward(&x).unwrap();
        for (plane, oy, ox) in [(0, 0, 0), (1, 2, 1), (1, 1, 2)] {
            let t = op.trace(&x, plane, oy, ox);
            assert_eq!(t.output.to_bits(), y.data()[(plane * 3 + oy) * 3 + ox].to_bits());
        }
    }
}
