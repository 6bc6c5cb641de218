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

use super::view::View;

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

    /// Packs one panel across lines that are `line_stride` apart (a transpose: the lines' values at one step are
    /// not neighbours): `panel[kk·width + i] = data[first + kk·step + i·line_stride]` for `kk < kc`, `i < live`.
    /// Plain loops, which write the panel in order; a kernel may use its processor's gathers instead.
    ///
    /// # Safety
    /// The processor supports the kernel.
    #[allow(clippy::too_many_arguments)]
    unsafe fn pack_across(data: &[f32], first: usize, line_stride: usize, step: usize, live: usize, kc: usize, width: usize, panel: &mut [f32]) {
        pack_across_plain(data, first, line_stride, step, live, kc, width, panel);
    }
}

/// Packs one panel of `W` neighbouring lines (as wide as the panel): `panel[kk·W + i] = data[first + kk·step + i]`.
fn pack_along<const W: usize>(data: &[f32], first: usize, step: usize, panel: &mut [f32]) {
    for (kk, values) in panel.chunks_exact_mut(W).enumerate() {
        let values: &mut [f32; W] = values.try_into().expect("chunks of W values");
        *values = data[first + kk * step..][..W].try_into().expect("W values");
    }
}

/// [`MicroKernel::pack_across`] in plain loops, for any processor.
#[allow(clippy::too_many_arguments)]
pub fn pack_across_plain(data: &[f32], first: usize, line_stride: usize, step: usize, live: usize, kc: usize, width: usize, panel: &mut [f32]) {
    for (kk, values) in panel.chunks_exact_mut(width).take(kc).enumerate() {
        let column = first + kk * step;
        for (i, v) in values[..live].iter_mut().enumerate() {
            *v = data[column + i * line_stride];
        }
    }
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
    let (mut b_store, mut a_store) = PANELS.take();
    let b_pack = aligned(&mut b_store, K::KC.min(k) * K::NC.min(n.div_ceil(K::NR) * K::NR));
    let a_pack = aligned(&mut a_store, K::KC.min(k) * K::MC.min(m.div_ceil(K::MR) * K::MR));
    for jc in (0..n).step_by(K::NC) {
        let nc = K::NC.min(n - jc);
        for pc in (0..k).step_by(K::KC) {
            let kc = K::KC.min(k - pc);
            // SAFETY: the caller's guarantee that the processor supports K.
            unsafe { pack::<K>(b.t(), jc, pc, nc, kc, K::NR, b_pack) };
            // The first slice of k applies beta; the others add to what it left.
            let beta = if pc == 0 { beta } else { 1.0 };
            for ic in (0..m).step_by(K::MC) {
                let mc = K::MC.min(m - ic);
                // SAFETY: as above.
                unsafe { pack::<K>(a, ic, pc, mc, kc, K::MR, a_pack) };
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
    PANELS.set((b_store, a_store));
}

thread_local! {
    /// Each thread's packing buffers (B's, A's), kept from one product to the next: allocating and zeroing up to
    /// a megabyte for every product cost more than some of the products.
    static PANELS: std::cell::Cell<(Vec<f32>, Vec<f32>)> = const { std::cell::Cell::new((Vec::new(), Vec::new())) };
}

/// `len` values of `store` (grown if it is too short) starting on a 64-byte boundary: panels whose widths are
/// multiples of 16 values then all start on a cache line, so a kernel's 64-byte loads never straddle two (which
/// halves their throughput). The values are whatever the last product left: packing overwrites every one the
/// kernel reads.
fn aligned(store: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if store.len() < len + 15 {
        *store = vec![0.0; len + 15];
    }
    let skip = store.as_ptr().align_offset(64);
    &mut store[skip..][..len]
}

/// Packs the `lines x kc` block of `m` at `(r0, c0)` as panels of `width` lines, each stored step-major:
/// `pack[p·kc·width + kk·width + i] = m(r0 + p·width + i, c0 + kk)`. Lines past the edge are zeros, so the kernel
/// always runs full panels. (A is packed as it is, B through its transpose: panels of B's columns.)
///
/// # Safety
/// The processor supports `K`.
unsafe fn pack<K: MicroKernel>(m: View, r0: usize, c0: usize, lines: usize, kc: usize, width: usize, pack: &mut [f32]) {
    let origin = m.offset + r0 * m.row_stride + c0 * m.col_stride;
    for p in 0..lines.div_ceil(width) {
        let panel = &mut pack[p * kc * width..][..kc * width];
        let live = width.min(lines - p * width);
        if live < width {
            panel.fill(0.0);
        }
        let first = origin + p * width * m.row_stride;
        // Neighbouring lines (stride 1) are copied a step at a time; lines apart go through `pack_across`.
        if m.row_stride == 1 {
            // Full panels of the kernels' widths (8 in the browser, 32 with AVX-512) copy each step as a
            // fixed-size array: a few vector moves, not a call to memmove per step.
            match if live == width { width } else { 0 } {
                8 => pack_along::<8>(m.data, first, m.col_stride, panel),
                32 => pack_along::<32>(m.data, first, m.col_stride, panel),
                _ => {
                    for (kk, step) in panel.chunks_exact_mut(width).enumerate() {
                        step[..live].copy_from_slice(&m.data[first + kk * m.col_stride..][..live]);
                    }
                }
            }
        } else {
            // SAFETY: the caller's guarantee that the processor supports K.
            unsafe { K::pack_across(m.data, first, m.row_stride, m.col_stride, live, kc, width, panel) };
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
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
        // Sizes below, at and past each tile and block (MR 3, NR 5, KC 7, MC 6, NC 10).
        // SAFETY: the portable kernel runs anywhere.
        unsafe { check_against_definition::<Portable>(&[(1, 1, 1), (3, 7, 5), (4, 8, 6), (7, 15, 11), (13, 22, 21), (6, 0, 4)]) };
    }

    /// `sgemm::<K>` against the definition for every size given, with each operand as it is and transposed, several
    /// `alpha` and `beta`, and a C wider than the block it receives (its extra columns must be left alone). With
    /// `beta = 0`, C starts as NaN: a kernel that read it would show.
    ///
    /// # Safety
    /// The processor supports `K`.
    pub(in crate::device::cpu::sgemm) unsafe fn check_against_definition<K: MicroKernel>(sizes: &[(usize, usize, usize)]) {
        let mut rng = crate::rng::Rng::new(1);
        let mut next = || rng.uniform() - 0.5;
        for &(m, k, n) in sizes {
            for (transpose_a, transpose_b, alpha, beta) in [(false, false, 1.0, 0.0), (true, false, 0.5, 1.0), (false, true, -2.0, 0.25), (true, true, 1.0, 0.0)] {
                let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
                let b: Vec<f32> = (0..k * n).map(|_| next()).collect();
                let ldc = n + 2;
                let c0: Vec<f32> = (0..m * ldc).map(|_| if beta == 0.0 { f32::NAN } else { next() }).collect();
                let a_view = if transpose_a { View::rows(&a, 0, m).t() } else { View::rows(&a, 0, k) };
                let b_view = if transpose_b { View::rows(&b, 0, k).t() } else { View::rows(&b, 0, n) };
                let mut c = c0.clone();
                // SAFETY: the caller's guarantee, and the views hold m x k and k x n values.
                unsafe { sgemm::<K>(m, k, n, alpha, a_view, b_view, beta, &mut c, ldc) };
                for i in 0..m {
                    for j in 0..ldc {
                        let got = c[i * ldc + j];
                        if j >= n {
                            assert_eq!(got.to_bits(), c0[i * ldc + j].to_bits(), "column {j} lies outside the product and is left alone");
                            continue;
                        }
                        let sum: f32 = (0..k).map(|kk| a_view.get(i, kk) * b_view.get(kk, j)).sum();
                        let want = if beta == 0.0 { alpha * sum } else { alpha * sum + beta * c0[i * ldc + j] };
                        let tolerance = 1e-6 * (k as f32).sqrt() * (1.0 + want.abs()) + 1e-6;
                        assert!((got - want).abs() <= tolerance, "{m}x{k}x{n} ({i}, {j}), A^T {transpose_a}, B^T {transpose_b}: {got} != {want}");
                    }
                }
            }
        }
    }
}
