//! `/dropout`: a layer's activations as a grid of numbers, and what dropout does to them. While training, each
//! value is zeroed with probability `p` (the engine's seeded mask, drawn on the page's device: the CPU and the GPU
//! draw the same one) and the survivors are multiplied by `1/(1−p)`, so that every value keeps its expected value:
//! averaging the outputs of more and more masks comes back to the input. At evaluation dropout does nothing.
//! The paper's convention (p keeps, weights scaled at test time) beside PyTorch's (p drops, inverted dropout), and
//! `F.dropout`'s own output in the PyTorch panel. Then embedding dropout (single activations of the embedding outputs zeroed) beside dropping whole rows of an
//! embedding (a category's whole vector zeroed), and its effect: one small model trained here with p = 0 and with
//! p = 0.5, side by side.
//!
//! URL parameters ([`PARAMS`]): `p` (0, 0.1, 0.25, 0.5, 0.75, 0.9), `seed` (which mask, 0–9999), `mode` (`train`,
//! `eval`), `n` (how many masks are averaged: 1, 10, 100, 1000, 10000), `y`, `x` (the selected activation).

use crate::device::{use_device, with_fallback};
use crate::panel::{PCG_HASH_PY, PanelNumbers, cell_in, exact, footer};
#[cfg(not(target_arch = "wasm32"))]
use crate::panel::{Assets, Case, url};
use crate::query::{AnyParam, Param, Params};
use crate::widgets::training::{Job, digits_fit, digits_job, digits_side_by_side};
use crate::worker::Recipe;
use crate::widgets::{Cell, CodePanel, Cursor, LessonPage, MODE, NumberGrid, format_weight, mode_radios, number_input, select};
use engine::data::ImageSet;
use engine::learner::Trainer;
use engine::nn::{Dropout, Flatten, Layer, Linear, ReLU, Sequential};
use engine::ops::dropout::Dropout as DropoutOp;
use engine::rng::Rng;
use engine::{Device, Shape, Tensor};
use leptos::prelude::*;

/// The drop probabilities offered, and their names in URLs.
pub const PS: [f32; 6] = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9];
const P_NAMES: [&str; 6] = ["0", "0.1", "0.25", "0.5", "0.75", "0.9"];

/// How many masks may be averaged, and their names in URLs.
pub const AVERAGED: [usize; 5] = [1, 10, 100, 1000, 10000];
const AVERAGED_NAMES: [&str; 5] = ["1", "10", "100", "1000", "10000"];

fn p_name(p: f32) -> &'static str {
    PS.iter().position(|&q| q == p).map_or(P_NAMES[3], |i| P_NAMES[i])
}

fn averaged_name(n: usize) -> &'static str {
    AVERAGED.iter().position(|&m| m == n).map_or(AVERAGED_NAMES[0], |i| AVERAGED_NAMES[i])
}

/// The side of the activations' grid.
pub const SIDE: usize = 8;

/// The drop probability.
pub const P: Param<f32> = Param::choices("p", 0.5, &PS, p_name);
/// Which mask: the engine's generator draws the same one for the same seed.
pub const SEED: Param<u32> = Param::range("seed", 0, 0, 9999);
/// How many masks are averaged.
pub const MASKS: Param<usize> = Param::choices("n", 100, &AVERAGED, averaged_name);
/// The selected activation's row.
pub const Y: Param<usize> = Param::range("y", 0, 0, SIDE - 1);
/// Its column.
pub const X: Param<usize> = Param::range("x", 0, 0, SIDE - 1);
/// Every parameter, in the URL's order.
pub const PARAMS: &[&dyn AnyParam] = &[&P, &SEED, &MODE, &MASKS, &Y, &X];

/// A layer's activations after a ReLU: an 8x8 grid of seeded values, rounded to two decimals so that they read
/// easily (and print exactly in the PyTorch code); about half are 0, as after a ReLU.
pub fn activations() -> Tensor {
    let mut rng = Rng::new(6);
    Tensor::from_fn([SIDE, SIDE], |_| (rng.normal().max(0.0) * 100.0).round() / 100.0)
}

/// The lesson's state as the URL holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct State {
    /// The drop probability.
    pub p: f32,
    /// Which mask.
    pub seed: u32,
    /// Training (drop) or evaluation (pass everything).
    pub training: bool,
    /// The selected activation `(y, x)`.
    pub cell: (usize, usize),
}

