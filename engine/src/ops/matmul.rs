//! Matrix multiplication with NumPy broadcasting (ONNX `MatMul`, `torch.matmul`), and the strided product every
//! matrix op of the engine (matmul, gemm, linear and their gradients) runs on.
//!
//! ```text
//! out[b, i, j] = Σ_k a[b, i, k] · b[b, k, j]
//! ```
//!
//! The leading (batch) axes broadcast: `[3, 1, m, k] @ [2, k, n]` is `[3, 2, m, n]`. A 1-D `a` is a row `[1, k]`
//! and a 1-D `b` a column `[k, 1]`, the added axis removed from the result. Backward: `∂a = ∂out · bᵀ` and
//! `∂b = aᵀ · ∂out`, each summed over the batch axes its operand was broadcast along ([`SumTo`]).
//!
//! [`StridedMatmul`] reads each operand through strides (a transpose is a swap of strides), so one kernel serves
//! every layout without copies.
//!
//! Inputs `[a, b]`, outputs `[out]`.

use super::dispatch::{Unary, on_device};
use crate::device::cpu;
use crate::device::gpu::{Gpu, Kernel};
use crate::error::{ErrorKind, OpError, Result};
use crate::ops::sum_to::SumTo;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

const OP: &str = "matmul";

pub use crate::device::strided::{MAX_BATCH_AXES, Operand, StridedMatmul, contiguous_batch_strides};

impl StridedMatmul {
    /// The product on `a`'s device into a new tensor of `shape` (`out_batches·m·n` values): the CPU's tuned
    /// products ([`cpu::matmul`]) or the GPU's kernels.
    pub fn run(&self, a: &Tensor, b: &Tensor, c: Option<&Tensor>, shape: Shape) -> Result<Tensor> {
        let cpu = || Tensor::new(shape.clone(), cpu::matmul::strided(self, a.data(), b.data(), c.map(Tensor::data))).expect("the product fills its shape");
        on_device(OP, [a, b].into_iter().chain(c), cpu, |gpu| self.run_gpu(gpu, a, b, c, shape.clone()))
    }

    /// The reference: plain loops, summing over the batches (when they are summed) and then `k`, in order.
    pub fn reference(&self, a: &[f32], b: &[f32], c: Option<&[f32]>) -> Vec<f32> {
        let mut out = vec![0.0; self.out_batches() * self.m * self.n];
        let mut slot = out.iter_mut();
        let summed = if self.sum_batches { self.batches() } else { 1 };
        for out_batch in 0..self.out_batches() {
            for i in 0..self.m {
                for j in 0..self.n {
                    let mut sum = 0.0;
                    for batch in out_batch..out_batch + summed {
                        let (ao, bo) = (self.offset(batch, &self.a.batch_strides), self.offset(batch, &self.b.batch_strides));
                        for kk in 0..self.k {
                            sum += a[ao + i * self.a.row_stride + kk * self.a.col_stride] * b[bo + kk * self.b.row_stride + j * self.b.col_stride];
                        }
                    }
                    let bias = match (self.c, c) {
                        (Some((rs, cs)), Some(c)) => self.beta * c[i * rs + j * cs],
                        _ => 0.0,
                    };
                    if let Some(slot) = slot.next() {
                        *slot = self.alpha * sum + bias;
                    }
                }
            }
        }
        out
    }

    fn uniforms(&self) -> Uniforms {
        let (c_row_stride, c_col_stride) = self.c.unwrap_or((0, 0));
        let words = |list: &[usize; MAX_BATCH_AXES]| list.map(|v| v as u32);
        Uniforms {
            m: self.m as u32,
            n: self.n as u32,
            k: self.k as u32,
            batches: self.batches() as u32,
            a_row_stride: self.a.row_stride as u32,
            a_col_stride: self.a.col_stride as u32,
            b_row_stride: self.b.row_stride as u32,
            b_col_stride: self.b.col_stride as u32,
            has_c: self.c.is_some() as u32,
            c_row_stride: c_row_stride as u32,
            c_col_stride: c_col_stride as u32,
            sum_batches: self.sum_batches as u32,
            alpha: self.alpha,
            beta: self.beta,
            batch_dims: words(&self.batch_dims),
            a_batch_strides: words(&self.a.batch_strides),
            b_batch_strides: words(&self.b.batch_strides),
            ..Default::default()
        }
    }

