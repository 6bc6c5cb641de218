//! Softmax and log-softmax along one axis: turn scores into probabilities that sum to 1.
//!
//! ```text
//! softmax(x)_j = e^(x_j − m) / Σ_k e^(x_k − m)          log_softmax(x)_j = x_j − m − log Σ_k e^(x_k − m)
//! ```
//!
//! with `m = max_k x_k` subtracted first so that `e^x` cannot overflow (the result is the same). The tensor is seen
//! as `[outer, len, inner]` around the axis. ONNX before opset 13 normalised over *all* the axes from `axis` on
//! ([`Softmax::flattened`]). Backward, from the output `y`: softmax `dx = y·(dy − Σ dy·y)`; log-softmax
//! `dx = dy − e^y · Σ dy`.
//!
//! Inputs `[x]`, outputs `[y]`.

use super::dispatch::{launch_over, on_device};
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

/// A validated softmax or log-softmax.
#[derive(Clone, Debug, PartialEq)]
pub struct Softmax {
    /// The input's shape.
    pub shape: Shape,
    /// Product of the dimensions before the axis.
    pub outer: usize,
    /// Length of the normalised axis (or block of axes).
    pub len: usize,
    /// Product of the dimensions after it.
    pub inner: usize,
    /// Log-softmax rather than softmax.
    pub log: bool,
}

impl Softmax {
    /// Along `axis` (negative counts from the end), as PyTorch and ONNX opset 13+.
    pub fn new(shape: &Shape, axis: isize, log: bool) -> Result<Softmax> {
        let a = Self::axis(shape, axis, log)?;
        let dims = shape.dims();
        Ok(Softmax { shape: shape.clone(), outer: dims[..a].iter().product(), len: dims[a], inner: dims[a + 1..].iter().product(), log })
    }

    /// Over all the axes from `axis` on, as ONNX before opset 13 (the input flattened to 2-D at `axis`).
    pub fn flattened(shape: &Shape, axis: isize, log: bool) -> Result<Softmax> {
        let a = Self::axis(shape, axis, log)?;
        let dims = shape.dims();
        Ok(Softmax { shape: shape.clone(), outer: dims[..a].iter().product(), len: dims[a..].iter().product(), inner: 1, log })
    }

    fn axis(shape: &Shape, axis: isize, log: bool) -> Result<usize> {
        let rank = shape.rank() as isize;
        let a = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&a) || shape.numel() == 0 {
            let name = if log { "log_softmax" } else { "softmax" };
            return Err(OpError::new(name, ErrorKind::Shape, "the axis is not one of the tensor's")
                .expected(format!("an axis in -{rank}..{rank} of a non-empty tensor"))
                .given(format!("axis {axis} of shape {shape}"))
                .hint("the class scores are usually the last axis: -1")
                .into());
        }
        Ok(a as usize)
    }

    /// The flat indices of row `(o, i)`, along the axis.
    fn row(&self, o: usize, i: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).map(move |j| (o * self.len + j) * self.inner + i)
    }

    /// The op's name in errors.
    fn name(&self) -> &'static str {
        if self.log { "log_softmax" } else { "softmax" }
    }

    /// The softmax (or log-softmax) of `x`, on its device (the CPU runs the reference; the GPU one invocation per
    /// row).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let rows = self.outer * self.inner;
        on_device(self.name(), [x], || self.reference_forward(x), |gpu| launch_over(gpu, &FORWARD, &self.uniforms(), [x], self.shape.clone(), rows))
    }

    /// The gradient of `x`, from the forward output `y`.
    pub fn backward(&self, y: &Tensor, dy: &Tensor) -> Result<Tensor> {
        let rows = self.outer * self.inner;
        let gpu = |gpu: &_| launch_over(gpu, &BACKWARD, &self.uniforms(), [y, dy], self.shape.clone(), rows);
        on_device(self.name(), [y, dy], || self.reference_backward(y, dy), gpu)
    }

    /// The reference forward.
    pub fn reference_forward(&self, x: &Tensor) -> Tensor {
        let mut y = Tensor::zeros(self.shape.clone());
        let out = y.data_mut();
        for o in 0..self.outer {
            for i in 0..self.inner {
                let max = self.row(o, i).map(|j| x.data()[j]).fold(f32::NEG_INFINITY, f32::max);
                let sum: f32 = self.row(o, i).map(|j| (x.data()[j] - max).exp()).sum();
                for j in self.row(o, i) {
                    out[j] = if self.log { x.data()[j] - max - sum.ln() } else { (x.data()[j] - max).exp() / sum };
                }
            }
        }
        y
    }

    /// The reference backward, from the forward output `y`.
    pub fn reference_backward(&self, y: &Tensor, dy: &Tensor) -> Tensor {
        let mut dx = Tensor::zeros(self.shape.clone());
        let out = dx.data_mut();
        for o in 0..self.outer {
            for i in 0..self.inner {
                if self.log {
                    let sum: f32 = self.row(o, i).map(|j| dy.data()[j]).sum();
                    for j in self.row(o, i) {
                        out[j] = dy.data()[j] - y.data()[j].exp() * sum;
                    }
                } else {
                    let dot: f32 = self.row(o, i).map(|j| dy.data()[j] * y.data()[j]).sum();
                    for j in self.row(o, i) {
                        out[j] = y.data()[j] * (dy.data()[j] - dot);
                    }
                }
            }
        }
        dx
    }

}

