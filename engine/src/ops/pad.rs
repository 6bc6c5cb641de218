//! Pad: surround a tensor with extra values along any of its axes (ONNX `Pad`, `F.pad`).
//!
//! Along an axis of length `len` padded by `(begin, end)`, output position `o` reads input position
//! `o − begin` seen through the padding mode (see [`PaddingMode`]): inside the input it is the input itself;
//! outside it is `value` (zeros/constant mode), the edge (border) or the mirror image (reflection). Negative
//! padding crops. The output length is `len + begin + end`.
//!
//! Padding several axes is padding each axis in turn: the modes are separable, so the GPU pads one axis per
//! dispatch. Backward folds the gradient back the same way: every input position collects the gradient of each
//! output position that read it (an edge pixel collects its whole border strip; a mirrored pixel its reflection).
//!
//! Inputs `[x]`, outputs `[y]`.

use super::dispatch::{Unary, launch};
use crate::device::gpu::{Gpu, Kernel};
use crate::error::{ErrorKind, OpError, Result};
use crate::padding::PaddingMode;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

/// A validated padding of a tensor of a given shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Pad {
    /// The input's shape.
    pub in_shape: Shape,
    /// The output's shape.
    pub out_shape: Shape,
    /// `(begin, end)` per axis; negative values crop.
    pub pads: Vec<(isize, isize)>,
    /// What the padding is made of.
    pub mode: PaddingMode,
    /// The value of constant (zeros-mode) padding.
    pub value: f32,
}

impl Pad {
    /// Checks `pads` (one `(begin, end)` per axis of `shape`) against the shape and the mode.
    pub fn new(shape: &Shape, pads: &[(isize, isize)], mode: PaddingMode, value: f32) -> Result<Pad> {
        let err = |kind, problem: &str| OpError::new(Self::NAME, kind, problem);
        if pads.len() != shape.rank() {
            return Err(err(ErrorKind::Shape, "there must be one (begin, end) pair per axis")
                .expected(format!("{} pairs for shape {shape}", shape.rank()))
                .given(format!("{} pairs", pads.len()))
                .hint("use (0, 0) for the axes that are not padded")
                .into());
        }
        if shape.numel() == 0 {
            return Err(err(ErrorKind::ZeroSize, "the input is empty")
                .expected("every dimension at least 1")
                .given(shape)
                .hint("pad a tensor that has values")
                .into());
        }
        let mut out = Vec::with_capacity(shape.rank());
        for (axis, (&len, &(begin, end))) in shape.dims().iter().zip(pads).enumerate() {
            let out_len = len as isize + begin + end;
            if out_len < 1 {
                return Err(err(ErrorKind::ZeroSize, "the negative padding crops the whole axis away")
                    .expected(format!("begin + end > -{len} on axis {axis}"))
                    .given(format!("({begin}, {end})"))
                    .hint("crop less")
                    .into());
            }
            if mode == PaddingMode::Reflection && (begin >= len as isize || end >= len as isize) {
                return Err(err(ErrorKind::PaddingTooWide, "reflection padding must be narrower than the axis it mirrors")
                    .expected(format!("padding < {len} on axis {axis}"))
                    .given(format!("({begin}, {end})"))
                    .hint("lower the padding, or use border or zeros padding")
                    .into());
            }
            out.push(out_len as usize);
        }
        Ok(Pad { in_shape: shape.clone(), out_shape: Shape::from(out), pads: pads.to_vec(), mode, value })
    }

    /// The input position that output position `o` of `axis` reads, or `None` for the constant.
    pub fn source(&self, axis: usize, o: usize) -> Option<usize> {
        self.mode.source(o as isize - self.pads[axis].0, self.in_shape.dims()[axis])
    }

    /// The flat input index that flat output index `o` reads, or `None` for the constant.
    fn source_index(&self, mut o: usize) -> Option<usize> {
        let (dims, out) = (self.in_shape.dims(), self.out_shape.dims());
        let (mut index, mut stride) = (0, 1);
        for axis in (0..dims.len()).rev() {
            let pos = o % out[axis];
            o /= out[axis];
            index += self.source(axis, pos)? * stride;
            stride *= dims[axis];
        }
        Some(index)
    }

    /// `(outer, len, inner)` of `axis` in a tensor of `dims`.
    fn axis_view(dims: &[usize], axis: usize) -> (usize, usize, usize) {
        (dims[..axis].iter().product(), dims[axis], dims[axis + 1..].iter().product())
    }
}

uniforms! {
    /// The `Params` of `shaders/pad.wgsl`: one axis, the tensor seen as `[outer, len, inner]` around it.
    pub struct Uniforms { outer: u32, in_len: u32, out_len: u32, inner: u32, begin: i32, mode: u32, value: f32 }
}

kernels! {
    shader "pad", uniforms Uniforms;
    PAD_AXIS = pad_axis(src: 1, dst: 2);
    FOLD_AXIS = fold_axis(src: 1, dst: 2);
}

