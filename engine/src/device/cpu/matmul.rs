//! Every strided matrix product of the engine on the CPU: one [`sgemm`] per batch.

use super::sgemm::{View, sgemm};
use crate::device::strided::{Operand, StridedMatmul};

/// `p`'s product of `a` and `b` (and `c`): `C` is laid down first, then each batch's product added (summed into one matrix
/// when the batches are summed).
pub fn strided(p: &StridedMatmul, a: &[f32], b: &[f32], c: Option<&[f32]>) -> Vec<f32> {
    let (m, n) = (p.m, p.n);
    let (mut out, mut beta) = match (p.c, c) {
        (Some((rs, cs)), Some(c)) => {
            // Laid down row by row into an empty vector (not zeroed first: a layer's output can be megabytes).
            let mut out = Vec::with_capacity(p.out_batches() * m * n);
            for i in 0..p.out_batches() * m {
                out.extend((0..n).map(|j| p.beta * c[(i % m) * rs + j * cs]));
            }
            (out, 1.0)
        }
        _ => (vec![0.0; p.out_batches() * m * n], 0.0),
    };
    for batch in 0..p.batches() {
        let view = |data, op: &Operand| View { data, offset: p.offset(batch, &op.batch_strides), row_stride: op.row_stride, col_stride: op.col_stride };
        let at = if p.sum_batches { 0 } else { batch * m * n };
        sgemm(m, p.k, n, p.alpha, view(a, &p.a), view(b, &p.b), beta, &mut out, at, n);
        if p.sum_batches {
            beta = 1.0;
        }
    }
    out
}
