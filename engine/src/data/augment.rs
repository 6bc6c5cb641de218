//! Data augmentation as fastai 1's `get_transforms()` draws it: each training image, each time it is used, moved
//! by a random flip, perspective warp, rotation and zoom, and lit by a random brightness and contrast, so that the
//! model learns from more than its data.
//!
//! The moves combine into one 3x3 matrix per image, which the [`Warp`] op applies with bilinear sampling (the
//! pixels it needs from outside the image come from the padding, reflection by default, as fastai's). In fastai 1's
//! order (the warp of the coordinates first, then the affine matrix `rotate @ zoom` applied to them, then the flip
//! of the finished image), output pixel `p` reads the input at
//!
//! ```text
//! M · p,  M = (rotate · zoom) · warp · flip        (each the identity when not drawn; the off-diagonal terms of
//!                                                   rotate · zoom scaled by h/w and w/h, as fastai's `_affine_mult`
//!                                                   does, so that a turn of a wide image stays a turn)
//! flip    [−1 0 0; 0 1 0; 0 0 1], probability 0.5 (fastai's `flip_lr`)
//! warp    the homography taking the corners (−1−m₃, −1−m₁), (−1−m₂, 1+m₁), (1+m₃, −1−m₀), (1+m₂, 1+m₀) back to
//!         (±1, ±1), m uniform in [−0.2, 0.2] (`symmetric_warp`)
//! rotate  [cos θ −sin θ 0; sin θ cos θ 0; 0 0 1], θ uniform in [−10°, 10°]
//! zoom    [1/s 0 c; 0 1/s r; 0 0 1], s uniform in [1, 1.1], c = (1 − 1/s)(2·col_pct − 1), r likewise, the focus
//!         (row_pct, col_pct) uniform in [0, 1] (`rand_zoom`)
//! ```
//!
//! each of warp, rotate and zoom drawn with probability 0.75 (`p_affine`). Lighting works on the logit of each pixel
//! value in [0, 1] (clamped to [1e−7, 1 − 1e−7]): brightness adds `logit(change)`, change uniform in [0.4, 0.6];
//! contrast multiplies by a scale drawn log-uniformly in [0.8, 1.25]; each with probability 0.75 (`p_lighting`).

use super::{Dataset, ImageSet, Targets, gather_rows, normalize};
use crate::device::Device;
use crate::error::{ErrorKind, OpError, Result};
use crate::indices::Indices;
use crate::ops::Unary;
use crate::ops::warp::{MAX_IMAGES, Warp};
use crate::padding::PaddingMode;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// The settings of `get_transforms`, with fastai 1's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Transforms {
    /// Flip left to right, with probability 0.5.
    pub do_flip: bool,
    /// The largest rotation, in degrees either way.
    pub max_rotate: f32,
    /// The largest zoom (1: none).
    pub max_zoom: f32,
    /// How far brightness and contrast may move (0: not at all).
    pub max_lighting: f32,
    /// How far each corner of the perspective warp may move, in the image's −1…1 coordinates.
    pub max_warp: f32,
    /// The probability of each of warp, rotation and zoom.
    pub p_affine: f32,
    /// The probability of each of brightness and contrast.
    pub p_lighting: f32,
    /// What the pixels from outside the image are.
    pub padding: PaddingMode,
}

impl Transforms {
    /// Nothing drawn: every image as it is (a validation set's path).
    pub fn none() -> Transforms {
        Transforms { do_flip: false, max_rotate: 0.0, max_zoom: 1.0, max_lighting: 0.0, max_warp: 0.0, ..Transforms::default() }
    }
}

impl Default for Transforms {
    /// `get_transforms()`: flip, 10°, 1.1, 0.2, 0.2, 0.75, 0.75, and fastai's reflection padding.
    fn default() -> Self {
        Transforms { do_flip: true, max_rotate: 10.0, max_zoom: 1.1, max_lighting: 0.2, max_warp: 0.2, p_affine: 0.75, p_lighting: 0.75, padding: PaddingMode::Reflection }
    }
}

/// What was drawn for one image: each transform's parameters, or `None` where it was not drawn.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Drawn {
    /// Flipped left to right.
    pub flip: bool,
    /// The warp's four corner moves `m`.
    pub warp: Option<[f32; 4]>,
    /// The rotation, in degrees.
    pub rotate: Option<f32>,
    /// The zoom `s` and its focus `(row_pct, col_pct)`.
    pub zoom: Option<(f32, f32, f32)>,
    /// Brightness: the `change` whose logit is added (0.5 changes nothing).
    pub brightness: Option<f32>,
    /// Contrast: the scale of the logits.
    pub contrast: Option<f32>,
}

