//! General matrix multiply (ONNX `Gemm`) and the linear layer's product (`F.linear`), which is the same op:
//!
//! ```text
//! Gemm:    Y = alpha · op(A) · op(B) + beta · C        op(X) = X or Xᵀ,  C broadcast over [m, n]
//! linear:  y = x · Wᵀ + b                               x [..., in], W [out, in], b [out]  →  y [..., out]
//! ```
//!
//! Backward: `∂op(A) = alpha · ∂Y · op(B)ᵀ`, `∂op(B) = alpha · op(A)ᵀ · ∂Y` (each stored back in its operand's own
//! layout), and `∂C = beta · ∂Y` summed over the axes C was broadcast along. For linear, that is `∂x = ∂y · W`,
//! `∂W = ∂yᵀ · x` and `∂b = Σ_rows ∂y`. All products run on [`StridedMatmul`] (and so on `shaders/matmul.wgsl`:
//! Gemm has no shader of its own).
//!
//! Inputs `[A, B]` or `[A, B, C]` (linear: `[x, W]` or `[x, W, b]`), outputs `[Y]`.

use super::dispatch::Unary;
use crate::error::{ErrorKind, OpError, Result};
use crate::ops::matmul::{MAX_BATCH_AXES, Operand, StridedMatmul};
use crate::ops::sum_to::SumTo;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A validated Gemm (or linear).
#[derive(Clone, Debug, PartialEq)]
pub struct Gemm {
    /// `A`'s shape (for linear, `x`'s, any rank).
    pub a_shape: Shape,
    /// `B`'s shape.
    pub b_shape: Shape,
    /// `C`'s shape, when there is one.
    pub c_shape: Option<Shape>,
    /// The result's shape.
    pub out_shape: Shape,
    /// `alpha · op(A) · op(B) + beta · C`.
    pub product: StridedMatmul,
    /// `A` is stored transposed (`[k, m]`).
    pub trans_a: bool,
    /// `B` is stored transposed (`[n, k]`).
    pub trans_b: bool,
}

/// The gradients of a Gemm.
#[derive(Clone, Debug)]
pub struct GemmGrads {
    /// `∂A`, in `A`'s layout.
    pub da: Tensor,
    /// `∂B`, in `B`'s layout.
    pub db: Tensor,
    /// `∂C`, when there is a `C`.
    pub dc: Option<Tensor>,
}

const SINGLE: [usize; MAX_BATCH_AXES] = [1; MAX_BATCH_AXES];

impl Gemm {
    /// ONNX Gemm: `A [m, k]` (or `[k, m]` with `trans_a`), `B [k, n]` (or `[n, k]`), `C` broadcastable to `[m, n]`.
    pub fn new(a: &Shape, b: &Shape, c: Option<&Shape>, trans_a: bool, trans_b: bool, alpha: f32, beta: f32) -> Result<Gemm> {
        let err = |problem: &str| OpError::new("gemm", ErrorKind::Shape, problem);
        let (&[a0, a1], &[b0, b1]) = (a.dims(), b.dims()) else {
            return Err(err("both operands must be matrices").expected("A and B of rank 2").given(format!("{a} and {b}")).hint("reshape to 2-D").into());
        };
        let (m, k) = if trans_a { (a1, a0) } else { (a0, a1) };
        let (k2, n) = if trans_b { (b1, b0) } else { (b0, b1) };
        if k != k2 || a.numel() == 0 || b.numel() == 0 {
            return Err(err("the inner dimensions differ")
                .expected(format!("op(A) [m, k] and op(B) [k, n] with equal, non-zero k (transA {trans_a}, transB {trans_b})"))
                .given(format!("A {a}, B {b}"))
                .hint("set transA or transB when an operand is stored the other way round")
                .into());
        }
        let a_op = Operand { row_stride: a1, col_stride: 1, batch_strides: [0; MAX_BATCH_AXES] };
        let b_op = Operand { row_stride: b1, col_stride: 1, batch_strides: [0; MAX_BATCH_AXES] };
        let product = StridedMatmul {
            m,
            n,
            k,
            batch_dims: SINGLE,
            a: if trans_a { a_op.transposed() } else { a_op },
            b: if trans_b { b_op.transposed() } else { b_op },
            alpha,
            beta,
            c: c.map(|c| broadcast_strides(c, m, n)).transpose()?,
            sum_batches: false,
        };
        Ok(Gemm { a_shape: a.clone(), b_shape: b.clone(), c_shape: c.cloned(), out_shape: Shape::from([m, n]), product, trans_a, trans_b })
    }

