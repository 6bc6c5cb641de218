//! Batch normalization: normalise each channel by its mean and standard deviation, then scale by the learned
//! `weight` (γ) and shift by the learned `bias` (β).
//!
//! ```text
//! training:  μ_c, σ²_c = mean and (biased) variance of channel c over the batch and every position
//! evaluation: μ_c, σ²_c = the running statistics
//! y = (x − μ_c) / √(σ²_c + ε) · γ_c + β_c
//! ```
//!
//! While training, the running statistics follow the batches as an exponentially weighted moving average:
//! `running = (1 − momentum) · running + momentum · batch`, with the batch variance made unbiased
//! (`· n/(n−1)`) as PyTorch does (ONNX keeps it biased: `unbiased_running_var = false`).
//!
//! Backward, with `x̂ = (x − μ)/σ` and `n` values per channel: `∂β = Σ dy`, `∂γ = Σ dy·x̂`, and in training
//! `dx = γ/(σ·n) · (n·dy − ∂β − x̂·∂γ)` (the batch statistics depend on x too); in evaluation `dx = dy·γ/σ`.
//! Shapes: `x [N, C, ...]` (1d: `[N, C]` or `[N, C, L]`; 2d: `[N, C, H, W]`), parameters and statistics `[C]`.

use crate::backend::gpu::{Gpu, GpuTensor};
use crate::backend::parallel;
use crate::backend::{Backend, DeviceTensor};
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Batch-norm settings, with PyTorch's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormParams {
    /// Added to the variance before the square root.
    pub eps: f32,
    /// Weight of the new batch in the running statistics (PyTorch's convention; ONNX's momentum is `1 − this`).
    pub momentum: f32,
    /// Batch statistics and running-stat updates (training), or the running statistics (evaluation).
    pub training: bool,
    /// Update the running variance with the unbiased batch variance (PyTorch) or the biased one (ONNX).
    pub unbiased_running_var: bool,
}

impl Default for BatchNormParams {
    fn default() -> Self {
        BatchNormParams { eps: 1e-5, momentum: 0.1, training: true, unbiased_running_var: true }
    }
}

/// A validated batch normalization.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm {
    /// The settings.
    pub params: BatchNormParams,
    /// The input's shape.
    pub shape: Shape,
    /// `N`
    pub batch: usize,
    /// `C`
    pub channels: usize,
    /// Positions per channel and sample (`H·W`, `L`, or 1).
    pub spatial: usize,
}

/// What a batch norm computes: the output, the statistics it used (for backward), and the running statistics.
#[derive(Clone, Debug)]
pub struct BatchNormOutput<T> {
    /// The normalised, scaled and shifted output.
    pub y: T,
    /// The mean used per channel.
    pub mean: T,
    /// `1/√(σ² + ε)` per channel.
    pub invstd: T,
    /// The running mean after this call (updated in training, unchanged in evaluation).
    pub running_mean: T,
    /// The running variance after this call.
    pub running_var: T,
}

/// The gradients of a batch norm.
#[derive(Clone, Debug)]
pub struct BatchNormGrads<T> {
    /// `∂L/∂x`
    pub dx: T,
    /// `∂L/∂γ`
    pub dweight: T,
    /// `∂L/∂β`
    pub dbias: T,
}

/// Validates and runs a batch norm on any backend.
pub fn batch_norm<B: Backend>(
    backend: &B,
    x: &B::Tensor,
    weight: &B::Tensor,
    bias: &B::Tensor,
    running_mean: &B::Tensor,
    running_var: &B::Tensor,
    params: &BatchNormParams,
) -> Result<BatchNormOutput<B::Tensor>> {
    let op = BatchNorm::new(params, x.shape(), &[weight.shape(), bias.shape(), running_mean.shape(), running_var.shape()])?;
    Ok(backend.batch_norm(&op, x, weight, bias, running_mean, running_var))
}

