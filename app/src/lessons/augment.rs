//! `/augment`: data augmentation as fastai 1's `get_transforms()` draws it. Each time a training image is used it
//! is moved by a random flip, perspective warp, rotation and zoom, combined into one 3x3 matrix that the engine's
//! `warp` op applies with bilinear sampling (on the page's device), and lit by a random brightness and contrast on
//! the logits of its pixels. The learner sets each transform's range and probability (fastai's defaults, or the
//! lesson notebook's larger ones), sees a grid of random draws of one photo, picks one to see what was drawn, its
//! matrix and where one pixel reads, compares the padding modes on one rotated photo, sees which transforms keep a
//! digit's label true, and measures what augmentation does to a small training set over several seeds.
//!
//! URL parameters ([`PARAMS`]): `photo` (a sample's file name), `flip` (`on`, `off`), `rotate` (the largest
//! rotation, 0–180 degrees), `zoom` (the largest zoom: 1, 1.1, 1.2, 1.3, 1.5, 2), `lighting` and `warp` (0 to 0.5
//! by 0.1), `paffine` and `plighting` (the probabilities: 0, 0.25, 0.5, 0.75, 1), `mode` (`zeros`, `border`,
//! `reflection`), `seed` (0–9999), `pick` (which draw of the grid, 0–11), `y`, `x` (a pixel of it), `angle` (the
//! rotation of the padding comparison, 0–180 degrees).

use crate::data::load_digits;
use crate::device::{use_device, with_fallback};
use crate::image::{draw, load_rgb};
use crate::panel::{PanelNumbers, cell_in, exact, footer};
#[cfg(not(target_arch = "wasm32"))]
use crate::panel::{Assets, Case, url};
use crate::query::{AnyParam, Param, Params};
use crate::widgets::training::{Job, SeedRuns, Sequence, StartJob, Started, Training, seeds_verdict};
use crate::worker::{Recipe, RunEnd, recipe, setting};
use crate::widgets::{CodePanel, Cursor, LessonPage, PHOTOS, Photo, PhotoChoice, PhotoPicker, ShapeBadge, format_weight, number_input, photo_param, select};
use engine::data::augment::{self, Augmented, Drawn, Transforms};
use engine::data::{ImageSet, gather_rows, shapes};
use engine::learner::{FitConfig, Loss, Metric, Trainer};
use engine::nn::Sequential;
use engine::ops::PaddingMode;
use engine::ops::Unary;
use engine::ops::warp::Warp;
use engine::optim::Optimizer;
use engine::rng::Rng;
use engine::{Device, Tensor, models};
use leptos::html::Canvas;
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// The side of the photos the page augments (the samples shipped at 128 pixels).
pub const SIDE: u32 = 128;
/// How many draws the grid shows.
pub const GRID: usize = 12;

const ZOOMS: [f32; 6] = [1.0, 1.1, 1.2, 1.3, 1.5, 2.0];
const ZOOM_NAMES: [&str; 6] = ["1", "1.1", "1.2", "1.3", "1.5", "2"];
const AMOUNTS: [f32; 6] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5];
const AMOUNT_NAMES: [&str; 6] = ["0", "0.1", "0.2", "0.3", "0.4", "0.5"];
const PROBABILITIES: [f32; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];
const PROBABILITY_NAMES: [&str; 5] = ["0", "0.25", "0.5", "0.75", "1"];

fn named(values: &[f32], names: &[&'static str], v: f32) -> &'static str {
    values.iter().position(|&w| w == v).map_or(names[0], |i| names[i])
}

fn zoom_name(v: f32) -> &'static str {
    named(&ZOOMS, &ZOOM_NAMES, v)
}

fn amount_name(v: f32) -> &'static str {
    named(&AMOUNTS, &AMOUNT_NAMES, v)
}

fn probability_name(v: f32) -> &'static str {
    named(&PROBABILITIES, &PROBABILITY_NAMES, v)
}

fn on_off(v: bool) -> &'static str {
    if v { "on" } else { "off" }
}

/// The photo (the cat: the lesson's notebook augments a pet).
pub const PHOTO: Param<Photo> = photo_param(PHOTOS[1]);
/// `do_flip`: flip left to right with probability 0.5.
pub const FLIP: Param<bool> = Param::choices("flip", true, &[true, false], on_off);
/// `max_rotate`, in degrees.
pub const ROTATE: Param<usize> = Param::range("rotate", 10, 0, 180);
/// `max_zoom`.
pub const ZOOM: Param<f32> = Param::choices("zoom", 1.1, &ZOOMS, zoom_name);
/// `max_lighting`.
pub const LIGHTING: Param<f32> = Param::choices("lighting", 0.2, &AMOUNTS, amount_name);
/// `max_warp`.
pub const WARP: Param<f32> = Param::choices("warp", 0.2, &AMOUNTS, amount_name);
/// `p_affine`: the probability of each of warp, rotation and zoom.
pub const P_AFFINE: Param<f32> = Param::choices("paffine", 0.75, &PROBABILITIES, probability_name);
/// `p_lighting`: the probability of each of brightness and contrast.
pub const P_LIGHTING: Param<f32> = Param::choices("plighting", 0.75, &PROBABILITIES, probability_name);
/// `padding_mode`: fastai's default is reflection.
pub const PADDING: Param<PaddingMode> = Param::choices("mode", PaddingMode::Reflection, &PaddingMode::LESSON, PaddingMode::name);
/// Which draws: the engine's generator draws the same grid for the same seed.
pub const SEED: Param<u32> = Param::range("seed", 0, 0, 9999);
/// The draw looked at closely.
pub const PICK: Param<usize> = Param::range("pick", 0, 0, GRID - 1);
/// A pixel of it: the row.
pub const Y: Param<usize> = Param::range("y", 64, 0, SIDE as usize - 1);
/// Its column.
pub const X: Param<usize> = Param::range("x", 64, 0, SIDE as usize - 1);
/// The padding comparison's rotation, in degrees.
pub const ANGLE: Param<usize> = Param::range("angle", 30, 0, 180);
/// Every parameter, in the URL's order.
pub const PARAMS: &[&dyn AnyParam] = &[&PHOTO, &FLIP, &ROTATE, &ZOOM, &LIGHTING, &WARP, &P_AFFINE, &P_LIGHTING, &PADDING, &SEED, &PICK, &Y, &X, &ANGLE];

/// The lesson notebook's settings (`lesson6-pets-more`): `get_transforms(max_rotate=20, max_zoom=1.3,
/// max_lighting=0.4, max_warp=0.4, p_affine=1., p_lighting=1.)`.
pub fn notebook_transforms() -> Transforms {
    Transforms { max_rotate: 20.0, max_zoom: 1.3, max_lighting: 0.4, max_warp: 0.4, p_affine: 1.0, p_lighting: 1.0, ..Transforms::default() }
}

