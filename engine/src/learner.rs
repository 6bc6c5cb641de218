//! Training: the step (forward, loss, backward, update), the one-cycle fit over epochs, and evaluation.
//!
//! The whole step is recorded on the backend without waiting: on the GPU it becomes one submission, and the loss
//! is read back only every `read_every` steps (each read waits for the work recorded so far).

use crate::backend::{Backend, DeviceTensor};
use crate::clock::now_ms;
use crate::data::{Dataset, Targets, shuffle};
use crate::error::{ErrorKind, OpError, Result};
use crate::nn::Model;
use crate::ops::cross_entropy::{CrossEntropy, Reduction};
use crate::ops::mse::Mse;
use crate::optim::{OneCycle, Optimizer};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// The loss a model trains on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Classification: cross-entropy of the scores.
    CrossEntropy,
    /// Regression: mean squared error (of log values, for sales).
    Mse,
}

/// What validation reports besides the loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// The share of items whose highest score is the right class.
    Accuracy,
    /// Root mean square percentage error of `exp(prediction)` against `exp(target)` (for log targets).
    Rmspe,
}

impl Metric {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::Rmspe => "rmspe",
        }
    }
}

/// How to fit.
#[derive(Clone, Debug, PartialEq)]
pub struct FitConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Items per step.
    pub batch_size: usize,
    /// The one-cycle peak learning rate.
    pub lr_max: f32,
    /// Shuffling seed.
    pub seed: u64,
    /// Read the loss back every this many steps.
    pub read_every: usize,
    /// The loss.
    pub loss: Loss,
    /// The validation metric.
    pub metric: Metric,
}

/// One epoch's report.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// From 1.
    pub epoch: usize,
    /// Mean of the training losses read back during the epoch.
    pub train_loss: f32,
    /// Mean validation loss.
    pub valid_loss: f32,
    /// The validation metric.
    pub metric: f32,
    /// Training items per second (validation excluded).
    pub items_per_s: f64,
}

/// The loss tensor and the gradient of the model's output, for one batch.
fn loss_and_gradient<B: Backend>(b: &B, loss: Loss, out: &B::Tensor, targets: &Targets, one: &B::Tensor) -> Result<(B::Tensor, B::Tensor)> {
    match (loss, targets) {
        (Loss::CrossEntropy, Targets::Classes(t)) => {
            let op = CrossEntropy::new(out.shape(), t, None, None, Reduction::Mean)?;
            let saved = b.cross_entropy(&op, out, None);
            let dout = b.cross_entropy_backward(&op, &saved, None, one);
            Ok((saved.loss, dout))
        }
        (Loss::Mse, Targets::Values(t)) => {
            let target = b.upload(t);
            let op = Mse::new(out.shape(), target.shape(), Reduction::Mean)?;
            let value = b.mse(&op, out, &target);
            let (dout, _) = b.mse_backward(&op, out, &target, one);
            Ok((value, dout))
        }
        _ => Err(OpError::new("learner", ErrorKind::Value, "the loss does not suit the targets")
            .expected("cross-entropy with classes, MSE with values")
            .given(format!("{loss:?}"))
            .hint("classify with Loss::CrossEntropy, regress with Loss::Mse")
            .into()),
    }
}

/// One training step: forward, loss, backward, update. Returns the loss, still on the backend.
pub fn train_step<B: Backend, M: Model<B>>(
    b: &B,
    model: &mut M,
    optimizer: &mut Optimizer,
    input: &M::Input,
    targets: &Targets,
    loss: Loss,
    lr: f32,
    momentum: f32,
    one: &B::Tensor,
) -> Result<B::Tensor> {
    let out = model.forward(b, input)?;
    let (value, dout) = loss_and_gradient(b, loss, &out, targets, one)?;
    model.backward(b, &dout);
    optimizer.step(b, model.params_mut(), lr, momentum)?;
    Ok(value)
}

/// The scalar 1, the upstream gradient of a loss.
pub fn one<B: Backend>(b: &B) -> B::Tensor {
    b.upload(&Tensor::new(Shape::default(), vec![1.0]).expect("a scalar"))
}

/// Validation loss and metric, in evaluation mode, batch by batch.
pub async fn evaluate<B: Backend, M: Model<B>, D: Dataset<B, Input = M::Input>>(
    b: &B,
    model: &mut M,
    data: &D,
    batch_size: usize,
    loss: Loss,
    metric: Metric,
) -> Result<(f32, f32)> {
    model.set_training(false);
    let one = one(b);
    let (mut loss_sum, mut hits, mut squares, mut count) = (0.0f64, 0usize, 0.0f64, 0usize);
    let items: Vec<usize> = (0..data.len()).collect();
    for chunk in items.chunks(batch_size.max(1)) {
        let (input, targets) = data.batch(b, chunk);
        let out = model.forward(b, &input)?;
        let (value, _) = loss_and_gradient(b, loss, &out, &targets, &one)?;
        loss_sum += b.read(&value).await?.data()[0] as f64 * chunk.len() as f64;
        let predictions = b.read(&out).await?;
        match (&targets, metric) {
            (Targets::Classes(t), Metric::Accuracy) => {
                let classes = predictions.shape().dims()[1];
                for (row, &label) in predictions.data().chunks(classes).zip(t.values()) {
                    let best = row.iter().enumerate().fold(0, |best, (i, &v)| if v > row[best] { i } else { best });
                    hits += (best as i64 == label) as usize;
                }
            }
            (Targets::Values(t), Metric::Rmspe) => {
                for (p, y) in predictions.data().iter().zip(t.data()) {
                    let (p, y) = ((*p as f64).exp(), (*y as f64).exp());
                    squares += ((y - p) / y).powi(2);
                }
            }
            _ => {}
        }
        count += chunk.len();
    }
    model.set_training(true);
    let n = count.max(1) as f64;
    let value = match metric {
        Metric::Accuracy => hits as f64 / n,
        Metric::Rmspe => (squares / n).sqrt(),
    };
    Ok(((loss_sum / n) as f32, value as f32))
}

