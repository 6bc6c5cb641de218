//! `/pooling`: average and max pooling stepped window by window on a real handwritten digit, then the head of a
//! CNN: the body's feature map `[C, h, w]` averaged to `[C]`, a linear layer to one score per class, and softmax,
//! down to the dot product behind one score. The head runs on a shapes CNN the engine trains here (or untrained
//! weights, labelled as such, until it is trained).
//!
//! URL parameters ([`PARAMS`]): `pool` (`max`, `avg`), `k` (window, 1–4), `s` (stride, 1–3), `p` (padding,
//! 0–1), `digit` (which of the dataset's digits, 0–1796), `y`, `x` (the selected window), `class` (the score shown
//! as a dot product), `image` (which shapes image, 0–99).

use crate::data::load_digits;
use crate::device::use_device;
use crate::image::draw;
use crate::panel::{PanelNumbers, cell_in, footer};
#[cfg(not(target_arch = "wasm32"))]
use crate::panel::{Assets, Case, url};
use crate::query::{AnyParam, Param, Params};
use crate::widgets::training::{Job, RunState, StartJob, Started, Training, TrainingRunner};
use crate::worker::recipe;
use crate::widgets::{Cell, CodePanel, Cursor, LessonPage, NumberGrid, ShapeBadge, StepControls, number_input, select};
use engine::checkpoint;
use engine::data::{ImageSet, gather_rows, normalize, shapes};
use engine::learner::{FitConfig, Loss, Metric, Trainer};
use engine::nn::{Model, Sequential};
use engine::ops::Unary;
use engine::ops::avg_pool2d::AvgPool2d;
use engine::ops::max_pool2d::MaxPool2d;
use engine::ops::pool::{Pool2dParams, PoolTrace};
use engine::ops::softmax::Softmax;
use engine::optim::Optimizer;
use engine::rng::Rng;
use engine::{Device, Shape, Tensor, models};
use leptos::html::Canvas;
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// Which pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The largest value of each window.
    Max,
    /// The mean of each window (padding counted, as PyTorch's `count_include_pad` default).
    Avg,
}

impl Kind {
    /// Both, as the lesson offers them.
    pub const ALL: [Kind; 2] = [Kind::Max, Kind::Avg];

    /// The name in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Max => "max",
            Kind::Avg => "avg",
        }
    }
}

/// Max or average pooling.
pub const POOL: Param<Kind> = Param::choices("pool", Kind::Max, &Kind::ALL, Kind::name);
/// The window's side.
pub const KERNEL: Param<usize> = Param::range("k", 2, 1, 4);
/// How far the window moves.
pub const STRIDE: Param<usize> = Param::range("s", 2, 1, 3);
/// Padding on every side.
pub const PADDING: Param<usize> = Param::range("p", 0, 0, 1);
/// Which of the dataset's 1,797 digits.
pub const DIGIT: Param<usize> = Param::range("digit", 3, 0, 1796);
/// The selected output cell's row (clamped into the output on the page).
pub const Y: Param<usize> = Param::range("y", 0, 0, 8);
/// Its column.
pub const X: Param<usize> = Param::range("x", 0, 0, 8);
/// The class whose score is shown as a dot product.
pub const CLASS: Param<usize> = Param::range("class", 0, 0, 3);
/// Which of the 100 shapes images the head reads.
pub const IMAGE: Param<usize> = Param::range("image", 0, 0, 99);
/// Every parameter, in the URL's order.
pub const PARAMS: &[&dyn AnyParam] = &[&POOL, &KERNEL, &STRIDE, &PADDING, &DIGIT, &Y, &X, &CLASS, &IMAGE];

/// The window settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Max or average.
    pub kind: Kind,
    /// The window's side.
    pub kernel: usize,
    /// How far the window moves.
    pub stride: usize,
    /// Padding on every side.
    pub padding: usize,
}

/// Traces the window of one output cell `(oy, ox)`.
pub type WindowTracer = Box<dyn Fn(usize, usize) -> PoolTrace>;

impl Settings {
    /// Every combination of the controls' values.
    pub fn every() -> Vec<Settings> {
        let mut out = Vec::new();
        for kind in POOL.samples() {
            for kernel in KERNEL.samples() {
                for stride in STRIDE.samples() {
                    for padding in PADDING.samples() {
                        out.push(Settings { kind, kernel, stride, padding });
                    }
                }
            }
        }
        out
    }