/// The lesson's state as the URL holds it, less the photo's pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// The photo, as the PyTorch code opens it.
    pub file: String,
    /// What is drawn.
    pub transforms: Transforms,
    /// The seed of the grid's draws.
    pub seed: u32,
    /// The draw looked at closely.
    pub pick: usize,
    /// A pixel of it `(row, column)`.
    pub cell: (usize, usize),
    /// The padding comparison's rotation, in degrees.
    pub angle: usize,
}

impl Default for State {
    fn default() -> State {
        State { file: format!("{SIDE}/{}", PHOTO.default.file), transforms: Transforms::default(), seed: 0, pick: 0, cell: (64, 64), angle: 30 }
    }
}

/// The output pixel's value in channel 0 of image `n` of `t [N, C, H, W]`.
fn pixel(t: &Tensor, n: usize, (y, x): (usize, usize)) -> f32 {
    let d = t.shape().dims();
    t.data()[n * d[1] * d[2] * d[3] + y * d[3] + x]
}

impl State {
    /// The grid's draws, one per image, from the seed.
    pub fn draws(&self) -> Vec<Drawn> {
        let mut rng = Rng::new(self.seed as u64);
        (0..GRID).map(|_| self.transforms.draw(&mut rng)).collect()
    }

    /// The warp of `count` copies of a photo `[1, C, H, W]`, each moved by its draw.
    fn warp(&self, photo: &Tensor, draws: &[Drawn]) -> Result<Warp, String> {
        let d = photo.shape().dims();
        let (h, w) = (d[2], d[3]);
        let shape = engine::Shape::from([draws.len(), d[1], h, w]);
        Warp::new(&shape, draws.iter().map(|m| m.matrix(h, w)).collect(), [h, w], self.transforms.padding, false).map_err(|e| e.to_string())
    }

    /// The grid's warp on `photo`'s shape and the batch it runs on: the photo repeated once per draw.
    pub fn grid_input(&self, photo: &Tensor) -> Result<(Warp, Tensor), String> {
        let draws = self.draws();
        Ok((self.warp(photo, &draws)?, gather_rows(photo, &[0; GRID])))
    }

    /// The grid on the CPU: every draw of the photo, moved and lit (the page runs the warp on its device and the
    /// lighting after it, [`augment::light`]).
    pub fn grid(&self, photo: &Tensor) -> Result<Tensor, String> {
        augment::augment(&gather_rows(photo, &[0; GRID]), &self.draws(), self.transforms.padding).map_err(|e| e.to_string())
    }

    /// The picked draw of `photo` `[1, C, H, W]`: `(moved, lit)`, the warp's output and the final image.
    pub fn picked(&self, photo: &Tensor) -> Result<(Tensor, Tensor), String> {
        let drawn = [self.draws()[self.pick].clone()];
        let moved = self.warp(photo, &drawn)?.forward(photo).map_err(|e| e.to_string())?;
        let lit = augment::light(&moved, &drawn).map_err(|e| e.to_string())?;
        Ok((moved, lit))
    }