impl BatchNorm {
    /// Checks `x [N, C, ...]` and the four per-channel tensors (weight, bias, running mean, running variance).
    pub fn new(params: &BatchNormParams, x: &Shape, per_channel: &[&Shape; 4]) -> Result<BatchNorm> {
        let err = |kind, problem: &str| OpError::new("batch_norm", kind, problem);
        if x.rank() < 2 {
            return Err(err(ErrorKind::Shape, "the input needs a batch and a channel axis")
                .expected("[N, C], [N, C, L] or [N, C, H, W]")
                .given(x)
                .hint("a single sample still needs its batch axis: x[None]")
                .into());
        }
        let (batch, channels) = (x.dims()[0], x.dims()[1]);
        let spatial: usize = x.dims()[2..].iter().product();
        if x.numel() == 0 {
            return Err(err(ErrorKind::ZeroSize, "the input is empty").expected("every dimension at least 1").given(x).hint("normalise a non-empty batch").into());
        }
        for (name, s) in ["weight", "bias", "running_mean", "running_var"].iter().zip(per_channel) {
            if s.dims() != [channels] {
                return Err(err(ErrorKind::Shape, &format!("{name} needs one value per channel"))
                    .expected(format!("[{channels}]"))
                    .given(s)
                    .hint("weight, bias and the running statistics all have shape [C]")
                    .into());
            }
        }
        if params.training && batch * spatial < 2 {
            return Err(err(ErrorKind::Shape, "training needs more than one value per channel")
                .expected("N·(positions) ≥ 2")
                .given(x)
                .hint("use a batch of at least 2, or evaluation mode")
                .into());
        }
        if !(0.0..=1.0).contains(&params.momentum) || params.eps.is_nan() || params.eps < 0.0 {
            return Err(err(ErrorKind::Value, "momentum must be in [0, 1] and eps not negative")
                .expected("0 ≤ momentum ≤ 1, eps ≥ 0")
                .given(format!("momentum {}, eps {}", params.momentum, params.eps))
                .hint("PyTorch uses momentum 0.1 and eps 1e-5")
                .into());
        }
        Ok(BatchNorm { params: params.clone(), shape: x.clone(), batch, channels, spatial })
    }

    /// How many values each channel normalises over.
    pub fn count(&self) -> usize {
        self.batch * self.spatial
    }

    /// A per-channel vector spread over one sample's row `[C·S]`: each channel's value repeated for its `S`
    /// positions. With the constants laid out like the data, a whole sample is one element-wise loop (which
    /// vectorises) however few positions a channel has (the digits' last convolution has 4).
    fn spread(&self, per_channel: &[f32]) -> Vec<f32> {
        per_channel.iter().flat_map(|&v| std::iter::repeat_n(v, self.spatial)).collect()
    }

    /// Per-channel sums of `g(x, y, k)` over the batch and every position, `k` holding the [`BatchNorm::spread`]
    /// constants at that position, in two steps: first the samples are added up row by row (`acc[i] =
    /// Σₙ g(a[n, i], b[n, i], k[i])`: whole rows at a time, which vectorise and keep no long chain of dependent
    /// additions; the threads take a range of positions `i` each, so the order of the additions is the same
    /// however many there are), then each channel's `S` positions. For `[N, C]` the second step is empty.
    fn channel_sums<const K: usize>(&self, a: &[f32], b: &[f32], k: [&[f32]; K], g: impl Fn(f32, f32, [f32; K]) -> f32 + Sync) -> Vec<f32> {
        let row = self.channels * self.spatial;
        let k = k.map(|k| &k[..row]);
        let mut acc = vec![0.0; row];
        parallel::for_blocks_weighted([&mut acc], 1, self.batch, move |start, [acc]| {
            let k = k.map(|k| &k[start..][..acc.len()]);
            for (ra, rb) in a.chunks_exact(row).zip(b.chunks_exact(row)) {
                for (i, ((s, &x), &y)) in acc.iter_mut().zip(&ra[start..]).zip(&rb[start..]).enumerate() {
                    *s += g(x, y, k.map(|k| k[i]));
                }
            }
        });
        if self.spatial == 1 {
            return acc;
        }
        acc.chunks(self.spatial).map(|positions| positions.iter().sum()).collect()
    }

