//! `/heatmap`: where a CNN looks. The lesson hooks the output of the network's convolutional body
//! (`hook_output(m[0])`), averages it over the channel axis into a small map of "how activated was that area"
//! (`avg_acts`), stretches the map over the image and lays it on top. Then Grad-CAM: the gradient of one class's
//! score at the hooked layer, averaged per channel into a weight, the channels weighed and summed, ReLU. Here the
//! model is a shapes CNN trained natively ([`ARCHITECTURE`]: `cargo xtask train --task shapes --arch ... --save`,
//! shipped as `public/data/shapes_cnn.safetensors` with its architecture), the images are 100 shapes it never saw,
//! and since the shapes data knows where each shape is, the page measures how often each map peaks inside the shape.
//!
//! URL parameters ([`PARAMS`]): `image` (which of the images, 0–99), `class` (Grad-CAM's class: `predicted`,
//! `circle`, `square`, `triangle`, `cross`), `stage` (the step shown, 1–4), `opacity` (of the overlay: 0.25,
//! 0.5, 0.75), `map` (the map whose cell is explained and whose numbers the panel prints: `mean`, `gradcam`), `y`,
//! `x` (a cell of the small map).

use crate::device::{use_device, with_fallback};
use crate::image::draw;
use crate::panel::{LOAD_SAFETENSORS_PY, PanelNumbers, cell_in, footer};
#[cfg(not(target_arch = "wasm32"))]
use crate::panel::{Assets, Case, url};
use crate::query::{AnyParam, Param, Params};
use crate::widgets::{Cell, CodePanel, LessonPage, NumberGrid, ShapeBadge, select};
use engine::checkpoint::{self, Info};
use engine::data::shapes::{self, Placement};
use engine::data::{ImageSet, gather_rows, normalize};
use engine::heatmap::{Heatmaps, heatmaps, peak, upsample};
use engine::nn::{Model, Sequential};
use engine::ops::softmax::Softmax;
use engine::{Device, Tensor, models};
use std::rc::Rc;
use leptos::html::Canvas;
use leptos::prelude::*;

/// How many images the lesson shows: shapes the model never saw (seed 99; it trained on seed 42's).
pub const IMAGES: usize = 100;
/// The shipped checkpoint, in `public/data/` (the page fetches `/data/` and the panel opens it beside itself).
pub const CHECKPOINT: &str = "shapes_cnn.safetensors";
/// The hooked layer's name: the body's last ReLU (fastai's `m[0]`).
pub const LAYER: &str = models::BODY;
/// The shipped model's blocks, as `/train` writes them: 3→16 at 32x32, 16→32 at 16x16, then 32→64, 64→128 and
/// 128→128 at 8x8, average pool, 128→4. The image is halved only twice (the lesson's ResNet halves it five times,
/// 352 pixels to 11x11), so that each cell of the hooked 8x8x128 output covers 4 pixels and a map can point at a
/// shape a few pixels wide; the two blocks that keep 8x8 give each cell a view of most of the image. (The same body
/// halved once more, to 4x4 cells of 8 pixels, had Grad-CAM inside the shape for half the images.)
pub const ARCHITECTURE: &str = "conv16k3s1p1-bn-relu-conv32k3s2p1-bn-relu-conv64k3s2p1-bn-relu-conv128k3s1p1-bn-relu-conv128k3s1p1-bn-relu-gap-flat-lin4";
/// How many channel maps the first step draws.
const CHANNELS_SHOWN: usize = 16;

/// Grad-CAM's class choices: the model's prediction, or one of the classes.
const CLASSES: [usize; 5] = [PREDICTED, 0, 1, 2, 3];
const PREDICTED: usize = 4;
const CLASS_NAMES: [&str; 5] = ["circle", "square", "triangle", "cross", "predicted"];

fn class_name(c: usize) -> &'static str {
    CLASS_NAMES[c.min(PREDICTED)]
}

const OPACITIES: [f32; 3] = [0.25, 0.5, 0.75];
fn opacity_name(v: f32) -> &'static str {
    ["0.25", "0.5", "0.75"][OPACITIES.iter().position(|&o| o == v).unwrap_or(1)]
}

/// Which map a cell and the panel are about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Map {
    /// The channels' mean, `avg_acts`.
    Mean,
    /// Grad-CAM.
    GradCam,
}

impl Map {
    fn name(self) -> &'static str {
        match self {
            Map::Mean => "mean",
            Map::GradCam => "gradcam",
        }
    }
}

/// The image.
pub const IMAGE: Param<usize> = Param::range("image", 0, 0, IMAGES - 1);
/// Grad-CAM's class.
pub const CLASS: Param<usize> = Param::choices("class", PREDICTED, &CLASSES, class_name);
/// The step shown: 1 the hook, 2 the mean, 3 the overlay, 4 Grad-CAM.
pub const STAGE: Param<usize> = Param::range("stage", 1, 1, 4);
/// The overlay's opacity.
pub const OPACITY: Param<f32> = Param::choices("opacity", 0.5, &OPACITIES, opacity_name);
/// The map explained.
pub const MAP: Param<Map> = Param::choices("map", Map::Mean, &[Map::Mean, Map::GradCam], Map::name);
/// A cell of the small map: its row.
pub const Y: Param<usize> = Param::range("y", 0, 0, 31);
/// Its column.
pub const X: Param<usize> = Param::range("x", 0, 0, 31);
/// Every parameter, in the URL's order.
pub const PARAMS: &[&dyn AnyParam] = &[&IMAGE, &CLASS, &STAGE, &OPACITY, &MAP, &Y, &X];

/// The images and where their shapes are.
pub fn images() -> (ImageSet, Vec<Placement>) {
    shapes::generate(IMAGES, 99)
}

/// The shipped model on `device`, built from the architecture its checkpoint carries, with its weights.
pub fn model(device: &Device, bytes: &[u8]) -> Result<(Sequential, Info), String> {
    let (mut model, info) = checkpoint::open(bytes, device).map_err(|e| format!("The model could not be read ({e}). Reload the page."))?;
    model.set_training(false);
    Ok((model, info))
}

/// One image's maps, with what the model predicted.
#[derive(Clone, Debug)]
pub struct Maps {
    /// The hook's capture and the maps.
    pub heatmaps: Heatmaps,
    /// Grad-CAM's class.
    pub class: usize,
    /// The model's prediction and its probability.
    pub predicted: (usize, f32),
}

