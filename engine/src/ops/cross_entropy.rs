//! Cross-entropy of class scores (logits) against target classes: the loss of a classifier, with the softmax
//! built in (PyTorch `F.cross_entropy`, ONNX `SoftmaxCrossEntropyLoss`).
//!
//! ```text
//! log_p[n, c] = log_softmax(logits[n, :])[c]          loss_n = −w[t_n] · log_p[n, t_n]
//! mean: Σ loss_n / Σ w[t_n]      sum: Σ loss_n      none: loss_n for each sample
//! ```
//!
//! `w` are optional class weights (1 without); a sample whose target is `ignore_index` counts for nothing. Logits
//! may carry extra positions after the class axis (`[N, C, d…]`, targets `[N, d…]`): each position is a sample.
//! Backward: `∂logits[n, c] = g_n · w[t_n] · (softmax[n, c] − [c = t_n])`, with `g_n` the upstream gradient
//! (divided by `Σ w` for the mean).
//!
//! Inputs `[logits]` or `[logits, weight]` (the targets belong to the op), outputs `[loss, log_prob,
//! total_weight]` (the last two kept for backward).

use super::dispatch::on_device;
use crate::device::gpu::{Gpu, GpuBuffer};
use crate::error::{ErrorKind, OpError, Result};
use crate::indices::Indices;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

const OP: &str = "cross_entropy";

/// How per-sample losses become the loss. The discriminants are the shaders' codes (`NONE`, `MEAN`, `SUM` in
/// shaders/prelude.wgsl).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// One loss per sample.
    None = 0,
    /// The (weighted) mean.
    #[default]
    Mean = 1,
    /// The sum.
    Sum = 2,
}

impl Reduction {
    /// Parses `none`, `mean` or `sum`.
    pub fn parse(name: &str) -> Option<Reduction> {
        match name {
            "none" => Some(Reduction::None),
            "mean" => Some(Reduction::Mean),
            "sum" => Some(Reduction::Sum),
            _ => None,
        }
    }

}

/// A validated cross-entropy.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossEntropy {
    /// The logits' shape `[N, C, d…]`.
    pub logits_shape: Shape,
    /// The targets, one per sample (`ignore_index` allowed).
    pub targets: Vec<i64>,
    /// Samples whose target is this count for nothing.
    pub ignore_index: Option<i64>,
    /// How the losses are combined.
    pub reduction: Reduction,
    /// Whether class weights are given.
    pub weighted: bool,
    /// The loss's shape: `[]`, or the targets' shape for [`Reduction::None`].
    pub loss_shape: Shape,
    batch: usize,
    classes: usize,
    inner: usize,
}

/// What a cross-entropy computes: the loss, the log-probabilities, and the total weight (for the mean and for
/// backward).
#[derive(Clone, Debug)]
pub struct CrossEntropyOutput {
    /// The loss.
    pub loss: Tensor,
    /// `log_softmax(logits)` along the class axis.
    pub log_prob: Tensor,
    /// `Σ w[t_n]` over the samples not ignored (a scalar).
    pub total_weight: Tensor,
}

