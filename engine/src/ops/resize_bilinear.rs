//! Bilinear resizing: each output pixel reads the input at a point between pixels and mixes its four neighbours,
//! each in proportion to how close it is. It is how the heatmap lesson stretches a CNN body's small map
//! (`[11, 11]` in the lesson, a few pixels here) over the image, PyTorch's
//! `F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=...)`.
//!
//! ```text
//! align_corners=False (PyTorch's default): pixels are squares, their centres line up
//!     src = max(0, (dst + ½) · in/out − ½)
//! align_corners=True: the corner pixels' centres line up
//!     src = dst · (in − 1)/(out − 1)            (0 when out = 1)
//! h0 = ⌊src_h⌋, h1 = min(h0 + 1, H − 1), a = src_h − h0           (likewise w0, w1, b along the width)
//! y[n, c, i, j] = (1−a)·((1−b)·x[h0, w0] + b·x[h0, w1]) + a·((1−b)·x[h1, w0] + b·x[h1, w1])
//! ```
//!
//! Backward hands each `dy` back to the four pixels it read, with the same weights: `dx[h0, w0] += (1−a)(1−b)·dy`,
//! and so on.
//!
//! Inputs `[x]` `[N, C, H, W]`, outputs `[y]` `[N, C, oh, ow]`.

use super::dispatch::{Unary, launch};
use super::taps;
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

/// A validated bilinear resize of an `[N, C, H, W]` input to `[N, C, oh, ow]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ResizeBilinear {
    /// `N·C`: the planes resized one by one.
    pub planes: usize,
    /// The input's shape.
    pub in_shape: Shape,
    /// `[N, C, oh, ow]`
    pub out_shape: Shape,
    /// Whether the corner pixels' centres line up (PyTorch's `align_corners`), rather than the pixels' edges.
    pub align_corners: bool,
}

/// Where output index `dst` reads along an axis of `input` values resized to `output`: the two neighbours and the
/// second one's weight. The one indexing function of the reference, the trace and (in WGSL) the kernels.
pub fn source(dst: usize, input: usize, output: usize, align_corners: bool) -> (usize, usize, f32) {
    let src = if align_corners {
        if output > 1 { dst as f32 * (input - 1) as f32 / (output - 1) as f32 } else { 0.0 }
    } else {
        ((dst as f32 + 0.5) * input as f32 / output as f32 - 0.5).max(0.0)
    };
    let low = (src as usize).min(input - 1);
    let high = (low + 1).min(input - 1);
    (low, high, src - low as f32)
}

impl ResizeBilinear {
    /// Checks that `x` is a non-empty `[N, C, H, W]` and the size is at least 1x1.
    pub fn new(x: &Shape, size: [usize; 2], align_corners: bool) -> Result<ResizeBilinear> {
        let &[batch, channels, _, _] = x.dims() else {
            return Err(OpError::new(Self::NAME, ErrorKind::Shape, "the input must have 4 dimensions")
                .expected("[N, C, H, W]")
                .given(x)
                .hint("a single map [H, W] needs a batch and a channel axis: m[None, None]")
                .into());
        };
        if x.numel() == 0 || size.contains(&0) {
            return Err(OpError::new(Self::NAME, ErrorKind::ZeroSize, "the input and the size must not be empty")
                .expected("every dimension and the size at least 1")
                .given(format!("input {x}, size {size:?}"))
                .hint("resize to at least 1x1")
                .into());
        }
        Ok(ResizeBilinear { planes: batch * channels, in_shape: x.clone(), out_shape: Shape::from([batch, channels, size[0], size[1]]), align_corners })
    }

    /// `(H, W, oh, ow)`
    fn sizes(&self) -> (usize, usize, usize, usize) {
        let (i, o) = (self.in_shape.dims(), self.out_shape.dims());
        (i[2], i[3], o[2], o[3])
    }

    /// How output pixel `(i, j)` is made: its four neighbours `((row, col), weight)`, in the order of the formula.
    pub fn trace(&self, i: usize, j: usize) -> [((usize, usize), f32); 4] {
        let (h, w, oh, ow) = self.sizes();
        let (h0, h1, a) = source(i, h, oh, self.align_corners);
        let (w0, w1, b) = source(j, w, ow, self.align_corners);
        [((h0, w0), (1.0 - a) * (1.0 - b)), ((h0, w1), (1.0 - a) * b), ((h1, w0), a * (1.0 - b)), ((h1, w1), a * b)]
    }

    fn uniforms(&self) -> Uniforms {
        let (in_h, in_w, out_h, out_w) = self.sizes();
        Uniforms { planes: self.planes as u32, in_h: in_h as u32, in_w: in_w as u32, out_h: out_h as u32, out_w: out_w as u32, align_corners: self.align_corners as u32 }
    }
}

impl Unary for ResizeBilinear {
    const NAME: &'static str = "resize_bilinear";

    /// Each output pixel, the weighted sum of its four neighbours.
    fn reference_forward(&self, x: &Tensor) -> Tensor {
        taps::gather(x, &self.out_shape, |_, i, j| self.trace(i, j))
    }

    /// Each `dy` added back to the four pixels it read, with their weights.
    fn reference_backward(&self, _: &Tensor, dy: &Tensor) -> Tensor {
        taps::scatter(dy, &self.in_shape, |_, i, j| self.trace(i, j))
    }

    /// One invocation per output pixel.
    fn gpu_forward(&self, gpu: &Gpu, x: &Tensor) -> Tensor {
        launch(gpu, &FORWARD, &self.uniforms(), [x], self.out_shape.clone())
    }