impl State {
    /// Every combination of the controls' values (the seed at both ends), with the first and last activation.
    pub fn every() -> Vec<State> {
        let mut out = Vec::new();
        for p in P.samples() {
            for training in MODE.samples() {
                for seed in [0, 9999] {
                    for cell in [(0, 0), (SIDE - 1, SIDE - 1)] {
                        out.push(State { p, seed, training, cell });
                    }
                }
            }
        }
        out
    }

    /// The state as the URL writes it.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let (y, x) = self.cell;
        vec![(P.key, P.to_url(self.p)), (SEED.key, SEED.to_url(self.seed)), (MODE.key, MODE.to_url(self.training)), (Y.key, Y.to_url(y)), (X.key, X.to_url(x))]
    }

    /// The factor survivors are multiplied by: `1/(1 − p)` while training, 1 at evaluation.
    pub fn scale(&self) -> f32 {
        if self.training { 1.0 / (1.0 - self.p) } else { 1.0 }
    }

    /// How many values the mask dropped, what share of them that is against what p asks for, the survivors'
    /// factor, and the device that drew the mask.
    pub fn summary(&self, mask: &Tensor, device: &str) -> String {
        let n = SIDE * SIDE;
        let dropped = mask.data().iter().filter(|&&m| m == 0.0).count();
        let factor = if self.training { format!("1/(1 − {})", p_name(self.p)) } else { "1 (evaluation)".to_string() };
        format!(
            "{dropped} of {n} values dropped ({:.0}%, where p asks for {:.0}% on average); the {} survivors are multiplied by {factor} = {}. Drawn on {device}.",
            dropped as f64 * 100.0 / n as f64,
            if self.training { self.p * 100.0 } else { 0.0 },
            n - dropped,
            format_weight(self.scale()),
        )
    }

    /// The two conventions a reader meets, with this page's p in each: the paper's p keeps, PyTorch's drops.
    pub fn conventions(&self) -> String {
        let keep = 1.0 - self.p;
        format!(
            "This page's p = {} (PyTorch's: the probability of dropping) is the paper's p = {} (the probability of keeping). \
             The paper trains without scaling and multiplies each unit's outgoing weights by its p at test time; PyTorch \
             divides the survivors by 1 − p = {} during training instead (\"inverted dropout\"), so that evaluation uses \
             the weights as they are. Both give each unit the same expected contribution at test time.",
            p_name(self.p),
            format_weight(keep),
            format_weight(keep),
        )
    }

    /// The selected activation's sum: input × mask × scale = output.
    pub fn selected(&self, mask: &Tensor, output: &Tensor) -> String {
        let (y, x) = self.cell;
        let i = y * SIDE + x;
        format!("Activation ({y}, {x}): {} × mask {} × {} = {}", activations().data()[i], mask.data()[i], format_weight(self.scale()), output.data()[i])
    }

    /// The dropout of the activations, or the engine's reason why not.
    pub fn op(&self) -> Result<DropoutOp, String> {
        DropoutOp::new(activations().shape(), self.p, self.training, self.seed).map_err(|e| e.to_string())
    }

    /// What the page shows: the output's shape, the selected activation's input (its "window" is itself) and
    /// output, and the output's checksum; from the op's reference loops.
    pub fn numbers(&self) -> Result<PanelNumbers, String> {
        let x = activations();
        let (y, _) = self.op()?.reference_forward(&x);
        let t = Tensor::new([1, 1, SIDE, SIDE], y.data().to_vec()).map_err(|e| e.to_string())?;
        cell_in(&t, self.cell, 0)?;
        let i = self.cell.0 * SIDE + self.cell.1;
        Ok(PanelNumbers::new(&y, x.data()[i], y.data()[i]))
    }

    /// The PyTorch code: the same activations, the engine's mask (its generator written out in Python, since
    /// PyTorch's own `F.dropout` draws from another one), the same output; and the numbers the page shows.
    pub fn pytorch(&self) -> String {
        let x = activations();
        let rows: Vec<String> = x.data().chunks(SIDE).map(|r| format!("    [{}],", r.iter().map(|&v| exact(v)).collect::<Vec<_>>().join(", "))).collect();
        let (y, c) = self.cell;
        let n = SIDE * SIDE;
        let (mask, apply) = if self.training {
            (
                format!(
                    "key = pcg_hash({seed})  # the seed\n\
                     threshold = int(torch.ceil(p * 2**24))  # keep index i when its 24 random bits reach p * 2^24\n\
                     mask = torch.tensor([float((pcg_hash(i ^ key) >> 8) >= threshold) for i in range({n})]).reshape({SIDE}, {SIDE})",
                    seed = self.seed
                ),
                "y = x * mask * (1 / (1 - p))  # survivors scaled by 1/(1-p): the expected value is kept",
            )
        } else {
            (
                format!("mask = torch.ones({SIDE}, {SIDE})  # evaluation keeps every value"),
                "y = x * mask  # dropout does nothing (model.eval(); F.dropout(x, p, training=False) is x)",
            )
        };
        format!(
            "import torch\n\
             import torch.nn.functional as F\n\n\
             x = torch.tensor([\n{rows}\n], dtype=torch.float32)  # the layer's activations\n\
             p = torch.tensor({p}, dtype=torch.float32)\n\n\
             # The page's mask: the engine's counter-based generator (a PCG hash of the seed and the index), so that\n\
             # the CPU and the GPU draw the same one. PyTorch's own F.dropout(x, p) draws another mask by the same rule.\n\
             {PCG_HASH_PY}\n\
             {mask}\n\
             {apply}\n\n\
             # PyTorch's own dropout, beside it: another mask (from torch's generator), the same rule.\n\
             torch.manual_seed({seed})\n\
             y_torch = F.dropout(x, p={p}, training={training})\n\
             kept = y_torch != 0\n\
             assert torch.allclose(y_torch[kept], (x / (1 - p))[kept] if {training} else x[kept])  # survivors: x/(1-p) (x at evaluation)\n\
             print(\"F.dropout kept\", int(kept.sum()), \"of the\", int((x != 0).sum()), \"nonzero activations:\")\n\
             print(y_torch)\n\n\
             r, c = {y}, {c}  # the selected activation\n\
             window = x[r, c]\n\
             value = y[r, c]\n{footer}",
            rows = rows.join("\n"),
            p = exact(self.p),
            seed = self.seed,
            training = if self.training { "True" } else { "False" },
            footer = footer("y", "window", "value"),
        )
    }
}