/// Fits `model` with the one-cycle schedule: `epochs` passes over `train`, evaluating on `valid` after each.
/// `progress(step, total)` is called after every step, `on_epoch` after every epoch.
pub async fn fit_one_cycle<B: Backend, M: Model<B>, D: Dataset<B, Input = M::Input>>(
    b: &B,
    model: &mut M,
    optimizer: &mut Optimizer,
    train: &D,
    valid: &D,
    config: &FitConfig,
    mut progress: impl FnMut(usize, usize),
    mut on_epoch: impl FnMut(&EpochReport),
) -> Result<Vec<EpochReport>> {
    let batch = config.batch_size.max(1);
    let steps_per_epoch = train.len().div_ceil(batch);
    let total = steps_per_epoch * config.epochs;
    let schedule = OneCycle::new(config.lr_max, total);
    let mut rng = Rng::new(config.seed);
    let one = one(b);
    let mut reports = Vec::new();
    let mut step = 0;
    model.set_training(true);
    for epoch in 1..=config.epochs {
        let mut order: Vec<usize> = (0..train.len()).collect();
        shuffle(&mut order, &mut rng);
        let start = now_ms();
        let mut losses = Vec::new();
        for (i, chunk) in order.chunks(batch).enumerate() {
            let (input, targets) = train.batch(b, chunk);
            let value = train_step(b, model, optimizer, &input, &targets, config.loss, schedule.lr(step), schedule.momentum(step), &one)?;
            step += 1;
            if (i + 1) % config.read_every.max(1) == 0 || i + 1 == steps_per_epoch {
                losses.push(b.read(&value).await?.data()[0]);
            }
            progress(step, total);
        }
        let seconds = (now_ms() - start) / 1000.0;
        let (valid_loss, metric) = evaluate(b, model, valid, batch, config.loss, config.metric).await?;
        let report = EpochReport {
            epoch,
            train_loss: losses.iter().sum::<f32>() / losses.len().max(1) as f32,
            valid_loss,
            metric,
            items_per_s: train.len() as f64 / seconds.max(1e-9),
        };
        on_epoch(&report);
        reports.push(report);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::digits;
    use crate::{Cpu, models};

    #[test]
    fn one_epoch_on_the_digits_learns_and_reports() {
        let (train, valid) = digits::parse(include_bytes!("../../public/data/digits_u8.bin")).unwrap().split(0.2, 1);
        let (train, valid) = (train.subset(&(0..640).collect::<Vec<_>>()), valid.subset(&(0..200).collect::<Vec<_>>()));
        let mut model = models::digits_cnn(&Cpu, &mut Rng::new(1));
        let config = FitConfig { epochs: 2, batch_size: 64, lr_max: 1e-2, seed: 1, read_every: 5, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
        let (mut steps, mut epochs) = (0, 0);
        let reports = pollster::block_on(fit_one_cycle(&Cpu, &mut model, &mut Optimizer::adamw(0.01), &train, &valid, &config, |_, _| steps += 1, |_| epochs += 1)).unwrap();
        assert_eq!((steps, epochs), (20, 2));
        let last = reports.last().unwrap();
        assert!(last.metric > 0.8, "accuracy {} after two short epochs", last.metric);
        assert!(last.train_loss < reports[0].train_loss);
    }

    #[test]
    fn the_same_seed_trains_to_the_same_numbers() {
        let (train, valid) = digits::parse(include_bytes!("../../public/data/digits_u8.bin")).unwrap().split(0.2, 2);
        let (train, valid) = (train.subset(&(0..256).collect::<Vec<_>>()), valid.subset(&(0..64).collect::<Vec<_>>()));
        let config = FitConfig { epochs: 1, batch_size: 32, lr_max: 1e-2, seed: 3, read_every: 2, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
        let fit = || {
            let mut model = models::digits_cnn(&Cpu, &mut Rng::new(4));
            let r = pollster::block_on(fit_one_cycle(&Cpu, &mut model, &mut Optimizer::adamw(0.01), &train, &valid, &config, |_, _| {}, |_| {})).unwrap();
            (r[0].train_loss, r[0].valid_loss, r[0].metric)
        };
        assert_eq!(fit(), fit());
    }

    #[test]
    fn a_loss_that_does_not_suit_the_targets_is_explained() {
        let out = Tensor::zeros([2, 3]);
        let targets = Targets::Values(Tensor::zeros([2, 1]));
        assert!(loss_and_gradient(&Cpu, Loss::CrossEntropy, &out, &targets, &one(&Cpu)).is_err());
    }
}