    fn params(&self) -> Pool2dParams {
        Pool2dParams::new(self.kernel).stride(self.stride).padding(self.padding)
    }

    /// The pooled output and a tracer for one window, or why these windows do not fit.
    pub fn pool(&self, x: &Tensor) -> Result<(Tensor, WindowTracer), String> {
        match self.kind {
            Kind::Max => {
                let op = MaxPool2d::new(&self.params(), x.shape()).map_err(|e| e.to_string())?;
                let (y, _) = op.reference_forward(x);
                let x = x.clone();
                Ok((y, Box::new(move |oy, ox| op.trace(&x, 0, oy, ox))))
            }
            Kind::Avg => {
                let op = AvgPool2d::new(&self.params(), x.shape(), true).map_err(|e| e.to_string())?;
                let y = op.reference_forward(x);
                let x = x.clone();
                Ok((y, Box::new(move |oy, ox| op.trace(&x, 0, oy, ox))))
            }
        }
    }
}

/// Digit number `index` of `set` as the page shows it: `[1, 1, 8, 8]`, pixels 0..16 as in the file, and its label.
pub fn digit(set: &ImageSet, index: usize) -> (Tensor, u8) {
    let i = index.min(set.labels.len() - 1);
    (Tensor::from_fn([1, 1, 8, 8], |p| (set.images.data()[i * 64 + p] * 16.0).round()), set.labels[i] as u8)
}

impl Settings {
    /// The digit's cells, with the traced window outlined and its maximum marked.
    pub fn input_cells(x: &Tensor, trace: Option<&PoolTrace>) -> Vec<Cell> {
        let class = |r: usize, c: usize| match trace.and_then(|t| t.pixels.iter().position(|p| (p.0, p.1) == (r, c)).map(|j| t.argmax == Some(j))) {
            Some(true) => "window argmax",
            Some(false) => "window",
            None => "",
        };
        x.data().iter().enumerate().map(|(i, &v)| Cell { value: Some(v), class: class(i / 8, i % 8).into(), note: None }).collect()
    }

    /// The pooled output's cells, with `selected` marked.
    pub fn output_cells(y: &Tensor, selected: (usize, usize)) -> Vec<Cell> {
        let w = y.shape().dims()[3];
        let class = |i: usize| if (i / w, i % w) == selected { "selected" } else { "" };
        y.data().iter().enumerate().map(|(i, &v)| Cell { value: Some(v), class: class(i).into(), note: None }).collect()
    }

    /// The sentence that explains one window: `max(…) = ` or `(… + …) / n = `.
    pub fn explanation(kind: Kind, trace: &PoolTrace) -> String {
        let values = trace.pixels.iter().map(|p| format!("{}", p.2)).collect::<Vec<_>>();
        match kind {
            Kind::Max => format!("max({}) = ", values.join(", ")),
            Kind::Avg => format!("({}) / {} = ", values.join(" + "), trace.divisor),
        }
    }

    /// The settings and the rest of the page's state as the URL writes them.
    pub fn query(&self, digit: usize, (y, x): (usize, usize)) -> Vec<(&'static str, String)> {
        vec![
            (POOL.key, POOL.to_url(self.kind)),
            (KERNEL.key, KERNEL.to_url(self.kernel)),
            (STRIDE.key, STRIDE.to_url(self.stride)),
            (PADDING.key, PADDING.to_url(self.padding)),
            (DIGIT.key, DIGIT.to_url(digit)),
            (Y.key, Y.to_url(y)),
            (X.key, X.to_url(x)),
        ]
    }

    /// What the page shows for digit `x` (`[1, 1, 8, 8]`, pixels 0..16) with output cell `cell` selected: the
    /// pooled output, the selected window's pixels summed (padding counting 0) and the value it keeps.
    pub fn numbers(&self, x: &Tensor, (oy, ox): (usize, usize)) -> Result<PanelNumbers, String> {
        let (y, tracer) = self.pool(x)?;
        cell_in(&y, (oy, ox), 0)?;
        let trace = tracer(oy, ox);
        let window_sum = trace.pixels.iter().map(|p| p.2).sum();
        Ok(PanelNumbers::new(&y, window_sum, y.data()[oy * y.shape().dims()[3] + ox]))
    }

