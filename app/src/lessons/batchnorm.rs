//! `/batchnorm`: batch normalization step by step. A mini-batch of a layer's activations (rows are samples,
//! columns are features); each feature's batch mean and variance; the normalised values `x̂ = (x − μ)/√(σ² + ε)`;
//! then `γ·x̂ + β` with γ and β editable (and, for a model's ratings, learned). Over the training steps the running
//! mean and variance follow the batches with PyTorch's `momentum` (the new batch's weight), plotted against the
//! data's true statistics; evaluation normalises the same input with those running statistics instead (the page
//! shows the normalisation each mode used). Then the notes' claim about momentum corrected: what regularises is
//! the batch statistics' noise, measured by batch size, and a network trained with batches of 8 and of 128.
//!
//! The batches come from a known distribution (each feature uniform around a mean, drawn with the engine's integer
//! hash so that the PyTorch panel rebuilds them exactly), so the running statistics can be compared with the truth.
//!
//! URL parameters ([`PARAMS`]): `n` (rows per batch: 2, 4, 8, 16), `momentum` (0.01, 0.1, 0.5, 0.9), `k`
//! (training steps taken, 1–60), `mode` (`train`, `eval`), `gamma`, `beta` (three comma-separated numbers each,
//! −10 to 10), `y`, `x` (the selected value), `feature` (the feature plotted, 0–2), `rg`, `rb` (the ratings
//! head's γ and β, −10 to 10).

use crate::device::{use_device, with_fallback};
use crate::panel::{PCG_HASH_PY, PanelNumbers, exact, footer};
#[cfg(not(target_arch = "wasm32"))]
use crate::panel::{Assets, Case, url};
use crate::query::{AnyParam, Number, Param, Params, join};
use crate::widgets::plot::{LinePlot, Series};
use crate::widgets::training::{Job, digits_fit, digits_job, digits_side_by_side};
use crate::worker::Recipe;
use crate::widgets::{Cell, CodePanel, Cursor, LessonPage, MODE, NumberGrid, format_weight, mode_radios, number_input, select};
use engine::data::ImageSet;
use engine::learner::Trainer;
use engine::nn::{BatchNorm as BatchNormLayer, Flatten, Layer, Linear, ReLU, Sequential};
use engine::{Device, Tensor};
use engine::ops::batch_norm::{BatchNorm as BatchNormOp, BatchNormOutput, BatchNormParams};
use engine::rng::{Rng, pcg_hash};
use leptos::prelude::*;

/// Features per sample (the columns of the batch).
pub const FEATURES: usize = 3;
/// Each feature's true mean, in hundredths.
const MEAN_CENTS: [i32; FEATURES] = [200, -100, 500];
/// Each feature's half-width, in hundredths: values are uniform on `mean ± half`, in steps of 0.01.
const HALF_CENTS: [i32; FEATURES] = [260, 87, 520];

/// The rows per batch offered, and their names in URLs.
pub const BATCHES: [usize; 4] = [2, 4, 8, 16];
const BATCH_NAMES: [&str; 4] = ["2", "4", "8", "16"];
/// The momenta offered, and their names in URLs.
pub const MOMENTA: [f32; 4] = [0.01, 0.1, 0.5, 0.9];
const MOMENTUM_NAMES: [&str; 4] = ["0.01", "0.1", "0.5", "0.9"];

/// Rows per batch.
pub const BATCH: Param<usize> = Param::choices("n", 8, &BATCHES, batch_name);
/// The new batch's weight in the running statistics.
pub const MOMENTUM: Param<f32> = Param::choices("momentum", 0.1, &MOMENTA, momentum_name);
/// Training steps taken.
pub const STEP: Param<usize> = Param::range("k", 10, 1, 60);
/// γ of each feature (a list of three).
pub const GAMMA: Param<f32> = Param::range("gamma", 1.0, -10.0, 10.0);
/// β of each feature (a list of three).
pub const BETA: Param<f32> = Param::range("beta", 0.0, -10.0, 10.0);
/// The selected value's row (clamped into the batch on the page).
pub const Y: Param<usize> = Param::range("y", 0, 0, 15);
/// Its feature.
pub const X: Param<usize> = Param::range("x", 0, 0, FEATURES - 1);
/// The feature whose running statistics are plotted.
pub const FEATURE: Param<usize> = Param::range("feature", 0, 0, FEATURES - 1);
/// The ratings head's γ.
pub const RATING_GAMMA: Param<f32> = Param::range("rg", 1.0, -10.0, 10.0);
/// The ratings head's β.
pub const RATING_BETA: Param<f32> = Param::range("rb", 0.0, -10.0, 10.0);
/// Every parameter, in the URL's order.
pub const PARAMS: &[&dyn AnyParam] = &[&BATCH, &MOMENTUM, &STEP, &MODE, &GAMMA, &BETA, &Y, &X, &FEATURE, &RATING_GAMMA, &RATING_BETA];

fn batch_name(n: usize) -> &'static str {
    BATCHES.iter().position(|&b| b == n).map_or(BATCH_NAMES[2], |i| BATCH_NAMES[i])
}

fn momentum_name(m: f32) -> &'static str {
    MOMENTA.iter().position(|&b| b == m).map_or(MOMENTUM_NAMES[1], |i| MOMENTUM_NAMES[i])
}

/// Feature `c`'s true mean and variance: of the uniform integers `mean ± half`, divided by 100.
pub fn true_statistics(c: usize) -> (f64, f64) {
    let width = (2 * HALF_CENTS[c] + 1) as f64;
    (MEAN_CENTS[c] as f64 / 100.0, (width * width - 1.0) / 12.0 / 1e4)
}

/// The batch of training step `step` (from 1): `rows` samples of the three features, each value a whole number
/// of hundredths drawn with the engine's hash, so that Python rebuilds it exactly.
pub fn batch(step: usize, rows: usize) -> Tensor {
    Tensor::from_fn([rows, FEATURES], |i| {
        let c = i % FEATURES;
        let width = (2 * HALF_CENTS[c] + 1) as u32;
        let cents = MEAN_CENTS[c] + (pcg_hash(((step as u32) << 12) | i as u32) % width) as i32 - HALF_CENTS[c];
        cents as f32 / 100.0
    })
}

