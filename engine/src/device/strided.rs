//! The layout of a strided, batched matrix product: the plain geometry that the CPU's products
//! ([`super::cpu::matmul`]) and the GPU's `matmul.wgsl` uniforms share. What runs it (on a device, as the reference
//! loops, on the GPU) is the op's, in `ops/matmul.rs`.

/// The most batch axes the kernel broadcasts over.
pub const MAX_BATCH_AXES: usize = 4;

/// How an operand is read: element `(row, col)` of batch `b` is at `offset(b) + row·row_stride + col·col_stride`,
/// where `offset(b) = Σ coord_t(b) · batch_strides[t]` over the output's batch axes (stride 0 where broadcast).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operand {
    /// Step between rows.
    pub row_stride: usize,
    /// Step between columns.
    pub col_stride: usize,
    /// Step per batch coordinate, one per batch axis of the output (0 where broadcast).
    pub batch_strides: [usize; MAX_BATCH_AXES],
}

impl Operand {
    /// A contiguous `[batch…, rows, cols]` operand read as is.
    pub fn contiguous(rows: usize, cols: usize, batch_dims: &[usize; MAX_BATCH_AXES]) -> Operand {
        Operand { row_stride: cols, col_stride: 1, batch_strides: contiguous_batch_strides(batch_dims, rows * cols) }
    }

    /// The same operand read transposed.
    pub fn transposed(self) -> Operand {
        Operand { row_stride: self.col_stride, col_stride: self.row_stride, ..self }
    }
}

/// Batch strides of a contiguous tensor whose batch axes are `dims` and whose matrices have `matrix` elements.
pub fn contiguous_batch_strides(dims: &[usize; MAX_BATCH_AXES], matrix: usize) -> [usize; MAX_BATCH_AXES] {
    let mut strides = [0; MAX_BATCH_AXES];
    let mut stride = matrix;
    for t in (0..MAX_BATCH_AXES).rev() {
        strides[t] = if dims[t] == 1 { 0 } else { stride };
        stride *= dims[t];
    }
    strides
}

/// `out[b] = alpha · A[b] · B[b] + beta · C`, for every batch `b`, with `A [m, k]`, `B [k, n]` read through their
/// [`Operand`]s and an optional `C` broadcast over `[m, n]` by `(row_stride, col_stride)`. The output is contiguous
/// `[batch…, m, n]`.
#[derive(Clone, Debug, PartialEq)]
pub struct StridedMatmul {
    /// Rows of the output.
    pub m: usize,
    /// Columns of the output.
    pub n: usize,
    /// The summed dimension.
    pub k: usize,
    /// The output's batch axes (leading 1s fill unused ones).
    pub batch_dims: [usize; MAX_BATCH_AXES],
    /// How `A` is read.
    pub a: Operand,
    /// How `B` is read.
    pub b: Operand,
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of `C`.
    pub beta: f32,
    /// Strides of `C` over `[m, n]`, when there is a `C`.
    pub c: Option<(usize, usize)>,
    /// Sum the products of all batches into one `[m, n]` result (`Σ_b A[b]·B[b]`, as a weight gradient sums over
    /// the images of a batch) instead of keeping one per batch.
    pub sum_batches: bool,
}

impl StridedMatmul {
    /// How many matrices.
    pub fn batches(&self) -> usize {
        self.batch_dims.iter().product()
    }

    /// How many `[m, n]` matrices the result holds: one per batch, or one in all when the batches are summed.
    pub fn out_batches(&self) -> usize {
        if self.sum_batches { 1 } else { self.batches() }
    }

    /// Where batch `batch` of an operand with these batch strides starts.
    pub fn offset(&self, batch: usize, strides: &[usize; MAX_BATCH_AXES]) -> usize {
        let (mut rest, mut offset) = (batch, 0);
        for t in (0..MAX_BATCH_AXES).rev() {
            offset += rest % self.batch_dims[t] * strides[t];
            rest /= self.batch_dims[t];
        }
        offset
    }
}
