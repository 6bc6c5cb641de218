//! Batch norm's loops on every core: per-channel sums split by position (so every sum adds its terms in the same
//! order however many threads there are) and element-wise passes row by row, both against per-channel constants
//! spread over a sample's row so that each loop vectorises however few positions a channel has (the digits' last
//! convolution has 4). The op (`ops/batch_norm.rs`) composes them with its own formulas.

use super::parallel;

/// How a batch norm's input is laid out: `batch` samples of `channels` channels of `spatial` positions each
/// (`[N, C, H, W]` has `spatial = H·W`; `[N, C]` has 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `N`
    pub batch: usize,
    /// `C`
    pub channels: usize,
    /// Positions per channel and sample.
    pub spatial: usize,
}

impl Layout {
    /// One sample's values.
    fn row(self) -> usize {
        self.channels * self.spatial
    }

    /// A per-channel vector spread over one sample's row `[C·S]`: each channel's value repeated for its positions.
    fn spread(self, per_channel: &[f32]) -> Vec<f32> {
        per_channel.iter().flat_map(|&v| std::iter::repeat_n(v, self.spatial)).collect()
    }
}

/// Per-channel sums of `g(a, b, k)` over the batch and every position, `k` holding the per-channel vectors' values
/// at that channel, in two steps: first the samples are added up row by row (`acc[i] = Σₙ g(a[n, i], b[n, i],
/// k[i])`: whole rows at a time, which vectorise and keep no long chain of dependent additions; the threads take a
/// range of positions `i` each, so the order of the additions is the same however many there are), then each
/// channel's positions. For `[N, C]` the second step is empty.
pub fn channel_sums<const K: usize>(l: Layout, a: &[f32], b: &[f32], per_channel: [&[f32]; K], g: impl Fn(f32, f32, [f32; K]) -> f32 + Sync) -> Vec<f32> {
    let row = l.row();
    let spread = per_channel.map(|k| l.spread(k));
    let k = spread.each_ref().map(Vec::as_slice);
    let mut acc = vec![0.0; row];
    parallel::for_blocks_weighted([&mut acc], 1, l.batch, move |start, [acc]| {
        let k = k.map(|k| &k[start..][..acc.len()]);
        for (ra, rb) in a.chunks_exact(row).zip(b.chunks_exact(row)) {
            for (i, ((s, &x), &y)) in acc.iter_mut().zip(&ra[start..]).zip(&rb[start..]).enumerate() {
                *s += g(x, y, k.map(|k| k[i]));
            }
        }
    });
    if l.spatial == 1 {
        return acc;
    }
    acc.chunks(l.spatial).map(|positions| positions.iter().sum()).collect()
}

/// `f(a, b, k)` for every value, in memory order, into a new vector; `k` as in [`channel_sums`].
pub fn map<const K: usize>(l: Layout, a: &[f32], b: &[f32], per_channel: [&[f32]; K], f: impl Fn(f32, f32, [f32; K]) -> f32 + Sync) -> Vec<f32> {
    let spread = per_channel.map(|k| l.spread(k));
    let k = spread.each_ref().map(Vec::as_slice);
    parallel::map2_rows(a, b, l.row(), move |i, x, y| f(x, y, k.map(|k| k[i])))
}

/// Each channel's mean and biased variance (the mean of the squared differences from that mean).
pub fn statistics(l: Layout, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let n = (l.batch * l.spatial) as f32;
    let mean: Vec<f32> = channel_sums(l, x, x, [], |v, _, []| v).iter().map(|s| s / n).collect();
    let var = channel_sums(l, x, x, [&mean], |v, _, [m]| (v - m) * (v - m)).iter().map(|s| s / n).collect();
    (mean, var)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn batches_large_enough_for_several_threads_sum_in_the_serial_order() {
        // 256 samples of 4 channels x 64 positions: enough work to share out (the threads take ranges of positions).
        let mut rng = Rng::new(10);
        let l = Layout { batch: 256, channels: 4, spatial: 64 };
        let x: Vec<f32> = (0..l.batch * l.row()).map(|_| rng.normal()).collect();
        let (mean, _) = statistics(l, &x);
        // The documented order: each position summed over the samples in turn, then each channel's positions.
        let mut by_position = vec![0.0f32; l.row()];
        for sample in x.chunks(l.row()) {
            by_position.iter_mut().zip(sample).for_each(|(s, &v)| *s += v);
        }
        let means: Vec<f32> = by_position.chunks(l.spatial).map(|p| p.iter().sum::<f32>() / (l.batch * l.spatial) as f32).collect();
        assert_eq!(mean, means, "bit for bit the serial sums");
        // And a map reads each value's own channel's constant.
        let shifted = map(l, &x, &x, [&mean], |v, _, [m]| v - m);
        for (i, (&y, &v)) in shifted.iter().zip(&x).enumerate() {
            assert_eq!(y, v - mean[i / l.spatial % l.channels], "value {i}");
        }
    }
}