    /// The PyTorch code that pools digit number `digit` as the page does and prints the numbers it shows for
    /// `cell`; then the head of the page's CNN, with what it assumes said plainly.
    pub fn pytorch(&self, digit: usize, (oy, ox): (usize, usize)) -> String {
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        let call = match self.kind {
            Kind::Max => format!("F.max_pool2d(x, kernel_size={k}, stride={s}, padding={p})"),
            Kind::Avg => format!("F.avg_pool2d(x, kernel_size={k}, stride={s}, padding={p})  # padding counts in the divisor"),
        };
        format!(
            "import torch\nimport torch.nn.functional as F\n\n\
             # The page's digits file (public/data/digits_u8.bin: scikit-learn's load_digits(), one record per digit:\n\
             # its label, then 64 pixels of 0..16).\n\
             record = open(\"digits_u8.bin\", \"rb\").read()[{digit} * 65:{next} * 65]\n\
             x = torch.tensor(list(record[1:]), dtype=torch.float32).reshape(1, 1, 8, 8)  # a handwritten {{record[0]}}\n\
             out = {call}\n\n\
             oy, ox = {oy}, {ox}  # the selected output cell\n\
             window = F.pad(x, ({p}, {p}, {p}, {p}))[0, 0, oy * {s}:oy * {s} + {k}, ox * {s}:ox * {s} + {k}]  # padding as 0\n\
             value = out[0, 0, oy, ox]\n{footer}\n\
             # The head of a CNN: average each feature map to one number, then a linear layer scores each class.\n\
             # The page's head belongs to its shapes CNN (body output [1, 128, 4, 4], 4 classes), trained in the page;\n\
             # its weights cannot be exported yet, so here random features and weights show the shapes.\n\
             head = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(128, 4))\n\
             feats = torch.randn(1, 128, 4, 4)  # [N, C, h, w]: what the body would give\n\
             pooled = feats.mean((2, 3))        # [N, C], as AdaptiveAvgPool2d(1) then Flatten\n\
             probs = head(feats).softmax(dim=1)  # [N, classes], each row sums to 1\n",
            next = digit + 1,
            footer = footer("out", "window", "value"),
        )
    }
}

/// The states `cargo xtask panels` checks: both pools with windows, strides and paddings of every kind, each on its
/// own digit, with the last row's middle window selected.
#[cfg(not(target_arch = "wasm32"))]
pub fn cases(assets: &dyn Assets) -> Result<Vec<Case>, String> {
    let set = assets.digits()?;
    let mut cases = Vec::new();
    for kind in POOL.samples() {
        for (kernel, stride, padding) in [(2, 2, 0), (1, 1, 0), (3, 1, 1), (3, 2, 1), (4, 3, 1), (2, 3, 1), (4, 2, 0), (3, 3, 0)] {
            let index = kernel * 100 + stride * 10 + padding;
            let (x, _) = digit(&set, index);
            let settings = Settings { kind, kernel, stride, padding };
            let Ok((y, _)) = settings.pool(&x) else { continue };
            let cell = (y.shape().dims()[2] - 1, y.shape().dims()[3] / 2);
            cases.push(Case { url: url("pooling", &settings.query(index, cell)), code: settings.pytorch(index, cell), page: settings.numbers(&x, cell) });
        }
    }
    Ok(cases)
}

