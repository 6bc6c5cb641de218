//! The engine's own seeded pseudo-random numbers, so that a seed gives the same numbers on every device and
//! every machine (weights, data shuffles, dropout masks).

/// SplitMix64: a tiny, fast generator with good statistical quality for initialisation and sampling.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose whole sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)` with 24 random bits (every f32 step in that range is equally likely).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A uniform integer in `[0, n)`; `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize
    }

    /// A standard-normal number (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = 1.0 - (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64; // in (0, 1]: ln is finite
        let u2 = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }
}

/// A 32-bit integer hash (the PCG output permutation; Jarzynski and Olano, "Hash Functions for GPU Rendering",
/// JCGT 2020). `shaders/dropout.wgsl` computes exactly the same function in u32 arithmetic.
pub fn pcg_hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// A uniform number in `[0, 1)` that depends only on `seed` and `index`: the engine's counter-based random numbers,
/// so that every element of a dropout mask can be drawn independently, in any order, on any device, and agree.
pub fn uniform_at(seed: u32, index: u32) -> f32 {
    CounterUniform::new(seed).at(index)
}

/// [`uniform_at`] for one seed, its hash computed once.
#[derive(Clone, Copy, Debug)]
pub struct CounterUniform {
    key: u32,
}

impl CounterUniform {
    /// The generator of `seed`.
    pub fn new(seed: u32) -> Self {
        CounterUniform { key: pcg_hash(seed) }
    }

    /// The uniform number at `index`: 24 random bits over 2^24.
    pub fn at(self, index: u32) -> f32 {
        self.bits(index) as f32 / (1u32 << 24) as f32
    }

    /// The 24 random bits behind [`CounterUniform::at`].
    fn bits(self, index: u32) -> u32 {
        pcg_hash(index ^ self.key) >> 8
    }

    /// Whether the number at `index` is at least `p` (0 ≤ p ≤ 1), without leaving integers: see [`AtLeast`].
    pub fn at_least(self, index: u32, p: f32) -> bool {
        self.at_least_p(p).at(index)
    }

    /// The test "the number at `index` is at least `p`" for one `p`, ready to run on many indices.
    pub fn at_least_p(self, p: f32) -> AtLeast {
        AtLeast { uniform: self, threshold: (p * (1u32 << 24) as f32).ceil() as u32 }
    }
}

/// Whether a [`CounterUniform`] number is at least `p`, in integers: `bits / 2^24 ≥ p` exactly when
/// `bits ≥ ⌈p·2^24⌉`, as `bits` is a whole number and scaling by 2^24 is exact. The threshold is computed once,
/// so a dropout mask costs one hash and one comparison per element.
#[derive(Clone, Copy, Debug)]
pub struct AtLeast {
    uniform: CounterUniform,
    threshold: u32,
}

impl AtLeast {
    /// Whether the number at `index` is at least `p`.
    pub fn at(self, index: u32) -> bool {
        self.uniform.bits(index) >= self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_integer_comparison_agrees_with_the_uniform_number() {
        let uniform = CounterUniform::new(9);
        for p in [0.0, 0.001, 0.04, 0.25, 0.5, 0.999_999, 1.0] {
            for i in 0..20_000 {
                assert_eq!(uniform.at_least(i, p), uniform.at(i) >= p, "p {p}, index {i}");
            }
        }
        // At the boundary itself: a number equal to p is "at least p".
        let exact = uniform.at(3);
        assert!(uniform.at_least(3, exact) && !uniform.at_least(3, exact + f32::EPSILON));
    }

    #[test]
    fn same_seed_same_numbers() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(7).next_u64(), Rng::new(8).next_u64());
    }

    #[test]
    fn normal_has_zero_mean_and_unit_variance() {
        let mut rng = Rng::new(1);
        let n = 20_000;
        let xs: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f32>() / n as f32;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n as f32;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
    }

    #[test]
    fn counter_based_uniforms_are_uniform_and_differ_by_seed() {
        let n = 100_000u32;
        let mean = (0..n).map(|i| uniform_at(1, i) as f64).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        let below_tenth = (0..n).filter(|&i| uniform_at(1, i) < 0.1).count() as f64 / n as f64;
        assert!((below_tenth - 0.1).abs() < 0.005, "{below_tenth}");
        assert_ne!((0..8).map(|i| uniform_at(1, i)).collect::<Vec<_>>(), (0..8).map(|i| uniform_at(2, i)).collect::<Vec<_>>());
        // Reference values: a change to the hash would silently change every dropout mask.
        assert_eq!(pcg_hash(0), 129_708_002);
        assert_eq!(pcg_hash(1), 2_831_084_092);
    }

    #[test]
    fn uniform_and_below_stay_in_range() {
        let mut rng = Rng::new(3);
        for _ in 0..1000 {
            let u = rng.uniform();
            assert!((0.0..1.0).contains(&u));
            assert!(rng.below(5) < 5);
        }
    }
}