    /// One workgroup per block of each batch's output (the shader loops over any the grid cannot hold): 64x64
    /// blocks through workgroup memory for large matrices with long sums (on a real GPU: see
    /// [`Gpu::tiled_products`]), 32x32 read directly for the others, 256x4 for narrow ones (a convolution's
    /// per-image products over a few output positions).
    pub(crate) fn run_gpu(&self, gpu: &Gpu, a: &Tensor, b: &Tensor, c: Option<&Tensor>, shape: Shape) -> Tensor {
        let out = Tensor::empty_on(gpu, shape);
        let c = c.map_or(gpu.placeholder(), Tensor::buffer);
        let (kernel, [rows, cols]): (&'static Kernel<Uniforms, 4>, _) = match (self.m, self.n) {
            (_, ..=16) => (&NARROW, [256, 4]),
            (64.., 64..) if self.k >= 16 && gpu.tiled_products() => (&TILED, [64, 64]),
            _ => (&SMALL, [32, 32]),
        };
        let max = gpu.max_workgroups();
        let grid = [self.n.div_ceil(cols).min(max), self.m.div_ceil(rows).min(max), self.out_batches().min(max)];
        gpu.dispatch_grid(kernel, &self.uniforms(), [a.buffer(), b.buffer(), c, out.buffer()], grid);
        out
    }
}

kernels! {
    shader "matmul", uniforms Uniforms;
    /// 64x64 blocks of the output per workgroup, staged through workgroup memory.
    TILED = forward(a: 1, b: 2, c: 3, out: 4);
    /// 32x32 blocks, read directly.
    SMALL = small(a: 1, b: 2, c: 3, out: 4);
    /// 256x4 blocks, for outputs at most 16 wide.
    NARROW = narrow(a: 1, b: 2, c: 3, out: 4);
}

uniforms! {
    /// The `Params` of `shaders/matmul.wgsl`.
    pub struct Uniforms {
        m: u32, n: u32, k: u32, batches: u32,
        a_row_stride: u32, a_col_stride: u32, b_row_stride: u32, b_col_stride: u32,
        has_c: u32, c_row_stride: u32, c_col_stride: u32, sum_batches: u32,
        alpha: f32, beta: f32, _unused1: u32, _unused2: u32,
        batch_dims: [u32; 4],
        a_batch_strides: [u32; 4],
        b_batch_strides: [u32; 4],
    }
}

/// A validated broadcasting matrix product.
#[derive(Clone, Debug, PartialEq)]
pub struct Matmul {
    /// `a`'s shape.
    pub a_shape: Shape,
    /// `b`'s shape.
    pub b_shape: Shape,
    /// The result's shape.
    pub out_shape: Shape,
    /// The product, over the broadcast batch.
    pub product: StridedMatmul,
    /// `a` and `b` as the 2-D-or-more shapes they are multiplied as (a 1-D operand gains an axis).
    a_matrix: Shape,
    b_matrix: Shape,
}

impl Matmul {
    /// Checks that the inner dimensions match and the batch axes broadcast.
    pub fn new(a: &Shape, b: &Shape) -> Result<Matmul> {
        let err = |problem: &str| OpError::new(OP, ErrorKind::Shape, problem);
        if a.rank() == 0 || b.rank() == 0 || a.numel() == 0 || b.numel() == 0 {
            return Err(err("both operands need at least one non-empty axis")
                .expected("tensors of rank 1 or more")
                .given(format!("{a} and {b}"))
                .hint("multiply a scalar with an elementwise product instead")
                .into());
        }
        let a_matrix: Vec<usize> = if a.rank() == 1 { vec![1, a.dims()[0]] } else { a.dims().to_vec() };
        let b_matrix: Vec<usize> = if b.rank() == 1 { vec![b.dims()[0], 1] } else { b.dims().to_vec() };
        let (m, k) = (a_matrix[a_matrix.len() - 2], a_matrix[a_matrix.len() - 1]);
        let (k2, n) = (b_matrix[b_matrix.len() - 2], b_matrix[b_matrix.len() - 1]);
        if k != k2 {
            return Err(err("the inner dimensions differ")
                .expected(format!("a's last axis ({k}) to equal b's second-to-last"))
                .given(format!("{a} @ {b}"))
                .hint("a [m, k] @ b [k, n]: transpose one operand if they are the wrong way round")
                .into());
        }
        let (a_batch, b_batch) = (&a_matrix[..a_matrix.len() - 2], &b_matrix[..b_matrix.len() - 2]);
        let rank = a_batch.len().max(b_batch.len());
        if rank > MAX_BATCH_AXES {
            return Err(err("too many batch axes")
                .expected(format!("at most {MAX_BATCH_AXES} axes before the matrix axes"))
                .given(format!("{a} @ {b}"))
                .hint("reshape the batch axes into one")
                .into());
        }
        let aligned = |dims: &[usize]| -> [usize; MAX_BATCH_AXES] {
            let mut out = [1; MAX_BATCH_AXES];
            out[MAX_BATCH_AXES - dims.len()..].copy_from_slice(dims);
            out
        };
        let (ab, bb) = (aligned(a_batch), aligned(b_batch));
        let mut batch_dims = [1; MAX_BATCH_AXES];
        for t in 0..MAX_BATCH_AXES {
            batch_dims[t] = match (ab[t], bb[t]) {
                (x, y) if x == y => x,
                (1, y) => y,
                (x, 1) => x,
                _ => {
                    return Err(err("the batch axes do not broadcast")
                        .expected("batch axes equal, or 1")
                        .given(format!("{a} @ {b}"))
                        .hint("each leading axis must match or be 1")
                        .into());
                }
            };
        }
        let mut out: Vec<usize> = batch_dims[MAX_BATCH_AXES - rank..].to_vec();
        if a.rank() > 1 {
            out.push(m);
        }
        if b.rank() > 1 {
            out.push(n);
        }
        let operand = |rows, cols, batch: &[usize; MAX_BATCH_AXES]| Operand {
            row_stride: cols,
            col_stride: 1,
            batch_strides: contiguous_batch_strides(batch, rows * cols),
        };
        let product = StridedMatmul {
            m,
            n,
            k,
            batch_dims,
            a: operand(m, k, &ab),
            b: operand(k, n, &bb),
            alpha: 1.0,
            beta: 0.0,
            c: None,
            sum_batches: false,
        };
        Ok(Matmul {
            a_shape: a.clone(),
            b_shape: b.clone(),
            out_shape: Shape::from(out),
            product,
            a_matrix: Shape::from(a_matrix),
            b_matrix: Shape::from(b_matrix),
        })
    }