    /// `F.linear`: `x [..., in]`, `w [out, in]`, `b [out]`; the result is `[..., out]`.
    pub fn linear(x: &Shape, w: &Shape, b: Option<&Shape>) -> Result<Gemm> {
        let err = |problem: &str| OpError::new("linear", ErrorKind::Shape, problem);
        let (&[out, inputs], Some(&last)) = (w.dims(), x.dims().last()) else {
            return Err(err("the weight must be [out_features, in_features] and the input have at least one axis")
                .expected("w [out, in], x [..., in]")
                .given(format!("x {x}, w {w}"))
                .hint("nn.Linear(in, out) stores its weight as [out, in]")
                .into());
        };
        if last != inputs || x.numel() == 0 || w.numel() == 0 {
            return Err(err("the input's last axis must be the layer's in_features")
                .expected(format!("x [..., {inputs}]"))
                .given(x)
                .hint("flatten the feature map first, or change in_features")
                .into());
        }
        if let Some(b) = b
            && b.dims() != [out]
        {
            return Err(err("the bias needs one value per output feature").expected(format!("[{out}]")).given(b).hint("or no bias").into());
        }
        let rows = x.numel() / inputs;
        let mut gemm = Gemm::new(&Shape::from([rows, inputs]), w, b, false, true, 1.0, 1.0)?;
        let mut out_dims = x.dims()[..x.rank() - 1].to_vec();
        out_dims.push(out);
        gemm.a_shape = x.clone();
        gemm.out_shape = Shape::from(out_dims);
        Ok(gemm)
    }

    /// `∂A` in `A`'s storage layout, as a product.
    fn grad_a_product(&self) -> StridedMatmul {
        let p = &self.product;
        let dy = Operand::contiguous(p.m, p.n, &SINGLE);
        if self.trans_a {
            // A is stored [k, m]: ∂A[kk, i] = alpha Σ_j op(B)[kk, j] · ∂Y[i, j].
            StridedMatmul { m: p.k, n: p.m, k: p.n, a: p.b, b: dy.transposed(), c: None, ..p.clone() }
        } else {
            // ∂A[i, kk] = alpha Σ_j ∂Y[i, j] · op(B)[kk, j].
            StridedMatmul { m: p.m, n: p.k, k: p.n, a: dy, b: p.b.transposed(), c: None, ..p.clone() }
        }
    }

    /// `∂B` in `B`'s storage layout, as a product.
    fn grad_b_product(&self) -> StridedMatmul {
        let p = &self.product;
        let dy = Operand::contiguous(p.m, p.n, &SINGLE);
        if self.trans_b {
            // B is stored [n, k]: ∂B[j, kk] = alpha Σ_i ∂Y[i, j] · op(A)[i, kk].
            StridedMatmul { m: p.n, n: p.k, k: p.m, a: dy.transposed(), b: p.a, c: None, ..p.clone() }
        } else {
            // ∂B[kk, j] = alpha Σ_i op(A)[i, kk] · ∂Y[i, j].
            StridedMatmul { m: p.k, n: p.n, k: p.m, a: p.a.transposed(), b: dy, c: None, ..p.clone() }
        }
    }

    /// `∂C = beta · ∂Y` summed down to C's shape.
    fn grad_c(&self) -> Option<SumTo> {
        let c = self.c_shape.as_ref()?;
        Some(SumTo::new(&Shape::from([self.product.m, self.product.n]), c, self.product.beta).expect("C broadcasts to [m, n]"))
    }

    /// `Y`, on `a`'s device.
    pub fn forward(&self, a: &Tensor, b: &Tensor, c: Option<&Tensor>) -> Result<Tensor> {
        self.product.run(a, b, c, self.out_shape.clone())
    }

    /// The gradients of `A`, `B` and `C`.
    pub fn backward(&self, a: &Tensor, b: &Tensor, dy: &Tensor) -> Result<GemmGrads> {
        let dy = dy.reshaped([self.product.m, self.product.n]).expect("dy has the output's size");
        // Each product reads its operands in the order its strides describe (see grad_a_product, grad_b_product).
        let (da_left, da_right) = if self.trans_a { (b, &dy) } else { (&dy, b) };
        let (db_left, db_right) = if self.trans_b { (&dy, a) } else { (a, &dy) };
        Ok(GemmGrads {
            da: self.grad_a_product().run(da_left, da_right, None, self.a_shape.clone())?,
            db: self.grad_b_product().run(db_left, db_right, None, self.b_shape.clone())?,
            dc: self.grad_c().map(|s| s.forward(&dy)).transpose()?,
        })
    }

    /// The reference forward.
    pub fn reference_forward(&self, a: &Tensor, b: &Tensor, c: Option<&Tensor>) -> Tensor {
        Tensor::new(self.out_shape.clone(), self.product.reference(a.data(), b.data(), c.map(Tensor::data))).expect("the product fills the output")
    }

