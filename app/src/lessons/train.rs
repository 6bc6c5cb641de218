//! `/train`: a CNN trained here, on the learner's own device. The learner picks a task (the digits, the shapes, or
//! their own images: two to five classes filled from image files, decoded in the page and never uploaded), edits
//! the architecture as a list of blocks with the model summary (each layer's output shape and parameters, as
//! `learn.summary()` prints them) updating as they type, sets the learning rate, batch size, epochs, one-cycle,
//! weight decay and augmentation, and trains, with live curves. Then a confusion matrix and the validation images
//! it got wrong most confidently. The trained model is kept in the browser (it survives a reload), exports as a
//! safetensors file with a PyTorch script that rebuilds it, and imports back.
//!
//! URL parameters ([`PARAMS`]): `task` (`digits`, `shapes`, `files`), `arch` (the blocks, as
//! `conv16k3s1p1-bn-relu-…-gap-flat-lin10`), `lr` (0.001, 0.003, 0.01, 0.03), `bs` (16, 32, 64, 128), `epochs`
//! (1–20), `cycle` (`on`, `off`), `wd` (0, 0.01, 0.1), `augment` (`on`, `off`).

use crate::data::load_digits;
use crate::panel::LOAD_SAFETENSORS_PY;
use crate::image::{draw, frame_square, load_square};
#[cfg(not(target_arch = "wasm32"))]
use crate::panel::{Assets, Case};
use crate::query::{AnyParam, Param, Params, Text};
use crate::widgets::training::{Job, Refused, RunState, StartJob, Started, Training, TrainingRunner};
use crate::worker::{Recipe, put_images, recipe, setting, take_images};
use crate::widgets::{CodePanel, LessonPage, number_input, select};
use engine::architecture::{self, Architecture, Block};
use engine::checkpoint::{self, Info};
use engine::data::augment::{Augmented, Transforms};
use engine::data::{Dataset, ImageSet, shapes};
use engine::learner::{FitConfig, Loss, Metric, Trainer};
use engine::nn::{Model, Sequential};
use engine::ops::softmax::Softmax;
use engine::optim::Optimizer;
use engine::rng::Rng;
use engine::{Device, Tensor};
use leptos::html::Canvas;
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// What the model learns to tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// The 8x8 handwritten digits, 0 to 9.
    Digits,
    /// The 32x32 shapes: circle, square, triangle, cross.
    Shapes,
    /// The learner's own images, squeezed to 32x32.
    Files,
}

impl Task {
    const ALL: [Task; 3] = [Task::Digits, Task::Shapes, Task::Files];

    fn name(self) -> &'static str {
        match self {
            Task::Digits => "digits",
            Task::Shapes => "shapes",
            Task::Files => "files",
        }
    }

    /// One image's shape, `[C, H, W]`.
    pub fn input(self) -> [usize; 3] {
        match self {
            Task::Digits => [1, 8, 8],
            _ => [3, SIDE, SIDE],
        }
    }

    /// The lessons' CNN for the task: fastai's simple CNN (a `ConvLayer` per width, stride 1 then 2).
    pub fn default_architecture(self, classes: usize) -> Architecture {
        match self {
            Task::Digits => architecture::simple_cnn(self.input(), &[16, 32, 64], classes),
            _ => architecture::simple_cnn(self.input(), &[16, 32, 64, 128], classes),
        }
    }

    /// What augmentation draws for the task: a flipped digit is another digit (or none), so digits go without.
    fn transforms(self) -> Transforms {
        match self {
            Task::Digits => Transforms { do_flip: false, ..Transforms::default() },
            _ => Transforms::default(),
        }
    }
}

/// The side the learner's images and the shapes are trained at.
pub const SIDE: usize = 32;
/// The most classes of one's own.
pub const MAX_CLASSES: usize = 5;

const LRS: [f32; 4] = [1e-3, 3e-3, 1e-2, 3e-2];
fn lr_name(v: f32) -> &'static str {
    ["0.001", "0.003", "0.01", "0.03"][LRS.iter().position(|&l| l == v).unwrap_or(2)]
}
const BATCHES: [usize; 4] = [16, 32, 64, 128];
fn batch_name(v: usize) -> &'static str {
    ["16", "32", "64", "128"][BATCHES.iter().position(|&b| b == v).unwrap_or(2)]
}
const WDS: [f32; 3] = [0.0, 0.01, 0.1];
fn wd_name(v: f32) -> &'static str {
    ["0", "0.01", "0.1"][WDS.iter().position(|&w| w == v).unwrap_or(1)]
}
fn on_off(v: bool) -> &'static str {
    if v { "on" } else { "off" }
}

/// The task.
pub const TASK: Param<Task> = Param::choices("task", Task::Digits, &Task::ALL, Task::name);
/// The architecture's blocks ([`Architecture::code`]); the task's default when absent.
pub const ARCH: Text = Text { key: "arch" };
/// The peak learning rate (the constant one without one-cycle).
pub const LR: Param<f32> = Param::choices("lr", 1e-2, &LRS, lr_name);
/// Images per step.
pub const BATCH: Param<usize> = Param::choices("bs", 64, &BATCHES, batch_name);
/// Passes over the training images.
pub const EPOCHS: Param<usize> = Param::range("epochs", 4, 1, 20);
/// fastai's `fit_one_cycle` (on) or `fit` at a constant rate (off).
pub const CYCLE: Param<bool> = Param::choices("cycle", true, &[true, false], on_off);
/// AdamW's weight decay.
pub const WD: Param<f32> = Param::choices("wd", 0.01, &WDS, wd_name);
/// Augmentation of the training images.
pub const AUGMENT: Param<bool> = Param::choices("augment", false, &[true, false], on_off);
/// Every parameter, in the URL's order.
pub const PARAMS: &[&dyn AnyParam] = &[&TASK, &ARCH, &LR, &BATCH, &EPOCHS, &CYCLE, &WD, &AUGMENT];

/// The settings of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The task.
    pub task: Task,
    /// The model's blocks (their input and classes are the task's).
    pub blocks: Vec<Block>,
    /// The learning rate.
    pub lr: f32,
    /// The batch size.
    pub batch: usize,
    /// The epochs.
    pub epochs: usize,
    /// One-cycle or a constant rate.
    pub one_cycle: bool,
    /// Weight decay.
    pub wd: f32,
    /// Augmentation.
    pub augment: bool,
}

impl Settings {
    /// The architecture for `classes` classes ([`with_head`]).
    pub fn architecture(&self, classes: usize) -> Architecture {
        Architecture { input: self.task.input(), blocks: with_head(&self.blocks, classes), classes }
    }

    /// A fresh run of these settings on `device` over `data`, or why there cannot be one.
    pub fn trainer(&self, device: &Device, data: &Data) -> Result<Trainer<Sequential, Augmented>, String> {
        let arch = self.architecture(data.classes.len());
        let model = arch.build(device, &mut Rng::new(1))?;
        let stats = data.train.channel_stats();
        let drawn = if self.augment { self.task.transforms() } else { Transforms::none() };
        let train = Augmented::new(data.train.clone(), stats.clone(), drawn, 1).map_err(|e| e.to_string())?;
        let valid = Augmented::new(data.valid.clone(), stats, Transforms::none(), 1).map_err(|e| e.to_string())?;
        let config = FitConfig { epochs: self.epochs, batch_size: self.batch, lr_max: self.lr, seed: 1, read_every: 2, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
        let trainer = Trainer::new(device, model, Optimizer::adamw(self.wd), train, valid, config);
        Ok(if self.one_cycle { trainer } else { trainer.without_one_cycle() })
    }
}

/// The training worker's name for a run of this lesson.
pub const JOB: &str = "train.run";

impl Settings {
    /// The recipe the training worker rebuilds this run from: the settings, and the images unless they are the
    /// shapes (which the worker generates as the page does, rather than receive 12 MB of them).
    pub fn recipe(&self, data: &Data) -> Recipe {
        let blocks = self.blocks.iter().map(Block::code).collect::<Vec<_>>().join("-");
        let mut r = recipe(
            JOB,
            &[
                ("task", self.task.name().to_string()),
                ("arch", blocks),
                ("lr", self.lr.to_string()),
                ("batch", self.batch.to_string()),
                ("epochs", self.epochs.to_string()),
                ("one_cycle", self.one_cycle.to_string()),
                ("wd", self.wd.to_string()),
                ("augment", self.augment.to_string()),
            ],
        );
        if self.task != Task::Shapes {
            put_images(&mut r, "train", &data.train);
            put_images(&mut r, "valid", &data.valid);
        }
        r
    }

