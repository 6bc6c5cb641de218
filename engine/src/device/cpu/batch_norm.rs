//! Batch norm on every core: the per-channel sums split by position (so every sum adds its terms in the same
//! order however many threads there are), the element-wise passes row by row, both against per-channel
//! constants spread over a sample's row so that each loop vectorises however few positions a channel has (the
//! digits' last convolution has 4). The same formulas as [`BatchNorm::reference_forward`], summed in another
//! order.

use super::parallel;
use crate::ops::batch_norm::{BatchNorm, BatchNormGrads, BatchNormOutput};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A per-channel vector spread over one sample's row `[C·S]`: each channel's value repeated for its `S` positions.
fn spread(op: &BatchNorm, per_channel: &[f32]) -> Vec<f32> {
    per_channel.iter().flat_map(|&v| std::iter::repeat_n(v, op.spatial)).collect()
}

/// Per-channel sums of `g(x, y, k)` over the batch and every position, `k` holding the [`spread`] constants at
/// that position, in two steps: first the samples are added up row by row (`acc[i] = Σₙ g(a[n, i], b[n, i],
/// k[i])`: whole rows at a time, which vectorise and keep no long chain of dependent additions; the threads take a
/// range of positions `i` each, so the order of the additions is the same however many there are), then each
/// channel's `S` positions. For `[N, C]` the second step is empty.
fn channel_sums<const K: usize>(op: &BatchNorm, a: &[f32], b: &[f32], k: [&[f32]; K], g: impl Fn(f32, f32, [f32; K]) -> f32 + Sync) -> Vec<f32> {
    let row = op.channels * op.spatial;
    let k = k.map(|k| &k[..row]);
    let mut acc = vec![0.0; row];
    parallel::for_blocks_weighted([&mut acc], 1, op.batch, move |start, [acc]| {
        let k = k.map(|k| &k[start..][..acc.len()]);
        for (ra, rb) in a.chunks_exact(row).zip(b.chunks_exact(row)) {
            for (i, ((s, &x), &y)) in acc.iter_mut().zip(&ra[start..]).zip(&rb[start..]).enumerate() {
                *s += g(x, y, k.map(|k| k[i]));
            }
        }
    });
    if op.spatial == 1 {
        return acc;
    }
    acc.chunks(op.spatial).map(|positions| positions.iter().sum()).collect()
}

/// `f(x, y, k)` for every value, in memory order, into a new vector; `k` as in [`channel_sums`].
fn map<const K: usize>(op: &BatchNorm, a: &[f32], b: &[f32], k: [&[f32]; K], f: impl Fn(f32, f32, [f32; K]) -> f32 + Sync) -> Vec<f32> {
    let row = op.channels * op.spatial;
    let k = k.map(|k| &k[..row]);
    parallel::map2_rows(a, b, row, move |i, x, y| f(x, y, k.map(|k| k[i])))
}

/// [`BatchNorm::forward`].
pub fn forward(op: &BatchNorm, x: &Tensor, weight: &Tensor, bias: &Tensor, running_mean: &Tensor, running_var: &Tensor) -> BatchNormOutput {
    let n = op.count() as f32;
    let x = x.data();
    // `m` is the mean spread over a sample's row: the variance needs it before y does.
    let (mean, m, var) = if op.params.training {
        let mean: Vec<f32> = channel_sums(op, x, x, [], |v, _, []| v).iter().map(|s| s / n).collect();
        let m = spread(op, &mean);
        let var: Vec<f32> = channel_sums(op, x, x, [&m], |v, _, [m]| (v - m) * (v - m)).iter().map(|s| s / n).collect();
        (mean, m, var)
    } else {
        (running_mean.data().to_vec(), spread(op, running_mean.data()), running_var.data().to_vec())
    };
    let invstd: Vec<f32> = var.iter().map(|&v| op.invstd(v)).collect();
    let (new_mean, new_var) = op.running_statistics(running_mean.data(), running_var.data(), &mean, &var);
    let (s, g, b) = (spread(op, &invstd), spread(op, weight.data()), spread(op, bias.data()));
    let y = map(op, x, x, [&m, &s, &g, &b], |v, _, [m, s, g, b]| BatchNorm::normalize(v, m, s, g, b));
    let c = Shape::from([op.channels]);
    let tensor = |v: Vec<f32>| Tensor::new(c.clone(), v).expect("one value per channel");
    BatchNormOutput {
        y: Tensor::new(op.shape.clone(), y).expect("y has x's shape"),
        mean: tensor(mean),
        invstd: tensor(invstd),
        running_mean: tensor(new_mean),
        running_var: tensor(new_var),
    }
}