    /// One invocation per input pixel, gathering from the output rows and columns that read it.
    fn gpu_backward(&self, gpu: &Gpu, _: &Tensor, dy: &Tensor) -> Tensor {
        launch(gpu, &BACKWARD, &self.uniforms(), [dy], self.in_shape.clone())
    }
}

uniforms! {
    /// The `Params` of `shaders/resize_bilinear.wgsl`.
    pub struct Uniforms { planes: u32, in_h: u32, in_w: u32, out_h: u32, out_w: u32, align_corners: u32 }
}

kernels! {
    shader "resize_bilinear", uniforms Uniforms;
    FORWARD = forward(x: 1, y: 2);
    BACKWARD = backward(dy: 3, dx: 4);
}

/// Up and down, both conventions, a 1x1 output and input, and a heatmap's size (a 4x4 map to 32x32, 8 planes).
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    let cases: [([usize; 4], [usize; 2], bool); 7] = [
        ([1, 1, 2, 3], [4, 5], false),
        ([1, 1, 2, 3], [4, 5], true),
        ([2, 3, 5, 5], [2, 3], false),
        ([1, 2, 4, 3], [1, 1], true),
        ([1, 2, 1, 1], [3, 2], false),
        ([2, 2, 3, 4], [7, 9], true),
        ([2, 4, 4, 4], [32, 32], false),
    ];
    cases
        .into_iter()
        .map(|(dims, size, align)| {
            let x = Tensor::randn(dims, rng);
            let op = ResizeBilinear::new(x.shape(), size, align).expect("valid");
            crate::ops::dispatch::Example::new(format!("resize_bilinear {} to {size:?}, align_corners={align}", x.shape()), op, vec![x])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x = [[1, 2, 4], [3, −1, 0.5]]` resized to 4x5, and the gradient for `dy = [0, 0.1, …, 1.9]`, from PyTorch 2.15:
    /// `F.interpolate(x, size=(4, 5), mode="bilinear", align_corners=...)`.
    #[test]
    fn resizing_matches_pytorch_in_both_conventions() {
        let x = Tensor::new([1, 1, 2, 3], vec![1.0, 2.0, 4.0, 3.0, -1.0, 0.5]).unwrap();
        let dy = Tensor::new([1, 1, 4, 5], (0..20).map(|i| i as f32 / 10.0).collect()).unwrap();
        let pytorch: [(bool, [f32; 20], [f32; 6]); 2] = [
            (
                false,
                [1.0, 1.4, 2.0, 3.2, 4.0, 1.5, 1.4, 1.25, 2.375, 3.125, 2.5, 1.4, -0.25, 0.725, 1.375, 3.0, 1.4, -1.0, -0.1, 0.5],
                [1.12, 1.845, 2.16, 3.92, 4.995, 4.96],
            ),
            (
                true,
                [1.0, 1.5, 2.0, 3.0, 4.0, 1.6666666, 1.3333334, 1.0, 1.9166666, 2.8333333, 2.3333335, 1.1666666, 0.0, 0.8333333, 1.6666666, 3.0, 1.0, -1.0, -0.25, 0.5],
                [1.1, 2.1333332, 2.1, 3.6, 5.4666667, 4.6],
            ),
        ];
        for (align, y, dx) in pytorch {
            let op = ResizeBilinear::new(x.shape(), [4, 5], align).unwrap();
            let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(p, q)| (p - q).abs() < 1e-5);
            let got = op.forward(&x).unwrap();
            assert!(close(got.data(), &y), "align_corners={align}: {:?}", got.data());
            let got = op.backward(&x, &dy).unwrap();
            assert!(close(got.data(), &dx), "align_corners={align}: {:?}", got.data());
        }
        // Down: a 5x5 ramp to 2x3 reads between pixels, never at the corners.
        let ramp = Tensor::new([1, 1, 5, 5], (1..=25).map(|v| v as f32).collect()).unwrap();
        let down = ResizeBilinear::new(ramp.shape(), [2, 3], false).unwrap().forward(&ramp).unwrap();
        let pytorch = [5.083333, 6.75, 8.416666, 17.583334, 19.25, 20.916666];
        assert!(down.data().iter().zip(pytorch).all(|(p, q)| (p - q).abs() < 1e-4), "{:?}", down.data());
    }

    #[test]
    fn the_trace_weighs_four_neighbours_and_errors_are_explained() {
        let op = ResizeBilinear::new(&Shape::from([1, 1, 2, 3]), [4, 5], false).unwrap();
        for i in 0..4 {
            for j in 0..5 {
                let total: f32 = op.trace(i, j).iter().map(|&(_, w)| w).sum();
                assert!((total - 1.0).abs() < 1e-6, "the weights of ({i}, {j}) sum to {total}");
            }
        }
        // Output (1, 1) of 4x5 from 2x3 reads source (0.25, 0.4): rows 0 and 1, columns 0 and 1 (PyTorch's 1.4 above
        // is 0.45·1 + 0.3·2 + 0.15·3 + 0.1·(−1)).
        let [(a, wa), (b, wb), (c, wc), (d, wd)] = op.trace(1, 1);
        assert_eq!([a, b, c, d], [(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert!([wa - 0.45, wb - 0.3, wc - 0.15, wd - 0.1].iter().all(|e| e.abs() < 1e-6));
        assert!(ResizeBilinear::new(&Shape::from([2, 3]), [4, 4], false).is_err());
        assert!(ResizeBilinear::new(&Shape::from([1, 1, 2, 2]), [0, 4], false).unwrap_err().to_string().contains("at least 1x1"));
    }
}
