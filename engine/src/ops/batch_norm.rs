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
//!
//! Inputs `[x, weight, bias, running_mean, running_var]`, outputs `[y, mean, invstd, running_mean,
//! running_var]` (the batch statistics used, kept for backward, and the running statistics after this call).

use super::dispatch::on_device;
use crate::device::cpu::{self, batch_norm::Layout};
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

const OP: &str = "batch_norm";

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
pub struct BatchNormOutput {
    /// The normalised, scaled and shifted output.
    pub y: Tensor,
    /// The mean used per channel.
    pub mean: Tensor,
    /// `1/√(σ² + ε)` per channel.
    pub invstd: Tensor,
    /// The running mean after this call (updated in training, unchanged in evaluation).
    pub running_mean: Tensor,
    /// The running variance after this call.
    pub running_var: Tensor,
}

/// The gradients of a batch norm.
#[derive(Clone, Debug)]
pub struct BatchNormGrads {
    /// `∂L/∂x`
    pub dx: Tensor,
    /// `∂L/∂γ`
    pub dweight: Tensor,
    /// `∂L/∂β`
    pub dbias: Tensor,
}

impl BatchNorm {
    /// Checks `x [N, C, ...]` and the four per-channel tensors (weight, bias, running mean, running variance).
    pub fn new(params: &BatchNormParams, x: &Shape, per_channel: &[&Shape; 4]) -> Result<BatchNorm> {
        let err = |kind, problem: &str| OpError::new(OP, kind, problem);
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

    /// The output, the statistics used and the running statistics after this call, on `x`'s device.
    pub fn forward(&self, x: &Tensor, weight: &Tensor, bias: &Tensor, running_mean: &Tensor, running_var: &Tensor) -> Result<BatchNormOutput> {
        let cpu = || self.cpu_forward(x, weight, bias, running_mean, running_var);
        on_device(OP, [x, weight, bias, running_mean, running_var], cpu, |gpu| self.forward_gpu(gpu, x, weight, bias, running_mean, running_var))
    }

    /// The gradients of the input, γ and β, from the statistics the forward used.
    pub fn backward(&self, x: &Tensor, weight: &Tensor, saved: &BatchNormOutput, dy: &Tensor) -> Result<BatchNormGrads> {
        let inputs = [x, weight, &saved.mean, &saved.invstd, dy];
        on_device(OP, inputs, || self.cpu_backward(x, weight, saved, dy), |gpu| self.backward_gpu(gpu, x, weight, saved, dy))
    }

    /// `y = (x − μ)·invstd·γ + β`, evaluated in this order everywhere (the reference, the CPU, the GPU).
    #[inline]
    pub fn normalize(x: f32, mean: f32, invstd: f32, weight: f32, bias: f32) -> f32 {
        (x - mean) * invstd * weight + bias
    }

    /// `dx = γ·invstd/n · (n·dy − Σdy − x̂·Σdy·x̂)` in training, where `x̂ = (x − μ)·invstd`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn grad_training(x: f32, dy: f32, weight: f32, invstd: f32, mean: f32, sum_dy: f32, sum_dy_xhat: f32, n: f32) -> f32 {
        weight * invstd / n * (n * dy - sum_dy - (x - mean) * invstd * sum_dy_xhat)
    }

    /// `1/√(σ² + ε)`.
    pub fn invstd(&self, var: f32) -> f32 {
        1.0 / (var + self.params.eps).sqrt()
    }

    /// The running statistics after a batch of per-channel `mean` and (biased) `var`: the moving averages in
    /// training, unchanged in evaluation.
    pub fn running_statistics(&self, running_mean: &[f32], running_var: &[f32], mean: &[f32], var: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let p = &self.params;
        if !p.training {
            return (running_mean.to_vec(), running_var.to_vec());
        }
        let n = self.count() as f32;
        let batch_var = |v: f32| if p.unbiased_running_var { v * n / (n - 1.0) } else { v };
        let new_mean = running_mean.iter().zip(mean).map(|(r, m)| (1.0 - p.momentum) * r + p.momentum * m).collect();
        let new_var = running_var.iter().zip(var).map(|(r, v)| (1.0 - p.momentum) * r + p.momentum * batch_var(*v)).collect();
        (new_mean, new_var)
    }

