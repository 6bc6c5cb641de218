//! Sums over whole rows and planes: a bias's gradient (sum_to over the leading axes) and global average pooling.

use crate::ops::adaptive_avg_pool2d::AdaptiveAvgPool2d;
use crate::ops::sum_to::SumTo;
use crate::tensor::Tensor;

/// [`SumTo::forward`]. The common case, a bias's gradient, sums the leading axes and keeps the rest: whole rows are
/// added, in the reference's order. Other shapes run the reference.
pub fn sum_to(op: &SumTo, x: &Tensor) -> Tensor {
    let (from, to) = (op.from.dims(), op.padded_to());
    let kept = to.iter().skip_while(|&&d| d == 1).count();
    if to[to.len() - kept..] != from[from.len() - kept..] || op.to.numel() == 0 {
        return op.reference_forward(x);
    }
    let mut y = Tensor::zeros(op.to.clone());
    for row in x.data().chunks(op.to.numel()) {
        for (acc, v) in y.data_mut().iter_mut().zip(row) {
            *acc += v;
        }
    }
    for v in y.data_mut() {
        *v *= op.scale;
    }
    y
}

/// [`AdaptiveAvgPool2d::forward`] to 1x1 (global average pooling, a CNN's head): each plane's mean, the same sum
/// in the same order as the reference, without its window bookkeeping for every plane. Other sizes run the
/// reference.
pub fn adaptive_avg_pool2d(op: &AdaptiveAvgPool2d, x: &Tensor) -> Tensor {
    if (op.out_h, op.out_w) != (1, 1) {
        return op.reference_forward(x);
    }
    let plane = op.in_h * op.in_w;
    let means = x.data().chunks(plane).map(|values| values.iter().sum::<f32>() / plane as f32).collect();
    Tensor::new(op.out_shape(), means).expect("one mean per plane")
}

/// [`AdaptiveAvgPool2d::backward`] from 1x1: every pixel of a plane gets an equal share of its gradient (added
/// to zero, as the reference does).
pub fn adaptive_avg_pool2d_backward(op: &AdaptiveAvgPool2d, dy: &Tensor) -> Tensor {
    if (op.out_h, op.out_w) != (1, 1) {
        return op.reference_backward(dy);
    }
    let plane = op.in_h * op.in_w;
    let mut dx = Vec::with_capacity(op.in_shape().numel());
    for &g in dy.data() {
        dx.extend(std::iter::repeat_n(0.0 + g / plane as f32, plane));
    }
    Tensor::new(op.in_shape(), dx).expect("one share per pixel")
}
