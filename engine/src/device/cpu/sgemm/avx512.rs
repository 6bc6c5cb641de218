//! The micro-kernel for x86-64 processors with AVX-512: an 8 x 32 tile of C in 16 sixteen-lane registers (two
//! per row). Each step loads 32 values of B (two aligned registers), broadcasts 8 values of A straight from
//! memory and issues 16 fused multiply-adds: 10 loads feed 16 multiply-adds, so the two FMA units of a core, not
//! its load ports, set the pace, and 16 independent sums hide the adds' four-cycle latency.
//!
//! On this project's 2-core Xeon VM (Sapphire Rapids) the whole product runs 1.1-1.25 times the speed of the
//! `matrixmultiply` crate's AVX-512 kernel (16 x 16 tiles, 17 loads for 16 multiply-adds) on the benchmark's and
//! the models' shapes, when the machine is in its slower mode, and level with it in the faster one. Tiles 8 rows
//! tall fit the models' channel counts (16, 32, 64) exactly; 12 x 32 tiles were as fast on large products and
//! left a quarter of a 16-channel product's tiles empty.

use super::packed::{MicroKernel, pack_across_plain};
use std::arch::x86_64::*;

/// The AVX-512 kernel.
pub struct Avx512;

impl Avx512 {
    /// Whether this processor can run the kernel (checked once, then cached by the standard library).
    pub fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
    }
}

impl MicroKernel for Avx512 {
    const MR: usize = 8;
    const NR: usize = 32;
    /// A 256-step B panel (32 KiB) stays in a core's 48 KiB L1 while the A panels (8 KiB) stream past it.
    const KC: usize = 256;
    /// An A block of 96 x 256 (96 KiB) stays in L2.
    const MC: usize = 96;
    const NC: usize = 2048;

    unsafe fn tile(kc: usize, a: &[f32], b: &[f32], alpha: f32, beta: f32, c: *mut f32, ldc: usize, rows: usize, cols: usize) {
        assert!(a.len() >= kc * Self::MR && b.len() >= kc * Self::NR && rows <= Self::MR && cols <= Self::NR);
        assert!((b.as_ptr() as usize).is_multiple_of(64), "B's panels must be aligned to a cache line");
        // SAFETY: the caller guarantees AVX-512 and the writable tile; the panels were checked above.
        unsafe { tile(kc, a.as_ptr(), b.as_ptr(), alpha, beta, c, ldc, rows, cols) }
    }

    /// One gather per 16 lines and step (the plain transpose costs several cycles a value; a gather about half a
    /// cycle), when the lines' offsets fit a gather's 32-bit indices.
    unsafe fn pack_across(data: &[f32], first: usize, line_stride: usize, step: usize, live: usize, kc: usize, width: usize, panel: &mut [f32]) {
        let fits = line_stride <= i32::MAX as usize / (4 * 15);
        if kc == 0 || live == 0 || !fits {
            return pack_across_plain(data, first, line_stride, step, live, kc, width, panel);
        }
        let last = first + (kc - 1) * step + (live - 1) * line_stride;
        assert!(last < data.len() && live <= width && panel.len() >= kc * width, "the panel's reads and writes must stay inside");
        // Eight whole lines whose steps are neighbours (A's rows, 8 to a panel): 8 steps of all 8 at a time by
        // loads and an in-register transpose, a third of the gathers' cost; the steps left over by gathers.
        let transposed = if width == 8 && live == 8 && step == 1 { kc / 8 * 8 } else { 0 };
        // SAFETY: the caller guarantees AVX-512; every read is at most `last` (checked) and every write inside the
        // panel (checked).
        unsafe {
            let (src, out) = (data.as_ptr().add(first), panel.as_mut_ptr());
            for kk in (0..transposed).step_by(8) {
                transpose_8x8(src.add(kk), line_stride, out.add(kk * 8));
            }
            if transposed < kc {
                gather_panel(src.add(transposed), line_stride, step, live, kc - transposed, width, out.add(transposed * width));
            }
        }
    }
}

/// `out[kk·8 + i] = src[i·line_stride + kk]` for `i, kk < 8`: eight rows of eight loaded, transposed in registers
/// (pairs interleaved, then quadruples, then halves swapped), and stored as eight steps of eight.
///
/// # Safety
/// The processor has AVX-512F (so AVX), the 8 x 8 block at `src` may be read and the 64 values at `out` written.
#[target_feature(enable = "avx512f")]
unsafe fn transpose_8x8(src: *const f32, line_stride: usize, out: *mut f32) {
    // SAFETY: the caller's guarantees.
    unsafe {
        let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(src.add(i * line_stride)));
        // t[2j], t[2j+1]: rows 2j and 2j+1 interleaved (low and high pairs of each 128-bit half).
        let t: [__m256; 8] = std::array::from_fn(|j| {
            let (x, y) = (r[j / 2 * 2], r[j / 2 * 2 + 1]);
            if j % 2 == 0 { _mm256_unpacklo_ps(x, y) } else { _mm256_unpackhi_ps(x, y) }
        });
        // Within each half: steps 4h+0..4h+3 of rows 0-3 (from t[0..4]) and of rows 4-7 (from t[4..8]).
        let q = |lo: __m256, hi: __m256, upper: bool| if upper { _mm256_shuffle_ps::<0xEE>(lo, hi) } else { _mm256_shuffle_ps::<0x44>(lo, hi) };
        let u = [q(t[0], t[2], false), q(t[0], t[2], true), q(t[1], t[3], false), q(t[1], t[3], true)];
        let v = [q(t[4], t[6], false), q(t[4], t[6], true), q(t[5], t[7], false), q(t[5], t[7], true)];
        for kk in 0..4 {
            _mm256_storeu_ps(out.add(kk * 8), _mm256_permute2f128_ps::<0x20>(u[kk], v[kk]));
            _mm256_storeu_ps(out.add((kk + 4) * 8), _mm256_permute2f128_ps::<0x31>(u[kk], v[kk]));
        }
    }
}