    /// The settings and images of a [`Settings::recipe`].
    pub fn from_recipe(r: &Recipe) -> Result<(Settings, Data), String> {
        let task: String = setting(r, "task")?;
        let task = *Task::ALL.iter().find(|t| t.name() == task).ok_or_else(|| format!("the training job's task “{task}” is unknown"))?;
        let settings = Settings {
            task,
            blocks: blocks_of(&setting::<String>(r, "arch")?)?,
            lr: setting(r, "lr")?,
            batch: setting(r, "batch")?,
            epochs: setting(r, "epochs")?,
            one_cycle: setting(r, "one_cycle")?,
            wd: setting(r, "wd")?,
            augment: setting(r, "augment")?,
        };
        let data = match task {
            Task::Shapes => Data::shapes(),
            _ => {
                let (train, valid) = (take_images(r, "train")?, take_images(r, "valid")?);
                Data { classes: train.classes.clone(), train, valid }
            }
        };
        Ok((settings, data))
    }
}

/// In the worker: the run of a [`JOB`] recipe, on the CPU.
pub fn job(r: &Recipe) -> Result<Box<dyn Job>, String> {
    let (settings, data) = Settings::from_recipe(r)?;
    Ok(Box::new(settings.trainer(&Device::Cpu, &data)?))
}

/// The images of a task, split: raw values in [0, 1].
#[derive(Clone, Debug)]
pub struct Data {
    /// Training images.
    pub train: ImageSet,
    /// Validation images.
    pub valid: ImageSet,
    /// The class names.
    pub classes: Vec<String>,
}

impl Data {
    /// The digits, a fifth held out (seed 7, as the other lessons split them).
    pub fn digits(set: &ImageSet) -> Data {
        let (train, valid) = set.split_raw(0.2, 7);
        Data { classes: set.classes.clone(), train, valid }
    }

    /// 1,000 shapes, a fifth held out.
    pub fn shapes() -> Data {
        let (set, _) = shapes::generate(1000, 7);
        let (train, valid) = set.split_raw(0.2, 7);
        Data { classes: set.classes.clone(), train, valid }
    }

    /// The learner's classes, each `(name, images [1, 3, SIDE, SIDE])`: every fifth image of a class (the 5th,
    /// the 10th, …) held out for validation, and every class needing at least two images, one of each.
    pub fn files(classes: &[(String, Vec<Tensor>)]) -> Result<Data, String> {
        if classes.len() < 2 {
            return Err("Add at least two classes: a model learns to tell things apart.".into());
        }
        let mut names = Vec::new();
        let (mut train, mut valid) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        for (label, (name, images)) in classes.iter().enumerate() {
            let name = if name.trim().is_empty() { format!("class {}", label + 1) } else { name.trim().replace(',', " ") };
            if images.len() < 2 {
                return Err(format!("“{name}” has {} image{}: give every class at least two (one is kept back to validate).", images.len(), if images.len() == 1 { "" } else { "s" }));
            }
            for (i, image) in images.iter().enumerate() {
                let into = if i % 5 == 4 || (images.len() < 5 && i == images.len() - 1) { &mut valid } else { &mut train };
                into.0.extend_from_slice(image.data());
                into.1.push(label as i64);
            }
            names.push(name);
        }
        let set = |(data, labels): (Vec<f32>, Vec<i64>)| -> Result<ImageSet, String> {
            let images = Tensor::new([labels.len(), 3, SIDE, SIDE], data).map_err(|e| e.to_string())?;
            Ok(ImageSet { images, labels, classes: names.clone() })
        };
        Ok(Data { train: set(train)?, valid: set(valid)?, classes: names.clone() })
    }
}

/// What a trained model does on the validation images.
#[derive(Clone, Debug, PartialEq)]
pub struct Results {
    /// `confusion[actual][predicted]`: how many.
    pub confusion: Vec<Vec<usize>>,
    /// Each image: `(index, actual, predicted, probability of the prediction)`.
    pub predictions: Vec<(usize, usize, usize, f32)>,
}

impl Results {
    /// The share of right predictions.
    pub fn accuracy(&self) -> f32 {
        let right = self.predictions.iter().filter(|p| p.1 == p.2).count();
        right as f32 / self.predictions.len().max(1) as f32
    }

    /// The predictions to show: the wrong ones, most confident first, then the right ones, least confident first.
    pub fn worst_first(&self) -> Vec<(usize, usize, usize, f32)> {
        let mut shown = self.predictions.clone();
        shown.sort_by(|a, b| (a.1 == a.2).cmp(&(b.1 == b.2)).then(if a.1 != a.2 { b.3.total_cmp(&a.3) } else { a.3.total_cmp(&b.3) }));
        shown
    }
}

/// The model's predictions on every image of `valid` (normalised as it trained), in batches.
pub async fn evaluate<D: Dataset<Input = Tensor>>(model: &mut Sequential, device: &Device, valid: &D, labels: &[i64], classes: usize) -> engine::Result<Results> {
    model.set_training(false);
    let mut predictions = Vec::new();
    let n = valid.len();
    for start in (0..n).step_by(64) {
        let items: Vec<usize> = (start..(start + 64).min(n)).collect();
        let (x, _) = valid.batch(device, &items);
        let scores = model.forward(&x)?.read().await?;
        let probs = Softmax::new(scores.shape(), -1, false)?.reference_forward(&scores);
        for (row, &i) in probs.data().chunks(classes).zip(&items) {
            let best = (0..classes).fold(0, |b, k| if row[k] > row[b] { k } else { b });
            predictions.push((i, labels[i] as usize, best, row[best]));
        }
        // On the CPU a read is ready at once: the page gets its turn between batches all the same.
        #[cfg(target_arch = "wasm32")]
        crate::timing::yield_to_browser().await;
    }
    let mut confusion = vec![vec![0; classes]; classes];
    for &(_, actual, predicted, _) in &predictions {
        confusion[actual.min(classes - 1)][predicted] += 1;
    }
    Ok(Results { confusion, predictions })
}

/// The summary's rows: `(layer, output shape with the batch, parameters)`, and the total, as `learn.summary()`
/// prints them; or the architecture's fault in words.
pub fn summary(arch: &Architecture, batch: usize) -> Result<(Vec<(String, String, usize)>, usize), String> {
    let rows = arch.check()?;
    let total = rows.iter().map(|r| r.params).sum();
    let rows = rows
        .into_iter()
        .map(|r| {
            let shape: Vec<String> = std::iter::once(batch).chain(r.shape.iter().copied()).map(|d| d.to_string()).collect();
            (r.layer.to_string(), format!("[{}]", shape.join(", ")), r.params)
        })
        .collect();
    Ok((rows, total))
}

/// The architecture with its first convolution's kernel `kernel` (padding `kernel / 2`, so that the map keeps
/// its size), or unchanged when it has none.
pub fn with_first_kernel(blocks: &[Block], kernel: usize) -> Vec<Block> {
    let mut out = blocks.to_vec();
    if let Some(Block::Conv { kernel: k, padding, .. }) = out.iter_mut().find(|b| matches!(b, Block::Conv { .. })) {
        *k = kernel;
        *padding = kernel / 2;
    }
    out
}

/// The blocks with the last one, when it is a linear layer, scoring exactly `classes` classes: the head follows the
/// task (ten digits, four shapes, however many classes of one's own).
pub fn with_head(blocks: &[Block], classes: usize) -> Vec<Block> {
    let mut out = blocks.to_vec();
    if let Some(Block::Linear { features }) = out.last_mut() {
        *features = classes;
    }
    out
}

/// The blocks a link's `arch` writes ([`Block::code`]s joined by `-`), or the first that does not read.
pub fn blocks_of(code: &str) -> Result<Vec<Block>, String> {
    code.split('-').filter(|b| !b.is_empty()).map(Block::parse).collect()
}

/// The first convolution's kernel.
pub fn first_kernel(blocks: &[Block]) -> Option<usize> {
    blocks.iter().find_map(|b| if let Block::Conv { kernel, .. } = b { Some(*kernel) } else { None })
}

/// The block kinds the editor offers, with a fresh block of each.
pub const KINDS: [(&str, Block); 9] = [
    ("conv", Block::Conv { channels: 16, kernel: 3, stride: 1, padding: 1 }),
    ("batch norm", Block::BatchNorm),
    ("ReLU", Block::ReLU),
    ("max pool", Block::MaxPool { kernel: 2, stride: 2 }),
    ("average pool", Block::AvgPool { kernel: 2, stride: 2 }),
    ("dropout", Block::Dropout { p: 0.25 }),
    ("adaptive average pool", Block::AdaptiveAvgPool),
    ("flatten", Block::Flatten),
    ("linear", Block::Linear { features: 10 }),
];

/// The editor's name of a block's kind.
pub fn kind(block: &Block) -> &'static str {
    KINDS.iter().find(|(_, b)| std::mem::discriminant(b) == std::mem::discriminant(block)).map_or("conv", |k| k.0)
}

