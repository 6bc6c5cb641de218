//! Sum a tensor down to a shape it was broadcast from (PyTorch's `sum_to_size`): the backward of broadcasting.
//! A bias `[C]` added to every row of `[N, C]` receives the sum of the rows' gradients. The small shape is aligned
//! with the large one from the right, and each of its axes is 1 or matches.

use crate::backend::gpu::{Gpu, GpuTensor};
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

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
            return Err(OpError::new("sum_to", ErrorKind::Shape, "the shape does not broadcast to the tensor's")
                .expected(format!("a shape that broadcasts to {from} (at most {MAX_RANK} axes)"))
                .given(to)
                .hint("each axis must be 1 or equal, aligned from the right")
                .into());
        }
        Ok(SumTo { from: from.clone(), to: to.clone(), scale })
    }

    /// `to`'s dimensions padded with leading 1s to `from`'s rank.
    fn padded_to(&self) -> Vec<usize> {
        let mut dims = vec![1; self.from.rank() - self.to.rank()];
        dims.extend_from_slice(self.to.dims());
        dims
    }

    /// The CPU reference.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let (from, to) = (self.from.dims(), self.padded_to());
        let mut y = Tensor::zeros(self.to.clone());
        // The common case, a bias's gradient: the leading axes are summed and the rest kept. Add whole rows.
        let kept = to.iter().skip_while(|&&d| d == 1).count();
        if to[to.len() - kept..] == from[from.len() - kept..] && self.to.numel() > 0 {
            for row in x.data().chunks(self.to.numel()) {
                for (acc, v) in y.data_mut().iter_mut().zip(row) {
                    *acc += v;
                }
            }
            for v in y.data_mut() {
                *v *= self.scale;
            }
            return y;
        }
        let out = y.data_mut();
        for (i, &v) in x.data().iter().enumerate() {
            let (mut rest, mut j, mut stride) = (i, 0, 1);
            for axis in (0..from.len()).rev() {
                let coord = rest % from[axis];
                rest /= from[axis];
                if to[axis] != 1 {
                    j += coord * stride;
                }
                stride *= to[axis];
            }
            out[j] += v;
        }
        for v in out.iter_mut() {
            *v *= self.scale;
        }
        y
    }

    /// Records the reduction on the GPU (`shaders/sum_to.wgsl`), one invocation per output value.
    pub fn forward_gpu(&self, gpu: &Gpu, x: &GpuTensor) -> GpuTensor {
        let mut from = self.from.dims().to_vec();
        let mut to = self.padded_to();
        // Pad both to MAX_RANK with leading 1s.
        let lead = MAX_RANK - from.len();
        from.splice(0..0, std::iter::repeat_n(1, lead));
        to.splice(0..0, std::iter::repeat_n(1, lead));
        let mut u = vec![self.to.numel() as u32, self.scale.to_bits(), 0, 0];
        u.extend(from.iter().map(|&d| d as u32));
        u.extend(to.iter().map(|&d| d as u32));
        let y = gpu.empty(self.to.clone());
        gpu.dispatch("sum_to", "forward", &u, &[(1, x.buffer()), (2, y.buffer())], y.numel());
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bias_gets_the_sum_of_its_rows() {
        let x = Tensor::from_fn([2, 3], |i| i as f32);
        assert_eq!(SumTo::new(x.shape(), &Shape::from([3]), 1.0).unwrap().forward(&x).data(), &[3.0, 5.0, 7.0]);
        assert_eq!(SumTo::new(x.shape(), &Shape::from([2, 1]), 2.0).unwrap().forward(&x).data(), &[6.0, 24.0]);
        assert_eq!(SumTo::new(x.shape(), &Shape::default(), 1.0).unwrap().forward(&x).data(), &[15.0]);
        assert!(SumTo::new(x.shape(), &Shape::from([2]), 1.0).is_err());
    }
}