/// One training step as the page lists it: the batch's statistics and the running statistics after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The batch mean of each feature.
    pub mean: Vec<f32>,
    /// The batch variance of each feature (biased: what normalises the batch).
    pub var: Vec<f32>,
    /// The running mean after this step.
    pub running_mean: Vec<f32>,
    /// The running variance after this step (updated with the unbiased batch variance, as PyTorch does).
    pub running_var: Vec<f32>,
}

/// The running statistics `(mean, variance)` before the last step (what a training step starts from and
/// updates) and after it (what evaluation normalises with); 0 and 1 before the first step.
pub fn running_around_last(steps: &[Step]) -> [(Tensor, Tensor); 2] {
    let stats = |step: Option<&Step>| match step {
        Some(s) => (Tensor::from_fn([FEATURES], |c| s.running_mean[c]), Tensor::from_fn([FEATURES], |c| s.running_var[c])),
        None => (Tensor::zeros([FEATURES]), Tensor::from_fn([FEATURES], |_| 1.0)),
    };
    [stats(steps.len().checked_sub(2).map(|i| &steps[i])), stats(steps.last())]
}

/// The lesson's state as the URL holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// Rows per batch.
    pub rows: usize,
    /// The new batch's weight in the running statistics.
    pub momentum: f32,
    /// Training steps taken; the batch shown is the last one.
    pub steps: usize,
    /// γ per feature.
    pub gamma: Vec<f32>,
    /// β per feature.
    pub beta: Vec<f32>,
    /// Show the training output (batch statistics) or the evaluation output (running statistics).
    pub training: bool,
    /// The selected value `(row, feature)`.
    pub cell: (usize, usize),
}

impl State {
    /// The state as the URL writes it.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let (y, x) = self.cell;
        vec![
            (BATCH.key, BATCH.to_url(self.rows)),
            (MOMENTUM.key, MOMENTUM.to_url(self.momentum)),
            (STEP.key, STEP.to_url(self.steps)),
            (MODE.key, MODE.to_url(self.training)),
            (GAMMA.key, join(&GAMMA, &self.gamma)),
            (BETA.key, join(&BETA, &self.beta)),
            (Y.key, Y.to_url(y)),
            (X.key, X.to_url(x)),
        ]
    }

    /// A batch-shaped grid's cells, with the selected value marked.
    pub fn cells(&self, t: &Tensor) -> Vec<Cell> {
        let class = |i: usize| if (i / FEATURES, i % FEATURES) == self.cell { "selected" } else { "" };
        t.data().iter().enumerate().map(|(i, &v)| Cell { value: Some(v), class: class(i).into(), note: None }).collect()
    }

    /// The statistics that normalise feature `c` in the chosen mode: the batch's own mean and (biased) variance
    /// while training, the running ones after the last step at evaluation.
    pub fn statistics(&self, last: &Step, c: usize) -> (f32, f32) {
        if self.training { (last.mean[c], last.var[c]) } else { (last.running_mean[c], last.running_var[c]) }
    }

    /// The last batch normalised as the chosen mode does, by the op's formula: `x̂ = (x − μ)/√(σ² + ε)` with the
    /// batch's statistics while training and the running statistics at evaluation, so that `x̂ × γ + β` is the
    /// output in that mode.
    pub fn normalized(&self, last: &Step) -> Result<Tensor, String> {
        let op = self.op(self.training)?;
        let x = batch(self.steps, self.rows);
        Ok(Tensor::from_fn(x.shape().clone(), |i| {
            let (mean, var) = self.statistics(last, i % FEATURES);
            BatchNormOp::normalize(x.data()[i], mean, op.invstd(var), 1.0, 0.0)
        }))
    }

    /// The caption of the normalised grid: which statistics it used, and what that makes of its columns.
    pub fn normalized_caption(&self) -> &'static str {
        if self.training {
            "x̂ = (x − μ) / √(σ² + ε) with this batch's μ and σ²: each column now has mean 0 and variance 1"
        } else {
            "x̂ = (x − running mean) / √(running variance + ε): each column has mean 0 and variance 1 only as far as \
             the running statistics match this batch's"
        }
    }

    /// The selected value's arithmetic in the chosen mode, ending in `y`, the output the engine computed.
    pub fn selected_text(&self, last: &Step, y: f32) -> String {
        let (r, c) = self.cell;
        let x = batch(self.steps, self.rows).data()[r * FEATURES + c];
        let (mean, var) = self.statistics(last, c);
        let mode = if self.training { "the batch's" } else { "the running" };
        format!(
            "Value ({r}, {c}): ({x} − {mean:.4}) / √({var:.4} + {}) × γ {} + β {} = {y:.4}, with {mode} mean and variance.",
            BatchNormParams::default().eps,
            format_weight(self.gamma[c]),
            format_weight(self.beta[c])
        )
    }

    /// The batch norm of one batch, in training or evaluation mode.
    pub fn op(&self, training: bool) -> Result<BatchNormOp, String> {
        let c = engine::Shape::from([FEATURES]);
        let params = BatchNormParams { momentum: self.momentum, training, ..BatchNormParams::default() };
        BatchNormOp::new(&params, &engine::Shape::from([self.rows, FEATURES]), &[&c, &c, &c, &c]).map_err(|e| e.to_string())
    }

    fn affine(&self) -> (Tensor, Tensor) {
        (Tensor::from_fn([FEATURES], |c| self.gamma[c]), Tensor::from_fn([FEATURES], |c| self.beta[c]))
    }

    /// Every training step, by the op's reference loops: the running statistics start at 0 and 1 and follow
    /// `running = (1 − momentum)·running + momentum·batch`.
    pub fn steps(&self) -> Result<Vec<Step>, String> {
        let op = self.op(true)?;
        let (gamma, beta) = self.affine();
        let mut running = (Tensor::zeros([FEATURES]), Tensor::from_fn([FEATURES], |_| 1.0));
        let mut steps = Vec::with_capacity(self.steps);
        for step in 1..=self.steps {
            let x = batch(step, self.rows);
            let out = op.reference_forward(&x, &gamma, &beta, &running.0, &running.1);
            let var = out.invstd.data().iter().map(|&s| 1.0 / (s * s) - op.params.eps).collect();
            steps.push(Step { mean: out.mean.data().to_vec(), var, running_mean: out.running_mean.data().to_vec(), running_var: out.running_var.data().to_vec() });
            running = (out.running_mean, out.running_var);
        }
        Ok(steps)
    }

    /// The last batch's output in the chosen mode, by the reference loops: in training, normalised with its own
    /// statistics; in evaluation, with the running statistics of the steps before it and itself.
    pub fn output(&self) -> Result<BatchNormOutput, String> {
        let [before, after] = running_around_last(&self.steps()?);
        let (gamma, beta) = self.affine();
        let (op, running) = if self.training { (self.op(true)?, before) } else { (self.op(false)?, after) };
        Ok(op.reference_forward(&batch(self.steps, self.rows), &gamma, &beta, &running.0, &running.1))
    }

    /// What the page shows: the output's shape, the selected value's input (its "window") and output, and the
    /// output's checksum.
    pub fn numbers(&self) -> Result<PanelNumbers, String> {
        let (r, c) = self.cell;
        if r >= self.rows || c >= FEATURES {
            return Err(format!("value ({r}, {c}) is outside the batch [{}, {FEATURES}]", self.rows));
        }
        let y = self.output()?.y;
        let x = batch(self.steps, self.rows);
        let i = r * FEATURES + c;
        Ok(PanelNumbers::new(&y, x.data()[i], y.data()[i]))
    }

    /// The PyTorch code: the same batches (rebuilt from the engine's hash), `nn.BatchNorm1d` with the page's
    /// momentum, γ and β, trained for the page's steps, then the last batch in the chosen mode.
    pub fn pytorch(&self) -> String {
        let (r, c) = self.cell;
        let eval = if self.training {
            "# Training mode: the output above used this batch's own mean and variance.\n".to_string()
        } else {
            "bn.eval()  # evaluation: normalise with the running statistics, and leave them alone\n\
             with torch.no_grad():\n\
             \x20   y = bn(x)\n"
                .to_string()
        };
        format!(
            "import torch\n\n\
             # The page's batches: each value a whole number of hundredths, uniform on mean ± half, drawn with the\n\
             # engine's integer hash (step and index in, 32 random bits out).\n\
             {PCG_HASH_PY}\n\
             MEAN, HALF = {MEAN_CENTS:?}, {HALF_CENTS:?}  # in hundredths\n\n\
             def batch(step, rows={rows}):\n\
             \x20   cents = [[MEAN[c] + pcg_hash((step << 12) | (r * {FEATURES} + c)) % (2 * HALF[c] + 1) - HALF[c] for c in range({FEATURES})]\n\
             \x20            for r in range(rows)]\n\
             \x20   return torch.tensor(cents, dtype=torch.float32) / 100\n\n\
             bn = torch.nn.BatchNorm1d({FEATURES}, momentum={momentum})  # momentum: the NEW batch's weight\n\
             with torch.no_grad():\n\
             \x20   bn.weight.copy_(torch.tensor([{gamma}]))  # gamma\n\
             \x20   bn.bias.copy_(torch.tensor([{beta}]))  # beta\n\n\
             bn.train()\n\
             for step in range(1, {steps} + 1):\n\
             \x20   x = batch(step)\n\
             \x20   with torch.no_grad():\n\
             \x20       y = bn(x)  # normalised with this batch's mean and (biased) variance\n\
             print(\"running mean:\", bn.running_mean.tolist())\n\
             print(\"running var:\", bn.running_var.tolist())  # updated with the unbiased variance\n\
             {eval}\n\
             r, c = {r}, {c}  # the selected value\n\
             window = x[r, c]\n\
             value = y[r, c]\n{footer}",
            rows = self.rows,
            momentum = momentum_name(self.momentum),
            gamma = self.gamma.iter().map(|&v| exact(v)).collect::<Vec<_>>().join(", "),
            beta = self.beta.iter().map(|&v| exact(v)).collect::<Vec<_>>().join(", "),
            steps = self.steps,
            footer = footer("y", "window", "value"),
        )
    }
}

