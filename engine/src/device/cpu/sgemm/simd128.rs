//! The micro-kernel for WebAssembly SIMD: a 4 x 8 tile of C in 8 four-lane registers (two per row). Each step
//! loads 8 values of B, splats 4 values of A and issues 8 multiply-adds. Eight independent sums hide the adds'
//! latency, and the 11 registers in use leave room in the 16 that browsers' x86-64 code generators allocate: in
//! Chromium 156 this tile ran about 1.3 times faster than `matrixmultiply`'s portable kernel, and taller tiles
//! (6 x 8, 4 x 12) no faster.
//!
//! Baseline WebAssembly SIMD has no fused multiply-add, so each multiply-add is two instructions. With the
//! `relaxed-simd` feature the tile is built with relaxed SIMD's `f32x4.relaxed_madd` instead, one instruction where
//! the processor has FMA. A module that holds a relaxed instruction does not load at all in a browser without
//! relaxed SIMD (Safari), so the site is built twice and its loader picks the build the browser validates
//! (xtask's `dist`). WebAssembly has no per-function features, so LLVM lets every function of the relaxed build
//! use relaxed SIMD: where Rust's `f32::min`/`max` vectorise it picks `f32x4.relaxed_min`/`max`, whose results
//! differ from the baseline's only for NaN and signed-zero inputs.

use super::packed::MicroKernel;
use core::arch::wasm32::*;

/// The WebAssembly SIMD kernel.
pub struct Simd128;

impl MicroKernel for Simd128 {
    const MR: usize = 4;
    const NR: usize = 8;
    const KC: usize = 256;
    const MC: usize = 64;
    const NC: usize = 512;

    unsafe fn tile(kc: usize, a: &[f32], b: &[f32], alpha: f32, beta: f32, c: *mut f32, ldc: usize, rows: usize, cols: usize) {
        // SAFETY: the caller's guarantees; in the relaxed build the loader ran it only where the browser validated
        // relaxed SIMD.
        unsafe { tile(kc, a, b, alpha, beta, c, ldc, rows, cols) }
    }
}

/// [`MicroKernel::tile`] for [`Simd128`].
///
/// # Safety
/// As [`MicroKernel::tile`]'s; in the relaxed build, the browser has relaxed SIMD.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(feature = "relaxed-simd", target_feature(enable = "relaxed-simd"))]
unsafe fn tile(kc: usize, a: &[f32], b: &[f32], alpha: f32, beta: f32, c: *mut f32, ldc: usize, rows: usize, cols: usize) {
    const MR: usize = Simd128::MR;
    const NR: usize = Simd128::NR;
    assert!(a.len() >= kc * MR && b.len() >= kc * NR);
    const NV: usize = NR / 4;
    let mut acc = [[f32x4_splat(0.0); NV]; MR];
    for (a, b) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(kc) {
        // SAFETY: each step holds MR values of A and NR of B (chunks_exact); unaligned loads are allowed.
        let bv: [v128; NV] = std::array::from_fn(|v| unsafe { v128_load(b.as_ptr().add(4 * v) as *const v128) });
        for (row, a_r) in acc.iter_mut().zip(a) {
            // SAFETY: a_r is a value of the panel. (A splat straight from memory is one instruction.)
            let a_r = unsafe { v128_load32_splat(a_r as *const f32 as *const u32) };
            for (sum, &b) in row.iter_mut().zip(&bv) {
                *sum = multiply_add(a_r, b, *sum);
            }
        }
    }
    let (alpha_v, beta_v) = (f32x4_splat(alpha), f32x4_splat(beta));
    if rows == MR && cols == NR {
        for (r, row) in acc.iter().enumerate() {
            for (half, &sum) in row.iter().enumerate() {
                // SAFETY: a full tile: row r's NR columns exist.
                unsafe {
                    let dst = c.add(r * ldc + 4 * half) as *mut v128;
                    let mut v = f32x4_mul(alpha_v, sum);
                    if beta != 0.0 {
                        v = f32x4_add(v, f32x4_mul(beta_v, v128_load(dst)));
                    }
                    v128_store(dst, v);
                }
            }
        }
        return;
    }
    // A ragged edge: through a scratch tile, then only the existing part.
    let mut scratch = [0.0f32; MR * NR];
    for (r, row) in acc.iter().enumerate() {
        for (half, &sum) in row.iter().enumerate() {
            // SAFETY: the scratch tile holds MR rows of NR values.
            unsafe { v128_store(scratch.as_mut_ptr().add(r * NR + 4 * half) as *mut v128, sum) };
        }
    }
    for r in 0..rows {
        for j in 0..cols {
            // SAFETY: (r, j) is inside the tile's existing part.
            let dst = unsafe { &mut *c.add(r * ldc + j) };
            let v = alpha * scratch[r * NR + j];
            *dst = if beta == 0.0 { v } else { v + beta * *dst };
        }
    }
}

/// `a·b + c`, lane by lane: relaxed SIMD's fused multiply-add (the browser rounds once where the processor has FMA,
/// twice where it does not).
#[cfg(feature = "relaxed-simd")]
#[target_feature(enable = "relaxed-simd")]
fn multiply_add(a: v128, b: v128, c: v128) -> v128 {
    f32x4_relaxed_madd(a, b, c)
}

/// `a·b + c`, lane by lane: a multiply and an add.
#[cfg(not(feature = "relaxed-simd"))]
#[inline(always)]
fn multiply_add(a: v128, b: v128, c: v128) -> v128 {
    f32x4_add(c, f32x4_mul(a, b))
}