/// The mean output of the first `n` masks (seeds `seed`, `seed + 1`, …) at drop probability `p`, while training,
/// for each `n` of [`AVERAGED`]: dropout's expected value, estimated ever better. One pass over the masks; each
/// mean is taken as the count reaches its `n`.
pub fn means_over_masks(p: f32, seed: u32) -> Result<Vec<(usize, Tensor)>, String> {
    let x = activations();
    let mut sum = vec![0.0f64; x.data().len()];
    let mut means = Vec::new();
    for k in 0..AVERAGED[AVERAGED.len() - 1] {
        let op = DropoutOp::new(x.shape(), p, true, seed.wrapping_add(k as u32)).map_err(|e| e.to_string())?;
        for (i, s) in sum.iter_mut().enumerate() {
            if op.keeps(i) {
                *s += (x.data()[i] * op.scale()) as f64;
            }
        }
        let n = k + 1;
        if AVERAGED.contains(&n) {
            means.push((n, Tensor::from_fn(x.shape().clone(), |i| (sum[i] / n as f64) as f32)));
        }
    }
    Ok(means)
}

/// The largest distance between a grid and the activations.
fn largest_gap(t: &Tensor) -> f32 {
    t.data().iter().zip(activations().data()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

/// A grid's cells, with `selected` marked and the values for which `dropped(index, value)` holds marked as dropped.
pub fn cells(t: &Tensor, selected: Option<(usize, usize)>, dropped: &dyn Fn(usize, f32) -> bool) -> Vec<Cell> {
    let cols = t.shape().dims().last().copied().unwrap_or(1);
    let class = |i: usize, v: f32| {
        let dropped = if dropped(i, v) { "dropped" } else { "" };
        let selected = if selected == Some((i / cols, i % cols)) { "selected" } else { "" };
        format!("{dropped} {selected}").trim().to_string()
    };
    t.data().iter().enumerate().map(|(i, &v)| Cell { value: Some(v), class: class(i, v), note: None }).collect()
}

/// Nothing is marked dropped.
fn kept(_: usize, _: f32) -> bool {
    false
}

/// A value that is 0 is marked dropped.
fn zero(_: usize, v: f32) -> bool {
    v == 0.0
}

/// The states `cargo xtask panels` checks: every p, in training and evaluation, each with its own mask and
/// activation.
#[cfg(not(target_arch = "wasm32"))]
pub fn cases(_: &dyn Assets) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for (i, p) in P.samples().into_iter().enumerate() {
        for training in MODE.samples() {
            let state = State { p, seed: (i * 37) as u32, training, cell: (i, 7 - i) };
            cases.push(Case { url: url("dropout", &state.query()), code: state.pytorch(), page: state.numbers() });
        }
    }
    Ok(cases)
}

/// The embedding example: a day-of-week embedding (7 categories, 4 numbers each) and a batch of 6 rows.
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const BATCH_DAYS: [usize; 6] = [0, 3, 3, 5, 1, 3];
const EMBEDDING: usize = 4;

/// The embedding matrix `[7, 4]`, seeded.
fn embedding_matrix() -> Tensor {
    let mut rng = Rng::new(11);
    Tensor::from_fn([DAYS.len(), EMBEDDING], |_| (rng.normal() * 100.0).round() / 100.0)
}

/// The batch's embedding outputs `[6, 4]` with dropout applied to single activations, and with whole rows of the
/// embedding dropped (each category's vector kept or zeroed, the same wherever it appears).
pub fn embedding_dropout(p: f32, seed: u32) -> Result<(Tensor, Tensor, Tensor), String> {
    let matrix = embedding_matrix();
    let looked_up = Tensor::from_fn([BATCH_DAYS.len(), EMBEDDING], |i| matrix.data()[BATCH_DAYS[i / EMBEDDING] * EMBEDDING + i % EMBEDDING]);
    let (single, _) = DropoutOp::new(looked_up.shape(), p, true, seed).map_err(|e| e.to_string())?.reference_forward(&looked_up);
    let rows = DropoutOp::new(&Shape::from([DAYS.len()]), p, true, seed).map_err(|e| e.to_string())?;
    let whole = Tensor::from_fn(looked_up.shape().clone(), |i| {
        let day = BATCH_DAYS[i / EMBEDDING];
        if rows.keeps(day) { looked_up.data()[i] * rows.scale() } else { 0.0 }
    });
    Ok((looked_up, single, whole))
}

/// The model trained with and without dropout: 64 pixels → 512 → ReLU → dropout → 512 → ReLU → dropout → 10.
fn mlp(device: &Device, p: f32) -> Sequential {
    let mut rng = Rng::new(1);
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(Flatten::default()),
        Box::new(Linear::new(device, 64, 512, true, &mut rng)),
        Box::new(ReLU::default()),
        Box::new(Dropout::new(p, 3)),
        Box::new(Linear::new(device, 512, 512, true, &mut rng)),
        Box::new(ReLU::default()),
        Box::new(Dropout::new(p, 5)),
        Box::new(Linear::new(device, 512, 10, true, &mut rng)),
    ];
    Sequential::new(layers)
}