uniforms! {
    /// The `Params` of `shaders/softmax.wgsl`.
    pub struct Uniforms { outer: u32, len: u32, inner: u32, log: u32 }
}

kernels! {
    shader "softmax", uniforms Uniforms;
    FORWARD = forward(x: 1, y: 2);
    BACKWARD = backward(out: 3, dy: 4, dx: 5);
}

impl Softmax {
    fn uniforms(&self) -> Uniforms {
        Uniforms { outer: self.outer as u32, len: self.len as u32, inner: self.inner as u32, log: self.log as u32 }
    }
}

#[cfg(any(test, feature = "check"))]
mod fixtures {
    use super::*;
    use crate::ops::dispatch::{Example, Op, Path};
    use crate::rng::Rng;

    impl Op for Softmax {
        fn outputs(&self, x: &[&Tensor], path: Path) -> Result<Vec<Tensor>> {
            Ok(vec![path.run(|| self.reference_forward(x[0]), || self.forward(x[0]))?])
        }

        fn gradients(&self, _: &[&Tensor], y: &[&Tensor], dy: &[&Tensor], path: Path) -> Result<Vec<Option<Tensor>>> {
            Ok(vec![Some(path.run(|| self.reference_backward(y[0], dy[0]), || self.backward(y[0], dy[0]))?)])
        }
    }

    /// Softmax and log-softmax along every axis of a 3-D tensor, and ONNX's flattened form.
    pub fn examples(rng: &mut Rng) -> Vec<Example> {
        let x = Tensor::randn([2, 3, 4], rng);
        let mut out = Vec::new();
        for axis in [0, 1, 2, -1] {
            for log in [false, true] {
                out.push(Example::new(format!("softmax axis {axis} log {log}"), Softmax::new(x.shape(), axis, log).expect("valid"), vec![x.clone()]));
            }
        }
        out.push(Example::new("softmax flattened from axis 1", Softmax::flattened(x.shape(), 1, false).expect("valid"), vec![x]));
        out
    }
}

#[cfg(any(test, feature = "check"))]
pub use fixtures::examples;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sum_to_one_even_for_huge_scores() {
        let x = Tensor::new([2, 3], vec![1000.0, 1001.0, 1002.0, -5.0, 0.0, 5.0]).unwrap();
        let y = Softmax::new(x.shape(), -1, false).unwrap().forward(&x).unwrap();
        for row in y.data().chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        assert!((y.data()[2] - 0.665_240_9).abs() < 1e-6);
    }

    #[test]
    fn flattened_normalises_the_trailing_block() {
        let x = Tensor::from_fn([2, 2, 2], |i| i as f32);
        let y = Softmax::flattened(x.shape(), 1, false).unwrap().forward(&x).unwrap();
        assert!((y.data()[..4].iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_missing_axis_is_explained() {
        assert!(Softmax::new(&Shape::from([2, 3]), 2, false).is_err());
        assert!(Softmax::new(&Shape::from([2, 3]), -3, true).is_err());
    }
}
