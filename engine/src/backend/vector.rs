//! Wider vector instructions for the CPU backend's loops, chosen at run time. Native x86-64 builds target the
//! baseline every x86-64 CPU has (SSE2: 4 floats per instruction, no per-lane shifts); almost every CPU of the
//! last decade also has AVX2 (8 floats, per-lane shifts and 32-bit multiplies). [`wide`] runs a loop compiled
//! for AVX2 when the CPU has it. The arithmetic is the same IEEE operations in the same order (no fused
//! multiply-adds), so the results are identical bit for bit; only the speed differs.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{CounterUniform, Rng};

    /// Loops of the kinds the backend runs (square roots and divisions, integer hashes with per-lane shifts,
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
}