/// The training runs: 60 epochs of 3 batches of 20 digits (a training set small enough to learn by heart),
/// validated on 300 others.
const EPOCHS: usize = 60;
const BATCH: usize = 20;
const TRAIN: usize = 60;
const VALID: usize = 300;
/// Steps in one run.
const STEPS: usize = EPOCHS * TRAIN.div_ceil(BATCH);

/// The training worker's name for a run of [`DropoutEffect`].
pub const EFFECT_JOB: &str = "dropout.effect";

/// In the worker: the run of an [`EFFECT_JOB`] recipe.
pub async fn effect_job(recipe: &Recipe) -> Result<Box<dyn Job>, String> {
    digits_job(recipe, digits_trainer).await
}

fn digits_trainer(device: &Device, digits: &ImageSet, p: f32) -> Trainer<Sequential, ImageSet> {
    digits_fit(device, digits, mlp(device, p), (TRAIN, VALID), EPOCHS, BATCH)
}

/// The output and mask the engine drew, and where.
#[derive(Clone)]
struct Drawn {
    output: Tensor,
    mask: Tensor,
    device: String,
}

/// The page.
#[component]
pub fn DropoutLesson() -> impl IntoView {
    let mut params = Params::from_location();
    let (p, seed, training, averaged) = (params.get(&P), params.get(&SEED), params.get(&MODE), params.get(&MASKS));
    let cell = params.cell((&Y, &X));
    let notices = params.notices();
    params.sync();
    let device = use_device();
    let state = Signal::derive(move || State { p: p.get(), seed: seed.get(), training: training.get(), cell: cell.get() });

    // The mask and the output, drawn by the engine on the page's device.
    let result = LocalResource::new(move || {
        let (page, s) = (device.get(), State { cell: (0, 0), ..state.get() });
        async move {
            let page = page?;
            let op = match s.op() {
                Ok(op) => op,
                Err(e) => return Some(Err(e)),
            };
            let x = activations();
            Some(
                with_fallback(&page.device, |d| {
                    let drawn = op.forward(&x.to(&d));
                    async move {
                        let (y, mask) = drawn?;
                        Ok((y.read().await?, mask.read().await?))
                    }
                })
                .await
                .map(|run| Drawn { output: run.value.0, mask: run.value.1, device: run.label }),
            )
        }
    });
    let ok = move || result.get().flatten().and_then(Result::ok);
    let cursor = Cursor::new(cell, Signal::derive(move || Some((SIDE, SIDE))), 4);
    let input_cells = Signal::derive(move || cells(&activations(), Some(cell.get()), &kept));
    let mask_cells = Signal::derive(move || ok().map(|r| cells(&r.mask, Some(cell.get()), &kept)).unwrap_or_default());
    let output_cells = Signal::derive(move || ok().map(|r| cells(&r.output, Some(cell.get()), &|i, _| r.mask.data()[i] == 0.0)).unwrap_or_default());
    let error = move || result.get().flatten().and_then(Result::err);
    let code = Signal::derive(move || state.get().pytorch());

    view! {
        <LessonPage
            class="dropout"
            title="Dropout"
            lede="While a network trains, dropout zeroes each activation with probability p, a fresh random choice at \
                  every step, and multiplies the ones it keeps by 1/(1 − p). A network trained this way cannot rely on \
                  any single activation being there, which reduces overfitting (Srivastava et al., 2014). At test \
                  time dropout does nothing at all. Choose p, draw masks, and pick an activation."
            notices
            cursor
        >
            <div class="controls">
                {select(&P, p, "p ", "p")}
                {mode_radios(training, "Mode", ["training", "evaluation"])}
                {number_input(&SEED, seed, "Mask #", "seed")}
                <button type="button" data-testid="next-mask" on:click=move |_| seed.update(|s| *s = (*s + 1) % (SEED.bounds().1 + 1))>"Draw another mask"</button>
            </div>

            <div class="grids dropout-grids">
                <figure>
                    <NumberGrid cells=input_cells cols=SIDE label="The activations".to_string() testid="activations" decimals=2
                        on_select=Callback::new(move |c| cursor.select(c)) selected=Signal::derive(move || cell.get())/>
                    <figcaption>"activations x [8, 8]"</figcaption>
                </figure>
                <div class="op" aria-hidden="true">"×"</div>
                <figure>
                    <NumberGrid cells=mask_cells cols=SIDE label="The mask: 1 kept, 0 dropped".to_string() testid="mask" decimals=0/>
                    <figcaption>"mask (1 kept, 0 dropped)"</figcaption>
                </figure>
                <div class="op" aria-hidden="true">{move || if training.get() { format!("× 1/(1 − {}) =", p_name(p.get())) } else { "=".to_string() }}</div>
                <figure>
                    <NumberGrid cells=output_cells cols=SIDE label="The output".to_string() testid="dropout-output" decimals=2/>
                    <figcaption>"output"</figcaption>
                </figure>
            </div>
            <p class="sum" data-testid="dropout-summary" aria-live="polite">{move || ok().map(|r| state.get().summary(&r.mask, &r.device))}</p>
            <p class="sum" data-testid="dropout-selected">{move || ok().map(|r| state.get().selected(&r.mask, &r.output))}</p>
            {move || error().map(|e| view! { <p class="error" role="alert" data-testid="error">{e}</p> })}
            <p class="note">
                "In evaluation mode the mask is all ones and the scale is 1: the output is the input. Nothing special is "
                "needed at inference, because the scaling during training already made each activation's average what "
                "it is without dropout."
            </p>

            <section class="conventions">
                <h2>"Two conventions for p"</h2>
                <p>
                    "Hinton and his colleagues introduced dropout in 2012; Srivastava, Hinton, Krizhevsky, Sutskever and "
                    "Salakhutdinov described it in full in “Dropout: A Simple Way to Prevent Neural Networks from "
                    "Overfitting”, Journal of Machine Learning Research 15 (2014). A reader "
                    "of the paper meets its p as the probability of keeping a unit; PyTorch's "<code>"nn.Dropout(p)"</code>
                    " and "<code>"F.dropout"</code>", fastai's "<code>"ps"</code>" and this page take p as the probability "
                    "of dropping one."
                </p>
                <p data-testid="dropout-conventions">{move || state.get().conventions()}</p>
            </section>
            <ExpectedValue p seed averaged cell/>
            <EmbeddingDropout p seed/>
            <DropoutEffect/>
            <CodePanel code/>
        </LessonPage>
    }
}