impl CrossEntropy {
    /// Checks the logits `[N, C, d…]`, the targets `[N, d…]` (each in `0..C` or `ignore_index`) and the weights `[C]`.
    pub fn new(logits: &Shape, targets: &Indices, weight: Option<&Shape>, ignore_index: Option<i64>, reduction: Reduction) -> Result<CrossEntropy> {
        let err = |kind, problem: &str| OpError::new(OP, kind, problem);
        if logits.rank() < 2 || logits.numel() == 0 {
            return Err(err(ErrorKind::Shape, "the logits need a batch and a class axis")
                .expected("[N, C] (or [N, C, d…])")
                .given(logits)
                .hint("one row of class scores per sample")
                .into());
        }
        let dims = logits.dims();
        let (batch, classes) = (dims[0], dims[1]);
        let mut sample_dims = vec![batch];
        sample_dims.extend_from_slice(&dims[2..]);
        if targets.shape().dims() != sample_dims.as_slice() {
            return Err(err(ErrorKind::Shape, "there must be one target per sample")
                .expected(Shape::from(sample_dims))
                .given(targets.shape())
                .hint("targets are class numbers, not one-hot rows")
                .into());
        }
        if let Some(w) = weight
            && w.dims() != [classes]
        {
            return Err(err(ErrorKind::Shape, "the class weights need one value per class")
                .expected(format!("[{classes}]"))
                .given(w)
                .hint("or pass no weights")
                .into());
        }
        for (n, &t) in targets.values().iter().enumerate() {
            if Some(t) != ignore_index && !(0..classes as i64).contains(&t) {
                return Err(err(ErrorKind::IndexOutOfRange, "a target is not one of the classes")
                    .expected(format!("targets in 0..{classes}"))
                    .given(format!("target {t} for sample {n}"))
                    .hint("number the classes from 0, or mark unlabelled samples with ignore_index")
                    .into());
            }
        }
        let loss_shape = if reduction == Reduction::None { targets.shape().clone() } else { Shape::default() };
        Ok(CrossEntropy {
            logits_shape: logits.clone(),
            targets: targets.values().to_vec(),
            ignore_index,
            reduction,
            weighted: weight.is_some(),
            loss_shape,
            batch,
            classes,
            inner: dims[2..].iter().product(),
        })
    }

    /// Flat index of class `c` of sample `s` (s = n·inner + i).
    fn at(&self, s: usize, c: usize) -> usize {
        (s / self.inner * self.classes + c) * self.inner + s % self.inner
    }

    /// The weight of sample `s` (0 when ignored).
    fn sample_weight(&self, s: usize, weight: Option<&Tensor>) -> f32 {
        let t = self.targets[s];
        if Some(t) == self.ignore_index { 0.0 } else { weight.map_or(1.0, |w| w.data()[t as usize]) }
    }

    /// The loss and what backward needs, on the logits' device (the CPU runs the reference).
    pub fn forward(&self, logits: &Tensor, weight: Option<&Tensor>) -> Result<CrossEntropyOutput> {
        on_device(OP, std::iter::once(logits).chain(weight), || self.reference_forward(logits, weight), |gpu| self.forward_gpu(gpu, logits, weight))
    }

    /// The gradient of the logits, for the loss's gradient `dloss`.
    pub fn backward(&self, saved: &CrossEntropyOutput, weight: Option<&Tensor>, dloss: &Tensor) -> Result<Tensor> {
        let inputs = [&saved.log_prob, &saved.total_weight, dloss].into_iter().chain(weight);
        on_device(OP, inputs, || self.reference_backward(saved, weight, dloss), |gpu| self.backward_gpu(gpu, saved, weight, dloss))
    }

    /// The reference forward.
    pub fn reference_forward(&self, logits: &Tensor, weight: Option<&Tensor>) -> CrossEntropyOutput {
        let mut log_prob = Tensor::zeros(self.logits_shape.clone());
        let samples = self.batch * self.inner;
        let mut losses = vec![0.0; samples];
        let mut total_weight = 0.0;
        let lp = log_prob.data_mut();
        for s in 0..samples {
            let max = (0..self.classes).map(|c| logits.data()[self.at(s, c)]).fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = (0..self.classes).map(|c| (logits.data()[self.at(s, c)] - max).exp()).sum();
            for c in 0..self.classes {
                let k = self.at(s, c);
                lp[k] = logits.data()[k] - max - sum.ln();
            }
            let w = self.sample_weight(s, weight);
            if w != 0.0 {
                losses[s] = -w * lp[self.at(s, self.targets[s] as usize)];
            }
            total_weight += w;
        }
        let loss = match self.reduction {
            Reduction::None => Tensor::new(self.loss_shape.clone(), losses),
            Reduction::Sum => Tensor::new(Shape::default(), vec![losses.iter().sum()]),
            Reduction::Mean => Tensor::new(Shape::default(), vec![losses.iter().sum::<f32>() / total_weight]),
        }
        .expect("the loss shape matches the samples");
        CrossEntropyOutput { loss, log_prob, total_weight: Tensor::scalar(total_weight) }
    }

