//! What ops whose every output pixel is a weighted sum of a few input pixels share (bilinear resizing, warps): the
//! reference forward and backward, both driven by one function listing an output pixel's taps, `((row, col),
//! weight)` in its plane's input.

use crate::shape::Shape;
use crate::tensor::Tensor;

/// Each output pixel of `out_shape [N, C, oh, ow]` as the weighted sum of its taps in `x`; `taps(plane, i, j)` with
/// `plane = n·C + c`.
pub fn gather<I: IntoIterator<Item = ((usize, usize), f32)>>(x: &Tensor, out_shape: &Shape, taps: impl Fn(usize, usize, usize) -> I) -> Tensor {
    let (h, w) = (x.shape().dims()[2], x.shape().dims()[3]);
    let (oh, ow) = (out_shape.dims()[2], out_shape.dims()[3]);
    Tensor::from_fn(out_shape.clone(), |index| {
        let (plane, i, j) = (index / (oh * ow), index / ow % oh, index % ow);
        taps(plane, i, j).into_iter().map(|((r, c), weight)| weight * x.data()[(plane * h + r) * w + c]).sum()
    })
}

/// The backward of [`gather`]: each `dy` of `[N, C, oh, ow]` added back to its taps with their weights, into a
/// gradient of `in_shape`.
pub fn scatter<I: IntoIterator<Item = ((usize, usize), f32)>>(dy: &Tensor, in_shape: &Shape, taps: impl Fn(usize, usize, usize) -> I) -> Tensor {
    let (h, w) = (in_shape.dims()[2], in_shape.dims()[3]);
    let dims = dy.shape().dims();
    let (planes, oh, ow) = (dims[0] * dims[1], dims[2], dims[3]);
    let mut dx = vec![0.0f32; in_shape.numel()];
    for plane in 0..planes {
        for i in 0..oh {
            for j in 0..ow {
                let g = dy.data()[(plane * oh + i) * ow + j];
                for ((r, c), weight) in taps(plane, i, j) {
                    dx[(plane * h + r) * w + c] += weight * g;
                }
            }
        }
    }
    Tensor::new(in_shape.clone(), dx).expect("one gradient per input value")
}