/// A model's PyTorch script: it rebuilds the architecture as `nn.Sequential`, loads the exported safetensors file
/// beside it (with a small reader, so that nothing needs installing beyond torch and numpy), and classifies images
/// as the page did (normalised with the training statistics).
pub fn pytorch_script(info: &Info, file: &str) -> Result<String, String> {
    let arch = info.architecture.as_ref().ok_or("The model has no architecture to write.")?;
    let stats: Vec<String> = info.stats.iter().map(|(m, s)| format!("({m:?}, {s:?})")).collect();
    let classes: Vec<String> = info.classes.iter().map(|c| format!("{c:?}")).collect();
    Ok(format!(
        "# A CNN trained in the browser on the task \"{task}\", exported with its weights ({file}).\n\
         # Run it with torch and numpy installed: python model.py, or import it: from model import model, classify.\n\
         import json, struct\nfrom collections import OrderedDict\nimport numpy as np\nimport torch\nimport torch.nn as nn\n\n\
         {LOAD_SAFETENSORS_PY}\n\
         model = {sequential}\n\
         state, meta = load_safetensors(__file__.rsplit(\"/\", 1)[0] + \"/{file}\" if \"/\" in __file__ else \"{file}\")\n\
         missing = model.load_state_dict(state, strict=False)  # the file leaves out batch norm's num_batches_tracked\n\
         assert not missing.unexpected_keys and all(k.endswith(\"num_batches_tracked\") for k in missing.missing_keys)\n\
         model.eval()\n\n\
         CLASSES = [{classes}]\n\
         STATS = [{stats}]  # each channel's training mean and standard deviation\n\
         INPUT = {input:?}  # one image: channels, height, width; values from 0 to 1\n\n\
         def classify(images):\n\
         \x20   \"\"\"images: a float tensor [N, {c}, {h}, {w}] of values from 0 to 1. Returns each image's class probabilities.\"\"\"\n\
         \x20   mean = torch.tensor([m for m, s in STATS])[:, None, None]\n\
         \x20   std = torch.tensor([s for m, s in STATS])[:, None, None]\n\
         \x20   with torch.no_grad():\n\
         \x20       return torch.softmax(model((images - mean) / std), dim=1)\n\n\
         if __name__ == \"__main__\":\n\
         \x20   print(model)\n\
         \x20   print(\"classes:\", CLASSES)\n",
        task = info.task,
        sequential = arch.pytorch()?,
        input = arch.input,
        c = arch.input[0],
        h = arch.input[1],
        w = arch.input[2],
        classes = classes.join(", "),
        stats = stats.join(", "),
    ))
}

/// The PyTorch panel: the trained model's export script when there is a model, else the architecture being edited
/// as `nn.Sequential` (or why it cannot be built).
pub fn pytorch_code(trained: Option<Info>, editing: &Architecture) -> String {
    match trained.map(|info| pytorch_script(&info, "model.safetensors")) {
        Some(Ok(script)) => script,
        _ => match editing.pytorch() {
            Ok(module) => format!(
                "from collections import OrderedDict\nimport torch.nn as nn\n\n# The architecture being edited; train it to get its weights and the export script.\nmodel = {module}\nprint(model)\n"
            ),
            Err(e) => format!("# This architecture cannot be built: {e}.\n"),
        },
    }
}

/// `/train` has no PyTorch panel of numbers to check: its PyTorch is the exported script, which `cargo xtask
/// export-check` runs against the engine's predictions.
#[cfg(not(target_arch = "wasm32"))]
pub fn cases(_: &dyn Assets) -> Result<Vec<Case>, String> {
    Ok(Vec::new())
}

/// Where the trained model is kept in the browser.
const STORAGE_KEY: &str = "lesson6.train.model";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Keeps a model's checkpoint in the browser, or says why it could not.
fn keep(bytes: &[u8]) -> Result<(), String> {
    let store = storage().ok_or("This browser keeps nothing for this page (storage is off), so the model will not survive a reload.")?;
    store
        .set_item(STORAGE_KEY, &base64(bytes))
        .map_err(|_| "The browser's storage for this page is full or refused, so the model will not survive a reload; export it to keep it.".to_string())
}

/// The model `/train` keeps in the browser, if any: its checkpoint's bytes.
pub fn kept_model() -> Option<Vec<u8>> {
    kept()?.ok()
}

/// What the browser keeps under the model's key: nothing, a checkpoint's bytes, or text that is not one (why).
fn kept() -> Option<Result<Vec<u8>, String>> {
    let text = storage()?.get_item(STORAGE_KEY).ok()??;
    Some(unbase64(&text).ok_or_else(|| format!("the browser's copy is not a saved model ({} characters of other text)", text.len())))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Bytes as base64 text (what browser storage holds).
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            out.push(if k <= chunk.len() { B64[(n >> (18 - 6 * k)) as usize & 63] as char } else { '=' });
        }
    }
    out
}

/// [`base64`] read back; `None` for text that is not base64.
pub fn unbase64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0);
    for c in text.bytes() {
        bits = bits << 6 | B64.iter().position(|&b| b == c)? as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

/// Offers `bytes` to the learner as a download called `name`.
fn download(bytes: &[u8], name: &str, mime: &str) -> Result<(), String> {
    let failed = || "The browser would not save the file.".to_string();
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|_| failed())?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| failed())?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or_else(failed)?;
    let a: web_sys::HtmlAnchorElement = wasm_bindgen::JsCast::dyn_into(document.create_element("a").map_err(|_| failed())?).map_err(|_| failed())?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// A model the page holds: trained here, kept from an earlier visit, or imported.
