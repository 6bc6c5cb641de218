//! Training: the step (forward, loss, backward, update), the one-cycle fit over epochs as a [`Trainer`] that
//! advances one step at a time, and evaluation.
//!
//! The whole step is recorded on the model's device without waiting: on the GPU it becomes one submission, and the
//! loss is read back only every `read_every` steps (each read waits for the work recorded so far). Between steps a
//! caller may do anything else: the app's training runner draws its curves and answers the learner.

use crate::clock::now_ms;
use crate::data::{Dataset, Targets, shuffle};
use crate::device::Device;
use crate::error::{ErrorKind, OpError, Result};
use crate::nn::{Model, load_state, read_state};
use crate::ops::cross_entropy::{CrossEntropy, Reduction};
use crate::ops::mse::Mse;
use crate::optim::{OneCycle, Optimizer};
use crate::rng::Rng;
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

/// The loss tensor and the gradient of the model's output, for one batch (on the output's device).
fn loss_and_gradient(loss: Loss, out: &Tensor, targets: &Targets) -> Result<(Tensor, Tensor)> {
    let device = out.device();
    let one = Tensor::scalar(1.0).to(&device);
    match (loss, targets) {
        (Loss::CrossEntropy, Targets::Classes(t)) => {
            let op = CrossEntropy::new(out.shape(), t, None, None, Reduction::Mean)?;
            let saved = op.forward(out, None)?;
            let dout = op.backward(&saved, None, &one)?;
            Ok((saved.loss, dout))
        }
        (Loss::Mse, Targets::Values(t)) => {
            let target = t.to(&device);
            let op = Mse::new(out.shape(), target.shape(), Reduction::Mean)?;
            let value = op.forward(out, &target)?;
            let (dout, _) = op.backward(out, &target, &one)?;
            Ok((value, dout))
        }
        _ => Err(OpError::new("learner", ErrorKind::Value, "the loss does not suit the targets")
            .expected("cross-entropy with classes, MSE with values")
            .given(format!("{loss:?}"))
            .hint("classify with Loss::CrossEntropy, regress with Loss::Mse")
            .into()),
    }
}

/// One training step: forward, loss, backward, update. Returns the loss, still on the model's device.
#[allow(clippy::too_many_arguments)]
pub fn train_step<M: Model>(model: &mut M, optimizer: &mut Optimizer, input: &M::Input, targets: &Targets, loss: Loss, lr: f32, momentum: f32) -> Result<Tensor> {
    let out = model.forward(input)?;
    let (value, dout) = loss_and_gradient(loss, &out, targets)?;
    model.backward(&dout)?;
    optimizer.step(model.params_mut(), lr, momentum)?;
    Ok(value)
}

/// A validation pass in progress: where it is, and its running sums.
#[derive(Clone, Debug, Default)]
struct Evaluation {
    /// The next item to evaluate.
    next: usize,
    loss_sum: f64,
    hits: usize,
    squares: f64,
    count: usize,
    /// How long the epoch's training took, measured when its evaluation began.
    train_seconds: f64,
}

impl Evaluation {
    /// Evaluates the next batch of `data` (the model already in evaluation mode).
    async fn batch<M: Model, D: Dataset<Input = M::Input>>(&mut self, device: &Device, model: &mut M, data: &D, batch_size: usize, loss: Loss, metric: Metric) -> Result<()> {
        let end = (self.next + batch_size.max(1)).min(data.len());
        let items: Vec<usize> = (self.next..end).collect();
        let (input, targets) = data.batch(device, &items);
        let out = model.forward(&input)?;
        let (value, _) = loss_and_gradient(loss, &out, &targets)?;
        self.loss_sum += value.read().await?.data()[0] as f64 * items.len() as f64;
        let predictions = out.read().await?;
        match (&targets, metric) {
            (Targets::Classes(t), Metric::Accuracy) => {
                let classes = predictions.shape().dims()[1];
                for (row, &label) in predictions.data().chunks(classes).zip(t.values()) {
                    let best = row.iter().enumerate().fold(0, |best, (i, &v)| if v > row[best] { i } else { best });
                    self.hits += (best as i64 == label) as usize;
                }
            }
            (Targets::Values(t), Metric::Rmspe) => {
                for (p, y) in predictions.data().iter().zip(t.data()) {
                    let (p, y) = ((*p as f64).exp(), (*y as f64).exp());
                    self.squares += ((y - p) / y).powi(2);
                }
            }
            _ => {}
        }
        self.count += items.len();
        self.next = end;
        Ok(())
    }

