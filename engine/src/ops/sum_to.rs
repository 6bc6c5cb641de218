//! Sum a tensor down to a shape it was broadcast from (PyTorch's `sum_to_size`): the backward of broadcasting.
//! A bias `[C]` added to every row of `[N, C]` receives the sum of the rows' gradients. The small shape is aligned
//! with the large one from the right, and each of its axes is 1 or matches.
//!
//! ```text
//! y[j] = scale · Σ_{i broadcast from j} x[i]
//! ```
//!
//! Inputs `[x]` (the large shape), outputs `[y]` (the small one). Backward broadcasts `dy · scale` back.

use super::dispatch::{Unary, launch};
use crate::device::cpu;
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

/// The most axes the GPU kernel handles.
pub const MAX_RANK: usize = 8;

/// A validated reduction of `from` down to `to`, times `scale`.
#[derive(Clone, Debug, PartialEq)]
pub struct SumTo {
    /// The large shape.
    pub from: Shape,
    /// The small shape.
    pub to: Shape,
    /// A factor applied to every sum (Gemm's β).
    pub scale: f32,
}

impl SumTo {
    /// Checks that `to` broadcasts to `from`.
    pub fn new(from: &Shape, to: &Shape, scale: f32) -> Result<SumTo> {
        let fits = to.rank() <= from.rank()
            && from.rank() <= MAX_RANK
            && to.dims().iter().rev().zip(from.dims().iter().rev()).all(|(&t, &f)| t == 1 || t == f);
        if !fits {
            return Err(OpError::new(Self::NAME, ErrorKind::Shape, "the shape does not broadcast to the tensor's")
                .expected(format!("a shape that broadcasts to {from} (at most {MAX_RANK} axes)"))
                .given(to)
                .hint("each axis must be 1 or equal, aligned from the right")
                .into());
        }
        Ok(SumTo { from: from.clone(), to: to.clone(), scale })
    }


    /// `to`'s dimensions padded with leading 1s to `from`'s rank.
    pub fn padded_to(&self) -> Vec<usize> {
        let mut dims = vec![1; self.from.rank() - self.to.rank()];
        dims.extend_from_slice(self.to.dims());
        dims
    }

    /// The flat index in `to` that flat index `i` of `from` is summed into.
    fn target(&self, i: usize) -> usize {
        let (from, to) = (self.from.dims(), self.padded_to());
        let (mut rest, mut j, mut stride) = (i, 0, 1);
        for axis in (0..from.len()).rev() {
            let coord = rest % from[axis];
            rest /= from[axis];
            if to[axis] != 1 {
                j += coord * stride;
            }
            stride *= to[axis];
        }
        j
    }

}

impl Unary for SumTo {
    const NAME: &'static str = "sum_to";

    /// Every value added into the one it was broadcast from, in order.
    fn reference_forward(&self, x: &Tensor) -> Tensor {
        let mut y = Tensor::zeros(self.to.clone());
        let out = y.data_mut();
        for (i, &v) in x.data().iter().enumerate() {
            out[self.target(i)] += v;
        }
        for v in out.iter_mut() {
            *v *= self.scale;
        }
        y
    }

    /// `dy · scale` broadcast back to the large shape.
    fn reference_backward(&self, _: &Tensor, dy: &Tensor) -> Tensor {
        Tensor::from_fn(self.from.clone(), |i| dy.data()[self.target(i)] * self.scale)
    }

    /// The common case, a bias's gradient, sums the leading axes and keeps the rest: whole rows are added
    /// ([`cpu::reduce::sum_rows`]), in the reference's order. Other shapes run the reference.
    fn cpu_forward(&self, x: &Tensor) -> Tensor {
        let (from, to) = (self.from.dims(), self.padded_to());
        let kept = to.iter().skip_while(|&&d| d == 1).count();
        if to[to.len() - kept..] != from[from.len() - kept..] || self.to.numel() == 0 {
            return self.reference_forward(x);
        }
        Tensor::new(self.to.clone(), cpu::reduce::sum_rows(x.data(), self.to.numel(), self.scale)).expect("one sum per value of `to`")
    }

    /// One invocation per output value, looping over the values broadcast from it.
    fn gpu_forward(&self, gpu: &Gpu, x: &Tensor) -> Tensor {
        launch(gpu, &FORWARD, &self.uniforms(), [x], self.to.clone())
    }

    fn gpu_backward(&self, gpu: &Gpu, _: &Tensor, dy: &Tensor) -> Tensor {
        launch(gpu, &BROADCAST, &self.uniforms(), [dy], self.from.clone())
    }
}

uniforms! {
    /// The `Params` of `shaders/sum_to.wgsl`: both shapes padded to 8 axes with leading 1s.
    pub struct Uniforms { total: u32, scale: f32, _unused0: u32, _unused1: u32, from_dims: [u32; 8], to_dims: [u32; 8] }
}

impl SumTo {
    fn uniforms(&self) -> Uniforms {
        let padded = |dims: &[usize]| {
            let mut out = [1u32; MAX_RANK];
            for (slot, &d) in out[MAX_RANK - dims.len()..].iter_mut().zip(dims) {
                *slot = d as u32;
            }
            out
        };
        Uniforms {
            total: self.to.numel() as u32,
            scale: self.scale,
            from_dims: padded(self.from.dims()),
            to_dims: padded(&self.padded_to()),
            ..Default::default()
        }
    }
}

kernels! {
    shader "sum_to", uniforms Uniforms;
    FORWARD = forward(x: 1, y: 2);
    BROADCAST = broadcast(dy: 3, dx: 4);
}

/// A bias's gradient (leading axes summed), axes of 1 kept in the middle, a scalar, and a scale.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    let x = Tensor::randn([2, 3, 4], rng);
    [vec![4], vec![3, 1], vec![2, 1, 4], vec![], vec![1, 3, 4]]
        .into_iter()
        .enumerate()
        .map(|(i, to)| {
            let op = SumTo::new(x.shape(), &Shape::from(to), if i == 1 { 1.5 } else { 1.0 }).expect("valid");
            crate::ops::dispatch::Example::new(format!("sum_to {} from {}", op.to, op.from), op, vec![x.clone()])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bias_gets_the_sum_of_its_rows() {
        let x = Tensor::from_fn([2, 3], |i| i as f32);
        assert_eq!(SumTo::new(x.shape(), &Shape::from([3]), 1.0).unwrap().forward(&x).unwrap().data(), &[3.0, 5.0, 7.0]);
        assert_eq!(SumTo::new(x.shape(), &Shape::from([2, 1]), 2.0).unwrap().forward(&x).unwrap().data(), &[6.0, 24.0]);
        assert_eq!(SumTo::new(x.shape(), &Shape::default(), 1.0).unwrap().forward(&x).unwrap().data(), &[15.0]);
        assert!(SumTo::new(x.shape(), &Shape::from([2]), 1.0).is_err());
    }
}