    /// `f(x, y, k)` for every value, in memory order, into a new vector; `k` as in [`BatchNorm::channel_sums`].
    fn map<const K: usize>(&self, a: &[f32], b: &[f32], k: [&[f32]; K], f: impl Fn(f32, f32, [f32; K]) -> f32 + Sync) -> Vec<f32> {
        let row = self.channels * self.spatial;
        let k = k.map(|k| &k[..row]);
        parallel::map2_rows(a, b, row, move |i, x, y| f(x, y, k.map(|k| k[i])))
    }

    /// The CPU reference.
    pub fn forward(&self, x: &Tensor, weight: &Tensor, bias: &Tensor, running_mean: &Tensor, running_var: &Tensor) -> BatchNormOutput<Tensor> {
        let p = &self.params;
        let n = self.count() as f32;
        let x = x.data();
        // `m` is the mean spread over a sample's row: the variance needs it before y does.
        let (mean, m, invstd, new_mean, new_var) = if p.training {
            let mean: Vec<f32> = self.channel_sums(x, x, [], |v, _, []| v).iter().map(|s| s / n).collect();
            let m = self.spread(&mean);
            let var: Vec<f32> = self.channel_sums(x, x, [&m], |v, _, [m]| (v - m) * (v - m)).iter().map(|s| s / n).collect();
            let invstd: Vec<f32> = var.iter().map(|v| 1.0 / (v + p.eps).sqrt()).collect();
            let batch_var = |v: f32| if p.unbiased_running_var { v * n / (n - 1.0) } else { v };
            let new_mean = running_mean.data().iter().zip(&mean).map(|(r, m)| (1.0 - p.momentum) * r + p.momentum * m).collect();
            let new_var = running_var.data().iter().zip(&var).map(|(r, v)| (1.0 - p.momentum) * r + p.momentum * batch_var(*v)).collect();
            (mean, m, invstd, new_mean, new_var)
        } else {
            let invstd: Vec<f32> = running_var.data().iter().map(|v| 1.0 / (v + p.eps).sqrt()).collect();
            let m = self.spread(running_mean.data());
            (running_mean.data().to_vec(), m, invstd, running_mean.data().to_vec(), running_var.data().to_vec())
        };
        // y = (x − μ)·invstd·γ + β, evaluated in this order everywhere (CPU and GPU).
        let (s, g, b) = (self.spread(&invstd), self.spread(weight.data()), self.spread(bias.data()));
        let y = self.map(x, x, [&m, &s, &g, &b], |v, _, [m, s, g, b]| (v - m) * s * g + b);
        let c = Shape::from([self.channels]);
        let tensor = |v: Vec<f32>| Tensor::new(c.clone(), v).expect("one value per channel");
        BatchNormOutput {
            y: Tensor::new(self.shape.clone(), y).expect("y has x's shape"),
            mean: tensor(mean),
            invstd: tensor(invstd),
            running_mean: tensor(new_mean),
            running_var: tensor(new_var),
        }
    }

    /// The CPU reference backward.
    pub fn backward(&self, x: &Tensor, weight: &Tensor, saved: &BatchNormOutput<Tensor>, dy: &Tensor) -> BatchNormGrads<Tensor> {
        let (m, s, g) = (self.spread(saved.mean.data()), self.spread(saved.invstd.data()), self.spread(weight.data()));
        let n = self.count() as f32;
        let (x, dy) = (x.data(), dy.data());
        let sum_dy = self.channel_sums(dy, dy, [], |d, _, []| d);
        // Σ dy·x̂ per channel, x̂ = (x − μ)·invstd.
        let sum_dy_xhat = self.channel_sums(x, dy, [&m, &s], |v, d, [m, s]| d * (v - m) * s);
        let dx = if self.params.training {
            let (sd, sx) = (self.spread(&sum_dy), self.spread(&sum_dy_xhat));
            self.map(x, dy, [&g, &s, &m, &sd, &sx], |v, d, [g, s, m, sd, sx]| g * s / n * (n * d - sd - (v - m) * s * sx))
        } else {
            self.map(x, dy, [&g, &s], |_, d, [g, s]| d * g * s)
        };
        let c = Shape::from([self.channels]);
        BatchNormGrads {
            dx: Tensor::new(self.shape.clone(), dx).expect("dx has x's shape"),
            dweight: Tensor::new(c.clone(), sum_dy_xhat).expect("one per channel"),
            dbias: Tensor::new(c, sum_dy).expect("one per channel"),
        }
    }