    /// The mean loss and the metric so far.
    fn result(&self, metric: Metric) -> (f32, f32) {
        let n = self.count.max(1) as f64;
        let value = match metric {
            Metric::Accuracy => self.hits as f64 / n,
            Metric::Rmspe => (self.squares / n).sqrt(),
        };
        ((self.loss_sum / n) as f32, value as f32)
    }
}

/// What one training step reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Steps done so far, this one included.
    pub step: usize,
    /// Steps in the whole run.
    pub total: usize,
    /// The step's loss, when it was read back (every `read_every` steps, and at an epoch's end).
    pub loss: Option<f32>,
    /// Whether this step ended an epoch (call [`Trainer::end_epoch`] next).
    pub epoch_done: bool,
}

/// How many of `items` training items an epoch uses in batches of `batch`: all of them, except that a last batch of
/// a single item is left out (that epoch; the next shuffles it back in). Batch norm cannot train on one value per
/// channel (PyTorch refuses it too), and fastai's training loader drops every partial last batch for the same reason.
pub fn epoch_items(items: usize, batch: usize) -> usize {
    if items > 1 && batch > 1 && items % batch == 1 { items - 1 } else { items }
}

/// The steps of an epoch over `items` training items in batches of `batch` (see [`epoch_items`]): what a page
/// shows before a run starts, and what the run takes.
pub fn steps_per_epoch(items: usize, batch: usize) -> usize {
    epoch_items(items, batch).div_ceil(batch.max(1))
}

/// Where a run can start again ([`Trainer::checkpoint`], [`Trainer::resume`]): weights read back to the CPU, named
/// as a `state_dict` names them, and the epochs done when they were read.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The weights and buffers.
    pub weights: Vec<(String, Tensor)>,
    /// The epochs done.
    pub epochs: usize,
}

/// A one-cycle fit advancing one step at a time: `epochs` passes over `train`, shuffled from `seed`, with
/// [`Trainer::end_epoch`] evaluating on `valid` after each. [`Trainer::fit`] runs it to the end; the app's
/// training runner calls [`Trainer::step`] between frames instead, and may pause or stop between any two steps.
pub struct Trainer<M: Model, D: Dataset<Input = M::Input>> {
    /// The model being trained.
    pub model: M,
    /// Its optimizer.
    pub optimizer: Optimizer,
    /// Where the batches go (the model's device).
    pub device: Device,
    /// The settings.
    pub config: FitConfig,
    train: D,
    valid: D,
    schedule: OneCycle,
    rng: Rng,
    /// This epoch's shuffled items, and how many of them have been used.
    order: Vec<usize>,
    next: usize,
    step: usize,
    epoch: usize,
    epoch_start_ms: f64,
    epoch_losses: Vec<f32>,
    /// The evaluation of the epoch that just ended, while it runs in pieces.
    evaluation: Option<Evaluation>,
    /// The last good weights (before the first step, then after each epoch whose validation loss was finite) and
    /// the epochs done then: where a run that diverges goes back to.
    good: Option<(Vec<(String, Tensor)>, usize)>,
    /// The first training loss read.
    first_loss: Option<f32>,
}