type Matrix = [f32; 9];

const IDENTITY: Matrix = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];

fn multiply(a: &Matrix, b: &Matrix) -> Matrix {
    std::array::from_fn(|k| {
        let (r, c) = (k / 3, k % 3);
        (0..3).map(|i| a[r * 3 + i] * b[i * 3 + c]).sum()
    })
}

/// The rotation by `degrees` (fastai's `_rotate`).
pub fn rotation(degrees: f32) -> Matrix {
    let (s, c) = degrees.to_radians().sin_cos();
    [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0]
}

/// The zoom by `scale` about the focus `(row_pct, col_pct)` (fastai's `_zoom`).
pub fn zoom(scale: f32, row_pct: f32, col_pct: f32) -> Matrix {
    let s = 1.0 - 1.0 / scale;
    [1.0 / scale, 0.0, s * (2.0 * col_pct - 1.0), 0.0, 1.0 / scale, s * (2.0 * row_pct - 1.0), 0.0, 0.0, 1.0]
}

/// The homography taking each of `from` to the matching point of `to` (fastai's `_find_coeffs`: the eight unknowns
/// of `[a b c; d e f; g h 1]` from four point pairs, by Gaussian elimination with partial pivoting). `None` when
/// the points are degenerate (three in a line).
pub fn homography(from: [[f32; 2]; 4], to: [[f32; 2]; 4]) -> Option<Matrix> {
    let mut rows = [[0.0f64; 9]; 8];
    for (k, (p, q)) in from.iter().zip(&to).enumerate() {
        let (x, y, u, v) = (p[0] as f64, p[1] as f64, q[0] as f64, q[1] as f64);
        rows[2 * k] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        rows[2 * k + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for col in 0..8 {
        let pivot = (col..8).max_by(|&a, &b| rows[a][col].abs().total_cmp(&rows[b][col].abs()))?;
        if rows[pivot][col].abs() < 1e-12 {
            return None;
        }
        rows.swap(col, pivot);
        let pivot_row = rows[col];
        for (r, row) in rows.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (value, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *value -= f * p;
                }
            }
        }
    }
    let h: Vec<f32> = (0..8).map(|r| (rows[r][8] / rows[r][r]) as f32).collect();
    Some([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0])
}

/// fastai's `symmetric_warp` of magnitudes `m`: the homography from the moved corners back to the image's.
pub fn symmetric_warp(m: [f32; 4]) -> Matrix {
    let corners = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]];
    let moved = [[-1.0 - m[3], -1.0 - m[1]], [-1.0 - m[2], 1.0 + m[1]], [1.0 + m[3], -1.0 - m[0]], [1.0 + m[2], 1.0 + m[0]]];
    homography(moved, corners).unwrap_or(IDENTITY)
}

/// The flip left to right.
pub const FLIP: Matrix = [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];

fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-7, 1.0 - 1e-7);
    (p / (1.0 - p)).ln()
}

impl Transforms {
    /// Draws one image's transforms from `rng`, each with its probability.
    pub fn draw(&self, rng: &mut Rng) -> Drawn {
        let flip = self.do_flip && rng.uniform() < 0.5;
        let warp = (self.max_warp > 0.0 && rng.uniform() < self.p_affine).then(|| std::array::from_fn(|_| self.max_warp * (2.0 * rng.uniform() - 1.0)));
        let rotate = (self.max_rotate > 0.0 && rng.uniform() < self.p_affine).then(|| self.max_rotate * (2.0 * rng.uniform() - 1.0));
        let zoom = (self.max_zoom > 1.0 && rng.uniform() < self.p_affine).then(|| (1.0 + (self.max_zoom - 1.0) * rng.uniform(), rng.uniform(), rng.uniform()));
        let lighting = self.max_lighting > 0.0;
        let brightness = (lighting && rng.uniform() < self.p_lighting).then(|| 0.5 * (1.0 - self.max_lighting) + self.max_lighting * rng.uniform());
        let contrast = (lighting && rng.uniform() < self.p_lighting).then(|| {
            // log-uniform in [1 − max, 1/(1 − max)]
            let (low, high) = ((1.0 - self.max_lighting).ln(), -(1.0 - self.max_lighting).ln());
            (low + (high - low) * rng.uniform()).exp()
        });
        Drawn { flip, warp, rotate, zoom, brightness, contrast }
    }
}