/// [`BatchNorm::backward`].
pub fn backward(op: &BatchNorm, x: &Tensor, weight: &Tensor, saved: &BatchNormOutput, dy: &Tensor) -> BatchNormGrads {
    let (m, s, g) = (spread(op, saved.mean.data()), spread(op, saved.invstd.data()), spread(op, weight.data()));
    let n = op.count() as f32;
    let (x, dy) = (x.data(), dy.data());
    let sum_dy = channel_sums(op, dy, dy, [], |d, _, []| d);
    // Σ dy·x̂ per channel, x̂ = (x − μ)·invstd.
    let sum_dy_xhat = channel_sums(op, x, dy, [&m, &s], |v, d, [m, s]| d * (v - m) * s);
    let dx = if op.params.training {
        let (sd, sx) = (spread(op, &sum_dy), spread(op, &sum_dy_xhat));
        map(op, x, dy, [&g, &s, &m, &sd, &sx], |v, d, [g, s, m, sd, sx]| BatchNorm::grad_training(v, d, g, s, m, sd, sx, n))
    } else {
        map(op, x, dy, [&g, &s], |_, d, [g, s]| d * g * s)
    };
    let c = Shape::from([op.channels]);
    BatchNormGrads {
        dx: Tensor::new(op.shape.clone(), dx).expect("dx has x's shape"),
        dweight: Tensor::new(c.clone(), sum_dy_xhat).expect("one per channel"),
        dbias: Tensor::new(c, sum_dy).expect("one per channel"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::batch_norm::BatchNormParams;
    use crate::rng::Rng;

    #[test]
    fn batches_large_enough_for_several_threads_sum_in_the_serial_order() {
        // 256 samples of 4 channels x 64 positions: enough work to share out (the threads take ranges of positions).
        let mut rng = Rng::new(10);
        let (batch, channels, spatial) = (256, 4, 64);
        let x = Tensor::randn([batch, channels, 8, 8], &mut rng);
        let c = Shape::from([channels]);
        let op = BatchNorm::new(&BatchNormParams::default(), x.shape(), &[&c, &c, &c, &c]).unwrap();
        let (ones, zeros) = (Tensor::from_fn([channels], |_| 1.0), Tensor::zeros([channels]));
        let out = forward(&op, &x, &ones, &zeros, &zeros, &ones);
        // The documented order: each position summed over the samples in turn, then each channel's positions.
        let row = channels * spatial;
        let mut by_position = vec![0.0f32; row];
        for sample in x.data().chunks(row) {
            by_position.iter_mut().zip(sample).for_each(|(s, &v)| *s += v);
        }
        let means: Vec<f32> = by_position.chunks(spatial).map(|p| p.iter().sum::<f32>() / (batch * spatial) as f32).collect();
        assert_eq!(out.mean.data(), &means[..], "bit for bit the serial sums");
        // And every value of y is the element-wise formula at its own channel.
        for (i, (&y, &v)) in out.y.data().iter().zip(x.data()).enumerate() {
            let ch = i / spatial % channels;
            assert_eq!(y, BatchNorm::normalize(v, out.mean.data()[ch], out.invstd.data()[ch], 1.0, 0.0), "value {i}");
        }
    }
}