/// The maps of `image` (`[1, 3, 32, 32]`, raw values in [0, 1]) under `model`, Grad-CAM for `class`
/// ([`PREDICTED`]: the model's own prediction).
pub async fn maps(model: &mut Sequential, info: &Info, image: &Tensor, class: usize) -> engine::Result<Maps> {
    let device = model.params_mut().first().map(|p| p.value.device()).unwrap_or(Device::Cpu);
    let x = normalize(image, &info.stats).to(&device);
    let scores = model.forward(&x)?.read().await?;
    let probs = Softmax::new(scores.shape(), -1, false)?.reference_forward(&scores).into_data();
    let best = (0..probs.len()).fold(0, |b, k| if probs[k] > probs[b] { k } else { b });
    let class = if class == PREDICTED { best } else { class.min(probs.len() - 1) };
    Ok(Maps { heatmaps: heatmaps(model, LAYER, &x, class).await?, class, predicted: (best, probs[best]) })
}

/// Whether a model from `/train` can stand in for the built-in one here: trained on the shapes, on 32x32 RGB
/// images, with a body to hook (a layer before an adaptive average pool).
pub fn usable(info: &Info, model: &Sequential) -> Result<(), String> {
    let input = info.architecture.as_ref().map(|a| a.input);
    if info.task != "shapes" || input != Some([3, shapes::SIZE, shapes::SIZE]) {
        return Err(format!("Your model from /train was trained on the {} task; this lesson needs one trained on the shapes.", info.task));
    }
    if !model.names().iter().any(|n| n == LAYER) {
        return Err("Your model from /train has no adaptive average pool, so it has no body to hook; the built-in model is used.".into());
    }
    Ok(())
}

/// The model in use on `device`: the learner's from `/train` when `yours` holds its checkpoint, or the built-in.
pub fn model_in_use(device: &Device, built_in: &[u8], yours: Option<&[u8]>) -> Result<(Sequential, Info), String> {
    match yours {
        Some(bytes) => {
            let (model, info) = checkpoint::open(bytes, device).map_err(|e| format!("Your model from /train could not be read ({e})."))?;
            usable(&info, &model)?;
            Ok((model, info))
        }
        None => model(device, built_in),
    }
}

/// Where the maps peak, over every image: how often each peaks inside the shape (a pixel drawn in the shape's
/// colour), Grad-CAM for the image's true class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Peaks {
    /// Images whose channel mean peaks inside the shape.
    pub mean: usize,
    /// Images whose Grad-CAM peaks inside the shape.
    pub cam: usize,
    /// Images whose Grad-CAM peaks outside the shape but within one map cell of one of its pixels.
    pub cam_near: usize,
    /// The side of one map cell, in pixels.
    pub cell: usize,
}

/// [`Peaks`] of `model` over the images.
pub async fn peaks_inside(model: &mut Sequential, info: &Info, set: &ImageSet, placements: &[Placement]) -> engine::Result<Peaks> {
    let side = shapes::SIZE;
    let mut peaks = Peaks { mean: 0, cam: 0, cam_near: 0, cell: side };
    for (i, place) in placements.iter().enumerate() {
        let label = set.labels[i] as usize;
        let m = maps(model, info, &gather_rows(&set.images, &[i]), label).await?;
        peaks.cell = side / m.heatmaps.mean.shape().dims()[0].max(1);
        peaks.mean += usize::from(place.covers(label, peak(&m.heatmaps.mean, [side, side])?));
        let (y, x) = peak(&m.heatmaps.grad_cam, [side, side])?;
        if place.covers(label, (y, x)) {
            peaks.cam += 1;
        } else {
            let near = (0..side * side).any(|k| (k / side).abs_diff(y).max((k % side).abs_diff(x)) <= peaks.cell && place.covers(label, (k / side, k % side)));
            peaks.cam_near += usize::from(near);
        }
    }
    Ok(peaks)
}

/// The fraction of the images' pixels that belong to their shapes: how often a peak put at random would land inside.
pub fn chance(set: &ImageSet, placements: &[Placement]) -> f64 {
    let side = shapes::SIZE;
    let inside: usize = placements
        .iter()
        .enumerate()
        .map(|(i, p)| (0..side * side).filter(|&k| p.covers(set.labels[i] as usize, (k / side, k % side))).count())
        .sum();
    inside as f64 / (placements.len() * side * side).max(1) as f64
}

/// The sentence about the peaks, with what chance would give.
pub fn peaks_text(p: Peaks, n: usize, chance: f64) -> String {
    let pct = |k: usize| 100.0 * k as f64 / n.max(1) as f64;
    let misses = n - p.cam;
    format!(
        "Over the {n} images, the channel mean peaks inside the shape for {} ({:.0}%), Grad-CAM for the true class for {} ({:.0}%); \
         a pixel picked at random is inside the shape {:.0}% of the time. Of Grad-CAM's {misses} misses, {} peak within one map cell \
         ({} pixels) of the shape: the map has {}x{} cells, too coarse to say on which side of a shape's edge a pixel lies.",
        p.mean,
        pct(p.mean),
        p.cam,
        pct(p.cam),
        100.0 * chance,
        p.cam_near,
        p.cell,
        shapes::SIZE / p.cell.max(1),
        shapes::SIZE / p.cell.max(1),
    )
}

/// A map's values scaled to [0, 1] between its smallest and largest (a flat map is 0 everywhere).
fn scaled(map: &Tensor) -> Vec<f32> {
    let (lo, hi) = map.data().iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    map.data().iter().map(|&v| if hi > lo { (v - lo) / (hi - lo) } else { 0.0 }).collect()
}

/// matplotlib's `magma` colour map (the lesson's `cmap='magma'`), at eight of its stops, between which it is
/// linear.
fn magma(t: f32) -> [f32; 3] {
    const STOPS: [[f32; 3]; 8] = [
        [0.001, 0.000, 0.014],
        [0.114, 0.065, 0.277],
        [0.317, 0.071, 0.485],
        [0.512, 0.128, 0.504],
        [0.716, 0.215, 0.475],
        [0.904, 0.330, 0.384],
        [0.986, 0.582, 0.405],
        [0.987, 0.991, 0.750],
    ];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f32;
    let (i, f) = ((t.floor() as usize).min(STOPS.len() - 2), t - t.floor().min((STOPS.len() - 2) as f32));
    std::array::from_fn(|c| STOPS[i][c] + (STOPS[i + 1][c] - STOPS[i][c]) * f)
}

/// `image [1, 3, H, W]` (values in [0, 1]) with `map [h, w]` stretched over it (bilinear), scaled to [0, 1],
/// coloured with magma and laid on top at `opacity`: what `ax.imshow(avg_acts, alpha=0.6, extent=(0,352,352,0),
/// interpolation='bilinear', cmap='magma')` draws.
pub fn overlay(image: &Tensor, map: &Tensor, opacity: f32) -> Result<Tensor, String> {
    let d = image.shape().dims();
    let (h, w) = (d[2], d[3]);
    let stretched = upsample(map, [h, w]).map_err(|e| e.to_string())?;
    let heat = scaled(&stretched);
    let plane = h * w;
    Ok(Tensor::from_fn([1, 3, h, w], |i| {
        let (c, at) = (i / plane, i % plane);
        (1.0 - opacity) * image.data()[i] + opacity * magma(heat[at])[c]
    }))
}

