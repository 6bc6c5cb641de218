//! Concatenate tensors along one axis (`torch.cat`): how a tabular model joins its embeddings and its continuous
//! columns into one row per sample. Backward hands each input its own slice of the gradient.
//!
//! Every tensor is seen as `[outer, len_i, inner]` around the axis; the output is `[outer, Σ len_i, inner]`.
//!
//! Inputs `[x_0, x_1, …]`, outputs `[y]`.

use super::dispatch::{launch, on_device};
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

const OP: &str = "concat";

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
        let err = |problem: &str| OpError::new(OP, ErrorKind::Shape, problem);
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

    /// The tensors joined, on their device (the CPU runs the reference; the GPU one dispatch per input).
    pub fn forward(&self, xs: &[&Tensor]) -> Result<Tensor> {
        on_device(OP, xs.iter().copied(), || self.reference_forward(xs), |gpu| {
            let y = Tensor::empty_on(gpu, self.out_shape.clone());
            for (i, x) in xs.iter().enumerate() {
                gpu.dispatch(&PLACE, &self.uniforms(i), [x.buffer(), y.buffer()], x.numel());
            }
            y
        })
    }

    /// Each input's slice of `dy`.
    pub fn backward(&self, dy: &Tensor) -> Result<Vec<Tensor>> {
        on_device(OP, [dy], || self.reference_backward(dy), |gpu| {
            (0..self.shapes.len()).map(|i| launch(gpu, &TAKE, &self.uniforms(i), [dy], self.shapes[i].clone())).collect()
        })
    }

    /// The length of the joined axis.
    fn total(&self) -> usize {
        self.out_shape.numel() / (self.outer * self.inner).max(1)
    }

    /// The reference forward.
    pub fn reference_forward(&self, xs: &[&Tensor]) -> Tensor {
        let total = self.total();
        let mut y = Tensor::zeros(self.out_shape.clone());
        for (x, &(len, start)) in xs.iter().zip(&self.pieces) {
            for o in 0..self.outer {
                let (from, to) = (o * len * self.inner, (o * total + start) * self.inner);
                y.data_mut()[to..to + len * self.inner].copy_from_slice(&x.data()[from..from + len * self.inner]);
            }
        }
        y
    }

    /// The reference backward.
    pub fn reference_backward(&self, dy: &Tensor) -> Vec<Tensor> {
        let total = self.total();
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
}

uniforms! {
    /// The `Params` of `shaders/concat.wgsl`.
    pub struct Uniforms { outer: u32, len: u32, inner: u32, total: u32, start: u32 }
}

kernels! {
    shader "concat", uniforms Uniforms;
    PLACE = place(piece: 1, out: 2);
    TAKE = take(dy: 3, dpiece: 4);
}

impl Concat {
    fn uniforms(&self, piece: usize) -> Uniforms {
        let (len, start) = self.pieces[piece];
        Uniforms { outer: self.outer as u32, len: len as u32, inner: self.inner as u32, total: self.total() as u32, start: start as u32 }
    }
}

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for Concat {
    fn outputs(&self, xs: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        Ok(vec![path.run(|| self.reference_forward(xs), || self.forward(xs))?])
    }

    fn gradients(&self, _: &[&Tensor], _: &[&Tensor], dy: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        let grads = path.run(|| self.reference_backward(dy[0]), || self.backward(dy[0]))?;
        Ok(grads.into_iter().map(Some).collect())
    }
}

/// Two and three tensors joined along the first, a middle and the last axis.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    let mut out = Vec::new();
    for (axis, shapes) in [(1, vec![[3, 2, 2], [3, 5, 2]]), (0, vec![[1, 2, 3], [2, 2, 3], [1, 2, 3]]), (2, vec![[2, 3, 1], [2, 3, 4]])] {
        let inputs: Vec<Tensor> = shapes.iter().map(|&s| Tensor::randn(s, rng)).collect();
        let op = Concat::new(&inputs.iter().map(Tensor::shape).collect::<Vec<_>>(), axis).expect("valid");
        out.push(crate::ops::dispatch::Example::new(format!("concat of {} tensors along axis {axis}", inputs.len()), op, inputs));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_columns_and_splits_the_gradient_back() {
        let a = Tensor::from_fn([2, 2], |i| i as f32);
        let b = Tensor::from_fn([2, 1], |i| 10.0 + i as f32);
        let op = Concat::new(&[a.shape(), b.shape()], 1).unwrap();
        let y = op.forward(&[&a, &b]).unwrap();
        assert_eq!(y.data(), &[0.0, 1.0, 10.0, 2.0, 3.0, 11.0]);
        let back = op.backward(&y).unwrap();
        assert_eq!((&back[0], &back[1]), (&a, &b));
        assert!(Concat::new(&[a.shape(), &Shape::from([3, 1])], 1).is_err());
    }
}