/// `panel[kk·width + i] = src[kk·step + i·line_stride]` for `kk < kc`, `i < live`, 16 lines per gather.
///
/// # Safety
/// The processor has AVX-512F, every such read lies inside the source, the panel holds `kc·width` values, and
/// `15·line_stride·4` fits an `i32`.
#[target_feature(enable = "avx512f")]
unsafe fn gather_panel(src: *const f32, line_stride: usize, step: usize, live: usize, kc: usize, width: usize, panel: *mut f32) {
    let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let offsets = _mm512_mullo_epi32(lane, _mm512_set1_epi32(line_stride as i32));
    for group in (0..live).step_by(16) {
        let mask = ((1u32 << (live - group).min(16)) - 1) as __mmask16;
        for kk in 0..kc {
            // SAFETY: the caller's guarantees; masked-off lanes are neither read nor written.
            unsafe {
                let base = src.add(kk * step + group * line_stride);
                let values = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), mask, offsets, base);
                _mm512_mask_storeu_ps(panel.add(kk * width + group), mask, values);
            }
        }
    }
}

/// [`MicroKernel::tile`] for [`Avx512`].
///
/// # Safety
/// The processor has AVX-512F, `a` holds `kc·8` values, `b` `kc·32` starting on a 64-byte boundary, and the
/// `rows x cols` block at `c` (row stride `ldc`) may be read and written.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
unsafe fn tile(kc: usize, mut a: *const f32, mut b: *const f32, alpha: f32, beta: f32, c: *mut f32, ldc: usize, rows: usize, cols: usize) {
    const MR: usize = Avx512::MR;
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    // Ask for the tile of C now, so that its lines arrive while the sums are built rather than stall the stores.
    for r in 0..rows {
        let row = c.wrapping_add(r * ldc) as *const i8;
        _mm_prefetch::<_MM_HINT_T0>(row);
        _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(64));
    }
    for _ in 0..kc {
        // SAFETY: each step reads MR values of A and NR of B, inside the panels (the caller's guarantee).
        unsafe {
            let (b0, b1) = (_mm512_load_ps(b), _mm512_load_ps(b.add(16)));
            for (i, row) in acc.iter_mut().enumerate() {
                let a_i = _mm512_set1_ps(*a.add(i));
                row[0] = _mm512_fmadd_ps(a_i, b0, row[0]);
                row[1] = _mm512_fmadd_ps(a_i, b1, row[1]);
            }
            a = a.add(MR);
            b = b.add(Avx512::NR);
        }
    }
    // C = alpha·AB + beta·C, through masks: a ragged tile reads and writes only its existing columns (masked-off
    // lanes are never touched, so they cannot fault), and beta = 0 never reads C.
    let (alpha, beta_v) = (_mm512_set1_ps(alpha), _mm512_set1_ps(beta));
    let masks = [0, 16].map(|first| {
        let live = cols.saturating_sub(first).min(16);
        ((1u32 << live) - 1) as __mmask16
    });
    for (r, row) in acc.iter().enumerate().take(rows) {
        for (half, (&sum, &mask)) in row.iter().zip(&masks).enumerate() {
            if mask == 0 {
                continue;
            }
            // SAFETY: the mask keeps the access inside row r's existing columns (and a half with none is skipped).
            unsafe {
                let dst = c.add(r * ldc + 16 * half);
                let mut v = _mm512_mul_ps(alpha, sum);
                if beta != 0.0 {
                    v = _mm512_fmadd_ps(beta_v, _mm512_maskz_loadu_ps(mask, dst), v);
                }
                _mm512_mask_storeu_ps(dst, mask, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_equal_the_definition_across_every_edge() {
        if !Avx512::available() {
            eprintln!("this processor has no AVX-512: the kernel cannot run here");
            return;
        }
        // Tiles 8 x 32, blocks KC 256, MC 96, NC 2048: sizes below, at and past each; B transposed takes the
        // gathers over both of a panel's 16-lane halves.
        let sizes = [(1, 1, 1), (8, 256, 32), (9, 257, 33), (100, 300, 70), (5, 3, 40), (2, 5, 2100), (6, 0, 4)];
        // SAFETY: the processor has AVX-512 (checked above).
        unsafe { super::super::packed::tests::check_against_definition::<Avx512>(&sizes) };
    }
}