/// The lesson's state as the URL holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct State {
    /// The image.
    pub image: usize,
    /// Grad-CAM's class, or [`PREDICTED`].
    pub class: usize,
    /// The step shown.
    pub stage: usize,
    /// The overlay's opacity.
    pub opacity: f32,
    /// The map explained.
    pub map: Map,
    /// A cell of the small map.
    pub cell: (usize, usize),
}

impl Default for State {
    fn default() -> State {
        State { image: 0, class: PREDICTED, stage: 1, opacity: 0.5, map: Map::Mean, cell: (0, 0) }
    }
}

impl State {
    /// The chosen map of `m`, `[h, w]`.
    fn chosen<'a>(&self, m: &'a Maps) -> &'a Tensor {
        match self.map {
            Map::Mean => &m.heatmaps.mean,
            Map::GradCam => &m.heatmaps.grad_cam,
        }
    }

    /// What the selected cell of the chosen map adds up: its terms `(channel, term)` (the activation for the mean,
    /// weight × activation for Grad-CAM), their sum and the cell's value.
    pub fn cell_terms(&self, m: &Maps) -> Result<(Vec<(usize, f32)>, f32, f32), String> {
        let a = &m.heatmaps.activations;
        let d = a.shape().dims();
        let (channels, h, w) = (d[0], d[1], d[2]);
        let (y, x) = self.cell;
        if y >= h || x >= w {
            return Err(format!("cell ({y}, {x}) is outside the {h}x{w} map"));
        }
        let terms: Vec<(usize, f32)> = (0..channels)
            .map(|c| {
                let v = a.data()[c * h * w + y * w + x];
                (c, if self.map == Map::Mean { v } else { m.heatmaps.channel_weights[c] * v })
            })
            .collect();
        let sum: f32 = terms.iter().map(|t| t.1).sum();
        Ok((terms, sum, self.chosen(m).data()[y * w + x]))
    }

    /// The selected cell in words: the sum it is and what the map does with it.
    pub fn cell_text(&self, m: &Maps) -> String {
        match self.cell_terms(m) {
            Err(e) => e,
            Ok((terms, sum, value)) => {
                let n = terms.len();
                let nonzero = terms.iter().filter(|t| t.1 != 0.0).count();
                let first: Vec<String> = terms.iter().take(4).map(|(_, t)| format!("{t:.3}")).collect::<Vec<_>>();
                match self.map {
                    Map::Mean => format!(
                        "Cell {:?}: the {n} channels' activations ({nonzero} of them above 0, as after a ReLU) are {} …; they add up to {sum:.4}, and divided by {n} that is {value:.4}.",
                        self.cell,
                        first.join(", ")
                    ),
                    Map::GradCam => format!(
                        "Cell {:?}: each of the {n} channels' activation times its weight: {} …; they add up to {sum:.4}, and the ReLU keeps {value:.4}.",
                        self.cell,
                        first.join(", ")
                    ),
                }
            }
        }
    }

    /// The numbers the page shows: the chosen map, its selected cell's sum (before the division or the ReLU) and
    /// value, and its checksum.
    pub fn numbers(&self, m: &Maps) -> Result<PanelNumbers, String> {
        let map = self.chosen(m);
        let d = map.shape().dims();
        let as4 = map.reshaped([1, 1, d[0], d[1]]).map_err(|e| e.to_string())?;
        cell_in(&as4, self.cell, 0)?;
        let (_, sum, value) = self.cell_terms(m)?;
        Ok(PanelNumbers::new(map, sum, value))
    }

    /// The panel's code: the model built layer by layer as the engine's is (`nn.Sequential` with the same names),
    /// its weights read from the shipped safetensors file, the same image regenerated from the engine's seeded
    /// generator, a forward hook on `body`, and the maps.
    pub fn pytorch(&self, m: &Maps, layers: &[String], file: &str) -> String {
        let (y, x) = self.cell;
        let class = m.class;
        let &[c, h, w] = m.heatmaps.activations.shape().dims() else { return String::new() };
        let (map, window) = match self.map {
            Map::Mean => ("avg_acts", format!("acts[:, {y}, {x}]")),
            Map::GradCam => ("grad_cam", format!("(acts * grad_chan[:, None, None])[:, {y}, {x}]")),
        };
        format!(
            "import json, math, struct\nfrom collections import OrderedDict\nimport numpy as np\nimport torch\nimport torch.nn as nn\n\n\
             {SHAPES_PY}\n\
             {LOAD_SAFETENSORS_PY}\n\
             model = nn.Sequential(OrderedDict([\n{layers}\n]))\n\
             state, meta = load_safetensors(\"{file}\")\n\
             missing = model.load_state_dict(state, strict=False)  # the file leaves out batch norm's num_batches_tracked\n\
             assert not missing.unexpected_keys and all(k.endswith(\"num_batches_tracked\") for k in missing.missing_keys)\n\
             model.eval()\n\
             stats = [tuple(map(float, pair.split())) for pair in meta[\"stats\"].split(\",\")]\n\n\
             images, labels = shapes({IMAGES}, 99)\n\
             x = images[{image}][None]  # [1, 3, 32, 32], values 0..1\n\
             x = (x - torch.tensor([m for m, s in stats])[:, None, None]) / torch.tensor([s for m, s in stats])[:, None, None]\n\n\
             # fastai's hook_output(m[0]): keep the body's output as it goes by.\n\
             captured = {{}}\n\
             model.body.register_forward_hook(lambda module, inputs, output: captured.update(acts=output))\n\
             scores = model(x)\n\
             acts = captured[\"acts\"][0]  # [{c}, {h}, {w}]\n\
             avg_acts = acts.mean(0)  # [{h}, {w}]: how activated was each area\n\n\
             # Grad-CAM for class {class} ({class_name}): the score's gradient at the hooked output, averaged per channel.\n\
             grad = torch.autograd.grad(scores[0, {class}], captured[\"acts\"])[0][0]  # [{c}, {h}, {w}]\n\
             grad_chan = grad.mean((1, 2))  # [{c}]\n\
             grad_cam = torch.relu((acts * grad_chan[:, None, None]).sum(0))  # [{h}, {w}]\n\
             out = {map}.detach()\n\
             {footer}",
            layers = layers.join("\n"),
            image = self.image,
            class_name = shapes::CLASSES[class],
            footer = footer("out", &format!("{window}.detach()"), &format!("out[{y}, {x}]")),
        )
    }

    /// The state as the URL writes it.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        vec![
            (IMAGE.key, IMAGE.to_url(self.image)),
            (CLASS.key, CLASS.to_url(self.class)),
            (STAGE.key, STAGE.to_url(self.stage)),
            (OPACITY.key, OPACITY.to_url(self.opacity)),
            (MAP.key, MAP.to_url(self.map)),
            (Y.key, Y.to_url(self.cell.0)),
            (X.key, X.to_url(self.cell.1)),
        ]
    }
}