#[derive(Clone)]
struct Trained {
    bytes: Rc<Vec<u8>>,
    info: Info,
    /// Its predictions on the validation images of `data`, after a run on this page.
    results: Option<(Results, Rc<Data>)>,
    origin: &'static str,
}

/// The page.
#[component]
pub fn TrainLesson() -> impl IntoView {
    let mut params = Params::from_location();
    let task = params.get(&TASK);
    let (lr, batch, epochs, cycle, wd, augment) = (params.get(&LR), params.get(&BATCH), params.get(&EPOCHS), params.get(&CYCLE), params.get(&WD), params.get(&AUGMENT));
    let initial_task = task.get_untracked();
    let default_blocks = move |t: Task| t.default_architecture(if t == Task::Digits { 10 } else { 4 }).blocks;
    let blocks = RwSignal::new(params.query().text(&ARCH, |code| blocks_of(code).map(drop)).and_then(|code| blocks_of(&code).ok()).unwrap_or_else(|| default_blocks(initial_task)));
    params.write(ARCH.key, move || Some(blocks.with(|b| b.iter().map(Block::code).collect::<Vec<_>>().join("-"))));
    let notices = params.notices();
    params.sync();
    // A new task starts from its own architecture.
    let last_task = StoredValue::new(initial_task);
    Effect::new(move || {
        let t = task.get();
        if last_task.get_value() != t {
            last_task.set_value(t);
            blocks.set(default_blocks(t));
        }
    });

    let own = RwSignal::new_local(vec![(String::from("cats"), Vec::<Tensor>::new()), (String::from("dogs"), Vec::new())]);
    let digits = LocalResource::new(load_digits);
    // The digits and the shapes are split once, the first time they are read, not on every read (the learner's few
    // images are gathered afresh, as they change).
    let (digits_data, shapes_data) = (StoredValue::new_local(None::<Rc<Data>>), StoredValue::new_local(None::<Rc<Data>>));
    let once = move |cache: StoredValue<Option<Rc<Data>>, LocalStorage>, make: &dyn Fn() -> Data| {
        cache.with_value(|c| c.clone()).unwrap_or_else(|| {
            let built = Rc::new(make());
            cache.set_value(Some(built.clone()));
            built
        })
    };
    let data = Signal::derive_local(move || -> Option<Result<Rc<Data>, String>> {
        match task.get() {
            Task::Digits => digits.with(|d| d.as_ref().map(|d| d.as_ref().map(|set| once(digits_data, &|| Data::digits(set))).map_err(Clone::clone))),
            Task::Shapes => Some(Ok(once(shapes_data, &Data::shapes))),
            Task::Files => Some(own.with(|c| Data::files(c)).map(Rc::new)),
        }
    });
    let classes = Signal::derive(move || data.get().and_then(Result::ok).map(|d| d.classes.len()).unwrap_or(if task.get() == Task::Digits { 10 } else { 4 }));
    let settings = Memo::new(move |_| Settings { task: task.get(), blocks: blocks.get(), lr: lr.get(), batch: batch.get(), epochs: epochs.get(), one_cycle: cycle.get(), wd: wd.get(), augment: augment.get() });

    let training = Training::default();
    let slot = StoredValue::new_local(None::<(Rc<RefCell<Trainer<Sequential, Augmented>>>, Rc<Data>, Settings)>);
    let trained = RwSignal::new_local(None::<Trained>);
    let message = RwSignal::new(None::<String>);
    // The model kept from an earlier visit.
    match kept().map(|kept| kept.and_then(|bytes| checkpoint::open(&bytes, &Device::Cpu).map(|(_, info)| (bytes, info)).map_err(|e| e.to_string()))) {
        Some(Ok((bytes, info))) => trained.set(Some(Trained { bytes: Rc::new(bytes), info, results: None, origin: "kept in this browser from an earlier visit" })),
        Some(Err(e)) => message.set(Some(format!("The model kept in this browser could not be read ({e}); train a new one."))),
        None => {}
    }
    // A model kept from an earlier visit or imported is evaluated on the task's validation images, when it is the
    // task's model.
    Effect::new(move || {
        let Some(t) = trained.get() else { return };
        let Some(Ok(d)) = data.get() else { return };
        if t.results.is_some() || t.info.task != task.get().name() || t.info.classes != d.classes {
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            match results_of(&t.bytes, &d).await {
                Ok(r) => trained.update(|now| {
                    if let Some(now) = now.as_mut().filter(|now| Rc::ptr_eq(&now.bytes, &t.bytes)) {
                        now.results = Some((r, d));
                    }
                }),
                Err(e) => message.set(Some(e)),
            }
        });
    });

    view! {
        <LessonPage
            class="train"
            title="Train a CNN"
            lede="Build a convolutional network block by block, watch its shapes and parameter counts as you edit, and train it \
                  here on your own device: the digits, the shapes, or images of your own, which never leave your browser. \
                  Then see what it confuses, and take it to PyTorch."
            notices
        >
            <section class="task">
                <h2>"1. The data"</h2>
                {select(&TASK, task, "Task ", "task")}
                {move || (task.get() == Task::Files).then(|| view! { <OwnImages own/> })}
                <p class="status" data-testid="data-status">{move || match data.get() {
                    None => "Loading the images…".to_string(),
                    Some(Err(e)) => e,
                    Some(Ok(d)) => format!("{} training and {} validation images of {} classes: {}.", d.train.labels.len(), d.valid.labels.len(), d.classes.len(), d.classes.join(", ")),
                }}</p>
            </section>
            <Editor blocks task classes/>
            <Summary blocks task classes batch/>
            <CodePanel code=Signal::derive(move || pytorch_code(trained.with(|t| t.as_ref().map(|t| t.info.clone())), &Architecture { input: task.get().input(), blocks: with_head(&blocks.get(), classes.get()), classes: classes.get() }))/>
            <TrainingSection settings data training run=slot trained message lr batch epochs cycle wd augment/>
            {move || message.get().map(|m| view! { <p class="notice" role="status" data-testid="train-message">{m}</p> })}
            <Outcome trained/>
            <ExportImport trained message/>
        </LessonPage>
    }
}