impl Drawn {
    /// The one matrix of the drawn moves for an image `height` by `width`: `(rotate · zoom) · warp · flip`.
    pub fn matrix(&self, height: usize, width: usize) -> Matrix {
        let mut m = IDENTITY;
        if let Some(degrees) = self.rotate {
            m = multiply(&m, &rotation(degrees));
        }
        if let Some((s, row, col)) = self.zoom {
            m = multiply(&m, &zoom(s, row, col));
        }
        m[1] *= height as f32 / width.max(1) as f32;
        m[3] *= width as f32 / height.max(1) as f32;
        if let Some(w) = self.warp {
            m = multiply(&m, &symmetric_warp(w));
        }
        if self.flip {
            m = multiply(&m, &FLIP);
        }
        m
    }

    /// A pixel value in [0, 1] after the drawn brightness and contrast, worked on its logit.
    pub fn light(&self, value: f32) -> f32 {
        if self.brightness.is_none() && self.contrast.is_none() {
            return value;
        }
        let mut z = logit(value);
        if let Some(change) = self.brightness {
            z += logit(change);
        }
        if let Some(scale) = self.contrast {
            z *= scale;
        }
        1.0 / (1.0 + (-z).exp())
    }
}

/// `images [N, C, H, W]` on the CPU (values in [0, 1], as the datasets hold them, before they go to a device)
/// moved and lit as `drawn` says, one draw per image, with `padding` for the pixels from outside. At most
/// [`MAX_IMAGES`] images at a time.
pub fn augment(images: &Tensor, drawn: &[Drawn], padding: PaddingMode) -> Result<Tensor> {
    if images.device() != Device::Cpu {
        return Err(OpError::new("augment", ErrorKind::Value, "the images are not on the CPU")
            .expected("images from a dataset, before they go to a device")
            .given(images.device().label())
            .hint("augment a batch before moving it to the GPU")
            .into());
    }
    if !drawn.is_empty() && drawn.iter().all(|d| *d == Drawn::default()) && images.shape().dims().first() == Some(&drawn.len()) {
        // Nothing drawn (a validation set's path): the images as they are, without resampling them.
        return Ok(images.clone());
    }
    let dims = images.shape().dims().to_vec();
    let size = [dims.get(2).copied().unwrap_or(0), dims.get(3).copied().unwrap_or(0)];
    let op = Warp::new(images.shape(), drawn.iter().map(|d| d.matrix(size[0], size[1])).collect(), size, padding, false)?;
    light(&op.forward(images)?, drawn)
}

/// `moved [N, …]` on the CPU (the warped images, values in [0, 1]) lit by each image's drawn brightness and
/// contrast: the second half of [`augment`], for a page that warps on its GPU and reads the result back.
pub fn light(moved: &Tensor, drawn: &[Drawn]) -> Result<Tensor> {
    if drawn.iter().all(|d| d.brightness.is_none() && d.contrast.is_none()) {
        return Ok(moved.clone());
    }
    let per_image = moved.shape().numel() / drawn.len().max(1);
    let lit: Vec<f32> = moved.data().iter().enumerate().map(|(i, &v)| drawn[(i / per_image).min(drawn.len() - 1)].light(v)).collect();
    Tensor::new(moved.shape().clone(), lit)
}

/// A training set augmented afresh each time a batch is drawn: its raw images (values in [0, 1]) moved and lit by
/// a new draw of `transforms` for each image, then normalised with the training set's `stats` and sent to the
/// device. The draws come from one seeded generator, in the order batches are drawn.
pub struct Augmented {
    /// The raw images and their labels.
    pub raw: ImageSet,
    /// Each channel's training mean and standard deviation, applied after augmenting.
    pub stats: Vec<(f32, f32)>,
    /// What is drawn.
    pub transforms: Transforms,
    rng: std::cell::RefCell<Rng>,
}

impl Augmented {
    /// `raw` (on the CPU, `[N, C, H, W]`, one `(mean, std)` per channel in `stats`) augmented with `transforms`,
    /// drawn from `seed`.
    pub fn new(raw: ImageSet, stats: Vec<(f32, f32)>, transforms: Transforms, seed: u64) -> Result<Augmented> {
        let dims = raw.images.shape().dims().to_vec();
        if dims.len() != 4 || raw.images.shape().numel() == 0 || dims[1] != stats.len() || raw.images.device() != Device::Cpu {
            return Err(OpError::new("augment", ErrorKind::Shape, "the images cannot be augmented")
                .expected("images [N, C, H, W] on the CPU, and a mean and standard deviation per channel")
                .given(format!("images {} on {}, {} channel statistics", raw.images.shape(), raw.images.device().label(), stats.len()))
                .hint("augment the raw images of a dataset, with its training statistics")
                .into());
        }
        Ok(Augmented { raw, stats, transforms, rng: std::cell::RefCell::new(Rng::new(seed)) })
    }
}