/// A model's layers as the panel's `nn.Sequential(OrderedDict([...]))` lines, under the engine's names.
pub fn layer_lines(model: &Sequential) -> Vec<String> {
    model.layers.iter().zip(model.names()).map(|(l, n)| format!("    (\"{n}\", nn.{}),", l.describe())).collect()
}

/// The engine's seeded generator and its shapes (`engine::rng::Rng`, `engine::data::shapes::generate`) in Python,
/// so that the panel computes on the very image the page shows.
const SHAPES_PY: &str = "M64 = (1 << 64) - 1\n\
\n\
class Rng:\n\
\x20   \"\"\"The engine's generator (SplitMix64).\"\"\"\n\
\x20   def __init__(self, seed): self.state = seed\n\
\x20   def next_u64(self):\n\
\x20       self.state = (self.state + 0x9E3779B97F4A7C15) & M64\n\
\x20       z = self.state\n\
\x20       z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64\n\
\x20       z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64\n\
\x20       return z ^ (z >> 31)\n\
\x20   def uniform(self): return np.float32((self.next_u64() >> 40) / (1 << 24))\n\
\x20   def below(self, n): return int((self.next_u64() >> 11) / (1 << 53) * n)\n\
\x20   def normal(self):\n\
\x20       u1 = 1.0 - (self.next_u64() >> 11) / (1 << 53)\n\
\x20       u2 = (self.next_u64() >> 11) / (1 << 53)\n\
\x20       return np.float32(math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2))\n\
\n\
def covers(cls, row, col, r, y, x):\n\
\x20   dy, dx = np.float32(y) - row, np.float32(x) - col\n\
\x20   if cls == 0: return dy * dy + dx * dx <= r * r\n\
\x20   if cls == 1: return abs(dy) <= r and abs(dx) <= r\n\
\x20   if cls == 2:\n\
\x20       t = (dy + r) / (np.float32(2) * r)\n\
\x20       return 0 <= t <= 1 and abs(dx) <= t * r\n\
\x20   bar = r / np.float32(4)\n\
\x20   return (abs(dy) <= r and abs(dx) <= bar) or (abs(dx) <= r and abs(dy) <= bar)\n\
\n\
def shapes(n, seed, size=32):\n\
\x20   \"\"\"The engine's shapes: a circle, square, triangle or cross on a noisy background.\"\"\"\n\
\x20   rng, images, labels = Rng(seed), np.zeros((n, 3, size, size), np.float32), []\n\
\x20   for i in range(n):\n\
\x20       cls = rng.below(4)\n\
\x20       bg = [rng.uniform() for _ in range(3)]\n\
\x20       while True:\n\
\x20           color = [rng.uniform() for _ in range(3)]\n\
\x20           if math.sqrt(sum(float(np.float32(a - b) * np.float32(a - b)) for a, b in zip(color, bg))) >= 0.5: break\n\
\x20       r = np.float32(6) + np.float32(6) * rng.uniform()\n\
\x20       span = np.float32(size) - np.float32(2) * r - np.float32(1)\n\
\x20       row, col = r + span * rng.uniform(), r + span * rng.uniform()\n\
\x20       for y in range(size):\n\
\x20           for x in range(size):\n\
\x20               inside = covers(cls, row, col, r, y, x)\n\
\x20               for c in range(3):\n\
\x20                   base = color[c] if inside else bg[c]\n\
\x20                   images[i, c, y, x] = min(max(base + np.float32(0.08) * rng.normal(), 0), 1)\n\
\x20       labels.append(cls)\n\
\x20   return torch.from_numpy(images), labels\n";

#[cfg(not(target_arch = "wasm32"))]
/// The panel states `cargo xtask panels` checks: both maps, every class choice, cells at the corners and inside,
/// on several images.
pub fn cases(_: &dyn Assets) -> Result<Vec<Case>, String> {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../public/data/shapes_cnn.safetensors")).map_err(|e| e.to_string())?;
    let (mut model, info) = model(&Device::Cpu, &bytes)?;
    let (set, _) = images();
    let layers = layer_lines(&model);
    let mut cases = Vec::new();
    for (k, &class) in CLASSES.iter().enumerate() {
        for map in [Map::Mean, Map::GradCam] {
            let state = State { image: [0, 7, 42, 99, 63][k], class, map, cell: [(0, 0), (7, 7), (1, 2), (5, 6), (7, 0)][k], ..State::default() };
            let m = pollster::block_on(maps(&mut model, &info, &gather_rows(&set.images, &[state.image]), class)).map_err(|e| e.to_string())?;
            cases.push(Case { url: url("heatmap", &state.query()), code: state.pytorch(&m, &layers, CHECKPOINT), page: state.numbers(&m) });
        }
    }
    Ok(cases)
}

/// The shipped model's bytes, fetched from the page's origin.
async fn load_checkpoint() -> Result<Vec<u8>, String> {
    crate::data::load_bytes(&format!("data/{CHECKPOINT}")).await.map_err(|_| "The trained model could not be loaded. Reload the page.".to_string())
}

/// What one image's computation gives the page.
#[derive(Clone)]
struct Computed {
    maps: Maps,
    raw: Tensor,
    /// The image's class, for a shape of the set (the learner's own image has none).
    label: Option<usize>,
    device: String,
    /// The model's layers, for the panel.
    layers: Vec<String>,
}