/// The training settings and the runner; a finished (or stopped) run's model is evaluated, kept and offered for
/// export.
#[component]
#[allow(clippy::too_many_arguments)]
fn TrainingSection(
    settings: Memo<Settings>,
    data: Signal<Option<Result<Rc<Data>, String>>, LocalStorage>,
    training: Training,
    run: StoredValue<Option<(Rc<RefCell<Trainer<Sequential, Augmented>>>, Rc<Data>, Settings)>, LocalStorage>,
    trained: RwSignal<Option<Trained>, LocalStorage>,
    message: RwSignal<Option<String>>,
    lr: RwSignal<f32>,
    batch: RwSignal<usize>,
    epochs: RwSignal<usize>,
    cycle: RwSignal<bool>,
    wd: RwSignal<f32>,
    augment: RwSignal<bool>,
) -> impl IntoView {
    let start: StartJob = Rc::new(move |device: Device| {
        let s = settings.get_untracked();
        let d = match data.get_untracked() {
            Some(Ok(d)) => d,
            Some(Err(why)) => return Started::here(Refused(why)),
            None => return Started::here(Refused("The images are still loading: train again in a moment.".into())),
        };
        match s.trainer(&device, &d) {
            Ok(t) => {
                let t = Rc::new(RefCell::new(t));
                let recipe = s.recipe(&d);
                run.set_value(Some((t.clone(), d, s)));
                Started::portable(t, recipe)
            }
            Err(e) => Started::here(Refused(e)),
        }
    });
    // When a run ends (or is stopped), the model is evaluated, kept and offered for export.
    Effect::new(move || {
        if !matches!(training.state.get(), RunState::Done | RunState::Stopped) {
            return;
        }
        let Some((trainer, d, s)) = run.get_value() else { return };
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = finish(trainer, &d, &s).await;
            match outcome {
                Ok(model) => {
                    if let Err(e) = keep(&model.bytes) {
                        message.set(Some(e));
                    } else {
                        message.set(None);
                    }
                    trained.set(Some(model));
                }
                Err(e) => message.set(Some(e)),
            }
        });
    });
    let total_steps = Signal::derive(move || {
        let n = data.get().and_then(Result::ok).map(|d| d.train.labels.len()).unwrap_or(0);
        engine::learner::steps_per_epoch(n, batch.get()) * epochs.get()
    });

    view! {
            <section class="settings">
            <h2>"3. Train"</h2>
            <div class="controls">
                {select(&LR, lr, "Learning rate ", "lr")}
                {select(&BATCH, batch, "Batch size ", "bs")}
                {number_input(&EPOCHS, epochs, "Epochs ", "epochs")}
                {select(&CYCLE, cycle, "One-cycle ", "cycle")}
                {select(&WD, wd, "Weight decay ", "wd")}
                {select(&AUGMENT, augment, "Augmentation ", "augment")}
            </div>
            <p>{move || format!(
                "AdamW with weight decay {}, {}, batches of {}, cross-entropy loss; {}.",
                wd_name(wd.get()),
                if cycle.get() { format!("one-cycle up to a learning rate of {} (fastai's fit_one_cycle)", lr_name(lr.get())) } else { format!("a constant learning rate of {} (fastai's fit)", lr_name(lr.get())) },
                batch.get(),
                if augment.get() { "each training image moved and lit afresh every time (get_transforms, see /augment)" } else { "no augmentation" }
            )}</p>
            <TrainingRunner training start total_steps label="Train the model here" metric="accuracy"/>
        </section>
    }
}

/// A checkpoint's predictions on `d`'s validation images, on the CPU.
async fn results_of(bytes: &[u8], d: &Data) -> Result<Results, String> {
    let (mut model, info) = checkpoint::open(bytes, &Device::Cpu).map_err(|e| e.to_string())?;
    let valid = Augmented::new(d.valid.clone(), info.stats.clone(), Transforms::none(), 1).map_err(|e| e.to_string())?;
    evaluate(&mut model, &Device::Cpu, &valid, &d.valid.labels, d.classes.len()).await.map_err(|e| e.to_string())
}

/// Reads a finished run's model: its predictions on the validation images and its checkpoint.
async fn finish(trainer: Rc<RefCell<Trainer<Sequential, Augmented>>>, d: &Data, s: &Settings) -> Result<Trained, String> {
    let device = trainer.borrow().device.clone();
    let mut model = s.architecture(d.classes.len()).build(&device, &mut Rng::new(1))?;
    let valid = d.valid.clone();
    let stats = d.train.channel_stats();
    let valid_set = Augmented::new(valid.clone(), stats.clone(), Transforms::none(), 1).map_err(|e| e.to_string())?;
    // The trained weights, read back once.
    let state = trainer.borrow_mut().model.state_mut().into_iter().map(|(n, t)| (n, t.clone())).collect::<Vec<_>>();
    let mut values = Vec::new();
    for (name, t) in state {
        values.push((name, t.read().await.map_err(|e| e.to_string())?));
    }
    model.load_state(&values).map_err(|e| e.to_string())?;
    let results = evaluate(&mut model, &device, &valid_set, &valid.labels, d.classes.len()).await.map_err(|e| e.to_string())?;
    let info = Info { task: s.task.name().into(), classes: d.classes.clone(), stats, architecture: Some(s.architecture(d.classes.len())) };
    let bytes = checkpoint::save(&mut model, &info).await.map_err(|e| e.to_string())?;
    Ok(Trained { bytes: Rc::new(bytes), info, results: Some((results, Rc::new(d.clone()))), origin: "trained here" })
}

/// The learner's own classes: a name and image files each.
#[component]
fn OwnImages(own: RwSignal<Vec<(String, Vec<Tensor>)>, LocalStorage>) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let add_files = move |class: usize, files: web_sys::FileList| {
        wasm_bindgen_futures::spawn_local(async move {
            let mut failed = 0;
            for i in 0..files.length() {
                let Some(file) = files.get(i) else { continue };
                let Ok(url) = web_sys::Url::create_object_url_with_blob(&file) else { continue };
                match load_square(&url, SIDE as u32).await {
                    Ok(t) => own.update(|c| {
                        if let Some(class) = c.get_mut(class) {
                            class.1.push(t);
                        }
                    }),
                    Err(_) => failed += 1,
                }
                let _ = web_sys::Url::revoke_object_url(&url);
            }
            error.set((failed > 0).then(|| format!("{failed} file{} could not be read as an image and {} left out; the others were added.", if failed == 1 { "" } else { "s" }, if failed == 1 { "was" } else { "were" })));
        });
    };
    // The webcam, while it runs: its stream (stopped when the learner stops it or leaves the page).
    let video = NodeRef::<leptos::html::Video>::new();
    let camera = RwSignal::new_local(None::<web_sys::MediaStream>);
    let stop_camera = move || {
        if let Some(stream) = camera.get_untracked() {
            for track in stream.get_tracks().iter() {
                if let Ok(track) = wasm_bindgen::JsCast::dyn_into::<web_sys::MediaStreamTrack>(track) {
                    track.stop();
                }
            }
            camera.set(None);
        }
    };
    on_cleanup(stop_camera);
    let start_camera = move |_| {
        wasm_bindgen_futures::spawn_local(async move {
            let refused = "The browser did not open a webcam (none is there, or it was not allowed): use image files instead; nothing else changed.";
            let devices = web_sys::window().and_then(|w| w.navigator().media_devices().ok());
            let constraints = web_sys::MediaStreamConstraints::new();
            constraints.set_video(&wasm_bindgen::JsValue::TRUE);
            let Some(promise) = devices.and_then(|d| d.get_user_media_with_constraints(&constraints).ok()) else {
                error.set(Some(refused.into()));
                return;
            };
            match wasm_bindgen_futures::JsFuture::from(promise).await.ok().and_then(|s| wasm_bindgen::JsCast::dyn_into::<web_sys::MediaStream>(s).ok()) {
                Some(stream) => {
                    if let Some(v) = video.get() {
                        v.set_src_object(Some(&stream));
                        let _ = v.play();
                    }
                    camera.set(Some(stream));
                    error.set(None);
                }
                None => error.set(Some(refused.into())),
            }
        });
    };
    let capture = move |class: usize| {
        let Some(v) = video.get_untracked() else { return };
        match frame_square(&v, SIDE as u32) {
            Ok(t) => own.update(|c| {
                if let Some(class) = c.get_mut(class) {
                    class.1.push(t);
                }
            }),
            Err(e) => error.set(Some(e)),
        }
    };
    view! {
        <div class="own-classes" data-testid="own-classes">
            <p>"Two to five classes, each with its images from files or the webcam (at least two; every fifth is kept back to validate). They are squeezed to 32x32 and stay in this page: nothing is uploaded."</p>
            {move || own.with(|c| c.iter().map(|(name, images)| (name.clone(), images.len())).collect::<Vec<_>>()).into_iter().enumerate().map(|(k, (name, count))| view! {
                <div class="own-class" data-testid=format!("class-{k}")>
                    <label>"Class " <input type="text" data-testid=format!("class-name-{k}") prop:value=name
                        on:change=move |ev| own.update(|c| if let Some(class) = c.get_mut(k) { class.0 = event_target_value(&ev) })/></label>
                    <label class="file">"Images " <input type="file" accept="image/*" multiple data-testid=format!("class-files-{k}")
                        on:change=move |ev| {
                            let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into(t).ok());
                            if let Some(files) = input.and_then(|i| i.files()) {
                                add_files(k, files);
                            }
                        }/></label>
                    <span data-testid=format!("class-count-{k}")>{format!("{count} image{}", if count == 1 { "" } else { "s" })}</span>
                    {move || camera.with(Option::is_some).then(|| view! {
                        <button type="button" data-testid=format!("capture-{k}") on:click=move |_| capture(k)>"Capture from the webcam"</button>
                    })}
                    <button type="button" on:click=move |_| own.update(|c| if let Some(class) = c.get_mut(k) { class.1.clear() })>"Clear"</button>
                    <button type="button" disabled=move || own.with(|c| c.len() <= 2) on:click=move |_| own.update(|c| if k < c.len() && c.len() > 2 { c.remove(k); })>"Remove the class"</button>
                </div>
            }).collect_view()}
            <div class="camera">
                <button type="button" data-testid="start-camera" hidden=move || camera.with(Option::is_some) on:click=start_camera>"Use the webcam"</button>
                <button type="button" data-testid="stop-camera" hidden=move || camera.with(Option::is_none) on:click=move |_| stop_camera()>"Stop the webcam"</button>
                <video node_ref=video data-testid="camera" hidden=move || camera.with(Option::is_none) autoplay=true muted=true playsinline=true
                    aria-label="The webcam: each capture adds the frame to a class"></video>
            </div>
            <button type="button" data-testid="add-class" disabled=move || own.with(|c| c.len() >= MAX_CLASSES)
                on:click=move |_| own.update(|c| c.push((format!("class {}", c.len() + 1), Vec::new())))>"Add a class"</button>
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="own-images-error">{e}</p> })}
        </div>
    }
}