    fn uniforms(&self) -> [u32; 8] {
        let p = &self.params;
        [
            self.batch as u32,
            self.channels as u32,
            self.spatial as u32,
            p.eps.to_bits(),
            p.momentum.to_bits(),
            p.training as u32,
            p.unbiased_running_var as u32,
            0,
        ]
    }

    /// One workgroup per channel for the per-channel sums (the shader loops when there are more channels than
    /// a grid row holds).
    fn channel_groups(&self, gpu: &Gpu) -> [usize; 3] {
        gpu.one_group_each(self.channels)
    }

    /// Records the forward pass on the GPU (`shaders/batch_norm.wgsl`): per-channel statistics, then every value.
    pub fn forward_gpu(
        &self,
        gpu: &Gpu,
        x: &GpuTensor,
        weight: &GpuTensor,
        bias: &GpuTensor,
        running_mean: &GpuTensor,
        running_var: &GpuTensor,
    ) -> BatchNormOutput<GpuTensor> {
        let u = self.uniforms();
        let c_shape = Shape::from([self.channels]);
        let out = BatchNormOutput {
            y: gpu.empty(self.shape.clone()),
            mean: gpu.empty(c_shape.clone()),
            invstd: gpu.empty(c_shape.clone()),
            running_mean: gpu.empty(c_shape.clone()),
            running_var: gpu.empty(c_shape),
        };
        let stats = [
            (1, x.buffer()),
            (2, running_mean.buffer()),
            (3, running_var.buffer()),
            (4, out.mean.buffer()),
            (5, out.invstd.buffer()),
            (6, out.running_mean.buffer()),
            (7, out.running_var.buffer()),
        ];
        gpu.dispatch_grid("batch_norm", "statistics", &u, &stats, self.channel_groups(gpu));
        let normalize =
            [(1, x.buffer()), (4, out.mean.buffer()), (5, out.invstd.buffer()), (8, weight.buffer()), (9, bias.buffer()), (10, out.y.buffer())];
        gpu.dispatch("batch_norm", "normalize", &u, &normalize, self.shape.numel());
        out
    }