/// The page.
#[component]
pub fn HeatmapLesson() -> impl IntoView {
    let mut params = Params::from_location();
    let (image, class, stage, opacity, map) = (params.get(&IMAGE), params.get(&CLASS), params.get(&STAGE), params.get(&OPACITY), params.get(&MAP));
    let cell = params.cell((&Y, &X));
    let notices = params.notices();
    params.sync();
    let page = use_device();
    let checkpoint = LocalResource::new(load_checkpoint);
    let set = StoredValue::new_local(images());
    // The learner's model from /train, when it fits this lesson (checked once, on the CPU).
    let yours = StoredValue::new_local(crate::lessons::train::kept_model().map(|bytes| {
        let fits = checkpoint::open(&bytes, &Device::Cpu).map_err(|e| format!("Your model from /train could not be read ({e})."))
            .and_then(|(m, i)| usable(&i, &m));
        (Rc::new(bytes), fits)
    }));
    let use_yours = RwSignal::new(yours.with_value(|y| matches!(y, Some((_, Ok(()))))));
    let own_image = RwSignal::new_local(None::<(Tensor, String)>);
    let own_error = RwSignal::new(None::<String>);
    let state = Memo::new(move |_| State { image: image.get(), class: class.get(), stage: stage.get(), opacity: opacity.get(), map: map.get(), cell: cell.get() });
    let computed = LocalResource::new(move || {
        let (bytes, page, index, class, yours_on, own) = (checkpoint.get(), page.get(), image.get(), class.get(), use_yours.get(), own_image.get());
        async move {
            let (bytes, page) = (bytes?, page?);
            let bytes = match bytes {
                Ok(b) => b,
                Err(e) => return Some(Err(e)),
            };
            let (set, _) = set.get_value();
            let (raw, label) = match own {
                Some((t, _)) => (t, None),
                None => (gather_rows(&set.images, &[index]), Some(set.labels[index] as usize)),
            };
            let theirs = yours.get_value().filter(|_| yours_on).and_then(|(b, fits)| fits.is_ok().then_some(b));
            let run = with_fallback(&page.device, |d| {
                let (bytes, raw, theirs) = (bytes.clone(), raw.clone(), theirs.clone());
                async move {
                    let (mut model, info) = model_in_use(&d, &bytes, theirs.as_deref().map(|b| b.as_slice())).map_err(|e| engine::error::OpError::new("checkpoint", engine::error::ErrorKind::Value, &e))?;
                    let layers = layer_lines(&model);
                    Ok((maps(&mut model, &info, &raw, class).await?, layers))
                }
            })
            .await;
            Some(run.map(|r| Computed { maps: r.value.0, layers: r.value.1, raw, label, device: r.label }))
        }
    });
    let ok = Signal::derive(move || computed.get().flatten().and_then(Result::ok));
    let error = move || checkpoint.get().and_then(Result::err).or_else(|| computed.get().flatten().and_then(Result::err));
    let code = Signal::derive(move || {
        let file = if use_yours.get() && yours.with_value(|y| matches!(y, Some((_, Ok(()))))) { "model.safetensors" } else { CHECKPOINT };
        ok.get().map(|c| state.get().pytorch(&c.maps, &c.layers, file)).unwrap_or_default()
    });
    let on_file = move |ev: web_sys::Event| {
        let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into(t).ok());
        let Some(file) = input.and_then(|i| i.files()).and_then(|f| f.get(0)) else { return };
        let Ok(url) = web_sys::Url::create_object_url_with_blob(&file) else { return };
        wasm_bindgen_futures::spawn_local(async move {
            match crate::image::load_square(&url, shapes::SIZE as u32).await {
                Ok(t) => own_image.set(Some((t, file.name()))),
                Err(e) => own_error.set(Some(format!("{e} The shapes stay as they were."))),
            }
            let _ = web_sys::Url::revoke_object_url(&url);
        });
    };

    view! {
        <LessonPage
            class="heatmap"
            title="Heatmaps: where the CNN looks"
            lede="A CNN's body turns an image into a stack of small feature maps, one per channel. Hook the body's output, \
                  average it over the channels, and you get a small map of how activated each area was; stretch it over the \
                  image and you see what the model looked at. Grad-CAM sharpens the question to one class: which areas raised \
                  that class's score. Step through it on shapes the model has never seen."
            notices
        >
            <p class="status" data-testid="model-source">{move || match yours.with_value(|y| y.as_ref().map(|(_, fits)| fits.clone())) {
                None => "The model: the shapes CNN trained natively and shipped with the page. Train your own on /train (task shapes) and it is used here.".to_string(),
                Some(Err(why)) => format!("{why} The built-in shapes CNN is used."),
                Some(Ok(())) if use_yours.get() => "The model: yours, trained on /train and kept in this browser.".to_string(),
                Some(Ok(())) => "The model: the built-in shapes CNN (yours from /train is kept, and can be chosen).".to_string(),
            }}</p>
            {move || yours.with_value(|y| matches!(y, Some((_, Ok(()))))).then(|| view! {
                <label><input type="checkbox" data-testid="use-yours" prop:checked=move || use_yours.get() on:change=move |ev| use_yours.set(event_target_checked(&ev))/>" Use my model from /train"</label>
            })}
            <div class="controls">
                {crate::widgets::number_input(&IMAGE, image, "Image ", "image")}
                <button type="button" data-testid="next-image" on:click=move |_| { own_image.set(None); image.update(|i| *i = (*i + 1) % IMAGES) }>"Next image"</button>
                <label class="file">"Or your own image " <input type="file" accept="image/*" data-testid="own-image" on:change=on_file/></label>
                {move || own_image.with(|o| o.as_ref().map(|(_, name)| name.clone())).map(|name| view! {
                    <button type="button" data-testid="back-to-shapes" on:click=move |_| own_image.set(None)>{format!("Back to the shapes (now: {name})")}</button>
                })}
                <p class="status" data-testid="prediction">{move || ok.get().map(|c| format!(
                    "{}; the model says {} ({:.1}%). Computed on {}.",
                    match (c.label, own_image.with(|o| o.as_ref().map(|o| o.1.clone()))) {
                        (Some(l), _) => format!("A {}", shapes::CLASSES[l]),
                        (None, Some(name)) if name == DRAWING => "Your drawing".to_string(),
                        (None, name) => format!("Your image, squeezed to 32x32 ({})", name.unwrap_or_default()),
                    },
                    shapes::CLASSES[c.maps.predicted.0], 100.0 * c.maps.predicted.1, c.device
                ))}</p>
            </div>
            {move || own_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Sketch own_image/>
            {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Stages stage/>
            {move || ok.get().map(|c| view! { <StageView c stage state class opacity map cell/> })}
            <CodePanel code/>
            <Peaks checkpoint set yours use_yours/>
        </LessonPage>
    }
}

/// The name the learner's drawing goes by.
const DRAWING: &str = "your drawing";
/// The drawing's paper and ink.
const PAPER: [f32; 3] = [0.85, 0.85, 0.8];
const INK: [f32; 3] = [0.1, 0.15, 0.6];

/// A blank 32x32 drawing, `[3 · 32 · 32]` values, channel by channel.
pub fn blank() -> Vec<f32> {
    let plane = shapes::SIZE * shapes::SIZE;
    (0..3 * plane).map(|i| PAPER[i / plane]).collect()
}

/// Ink on `pixels` (a drawing from [`blank`]) in a disc of radius 1.5 pixels around `(y, x)`.
pub fn paint(pixels: &mut [f32], (y, x): (usize, usize)) {
    let side = shapes::SIZE;
    for py in y.saturating_sub(2)..(y + 3).min(side) {
        for px in x.saturating_sub(2)..(x + 3).min(side) {
            let (dy, dx) = (py as f32 - y as f32, px as f32 - x as f32);
            if dy * dy + dx * dx <= 2.25 {
                for c in 0..3 {
                    pixels[c * side * side + py * side + px] = INK[c];
                }
            }
        }
    }
}

/// Draw a shape with the mouse; each stroke makes the drawing the image the maps are computed on.
#[component]
fn Sketch(own_image: RwSignal<Option<(Tensor, String)>, LocalStorage>) -> impl IntoView {
    let side = shapes::SIZE;
    let pixels = RwSignal::new(blank());
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move || {
        let t = pixels.with(|p| Tensor::new([1, 3, side, side], p.clone()).expect("a drawing is 3 planes"));
        if let Some(c) = canvas.get() {
            let _ = draw(&c, &t);
        }
    });
    let at = move |ev: &web_sys::MouseEvent| -> Option<(usize, usize)> {
        let rect = canvas.get_untracked()?.get_bounding_client_rect();
        let f = |v: f64, lo: f64, len: f64| (((v - lo) / len.max(1.0)) * side as f64).clamp(0.0, side as f64 - 1.0) as usize;
        Some((f(ev.client_y() as f64, rect.top(), rect.height()), f(ev.client_x() as f64, rect.left(), rect.width())))
    };
    let stroke = move |ev: web_sys::MouseEvent| {
        if ev.buttons() & 1 == 1
            && let Some(cell) = at(&ev)
        {
            pixels.update(|p| paint(p, cell));
        }
    };
    let done = move |_| {
        let t = pixels.with_untracked(|p| Tensor::new([1, 3, side, side], p.clone()).expect("a drawing is 3 planes"));
        own_image.set(Some((t, DRAWING.to_string())));
    };
    view! {
        <details class="sketch">
            <summary>"Or draw one"</summary>
            <p>"Draw a shape with the mouse (hold the button down); when you let go, the maps are computed on your drawing."</p>
            <canvas node_ref=canvas data-testid="sketch" class="sketch-canvas" aria-label="A 32x32 drawing area"
                on:mousedown=stroke on:mousemove=stroke on:mouseup=done></canvas>
            <button type="button" data-testid="sketch-clear" on:click=move |_| pixels.set(blank())>"Clear the drawing"</button>
        </details>
    }
}

