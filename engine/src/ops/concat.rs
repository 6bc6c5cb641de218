//! Concatenate tensors along one axis (`torch.cat`): how a tabular model joins its embeddings and its continuous
//! columns into one row per sample. Backward hands each input its own slice of the gradient.
//!
//! Every tensor is seen as `[outer, len_i, inner]` around the axis; the output is `[outer, Σ len_i, inner]`.

use crate::backend::gpu::{Gpu, GpuTensor};
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A validated concatenation.
#[derive(Clone, Debug, PartialEq)]
pub struct Concat {
    /// The inputs' shapes.
    pub shapes: Vec<Shape>,
    /// The output's shape.
    pub out_shape: Shape,
    outer: usize,
    inner: usize,
    /// Each input's length along the axis, and where it starts in the output.
    pieces: Vec<(usize, usize)>,
}

impl Concat {
    /// Checks that the shapes agree everywhere but along `axis`.
    pub fn new(shapes: &[&Shape], axis: usize) -> Result<Concat> {
        let err = |problem: &str| OpError::new("concat", ErrorKind::Shape, problem);
        let Some(first) = shapes.first() else {
            return Err(err("there is nothing to concatenate").expected("at least one tensor").given("none").hint("pass the tensors to join").into());
        };
        if axis >= first.rank() {
            return Err(err("the axis is not one of the tensors'").expected(format!("an axis below {}", first.rank())).given(axis).hint("join feature columns along axis 1").into());
        }
        let mut total = 0;
        let mut pieces = Vec::new();
        for s in shapes {
            let same_elsewhere = s.rank() == first.rank() && (0..s.rank()).all(|a| a == axis || s.dims()[a] == first.dims()[a]);
            if !same_elsewhere {
                return Err(err("the tensors differ along another axis")
                    .expected(format!("shapes like {first} except along axis {axis}"))
                    .given(s)
                    .hint("every sample needs all of its columns")
                    .into());
            }
            pieces.push((s.dims()[axis], total));
            total += s.dims()[axis];
        }
        let mut out = first.dims().to_vec();
        out[axis] = total;
        Ok(Concat {
            shapes: shapes.iter().map(|s| (*s).clone()).collect(),
            out_shape: Shape::from(out),
            outer: first.dims()[..axis].iter().product(),
            inner: first.dims()[axis + 1..].iter().product(),
            pieces,
        })
    }

    /// The CPU reference.
    pub fn forward(&self, xs: &[&Tensor]) -> Tensor {
        let total = self.out_shape.numel() / (self.outer * self.inner).max(1);
        let mut y = Tensor::zeros(self.out_shape.clone());
        for (x, &(len, start)) in xs.iter().zip(&self.pieces) {
            for o in 0..self.outer {
                let (from, to) = (o * len * self.inner, (o * total + start) * self.inner);
                y.data_mut()[to..to + len * self.inner].copy_from_slice(&x.data()[from..from + len * self.inner]);
            }
        }
        y
    }

    /// The CPU reference backward: each input's slice of `dy`.
    pub fn backward(&self, dy: &Tensor) -> Vec<Tensor> {
        let total = self.out_shape.numel() / (self.outer * self.inner).max(1);
        self.shapes
            .iter()
            .zip(&self.pieces)
            .map(|(shape, &(len, start))| {
                let mut dx = Tensor::zeros(shape.clone());
                for o in 0..self.outer {
                    let (to, from) = (o * len * self.inner, (o * total + start) * self.inner);
                    dx.data_mut()[to..to + len * self.inner].copy_from_slice(&dy.data()[from..from + len * self.inner]);
                }
                dx
            })
            .collect()
    }

    fn uniforms(&self, piece: usize) -> [u32; 5] {
        let total = self.out_shape.numel() / (self.outer * self.inner).max(1);
        let (len, start) = self.pieces[piece];
        [self.outer, len, self.inner, total, start].map(|v| v as u32)
    }

    /// Records the concatenation on the GPU (`shaders/concat.wgsl`), one dispatch per input.
    pub fn forward_gpu(&self, gpu: &Gpu, xs: &[&GpuTensor]) -> GpuTensor {
        let y = gpu.empty(self.out_shape.clone());
        for (i, x) in xs.iter().enumerate() {
            gpu.dispatch("concat", "place", &self.uniforms(i), &[(1, x.buffer()), (2, y.buffer())], x.numel());
        }
        y
    }

    /// Records the backward pass on the GPU.
    pub fn backward_gpu(&self, gpu: &Gpu, dy: &GpuTensor) -> Vec<GpuTensor> {
        (0..self.shapes.len())
            .map(|i| {
                let dx = gpu.empty(self.shapes[i].clone());
                gpu.dispatch("concat", "take", &self.uniforms(i), &[(3, dy.buffer()), (4, dx.buffer())], dx.numel());
                dx
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_columns_and_splits_the_gradient_back() {
        let a = Tensor::from_fn([2, 2], |i| i as f32);
        let b = Tensor::from_fn([2, 1], |i| 10.0 + i as f32);
        let op = Concat::new(&[a.shape(), b.shape()], 1).unwrap();
        let y = op.forward(&[&a, &b]);
        assert_eq!(y.data(), &[0.0, 1.0, 10.0, 2.0, 3.0, 11.0]);
        let back = op.backward(&y);
        assert_eq!((&back[0], &back[1]), (&a, &b));
        assert!(Concat::new(&[a.shape(), &Shape::from([3, 1])], 1).is_err());
    }
}