    /// `[batch…, m, n]`: the product's full shape before 1-D operands drop their axis.
    fn full_shape(&self) -> Shape {
        let p = &self.product;
        let mut dims = p.batch_dims.to_vec();
        dims.extend([p.m, p.n]);
        Shape::from(dims)
    }

    /// `∂a = ∂out · bᵀ` for every output batch, contiguous `[batch…, m, k]`.
    fn grad_a_product(&self) -> StridedMatmul {
        let p = &self.product;
        StridedMatmul {
            m: p.m,
            n: p.k,
            k: p.n,
            a: Operand::contiguous(p.m, p.n, &p.batch_dims),
            b: p.b.transposed(),
            ..p.clone()
        }
    }

    /// `∂b = aᵀ · ∂out` for every output batch, contiguous `[batch…, k, n]`.
    fn grad_b_product(&self) -> StridedMatmul {
        let p = &self.product;
        StridedMatmul {
            m: p.k,
            n: p.n,
            k: p.m,
            a: p.a.transposed(),
            b: Operand::contiguous(p.m, p.n, &p.batch_dims),
            ..p.clone()
        }
    }

    /// The reductions of the per-batch gradients onto `a` and `b` (over the axes they were broadcast along).
    fn grad_reductions(&self) -> (SumTo, SumTo) {
        let p = &self.product;
        let full = |rows, cols| {
            let mut dims = p.batch_dims.to_vec();
            dims.extend([rows, cols]);
            Shape::from(dims)
        };
        let a = SumTo::new(&full(p.m, p.k), &self.a_matrix, 1.0).expect("a broadcasts to the product's batch");
        let b = SumTo::new(&full(p.k, p.n), &self.b_matrix, 1.0).expect("b broadcasts to the product's batch");
        (a, b)
    }

    /// `a @ b`, on `a`'s device.
    pub fn forward(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(self.product.run(a, b, None, self.full_shape())?.reshaped(self.out_shape.clone()).expect("the same values"))
    }

    /// `(∂a, ∂b)`.
    pub fn backward(&self, a: &Tensor, b: &Tensor, dy: &Tensor) -> Result<(Tensor, Tensor)> {
        let (to_a, to_b) = self.grad_reductions();
        let da = self.grad_a_product().run(dy, b, None, to_a.from.clone())?;
        let db = self.grad_b_product().run(a, dy, None, to_b.from.clone())?;
        let reshape = |t: Tensor, shape: &Shape| t.reshaped(shape.clone()).expect("the same values");
        Ok((reshape(to_a.forward(&da)?, &self.a_shape), reshape(to_b.forward(&db)?, &self.b_shape)))
    }

    /// The reference forward.
    pub fn reference_forward(&self, a: &Tensor, b: &Tensor) -> Tensor {
        Tensor::new(self.out_shape.clone(), self.product.reference(a.data(), b.data(), None)).expect("the product fills the output")
    }