/// The four steps, with previous and next.
#[component]
fn Stages(stage: RwSignal<usize>) -> impl IntoView {
    const NAMES: [&str; 4] = ["1. Hook the body", "2. Average the channels", "3. Stretch it over the image", "4. Grad-CAM for one class"];
    view! {
        <nav class="stages" aria-label="Steps">
            <button type="button" data-testid="stage-prev" disabled=move || stage.get() == 1 on:click=move |_| stage.update(|s| *s = (*s - 1).max(1))>"← Previous"</button>
            {NAMES.into_iter().enumerate().map(|(i, name)| view! {
                <button type="button" class="stage" data-testid=format!("stage-{}", i + 1) aria-current=move || (stage.get() == i + 1).then_some("step")
                    on:click=move |_| stage.set(i + 1)>{name}</button>
            }).collect_view()}
            <button type="button" data-testid="stage-next" disabled=move || stage.get() == 4 on:click=move |_| stage.update(|s| *s = (*s + 1).min(4))>"Next →"</button>
        </nav>
    }
}

/// Draws `t` on the canvas when both are there, marking it with its sum.
fn draw_marked(canvas: NodeRef<Canvas>, t: &Tensor) -> Option<String> {
    let c = canvas.get()?;
    let _ = c.set_attribute("data-sum", &format!("{:.6}", t.data().iter().map(|&v| v as f64).sum::<f64>()));
    draw(&c, t).err()
}

/// A `[h, w]` map as grid cells, the selected one marked.
fn map_cells(map: &Tensor, selected: (usize, usize)) -> Vec<Cell> {
    let w = map.shape().dims()[1];
    map.data().iter().enumerate().map(|(i, &v)| Cell { value: Some(v), class: if (i / w, i % w) == selected { "selected".into() } else { String::new() }, note: None }).collect()
}