impl<M: Model, D: Dataset<Input = M::Input>> Trainer<M, D> {
    /// A fit of `model` (on `device`) over `train`, evaluated on `valid`.
    pub fn new(device: &Device, model: M, optimizer: Optimizer, train: D, valid: D, config: FitConfig) -> Self {
        let schedule = OneCycle::new(config.lr_max, steps_per_epoch(train.len(), config.batch_size) * config.epochs);
        let rng = Rng::new(config.seed);
        Trainer {
            model,
            optimizer,
            device: device.clone(),
            train,
            valid,
            schedule,
            rng,
            order: Vec::new(),
            next: 0,
            step: 0,
            epoch: 0,
            epoch_start_ms: 0.0,
            epoch_losses: Vec::new(),
            evaluation: None,
            good: None,
            first_loss: None,
            config,
        }
    }

    /// The same fit at a constant learning rate (`config.lr_max` at every step, momentum 0.9) instead of one-cycle:
    /// fastai's `learn.fit` rather than `learn.fit_one_cycle`.
    pub fn without_one_cycle(mut self) -> Self {
        self.schedule = OneCycle::constant(self.config.lr_max, self.total_steps());
        self
    }

    /// The device it trains on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Steps in one epoch.
    pub fn steps_per_epoch(&self) -> usize {
        steps_per_epoch(self.train.len(), self.config.batch_size)
    }

    /// Steps in the whole run.
    pub fn total_steps(&self) -> usize {
        self.steps_per_epoch() * self.config.epochs
    }

    /// The validation set.
    pub fn valid_set(&self) -> &D {
        &self.valid
    }

    /// Steps done so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// Whether every epoch has run.
    pub fn finished(&self) -> bool {
        self.step >= self.total_steps()
    }

    /// The next step: a batch of the epoch's shuffled order, forward, loss, backward, update, with the
    /// schedule's learning rate and momentum. The loss is read back every `read_every` steps and at the epoch's
    /// end (on the GPU only those reads wait). After the last step this does nothing.
    pub async fn step(&mut self) -> Result<StepReport> {
        let total = self.total_steps();
        if self.finished() {
            return Ok(StepReport { step: self.step, total, loss: None, epoch_done: false });
        }
        if !self.order.is_empty() && self.next >= self.order.len() {
            // The last epoch ended without end_epoch: move on without evaluating.
            self.epoch += 1;
            self.next = 0;
            self.evaluation = None;
        }
        if self.next == 0 {
            self.order = (0..self.train.len()).collect();
            shuffle(&mut self.order, &mut self.rng);
            self.order.truncate(epoch_items(self.train.len(), self.config.batch_size));
            self.epoch_start_ms = now_ms();
            self.epoch_losses.clear();
        }
        if self.good.is_none() {
            self.good = Some((read_state(&mut self.model).await?, self.epoch));
        }
        // Training mode every step: between steps a lesson may have run the model in evaluation mode.
        self.model.set_training(true);
        let end = (self.next + self.config.batch_size.max(1)).min(self.order.len());
        let (input, targets) = self.train.batch(&self.device, &self.order[self.next..end]);
        let (lr, momentum) = (self.schedule.lr(self.step), self.schedule.momentum(self.step));
        let value = train_step(&mut self.model, &mut self.optimizer, &input, &targets, self.config.loss, lr, momentum)?;
        self.next = end;
        self.step += 1;
        let epoch_done = self.next >= self.order.len();
        let in_epoch = self.step - self.epoch * self.steps_per_epoch();
        let loss = if in_epoch.is_multiple_of(self.config.read_every.max(1)) || epoch_done {
            let loss = value.read().await?.data()[0];
            // Diverging: the loss overflowed, or grew a hundredfold from the first one read (at least from 1), which
            // no working learning rate does.
            let first = *self.first_loss.get_or_insert(loss);
            if !loss.is_finite() || loss > 100.0 * first.max(1.0) {
                return Err(self.diverged(format!("the training loss went from {first:.4} to {loss:.4e} by step {}, with a learning rate of {lr:.3e}", self.step)));
            }
            self.epoch_losses.push(loss);
            Some(loss)
        } else {
            None
        };
        Ok(StepReport { step: self.step, total, loss, epoch_done })
    }