    /// The reference backward.
    pub fn reference_backward(&self, a: &Tensor, b: &Tensor, dy: &Tensor) -> (Tensor, Tensor) {
        let (to_a, to_b) = self.grad_reductions();
        let da = Tensor::new(to_a.from.clone(), self.grad_a_product().reference(dy.data(), b.data(), None)).expect("sizes match");
        let db = Tensor::new(to_b.from.clone(), self.grad_b_product().reference(a.data(), dy.data(), None)).expect("sizes match");
        let da = Tensor::new(self.a_shape.clone(), to_a.reference_forward(&da).into_data()).expect("sizes match");
        let db = Tensor::new(self.b_shape.clone(), to_b.reference_forward(&db).into_data()).expect("sizes match");
        (da, db)
    }
}

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for Matmul {
    fn outputs(&self, x: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        Ok(vec![path.run(|| self.reference_forward(x[0], x[1]), || self.forward(x[0], x[1]))?])
    }

    fn gradients(&self, x: &[&Tensor], _: &[&Tensor], dy: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        let (da, db) = path.run(|| self.reference_backward(x[0], x[1], dy[0]), || self.backward(x[0], x[1], dy[0]))?;
        Ok(vec![Some(da), Some(db)])
    }
}

/// Broadcast batches, 1-D operands on either side, and shapes for each of the GPU's product kernels (narrow,
/// small, and 64x64 tiles with ragged edges).
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    let shapes: [(&[usize], &[usize]); 7] = [
        (&[3, 1, 2, 4], &[2, 4, 3]),
        (&[5], &[5]),
        (&[2, 3], &[3]),
        (&[4], &[2, 4, 1]),
        (&[2, 65, 20], &[20, 66]),
        (&[3, 300, 7], &[7, 13]),
        (&[70, 37], &[37, 130]),
    ];
    shapes
        .into_iter()
        .map(|(sa, sb)| {
            let (a, b) = (Tensor::randn(sa, rng), Tensor::randn(sb, rng));
            let op = Matmul::new(a.shape(), b.shape()).expect("valid");
            let example = crate::ops::dispatch::Example::new(format!("matmul {} @ {}", a.shape(), b.shape()), op, vec![a, b]);
            if sa.len() > 2 || sa[0] > 8 { example.finite_differences(None) } else { example }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_2x3_times_3x2() {
        let a = Tensor::from_fn([2, 3], |i| i as f32);
        let b = Tensor::from_fn([3, 2], |i| i as f32);
        // [[0 1 2] [3 4 5]] @ [[0 1] [2 3] [4 5]]
        assert_eq!(Matmul::new(a.shape(), b.shape()).unwrap().forward(&a, &b).unwrap().data(), &[10.0, 13.0, 28.0, 40.0]);
    }

    #[test]
    fn the_fast_product_equals_the_reference_loops_for_every_layout() {
        let mut rng = crate::rng::Rng::new(21);
        let a = Tensor::randn([3 * 5 * 7], &mut rng);
        let b = Tensor::randn([2 * 7 * 4], &mut rng);
        let c = Tensor::randn([5], &mut rng);
        let product = StridedMatmul {
            m: 5,
            n: 4,
            k: 7,
            batch_dims: [1, 1, 3, 2],
            a: Operand { row_stride: 1, col_stride: 5, batch_strides: [0, 0, 35, 0] },
            b: Operand { row_stride: 4, col_stride: 1, batch_strides: [0, 0, 0, 28] },
            alpha: 0.5,
            beta: 2.0,
            c: Some((1, 0)),
            sum_batches: false,
        };
        for product in [product.clone(), StridedMatmul { sum_batches: true, ..product }] {
            let (fast, slow) = (cpu::matmul::strided(&product, a.data(), b.data(), Some(c.data())), product.reference(a.data(), b.data(), Some(c.data())));
            assert_eq!(fast.len(), product.out_batches() * 5 * 4);
            for (f, s) in fast.iter().zip(&slow) {
                assert!((f - s).abs() < 1e-4 * (1.0 + s.abs()), "{f} vs {s}");
            }
        }
    }

    #[test]
    fn shapes_broadcast_and_1d_operands_drop_their_axis() {
        let out = |a: &[usize], b: &[usize]| Matmul::new(&Shape::from(a), &Shape::from(b)).unwrap().out_shape;
        assert_eq!(out(&[3, 1, 2, 4], &[1, 5, 4, 2]), Shape::from([3, 5, 2, 2]));
        assert_eq!(out(&[4], &[2, 4, 1]), Shape::from([2, 1]));
        assert_eq!(out(&[3], &[3]), Shape::default());
        assert!(Matmul::new(&Shape::from([2, 3]), &Shape::from([2, 3])).is_err());
        assert!(Matmul::new(&Shape::from([2, 2, 3]), &Shape::from([3, 3, 4])).is_err());
    }
}