/// The architecture as blocks the learner edits.
#[component]
fn Editor(blocks: RwSignal<Vec<Block>>, task: RwSignal<Task>, classes: Signal<usize>) -> impl IntoView {
    let set = move |i: usize, b: Block| {
        blocks.update(|v| {
            if let Some(at) = v.get_mut(i) {
                *at = b;
            }
        })
    };
    let number = move |i: usize, value: usize, label: &'static str, max: usize, apply: fn(&mut Block, usize)| block_number(blocks, i, value, label, max, apply);
    view! {
        <section class="editor">
            <h2>"2. The architecture"</h2>
            <ol class="blocks" data-testid="blocks">
                {move || {
                    let all = blocks.get();
                    let count = all.len();
                    all.into_iter().enumerate().map(|(i, block)| {
                    let fields = match block {
                        Block::Conv { channels, kernel, stride, padding } => view! {
                            {number(i, channels, "channels ", 4096, |b: &mut Block, v: usize| if let Block::Conv { channels, .. } = b { *channels = v })}
                            {number(i, kernel, "kernel ", 15, |b: &mut Block, v: usize| if let Block::Conv { kernel, .. } = b { *kernel = v })}
                            {number(i, stride, "stride ", 8, |b: &mut Block, v: usize| if let Block::Conv { stride, .. } = b { *stride = v })}
                            {number(i, padding, "padding ", 7, |b: &mut Block, v: usize| if let Block::Conv { padding, .. } = b { *padding = v })}
                        }.into_any(),
                        Block::MaxPool { kernel, stride } | Block::AvgPool { kernel, stride } => view! {
                            {number(i, kernel, "kernel ", 15, |b: &mut Block, v: usize| match b { Block::MaxPool { kernel, .. } | Block::AvgPool { kernel, .. } => *kernel = v, _ => {} })}
                            {number(i, stride, "stride ", 8, |b: &mut Block, v: usize| match b { Block::MaxPool { stride, .. } | Block::AvgPool { stride, .. } => *stride = v, _ => {} })}
                        }.into_any(),
                        Block::Dropout { p } => dropout_field(blocks, i, p).into_any(),
                        Block::Linear { .. } if i + 1 == count => view! { <span class="head-note">{move || format!("outputs: {}, one per class", classes.get())}</span> }.into_any(),
                        Block::Linear { features } => number(i, features, "outputs ", 4096, |b: &mut Block, v: usize| if let Block::Linear { features } = b { *features = v }).into_any(),
                        _ => ().into_any(),
                    };
                    view! {
                        <li data-testid=format!("block-{i}")>
                            <select aria-label=format!("Block {} kind", i + 1) data-testid=format!("block-{i}-kind")
                                on:change=move |ev| {
                                    let chosen = event_target_value(&ev);
                                    if let Some((_, b)) = KINDS.iter().find(|(k, _)| *k == chosen) {
                                        set(i, b.clone());
                                    }
                                }>
                                {KINDS.iter().map(|(k, _)| view! { <option value=*k selected=*k == kind(&block)>{*k}</option> }).collect_view()}
                            </select>
                            {fields}
                            <button type="button" aria-label=format!("Move block {} up", i + 1) disabled=i == 0 on:click=move |_| blocks.update(|b| if i > 0 && i < b.len() { b.swap(i - 1, i) })>"↑"</button>
                            <button type="button" aria-label=format!("Move block {} down", i + 1) on:click=move |_| blocks.update(|b| if i + 1 < b.len() { b.swap(i, i + 1) })>"↓"</button>
                            <button type="button" aria-label=format!("Insert a block after block {}", i + 1) on:click=move |_| blocks.update(|b| b.insert((i + 1).min(b.len()), Block::ReLU))>"+"</button>
                            <button type="button" aria-label=format!("Remove block {}", i + 1) data-testid=format!("block-{i}-remove") on:click=move |_| blocks.update(|b| if i < b.len() { b.remove(i); })>"✕"</button>
                        </li>
                    }
                }).collect_view()
                }}
            </ol>
            <div class="controls">
                <button type="button" data-testid="add-block" on:click=move |_| blocks.update(|b| b.push(Block::ReLU))>"Add a block at the end"</button>
                <button type="button" data-testid="default-arch" on:click=move |_| blocks.set(task.get_untracked().default_architecture(classes.get_untracked()).blocks)>"The lesson's CNN"</button>
                <label>
                    <input type="checkbox" data-testid="large-first-kernel" prop:checked=move || blocks.with(|b| first_kernel(b) == Some(5))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            blocks.update(|b| *b = with_first_kernel(b, if on { 5 } else { 3 }));
                        }/>
                    " A 5x5 first kernel"
                </label>
            </div>
            <p class="note">"A larger first kernel: with 3x3 windows on a one-channel image the first layer computes each of its 16 outputs \
                from only 9 pixels, so it cannot find much; fastai's book (chapter 13, its simple CNN) and ResNet's 7x7 first layer \
                give the first layer a wider window so that it has more to work with. The lesson's notes do not discuss it."</p>
        </section>
    }
}

/// A whole-number field of block `i`: `apply` stores a new value in the block (clamped to `max`); anything that
/// is not a number puts the field back.
fn block_number(blocks: RwSignal<Vec<Block>>, i: usize, value: usize, label: &'static str, max: usize, apply: fn(&mut Block, usize)) -> impl IntoView {
    let store = move |raw: String| match raw.trim().parse::<usize>() {
        Ok(v) => blocks.update(|b| {
            if let Some(block) = b.get_mut(i) {
                apply(block, v.min(max));
            }
        }),
        Err(_) => blocks.notify(),
    };
    view! {
        <label>{label}
            <input type="number" min="0" max=max.to_string() prop:value=value.to_string()
                data-testid=format!("block-{i}-{}", label.trim())
                on:change=move |ev| store(event_target_value(&ev))/>
        </label>
    }
}