/// The page.
#[component]
pub fn Pooling() -> impl IntoView {
    let mut params = Params::from_location();
    let (kind, kernel, stride, padding) = (params.get(&POOL), params.get(&KERNEL), params.get(&STRIDE), params.get(&PADDING));
    let digit_index = params.get(&DIGIT);
    let cell = params.cell((&Y, &X));
    let (class, image_index) = (params.get(&CLASS), params.get(&IMAGE));
    let notices = params.notices();
    params.sync();
    let settings = Signal::derive(move || Settings { kind: kind.get(), kernel: kernel.get(), stride: stride.get(), padding: padding.get() });

    let digits = LocalResource::new(load_digits);
    let input = Memo::new(move |_| Some(digit(&digits.get()?.ok()?, digit_index.get())));
    let pooled = Memo::new(move |_| Some(settings.get().pool(&input.get()?.0).map(|(y, _)| y)));
    let output = move || pooled.get().and_then(Result::ok);
    let cursor = Cursor::new(cell, Signal::derive(move || output().map(|y| (y.shape().dims()[2], y.shape().dims()[3]))), 2);
    let trace = Memo::new(move |_| {
        let (y, tracer) = settings.get().pool(&input.get()?.0).ok()?;
        let ((oy, ox), d) = (cell.get(), y.shape().dims().to_vec());
        (oy < d[2] && ox < d[3]).then(|| (tracer(oy, ox), y.data()[oy * d[3] + ox]))
    });
    let input_cells = Signal::derive(move || input.get().map(|(x, _)| Settings::input_cells(&x, trace.get().as_ref().map(|t| &t.0))).unwrap_or_default());
    let output_cells = Signal::derive(move || output().map(|y| Settings::output_cells(&y, cell.get())).unwrap_or_default());
    let output_cols = Signal::derive(move || output().map_or(1, |y| y.shape().dims()[3]));
    let output_shape = Signal::derive(move || output().map(|y| y.shape().clone()));
    let code = Signal::derive(move || settings.get().pytorch(digit_index.get(), cell.get()));

    view! {
        <LessonPage
            class="pooling"
            title="Pooling, and the head of a CNN"
            lede="Pooling shrinks a feature map by summarising each window: max pooling keeps the largest value, \
                  average pooling the mean. Here the input is a real 8x8 handwritten digit (pixel values 0–16). \
                  Choose an output cell, or step through the windows, to see what each one keeps."
            notices
            cursor
        >
            <div class="controls">
                <fieldset class="choice">
                    <legend>"Pooling"</legend>
                    {Kind::ALL.into_iter().map(|k| view! {
                        <label>
                            <input type="radio" name="pool" data-testid=format!("pool-{}", k.name()) prop:checked=move || kind.get() == k on:change=move |_| kind.set(k)/>
                            {if k == Kind::Max { "max" } else { "average" }}
                        </label>
                    }).collect_view()}
                </fieldset>
                {select(&KERNEL, kernel, "Window ", "pool-kernel")}
                {select(&STRIDE, stride, "Stride ", "pool-stride")}
                {select(&PADDING, padding, "Padding ", "pool-padding")}
                {number_input(&DIGIT, digit_index, "Digit #", "digit")}
                <span>{move || input.get().map(|(_, label)| format!("(a handwritten {label})"))}</span>
            </div>

            <div class="grids">
                <figure>
                    <NumberGrid cells=input_cells cols=8usize label="The digit's pixels".to_string() testid="pool-input" decimals=0/>
                    <figcaption>"input [1, 1, 8, 8] (the window is outlined; the maximum is marked)"</figcaption>
                </figure>
                <div class="arrow" aria-hidden="true">"→"</div>
                <figure>
                    <NumberGrid cells=output_cells cols=output_cols label="The pooled output: choose a cell".to_string() testid="pool-output"
                        decimals=2 on_select=Callback::new(move |c| cursor.select(c)) selected=Signal::derive(move || cell.get())/>
                    <figcaption>"output " <ShapeBadge shape=output_shape testid="pool-output-shape"/></figcaption>
                </figure>
            </div>
            <StepControls cursor label="the windows"/>
            {move || match pooled.get() {
                Some(Err(e)) => Some(view! { <p class="error" role="alert" data-testid="error">{e}</p> }.into_any()),
                _ => trace.get().map(|(t, value)| view! { <PoolExplanation trace=t value kind=settings.get().kind/> }.into_any()),
            }}

            <Head class image_index/>
            <CodePanel code/>
        </LessonPage>
    }
}

/// What one window kept, and how.
#[component]
fn PoolExplanation(trace: PoolTrace, value: f32, kind: Kind) -> impl IntoView {
    let text = Settings::explanation(kind, &trace);
    view! {
        <p class="sum" data-testid="pool-trace" aria-live="polite">
            {text}<strong data-testid="pool-trace-output">{format!("{:.4}", trace.output)}</strong>
            "; the pooled output holds " <strong data-testid="pool-output-value">{format!("{value:.4}")}</strong> "."
            {(kind == Kind::Avg).then_some(" (Padding counts in the divisor, as PyTorch's count_include_pad does by default.)")}
        </p>
    }
}

/// The shapes CNN in training: trained here, on the shapes dataset.
type ShapesTrainer = Trainer<Sequential, ImageSet>;

/// The page's training run: three epochs of 50 batches of 32 generated shapes, validated on 160 others.
const EPOCHS: usize = 3;
const BATCH: usize = 32;
const TRAIN: usize = 1600;
const VALID: usize = 160;

/// The training and validation shapes: generated once per page (drawing 2,000 shapes takes long enough that doing
/// it when the learner presses "Train" froze the page for half a second).
fn shapes_sets() -> (ImageSet, ImageSet) {
    let (set, _) = shapes::generate(2000, 7);
    let (train, valid) = set.split(0.2, 7);
    (train, valid.subset(&(0..VALID).collect::<Vec<_>>()))
}

