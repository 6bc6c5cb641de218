//! A packed matrix product in the loop order of BLIS (Van Zee and van de Geijn, "BLIS: A Framework for Rapidly
//! Instantiating BLAS Functionality", 2015), around a small register-blocked micro-kernel per processor:
//!
//! ```text
//! for each block of NC columns of B and C:
//!   for each slice of KC rows of that block:  pack it as panels of NR columns          (stays in L2/L3)
//!     for each block of MC rows of A:         pack A[rows, slice] as panels of MR rows  (stays in L2)
//!       for each NR panel of B, each MR panel of A:
//!         the micro-kernel: the MR x NR tile of C += A panel · B panel, KC rank-1 updates held in registers
//! ```
//!
//! Packing puts the values each step of the micro-kernel reads next to each other and zero-pads ragged edges, so
//! the kernel never checks a bound or a stride.

use super::View;

/// A register-blocked kernel: `C[rows x cols] = alpha·(A panel · B panel) + beta·C` for one `MR x NR` tile.
pub trait MicroKernel {
    /// Rows of A per tile.
    const MR: usize;
    /// Columns of B per tile.
    const NR: usize;
    /// Rows of B (columns of A) packed at a time.
    const KC: usize;
    /// Rows of A packed at a time (a multiple of `MR`).
    const MC: usize;
    /// Columns of B packed at a time (a multiple of `NR`).
    const NC: usize;

    /// The tile of C at `c` (row stride `ldc`, of which the first `rows x cols` exist) becomes
    /// `alpha·Σ_kk a[kk·MR + i]·b[kk·NR + j] + beta·C` (beta = 0: C is not read).
    ///
    /// # Safety
    /// The processor supports the kernel, `a` and `b` hold `kc·MR` and `kc·NR` values, and the `rows x cols` block
    /// at `c` may be written.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(kc: usize, a: &[f32], b: &[f32], alpha: f32, beta: f32, c: *mut f32, ldc: usize, rows: usize, cols: usize);
}

/// `C = alpha·A·B + beta·C` for `C` the `m x n` row-major block at `c[0..]` with row stride `ldc`.
///
/// # Safety
/// The processor supports `K`, and `a`, `b` hold `m x k` and `k x n` matrices (checked by the caller).
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm<K: MicroKernel>(m: usize, k: usize, n: usize, alpha: f32, a: View, b: View, beta: f32, c: &mut [f32], ldc: usize) {
    if m == 0 || n == 0 {
        return;
    }
    assert!((m - 1) * ldc + n <= c.len(), "the result must fit its slice");
    if k == 0 {
        // No products to add: C = beta·C (and beta = 0 clears C, whatever it held).
        for row in c.chunks_mut(ldc).take(m) {
            row[..n].iter_mut().for_each(|v| *v = if beta == 0.0 { 0.0 } else { beta * *v });
        }
        return;
    }
    let ptr = c.as_mut_ptr();
    let mut b_pack = vec![0.0f32; K::KC.min(k) * K::NC.min(n.div_ceil(K::NR) * K::NR)];
    let mut a_pack = vec![0.0f32; K::KC.min(k) * K::MC.min(m.div_ceil(K::MR) * K::MR)];
    for jc in (0..n).step_by(K::NC) {
        let nc = K::NC.min(n - jc);
        for pc in (0..k).step_by(K::KC) {
            let kc = K::KC.min(k - pc);
            pack(b.t(), jc, pc, nc, kc, K::NR, &mut b_pack);
            // The first slice of k applies beta; the others add to what it left.
            let beta = if pc == 0 { beta } else { 1.0 };
            for ic in (0..m).step_by(K::MC) {
                let mc = K::MC.min(m - ic);
                pack(a, ic, pc, mc, kc, K::MR, &mut a_pack);
                for jr in (0..nc).step_by(K::NR) {
                    for ir in (0..mc).step_by(K::MR) {
                        let (a_panel, b_panel) = (&a_pack[ir * kc..][..K::MR * kc], &b_pack[jr * kc..][..K::NR * kc]);
                        // SAFETY: the tile starts inside C (checked above) and `tile` writes only its existing part.
                        unsafe {
                            let tile = ptr.add((ic + ir) * ldc + jc + jr);
                            K::tile(kc, a_panel, b_panel, alpha, beta, tile, ldc, K::MR.min(mc - ir), K::NR.min(nc - jr));
                        }
                    }
                }
            }
        }
    }
}