/// The step shown, on one image's maps.
#[component]
#[allow(clippy::too_many_arguments)]
fn StageView(c: Computed, stage: RwSignal<usize>, state: Memo<State>, class: RwSignal<usize>, opacity: RwSignal<f32>, map: RwSignal<Map>, cell: RwSignal<(usize, usize)>) -> impl IntoView {
    let h = c.maps.heatmaps.clone();
    let acts_shape = h.activations.shape().dims().to_vec();
    let (channels, mh, mw) = (acts_shape[0], acts_shape[1], acts_shape[2]);
    let channel_canvases: Vec<NodeRef<Canvas>> = (0..CHANNELS_SHOWN.min(channels)).map(|_| NodeRef::new()).collect();
    let (image_canvas, mean_canvas, cam_canvas) = (NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new());
    let (raw, hh, mounted) = (c.raw.clone(), h.clone(), channel_canvases.clone());
    Effect::new(move || {
        let _ = stage.get();
        let alpha = opacity.get();
        draw_marked(image_canvas, &raw);
        for (k, canvas) in mounted.iter().enumerate() {
            let plane = Tensor::new([1, 1, mh, mw], scaled(&Tensor::new([mh, mw], hh.activations.data()[k * mh * mw..(k + 1) * mh * mw].to_vec()).expect("a plane"))).expect("a plane");
            draw_marked(*canvas, &plane);
        }
        if let Ok(t) = overlay(&raw, &hh.mean, alpha) {
            draw_marked(mean_canvas, &t);
        }
        if let Ok(t) = overlay(&raw, &hh.grad_cam, alpha) {
            draw_marked(cam_canvas, &t);
        }
    });
    let shape = Signal::derive(move || Some(engine::Shape::from([1, channels, mh, mw])));
    let (mean, cam) = (h.mean.clone(), h.grad_cam.clone());
    let mean_cells = Signal::derive(move || map_cells(&mean, if map.get() == Map::Mean { cell.get() } else { (usize::MAX, 0) }));
    let cam_cells = Signal::derive(move || map_cells(&cam, if map.get() == Map::GradCam { cell.get() } else { (usize::MAX, 0) }));
    let choose = move |m: Map| Callback::new(move |at: (usize, usize)| {
        map.set(m);
        cell.set(at);
    });
    let maps = c.maps.clone();
    let cell_text = move || state.get().cell_text(&maps);
    let weights = {
        let mut w: Vec<(usize, f32)> = h.channel_weights.iter().cloned().enumerate().collect();
        w.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        w.into_iter().take(5).map(|(k, v)| format!("channel {k}: {v:.4}")).collect::<Vec<_>>().join(", ")
    };
    let cam_class = shapes::CLASSES[c.maps.class];
    view! {
        <section class="stage-view">
            <div class="images">
                <figure><canvas node_ref=image_canvas data-testid="image-canvas"></canvas><figcaption>"The image, 32x32"</figcaption></figure>
            </div>
            <div class="stage" hidden=move || stage.get() != 1>
                <h2>"1. Hook the body"</h2>
                <p>"fastai's hook_output(m[0]) keeps the output of the model's convolutional body as the image goes through. \
                    Here the hook is on the layer named body (the last ReLU before the average pool), taken by its name. Its output is "
                    <ShapeBadge shape testid="acts-shape"/>
                    {format!(": {channels} channels of {mh}x{mw}. The lesson's pets model gives 11x11x512: a 352-pixel image halved five times, and 512 channels. The built-in model halves its 32 pixels only twice, to 8x8, so that each cell covers 4 pixels and can point at a small shape. The first {} channels, each scaled to its own range:", CHANNELS_SHOWN.min(channels))}</p>
                <div class="channels">{channel_canvases.into_iter().enumerate().map(|(k, canvas)| view! {
                    <figure><canvas node_ref=canvas data-testid=format!("channel-{k}")></canvas><figcaption>{k}</figcaption></figure>
                }).collect_view()}</div>
            </div>
            <div class="stage" hidden=move || stage.get() != 2>
                <h2>"2. Average the channels"</h2>
                <p>"avg_acts = acts.mean(0): for each of the {mh}x{mw} positions, the mean of the {channels} channels there. Pick a cell to see its sum."</p>
                <NumberGrid cells=mean_cells cols=mw label="The mean over the channels".to_string() testid="mean-map" decimals=3
                    on_select=choose(Map::Mean) selected=Signal::derive(move || cell.get())/>
            </div>
            <div class="stage" hidden=move || stage.get() < 2>
                <p class="sum" data-testid="cell-sum" aria-live="polite">{cell_text}</p>
            </div>
            <div class="stage" hidden=move || stage.get() < 3>
                <h2>"3. Stretch it over the image"</h2>
                <p>{format!("The {mh}x{mw} map stretched to 32x32 with bilinear interpolation (F.interpolate, the engine's resize_bilinear op), scaled between its smallest and largest value, coloured with magma and laid over the image, as the lesson's imshow(avg_acts, alpha=0.6, interpolation='bilinear', cmap='magma') does.")}</p>
                {select(&OPACITY, opacity, "Opacity ", "opacity")}
                <div class="images">
                    <figure><canvas node_ref=mean_canvas data-testid="mean-overlay"></canvas><figcaption>"the channel mean"</figcaption></figure>
                    <figure hidden=move || stage.get() < 4><canvas node_ref=cam_canvas data-testid="cam-overlay"></canvas><figcaption>{format!("Grad-CAM for {cam_class}")}</figcaption></figure>
                </div>
            </div>
            <div class="stage" hidden=move || stage.get() != 4>
                <h2>"4. Grad-CAM for one class"</h2>
                {select(&CLASS, class, "Class ", "class")}
                <p>{format!(
                    "The gradient of the {cam_class} score at the hooked output, averaged over each channel's {mh}x{mw} positions, says how much \
                     each channel raises that score: its weight. The largest by size: {weights}. Weigh each channel by it, add them up, \
                     and keep what is above 0 (ReLU): Grad-CAM (Selvaraju et al., 2017). The lesson's notebook takes the mean over the \
                     channels instead of the sum and no ReLU, mult = (acts*grad_chan[...,None,None]).mean(0): the same picture once \
                     scaled, with negative areas where the channels speak against the class."
                )}</p>
                <NumberGrid cells=cam_cells cols=mw label="Grad-CAM".to_string() testid="cam-map" decimals=3
                    on_select=choose(Map::GradCam) selected=Signal::derive(move || cell.get())/>
            </div>
        </section>
    }
}