/// PyTorch's defaults, which fastai's layers keep (`nn.BatchNorm1d(nf)`), read from the op's own settings.
pub fn defaults_text() -> String {
    let d = BatchNormParams::default();
    format!("PyTorch's defaults, which fastai keeps: momentum = {}, eps = {} (ε, added to the variance before the square root).", d.momentum, d.eps)
}

/// How noisy the batch statistics are at `rows` per batch: the spread (root mean square distance) of feature 0's
/// batch mean around its true mean over the steps `1..=steps`, measured on the page's own batches, and the spread
/// theory gives, `σ/√n`.
pub fn batch_mean_noise(rows: usize, steps: usize) -> (f64, f64) {
    let (mean, var) = true_statistics(0);
    let squares: f64 = (1..=steps)
        .map(|step| {
            let x = batch(step, rows);
            let m = (0..rows).map(|r| x.data()[r * FEATURES] as f64).sum::<f64>() / rows as f64;
            (m - mean) * (m - mean)
        })
        .sum();
    ((squares / steps as f64).sqrt(), (var / rows as f64).sqrt())
}

/// The table of this batch's statistics: `(row name, the four values, test id)`.
pub fn statistics_rows(last: &Step) -> [(&'static str, Vec<String>, &'static str); 4] {
    let row = |values: &[f32]| values.iter().map(|v| format!("{v:.4}")).collect::<Vec<_>>();
    [
        ("batch mean μ", row(&last.mean), "bn-mean"),
        ("batch variance σ²", row(&last.var), "bn-var"),
        ("running mean", row(&last.running_mean), "bn-running-mean"),
        ("running variance", row(&last.running_var), "bn-running-var"),
    ]
}

/// Feature `c`'s batch and running mean (`mean`) or variance over the steps, and its true value, as plotted.
pub fn curves(steps: &[Step], c: usize, mean: bool) -> Vec<Series> {
    let (true_mean, true_var) = true_statistics(c);
    let truth = if mean { true_mean } else { true_var };
    let pick = |s: &Step, batch: bool| (match (mean, batch) {
        (true, true) => s.mean[c],
        (true, false) => s.running_mean[c],
        (false, true) => s.var[c],
        (false, false) => s.running_var[c],
    }) as f64;
    let points = |batch: bool| steps.iter().enumerate().map(|(i, s)| ((i + 1) as f64, pick(s, batch))).collect();
    vec![
        Series { name: "batch", class: "batch", points: points(true) },
        Series { name: "running", class: "running", points: points(false) },
        Series { name: "true", class: "truth", points: vec![(0.0, truth), (steps.len().max(1) as f64, truth)] },
    ]
}