/// Packs the `lines x kc` block of `m` at `(r0, c0)` as panels of `width` lines, each stored step-major:
/// `pack[p·kc·width + kk·width + i] = m(r0 + p·width + i, c0 + kk)`. Lines past the edge are zeros, so the kernel
/// always runs full panels. (A is packed as it is, B through its transpose: panels of B's columns.)
fn pack(m: View, r0: usize, c0: usize, lines: usize, kc: usize, width: usize, pack: &mut [f32]) {
    let origin = m.offset + r0 * m.row_stride + c0 * m.col_stride;
    for p in 0..lines.div_ceil(width) {
        let panel = &mut pack[p * kc * width..][..kc * width];
        let live = width.min(lines - p * width);
        if live < width {
            panel.fill(0.0);
        }
        let first = origin + p * width * m.row_stride;
        // Walk the source in memory order: `live` neighbouring lines a step at a time, or one line at a time.
        if m.row_stride == 1 {
            for (kk, step) in panel.chunks_exact_mut(width).enumerate() {
                step[..live].copy_from_slice(&m.data[first + kk * m.col_stride..][..live]);
            }
        } else {
            for i in 0..live {
                let line = first + i * m.row_stride;
                for (kk, step) in panel.chunks_exact_mut(width).enumerate() {
                    step[i] = m.data[line + kk * m.col_stride];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain-loop kernel with odd tile and block sizes, so that small matrices cross every edge and block.
    struct Portable;

    impl MicroKernel for Portable {
        const MR: usize = 3;
        const NR: usize = 5;
        const KC: usize = 7;
        const MC: usize = 6;
        const NC: usize = 10;

        unsafe fn tile(kc: usize, a: &[f32], b: &[f32], alpha: f32, beta: f32, c: *mut f32, ldc: usize, rows: usize, cols: usize) {
            for i in 0..rows {
                for j in 0..cols {
                    let sum: f32 = (0..kc).map(|kk| a[kk * Self::MR + i] * b[kk * Self::NR + j]).sum();
                    // SAFETY: (i, j) is in the tile's existing part.
                    let dst = unsafe { &mut *c.add(i * ldc + j) };
                    *dst = if beta == 0.0 { alpha * sum } else { alpha * sum + beta * *dst };
                }
            }
        }
    }

    #[test]
    fn blocked_products_equal_the_definition_across_every_edge() {
        let mut rng = crate::rng::Rng::new(1);
        let mut next = || rng.uniform() - 0.5;
        // Sizes below, at and past each tile and block (MR 3, NR 5, KC 7, MC 6, NC 10), transposed operands, and a
        // C wider than the block it receives.
        for (m, k, n) in [(1, 1, 1), (3, 7, 5), (4, 8, 6), (7, 15, 11), (13, 22, 21), (6, 0, 4)] {
            for (transpose_a, transpose_b, alpha, beta) in [(false, false, 1.0, 0.0), (true, false, 0.5, 1.0), (false, true, -2.0, 0.25), (true, true, 1.0, 1.0)] {
                let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
                let b: Vec<f32> = (0..k * n).map(|_| next()).collect();
                let ldc = n + 2;
                let c0: Vec<f32> = (0..m * ldc).map(|_| next()).collect();
                let a_view = if transpose_a { View { data: &a, offset: 0, row_stride: 1, col_stride: m } } else { View::rows(&a, 0, k) };
                let b_view = if transpose_b { View { data: &b, offset: 0, row_stride: 1, col_stride: k } } else { View::rows(&b, 0, n) };
                let at = |v: &View, i: usize, j: usize| v.data[v.offset + i * v.row_stride + j * v.col_stride];
                let mut c = c0.clone();
                // SAFETY: the portable kernel runs anywhere, and the views hold m x k and k x n values.
                unsafe { sgemm::<Portable>(m, k, n, alpha, a_view, b_view, beta, &mut c, ldc) };
                for i in 0..m {
                    for j in 0..ldc {
                        let got = c[i * ldc + j];
                        if j >= n {
                            assert_eq!(got, c0[i * ldc + j], "column {j} lies outside the product and is left alone");
                            continue;
                        }
                        let sum: f32 = (0..k).map(|kk| at(&a_view, i, kk) * at(&b_view, kk, j)).sum();
                        let want = alpha * sum + beta * c0[i * ldc + j];
                        assert!((got - want).abs() <= 1e-5 * (1.0 + want.abs()), "{m}x{k}x{n} ({i}, {j}): {got} != {want}");
                    }
                }
            }
        }
    }
}