    /// The reference backward.
    pub fn reference_backward(&self, saved: &CrossEntropyOutput, weight: Option<&Tensor>, dloss: &Tensor) -> Tensor {
        let mut dlogits = Tensor::zeros(self.logits_shape.clone());
        let out = dlogits.data_mut();
        for s in 0..self.batch * self.inner {
            let w = self.sample_weight(s, weight);
            let g = match self.reduction {
                Reduction::None => dloss.data()[s],
                Reduction::Sum => dloss.data()[0],
                Reduction::Mean => dloss.data()[0] / saved.total_weight.data()[0],
            };
            for c in 0..self.classes {
                let k = self.at(s, c);
                let onehot = if c as i64 == self.targets[s] { 1.0 } else { 0.0 };
                out[k] = if w == 0.0 { 0.0 } else { g * w * (saved.log_prob.data()[k].exp() - onehot) };
            }
        }
        dlogits
    }
}

uniforms! {
    /// The `Params` of `shaders/cross_entropy.wgsl`.
    pub struct Uniforms {
        batch: u32, classes: u32, inner: u32, weighted: u32,
        has_ignore: u32, ignore_index: i32, reduction: u32,
    }
}

kernels! {
    shader "cross_entropy", uniforms Uniforms;
    SAMPLES = samples(logits: 1, targets: 2, weight: 3, log_prob: 4, losses: 5, weights: 6);
    REDUCE = reduce(losses: 5, weights: 6, loss: 7, total_weight: 8);
    BACKWARD = backward(targets: 2, weight: 3, log_prob: 4, total_weight: 8, dloss: 9, dlogits: 10);
}

impl CrossEntropy {
    fn uniforms(&self) -> Uniforms {
        Uniforms {
            batch: self.batch as u32,
            classes: self.classes as u32,
            inner: self.inner as u32,
            weighted: self.weighted as u32,
            has_ignore: self.ignore_index.is_some() as u32,
            ignore_index: self.ignore_index.unwrap_or(0) as i32,
            reduction: self.reduction as u32,
        }
    }

    /// The targets as the i32 words the shader reads.
    fn targets_gpu(&self, gpu: &Gpu) -> GpuBuffer {
        gpu.upload(&self.targets.iter().map(|&t| t as i32).collect::<Vec<_>>())
    }

    /// Per-sample losses (one invocation each), then one workgroup sums them.
    fn forward_gpu(&self, gpu: &Gpu, logits: &Tensor, weight: Option<&Tensor>) -> CrossEntropyOutput {
        let samples = self.batch * self.inner;
        let targets = self.targets_gpu(gpu);
        let weight = weight.map_or(gpu.placeholder(), Tensor::buffer);
        let out = CrossEntropyOutput {
            loss: Tensor::empty_on(gpu, self.loss_shape.clone()),
            log_prob: Tensor::empty_on(gpu, self.logits_shape.clone()),
            total_weight: Tensor::empty_on(gpu, Shape::default()),
        };
        let (losses, weights) = (Tensor::empty_on(gpu, [samples]), Tensor::empty_on(gpu, [samples]));
        let u = self.uniforms();
        let rows = [logits.buffer(), targets.buffer(), weight, out.log_prob.buffer(), losses.buffer(), weights.buffer()];
        gpu.dispatch(&SAMPLES, &u, rows, samples);
        gpu.dispatch_grid(&REDUCE, &u, [losses.buffer(), weights.buffer(), out.loss.buffer(), out.total_weight.buffer()], [1, 1, 1]);
        out
    }