    /// Ends the epoch that the last step finished: evaluates on the validation set and reports.
    pub async fn end_epoch(&mut self) -> Result<EpochReport> {
        loop {
            if let Some(report) = self.evaluate_some(f64::INFINITY).await? {
                return Ok(report);
            }
        }
    }

    /// [`Trainer::end_epoch`] in pieces: evaluates batches until `budget_ms` have passed (at least one batch), then
    /// returns `None` while batches remain, or the epoch's report once the last is done. A page calls it between
    /// frames, so that no evaluation holds the page for long.
    pub async fn evaluate_some(&mut self, budget_ms: f64) -> Result<Option<EpochReport>> {
        let start = now_ms();
        let Trainer { model, device, valid, config, evaluation, epoch_start_ms, .. } = self;
        let pass = evaluation.get_or_insert_with(|| Evaluation { train_seconds: (start - *epoch_start_ms) / 1000.0, ..Evaluation::default() });
        model.set_training(false);
        while pass.next < valid.len() {
            if let Err(e) = pass.batch(device, model, valid, config.batch_size, config.loss, config.metric).await {
                model.set_training(true);
                *evaluation = None;
                return Err(e);
            }
            if now_ms() - start >= budget_ms && pass.next < valid.len() {
                model.set_training(true);
                return Ok(None);
            }
        }
        model.set_training(true);
        let pass = evaluation.take().unwrap_or_default();
        let (valid_loss, metric) = pass.result(config.metric);
        if !valid_loss.is_finite() {
            return Err(self.diverged(format!("the validation loss became {valid_loss} after epoch {}", self.epoch + 1)));
        }
        self.epoch += 1;
        self.next = 0;
        self.good = Some((read_state(&mut self.model).await?, self.epoch));
        Ok(Some(EpochReport {
            epoch: self.epoch,
            train_loss: self.epoch_losses.iter().sum::<f32>() / self.epoch_losses.len().max(1) as f32,
            valid_loss,
            metric,
            items_per_s: self.train.len() as f64 / pass.train_seconds.max(1e-9),
        }))
    }