    /// What was drawn for the picked image, one line per transform, in fastai's order.
    pub fn drawn_lines(drawn: &Drawn) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(m) = drawn.warp {
            lines.push(format!(
                "perspective warp: the corners moved by m = ({})",
                m.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(deg) = drawn.rotate {
            lines.push(format!("rotate {deg:.2}°"));
        }
        if let Some((s, row, col)) = drawn.zoom {
            lines.push(format!("zoom ×{s:.3} towards row {row:.2}, column {col:.2} of the image"));
        }
        if drawn.flip {
            lines.push("flip left to right".into());
        }
        if let Some(change) = drawn.brightness {
            lines.push(format!("brightness: change {change:.3}, so logit({change:.3}) = {:.3} is added to each pixel's logit", (change / (1.0 - change)).ln()));
        }
        if let Some(scale) = drawn.contrast {
            lines.push(format!("contrast: each pixel's logit multiplied by {scale:.3}"));
        }
        if lines.is_empty() {
            lines.push("nothing was drawn: this one is the photo as it is".into());
        }
        lines
    }

    /// The picked draw's matrix, for an image `h` by `w`.
    pub fn matrix(&self, (h, w): (usize, usize)) -> [f32; 9] {
        self.draws()[self.pick].matrix(h, w)
    }

    /// Where the selected pixel of the picked draw reads, in channel 0: `((row, column), weight, input value)` for
    /// each of the (up to four) input pixels, from the warp's own trace.
    pub fn taps(&self, photo: &Tensor) -> Result<Vec<((usize, usize), f32, f32)>, String> {
        let drawn = [self.draws()[self.pick].clone()];
        let op = self.warp(photo, &drawn)?;
        let w = photo.shape().dims()[3];
        Ok(op.trace(0, self.cell.0, self.cell.1).into_iter().map(|((r, c), weight)| ((r, c), weight, photo.data()[r * w + c])).collect())
    }

    /// The numbers the page shows for the picked draw: the final image's shape, the selected pixel after the warp
    /// (its four taps' sum) and after lighting, and the checksum of the final image.
    pub fn numbers(&self, photo: &Tensor) -> Result<PanelNumbers, String> {
        let (moved, lit) = self.picked(photo)?;
        cell_in(&lit, self.cell, 0)?;
        Ok(PanelNumbers::new(&lit, pixel(&moved, 0, self.cell), pixel(&lit, 0, self.cell)))
    }

    /// The photo rotated by [`State::angle`] with each padding mode, in [`PaddingMode::LESSON`]'s order: the
    /// warps, and the batch they run on (the photo, once per mode).
    pub fn fill_modes(&self, photo: &Tensor) -> Result<Vec<Warp>, String> {
        let d = photo.shape().dims();
        let m = Drawn { rotate: Some(self.angle as f32), ..Drawn::default() }.matrix(d[2], d[3]);
        PaddingMode::LESSON.into_iter().map(|mode| Warp::new(photo.shape(), vec![m], [d[2], d[3]], mode, false).map_err(|e| e.to_string())).collect()
    }

    /// The panel's code: the picked draw of the photo, its matrix exact, applied with `F.grid_sample` and lit on the
    /// logits as fastai 1 does.
    pub fn pytorch(&self, (h, w): (usize, usize)) -> String {
        let drawn = &self.draws()[self.pick];
        let m = drawn.matrix(h, w);
        let rows: Vec<String> = m.chunks(3).map(|r| format!("[{}]", r.iter().map(|&v| exact(v)).collect::<Vec<_>>().join(", "))).collect();
        let drawn_comment: String = Self::drawn_lines(drawn).iter().map(|l| format!("#   {l}\n")).collect();
        let mut lighting = String::new();
        if let Some(change) = drawn.brightness {
            lighting += &format!("z = z + torch.logit(torch.tensor({}), eps=1e-7)  # brightness\n", exact(change));
        }
        if let Some(scale) = drawn.contrast {
            lighting += &format!("z = z * {}  # contrast\n", exact(scale));
        }
        let (y, x) = self.cell;
        format!(
            "import torch\nimport torch.nn.functional as F\nfrom PIL import Image\nimport torchvision.transforms.functional as TF\n\n\
             x = TF.to_tensor(Image.open(\"{file}\").convert(\"RGB\"))[None]  # [1, 3, H, W], values 0..1\n\
             H, W = x.shape[2:]\n\
             # Draw {pick} of seed {seed} drew:\n{drawn_comment}\
             # fastai combines the moves into one matrix (rotate @ zoom, corrected for the aspect, @ warp @ flip):\n\
             # output pixel (x, y, 1), in -1..1, reads the input at M @ (x, y, 1).\n\
             M = torch.tensor([{rows}], dtype=torch.float32)\n\
             # Each output pixel's centre in -1..1 (align_corners=False), as F.affine_grid builds it:\n\
             gy, gx = torch.meshgrid((2 * torch.arange(H) + 1) / H - 1, (2 * torch.arange(W) + 1) / W - 1, indexing=\"ij\")\n\
             p = torch.stack([gx, gy, torch.ones_like(gx)], -1) @ M.T  # [H, W, 3]\n\
             grid = (p[..., :2] / p[..., 2:])[None]  # [1, H, W, 2]: where each output pixel reads\n\
             moved = F.grid_sample(x, grid, mode=\"bilinear\", padding_mode=\"{mode}\", align_corners=False)\n\
             # Lighting works on the logit of each pixel:\n\
             z = torch.logit(moved, eps=1e-7)\n\
             {lighting}\
             out = torch.sigmoid(z)\n\
             {footer}",
            file = self.file,
            pick = self.pick,
            seed = self.seed,
            rows = rows.join(", "),
            mode = self.transforms.padding.name(),
            footer = footer("out", &format!("moved[0, 0, {y}, {x}]"), &format!("out[0, 0, {y}, {x}]")),
        )
    }

    /// The state as the URL writes it, for the sample `photo`.
    pub fn query(&self, photo: Photo) -> Vec<(&'static str, String)> {
        let t = &self.transforms;
        vec![
            (PHOTO.key, PHOTO.to_url(photo)),
            (FLIP.key, FLIP.to_url(t.do_flip)),
            (ROTATE.key, ROTATE.to_url(t.max_rotate as usize)),
            (ZOOM.key, ZOOM.to_url(t.max_zoom)),
            (LIGHTING.key, LIGHTING.to_url(t.max_lighting)),
            (WARP.key, WARP.to_url(t.max_warp)),
            (P_AFFINE.key, P_AFFINE.to_url(t.p_affine)),
            (P_LIGHTING.key, P_LIGHTING.to_url(t.p_lighting)),
            (PADDING.key, PADDING.to_url(t.padding)),
            (SEED.key, SEED.to_url(self.seed)),
            (PICK.key, PICK.to_url(self.pick)),
            (Y.key, Y.to_url(self.cell.0)),
            (X.key, X.to_url(self.cell.1)),
            (ANGLE.key, ANGLE.to_url(self.angle)),
        ]
    }
}

/// One row of "which transforms keep a label true": the transform, as drawn, and whether a digit's and a pet
/// photo's label survive it, in words.
pub struct LabelCheck {
    /// The transform.
    pub name: &'static str,
    /// It, as a draw.
    pub drawn: Drawn,
    /// Whether a digit stays the digit it was.
    pub digit_keeps: bool,
    /// Why, for the digit.
    pub digit: &'static str,
    /// And for a photo of a pet.
    pub pet: &'static str,
}

/// The transforms the label table checks, on a 6.
pub fn label_checks() -> Vec<LabelCheck> {
    vec![
        LabelCheck {
            name: "flip left to right",
            drawn: Drawn { flip: true, ..Drawn::default() },
            digit_keeps: false,
            digit: "No: a mirrored 6 is not a 6 (and a mirrored 2 or 5 is no digit at all). Digits train without the flip.",
            pet: "Yes: a cat facing left is a cat. fastai flips by default (do_flip=True).",
        },
        LabelCheck {
            name: "rotate 10°",
            drawn: Drawn { rotate: Some(10.0), ..Drawn::default() },
            digit_keeps: true,
            digit: "Yes: a slanted 6 is still a 6, as people write them.",
            pet: "Yes: a tilted camera.",
        },
        LabelCheck {
            name: "rotate 180°",
            drawn: Drawn { rotate: Some(180.0), ..Drawn::default() },
            digit_keeps: false,
            digit: "No: a 6 upside down is a 9.",
            pet: "Not for photos taken upright: fastai leaves it out (flip_vert=False). For satellite or microscope images, \
                  which have no up, flip_vert=True adds the turns and flips.",
        },
        LabelCheck {
            name: "zoom 1.1 (into the centre)",
            drawn: Drawn { zoom: Some((1.1, 0.5, 0.5)), ..Drawn::default() },
            digit_keeps: true,
            digit: "Yes, as long as the zoom keeps the whole digit.",
            pet: "Yes, as long as the pet stays in the picture.",
        },
        LabelCheck {
            name: "perspective warp 0.2",
            drawn: Drawn { warp: Some([0.2, -0.2, 0.2, -0.2]), ..Drawn::default() },
            digit_keeps: true,
            digit: "Yes: the digit seen from a little to one side.",
            pet: "Yes: as if the camera were above or beside the pet.",
        },
        LabelCheck {
            name: "brighter, more contrast",
            drawn: Drawn { brightness: Some(0.6), contrast: Some(1.25), ..Drawn::default() },
            digit_keeps: true,
            digit: "Yes: lighter ink is the same digit.",
            pet: "Yes: another light.",
        },
    ]
}

/// The first digit labelled 6 in `digits`, as `[1, 1, 8, 8]`, and each of [`label_checks`] applied to it (zeros
/// outside, as paper is blank).
pub fn six(digits: &ImageSet) -> Result<(Tensor, Vec<Tensor>), String> {
    let index = digits.labels.iter().position(|&l| l == 6).ok_or("The digits hold no 6.")?;
    let six = gather_rows(&digits.images, &[index]);
    let moved = label_checks()
        .iter()
        .map(|check| augment::augment(&six, std::slice::from_ref(&check.drawn), PaddingMode::Zeros).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((six, moved))
}

/// The comparison's training images (the first of the shapes' training split).
pub const TRAIN_ITEMS: usize = 300;
/// Its validation images.
pub const VALID_ITEMS: usize = 200;
/// Its epochs.
pub const EPOCHS: usize = 20;
/// Its batch size.
pub const BATCH: usize = 64;
/// Its seeds: each draws the weights, the batches' order and the augmentations.
pub const COMPARISON_SEEDS: [u64; 3] = [1, 2, 3];
const SETTINGS: [(&str, &str); 2] = [("no augmentation", "without augmentation"), ("augmentation", "with it")];

/// The shapes of the comparison, raw (values in [0, 1]): `(training, validation)`.
pub fn shapes_sets() -> (ImageSet, ImageSet) {
    comparison_sets(shapes::generate(SHAPES_DRAWN, 7).0)
}

/// How many shapes the comparison's sets are taken from.
const SHAPES_DRAWN: usize = 1500;

/// [`shapes_sets`] on the page, drawn a hundred shapes at a time with the browser's turn between (drawing them at
/// once held the page for about 0.2 s when the comparison trains on WebGPU).
async fn shapes_sets_in_turns() -> (ImageSet, ImageSet) {
    let mut drawer = shapes::Drawer::new(7);
    for _ in 0..SHAPES_DRAWN / 100 {
        drawer.draw(100);
        #[cfg(target_arch = "wasm32")]
        crate::timing::yield_to_browser().await;
    }
    comparison_sets(drawer.finish().0)
}

/// The comparison's training and validation sets, from the shapes drawn.
fn comparison_sets(set: ImageSet) -> (ImageSet, ImageSet) {
    let (train, valid) = set.split_raw(0.2, 7);
    (train.subset(&(0..TRAIN_ITEMS).collect::<Vec<_>>()), valid.subset(&(0..VALID_ITEMS).collect::<Vec<_>>()))
}

type AugmentedTrainer = Trainer<Sequential, Augmented>;

/// The comparison: the shapes CNN trained on [`TRAIN_ITEMS`] shapes without augmentation and with `transforms`,
/// each with every seed of [`COMPARISON_SEEDS`], alternating, as one sequence of runs labelled by their setting.
/// AdamW (weight decay 0.01), one-cycle to 1e-2, batches of 64, as `cargo xtask train --task shapes`.
pub fn comparison_runs(device: &Device, (train, valid): &(ImageSet, ImageSet), transforms: &Transforms, epochs: usize) -> Result<Vec<(String, AugmentedTrainer)>, String> {
    let stats = train.channel_stats();
    let mut runs = Vec::new();
    for seed in COMPARISON_SEEDS {
        for (label, drawn) in [(SETTINGS[0].0, Transforms::none()), (SETTINGS[1].0, transforms.clone())] {
            let train = Augmented::new(train.clone(), stats.clone(), drawn, seed).map_err(|e| e.to_string())?;
            let valid = Augmented::new(valid.clone(), stats.clone(), Transforms::none(), seed).map_err(|e| e.to_string())?;
            let config = FitConfig { epochs, batch_size: BATCH, lr_max: 1e-2, seed, read_every: 5, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
            let model = models::shapes_cnn(device, &mut Rng::new(seed));
            runs.push((label.to_string(), Trainer::new(device, model, Optimizer::adamw(0.01), train, valid, config)));
        }
    }
    Ok(runs)
}

/// The training worker's name for the comparison.
pub const EFFECT_JOB: &str = "augment.effect";

/// The comparison with `t` as a recipe for the training worker.
fn effect_recipe(t: &Transforms) -> Recipe {
    recipe(
        EFFECT_JOB,
        &[
            ("do_flip", t.do_flip.to_string()),
            ("max_rotate", t.max_rotate.to_string()),
            ("max_zoom", t.max_zoom.to_string()),
            ("max_lighting", t.max_lighting.to_string()),
            ("max_warp", t.max_warp.to_string()),
            ("p_affine", t.p_affine.to_string()),
            ("p_lighting", t.p_lighting.to_string()),
            ("padding", t.padding.name().to_string()),
        ],
    )
}

/// The transforms of an [`effect_recipe`].
fn transforms_of(r: &Recipe) -> Result<Transforms, String> {
    let padding: String = setting(r, "padding")?;
    Ok(Transforms {
        do_flip: setting(r, "do_flip")?,
        max_rotate: setting(r, "max_rotate")?,
        max_zoom: setting(r, "max_zoom")?,
        max_lighting: setting(r, "max_lighting")?,
        max_warp: setting(r, "max_warp")?,
        p_affine: setting(r, "p_affine")?,
        p_lighting: setting(r, "p_lighting")?,
        padding: PaddingMode::parse(&padding).ok_or_else(|| format!("the training job's padding “{padding}” is unknown"))?,
    })
}

/// In the worker: the comparison of an [`EFFECT_JOB`] recipe, on the CPU; `on_run_end` hears each run's end.
pub fn effect_job(r: &Recipe, on_run_end: RunEnd) -> Result<Box<dyn Job>, String> {
    let runs = comparison_runs(&Device::Cpu, &shapes_sets(), &transforms_of(r)?, EPOCHS)?;
    Ok(Box::new(Sequence::new(runs, move |label: &str, metric: f32| on_run_end(label, metric))))
}

/// The comparison's results, `(label, validation accuracy)` in the order the runs ended, in words.
pub fn comparison_text(results: &[(String, f32)]) -> String {
    seeds_verdict(results, SETTINGS, "accuracy", "augmentation's effect")
}

#[cfg(not(target_arch = "wasm32"))]
/// The panel states `cargo xtask panels` checks: every padding mode, both presets and a transform at a time, draws
/// with and without lighting, pixels at the borders and inside.
pub fn cases(assets: &dyn Assets) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    let one = |f: fn(&mut Transforms)| {
        let mut t = Transforms { do_flip: false, max_rotate: 0.0, max_zoom: 1.0, max_lighting: 0.0, max_warp: 0.0, p_affine: 1.0, p_lighting: 1.0, ..Transforms::default() };
        f(&mut t);
        t
    };
    let presets = [
        Transforms::default(),
        notebook_transforms(),
        one(|t| t.do_flip = true),
        one(|t| t.max_rotate = 45.0),
        one(|t| t.max_zoom = 2.0),
        one(|t| t.max_warp = 0.5),
        one(|t| t.max_lighting = 0.5),
    ];
    for (i, transforms) in presets.into_iter().enumerate() {
        for (j, mode) in PaddingMode::LESSON.into_iter().enumerate() {
            let photo = PHOTOS[(i + j) % PHOTOS.len()];
            let state = State {
                file: format!("{SIDE}/{}", photo.file),
                transforms: Transforms { padding: mode, ..transforms.clone() },
                seed: (7 * i + j) as u32,
                pick: (i * 5 + j * 3) % GRID,
                cell: [(0, 0), (64, 64), (84, 100), (3, 127)][(i + j) % 4],
                angle: 30,
            };
            let rgb = assets.photo(&state.file)?;
            let d = rgb.shape().dims();
            let page = state.numbers(&rgb);
            cases.push(Case { url: url("augment", &state.query(photo)), code: state.pytorch((d[2], d[3])), page });
        }
    }
    Ok(cases)
}

/// Draws each image on its canvas, for every canvas mounted, and marks each with its image's sum (`data-sum`), so
/// that tests can tell it is drawn and up to date. The first error, if any.
fn draw_each(canvases: &[NodeRef<Canvas>], images: impl IntoIterator<Item = Tensor>) -> Option<String> {
    canvases.iter().zip(images).find_map(|(canvas, t)| {
        let c = canvas.get()?;
        let drawn = draw(&c, &t).err();
        let _ = c.set_attribute("data-sum", &format!("{:.6}", t.data().iter().map(|&v| v as f64).sum::<f64>()));
        drawn
    })
}

/// The images of a batch `[N, C, H, W]`, one by one as `[1, C, H, W]`.
fn images(batch: &Tensor) -> impl Iterator<Item = Tensor> + '_ {
    (0..batch.shape().dims()[0]).map(|k| gather_rows(batch, &[k]))
}

/// The page.
#[component]
pub fn Augment() -> impl IntoView {
    let mut params = Params::from_location();
    let photo = PhotoChoice::new(params.get(&PHOTO), SIDE);
    let (flip, rotate, zoom, lighting, warp) = (params.get(&FLIP), params.get(&ROTATE), params.get(&ZOOM), params.get(&LIGHTING), params.get(&WARP));
    let (p_affine, p_lighting, padding) = (params.get(&P_AFFINE), params.get(&P_LIGHTING), params.get(&PADDING));
    let (seed, pick, cell, angle) = (params.get(&SEED), params.get(&PICK), params.cell((&Y, &X)), params.get(&ANGLE));
    let notices = params.notices();
    params.sync();
    let page = use_device();

    let transforms = Memo::new(move |_| Transforms {
        do_flip: flip.get(),
        max_rotate: rotate.get() as f32,
        max_zoom: zoom.get(),
        max_lighting: lighting.get(),
        max_warp: warp.get(),
        p_affine: p_affine.get(),
        p_lighting: p_lighting.get(),
        padding: padding.get(),
    });
    let state = Memo::new(move |_| State {
        file: photo.source.get().file_name(SIDE),
        transforms: transforms.get(),
        seed: seed.get(),
        pick: pick.get(),
        cell: cell.get(),
        angle: angle.get(),
    });
    let image = LocalResource::new(move || {
        let url = photo.source.get().url(SIDE);
        async move { load_rgb(&url, SIDE).await }
    });
    let photo_tensor = Signal::derive(move || image.get().and_then(Result::ok));
    // The grid: the warp on the page's device, the lighting after it.
    let grid_state = Memo::new(move |_| State { pick: 0, cell: (0, 0), angle: 0, ..state.get() });
    let grid = LocalResource::new(move || {
        let (photo, page, s) = (photo_tensor.get(), page.get(), grid_state.get());
        async move {
            let (photo, page) = (photo?, page?);
            let (op, batch) = match s.grid_input(&photo) {
                Ok(x) => x,
                Err(e) => return Some(Err(e)),
            };
            let run = with_fallback(&page.device, |d| {
                let moved = op.forward(&batch.to(&d));
                async move { moved?.read().await }
            })
            .await;
            Some(run.and_then(|r| augment::light(&r.value, &s.draws()).map(|lit| (lit, r.label, r.fallback)).map_err(|e| e.to_string())))
        }
    });
    let size = Signal::derive(move || photo_tensor.get().map(|t| (t.shape().dims()[2], t.shape().dims()[3])));
    let cursor = Cursor::new(cell, size, 8);
    let code = Signal::derive(move || size.get().map(|s| state.get().pytorch(s)).unwrap_or_default());
    let error = move || image.get().and_then(Result::err).or_else(|| grid.get().flatten().and_then(Result::err));

    view! {
        <LessonPage
            class="augment"
            title="Data augmentation"
            lede="A model sees each training image many times. Data augmentation changes it a little every time: flipped, \
                  turned, zoomed, seen from another angle, lit differently. The label stays the same, so the model learns \
                  from what a cat is rather than from these particular pixels. fastai's get_transforms() draws these moves \
                  at random for every image of every batch; here you set what it draws and look at the numbers."
            notices
            cursor
        >
            <Settings flip rotate zoom lighting warp p_affine p_lighting padding seed photo/>
            {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Grid grid=Signal::derive(move || grid.get().flatten().and_then(Result::ok).map(|g| g.0)) pick
                device=Signal::derive(move || grid.get().flatten().and_then(Result::ok).map(|g| (g.1, g.2)))/>
            <Picked state photo=photo_tensor grid=Signal::derive(move || grid.get().flatten().and_then(Result::ok).map(|g| g.0)) cursor/>
            <CodePanel code/>
            <FillModes photo=photo_tensor angle state/>
            <LabelTruth/>
            <Effect transforms/>
        </LessonPage>
    }
}

/// The transforms' settings, with fastai's defaults and the notebook's as presets.
#[component]
#[allow(clippy::too_many_arguments)]
fn Settings(
    flip: RwSignal<bool>,
    rotate: RwSignal<usize>,
    zoom: RwSignal<f32>,
    lighting: RwSignal<f32>,
    warp: RwSignal<f32>,
    p_affine: RwSignal<f32>,
    p_lighting: RwSignal<f32>,
    padding: RwSignal<PaddingMode>,
    seed: RwSignal<u32>,
    photo: PhotoChoice,
) -> impl IntoView {
    let set = move |t: Transforms| {
        flip.set(t.do_flip);
        rotate.set(t.max_rotate as usize);
        zoom.set(t.max_zoom);
        lighting.set(t.max_lighting);
        warp.set(t.max_warp);
        p_affine.set(t.p_affine);
        p_lighting.set(t.p_lighting);
    };
    view! {
        <section class="settings">
            <h2>"get_transforms()"</h2>
            <div class="controls">
                <PhotoPicker choice=photo/>
                {select(&FLIP, flip, "do_flip ", "flip")}
                {number_input(&ROTATE, rotate, "max_rotate (degrees) ", "rotate")}
                {select(&ZOOM, zoom, "max_zoom ", "zoom")}
                {select(&LIGHTING, lighting, "max_lighting ", "lighting")}
                {select(&WARP, warp, "max_warp ", "warp")}
                {select(&P_AFFINE, p_affine, "p_affine ", "p-affine")}
                {select(&P_LIGHTING, p_lighting, "p_lighting ", "p-lighting")}
                {select(&PADDING, padding, "padding_mode ", "padding-mode")}
                {number_input(&SEED, seed, "seed ", "seed")}
            </div>
            <div class="controls">
                <button type="button" data-testid="preset-defaults" on:click=move |_| set(Transforms::default())>"fastai's defaults"</button>
                <button type="button" data-testid="preset-notebook" on:click=move |_| set(notebook_transforms())>"the lesson notebook's"</button>
                <button type="button" data-testid="redraw" on:click=move |_| seed.update(|s| *s = (*s + 1) % 10000)>"Draw again"</button>
            </div>
            <p>
                "fastai's defaults: flip left to right with probability 0.5; each of a perspective warp (corners moved up to \
                 max_warp), a rotation (up to max_rotate degrees either way) and a zoom (1 to max_zoom, towards a random \
                 point) with probability p_affine; each of a brightness and a contrast change (up to max_lighting) with \
                 probability p_lighting. The lesson's notebook turns them up: get_transforms(max_rotate=20, max_zoom=1.3, \
                 max_lighting=0.4, max_warp=0.4, p_affine=1., p_lighting=1.)."
            </p>
        </section>
    }
}

/// The grid of draws, each clickable to look at closely.
#[component]
fn Grid(grid: Signal<Option<Tensor>>, pick: RwSignal<usize>, device: Signal<Option<(String, Option<String>)>>) -> impl IntoView {
    let canvases: Vec<NodeRef<Canvas>> = (0..GRID).map(|_| NodeRef::new()).collect();
    let draw_error = RwSignal::new(None::<String>);
    let mounted = canvases.clone();
    Effect::new(move || {
        if let Some(batch) = grid.get() {
            draw_error.set(draw_each(&mounted, images(&batch)));
        }
    });
    view! {
        <section class="grid">
            <h2>{format!("{GRID} draws of one photo")}</h2>
            <p class="status" data-testid="grid-device">{move || device.get().map(|(label, fallback)| {
                format!("Warped on {label}. {}", fallback.unwrap_or_default())
            })}</p>
            <div class="draws" data-testid="draws">
                {canvases.into_iter().enumerate().map(|(k, canvas)| view! {
                    <button type="button" class="draw" class:picked=move || pick.get() == k data-testid=format!("draw-{k}")
                        aria-pressed=move || (pick.get() == k).to_string() on:click=move |_| pick.set(k)
                        aria-label=format!("Draw {k}: look at it closely")>
                        <canvas node_ref=canvas data-testid=format!("draw-canvas-{k}")></canvas>
                    </button>
                }).collect_view()}
            </div>
            {move || draw_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}

/// The picked draw: what was drawn, its matrix, and where one pixel reads.
#[component]
fn Picked(state: Memo<State>, photo: Signal<Option<Tensor>>, grid: Signal<Option<Tensor>>, cursor: Cursor) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let draw_error = RwSignal::new(None::<String>);
    Effect::new(move || {
        if let Some(batch) = grid.get() {
            draw_error.set(draw_each(&[canvas], [gather_rows(&batch, &[state.with(|s| s.pick)])]));
        }
    });
    let drawn = move || state.with(|s| State::drawn_lines(&s.draws()[s.pick]));
    let matrix = move || {
        let t = photo.get()?;
        let d = t.shape().dims();
        Some(state.get().matrix((d[2], d[3])))
    };
    let taps = move || photo.get().map(|t| state.get().taps(&t));
    let values = move || {
        let (s, batch) = (state.get(), grid.get()?);
        let d = batch.shape().dims();
        (s.cell.0 < d[2] && s.cell.1 < d[3]).then(|| pixel(&batch, s.pick, s.cell))
    };
    let shape = Signal::derive(move || grid.get().map(|g| engine::Shape::from([1, g.shape().dims()[1], g.shape().dims()[2], g.shape().dims()[3]])));
    let pixel_box = move || {
        let (y, x) = cursor.cell.get();
        let side = SIDE as f64;
        format!("top: {}%; left: {}%; width: {}%; height: {}%", y as f64 / side * 100.0, x as f64 / side * 100.0, 100.0 / side, 100.0 / side)
    };
    view! {
        <section class="picked">
            <h2>{move || format!("Draw {}, closely", state.with(|s| s.pick))}</h2>
            <div class="picked-row">
                <figure>
                    <div class="canvas-box">
                        <canvas node_ref=canvas data-testid="picked-canvas" tabindex="0"
                            aria-label="The picked draw: click a pixel, or use the arrow keys, to see where it reads"
                            on:click=move |ev| {
                                if let Some(c) = canvas.get() {
                                    cursor.select_at(&c, &ev);
                                }
                            }></canvas>
                        <div class="pixel-box" aria-hidden="true" style=pixel_box></div>
                    </div>
                    <figcaption><ShapeBadge shape=shape testid="picked-shape"/></figcaption>
                </figure>
                <div>
                    <h3>"What was drawn"</h3>
                    <ul data-testid="drawn">{move || drawn().into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                    <h3>"The one matrix M"</h3>
                    <table class="matrix" data-testid="matrix">
                        <tbody>{move || matrix().map(|m| m.chunks(3).map(|r| view! {
                            <tr>{r.iter().map(|v| view! { <td>{format!("{v:.4}")}</td> }).collect_view()}</tr>
                        }).collect_view())}</tbody>
                    </table>
                    <p>"Output pixel (x, y), in coordinates from −1 to 1, reads the photo at M·(x, y, 1), divided by its third \
                        number (a perspective warp makes it other than 1). Between pixels, it mixes the four around that point \
                        (bilinear); outside the photo, the padding mode says what is there."</p>
                </div>
            </div>
            <h3>{move || { let (y, x) = cursor.cell.get(); format!("Pixel ({y}, {x}), red channel") }}</h3>
            <p class="sum" data-testid="taps">{move || match taps() {
                None => String::new(),
                Some(Err(e)) => e,
                Some(Ok(t)) if t.is_empty() => "It reads outside the photo, where zero padding gives 0.".to_string(),
                Some(Ok(t)) => {
                    let sum: f32 = t.iter().map(|&(_, w, v)| w * v).sum();
                    let terms: Vec<String> = t.iter().map(|&((r, c), w, v)| format!("{w:.3} × {v:.3} (row {r}, column {c})")).collect();
                    format!("The warp mixes {} = {sum:.4}", terms.join(" + "))
                }
            }}</p>
            <p class="sum" data-testid="lit">{move || values().map(|v| format!("After the lighting: {}", format_weight(v)))}</p>
            {move || draw_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}

/// Zeros, border and reflection padding side by side on the same rotated photo.
#[component]
fn FillModes(photo: Signal<Option<Tensor>>, angle: RwSignal<usize>, state: Memo<State>) -> impl IntoView {
    let page = use_device();
    let canvases: Vec<NodeRef<Canvas>> = PaddingMode::LESSON.iter().map(|_| NodeRef::new()).collect();
    let rotated = LocalResource::new(move || {
        let (photo, page, s) = (photo.get(), page.get(), state.get());
        async move {
            let (photo, page) = (photo?, page?);
            let ops = match s.fill_modes(&photo) {
                Ok(ops) => ops,
                Err(e) => return Some(Err(e)),
            };
            let mut out = Vec::new();
            for op in ops {
                let run = with_fallback(&page.device, |d| {
                    let y = op.forward(&photo.to(&d));
                    async move { y?.read().await }
                })
                .await;
                match run {
                    Ok(r) => out.push(r.value),
                    Err(e) => return Some(Err(e)),
                }
            }
            Some(Ok(out))
        }
    });
    let draw_error = RwSignal::new(None::<String>);
    let mounted = canvases.clone();
    Effect::new(move || {
        if let Some(Ok(images)) = rotated.get().flatten() {
            draw_error.set(draw_each(&mounted, images));
        }
    });
    view! {
        <section class="fill-modes">
            <h2>"What fills the corners"</h2>
            <p>"Turn a photo and its corners come from outside it. grid_sample's padding_mode says what is there: zeros (black), \
                border (the edge pixel repeated outwards) or reflection (the photo mirrored at its edges). The lesson shows all \
                three and says that reflection is nearly always best, which is why it is fastai's default: the corners look \
                like more of the scene, not like a frame that the model could learn to look for."</p>
            <div class="controls">{number_input(&ANGLE, angle, "Rotate by (degrees) ", "angle")}</div>
            <div class="images">
                {canvases.into_iter().zip(PaddingMode::LESSON).map(|(canvas, mode)| view! {
                    <figure>
                        <canvas node_ref=canvas data-testid=format!("fill-{}", mode.name())></canvas>
                        <figcaption>{format!("padding_mode=\"{}\"", mode.name())}</figcaption>
                    </figure>
                }).collect_view()}
            </div>
            {move || rotated.get().flatten().and_then(Result::err).or(draw_error.get()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}

/// Which transforms keep a label true, on a handwritten 6 and on a pet photo.
#[component]
fn LabelTruth() -> impl IntoView {
    let digits = LocalResource::new(load_digits);
    let checks = label_checks();
    let canvases: Vec<NodeRef<Canvas>> = (0..=checks.len()).map(|_| NodeRef::new()).collect();
    let six = Signal::derive(move || digits.get().map(|d| d.and_then(|d| six(&d))));
    let draw_error = RwSignal::new(None::<String>);
    let mounted = canvases.clone();
    Effect::new(move || {
        if let Some(Ok((original, moved))) = six.get() {
            draw_error.set(draw_each(&mounted, std::iter::once(original).chain(moved)));
        }
    });
    view! {
        <section class="label-truth">
            <h2>"Which transforms keep the label true"</h2>
            <p>"An augmentation must leave the label right: the model is told the moved image is still a cat, or still a 6. \
                Whether it is depends on the data, which is why get_transforms has settings."</p>
            <figure class="digit"><canvas node_ref=canvas_at(&canvases, 0) data-testid="six"></canvas><figcaption>"A 6 from the digits"</figcaption></figure>
            <table data-testid="label-table">
                <thead><tr><th scope="col">"transform"</th><th scope="col">"the 6"</th><th scope="col">"still a 6?"</th><th scope="col">"a photo of a pet"</th></tr></thead>
                <tbody>
                    {checks.into_iter().enumerate().map(|(k, check)| view! {
                        <tr data-testid=format!("label-{k}")>
                            <th scope="row">{check.name}</th>
                            <td><canvas node_ref=canvas_at(&canvases, k + 1) class="digit"></canvas></td>
                            <td class=if check.digit_keeps { "keeps" } else { "breaks" }>{check.digit}</td>
                            <td>{check.pet}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            {move || six.get().and_then(Result::err).or(draw_error.get()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}

fn canvas_at(canvases: &[NodeRef<Canvas>], k: usize) -> NodeRef<Canvas> {
    canvases[k]
}

/// Augmentation's effect, measured here: the shapes CNN on a few training shapes, without and with the settings
/// above, over several seeds.
#[component]
fn Effect(transforms: Memo<Transforms>) -> impl IntoView {
    let training = Training::default();
    let results = RwSignal::new(Vec::<(String, f32)>::new());
    let sets = StoredValue::new_local(None::<Rc<(ImageSet, ImageSet)>>);
    let start: StartJob = Rc::new(move |device: Device| {
        results.set(Vec::new());
        // The shapes are generated once per page, when a run first trains here (never for a run in the worker),
        // and the page gets its turns while they are drawn.
        let on_end = move |label: &str, accuracy: f32| results.update(|r| r.push((label.to_string(), accuracy)));
        let t = transforms.get_untracked();
        let recipe = effect_recipe(&t);
        let runs = move || async move {
            let built = match sets.with_value(|s| s.clone()) {
                Some(built) => built,
                None => {
                    let built = Rc::new(shapes_sets_in_turns().await);
                    sets.set_value(Some(built.clone()));
                    built
                }
            };
            comparison_runs(&device, &built, &t, EPOCHS)
        };
        Started::portable(Rc::new(RefCell::new(Sequence::lazy(runs, on_end))), recipe)
    });
    let runs = COMPARISON_SEEDS.len() * 2;
    let total_steps = TRAIN_ITEMS.div_ceil(BATCH) * EPOCHS * runs;
    view! {
        <section class="effect">
            <h2>"Does it help? Measure it"</h2>
            <p>{format!(
                "The shapes CNN trained on only {TRAIN_ITEMS} shapes, {EPOCHS} epochs, and validated on {VALID_ITEMS} others: \
                 without augmentation, and with the settings above (each batch drawn afresh), with seeds {} each (the seed draws \
                 the weights, the batches and the augmentations), {runs} runs one after another. With so few images a model can \
                 learn them by heart; augmentation shows it each one a little differently every time.",
                COMPARISON_SEEDS.map(|s| s.to_string()).join(", ")
            )}</p>
            <SeedRuns training start total_steps results seeds=&COMPARISON_SEEDS verdict=comparison_text metric="accuracy" testid="augment"/>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo() -> Tensor {
        // A smooth 3-channel test image, 24 by 32, values in (0, 1).
        Tensor::from_fn([1, 3, 24, 32], |i| 0.5 + 0.4 * ((i as f32) * 0.37).sin())
    }

    #[test]
    fn the_worker_reads_the_transforms_the_page_sent() {
        let t = Transforms { do_flip: false, max_rotate: 37.0, max_zoom: 1.35, max_lighting: 0.05, max_warp: 0.3, p_affine: 0.6, p_lighting: 0.15, padding: PaddingMode::Border };
        let r = engine::safetensors::File::from_bytes(&effect_recipe(&t).to_bytes()).unwrap();
        assert_eq!(r.meta(crate::worker::JOB), Some(EFFECT_JOB));
        assert_eq!(transforms_of(&r).unwrap(), t);
        assert_eq!(transforms_of(&effect_recipe(&Transforms::default())).unwrap(), Transforms::default());
    }

    #[test]
    fn every_setting_gives_a_grid_numbers_and_a_panel_without_a_panic() {
        let photo = photo();
        for padding in PADDING.samples() {
            for (k, rotate) in [0, 10, 180].into_iter().enumerate() {
                for zoom in ZOOM.samples() {
                    let transforms = Transforms {
                        max_rotate: rotate as f32,
                        max_zoom: zoom,
                        padding,
                        do_flip: k != 1,
                        max_warp: WARP.samples()[k + zoom as usize],
                        max_lighting: LIGHTING.samples()[5 - k],
                        p_affine: P_AFFINE.samples()[k + 1],
                        p_lighting: P_LIGHTING.samples()[4 - k],
                    };
                    let state = State { transforms, seed: k as u32, pick: k * 5, cell: (23, 31), ..State::default() };
                    let grid = state.grid(&photo).unwrap();
                    assert_eq!(grid.shape().dims(), [GRID, 3, 24, 32]);
                    assert!(grid.data().iter().all(|v| (0.0..=1.0).contains(v)));
                    let numbers = state.numbers(&photo).unwrap();
                    assert_eq!(numbers.output, pixel(&grid, state.pick, state.cell) as f64, "the panel's image is the grid's");
                    assert!(state.pytorch((24, 32)).contains(&format!("padding_mode=\"{}\"", padding.name())));
                    assert_eq!(state.fill_modes(&photo).unwrap().len(), 3);
                }
            }
        }
        // A pixel outside the image is refused in words, not a panic.
        let outside = State { cell: (100, 0), ..State::default() };
        assert!(outside.numbers(&photo).unwrap_err().contains("outside"));
    }

    #[test]
    fn the_taps_sum_to_the_warped_pixel_and_the_lines_say_what_was_drawn() {
        let photo = photo();
        for pick in 0..GRID {
            let state = State { transforms: notebook_transforms(), seed: 3, pick, cell: (5, 7), ..State::default() };
            let (moved, _) = state.picked(&photo).unwrap();
            let taps = state.taps(&photo).unwrap();
            let sum: f32 = taps.iter().map(|&(_, w, v)| w * v).sum();
            assert!((sum - pixel(&moved, 0, (5, 7))).abs() < 1e-5, "draw {pick}: {sum} against {}", pixel(&moved, 0, (5, 7)));
            // p_affine = p_lighting = 1: every draw warps, turns, zooms and lights.
            let lines = State::drawn_lines(&state.draws()[pick]);
            for word in ["perspective warp", "rotate", "zoom", "brightness", "contrast"] {
                assert!(lines.iter().any(|l| l.starts_with(word)), "{lines:?}");
            }
        }
        let nothing = State { transforms: Transforms::none(), ..State::default() };
        assert_eq!(State::drawn_lines(&nothing.draws()[0]), ["nothing was drawn: this one is the photo as it is"]);
        // Nothing drawn: the photo itself (the identity warp reads each pixel at its own centre).
        let lit = nothing.picked(&photo).unwrap().1;
        let largest = lit.data().iter().zip(photo.data()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(largest < 1e-5, "{largest}");
    }

    #[test]
    fn rotated_corners_are_black_with_zeros_and_photo_with_reflection() {
        let photo = photo();
        let state = State { angle: 30, ..State::default() };
        let ops = state.fill_modes(&photo).unwrap();
        let corner = |t: &Tensor| pixel(t, 0, (0, 0));
        let zeros = ops[0].forward(&photo).unwrap();
        let reflection = ops[2].forward(&photo).unwrap();
        assert_eq!(corner(&zeros), 0.0);
        assert!(corner(&reflection) > 0.05, "reflection fills the corner with the photo: {}", corner(&reflection));
    }

    #[test]
    fn a_flipped_six_differs_and_a_turned_six_is_a_nine_shaped_copy() {
        let digits = engine::data::digits::parse(include_bytes!("../../../public/data/digits_u8.bin")).unwrap();
        let (original, moved) = six(&digits).unwrap();
        assert_eq!(moved.len(), label_checks().len());
        let flip = &moved[0];
        let (o, f) = (original.data(), flip.data());
        for y in 0..8 {
            for x in 0..8 {
                assert!((f[y * 8 + x] - o[y * 8 + 7 - x]).abs() < 1e-5, "the flip mirrors the columns");
            }
        }
        let turned = &moved[2].data();
        for i in 0..64 {
            assert!((turned[i] - o[63 - i]).abs() < 1e-4, "a half turn reads each pixel from its opposite");
        }
    }

    #[test]
    fn the_comparison_alternates_settings_over_the_seeds_and_says_what_it_measured() {
        let sets = shapes_sets();
        assert_eq!((sets.0.labels.len(), sets.1.labels.len()), (TRAIN_ITEMS, VALID_ITEMS));
        let runs = comparison_runs(&Device::Cpu, &sets, &Transforms::default(), 1).unwrap();
        let labels: Vec<&str> = runs.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["no augmentation", "augmentation"].repeat(3));
        let results = Rc::new(RefCell::new(Vec::new()));
        let sink = results.clone();
        // As the page starts it: built at its first step.
        let mut sequence = Sequence::lazy(move || async { Ok(runs) }, move |label: &str, accuracy: f32| sink.borrow_mut().push((label.to_string(), accuracy)));
        assert!(!sequence.finished());
        while !sequence.finished() {
            if pollster::block_on(sequence.step()).unwrap().epoch_done {
                while pollster::block_on(sequence.evaluate(0.0)).unwrap().is_none() {}
            }
        }
        assert_eq!(sequence.total_steps(), TRAIN_ITEMS.div_ceil(BATCH) * 6);
        // One that cannot be built says why at its first step; one trained in the worker only hears its results.
        let mut refused = Sequence::<Sequential, Augmented>::lazy(|| async { Err("no shapes here".into()) }, |_: &str, _: f32| {});
        assert!(pollster::block_on(refused.step()).unwrap_err().to_string().contains("no shapes here"));
        let heard = Rc::new(RefCell::new(Vec::new()));
        let ear = heard.clone();
        let mut remote = Sequence::<Sequential, Augmented>::lazy(|| async { panic!("built on the page") }, move |label: &str, a: f32| ear.borrow_mut().push((label.to_string(), a)));
        remote.run_ended("augmentation", 0.75);
        assert_eq!(*heard.borrow(), [("augmentation".to_string(), 0.75)]);
        let results = results.borrow().clone();
        assert_eq!(results.len(), 6);
        assert!(results.iter().all(|&(_, a)| (0.0..=1.0).contains(&a)), "{results:?}");
        let text = comparison_text(&results);
        assert!(text.starts_with("Validation accuracy, mean over 3 and 3 seeds:"), "{text}");
        let made_up = |a: f32, b: f32| vec![("no augmentation".to_string(), a), ("augmentation".to_string(), b), ("no augmentation".to_string(), a + 0.01), ("augmentation".to_string(), b + 0.01)];
        assert!(comparison_text(&made_up(0.40, 0.60)).contains("augmentation ends 0.2000 higher"));
        assert!(comparison_text(&made_up(0.40, 0.405)).contains("lost in"));
    }
}