/// The states `cargo xtask panels` checks: every batch size and momentum, early and late steps, in training and
/// evaluation, with γ and β of each kind and a value at the batch's border or inside selected.
#[cfg(not(target_arch = "wasm32"))]
pub fn cases(_: &dyn Assets) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for (i, rows) in BATCH.samples().into_iter().enumerate() {
        for (j, momentum) in MOMENTUM.samples().into_iter().enumerate() {
            let state = State {
                rows,
                momentum,
                steps: [1, 7, 30, 60][j],
                gamma: vec![1.0, 0.5 * i as f32 + 0.25, -1.5],
                beta: vec![0.0, -2.0, 0.1 * j as f32],
                training: (i + j) % 2 == 0,
                cell: (rows - 1 - i.min(rows - 1), j % FEATURES),
            };
            cases.push(Case { url: url("batchnorm", &state.query()), code: state.pytorch(), page: state.numbers() });
        }
    }
    Ok(cases)
}

/// The ratings example: 64 scores from a network's last layer and the ratings (1 to 5) they should become.
pub const RATINGS: usize = 64;

/// `(scores, ratings)`: the scores are small and centred near 0, as a freshly initialised network's are; the
/// ratings (whole stars, mean about 3.5) follow the same hidden taste, with some noise.
pub fn ratings_data() -> (Tensor, Tensor) {
    let mut rng = Rng::new(21);
    let (mut scores, mut ratings) = (Vec::new(), Vec::new());
    for _ in 0..RATINGS {
        let taste = rng.normal();
        scores.push(0.05 + 0.2 * taste);
        ratings.push((3.6 + 0.9 * taste + 0.4 * rng.normal()).round().clamp(1.0, 5.0));
    }
    (Tensor::new([RATINGS, 1], scores).expect("64 scores"), Tensor::new([RATINGS, 1], ratings).expect("64 ratings"))
}

/// The ratings head `γ·x̂ + β` after a batch norm of the scores: its predictions and their mean squared error.
pub fn ratings_head(gamma: f32, beta: f32) -> (Tensor, f32) {
    let (scores, ratings) = ratings_data();
    let (out, _) = ratings_forward(&scores, gamma, beta);
    let mse = mean_squared_error(&out.y, &ratings);
    (out.y, mse)
}

/// The mean squared error of `predictions` against `ratings`.
fn mean_squared_error(predictions: &Tensor, ratings: &Tensor) -> f32 {
    predictions.data().iter().zip(ratings.data()).map(|(p, r)| (p - r) * (p - r)).sum::<f32>() / RATINGS as f32
}

fn ratings_forward(scores: &Tensor, gamma: f32, beta: f32) -> (BatchNormOutput, BatchNormOp) {
    let one = engine::Shape::from([1]);
    let op = BatchNormOp::new(&BatchNormParams::default(), scores.shape(), &[&one, &one, &one, &one]).expect("64 scores, one feature");
    let out = op.reference_forward(scores, &Tensor::from_fn([1], |_| gamma), &Tensor::from_fn([1], |_| beta), &Tensor::zeros([1]), &Tensor::from_fn([1], |_| 1.0));
    (out, op)
}

/// The ratings' and the scores' `(mean, spread)`.
pub fn ratings_summary() -> ((f32, f32), (f32, f32)) {
    let (scores, ratings) = ratings_data();
    let stats = |t: &Tensor| {
        let m = t.data().iter().sum::<f32>() / RATINGS as f32;
        (m, (t.data().iter().map(|v| (v - m) * (v - m)).sum::<f32>() / RATINGS as f32).sqrt())
    };
    (stats(&scores), stats(&ratings))
}

/// The range of the ratings head's predictions with γ and β, and its error.
pub fn ratings_text(gamma: f32, beta: f32) -> String {
    let (y, mse) = ratings_head(gamma, beta);
    let (lo, hi) = y.data().iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    format!("Predictions from {lo:.2} to {hi:.2}; mean squared error against the ratings {mse:.3}.")
}

/// Gradient descent on γ and β alone (learning rate 0.1, from γ = 1, β = 0), the gradients from the op's
/// backward of the mean squared error: `(step, γ, β, loss)` for each of `steps` steps.
pub fn learn_ratings_head(steps: usize) -> Vec<(usize, f32, f32, f32)> {
    let (scores, ratings) = ratings_data();
    let (mut gamma, mut beta) = (1.0f32, 0.0f32);
    let mut path = Vec::with_capacity(steps + 1);
    for step in 0..=steps {
        let (out, op) = ratings_forward(&scores, gamma, beta);
        let dy = Tensor::from_fn([RATINGS, 1], |i| 2.0 * (out.y.data()[i] - ratings.data()[i]) / RATINGS as f32);
        let loss = mean_squared_error(&out.y, &ratings);
        path.push((step, gamma, beta, loss));
        let grads = op.reference_backward(&scores, &Tensor::from_fn([1], |_| gamma), &out, &dy);
        gamma -= 0.1 * grads.dweight.data()[0];
        beta -= 0.1 * grads.dbias.data()[0];
    }
    path
}