/// A dropout block's probability field.
fn dropout_field(blocks: RwSignal<Vec<Block>>, i: usize, p: f32) -> impl IntoView {
    let store = move |raw: String| match raw.trim().parse::<f32>() {
        Ok(v) if v.is_finite() => blocks.update(|b| {
            if let Some(at) = b.get_mut(i) {
                *at = Block::Dropout { p: v.clamp(0.0, 0.95) };
            }
        }),
        _ => blocks.notify(),
    };
    view! {
        <label>"p "
            <input type="number" min="0" max="0.95" step="0.05" prop:value=format!("{p}") data-testid=format!("block-{i}-p")
                on:change=move |ev| store(event_target_value(&ev))/>
        </label>
    }
}

/// The model summary, updated as the blocks change, or what does not fit.
#[component]
fn Summary(blocks: RwSignal<Vec<Block>>, task: RwSignal<Task>, classes: Signal<usize>, batch: RwSignal<usize>) -> impl IntoView {
    let summary = Memo::new(move |_| summary(&Architecture { input: task.get().input(), blocks: with_head(&blocks.get(), classes.get()), classes: classes.get() }, batch.get()));
    view! {
        <section class="summary">
            <h3>"learn.summary()"</h3>
            {move || match summary.get() {
                Err(e) => view! { <p class="error" role="alert" data-testid="arch-error">{format!("This architecture cannot be built: {e}.")}</p> }.into_any(),
                Ok((rows, total)) => view! {
                    <table data-testid="summary">
                        <thead><tr><th scope="col">"Layer (type)"</th><th scope="col">"Output shape"</th><th scope="col">"Param #"</th></tr></thead>
                        <tbody>{rows.into_iter().map(|(layer, shape, params)| view! {
                            <tr><td>{layer}</td><td>{shape}</td><td>{params}</td></tr>
                        }).collect_view()}</tbody>
                        <tfoot><tr><td colspan="2">"Total params"</td><td data-testid="total-params">{total}</td></tr></tfoot>
                    </table>
                }.into_any(),
            }}
        </section>
    }
}

/// After training: the confusion matrix and the predictions, the most confidently wrong first.
#[component]
fn Outcome(trained: RwSignal<Option<Trained>, LocalStorage>) -> impl IntoView {
    view! {
        <section class="outcome">
            <h2>"4. What it learned"</h2>
            {move || match trained.get() {
                None => view! { <p class="status">"Train a model to see its confusion matrix and its predictions."</p> }.into_any(),
                Some(t) => {
                    let heading = format!("The model {}: {} ({} classes), {}.", t.origin, t.info.task, t.info.classes.len(),
                        t.info.architecture.as_ref().map(|a| a.code()).unwrap_or_default());
                    let body = match t.results.clone() {
                        Some((r, d)) => view! { <Confusion results=r.clone() classes=t.info.classes.clone()/> <Predictions results=r data=d classes=t.info.classes.clone()/> }.into_any(),
                        None => view! { <p class="status">"Its confusion matrix and predictions are shown after a run on this page; this one is ready to export."</p> }.into_any(),
                    };
                    view! { <p data-testid="trained-model">{heading}</p> {body} }.into_any()
                }
            }}
        </section>
    }
}

/// The confusion matrix.
#[component]
fn Confusion(results: Results, classes: Vec<String>) -> impl IntoView {
    let accuracy = results.accuracy();
    view! {
        <table class="confusion" data-testid="confusion">
            <caption>{format!("Validation accuracy {accuracy:.4}: rows are the actual class, columns the prediction.")}</caption>
            <thead><tr><th scope="col">"actual \\ predicted"</th>{classes.iter().map(|c| view! { <th scope="col">{c.clone()}</th> }).collect_view()}</tr></thead>
            <tbody>{results.confusion.iter().enumerate().map(|(a, row)| view! {
                <tr><th scope="row">{classes[a].clone()}</th>{row.iter().enumerate().map(|(p, &n)| view! {
                    <td class:diagonal=a == p class:miss=(a != p && n > 0)>{n}</td>
                }).collect_view()}</tr>
            }).collect_view()}</tbody>
        </table>
    }
}

/// Validation images with their predictions, the most confidently wrong first.
#[component]
fn Predictions(results: Results, data: Rc<Data>, classes: Vec<String>) -> impl IntoView {
    let shown: Vec<_> = results.worst_first().into_iter().take(12).collect();
    let canvases: Vec<NodeRef<Canvas>> = shown.iter().map(|_| NodeRef::new()).collect();
    let (mounted, items, d) = (canvases.clone(), shown.clone(), data.clone());
    Effect::new(move || {
        for (canvas, &(i, ..)) in mounted.iter().zip(&items) {
            if let Some(c) = canvas.get() {
                let _ = draw(&c, &engine::data::gather_rows(&d.valid.images, &[i]));
            }
        }
    });
    view! {
        <div class="predictions" data-testid="predictions">
            {shown.into_iter().zip(canvases).map(|((_, actual, predicted, p), canvas)| view! {
                <figure class:wrong=actual != predicted>
                    <canvas node_ref=canvas></canvas>
                    <figcaption>{format!("{} ({:.0}%)", classes[predicted], 100.0 * p)}<br/>{format!("actually {}", classes[actual])}</figcaption>
                </figure>
            }).collect_view()}
        </div>
    }
}