    /// The reference backward.
    pub fn reference_backward(&self, a: &Tensor, b: &Tensor, dy: &Tensor) -> GemmGrads {
        let dy = dy.reshaped([self.product.m, self.product.n]).expect("dy has the output's size");
        let (da_left, da_right) = if self.trans_a { (b, &dy) } else { (&dy, b) };
        let (db_left, db_right) = if self.trans_b { (&dy, a) } else { (a, &dy) };
        let da = self.grad_a_product().reference(da_left.data(), da_right.data(), None);
        let db = self.grad_b_product().reference(db_left.data(), db_right.data(), None);
        GemmGrads {
            da: Tensor::new(self.a_shape.clone(), da).expect("sizes match"),
            db: Tensor::new(self.b_shape.clone(), db).expect("sizes match"),
            dc: self.grad_c().map(|s| s.reference_forward(&dy)),
        }
    }
}

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for Gemm {
    fn outputs(&self, x: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        let c = x.get(2).copied();
        Ok(vec![path.run(|| self.reference_forward(x[0], x[1], c), || self.forward(x[0], x[1], c))?])
    }

    fn gradients(&self, x: &[&Tensor], _: &[&Tensor], dy: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        let grads = path.run(|| self.reference_backward(x[0], x[1], dy[0]), || self.backward(x[0], x[1], dy[0]))?;
        let mut out = vec![Some(grads.da), Some(grads.db)];
        if x.len() > 2 {
            out.push(grads.dc);
        }
        Ok(out)
    }
}

/// Gemm over every transpose and broadcast of C; a product large enough for the GPU's 64x64 tiles, ragged in
/// every dimension; and linear layers with and without a bias, on a batched input.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    use crate::ops::dispatch::Example;
    let mut out = Vec::new();
    for (trans_a, trans_b, c) in [(false, false, vec![1, 4]), (true, false, vec![3, 4]), (false, true, vec![3, 1]), (true, true, vec![])] {
        let k = 1 + rng.below(6);
        let a = Tensor::randn(if trans_a { [k, 3] } else { [3, k] }, rng);
        let b = Tensor::randn(if trans_b { [4, k] } else { [k, 4] }, rng);
        let c = Tensor::randn(c, rng);
        let op = Gemm::new(a.shape(), b.shape(), Some(c.shape()), trans_a, trans_b, 0.5, 2.0).expect("valid");
        out.push(Example::new(format!("gemm transA {trans_a} transB {trans_b} C {}", c.shape()), op, vec![a, b, c]));
    }
    let (a, b, c) = (Tensor::randn([37, 70], rng), Tensor::randn([130, 37], rng), Tensor::randn([130], rng));
    let op = Gemm::new(a.shape(), b.shape(), Some(c.shape()), true, true, 1.0, 1.0).expect("valid");
    out.push(Example::new("gemm 70x37 @ 37x130, both transposed", op, vec![a, b, c]).finite_differences(None));
    let (x, w, b) = (Tensor::randn([2, 3, 5], rng), Tensor::randn([4, 5], rng), Tensor::randn([4], rng));
    out.push(Example::new("linear [2, 3, 5] -> 4", Gemm::linear(x.shape(), w.shape(), Some(b.shape())).expect("valid"), vec![x.clone(), w.clone(), b]));
    out.push(Example::new("linear [2, 3, 5] -> 4 without a bias", Gemm::linear(x.shape(), w.shape(), None).expect("valid"), vec![x, w]));
    out
}

/// Strides that read `c` as a `[m, n]` matrix, broadcasting axes of size 1 (ONNX's unidirectional broadcast).
fn broadcast_strides(c: &Shape, m: usize, n: usize) -> Result<(usize, usize)> {
    let (rows, cols) = match c.dims() {
        [] => (1, 1),
        &[cols] => (1, cols),
        &[rows, cols] => (rows, cols),
        _ => (0, 0),
    };
    if !(rows == 1 || rows == m) || !(cols == 1 || cols == n) {
        return Err(OpError::new("gemm", ErrorKind::Shape, "C does not broadcast to the product")
            .expected(format!("C broadcastable to [{m}, {n}]"))
            .given(c)
            .hint("C may be [n], [1, n], [m, 1], [m, n] or a scalar")
            .into());
    }
    Ok((if rows == 1 { 0 } else { cols }, if cols == 1 { 0 } else { 1 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_is_x_times_w_transposed_plus_b() {
        let x = Tensor::new([1, 2], vec![1.0, 2.0]).unwrap();
        let w = Tensor::new([3, 2], vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0]).unwrap();
        let b = Tensor::new([3], vec![0.5, 0.5, 0.5]).unwrap();
        let op = Gemm::linear(x.shape(), w.shape(), Some(b.shape())).unwrap();
        assert_eq!(op.forward(&x, &w, Some(&b)).unwrap().data(), &[1.5, 2.5, 3.5]);
    }

    #[test]
    fn mismatched_shapes_are_explained() {
        assert!(Gemm::new(&Shape::from([3, 5]), &Shape::from([4, 6]), None, false, false, 1.0, 0.0).is_err());
        assert!(Gemm::new(&Shape::from([3, 5]), &Shape::from([5, 4]), Some(&Shape::from([2, 4])), false, false, 1.0, 1.0).is_err());
        assert!(Gemm::linear(&Shape::from([2, 6]), &Shape::from([4, 5]), None).is_err());
    }
}