impl Dataset for Augmented {
    type Input = Tensor;

    fn len(&self) -> usize {
        self.raw.labels.len()
    }

    fn batch(&self, device: &Device, items: &[usize]) -> (Tensor, Targets) {
        let raw = gather_rows(&self.raw.images, items);
        let draws: Vec<Drawn> = {
            let mut rng = self.rng.borrow_mut();
            items.iter().map(|_| self.transforms.draw(&mut rng)).collect()
        };
        let mut values = Vec::with_capacity(raw.shape().numel());
        for (k, part) in draws.chunks(MAX_IMAGES).enumerate() {
            let rows: Vec<usize> = (k * MAX_IMAGES..k * MAX_IMAGES + part.len()).collect();
            let moved = augment(&gather_rows(&raw, &rows), part, self.transforms.padding).expect("Augmented::new checked the images");
            values.extend_from_slice(moved.data());
        }
        let moved = Tensor::new(raw.shape().clone(), values).expect("as many values as the batch");
        let x = normalize(&moved, &self.stats).to(device);
        (x, Targets::Classes(Indices::vector(items.iter().map(|&i| self.raw.labels[i]).collect())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(m: &Matrix, p: [f32; 2]) -> [f32; 2] {
        let w = m[6] * p[0] + m[7] * p[1] + m[8];
        [(m[0] * p[0] + m[1] * p[1] + m[2]) / w, (m[3] * p[0] + m[4] * p[1] + m[5]) / w]
    }

    #[test]
    fn the_defaults_are_get_transforms_s() {
        let t = Transforms::default();
        assert!(t.do_flip && t.max_rotate == 10.0 && t.max_zoom == 1.1 && t.max_lighting == 0.2 && t.max_warp == 0.2);
        assert!(t.p_affine == 0.75 && t.p_lighting == 0.75 && t.padding == PaddingMode::Reflection);
    }

    #[test]
    fn the_matrices_follow_fastai_s_formulas() {
        let r = rotation(90.0);
        assert!(apply(&r, [1.0, 0.0]).iter().zip([0.0, 1.0]).all(|(a, b)| (a - b).abs() < 1e-6), "x goes to y");
        // A zoom of 2 about the top-left corner reads the top-left quarter: the output's corners come from −1 and 0.
        let z = zoom(2.0, 0.0, 0.0);
        assert_eq!(apply(&z, [-1.0, -1.0]), [-1.0, -1.0]);
        assert_eq!(apply(&z, [1.0, 1.0]), [0.0, 0.0]);
        // The warp takes each moved corner back to the image's corner.
        let m = [0.1, -0.2, 0.05, 0.15];
        let h = symmetric_warp(m);
        let moved = [[-1.0 - m[3], -1.0 - m[1]], [-1.0 - m[2], 1.0 + m[1]], [1.0 + m[3], -1.0 - m[0]], [1.0 + m[2], 1.0 + m[0]]];
        for (from, to) in moved.iter().zip([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]) {
            let got = apply(&h, *from);
            assert!((got[0] - to[0]).abs() < 1e-5 && (got[1] - to[1]).abs() < 1e-5, "{from:?} → {got:?}");
        }
        assert_eq!(symmetric_warp([0.0; 4]), IDENTITY);
        // fastai's order: rotate @ zoom, then the flip of the output; a wide image's turn is corrected for its shape.
        let drawn = Drawn { flip: true, rotate: Some(30.0), zoom: Some((1.1, 0.2, 0.7)), ..Drawn::default() };
        let mut expected = multiply(&rotation(30.0), &zoom(1.1, 0.2, 0.7));
        let square = multiply(&expected, &FLIP);
        assert!(drawn.matrix(8, 8).iter().zip(&square).all(|(a, b)| (a - b).abs() < 1e-6));
        expected[1] *= 0.5;
        expected[3] *= 2.0;
        let wide = multiply(&expected, &FLIP);
        assert!(drawn.matrix(4, 8).iter().zip(&wide).all(|(a, b)| (a - b).abs() < 1e-6));
        assert!(homography([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], [[0.0, 0.0]; 4]).is_none(), "points in a line");
    }

    #[test]
    fn draws_follow_the_probabilities_and_ranges() {
        let t = Transforms::default();
        let mut rng = Rng::new(5);
        let draws: Vec<Drawn> = (0..4000).map(|_| t.draw(&mut rng)).collect();
        let share = |f: &dyn Fn(&Drawn) -> bool| draws.iter().filter(|d| f(d)).count() as f32 / draws.len() as f32;
        assert!((share(&|d| d.flip) - 0.5).abs() < 0.03);
        for f in [&(|d: &Drawn| d.rotate.is_some()) as &dyn Fn(&Drawn) -> bool, &|d| d.zoom.is_some(), &|d| d.warp.is_some(), &|d| d.brightness.is_some(), &|d| d.contrast.is_some()] {
            assert!((share(f) - 0.75).abs() < 0.03);
        }
        for d in &draws {
            assert!(d.rotate.is_none_or(|r| r.abs() <= 10.0));
            assert!(d.zoom.is_none_or(|(s, r, c)| (1.0..=1.1).contains(&s) && (0.0..=1.0).contains(&r) && (0.0..=1.0).contains(&c)));
            assert!(d.warp.is_none_or(|w| w.iter().all(|m| m.abs() <= 0.2)));
            assert!(d.brightness.is_none_or(|b| (0.4..=0.6).contains(&b)));
            assert!(d.contrast.is_none_or(|c| (0.8 - 1e-6..=1.25 + 1e-6).contains(&c)));
        }
        assert_eq!(Transforms::none().draw(&mut rng), Drawn::default());
    }

    #[test]
    fn lighting_works_on_logits_and_the_identity_changes_nothing() {
        let bright = Drawn { brightness: Some(0.6), ..Drawn::default() };
        // sigmoid(logit(0.3) + logit(0.6)) = 0.3·0.6 / (0.3·0.6 + 0.7·0.4) = 0.18 / 0.46
        assert!((bright.light(0.3) - 0.18 / 0.46).abs() < 1e-6);
        assert!((Drawn { brightness: Some(0.5), contrast: Some(1.0), ..Drawn::default() }.light(0.3) - 0.3).abs() < 1e-6);
        let contrast = Drawn { contrast: Some(1.25), ..Drawn::default() };
        assert!(contrast.light(0.8) > 0.8 && contrast.light(0.2) < 0.2 && (contrast.light(0.5) - 0.5).abs() < 1e-6);

        let x = Tensor::new([2, 1, 2, 3], vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]).unwrap();
        let out = augment(&x, &[Drawn::default(), Drawn { flip: true, ..bright.clone() }], PaddingMode::Reflection).unwrap();
        assert!(out.data()[..6].iter().zip(&x.data()[..6]).all(|(a, b)| (a - b).abs() < 1e-6), "nothing drawn, nothing changed");
        let expected: Vec<f32> = [0.3, 0.2, 0.1, 0.6, 0.5, 0.4].iter().map(|&v| bright.light(v)).collect();
        assert!(out.data()[6..].iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-5), "{:?}", out.data());
        assert!(augment(&x, &[Drawn::default()], PaddingMode::Zeros).is_err(), "one draw per image");
    }

    #[test]
    fn an_augmented_set_draws_afresh_for_every_batch_and_normalises_after() {
        let (set, _) = crate::data::shapes::generate(40, 3);
        let stats = set.channel_stats();
        let augmented = Augmented::new(set.clone(), stats.clone(), Transforms::default(), 9).unwrap();
        let items: Vec<usize> = (0..40).collect();
        let (a, targets) = augmented.batch(&Device::Cpu, &items);
        let (b, _) = augmented.batch(&Device::Cpu, &items);
        assert_eq!(a.shape(), set.images.shape());
        assert_ne!(a.data(), b.data(), "each batch is a new draw");
        let Targets::Classes(labels) = targets else { panic!("classes") };
        assert_eq!(labels.values(), &set.labels[..]);
        // With nothing drawn, a batch is the normalised set itself.
        let (plain, _) = Augmented::new(set.clone(), stats.clone(), Transforms::none(), 9).unwrap().batch(&Device::Cpu, &items);
        let normalised = set.normalized(&stats);
        assert!(plain.data().iter().zip(normalised.images.data()).all(|(p, q)| (p - q).abs() < 1e-5));
        assert!(Augmented::new(set, vec![], Transforms::default(), 1).is_err(), "one statistic per channel");
    }
}