/// Export the model (safetensors and a PyTorch script), import one back.
#[component]
fn ExportImport(trained: RwSignal<Option<Trained>, LocalStorage>, message: RwSignal<Option<String>>) -> impl IntoView {
    let export = move |_| {
        let Some(t) = trained.get_untracked() else { return };
        let result = pytorch_script(&t.info, "model.safetensors")
            .and_then(|script| download(&t.bytes, "model.safetensors", "application/octet-stream").and_then(|()| download(script.as_bytes(), "model.py", "text/x-python")));
        message.set(result.err());
    };
    let import = move |ev: web_sys::Event| {
        let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into(t).ok());
        let Some(file) = input.and_then(|i| i.files()).and_then(|f| f.get(0)) else { return };
        wasm_bindgen_futures::spawn_local(async move {
            let read = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
            let Ok(buffer) = read else {
                message.set(Some("The file could not be read; choose it again.".into()));
                return;
            };
            let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
            match checkpoint::open(&bytes, &Device::Cpu) {
                Ok((_, info)) => {
                    message.set(keep(&bytes).err());
                    trained.set(Some(Trained { bytes: Rc::new(bytes), info, results: None, origin: "imported" }));
                }
                Err(e) => message.set(Some(format!("That file is not a model this page can use ({e}). Your current model is kept."))),
            }
        });
    };
    view! {
        <section class="export">
            <h2>"5. Take it to PyTorch"</h2>
            <p>"Export saves two files: model.safetensors (the weights, with the classes, the channel statistics and the blocks) and \
                model.py, which rebuilds the architecture as nn.Sequential, loads the weights and classifies images as this page does. \
                Import reads an exported model back."</p>
            <div class="controls">
                <button type="button" data-testid="export" disabled=move || trained.with(|t| t.is_none()) on:click=export>"Export"</button>
                <label class="file">"Import a model " <input type="file" accept=".safetensors" data-testid="import" on:change=import/></label>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits() -> ImageSet {
        engine::data::digits::parse(include_bytes!("../../../public/data/digits_u8.bin")).unwrap()
    }

    #[test]
    fn a_few_epochs_on_the_digits_learn_them_and_the_results_add_up() {
        let d = Data::digits(&digits());
        let s = Settings { task: Task::Digits, blocks: Task::Digits.default_architecture(10).blocks, lr: 1e-2, batch: 64, epochs: 3, one_cycle: true, wd: 0.01, augment: false };
        let mut t = s.trainer(&Device::Cpu, &d).unwrap();
        pollster::block_on(t.fit(|_, _| {}, |_| {})).unwrap();
        let valid = Augmented::new(d.valid.clone(), d.train.channel_stats(), Transforms::none(), 1).unwrap();
        let r = pollster::block_on(evaluate(&mut t.model, &Device::Cpu, &valid, &d.valid.labels, 10)).unwrap();
        assert!(r.accuracy() >= 0.9, "{}", r.accuracy());
        assert_eq!(r.confusion.iter().flatten().sum::<usize>(), d.valid.labels.len());
        let shown = r.worst_first();
        let wrong = shown.iter().take_while(|p| p.1 != p.2).count();
        assert_eq!(wrong, r.predictions.iter().filter(|p| p.1 != p.2).count(), "the wrong ones come first");
        assert!(shown[..wrong].windows(2).all(|w| w[0].3 >= w[1].3), "most confident first");
    }

    #[test]
    fn the_worker_rebuilds_the_same_run_from_its_recipe() {
        use crate::widgets::training::Job;
        let d = Data::digits(&digits());
        let blocks = blocks_of("conv8k3s1p1-bn-relu-max2s2-conv16k3s1p1-relu-drop0.25-gap-flat-lin10").unwrap();
        let s = Settings { task: Task::Digits, blocks, lr: 3e-3, batch: 32, epochs: 2, one_cycle: false, wd: 0.1, augment: true };
        let r = engine::safetensors::File::from_bytes(&s.recipe(&d).to_bytes()).unwrap();
        let (back, data) = Settings::from_recipe(&r).unwrap();
        assert_eq!(back, s);
        assert_eq!((data.train.images.data(), &data.train.labels, &data.valid.labels, &data.classes), (d.train.images.data(), &d.train.labels, &d.valid.labels, &d.classes));
        // Three steps of each give the same weights, to the bit.
        let mut here: Box<dyn Job> = Box::new(s.trainer(&Device::Cpu, &d).unwrap());
        let mut there = job(&r).unwrap();
        let mut weights = Vec::new();
        for run in [&mut here, &mut there] {
            for _ in 0..3 {
                pollster::block_on(run.step()).unwrap();
            }
            weights.push(pollster::block_on(run.state()).unwrap());
        }
        assert!(!weights[0].is_empty() && weights[0].len() == weights[1].len());
        for ((n, a), (m, b)) in weights[0].iter().zip(&weights[1]) {
            assert_eq!((n, a.data()), (m, b.data()));
        }
        // The shapes travel as a name (the worker makes them); a recipe that lies is refused in words.
        let shapes = Settings { task: Task::Shapes, ..s.clone() };
        let r = shapes.recipe(&Data::shapes());
        assert!(r.entries.is_empty());
        assert_eq!(Settings::from_recipe(&r).unwrap().1.train.labels, Data::shapes().train.labels);
        let mut bad = s.recipe(&d);
        bad.metadata.retain(|(k, _)| k != "lr");
        assert!(job(&bad).err().unwrap().contains("lacks its setting “lr”"));
    }

    #[test]
    fn without_one_cycle_and_with_augmentation_a_run_still_trains() {
        let d = Data::shapes();
        let s = Settings { task: Task::Shapes, blocks: Task::Shapes.default_architecture(4).blocks, lr: 3e-3, batch: 64, epochs: 1, one_cycle: false, wd: 0.0, augment: true };
        let mut t = s.trainer(&Device::Cpu, &d).unwrap();
        let reports = pollster::block_on(t.fit(|_, _| {}, |_| {})).unwrap();
        assert!(reports[0].train_loss.is_finite());
    }

    #[test]
    fn own_images_split_into_training_and_validation_and_bad_sets_are_explained() {
        let image = |v: f32| Tensor::from_fn([1, 3, SIDE, SIDE], |_| v);
        let classes = vec![("red".to_string(), (0..6).map(|i| image(i as f32 / 10.0)).collect()), ("".to_string(), vec![image(0.9), image(0.8)])];
        let d = Data::files(&classes).unwrap();
        assert_eq!(d.classes, ["red", "class 2"]);
        assert_eq!((d.train.labels.len(), d.valid.labels.len()), (6, 2), "the 5th of six, and the last of two, validate");
        assert!(Data::files(&classes[..1]).unwrap_err().contains("at least two classes"));
        let short = vec![classes[0].clone(), ("one".to_string(), vec![image(0.5)])];
        assert!(Data::files(&short).unwrap_err().contains("“one” has 1 image"));
        // A model trains on them and fits the task's input.
        // The head follows the classes: the four-class default scores two here.
        let s = Settings { task: Task::Files, blocks: Task::Files.default_architecture(4).blocks, lr: 1e-2, batch: 16, epochs: 1, one_cycle: true, wd: 0.01, augment: true };
        assert_eq!(s.architecture(2).blocks.last(), Some(&Block::Linear { features: 2 }));
        assert!(s.trainer(&Device::Cpu, &d).is_ok());
    }

    #[test]
    fn the_summary_reads_like_learn_summary_and_a_misfit_is_explained() {
        let arch = Task::Digits.default_architecture(10);
        let (rows, total) = summary(&arch, 64).unwrap();
        assert_eq!(rows[0], ("Conv2d".to_string(), "[64, 16, 8, 8]".to_string(), 144));
        assert_eq!(rows.last().unwrap().1, "[64, 10]");
        assert_eq!(total, rows.iter().map(|r| r.2).sum::<usize>());
        let big = Architecture { blocks: with_first_kernel(&arch.blocks, 5), ..arch.clone() };
        assert_eq!(first_kernel(&big.blocks), Some(5));
        assert_eq!(summary(&big, 64).unwrap().0[0], ("Conv2d".to_string(), "[64, 16, 8, 8]".to_string(), 400), "padding 2 keeps the size");
        let misfit = Architecture { blocks: vec![Block::Conv { channels: 4, kernel: 9, stride: 1, padding: 0 }, Block::Flatten, Block::Linear { features: 10 }], ..arch };
        assert!(summary(&misfit, 64).unwrap_err().contains("does not fit"));
        assert_eq!(kind(&Block::Dropout { p: 0.5 }), "dropout");
    }

    #[test]
    fn base64_reads_back_and_the_export_script_names_the_model() {
        for bytes in [vec![], vec![0u8], vec![1, 2], vec![255, 0, 7], (0..=255).collect::<Vec<u8>>()] {
            assert_eq!(unbase64(&base64(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert!(unbase64("not base64!").is_none());
        let arch = Task::Digits.default_architecture(10);
        let info = Info { task: "digits".into(), classes: (0..10).map(|d| d.to_string()).collect(), stats: vec![(0.3, 0.4)], architecture: Some(arch) };
        let script = pytorch_script(&info, "model.safetensors").unwrap();
        assert!(script.contains("model = nn.Sequential(OrderedDict([\n    (\"0\", nn.Conv2d(1, 16, 3, stride=1, padding=1, bias=False)),"), "{script}");
        assert!(script.contains("STATS = [(0.3, 0.4)]") && script.contains("CLASSES = [\"0\", \"1\""), "{script}");
    }

    #[test]
    fn every_setting_builds_a_summary_or_a_sentence_without_a_panic() {
        for task in TASK.samples() {
            let blocks = task.default_architecture(4).blocks;
            for b in BATCH.samples() {
                for k in [1, 3, 5, 7] {
                    let arch = Architecture { input: task.input(), blocks: with_first_kernel(&blocks, k), classes: 4 };
                    let _ = summary(&arch, b);
                }
            }
        }
    }
}