    /// The flat index of value `i` (of `N·S`) of channel `c`.
    fn at(&self, c: usize, i: usize) -> usize {
        ((i / self.spatial) * self.channels + c) * self.spatial + i % self.spatial
    }

    /// The reference forward: each channel's statistics, then every value.
    pub fn reference_forward(&self, x: &Tensor, weight: &Tensor, bias: &Tensor, running_mean: &Tensor, running_var: &Tensor) -> BatchNormOutput {
        let (n, x) = (self.count(), x.data());
        let (mut mean, mut var) = (running_mean.data().to_vec(), running_var.data().to_vec());
        if self.params.training {
            for c in 0..self.channels {
                let sum: f32 = (0..n).map(|i| x[self.at(c, i)]).sum();
                mean[c] = sum / n as f32;
                let squares: f32 = (0..n).map(|i| (x[self.at(c, i)] - mean[c]) * (x[self.at(c, i)] - mean[c])).sum();
                var[c] = squares / n as f32;
            }
        }
        let invstd: Vec<f32> = var.iter().map(|&v| self.invstd(v)).collect();
        let mut y = vec![0.0; x.len()];
        for c in 0..self.channels {
            for i in 0..n {
                let k = self.at(c, i);
                y[k] = Self::normalize(x[k], mean[c], invstd[c], weight.data()[c], bias.data()[c]);
            }
        }
        let (new_mean, new_var) = self.running_statistics(running_mean.data(), running_var.data(), &mean, &var);
        let per_channel = |v: Vec<f32>| Tensor::new([self.channels], v).expect("one value per channel");
        BatchNormOutput {
            y: Tensor::new(self.shape.clone(), y).expect("y has x's shape"),
            mean: per_channel(mean),
            invstd: per_channel(invstd),
            running_mean: per_channel(new_mean),
            running_var: per_channel(new_var),
        }
    }

    /// The reference backward: each channel's `Σ dy` and `Σ dy·x̂`, then every input gradient.
    pub fn reference_backward(&self, x: &Tensor, weight: &Tensor, saved: &BatchNormOutput, dy: &Tensor) -> BatchNormGrads {
        let (n, x, dy) = (self.count(), x.data(), dy.data());
        let (mean, invstd, w) = (saved.mean.data(), saved.invstd.data(), weight.data());
        let mut dx = vec![0.0; x.len()];
        let (mut dweight, mut dbias) = (vec![0.0; self.channels], vec![0.0; self.channels]);
        for c in 0..self.channels {
            dbias[c] = (0..n).map(|i| dy[self.at(c, i)]).sum();
            dweight[c] = (0..n).map(|i| dy[self.at(c, i)] * (x[self.at(c, i)] - mean[c]) * invstd[c]).sum();
            for i in 0..n {
                let k = self.at(c, i);
                dx[k] = if self.params.training {
                    Self::grad_training(x[k], dy[k], w[c], invstd[c], mean[c], dbias[c], dweight[c], n as f32)
                } else {
                    dy[k] * w[c] * invstd[c]
                };
            }
        }
        let per_channel = |v: Vec<f32>| Tensor::new([self.channels], v).expect("one value per channel");
        BatchNormGrads { dx: Tensor::new(self.shape.clone(), dx).expect("dx has x's shape"), dweight: per_channel(dweight), dbias: per_channel(dbias) }
    }
}

/// The CPU's path: the same formulas as the reference, through the CPU's loops over every core
/// ([`cpu::batch_norm`]: per-channel sums split by position, element-wise passes row by row), which add in another
/// order.
impl BatchNorm {
    fn layout(&self) -> Layout {
        Layout { batch: self.batch, channels: self.channels, spatial: self.spatial }
    }

    /// One value per channel as a tensor.
    fn per_channel(&self, values: Vec<f32>) -> Tensor {
        Tensor::new([self.channels], values).expect("one value per channel")
    }