    /// Records the backward pass on the GPU: per-channel sums, then every input gradient.
    pub fn backward_gpu(
        &self,
        gpu: &Gpu,
        x: &GpuTensor,
        weight: &GpuTensor,
        saved: &BatchNormOutput<GpuTensor>,
        dy: &GpuTensor,
    ) -> BatchNormGrads<GpuTensor> {
        let u = self.uniforms();
        let c_shape = Shape::from([self.channels]);
        let grads = BatchNormGrads { dx: gpu.empty(self.shape.clone()), dweight: gpu.empty(c_shape.clone()), dbias: gpu.empty(c_shape) };
        let sums = [
            (1, x.buffer()),
            (4, saved.mean.buffer()),
            (5, saved.invstd.buffer()),
            (11, dy.buffer()),
            (12, grads.dweight.buffer()),
            (13, grads.dbias.buffer()),
        ];
        gpu.dispatch_grid("batch_norm", "grad_params", &u, &sums, self.channel_groups(gpu));
        let input = [
            (1, x.buffer()),
            (4, saved.mean.buffer()),
            (5, saved.invstd.buffer()),
            (8, weight.buffer()),
            (11, dy.buffer()),
            (12, grads.dweight.buffer()),
            (13, grads.dbias.buffer()),
            (14, grads.dx.buffer()),
        ];
        gpu.dispatch("batch_norm", "grad_input", &u, &input, self.shape.numel());
        grads
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::check_gradient;
    use crate::rng::Rng;

    fn setup(training: bool, rng: &mut Rng) -> (BatchNorm, [Tensor; 5]) {
        let x = Tensor::randn([4, 3, 2, 2], rng);
        let c = Shape::from([3]);
        let op = BatchNorm::new(&BatchNormParams { training, ..Default::default() }, x.shape(), &[&c, &c, &c, &c]).unwrap();
        let rv = Tensor::uniform([3], 0.5, 2.0, rng);
        (op, [x, Tensor::randn([3], rng), Tensor::randn([3], rng), Tensor::randn([3], rng), rv])
    }

    #[test]
    fn training_normalises_each_channel_to_mean_zero_and_variance_one() {
        let mut rng = Rng::new(8);
        let (op, [x, _, _, rm, rv]) = setup(true, &mut rng);
        let (ones, zeros) = (Tensor::from_fn([3], |_| 1.0), Tensor::zeros([3]));
        let out = op.forward(&x, &ones, &zeros, &rm, &rv);
        for c in 0..3 {
            let vals: Vec<f32> = (0..4).flat_map(|n| out.y.data()[(n * 3 + c) * 4..][..4].to_vec()).collect();
            let mean = vals.iter().sum::<f32>() / 16.0;
            let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 16.0;
            assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3, "channel {c}: mean {mean}, var {var}");
        }
        // The running mean moved a tenth of the way to the batch mean.
        let expected = 0.9 * rm.data()[0] + 0.1 * out.mean.data()[0];
        assert!((out.running_mean.data()[0] - expected).abs() < 1e-6);
    }

    #[test]
    fn batches_large_enough_for_several_threads_sum_in_the_serial_order() {
        // 256 samples of 4 channels x 64 positions: enough work to share out (the threads take ranges of positions).
        let mut rng = Rng::new(10);
        let (batch, channels, spatial) = (256, 4, 64);
        let x = Tensor::randn([batch, channels, 8, 8], &mut rng);
        let c = Shape::from([channels]);
        let op = BatchNorm::new(&BatchNormParams::default(), x.shape(), &[&c, &c, &c, &c]).unwrap();
        let (ones, zeros) = (Tensor::from_fn([channels], |_| 1.0), Tensor::zeros([channels]));
        let out = op.forward(&x, &ones, &zeros, &zeros, &ones);
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
            assert_eq!(y, (v - out.mean.data()[ch]) * out.invstd.data()[ch] * 1.0 + 0.0, "value {i}");
        }
    }

    #[test]
    fn backward_matches_finite_differences_in_training_and_evaluation() {
        let mut rng = Rng::new(9);
        for training in [true, false] {
            let (op, [x, w, b, rm, rv]) = setup(training, &mut rng);
            let out = op.forward(&x, &w, &b, &rm, &rv);
            let grads = |dy: &Tensor| op.backward(&x, &w, &out, dy);
            check_gradient(&x, &op.shape, |x| op.forward(x, &w, &b, &rm, &rv).y, |dy| grads(dy).dx, &mut rng);
            check_gradient(&w, &op.shape, |w| op.forward(&x, w, &b, &rm, &rv).y, |dy| grads(dy).dweight, &mut rng);
            check_gradient(&b, &op.shape, |b| op.forward(&x, &w, b, &rm, &rv).y, |dy| grads(dy).dbias, &mut rng);
        }
    }

    #[test]
    fn one_value_per_channel_cannot_train() {
        let c = Shape::from([3]);
        let e = BatchNorm::new(&BatchNormParams::default(), &Shape::from([1, 3]), &[&c, &c, &c, &c]).unwrap_err();
        assert!(matches!(e, crate::Error::Op(e) if e.kind == ErrorKind::Shape));
        assert!(BatchNorm::new(&BatchNormParams { training: false, ..Default::default() }, &Shape::from([1, 3]), &[&c, &c, &c, &c]).is_ok());
    }
}