impl Pad {
    /// One dispatch of `kernel` per padded axis, taking `t` from shape `from` to shape `to` one axis at a time (the
    /// padding modes are separable): the input padded, or the gradient folded back.
    fn per_axis(&self, gpu: &Gpu, kernel: &'static Kernel<Uniforms, 2>, t: &Tensor, from: &Shape, to: &Shape) -> Tensor {
        let mut current = t.clone();
        let mut dims = from.dims().to_vec();
        for axis in 0..dims.len() {
            if self.pads[axis] == (0, 0) {
                continue;
            }
            let (outer, _, inner) = Self::axis_view(&dims, axis);
            let u = Uniforms {
                outer: outer as u32,
                in_len: self.in_shape.dims()[axis] as u32,
                out_len: self.out_shape.dims()[axis] as u32,
                inner: inner as u32,
                begin: self.pads[axis].0 as i32,
                mode: self.mode.code(),
                value: self.value,
            };
            dims[axis] = to.dims()[axis];
            current = launch(gpu, kernel, &u, [&current], dims.clone());
        }
        current
    }
}

impl Unary for Pad {
    const NAME: &'static str = "pad";

    /// Every output value read from its source, or the constant.
    fn reference_forward(&self, x: &Tensor) -> Tensor {
        Tensor::from_fn(self.out_shape.clone(), |o| self.source_index(o).map_or(self.value, |i| x.data()[i]))
    }

    /// Each output's gradient folded back onto the input position it read.
    fn reference_backward(&self, _: &Tensor, dy: &Tensor) -> Tensor {
        let mut dx = Tensor::zeros(self.in_shape.clone());
        let out = dx.data_mut();
        for (o, g) in dy.data().iter().enumerate() {
            if let Some(i) = self.source_index(o) {
                out[i] += g;
            }
        }
        dx
    }

    fn gpu_forward(&self, gpu: &Gpu, x: &Tensor) -> Tensor {
        self.per_axis(gpu, &PAD_AXIS, x, &self.in_shape, &self.out_shape)
    }

    fn gpu_backward(&self, gpu: &Gpu, _: &Tensor, dy: &Tensor) -> Tensor {
        self.per_axis(gpu, &FOLD_AXIS, dy, &self.out_shape, &self.in_shape)
    }
}

/// Every mode over one to three axes, with padding wider than the axis (but for reflection) and cropping. Each
/// draw is valid by construction: reflection pads less than the axis, and a crop leaves at least one value.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    (0..12)
        .map(|round| {
            let dims: Vec<usize> = (0..1 + rng.below(3)).map(|_| 2 + rng.below(4)).collect();
            let mode = PaddingMode::ALL[round % 4];
            let pads: Vec<(isize, isize)> = dims
                .iter()
                .map(|&len| {
                    let widest = if mode == PaddingMode::Reflection { len - 1 } else { len + 1 };
                    // A crop of at most one value at the start leaves len − 1 ≥ 1 values.
                    (rng.below(widest + 1) as isize - rng.below(2) as isize, rng.below(widest + 1) as isize)
                })
                .collect();
            let op = Pad::new(&Shape::from(dims.clone()), &pads, mode, 0.25).expect("valid by construction");
            crate::ops::dispatch::Example::new(format!("pad {pads:?} {mode:?} of {dims:?}"), op, vec![Tensor::randn(dims, rng)])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_fill_like_onnx() {
        // A row [1 2 3] padded by (2, 1).
        let x = Tensor::new([1, 3], vec![1.0, 2.0, 3.0]).unwrap();
        let run = |mode, value| Pad::new(x.shape(), &[(0, 0), (2, 1)], mode, value).unwrap().forward(&x).unwrap().into_data();
        assert_eq!(run(PaddingMode::Zeros, 0.0), [0.0, 0.0, 1.0, 2.0, 3.0, 0.0]);
        assert_eq!(run(PaddingMode::Zeros, 2.5), [2.5, 2.5, 1.0, 2.0, 3.0, 2.5]);
        assert_eq!(run(PaddingMode::Border, 0.0), [1.0, 1.0, 1.0, 2.0, 3.0, 3.0]);
        assert_eq!(run(PaddingMode::Reflection, 0.0), [3.0, 2.0, 1.0, 2.0, 3.0, 2.0]);
    }

    #[test]
    fn negative_padding_crops() {
        let x = Tensor::from_fn([5], |i| i as f32);
        let y = Pad::new(x.shape(), &[(-1, -2)], PaddingMode::Zeros, 0.0).unwrap().forward(&x).unwrap();
        assert_eq!(y.data(), &[1.0, 2.0]);
    }

    #[test]
    fn bad_pads_are_explained() {
        let shape = Shape::from([1, 3, 4]);
        let kind = |pads: &[(isize, isize)], mode| Pad::new(&shape, pads, mode, 0.0).unwrap_err();
        assert!(matches!(kind(&[(0, 0), (1, 1)], PaddingMode::Zeros), crate::Error::Op(e) if e.kind == ErrorKind::Shape));
        assert!(matches!(kind(&[(0, 0), (0, 0), (4, 0)], PaddingMode::Reflection), crate::Error::Op(e) if e.kind == ErrorKind::PaddingTooWide));
        assert!(matches!(kind(&[(0, 0), (-2, -1), (0, 0)], PaddingMode::Zeros), crate::Error::Op(e) if e.kind == ErrorKind::ZeroSize));
    }
}