    fn cpu_forward(&self, x: &Tensor, weight: &Tensor, bias: &Tensor, running_mean: &Tensor, running_var: &Tensor) -> BatchNormOutput {
        let l = self.layout();
        let (mean, var) = match self.params.training {
            true => cpu::batch_norm::statistics(l, x.data()),
            false => (running_mean.data().to_vec(), running_var.data().to_vec()),
        };
        let invstd: Vec<f32> = var.iter().map(|&v| self.invstd(v)).collect();
        let (new_mean, new_var) = self.running_statistics(running_mean.data(), running_var.data(), &mean, &var);
        let k = [&mean[..], &invstd, weight.data(), bias.data()];
        let y = cpu::batch_norm::map(l, x.data(), x.data(), k, |v, _, [m, s, g, b]| Self::normalize(v, m, s, g, b));
        BatchNormOutput {
            y: Tensor::new(self.shape.clone(), y).expect("y has x's shape"),
            mean: self.per_channel(mean),
            invstd: self.per_channel(invstd),
            running_mean: self.per_channel(new_mean),
            running_var: self.per_channel(new_var),
        }
    }

    fn cpu_backward(&self, x: &Tensor, weight: &Tensor, saved: &BatchNormOutput, dy: &Tensor) -> BatchNormGrads {
        let (l, n) = (self.layout(), self.count() as f32);
        let (x, dy, mean, invstd) = (x.data(), dy.data(), saved.mean.data(), saved.invstd.data());
        let sum_dy = cpu::batch_norm::channel_sums(l, dy, dy, [], |d, _, []| d);
        // Σ dy·x̂ per channel, x̂ = (x − μ)·invstd.
        let sum_dy_xhat = cpu::batch_norm::channel_sums(l, x, dy, [mean, invstd], |v, d, [m, s]| d * (v - m) * s);
        let dx = if self.params.training {
            let k = [weight.data(), invstd, mean, &sum_dy[..], &sum_dy_xhat];
            cpu::batch_norm::map(l, x, dy, k, |v, d, [g, s, m, sd, sx]| Self::grad_training(v, d, g, s, m, sd, sx, n))
        } else {
            cpu::batch_norm::map(l, x, dy, [weight.data(), invstd], |_, d, [g, s]| d * g * s)
        };
        BatchNormGrads {
            dx: Tensor::new(self.shape.clone(), dx).expect("dx has x's shape"),
            dweight: self.per_channel(sum_dy_xhat),
            dbias: self.per_channel(sum_dy),
        }
    }
}

uniforms! {
    /// The `Params` of `shaders/batch_norm.wgsl`.
    pub struct Uniforms { batch: u32, channels: u32, spatial: u32, eps: f32, momentum: f32, training: u32, unbiased: u32 }
}

impl BatchNorm {
    fn uniforms(&self) -> Uniforms {
        let p = &self.params;
        Uniforms {
            batch: self.batch as u32,
            channels: self.channels as u32,
            spatial: self.spatial as u32,
            eps: p.eps,
            momentum: p.momentum,
            training: p.training as u32,
            unbiased: p.unbiased_running_var as u32,
        }
    }

    /// One workgroup per channel for the per-channel sums (the shader loops when there are more channels than
    /// a grid row holds).
    fn channel_groups(&self, gpu: &Gpu) -> [usize; 3] {
        gpu.one_group_each(self.channels)
    }

    /// Per-channel statistics (one workgroup per channel), then every value.
    fn forward_gpu(&self, gpu: &Gpu, x: &Tensor, weight: &Tensor, bias: &Tensor, running_mean: &Tensor, running_var: &Tensor) -> BatchNormOutput {
        let u = self.uniforms();
        let channels = || Tensor::empty_on(gpu, [self.channels]);
        let out = BatchNormOutput {
            y: Tensor::empty_on(gpu, self.shape.clone()),
            mean: channels(),
            invstd: channels(),
            running_mean: channels(),
            running_var: channels(),
        };
        let stats = [
            x.buffer(),
            running_mean.buffer(),
            running_var.buffer(),
            out.mean.buffer(),
            out.invstd.buffer(),
            out.running_mean.buffer(),
            out.running_var.buffer(),
        ];
        gpu.dispatch_grid(&STATISTICS, &u, stats, self.channel_groups(gpu));
        let normalize = [x.buffer(), out.mean.buffer(), out.invstd.buffer(), weight.buffer(), bias.buffer(), out.y.buffer()];
        gpu.dispatch(&NORMALIZE, &u, normalize, self.shape.numel());
        out
    }