/// Averaging the outputs of more and more masks comes back to the input.
#[component]
fn ExpectedValue(p: RwSignal<f32>, seed: RwSignal<u32>, averaged: RwSignal<usize>, cell: RwSignal<(usize, usize)>) -> impl IntoView {
    let means = Memo::new(move |_| means_over_masks(p.get(), seed.get()));
    let mean_cells = Signal::derive(move || {
        let means = means.get().unwrap_or_default();
        means.iter().find(|(n, _)| *n == averaged.get()).map(|(_, m)| cells(m, Some(cell.get()), &kept)).unwrap_or_default()
    });
    let gaps = Memo::new(move |_| match means.get() {
        Ok(means) => means.iter().map(|(n, m)| (*n, Ok(largest_gap(m)))).collect::<Vec<_>>(),
        Err(e) => AVERAGED.iter().map(|&n| (n, Err(e.clone()))).collect(),
    });
    view! {
        <section class="expected">
            <h2>"Why 1/(1 − p): the expected value is kept"</h2>
            <p>
                "Each value survives with probability 1 − p and is then multiplied by 1/(1 − p), so on average it is "
                "(1 − p) · x/(1 − p) + p · 0 = x. Average the outputs of many masks and the mean comes back to the input:"
            </p>
            {select(&MASKS, averaged, "Masks averaged ", "averaged")}
            <div class="grids">
                <figure>
                    <NumberGrid cells=mean_cells cols=SIDE label="The mean output over the masks".to_string() testid="mean-output" decimals=2/>
                    <figcaption>{move || format!("mean output over {} masks", averaged.get())}</figcaption>
                </figure>
                <table class="gaps" data-testid="gaps">
                    <thead><tr><th>"masks"</th><th>"largest |mean − x|"</th></tr></thead>
                    <tbody>
                        {move || gaps.get().into_iter().map(|(n, gap)| view! {
                            <tr><td>{n}</td><td data-testid=format!("gap-{n}")>{gap.map_or_else(|e| e, |g| format!("{g:.4}"))}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// Embedding dropout (single looked-up values) beside whole rows of the embedding dropped.
#[component]
fn EmbeddingDropout(p: RwSignal<f32>, seed: RwSignal<u32>) -> impl IntoView {
    let embeddings = Memo::new(move |_| embedding_dropout(p.get(), seed.get()));
    view! {
        <section class="embedding-dropout">
            <h2>"Embedding dropout"</h2>
            <p>
                "A tabular model looks each category up in an embedding, a matrix with one row (a vector) per category, "
                "and applies dropout to what it looked up: single numbers of the batch's vectors are zeroed, "
                "independently. Dropping whole rows of the embedding instead zeroes a category's entire vector, "
                "wherever that category appears in the batch. Here a day-of-week embedding (7 rows of 4) and a batch "
                "of 6 rows: Mon, Thu, Thu, Sat, Tue, Thu; the same p and mask number."
            </p>
            <p>
                "The two have names. The tabular model's "<code>"emb_drop"</code>" (fastai's "<code>"tabular_learner"</code>
                ") is the first: an ordinary "<code>"nn.Dropout"</code>" on the concatenated embedding outputs, single "
                "values. The second is what Gal and Ghahramani proposed for words (“A Theoretically Grounded Application "
                "of Dropout in Recurrent Neural Networks”, 2016) and what fastai's text models call "
                <code>"EmbeddingDropout"</code>" ("<code>"embed_p"</code>" in AWD-LSTM): a word's whole vector dropped, "
                "everywhere it appears."
            </p>
            {move || match embeddings.get() {
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Ok((looked_up, single, whole)) => view! {
                    <div class="grids">
                        <figure><NumberGrid cells=cells(&looked_up, None, &zero) cols=EMBEDDING label="The batch's embedding vectors".to_string() testid="embedded" decimals=2/>
                            <figcaption>"looked up: Mon, Thu, Thu, Sat, Tue, Thu"</figcaption></figure>
                        <figure><NumberGrid cells=cells(&single, None, &zero) cols=EMBEDDING label="Dropout on the looked-up values".to_string() testid="embedded-single" decimals=2/>
                            <figcaption>"embedding dropout: single values"</figcaption></figure>
                        <figure><NumberGrid cells=cells(&whole, None, &zero) cols=EMBEDDING label="Whole rows of the embedding dropped".to_string() testid="embedded-rows" decimals=2/>
                            <figcaption>"whole rows dropped: a day's vector, everywhere"</figcaption></figure>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

/// Dropout's effect: one model trained on 60 digits with p = 0 and with p = 0.5, side by side.
#[component]
fn DropoutEffect() -> impl IntoView {
    view! {
        <section class="effect">
            <h2>"What it buys: the same model with and without dropout"</h2>
            <p>
                "A network of two hidden layers of 512 trained on only 60 handwritten digits, validated on 300 others. "
                "Without dropout its training loss goes to almost 0 while its validation loss, after its lowest point "
                "about a sixth of the way in, climbs back: overfitting. With p = 0.5 after each hidden layer the training "
                "loss falls more slowly (half the activations are missing at every step), and the validation loss climbs "
                "back less and ends lower. Dropout reduces the overfitting here; it does not remove it. That is what these "
                "two runs did when trained on the CPU with the same seeds (a test checks each statement); a GPU rounds "
                "differently, so its curves can part from these. Train both and compare."
            </p>
            {digits_side_by_side(
                EFFECT_JOB,
                vec![("p = 0 (no dropout)", "effect-p0", STEPS, 0.0), ("p = 0.5", "effect-p05", STEPS, 0.5)],
                digits_trainer,
                "Train (60 epochs)",
                "accuracy",
            )}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survivors_are_scaled_and_evaluation_changes_nothing() {
        let x = activations();
        for p in P.samples() {
            for seed in [0, 1, 77] {
                let (y, mask) = State { p, seed, training: true, cell: (0, 0) }.op().unwrap().reference_forward(&x);
                for i in 0..x.data().len() {
                    let expected = if mask.data()[i] == 1.0 { x.data()[i] * (1.0 / (1.0 - p)) } else { 0.0 };
                    assert_eq!(y.data()[i], expected);
                }
                let (y, mask) = State { p, seed, training: false, cell: (0, 0) }.op().unwrap().reference_forward(&x);
                assert_eq!(y.data(), x.data());
                assert!(mask.data().iter().all(|&m| m == 1.0));
            }
        }
        // At p = 0.5 the survivors are exactly twice their input.
        let (y, mask) = State { p: 0.5, seed: 3, training: true, cell: (0, 0) }.op().unwrap().reference_forward(&x);
        for i in (0..x.data().len()).filter(|&i| mask.data()[i] == 1.0) {
            assert_eq!(y.data()[i], 2.0 * x.data()[i]);
        }
    }

    #[test]
    fn the_papers_p_is_the_probability_of_keeping() {
        let s = State { p: 0.1, seed: 0, training: true, cell: (0, 0) };
        assert!(s.conventions().starts_with("This page's p = 0.1 (PyTorch's: the probability of dropping) is the paper's p = 0.9"));
        assert!(s.conventions().contains("1 − p = 0.9 during training"));
        let code = s.pytorch();
        assert!(code.contains("F.dropout(x, p=0.1, training=True)") && code.contains("torch.manual_seed(0)"));
        assert!(State { training: false, ..s }.pytorch().contains("F.dropout(x, p=0.1, training=False)"));
    }

    #[test]
    fn averaging_more_masks_comes_back_to_the_input() {
        let means = means_over_masks(0.5, 0).unwrap();
        assert_eq!(means.iter().map(|(n, _)| *n).collect::<Vec<_>>(), AVERAGED);
        let gap = |n: usize| largest_gap(&means.iter().find(|(m, _)| *m == n).unwrap().1);
        let gaps = [gap(1), gap(100), gap(10000)];
        assert!(gaps[0] > 0.5 && gaps[2] < 0.1 && gaps[2] < gaps[1] && gaps[1] < gaps[0], "{gaps:?}");
    }

    #[test]
    fn whole_rows_drop_a_category_everywhere_and_single_values_do_not() {
        let (looked_up, single, whole) = embedding_dropout(0.5, 4).unwrap();
        // Thursday appears three times: in whole-row dropout its three vectors are all kept or all zeroed.
        let thursdays: Vec<&[f32]> = [1, 2, 5].iter().map(|&r| &whole.data()[r * EMBEDDING..(r + 1) * EMBEDDING]).collect();
        assert!(thursdays.windows(2).all(|w| w[0] == w[1]));
        for row in 0..BATCH_DAYS.len() {
            let r = &whole.data()[row * EMBEDDING..(row + 1) * EMBEDDING];
            let x = &looked_up.data()[row * EMBEDDING..(row + 1) * EMBEDDING];
            assert!(r.iter().all(|&v| v == 0.0) || r.iter().zip(x).all(|(a, b)| *a == 2.0 * b));
        }
        // Single-value dropout zeroes some values of a row and keeps others somewhere in the batch.
        let mixed = (0..BATCH_DAYS.len()).any(|row| {
            let r = &single.data()[row * EMBEDDING..(row + 1) * EMBEDDING];
            r.contains(&0.0) && r.iter().any(|&v| v != 0.0)
        });
        assert!(mixed);
    }

    /// Both side-by-side runs, natively on the CPU, as the page trains them: `(p, epoch reports)`.
    fn effect_runs() -> Vec<(f32, Vec<engine::learner::EpochReport>)> {
        let digits = engine::data::digits::parse(include_bytes!("../../../public/data/digits_u8.bin")).unwrap();
        [0.0, 0.5]
            .into_iter()
            .map(|p| (p, pollster::block_on(digits_trainer(&Device::Cpu, &digits, p).fit(|_, _| {}, |_| {})).unwrap()))
            .collect()
    }

    /// What the side-by-side section says of its two runs, checked on the runs themselves (natively, on the CPU,
    /// with the page's settings and seeds).
    #[test]
    fn without_dropout_validation_loss_climbs_back_and_with_it_ends_lower() {
        let runs = effect_runs();
        let (plain, dropped) = (&runs[0].1, &runs[1].1);
        let lowest = |r: &[engine::learner::EpochReport]| r.iter().map(|e| e.valid_loss).fold(f32::INFINITY, f32::min);
        let last = |r: &[engine::learner::EpochReport]| r[r.len() - 1].clone();
        // Without dropout: the training loss goes to almost 0 and the validation loss climbs back from its lowest.
        assert!(last(plain).train_loss < 0.01, "{:?}", last(plain));
        assert!(last(plain).valid_loss > 1.3 * lowest(plain), "{} against its lowest {}", last(plain).valid_loss, lowest(plain));
        let at = plain.iter().position(|e| e.valid_loss == lowest(plain)).unwrap();
        assert!((6..=14).contains(&at), "lowest at epoch {}: not about a sixth of the way through 60", at + 1);
        // With p = 0.5: the training loss falls more slowly, the validation loss climbs back less and ends lower.
        assert!((4..15).all(|e| dropped[e].train_loss > plain[e].train_loss));
        assert!(last(dropped).valid_loss - lowest(dropped) < last(plain).valid_loss - lowest(plain));
        assert!(last(dropped).valid_loss < last(plain).valid_loss, "{} against {}", last(dropped).valid_loss, last(plain).valid_loss);
    }

    #[test]
    fn no_setting_of_the_controls_panics() {
        for s in State::every() {
            let numbers = s.numbers().unwrap();
            assert_eq!(numbers.shape, vec![SIDE, SIDE]);
            assert!(s.pytorch().contains("print(\"checksum:\""));
            let (y, mask) = s.op().unwrap().reference_forward(&activations());
            let dropped = mask.data().iter().filter(|&&m| m == 0.0).count();
            assert!(s.summary(&mask, "CPU").starts_with(&format!("{dropped} of 64 values dropped")));
            assert!(s.selected(&mask, &y).ends_with(&y.data()[s.cell.0 * SIDE + s.cell.1].to_string()));
            let marked = cells(&y, Some(s.cell), &|i, _| mask.data()[i] == 0.0);
            assert_eq!(marked.iter().filter(|c| c.class.contains("dropped")).count(), dropped);
            assert!(State { cell: (SIDE, 0), ..s }.numbers().is_err());
            assert!(embedding_dropout(s.p, s.seed).is_ok());
        }
        for p in P.samples() {
            assert_eq!(means_over_masks(p, 5).unwrap().len(), AVERAGED.len());
        }
    }
}
