//! Wider vector instructions for the CPU device's loops, chosen at run time. Native x86-64 builds target the
//! baseline every x86-64 CPU has (SSE2: 4 floats per instruction, no per-lane shifts); almost every CPU of the
//! last decade also has AVX2 (8 floats, per-lane shifts and 32-bit multiplies). [`wide`] runs a loop compiled
//! for AVX2 when the CPU has it. The arithmetic is the same IEEE operations in the same order (no fused
//! multiply-adds), so the results are identical bit for bit; only the speed differs. [`gather_or_zero`] (im2col's
//! gather) uses AVX-512's masked gathers where the CPU has them.

/// Runs `work`, compiled for AVX2 where this CPU has it (`work` is inlined into a function built for AVX2, so its
/// loops vectorise for it); elsewhere (other CPUs, the browser) as it is.
#[inline]
pub fn wide<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the only requirement of `avx2`.
        return unsafe { avx2(work) };
    }
    work()
}

/// `work()` built for AVX2.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(work: impl FnOnce() -> R) -> R {
    work()
}

/// `out[i] = src[offsets[i]]`, or 0 where the offset lies past `src` (a convolution's zero padding is
/// `u32::MAX`): the gather behind im2col. With AVX-512, 16 values per masked gather instruction; elsewhere one at
/// a time, the bounds check doubling as the padding test.
pub fn gather_or_zero(src: &[f32], offsets: &[u32], out: &mut [f32]) {
    assert_eq!(offsets.len(), out.len(), "one offset per value");
    // The values the processor's gathers took; the rest (all of them elsewhere) one at a time.
    #[cfg(target_arch = "x86_64")]
    let done = if src.len() <= i32::MAX as usize && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F; `src` is short enough for the instruction's signed 32-bit offsets.
        unsafe { gather_avx512(src, offsets, out) }
    } else {
        0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for (d, &o) in out[done..].iter_mut().zip(&offsets[done..]) {
        *d = src.get(o as usize).copied().unwrap_or(0.0);
    }
}

/// [`gather_or_zero`] 16 values at a time, for every whole block of 16; returns how many values it wrote.
///
/// # Safety
/// The CPU must have AVX-512F, and `src.len() <= i32::MAX`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gather_avx512(src: &[f32], offsets: &[u32], out: &mut [f32]) -> usize {
    use std::arch::x86_64::*;
    let len = _mm512_set1_epi32(src.len() as i32);
    for (out, offsets) in out.chunks_exact_mut(16).zip(offsets.chunks_exact(16)) {
        // SAFETY: 16 offsets are read and 16 values written; only lanes whose offset is below src.len() (compared
        // unsigned, so u32::MAX is never below it) load, and those lie inside src.
        unsafe {
            let o = _mm512_loadu_si512(offsets.as_ptr().cast());
            let inside = _mm512_cmplt_epu32_mask(o, len);
            let v = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), inside, o, src.as_ptr());
            _mm512_storeu_ps(out.as_mut_ptr(), v);
        }
    }
    out.len() / 16 * 16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{CounterUniform, Rng};

    /// Loops of the kinds the CPU device runs (square roots and divisions, integer hashes with per-lane shifts,
    /// multiply-adds), long enough to take the vector path; always inlined, so `wide` really builds them for AVX2.
    #[inline(always)]
    fn loops(xs: &[f32]) -> (Vec<f32>, Vec<bool>) {
        let floats = xs.iter().map(|&x| (x * x + 1e-8).sqrt() / (x.abs() + 0.5) * 0.999 + x * 0.001).collect();
        let keeps = CounterUniform::new(3).at_least_p(0.3);
        let mask = (0..xs.len() as u32).map(|i| keeps.at(i)).collect();
        (floats, mask)
    }

    #[test]
    fn the_wide_build_gives_the_same_bits() {
        let mut rng = Rng::new(1);
        let xs: Vec<f32> = (0..10_001).map(|_| rng.normal() * 10.0).collect();
        let (plain, wide_result) = (loops(&xs), wide(|| loops(&xs)));
        assert_eq!(plain.1, wide_result.1);
        for (i, (a, b)) in plain.0.iter().zip(&wide_result.0).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "value {i}: {a} vs {b}");
        }
    }

    #[test]
    fn a_gather_reads_each_offset_and_zero_past_the_end() {
        let src: Vec<f32> = (0..40).map(|i| i as f32 + 0.5).collect();
        // Every kind of offset (inside, just past the end, the padding marker, above i32::MAX), in blocks of 16
        // and a ragged tail.
        let offsets: Vec<u32> = (0..53u32).map(|i| match i % 7 { 3 => u32::MAX, 5 => 40, 6 => 1 << 31, _ => (i * 11) % 40 }).collect();
        let mut out = vec![f32::NAN; offsets.len()];
        gather_or_zero(&src, &offsets, &mut out);
        for (i, (&o, &v)) in offsets.iter().zip(&out).enumerate() {
            let want = if o < 40 { o as f32 + 0.5 } else { 0.0 };
            assert_eq!(v, want, "value {i}, offset {o}");
        }
    }
}