    fn backward_gpu(&self, gpu: &Gpu, saved: &CrossEntropyOutput, weight: Option<&Tensor>, dloss: &Tensor) -> Tensor {
        let targets = self.targets_gpu(gpu);
        let weight = weight.map_or(gpu.placeholder(), Tensor::buffer);
        let dlogits = Tensor::empty_on(gpu, self.logits_shape.clone());
        let buffers = [targets.buffer(), weight, saved.log_prob.buffer(), saved.total_weight.buffer(), dloss.buffer(), dlogits.buffer()];
        gpu.dispatch(&BACKWARD, &self.uniforms(), buffers, dlogits.numel());
        dlogits
    }
}

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for CrossEntropy {
    fn outputs(&self, x: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        let weight = x.get(1).copied();
        let out = path.run(|| self.reference_forward(x[0], weight), || self.forward(x[0], weight))?;
        Ok(vec![out.loss, out.log_prob, out.total_weight])
    }

    fn gradients(&self, x: &[&Tensor], out: &[&Tensor], dloss: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        let saved = CrossEntropyOutput { loss: out[0].clone(), log_prob: out[1].clone(), total_weight: out[2].clone() };
        let weight = x.get(1).copied();
        let dlogits = path.run(|| self.reference_backward(&saved, weight, dloss[0]), || self.backward(&saved, weight, dloss[0]))?;
        let mut grads = vec![Some(dlogits)];
        grads.extend(weight.map(|_| None));
        Ok(grads)
    }
}

/// Weighted, with `ignore_index` and extra positions, in every reduction; and the unweighted mean of a batch.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    use crate::ops::dispatch::Example;
    let mut out = Vec::new();
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        let logits = Tensor::randn([4, 5, 2], rng);
        let weight = Tensor::uniform([5], 0.5, 2.0, rng);
        let targets = Indices::new([4, 2], (0..8).map(|_| rng.below(5) as i64).collect()).expect("8 targets");
        let op = CrossEntropy::new(logits.shape(), &targets, Some(weight.shape()), Some(2), reduction).expect("valid");
        out.push(Example::new(format!("cross_entropy weighted, ignore 2, {reduction:?}"), op, vec![logits, weight]));
    }
    let logits = Tensor::randn([64, 10], rng);
    let targets = Indices::vector((0..64).map(|_| rng.below(10) as i64).collect());
    let op = CrossEntropy::new(logits.shape(), &targets, None, None, Reduction::Mean).expect("valid");
    out.push(Example::new("cross_entropy of a batch of 64", op, vec![logits]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confident_right_answer_costs_little_and_a_wrong_one_much() {
        let logits = Tensor::new([2, 3], vec![10.0, 0.0, 0.0, 10.0, 0.0, 0.0]).unwrap();
        let op = CrossEntropy::new(logits.shape(), &Indices::vector(vec![0, 1]), None, None, Reduction::None).unwrap();
        let loss = op.forward(&logits, None).unwrap().loss;
        assert!(loss.data()[0] < 1e-3 && (loss.data()[1] - 10.0).abs() < 1e-3, "{loss:?}");
    }

    #[test]
    fn the_weighted_mean_divides_by_the_weights_and_ignores_ignore_index() {
        let mut rng = crate::rng::Rng::new(14);
        let logits = Tensor::randn([3, 4], &mut rng);
        let w = Tensor::new([4], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let t = Indices::vector(vec![1, 3, 2]);
        let each = CrossEntropy::new(logits.shape(), &t, Some(w.shape()), Some(2), Reduction::None).unwrap().forward(&logits, Some(&w)).unwrap().loss;
        let mean = CrossEntropy::new(logits.shape(), &t, Some(w.shape()), Some(2), Reduction::Mean).unwrap().forward(&logits, Some(&w)).unwrap().loss;
        assert_eq!(each.data()[2], 0.0);
        assert!((mean.data()[0] - (each.data()[0] + each.data()[1]) / 6.0).abs() < 1e-6);
    }

    #[test]
    fn a_target_outside_the_classes_is_explained() {
        let e = CrossEntropy::new(&Shape::from([2, 3]), &Indices::vector(vec![0, 3]), None, None, Reduction::Mean).unwrap_err();
        assert!(matches!(e, crate::Error::Op(e) if e.kind == ErrorKind::IndexOutOfRange));
        assert!(CrossEntropy::new(&Shape::from([2, 3]), &Indices::vector(vec![0]), None, None, Reduction::Mean).is_err());
    }
}