    /// Per-channel sums (one workgroup per channel), then every input gradient.
    fn backward_gpu(&self, gpu: &Gpu, x: &Tensor, weight: &Tensor, saved: &BatchNormOutput, dy: &Tensor) -> BatchNormGrads {
        let u = self.uniforms();
        let channels = || Tensor::empty_on(gpu, [self.channels]);
        let grads = BatchNormGrads { dx: Tensor::empty_on(gpu, self.shape.clone()), dweight: channels(), dbias: channels() };
        let (x, mean, invstd, dy) = (x.buffer(), saved.mean.buffer(), saved.invstd.buffer(), dy.buffer());
        let sums = [x, mean, invstd, dy, grads.dweight.buffer(), grads.dbias.buffer()];
        gpu.dispatch_grid(&GRAD_PARAMS, &u, sums, self.channel_groups(gpu));
        let input = [x, mean, invstd, weight.buffer(), dy, grads.dweight.buffer(), grads.dbias.buffer(), grads.dx.buffer()];
        gpu.dispatch(&GRAD_INPUT, &u, input, self.shape.numel());
        grads
    }
}

kernels! {
    shader "batch_norm", uniforms Uniforms;
    STATISTICS = statistics(x: 1, running_mean: 2, running_var: 3, mean: 4, invstd: 5, new_mean: 6, new_var: 7);
    NORMALIZE = normalize(x: 1, mean: 4, invstd: 5, weight: 8, bias: 9, y: 10);
    GRAD_PARAMS = grad_params(x: 1, mean: 4, invstd: 5, dy: 11, dweight: 12, dbias: 13);
    GRAD_INPUT = grad_input(x: 1, mean: 4, invstd: 5, weight: 8, dy: 11, dweight: 12, dbias: 13, dx: 14);
}

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for BatchNorm {
    fn outputs(&self, x: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        let out = path.run(|| self.reference_forward(x[0], x[1], x[2], x[3], x[4]), || self.forward(x[0], x[1], x[2], x[3], x[4]))?;
        Ok(vec![out.y, out.mean, out.invstd, out.running_mean, out.running_var])
    }

    fn gradients(&self, x: &[&Tensor], out: &[&Tensor], dy: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        let [y, mean, invstd, running_mean, running_var] = [0, 1, 2, 3, 4].map(|i| out[i].clone());
        let saved = BatchNormOutput { y, mean, invstd, running_mean, running_var };
        let grads = path.run(|| self.reference_backward(x[0], x[1], &saved, dy[0]), || self.backward(x[0], x[1], &saved, dy[0]))?;
        Ok(vec![Some(grads.dx), Some(grads.dweight), Some(grads.dbias), None, None])
    }
}

/// BatchNorm1d on `[N, C]` and `[N, C, L]`, BatchNorm2d in training and evaluation, and a batch large enough
/// for the CPU to split its sums between threads.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    let mut out = Vec::new();
    for (dims, training) in [(vec![4, 3], true), (vec![3, 2, 5], true), (vec![2, 3, 4, 4], true), (vec![2, 3, 4, 4], false), (vec![64, 16, 8, 8], true)] {
        let c = dims[1];
        let x = Tensor::randn(dims.clone(), rng);
        let per_channel = [Tensor::randn([c], rng), Tensor::randn([c], rng), Tensor::randn([c], rng), Tensor::uniform([c], 0.5, 2.0, rng)];
        let params = BatchNormParams { training, ..Default::default() };
        let shapes = per_channel.each_ref().map(Tensor::shape);
        let op = BatchNorm::new(&params, x.shape(), &shapes).expect("valid");
        let mut inputs = vec![x];
        inputs.extend(per_channel);
        let example = crate::ops::dispatch::Example::new(format!("batch_norm {dims:?} training {training}"), op, inputs);
        out.push(if dims[0] > 8 { example.finite_differences(None) } else { example });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let out = op.forward(&x, &ones, &zeros, &rm, &rv).unwrap();
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
    fn one_value_per_channel_cannot_train() {
        let c = Shape::from([3]);
        let e = BatchNorm::new(&BatchNormParams::default(), &Shape::from([1, 3]), &[&c, &c, &c, &c]).unwrap_err();
        assert!(matches!(e, crate::Error::Op(e) if e.kind == ErrorKind::Shape));
        assert!(BatchNorm::new(&BatchNormParams { training: false, ..Default::default() }, &Shape::from([1, 3]), &[&c, &c, &c, &c]).is_ok());
    }
}