/// A fresh run on `device` over `sets`: the shapes CNN (PyTorch's initialisation, seed 1), AdamW, one-cycle up to
/// 4e-3. The model sits near chance for its first hundred steps, then finds the shapes (about 0.7 accuracy after
/// these 150 steps natively; 8 epochs of `cargo xtask train --task shapes` reach 1.0).
fn shapes_trainer(device: &Device, (train, valid): &(ImageSet, ImageSet)) -> ShapesTrainer {
    let (train, valid) = (train.clone(), valid.clone());
    let config = FitConfig { epochs: EPOCHS, batch_size: BATCH, lr_max: 4e-3, seed: 7, read_every: 4, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
    Trainer::new(device, models::shapes_cnn(device, &mut Rng::new(1)), Optimizer::adamw(0.01), train, valid, config)
}

/// The training worker's name for this lesson's run.
pub const HEAD_JOB: &str = "pooling.head";

/// In the worker: the lesson's run, on the CPU.
pub fn head_job() -> Box<dyn Job> {
    Box::new(shapes_trainer(&Device::Cpu, &shapes_sets()))
}

/// Whether a model from `/train` has this lesson's head: trained on the shapes (32x32 RGB), its body ending in an
/// adaptive average pool, a flatten and one linear layer, so that the pooled vector times one weight row is a score.
fn head_fits(info: &checkpoint::Info, model: &Sequential) -> bool {
    use engine::architecture::Block;
    let Some(arch) = &info.architecture else { return false };
    info.task == "shapes"
        && arch.input == [3, shapes::SIZE, shapes::SIZE]
        && arch.blocks.ends_with(&[Block::AdaptiveAvgPool, Block::Flatten, Block::Linear { features: arch.classes }])
        && model.names().iter().any(|n| n == models::BODY)
}

/// What the head computes for one image.
#[derive(Clone, PartialEq)]
struct HeadValues {
    features: Tensor,
    pooled: Vec<f32>,
    weight: Tensor,
    bias: Vec<f32>,
    scores: Vec<f32>,
    probs: Vec<f32>,
}

impl HeadValues {
    /// Class `k`'s score as a dot product: the pooled vector times the weight's row `k`, term by term (largest
    /// first), and the sum of the terms plus the bias.
    fn terms(&self, k: usize) -> (Vec<(usize, f32)>, f32) {
        let channels = self.pooled.len();
        let row = &self.weight.data()[k * channels..(k + 1) * channels];
        let mut terms: Vec<(usize, f32)> = self.pooled.iter().zip(row).map(|(p, w)| p * w).enumerate().collect();
        let total = terms.iter().map(|t| t.1).sum::<f32>() + self.bias[k];
        terms.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        (terms, total)
    }
}

/// What the head's weights are, for the line beside the image picker.
fn weights_state(state: RunState, (step, steps): (usize, usize)) -> String {
    match state {
        RunState::Idle => "untrained weights (random, as PyTorch initialises them)".to_string(),
        RunState::Done => "trained weights".to_string(),
        RunState::Running | RunState::Pausing | RunState::Stopping => "weights in training…".to_string(),
        _ => format!("weights after step {step} of {steps}"),
    }
}

/// The body's last activations and the head for `image`, in evaluation mode. The model is only borrowed while the
/// forward pass is recorded (never across a read), so a training run may start at any moment.
async fn head_values(trainer: &RefCell<ShapesTrainer>, image: &Tensor) -> Result<HeadValues, String> {
    let (scores, features, pooled, weight, bias) = {
        let mut trainer = trainer.try_borrow_mut().map_err(|_| "the model is training".to_string())?;
        let device = trainer.device.clone();
        let model = &mut trainer.model;
        Model::set_training(model, false);
        model.hook(models::BODY).map_err(|e| e.to_string())?;
        model.hook(models::POOL).map_err(|e| e.to_string())?;
        let scores = model.forward(&image.to(&device)).map_err(|e| e.to_string())?;
        let captured = |name| model.captured(name).and_then(|c| c.activation.clone()).ok_or(format!("nothing was captured at {name}"));
        let (features, pooled) = (captured(models::BODY)?, captured(models::POOL)?);
        let head = Model::params_mut(model);
        let (weight, bias) = (head[head.len() - 2].value.clone(), head[head.len() - 1].value.clone());
        (scores, features, pooled, weight, bias)
    };
    let read = |t: Tensor| async move { t.read().await.map_err(|e| e.to_string()) };
    let scores = read(scores).await?;
    let probs = Softmax::new(scores.shape(), -1, false).map_err(|e| e.to_string())?.reference_forward(&scores);
    Ok(HeadValues {
        features: read(features).await?,
        pooled: read(pooled).await?.into_data(),
        weight: read(weight).await?,
        bias: read(bias).await?.into_data(),
        scores: scores.into_data(),
        probs: probs.into_data(),
    })
}

/// The head of a CNN on the shapes model: feature maps, average pooling, the linear layer, softmax; and the
/// model trained here.
#[component]
fn Head(class: RwSignal<usize>, image_index: RwSignal<usize>) -> impl IntoView {
    let page = use_device();
    // The model the head shows: untrained on the page's device until a run starts, then the run's.
    let trainer = RwSignal::new_local(None::<Rc<RefCell<ShapesTrainer>>>);
    let sets = StoredValue::new_local(None::<Rc<(ImageSet, ImageSet)>>);
    let sets = move || {
        if sets.with_value(Option::is_none) {
            sets.set_value(Some(Rc::new(shapes_sets())));
        }
        sets.get_value().expect("generated above")
    };
    // The learner's shapes model from /train, when its head is this one (kept in the browser; checked on the CPU).
    let yours = StoredValue::new_local(crate::lessons::train::kept_model().and_then(|bytes| {
        let (model, info) = checkpoint::open(&bytes, &Device::Cpu).ok()?;
        head_fits(&info, &model).then_some((bytes, info.stats))
    }));
    let showing_yours = RwSignal::new(false);
    Effect::new(move || {
        if trainer.with_untracked(Option::is_none)
            && let Some(page) = page.get()
        {
            let mut run = shapes_trainer(&page.device, &sets());
            if let Some((bytes, _)) = yours.get_value()
                && let Ok((model, _)) = checkpoint::open(&bytes, &page.device)
            {
                run.model = model;
                showing_yours.set(true);
            }
            trainer.set(Some(Rc::new(RefCell::new(run))));
        }
    });
    let training = Training::default();
    let start: StartJob = Rc::new(move |device: Device| {
        let run = Rc::new(RefCell::new(shapes_trainer(&device, &sets())));
        showing_yours.set(false);
        trainer.set(Some(run.clone()));
        Started::portable(run, recipe(HEAD_JOB, &[]))
    });
    let total_steps = EPOCHS * TRAIN.div_ceil(BATCH);

    let raw = shapes::generate(100, 99).0;
    let own_stats = raw.channel_stats();
    // Normalised as the model in view was trained: the learner's model with its training statistics.
    let image = Signal::derive(move || {
        let i = image_index.get().min(99);
        let stats = if showing_yours.get() { yours.with_value(|y| y.as_ref().map(|y| y.1.clone())).unwrap_or(own_stats.clone()) } else { own_stats.clone() };
        let x = gather_rows(&raw.images, &[i]);
        (normalize(&x, &stats), x, raw.labels[i] as usize)
    });
    // Recomputed for each image and whenever a run is not training (before, paused, stopped, done).
    let values = LocalResource::new(move || {
        // A run in the worker sends its weights back at a pause: the head is shown again with them.
        let (trainer, (x, _, _), state, _) = (trainer.get(), image.get(), training.state.get(), training.weights.get());
        async move {
            let trainer = trainer?;
            if matches!(state, RunState::Running | RunState::Pausing | RunState::Stopping) {
                return None;
            }
            Some(head_values(&trainer, &x).await)
        }
    });
    let image_canvas = NodeRef::<Canvas>::new();
    Effect::new(move || {
        if let Some(c) = image_canvas.get() {
            let _ = draw(&c, &image.get().1);
        }
    });

    view! {
        <section class="head-section">
            <h2>"The head of a CNN"</h2>
            <p>
                "A CNN's body turns an image into a stack of small feature maps. The head averages each map to a single "
                "number (average pooling over the whole map), so the stack becomes a vector, and a linear layer turns "
                "that vector into one score per class; softmax makes the scores probabilities. In the lesson's pet "
                "classifier: " <code>"[512, 11, 11] → average pool → [512] → linear 512 x 37 → 37 scores"</code>
                ". Here, a shapes classifier: " <code>"[128, 4, 4] → [128] → linear 128 x 4 → 4 scores"</code> "."
            </p>
            <h3>"Train it here"</h3>
            <p>
                "Untrained, the weights are random (as PyTorch initialises them) and the scores mean nothing. Train the "
                "model for three epochs over 1,600 generated shapes and watch the loss, which stays near ln 4 ≈ 1.39 "
                "(a guess among four classes) for a while, then falls as the model finds the shapes; pause to look at "
                "the head half-way."
            </p>
            <TrainingRunner training start total_steps label="Train the model here (three epochs)" metric="accuracy"/>
            <div class="controls">
                {number_input(&IMAGE, image_index, "Image #", "shape-image")}
                <span class="weights-state" data-testid="weights-state">{move || if showing_yours.get() {
                    "your model, trained on /train and kept in this browser (train here to start afresh)".to_string()
                } else {
                    weights_state(training.state.get(), training.progress.get())
                }}</span>
            </div>
            <div class="head-flow">
                <figure><canvas node_ref=image_canvas data-testid="shape-canvas" aria-label="The shapes image"></canvas>
                    <figcaption>{move || format!("a {}", shapes::CLASSES[image.get().2])}</figcaption></figure>
                {move || values.get().flatten().map(|v| match v {
                    Err(e) => view! { <p class="error" role="alert">{format!("The head could not be computed ({e}). Pick the image again.")}</p> }.into_any(),
                    Ok(v) => view! { <HeadView values=v class/> }.into_any(),
                })}
            </div>
        </section>
    }
}

/// The feature maps, the pooled vector, the scores, and one score's dot product.
#[component]
fn HeadView(values: HeadValues, class: RwSignal<usize>) -> impl IntoView {
    let dims = values.features.shape().dims().to_vec();
    let (channels, h, w) = (dims[1], dims[2], dims[3]);
    let shown = channels.min(8);
    let maps: Vec<Vec<Cell>> = (0..shown)
        .map(|c| values.features.data()[c * h * w..(c + 1) * h * w].iter().map(|&v| Cell { value: Some(v), ..Default::default() }).collect())
        .collect();
    let values = Arc::new(values);
    let v2 = values.clone();
    let dot = move || {
        let v = &v2;
        let k = class.get().min(v.scores.len() - 1);
        let row = &v.weight.data()[k * channels..(k + 1) * channels];
        let (terms, total) = v.terms(k);
        view! {
            <div class="dot" data-testid="dot-product" aria-live="polite">
                <p>{format!("score of {}: Σ pooled[c] · weight[{k}, c] over the {channels} channels, plus the bias {:.4}", shapes::CLASSES[k], v.bias[k])}</p>
                <ol class="terms">
                    {terms.iter().take(6).map(|(c, t)| view! { <li>{format!("channel {c}: {:.4} × {:.4} = {t:.4}", v.pooled[*c], row[*c])}</li> }).collect_view()}
                    <li>{format!("… and {} smaller terms", channels.saturating_sub(6))}</li>
                </ol>
                <p>"Sum with the bias: " <strong data-testid="dot-total">{format!("{total:.4}")}</strong>
                   "; the linear layer computed " <strong data-testid="dot-score">{format!("{:.4}", v.scores[k])}</strong> "."</p>
            </div>
        }
    };
    view! {
        <div class="head-values">
            <div class="feature-maps">
                <h3>"Feature maps " <ShapeBadge shape=Signal::derive(move || Some(Shape::from([channels, h, w]))) testid="features-shape"/></h3>
                <div class="maps">
                    {maps.into_iter().enumerate().map(|(c, cells)| view! {
                        <figure><NumberGrid cells=cells cols=w label=format!("feature map {c}") testid="feature-map" decimals=2/><figcaption>{format!("#{c} → {:.2}", values.pooled[c])}</figcaption></figure>
                    }).collect_view()}
                </div>
                <p>{format!("The first {shown} of {channels} maps; each averages to one number of the pooled vector.")}</p>
            </div>
            <div class="scores">
                <h3>"Scores and probabilities"</h3>
                <table data-testid="scores">
                    <thead><tr><th>"class"</th><th>"score"</th><th>"probability"</th></tr></thead>
                    <tbody>
                        {values.scores.iter().zip(&values.probs).enumerate().map(|(k, (s, p))| view! {
                            <tr class:chosen=move || class.get() == k>
                                <td><button type="button" data-testid=format!("class-{k}") on:click=move |_| class.set(k)>{shapes::CLASSES[k]}</button></td>
                                <td>{format!("{s:.4}")}</td>
                                <td>{format!("{:.1}%", p * 100.0)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {dot}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_from_train_shows_its_head_only_when_it_ends_in_pool_flatten_linear() {
        let check = |blocks: Vec<engine::architecture::Block>, task: &str| {
            let arch = engine::architecture::Architecture { input: [3, 32, 32], blocks, classes: 4 };
            let model = arch.build(&Device::Cpu, &mut Rng::new(1)).unwrap();
            let info = checkpoint::Info { task: task.into(), classes: vec![], stats: vec![], architecture: Some(arch) };
            head_fits(&info, &model)
        };
        let lesson = engine::architecture::simple_cnn([3, 32, 32], &[8, 16], 4).blocks;
        assert!(check(lesson.clone(), "shapes"));
        assert!(!check(lesson.clone(), "files"), "another task's classes are not the shapes'");
        let mut two_linears = lesson;
        let n = two_linears.len();
        two_linears.splice(n - 1.., [engine::architecture::Block::Linear { features: 8 }, engine::architecture::Block::ReLU, engine::architecture::Block::Linear { features: 4 }]);
        assert!(!check(two_linears, "shapes"), "a score is then no longer one dot product with the pooled vector");
    }

    #[test]
    fn max_and_average_pooling_halve_a_digit() {
        let x = Tensor::from_fn([1, 1, 8, 8], |i| i as f32);
        for kind in [Kind::Max, Kind::Avg] {
            let (y, trace) = Settings { kind, kernel: 2, stride: 2, padding: 0 }.pool(&x).unwrap();
            assert_eq!(y.shape().dims(), &[1, 1, 4, 4]);
            assert_eq!(trace(1, 2).output, y.data()[6]);
        }
        assert!(Settings { kind: Kind::Max, kernel: 1, stride: 1, padding: 1 }.pool(&x).is_err());
    }

    #[test]
    fn no_setting_of_the_controls_panics() {
        let digit = Tensor::from_fn([1, 1, 8, 8], |i| ((i * 5) % 17) as f32);
        for s in Settings::every() {
            assert!(s.pytorch(3, (0, 0)).contains("print(\"checksum:\""));
            match s.pool(&digit) {
                Ok((y, tracer)) => {
                    let d = y.shape().dims();
                    for cell in (0..d[2]).flat_map(|r| (0..d[3]).map(move |c| (r, c))) {
                        let numbers = s.numbers(&digit, cell).unwrap();
                        if s.kind == Kind::Avg {
                            let divisor = (s.kernel * s.kernel) as f64;
                            assert!((numbers.window_sum / divisor - numbers.output).abs() < 1e-5, "{s:?} {cell:?}");
                        }
                        let trace = tracer(cell.0, cell.1);
                        let marked = Settings::input_cells(&digit, Some(&trace)).iter().filter(|c| c.class.starts_with("window")).count();
                        assert_eq!(marked, trace.pixels.len(), "{s:?} {cell:?}: every pixel the window reads is outlined");
                        assert!(Settings::explanation(s.kind, &trace).ends_with(" = "));
                        assert_eq!(Settings::output_cells(&y, cell).iter().filter(|c| c.class == "selected").count(), 1);
                    }
                    assert!(s.numbers(&digit, (d[2], 0)).is_err());
                }
                Err(e) => assert!(!e.is_empty() && s.numbers(&digit, (0, 0)).is_err()),
            }
        }
    }

    #[test]
    fn the_dot_product_adds_up_to_the_score() {
        let weight = Tensor::from_fn([2, 3], |i| i as f32 - 2.0);
        let v = HeadValues { features: Tensor::zeros([1, 3, 1, 1]), pooled: vec![1.0, 0.5, -2.0], weight, bias: vec![0.25, -1.0], scores: vec![0.0; 2], probs: vec![0.5; 2] };
        let (terms, total) = v.terms(1);
        // Row 1 is [1, 2, 3]: 1·1 + 0.5·2 − 2·3 − 1 = −5, the largest term first.
        assert_eq!(total, -5.0);
        assert_eq!(terms[0], (2, -6.0));
        assert!(weights_state(RunState::Idle, (0, 150)).starts_with("untrained"));
        assert_eq!(weights_state(RunState::Paused, (40, 150)), "weights after step 40 of 150");
    }
}