/// How often each map peaks inside the shape, over every image, measured on the learner's request.
#[component]
fn Peaks(
    checkpoint: LocalResource<Result<Vec<u8>, String>>,
    set: StoredValue<(ImageSet, Vec<Placement>), LocalStorage>,
    yours: StoredValue<Option<(Rc<Vec<u8>>, Result<(), String>)>, LocalStorage>,
    use_yours: RwSignal<bool>,
) -> impl IntoView {
    let page = use_device();
    let result = RwSignal::new(None::<Result<String, String>>);
    let busy = RwSignal::new(false);
    let run = move |_| {
        let (Some(Ok(bytes)), Some(page)) = (checkpoint.get_untracked(), page.get_untracked()) else { return };
        busy.set(true);
        result.set(None);
        wasm_bindgen_futures::spawn_local(async move {
            let (images, placements) = set.get_value();
            let theirs = yours.get_value().filter(|_| use_yours.get_untracked()).and_then(|(b, fits)| fits.is_ok().then_some(b));
            let done = with_fallback(&page.device, |d| {
                let (bytes, images, placements, theirs) = (bytes.clone(), images.clone(), placements.clone(), theirs.clone());
                async move {
                    let (mut model, info) = model_in_use(&d, &bytes, theirs.as_deref().map(|b| b.as_slice())).map_err(|e| engine::error::OpError::new("checkpoint", engine::error::ErrorKind::Value, &e))?;
                    peaks_inside(&mut model, &info, &images, &placements).await
                }
            })
            .await;
            result.set(Some(done.map(|r| peaks_text(r.value, IMAGES, chance(&images, &placements)))));
            busy.set(false);
        });
    };
    view! {
        <section class="peaks">
            <h2>"Does the map find the shape?"</h2>
            <p>{format!("The shapes data knows which pixels belong to each shape. For each of the {IMAGES} images, find the pixel where each stretched map is largest, and check whether it is one of the shape's.")}</p>
            <button type="button" data-testid="measure-peaks" on:click=run disabled=move || busy.get()>{format!("Check all {IMAGES} images")}</button>
            {move || busy.get().then(|| view! { <p class="status">"Checking…"</p> })}
            <p class="sum" data-testid="peaks" aria-live="polite">{move || match result.get() {
                Some(Ok(text)) => text,
                Some(Err(e)) => e,
                None => String::new(),
            }}</p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_is_the_documented_architecture() {
        let (_, info) = shipped();
        let arch = info.architecture.expect("the shipped checkpoint carries its architecture");
        assert_eq!((arch.input, arch.code()), ([3, shapes::SIZE, shapes::SIZE], ARCHITECTURE.to_string()));
        let rows = arch.check().unwrap();
        assert_eq!(rows[rows.len() - 4].shape, [128, 8, 8], "the hooked body's output");
    }

    fn shipped() -> (Sequential, Info) {
        model(&Device::Cpu, include_bytes!("../../../public/data/shapes_cnn.safetensors")).unwrap()
    }

    #[test]
    fn the_shipped_model_knows_the_shapes_and_grad_cam_peaks_inside_them() {
        let (mut model, info) = shipped();
        assert_eq!(info.classes, shapes::CLASSES);
        let (set, placements) = images();
        let mut right = 0;
        for i in 0..IMAGES {
            let m = pollster::block_on(maps(&mut model, &info, &gather_rows(&set.images, &[i]), PREDICTED)).unwrap();
            right += usize::from(m.predicted.0 == set.labels[i] as usize);
        }
        assert!(right >= 95, "{right} of {IMAGES} right");
        let peaks = pollster::block_on(peaks_inside(&mut model, &info, &set, &placements)).unwrap();
        let (mean, cam) = (peaks.mean, peaks.cam);
        let chance = chance(&set, &placements);
        let text = peaks_text(peaks, IMAGES, chance);
        println!("{text}");
        // A random pixel is inside the shape about a quarter of the time; both maps point inside it for at least four
        // images in five.
        assert!(chance > 0.1 && chance < 0.4, "{chance}");
        assert!(cam >= 80 && mean >= 80, "{text}");
        assert!(text.contains(&format!("Grad-CAM for the true class for {cam} ({cam}%)")), "{text}");
    }

    #[test]
    fn every_setting_gives_numbers_a_sentence_and_a_panel_without_a_panic() {
        let (mut model, info) = shipped();
        let (set, _) = images();
        for &class in &CLASSES {
            for map in [Map::Mean, Map::GradCam] {
                for cell in [(0, 0), (3, 3), (1, 2)] {
                    let state = State { image: 5, class, map, cell, ..State::default() };
                    let m = pollster::block_on(maps(&mut model, &info, &gather_rows(&set.images, &[state.image]), class)).unwrap();
                    let numbers = state.numbers(&m).unwrap();
                    let (terms, sum, value) = state.cell_terms(&m).unwrap();
                    assert_eq!(terms.len(), 128);
                    match map {
                        Map::Mean => assert!((sum / 128.0 - value).abs() < 1e-5, "the mean is the sum over 128"),
                        Map::GradCam => assert!((sum.max(0.0) - value).abs() < 1e-4, "Grad-CAM is the ReLU of the sum"),
                    }
                    assert_eq!(numbers.shape, [8, 8]);
                    assert!(state.cell_text(&m).contains(&format!("{value:.4}")));
                    assert!(state.pytorch(&m, &layer_lines(&model), CHECKPOINT).contains(&format!("scores[0, {}]", m.class)));
                }
            }
        }
        let outside = State { cell: (3, 3), ..State::default() };
        let m = pollster::block_on(maps(&mut model, &info, &gather_rows(&set.images, &[0]), 0)).unwrap();
        assert!(outside.cell_terms(&m).is_ok());
    }

    #[test]
    fn a_model_from_train_stands_in_only_when_it_was_trained_on_the_shapes_and_has_a_body() {
        let save = |task: &str, arch: engine::architecture::Architecture| {
            let mut m = arch.build(&Device::Cpu, &mut engine::rng::Rng::new(1)).unwrap();
            let info = Info { task: task.into(), classes: shapes::CLASSES.iter().map(|c| c.to_string()).collect(), stats: vec![(0.5, 0.2); arch.input[0]], architecture: Some(arch) };
            pollster::block_on(checkpoint::save(&mut m, &info)).unwrap()
        };
        let shapes_arch = engine::architecture::simple_cnn([3, 32, 32], &[8, 16], 4);
        let bytes = save("shapes", shapes_arch.clone());
        let (mut model, info) = model_in_use(&Device::Cpu, &[], Some(&bytes)).unwrap();
        let (set, _) = images();
        let m = pollster::block_on(maps(&mut model, &info, &gather_rows(&set.images, &[0]), PREDICTED)).unwrap();
        assert_eq!(m.heatmaps.activations.shape().dims(), [16, 16, 16], "its own body, hooked by name");
        assert!(layer_lines(&model).iter().any(|l| l.starts_with("    (\"body\", nn.ReLU")));
        let digits = save("digits", engine::architecture::simple_cnn([1, 8, 8], &[8], 4));
        assert!(model_in_use(&Device::Cpu, &[], Some(&digits)).err().unwrap().contains("digits task"));
        let mut flat = shapes_arch;
        flat.blocks.retain(|b| *b != engine::architecture::Block::AdaptiveAvgPool);
        let no_body = save("shapes", flat);
        assert!(model_in_use(&Device::Cpu, &[], Some(&no_body)).err().unwrap().contains("no body to hook"));
    }

    #[test]
    fn a_stroke_inks_a_disc_and_stays_inside_the_drawing() {
        let mut p = blank();
        paint(&mut p, (0, 31));
        paint(&mut p, (16, 16));
        let inked = |y: usize, x: usize| p[y * 32 + x] == INK[0];
        assert!(inked(0, 31) && inked(1, 30) && inked(16, 16) && inked(17, 17) && inked(16, 15));
        assert!(!inked(18, 18) && !inked(16, 14) && !inked(5, 5));
        // A 3x3 disc (radius 1.5) in the middle, its quarter in the corner: 9 + 4 pixels, in each channel.
        for c in 0..3 {
            assert_eq!(p[c * 1024..(c + 1) * 1024].iter().filter(|&&v| v == INK[c]).count(), 13);
        }
    }

    #[test]
    fn the_overlay_blends_the_image_with_the_coloured_map() {
        let image = Tensor::from_fn([1, 3, 8, 8], |_| 0.5);
        let map = Tensor::new([2, 2], vec![0.0, 1.0, 2.0, 3.0]).unwrap();
        let o = overlay(&image, &map, 0.5).unwrap();
        // The largest cell is at the bottom right: magma's top there, its bottom at the top left.
        let at = |c: usize, y: usize, x: usize| o.data()[c * 64 + y * 8 + x];
        assert!((at(0, 7, 7) - (0.25 + 0.5 * 0.987)).abs() < 1e-3);
        assert!((at(0, 0, 0) - (0.25 + 0.5 * 0.001)).abs() < 1e-3);
        assert_eq!(magma(0.0), [0.001, 0.000, 0.014]);
    }
}