/// The page.
#[component]
pub fn BatchNormLesson() -> impl IntoView {
    let mut params = Params::from_location();
    let (rows, momentum, steps, training) = (params.get(&BATCH), params.get(&MOMENTUM), params.get(&STEP), params.get(&MODE));
    let (gamma, beta) = (params.list(&GAMMA, FEATURES, &[1.0; FEATURES]), params.list(&BETA, FEATURES, &[0.0; FEATURES]));
    let cell = params.cell((&Y, &X));
    let feature = params.get(&FEATURE);
    let (rating_gamma, rating_beta) = (params.get(&RATING_GAMMA), params.get(&RATING_BETA));
    let notices = params.notices();
    params.sync();
    let device = use_device();

    let state = Memo::new(move |_| State {
        rows: rows.get(),
        momentum: momentum.get(),
        steps: steps.get(),
        gamma: gamma.get(),
        beta: beta.get(),
        training: training.get(),
        // The selected value stays inside the batch when the batch shrinks.
        cell: (cell.get().0.min(rows.get() - 1), cell.get().1.min(FEATURES - 1)),
    });
    let history = Memo::new(move |_| state.get().steps());
    let history_ok = Signal::derive(move || history.get().ok().unwrap_or_default());
    let last = move || history_ok.get().last().cloned();

    // The last batch through the op on the page's device, in both modes.
    let outputs = LocalResource::new(move || {
        let (page, s, history) = (device.get(), state.get(), history.get());
        async move {
            let page = page?;
            let (history, train_op, eval_op) = match (history, s.op(true), s.op(false)) {
                (Ok(h), Ok(t), Ok(e)) => (h, t, e),
                (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => return Some(Err(e)),
            };
            let [before, after] = running_around_last(&history);
            let x = batch(s.steps, s.rows);
            let (gamma, beta) = s.affine();
            Some(
                with_fallback(&page.device, |d| {
                    let (x, g, b) = (x.to(&d), gamma.to(&d), beta.to(&d));
                    let trained = train_op.forward(&x, &g, &b, &before.0.to(&d), &before.1.to(&d));
                    let evaluated = eval_op.forward(&x, &g, &b, &after.0.to(&d), &after.1.to(&d));
                    async move { Ok((trained?.y.read().await?, evaluated?.y.read().await?)) }
                })
                .await
                .map(|run| (run.value.0, run.value.1, run.label)),
            )
        }
    });
    let ok = move || outputs.get().flatten().and_then(Result::ok);
    let error = move || history.get().err().or_else(|| outputs.get().flatten().and_then(Result::err));
    // The outputs in the chosen mode (`chosen`), or in the other one.
    let output = move |chosen: bool| ok().map(|(t, e, _)| if training.get() == chosen { t } else { e });

    let cursor = Cursor::new(cell, Signal::derive(move || Some((rows.get(), FEATURES))), 4);
    let selected = Signal::derive(move || state.get().cell);
    let input_cells = Signal::derive(move || state.get().cells(&batch(steps.get(), rows.get())));
    let normalized_cells = Signal::derive(move || last().and_then(|l| state.get().normalized(&l).ok()).map(|t| state.get().cells(&t)).unwrap_or_default());
    let output_cells = Signal::derive(move || output(true).map(|t| state.get().cells(&t)).unwrap_or_default());
    let other_cells = Signal::derive(move || output(false).map(|t| state.get().cells(&t)).unwrap_or_default());
    let selected_text = move || {
        let (s, l) = (state.get(), last()?);
        Some(s.selected_text(&l, output(true)?.data()[s.cell.0 * FEATURES + s.cell.1]))
    };
    let code = Signal::derive(move || state.get().pytorch());
    let last_step = move || steps.get() >= STEP.bounds().1;

    view! {
        <LessonPage
            class="batchnorm"
            title="Batch normalization"
            lede="While a network trains, a batch norm layer takes each feature of the mini-batch, subtracts the batch's \
                  mean and divides by its standard deviation, so that the feature arrives with mean 0 and variance 1; \
                  then it multiplies by γ and adds β, two parameters the network learns. It also keeps running \
                  averages of the batch statistics, which replace them at evaluation time. Step through the batches \
                  and change the settings."
            notices
            cursor
        >
            <div class="controls">
                {select(&BATCH, rows, "Batch size ", "batch-size")}
                {select(&MOMENTUM, momentum, "momentum ", "momentum")}
                {select(&STEP, steps, "Training step ", "steps")}
                <button type="button" data-testid="next-step" disabled=last_step
                    on:click=move |_| steps.update(|k| *k = STEP.settle(*k + 1))>"Next batch"</button>
                {mode_radios(training, "Output", ["training (batch statistics)", "evaluation (running statistics)"])}
            </div>

            <div class="grids batchnorm-grids">
                <figure>
                    <NumberGrid cells=input_cells cols=FEATURES label="The mini-batch".to_string() testid="bn-input" decimals=2
                        on_select=Callback::new(move |c| cursor.select(c)) selected/>
                    <figcaption>{move || format!("batch {} x [{}, {FEATURES}]: rows are samples, columns features", steps.get(), rows.get())}</figcaption>
                </figure>
                <table class="stats" data-testid="bn-stats">
                    <caption>"This batch, per feature"</caption>
                    <thead><tr><th></th>{(0..FEATURES).map(|c| view! { <th scope="col">{format!("feature {c}")}</th> }).collect_view()}</tr></thead>
                    <tbody>
                        {move || last().map(|l| statistics_rows(&l).into_iter().map(|(name, values, id)| view! {
                            <tr><th scope="row">{name}</th>{values.into_iter().enumerate().map(|(c, v)| view! { <td data-testid=format!("{id}-{c}")>{v}</td> }).collect_view()}</tr>
                        }).collect_view())}
                        <tr><th scope="row">"γ"</th>{(0..FEATURES).map(|c| list_input(&GAMMA, gamma, c)).collect_view()}</tr>
                        <tr><th scope="row">"β"</th>{(0..FEATURES).map(|c| list_input(&BETA, beta, c)).collect_view()}</tr>
                    </tbody>
                </table>
            </div>
            <div class="grids batchnorm-grids">
                <figure>
                    <NumberGrid cells=normalized_cells cols=FEATURES label="Normalised as the chosen mode does".to_string() testid="bn-normalized" decimals=3/>
                    <figcaption data-testid="bn-normalized-caption">{move || state.get().normalized_caption()}</figcaption>
                </figure>
                <div class="op" aria-hidden="true">"× γ + β ="</div>
                <figure>
                    <NumberGrid cells=output_cells cols=FEATURES label="The output in the chosen mode".to_string() testid="bn-output" decimals=3/>
                    <figcaption>{move || if training.get() { "output, training mode" } else { "output, evaluation mode" }}</figcaption>
                </figure>
                <figure>
                    <NumberGrid cells=other_cells cols=FEATURES label="The output in the other mode".to_string() testid="bn-output-other" decimals=3/>
                    <figcaption>{move || if training.get() { "the same batch in evaluation mode" } else { "the same batch in training mode" }}</figcaption>
                </figure>
            </div>
            <p class="sum" data-testid="bn-selected" aria-live="polite">{selected_text}</p>
            <p class="sum" data-testid="bn-device">{move || ok().map(|(_, _, label)| format!("The outputs were computed on {label}."))}</p>
            {move || error().map(|e| view! { <p class="error" role="alert" data-testid="error">{e}</p> })}
            <p class="note">
                "Evaluation mode normalises with the running statistics instead of the batch's, so a sample's output no "
                "longer depends on the other samples in its batch, and a batch of one works. The two outputs differ most "
                "in the first steps, while the running statistics are still far from the truth."
            </p>

            <RunningStatistics history=history_ok feature steps/>
            <BatchNoise/>
            <WhyItHelps/>
            <RatingsHead gamma=rating_gamma beta=rating_beta/>
            <CodePanel code/>
        </LessonPage>
    }
}

/// The running statistics of one feature over the steps, against the truth, and what momentum means.
#[component]
fn RunningStatistics(history: Signal<Vec<Step>>, feature: RwSignal<usize>, steps: RwSignal<usize>) -> impl IntoView {
    let curves = move |mean: bool| Signal::derive(move || curves(&history.get(), feature.get(), mean));
    let x_max = Signal::derive(move || steps.get() as f64);
    view! {
        <section class="running">
            <h2>"The running statistics and momentum"</h2>
            <p>
                "After each training batch, running = (1 − momentum) × running + momentum × batch. In PyTorch, "
                <code>"momentum"</code>" is the weight of the new batch, the opposite of an optimizer's momentum "
                "(the weight of the past). It changes only the running statistics, which are used at evaluation: "
                "the normalisation during training always uses the current batch, whatever the momentum. The running "
                "mean starts at 0 and the running variance at 1, and they are updated with the batch variance made "
                "unbiased (× n/(n − 1)). Small momentum: smooth but slow to arrive; large momentum: quick but as "
                "noisy as the batches."
            </p>
            <p data-testid="bn-defaults">{defaults_text()}</p>
            {select(&FEATURE, feature, "Feature plotted ", "feature")}
            <p class="sum" data-testid="bn-truth">{move || {
                let (m, v) = true_statistics(feature.get());
                format!("Feature {}'s true mean is {m} and its true variance {v:.4}.", feature.get())
            }}</p>
            <div class="plots">
                <LinePlot series=curves(true) x_max x_label="step" y_label="mean" testid="running-mean-plot"/>
                <LinePlot series=curves(false) x_max x_label="step" y_label="variance" testid="running-var-plot"/>
            </div>
            <table class="steps" data-testid="bn-steps" tabindex="0">
                <caption>{move || format!("Feature {} at each step", feature.get())}</caption>
                <thead><tr><th scope="col">"step"</th><th scope="col">"batch mean"</th><th scope="col">"running mean"</th><th scope="col">"batch variance"</th><th scope="col">"running variance"</th></tr></thead>
                <tbody>
                    {move || {
                        let c = feature.get();
                        history.get().into_iter().enumerate().map(|(i, s)| view! {
                            <tr data-testid=format!("bn-step-{}", i + 1)>
                                <td>{i + 1}</td>
                                <td class="batch-mean" data-value=s.mean[c].to_string()>{format!("{:.4}", s.mean[c])}</td>
                                <td class="running-mean" data-value=s.running_mean[c].to_string()>{format!("{:.4}", s.running_mean[c])}</td>
                                <td>{format!("{:.4}", s.var[c])}</td>
                                <td>{format!("{:.4}", s.running_var[c])}</td>
                            </tr>
                        }).collect_view()
                    }}
                </tbody>
            </table>
        </section>
    }
}

/// The notes' claim about momentum and regularisation, corrected: the noise of the batch statistics, measured on
/// the page's batches for every batch size.
#[component]
fn BatchNoise() -> impl IntoView {
    let steps = STEP.bounds().1;
    view! {
        <section class="noise">
            <h2>"What regularises: the batches' noise, not momentum"</h2>
            <p>
                "The lesson's notes say that a smaller momentum means less regularisation. That is not so: momentum only "
                "changes the running statistics, which are used at evaluation, and no training step reads them. What "
                "regularises is the noise of the batch statistics: while training, each sample is normalised with a mean "
                "and variance that depend on which other samples share its batch, a small random shift and stretch at "
                "every step, as dropout is a random mask. That noise grows as batches shrink: a batch mean strays from "
                "the true mean by about σ/√n. Measured on this page's batches, feature 0:"
            </p>
            <table class="noise-table" data-testid="bn-noise">
                <thead><tr><th scope="col">"batch size n"</th><th scope="col">{format!("spread of the batch mean over {steps} batches")}</th><th scope="col">"σ/√n"</th></tr></thead>
                <tbody>
                    {BATCHES.iter().map(|&n| {
                        let (measured, theory) = batch_mean_noise(n, steps);
                        view! { <tr><td>{n}</td><td data-testid=format!("bn-noise-{n}")>{format!("{measured:.3}")}</td><td>{format!("{theory:.3}")}</td></tr> }
                    }).collect_view()}
                </tbody>
            </table>
            <p>
                "Does that noise regularise a real network? The same network, with a batch norm after each hidden layer, "
                "trained on 256 digits for 40 epochs with the same seeds and learning rate, once with batches of 8 and "
                "once with batches of 128. With batches of 8 it ends with the higher training loss, though it took 16 times "
                "as many steps, and far above the same network without batch norm trained with batches of 8: the noisy "
                "statistics keep it from fitting its training set as closely, which is what a regulariser does. Its "
                "validation loss did not end lower, though: on these digits the small batches did not generalise better. "
                "That is what the runs did on the CPU (a test checks each statement); train them and compare."
            </p>
            {digits_side_by_side(
                NOISE_JOB,
                vec![("batches of 8", "noise-batch-8", noise_steps(8), 8), ("batches of 128", "noise-batch-128", noise_steps(128), 128)],
                noise_run,
                "Train (40 epochs)",
                "accuracy",
            )}
        </section>
    }
}

/// The batch-size comparison: 40 epochs on 256 digits, validated on 300 others.
const NOISE_EPOCHS: usize = 40;
const NOISE_TRAIN: usize = 256;
const NOISE_VALID: usize = 300;

/// The training worker's name for a run of the batch-size comparison.
pub const NOISE_JOB: &str = "batchnorm.noise";

/// A run of the batch-size comparison: the network with its batch norms, in batches of `batch`.
fn noise_run(device: &Device, digits: &ImageSet, batch: usize) -> Trainer<Sequential, ImageSet> {
    noise_trainer(device, digits, batch, true)
}

/// In the worker: the run of a [`NOISE_JOB`] recipe.
pub async fn noise_job(recipe: &Recipe) -> Result<Box<dyn Job>, String> {
    digits_job(recipe, noise_run).await
}

fn noise_steps(batch: usize) -> usize {
    NOISE_EPOCHS * engine::learner::steps_per_epoch(NOISE_TRAIN, batch)
}

/// A network with a batch norm after each hidden layer (64 pixels → 256 → BN → ReLU → 256 → BN → ReLU → 10);
/// `batch_norm` false drops the batch norms (and gives the hidden layers their biases back).
fn noise_model(device: &Device, batch_norm: bool) -> Sequential {
    let mut rng = Rng::new(1);
    let mut layers: Vec<Box<dyn Layer>> = vec![Box::new(Flatten::default())];
    for (inputs, outputs) in [(64, 256), (256, 256)] {
        layers.push(Box::new(Linear::new(device, inputs, outputs, !batch_norm, &mut rng)));
        if batch_norm {
            layers.push(Box::new(BatchNormLayer::new(device, outputs, 1)));
        }
        layers.push(Box::new(ReLU::default()));
    }
    layers.push(Box::new(Linear::new(device, 256, 10, true, &mut rng)));
    Sequential::new(layers)
}

fn noise_trainer(device: &Device, digits: &ImageSet, batch: usize, batch_norm: bool) -> Trainer<Sequential, ImageSet> {
    digits_fit(device, digits, noise_model(device, batch_norm), (NOISE_TRAIN, NOISE_VALID), NOISE_EPOCHS, batch)
}

/// What batch normalization was proposed for, and what it was shown to do.
#[component]
fn WhyItHelps() -> impl IntoView {
    view! {
        <section class="why">
            <h2>"Why it helps"</h2>
            <p>
                "Ioffe and Szegedy introduced batch normalization in 2015 to reduce what they called internal "
                "covariate shift: each layer's inputs changing as the layers before it learn. Santurkar, Tsipras, "
                "Ilyas and Madry showed in 2018 (“How Does Batch Normalization Help Optimization?”) that this is not "
                "why it works: networks with batch norm train well even when noise is injected to shift each layer's "
                "distribution on purpose, and batch norm does not reliably reduce the shift. What it does is make the "
                "loss landscape smoother (the loss and its gradients change less abruptly from step to step), so "
                "larger learning rates are safe and training is faster."
            </p>
        </section>
    }
}

/// γ and β moving a model's outputs onto ratings of 1 to 5, set by hand or learned.
#[component]
fn RatingsHead(gamma: RwSignal<f32>, beta: RwSignal<f32>) -> impl IntoView {
    let path = learn_ratings_head(50);
    let learned = *path.last().expect("50 steps");
    let loss_path = vec![Series { name: "mean squared error", class: "train", points: path.iter().map(|p| (p.0 as f64, p.3 as f64)).collect() }];
    let ((score_mean, score_spread), (rating_mean, rating_spread)) = ratings_summary();
    view! {
        <section class="ratings">
            <h2>"Why γ and β: landing in a range"</h2>
            <p>
                {format!(
                    "A model predicting ratings from 1 to 5 has outputs that must land around the ratings' mean ({rating_mean:.2}) with \
                     their spread ({rating_spread:.2}). A fresh network's scores have mean {score_mean:.2} and spread {score_spread:.2}. A batch \
                     norm without γ and β would pin them at mean 0 and spread 1, whatever the layers before learn; with them, two numbers \
                     move the outputs into range directly: γ sets the spread and β the centre, which makes the range easy to reach. Try \
                     them, or let gradient descent learn them."
                )}
            </p>
            <div class="controls">
                {number_input(&RATING_GAMMA, gamma, "γ ", "rating-gamma")}
                {number_input(&RATING_BETA, beta, "β ", "rating-beta")}
                <button type="button" data-testid="learn-ratings" on:click=move |_| { gamma.set(RATING_GAMMA.settle(learned.1)); beta.set(RATING_BETA.settle(learned.2)); }>
                    "Use the learned γ and β"
                </button>
            </div>
            <p class="sum" data-testid="ratings-mse" aria-live="polite">{move || ratings_text(gamma.get(), beta.get())}</p>
            <p class="sum" data-testid="ratings-learned">{format!(
                "Gradient descent on γ and β alone (50 steps, learning rate 0.1, starting from γ = 1 and β = 0) takes the \
                 error from {:.3} to {:.3}, with γ = {:.3} and β = {:.3}: nothing else in the network moved.",
                path[0].3, learned.3, learned.1, learned.2
            )}</p>
            <LinePlot series=Signal::derive(move || loss_path.clone()) x_max=Signal::derive(|| 50.0) x_label="step" y_label="mean squared error" testid="ratings-plot"/>
        </section>
    }
}

/// A number field for value `c` of a list parameter (γ or β of feature `c`), storing only what `element` accepts.
fn list_input(element: &'static Param<f32>, values: RwSignal<Vec<f32>>, c: usize) -> impl IntoView {
    let name = element.key;
    let (min, max) = element.bounds();
    view! {
        <td>
            <input type="number" step="0.1" min=element.to_url(min) max=element.to_url(max) aria-label=format!("{name} of feature {c}") data-testid=format!("{name}-{c}")
                prop:value=move || element.to_url(values.get()[c])
                on:change=move |ev| match f32::from_url(&event_target_value(&ev)) {
                    Some(v) => values.update(|vs| vs[c] = element.settle(v)),
                    // Not a number: the field shows the stored value again.
                    None => values.notify(),
                }/>
        </td>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(rows: usize, momentum: f32, steps: usize, training: bool) -> State {
        State { rows, momentum, steps, gamma: vec![1.0, 2.0, -0.5], beta: vec![0.0, 1.0, 3.0], training, cell: (0, 0) }
    }

    #[test]
    fn the_running_mean_is_the_moving_average_of_the_batch_means() {
        for momentum in MOMENTUM.samples() {
            let steps = state(8, momentum, 30, true).steps().unwrap();
            let mut running = [0.0f32; FEATURES];
            for (k, s) in steps.iter().enumerate() {
                let x = batch(k + 1, 8);
                for (c, running) in running.iter_mut().enumerate() {
                    let mean = (0..8).map(|r| x.data()[r * FEATURES + c]).sum::<f32>() / 8.0;
                    assert!((s.mean[c] - mean).abs() < 1e-5);
                    *running = (1.0 - momentum) * *running + momentum * s.mean[c];
                    assert!((s.running_mean[c] - *running).abs() < 1e-5, "step {k} feature {c}");
                }
            }
        }
    }

    #[test]
    fn the_running_statistics_approach_the_truth() {
        let steps = state(16, 0.1, 60, true).steps().unwrap();
        let last = steps.last().unwrap();
        for c in 0..FEATURES {
            let (mean, var) = true_statistics(c);
            let spread = var.sqrt();
            assert!(((last.running_mean[c] as f64) - mean).abs() < 0.3 * spread, "feature {c}: {} vs {mean}", last.running_mean[c]);
            assert!(((last.running_var[c] as f64) / var - 1.0).abs() < 0.35, "feature {c}: {} vs {var}", last.running_var[c]);
        }
    }

    #[test]
    fn training_output_has_mean_beta_and_evaluation_uses_the_running_statistics() {
        let s = state(8, 0.1, 5, true);
        let y = s.output().unwrap().y;
        for c in 0..FEATURES {
            let mean = (0..8).map(|r| y.data()[r * FEATURES + c]).sum::<f32>() / 8.0;
            assert!((mean - s.beta[c]).abs() < 1e-4);
        }
        let e = State { training: false, ..s.clone() };
        let last = e.steps().unwrap().pop().unwrap();
        let x = batch(5, 8);
        let y = e.output().unwrap().y;
        for i in 0..y.data().len() {
            let c = i % FEATURES;
            let expected = (x.data()[i] - last.running_mean[c]) / (last.running_var[c] + 1e-5).sqrt() * e.gamma[c] + e.beta[c];
            assert!((y.data()[i] - expected).abs() < 1e-4);
        }
    }

    #[test]
    fn the_normalised_grid_times_gamma_plus_beta_is_the_output_in_both_modes() {
        for training in [true, false] {
            let s = state(4, 0.1, 3, training);
            let last = s.steps().unwrap().pop().unwrap();
            let (x_hat, y) = (s.normalized(&last).unwrap(), s.output().unwrap().y);
            for i in 0..y.data().len() {
                let c = i % FEATURES;
                assert!((x_hat.data()[i] * s.gamma[c] + s.beta[c] - y.data()[i]).abs() < 1e-4, "training {training}, value {i}");
            }
        }
        // After three steps the running statistics are far from this batch's: the two modes normalise differently.
        let (t, e) = (state(4, 0.1, 3, true), state(4, 0.1, 3, false));
        let last = t.steps().unwrap().pop().unwrap();
        assert!(t.normalized(&last).unwrap().data().iter().zip(e.normalized(&last).unwrap().data()).any(|(a, b)| (a - b).abs() > 0.5));
        assert_ne!(t.normalized_caption(), e.normalized_caption());
    }

    #[test]
    fn defaults_come_from_the_op_and_are_pytorchs() {
        assert_eq!(defaults_text(), "PyTorch's defaults, which fastai keeps: momentum = 0.1, eps = 0.00001 (ε, added to the variance before the square root).");
        assert!(state(8, 0.1, 2, true).selected_text(&state(8, 0.1, 2, true).steps().unwrap()[1], 0.0).contains("+ 0.00001)"));
    }

    #[test]
    fn smaller_batches_have_noisier_statistics() {
        let noise: Vec<(f64, f64)> = BATCHES.iter().map(|&n| batch_mean_noise(n, STEP.bounds().1)).collect();
        for pair in noise.windows(2) {
            assert!(pair[0].0 > pair[1].0, "{noise:?}");
        }
        for (measured, theory) in noise {
            assert!((measured / theory - 1.0).abs() < 0.3, "{measured} against σ/√n = {theory}");
        }
    }

    /// The three runs the section's sentences speak of, natively on the CPU with the page's settings: batch norm
    /// at batch sizes 8 and 128, and the same network without batch norm at 8.
    #[test]
    fn small_batches_keep_a_batch_norm_network_from_fitting_its_training_set_as_closely() {
        let digits = engine::data::digits::parse(include_bytes!("../../../public/data/digits_u8.bin")).unwrap();
        let last = |batch: usize, batch_norm: bool| {
            let reports = pollster::block_on(noise_trainer(&Device::Cpu, &digits, batch, batch_norm).fit(|_, _| {}, |_| {})).unwrap();
            reports.last().unwrap().clone()
        };
        let (small, large, plain) = (last(8, true), last(128, true), last(8, false));
        assert!(small.train_loss > 1.5 * large.train_loss, "batch 8 {small:?} against 128 {large:?}");
        assert!(small.train_loss > 10.0 * plain.train_loss, "with batch norm {small:?} against without {plain:?}");
        assert!(small.valid_loss >= large.valid_loss, "the sentence says the small batches did not validate better: {small:?} against {large:?}");
    }

    #[test]
    fn learned_gamma_and_beta_fit_the_ratings() {
        let path = learn_ratings_head(50);
        let (first, last) = (path[0], path[50]);
        assert!(last.3 < first.3 / 10.0, "{first:?} → {last:?}");
        let (_, ratings) = ratings_data();
        let mean = ratings.data().iter().sum::<f32>() / RATINGS as f32;
        assert!((last.2 - mean).abs() < 0.05, "β {} vs mean rating {mean}", last.2);
        assert!((ratings_head(last.1, last.2).1 - last.3).abs() < 1e-2);
    }

    #[test]
    fn no_setting_of_the_controls_panics() {
        let (first, last) = STEP.bounds();
        for rows in BATCH.samples() {
            for momentum in MOMENTUM.samples() {
                for steps in [first, last] {
                    for training in MODE.samples() {
                        let s = State { cell: (rows - 1, FEATURES - 1), ..state(rows, momentum, steps, training) };
                        assert_eq!(s.numbers().unwrap().shape, vec![rows, FEATURES]);
                        assert!(s.pytorch().contains("print(\"checksum:\""));
                        assert!(State { cell: (rows, 0), ..s.clone() }.numbers().is_err());
                        let history = s.steps().unwrap();
                        let end = history.last().unwrap();
                        let y = s.output().unwrap().y;
                        assert!(s.selected_text(end, y.data()[y.data().len() - 1]).starts_with(&format!("Value ({}, {})", rows - 1, FEATURES - 1)));
                        assert_eq!(s.cells(&y).iter().filter(|c| c.class == "selected").count(), 1);
                        // In training the normalised grid has mean 0 in each column.
                        let x_hat = s.normalized(end).unwrap();
                        for c in (0..FEATURES).filter(|_| training) {
                            let mean = (0..rows).map(|r| x_hat.data()[r * FEATURES + c]).sum::<f32>() / rows as f32;
                            assert!(mean.abs() < 1e-4, "{mean}");
                        }
                        for c in FEATURE.samples() {
                            let plotted = curves(&history, c, true);
                            assert_eq!(plotted[1].points.len(), steps);
                            assert!((plotted[1].points[steps - 1].1 - history[steps - 1].running_mean[c] as f64).abs() < 1e-9);
                        }
                    }
                }
            }
        }
        assert!(ratings_text(1.0, 0.0).contains("mean squared error"));
    }
}