    /// Where this run could start again: its last good weights (copies on the CPU: before the first step, then
    /// after each epoch) and the epochs done then. `None` before the first step.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        self.good.clone().map(|(weights, epochs)| Checkpoint { weights, epochs })
    }

    /// Goes on from `checkpoint`, taken from a run of the same settings (one whose GPU was lost, say): its weights,
    /// then the epochs after it, shuffled as that run would have shuffled them. The optimizer's state (momentum,
    /// Adam's moments) starts again, as when weights are loaded.
    pub fn resume(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        load_state(&mut self.model, &checkpoint.weights)?;
        // Each epoch draws its order from the run's generator: draw the epochs already done.
        for _ in 0..checkpoint.epochs {
            shuffle(&mut (0..self.train.len()).collect::<Vec<_>>(), &mut self.rng);
        }
        self.epoch = checkpoint.epochs;
        self.step = checkpoint.epochs * self.steps_per_epoch();
        self.next = 0;
        self.order.clear();
        self.evaluation = None;
        self.good = Some((checkpoint.weights.clone(), checkpoint.epochs));
        Ok(())
    }

    /// The run diverged (`what` says how): the model goes back to its last good weights (its optimizer's state
    /// cleared) and the error says so. The run then counts as finished.
    fn diverged(&mut self, what: String) -> crate::error::Error {
        let back = match &self.good {
            Some((weights, epochs)) if load_state(&mut self.model, weights).is_ok() => match epochs {
                0 => "its weights went back to where they were before the first step".to_string(),
                n => format!("its weights went back to where they were after epoch {n}, the last good one"),
            },
            _ => "its weights could not be put back".to_string(),
        };
        self.step = self.total_steps();
        OpError::new("training", ErrorKind::Value, format!("the model diverged: {what}, so training stopped and {back}"))
            .hint("a learning rate that large makes each step overshoot until the numbers overflow: choose a smaller learning rate and train again")
            .into()
    }

    /// A sentence on the batch size, when the training set is smaller than one batch: each epoch is then one
    /// batch of every item.
    pub fn batch_note(&self) -> Option<String> {
        let (batch, items) = (self.config.batch_size, self.train.len());
        (batch > items).then(|| format!("The batch size {batch} is larger than the {items} training items: each epoch is one batch of all {items}."))
    }

    /// Runs every remaining step, calling `progress(step, total)` after each and `on_epoch` after each epoch.
    pub async fn fit(&mut self, mut progress: impl FnMut(usize, usize), mut on_epoch: impl FnMut(&EpochReport)) -> Result<Vec<EpochReport>> {
        let mut reports = Vec::new();
        while !self.finished() {
            let step = self.step().await?;
            progress(step.step, step.total);
            if step.epoch_done {
                let report = self.end_epoch().await?;
                on_epoch(&report);
                reports.push(report);
            }
        }
        Ok(reports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::digits;
    use crate::models;

    const CPU: Device = Device::Cpu;

    /// The first `train` and `valid` digits of the split drawn with `seed`.
    fn digits_split(seed: u64, train: usize, valid: usize) -> (crate::data::ImageSet, crate::data::ImageSet) {
        let (t, v) = digits::parse(include_bytes!("../../public/data/digits_u8.bin")).unwrap().split(0.2, seed);
        (t.subset(&(0..train).collect::<Vec<_>>()), v.subset(&(0..valid).collect::<Vec<_>>()))
    }

    #[test]
    fn one_epoch_on_the_digits_learns_and_reports() {
        let (train, valid) = digits_split(1, 640, 200);
        let model = models::digits_cnn(&CPU, &mut Rng::new(1));
        let config = FitConfig { epochs: 2, batch_size: 64, lr_max: 1e-2, seed: 1, read_every: 5, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
        let (mut steps, mut epochs) = (0, 0);
        let mut trainer = Trainer::new(&CPU, model, Optimizer::adamw(0.01), train, valid, config);
        let reports = pollster::block_on(trainer.fit(|_, _| steps += 1, |_| epochs += 1)).unwrap();
        assert_eq!((steps, epochs), (20, 2));
        let last = reports.last().unwrap();
        assert!(last.metric > 0.8, "accuracy {} after two short epochs", last.metric);
        assert!(last.train_loss < reports[0].train_loss);
    }

    #[test]
    fn a_learning_rate_of_1e9_diverges_stops_and_puts_the_weights_back() {
        let (train, valid) = digits_split(2, 256, 64);
        let config = FitConfig { epochs: 3, batch_size: 32, lr_max: 1e9, seed: 3, read_every: 1, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
        let mut model = models::digits_cnn(&CPU, &mut Rng::new(4));
        let before = pollster::block_on(read_state(&mut model)).unwrap();
        let mut trainer = Trainer::new(&CPU, model, Optimizer::sgd(0.0), train, valid, config).without_one_cycle();
        let e = pollster::block_on(trainer.fit(|_, _| {}, |_| {})).unwrap_err().to_string();
        assert!(e.contains("the model diverged") && e.contains("before the first step") && e.contains("choose a smaller learning rate"), "{e}");
        assert!(trainer.finished());
        assert_eq!(pollster::block_on(read_state(&mut trainer.model)).unwrap(), before, "the weights did not go back");
    }

    #[test]
    fn a_last_batch_of_one_is_left_out_so_that_batch_norm_can_train() {
        assert_eq!([epoch_items(17, 16), epoch_items(16, 16), epoch_items(18, 16), epoch_items(1, 16), epoch_items(5, 1)], [16, 16, 18, 1, 5]);
        // A model whose batch norm sees one value per channel (after a 1x1 map), on 33 items in batches of 16.
        let (train, valid) = digits_split(2, 33, 8);
        let arch = crate::architecture::Architecture::parse([1, 8, 8], 10, "conv8k8s1p0-bn-relu-flat-lin10").unwrap();
        let model = arch.build(&CPU, &mut Rng::new(1)).unwrap();
        let config = FitConfig { epochs: 2, batch_size: 16, lr_max: 1e-2, seed: 3, read_every: 1, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
        let mut trainer = Trainer::new(&CPU, model, Optimizer::adamw(0.01), train, valid, config);
        assert_eq!(trainer.steps_per_epoch(), 2);
        assert_eq!(pollster::block_on(trainer.fit(|_, _| {}, |_| {})).unwrap().len(), 2);
    }

    #[test]
    fn a_batch_larger_than_the_training_set_is_one_batch_and_says_so() {
        let (train, valid) = digits_split(2, 20, 8);
        let config = FitConfig { epochs: 2, batch_size: 64, lr_max: 1e-2, seed: 3, read_every: 1, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
        let mut trainer = Trainer::new(&CPU, models::digits_cnn(&CPU, &mut Rng::new(4)), Optimizer::adamw(0.01), train, valid, config);
        assert_eq!(trainer.steps_per_epoch(), 1);
        assert_eq!(trainer.batch_note().unwrap(), "The batch size 64 is larger than the 20 training items: each epoch is one batch of all 20.");
        assert_eq!(pollster::block_on(trainer.fit(|_, _| {}, |_| {})).unwrap().len(), 2);
    }

    #[test]
    fn the_same_seed_trains_to_the_same_numbers() {
        let (train, valid) = digits_split(2, 256, 64);
        let config = FitConfig { epochs: 1, batch_size: 32, lr_max: 1e-2, seed: 3, read_every: 2, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
        let fit = || {
            let model = models::digits_cnn(&CPU, &mut Rng::new(4));
            let mut trainer = Trainer::new(&CPU, model, Optimizer::adamw(0.01), train.clone(), valid.clone(), config.clone());
            let r = pollster::block_on(trainer.fit(|_, _| {}, |_| {})).unwrap();
            (r[0].train_loss, r[0].valid_loss, r[0].metric)
        };
        assert_eq!(fit(), fit());
    }

    #[test]
    fn an_evaluation_in_pieces_reports_what_one_in_a_go_reports() {
        let (train, valid) = digits_split(2, 128, 100);
        let config = FitConfig { epochs: 1, batch_size: 32, lr_max: 1e-2, seed: 3, read_every: 2, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
        let trained = || {
            let model = models::digits_cnn(&CPU, &mut Rng::new(4));
            let mut trainer = Trainer::new(&CPU, model, Optimizer::adamw(0.01), train.clone(), valid.clone(), config.clone());
            while !pollster::block_on(trainer.step()).unwrap().epoch_done {}
            trainer
        };
        let whole = pollster::block_on(trained().end_epoch()).unwrap();
        // A budget of 0 ms: one batch of 32 per call, so 100 items take four calls, the last with the report.
        let mut pieces = trained();
        let calls: Vec<Option<EpochReport>> = (0..4).map(|_| pollster::block_on(pieces.evaluate_some(0.0)).unwrap()).collect();
        assert!(calls[..3].iter().all(Option::is_none));
        let last = calls[3].clone().expect("the fourth batch ends the pass");
        assert_eq!((last.epoch, last.valid_loss, last.metric, last.train_loss), (whole.epoch, whole.valid_loss, whole.metric, whole.train_loss));
        assert!(pieces.finished());
    }

    #[test]
    fn a_loss_that_does_not_suit_the_targets_is_explained() {
        let out = Tensor::zeros([2, 3]);
        let targets = Targets::Values(Tensor::zeros([2, 1]));
        assert!(loss_and_gradient(Loss::CrossEntropy, &out, &targets).is_err());
    }
}
