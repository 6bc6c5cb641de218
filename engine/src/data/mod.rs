//! Datasets that ship with the sandbox (no downloads), and what turns them into batches: seeded train/validation
//! splits, normalisation with training statistics, vocabularies built from training data.

pub mod augment;
pub mod dates;
pub mod digits;
pub mod rossmann;
pub mod shapes;
pub mod table;

use crate::device::Device;
use crate::indices::Indices;
use crate::nn::TabularInput;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// The labels of a batch.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Class numbers, one per item.
    Classes(Indices),
    /// Values `[N, 1]` for a regression.
    Values(Tensor),
}

/// A dataset the learner batches.
pub trait Dataset {
    /// What the model reads.
    type Input;

    /// How many items.
    fn len(&self) -> usize;

    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The given items as one batch, on `device`.
    fn batch(&self, device: &Device, items: &[usize]) -> (Self::Input, Targets);
}

/// A seeded random split of `n` items: `(train, valid)` with `valid_pct` of them in validation (fastai's
/// `RandomSplitter`).
pub fn random_split(n: usize, valid_pct: f32, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut order, &mut Rng::new(seed));
    let n_valid = ((n as f32) * valid_pct).round() as usize;
    let valid = order.split_off(n - n_valid.min(n));
    (order, valid)
}

/// Fisher–Yates shuffle.
pub fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

/// Labelled images `[N, C, H, W]`, normalised per channel.
#[derive(Clone, Debug)]
pub struct ImageSet {
    /// The images.
    pub images: Tensor,
    /// One class per image.
    pub labels: Vec<i64>,
    /// The class names.
    pub classes: Vec<String>,
}

impl ImageSet {
    /// Items `items` as their own set.
    pub fn subset(&self, items: &[usize]) -> ImageSet {
        ImageSet { images: gather_rows(&self.images, items), labels: items.iter().map(|&i| self.labels[i]).collect(), classes: self.classes.clone() }
    }

    /// The per-channel mean and standard deviation.
    pub fn channel_stats(&self) -> Vec<(f32, f32)> {
        let dims = self.images.shape().dims();
        let (n, c, plane) = (dims[0], dims[1], dims[2] * dims[3]);
        (0..c)
            .map(|ch| {
                let values = (0..n).flat_map(|i| self.images.data()[(i * c + ch) * plane..(i * c + ch + 1) * plane].iter());
                mean_std(values.copied())
            })
            .collect()
    }

    /// Normalised with `stats` (from the training set): `(x − mean) / std` per channel.
    pub fn normalized(&self, stats: &[(f32, f32)]) -> ImageSet {
        ImageSet { images: normalize(&self.images, stats), ..self.clone() }
    }

    /// A seeded split into training and validation sets, as they are (a fifth held out for `valid_pct` 0.2).
    pub fn split_raw(&self, valid_pct: f32, seed: u64) -> (ImageSet, ImageSet) {
        let (train, valid) = random_split(self.labels.len(), valid_pct, seed);
        (self.subset(&train), self.subset(&valid))
    }

    /// A seeded split into normalised training and validation sets (statistics from the training items only).
    pub fn split(&self, valid_pct: f32, seed: u64) -> (ImageSet, ImageSet) {
        let (train, valid) = self.split_raw(valid_pct, seed);
        let stats = train.channel_stats();
        (train.normalized(&stats), valid.normalized(&stats))
    }
}

impl Dataset for ImageSet {
    type Input = Tensor;

    fn len(&self) -> usize {
        self.labels.len()
    }

    fn batch(&self, device: &Device, items: &[usize]) -> (Tensor, Targets) {
        let x = gather_rows(&self.images, items).to(device);
        (x, Targets::Classes(Indices::vector(items.iter().map(|&i| self.labels[i]).collect())))
    }
}

/// A table ready for a tabular model: categorical columns as vocabulary indices, continuous ones normalised.
#[derive(Clone, Debug, PartialEq)]
pub struct TabularSet {
    /// The categorical columns' names.
    pub cat_names: Vec<String>,
    /// Each categorical column's vocabulary; index 0 is `#na#`.
    pub vocabs: Vec<Vec<String>>,
    /// The continuous columns' names.
    pub cont_names: Vec<String>,
    /// Categorical values, row-major `[rows, cat columns]`.
    pub cats: Vec<i64>,
    /// Continuous values, row-major `[rows, cont columns]`.
    pub conts: Vec<f32>,
    /// The target of each row: a class number, or a value (for a regression).
    pub targets: TabularTargets,
    /// `FillMissing`: each continuous column that had missing training values, with the training median that
    /// filled them (its `<name>_na` column is among the categorical ones).
    pub filled: Vec<(String, f32)>,
    /// `Normalize`: each continuous column's training mean and standard deviation, `(x − mean) / std`.
    pub stats: Vec<(f32, f32)>,
}

/// What a table predicts.
#[derive(Clone, Debug, PartialEq)]
pub enum TabularTargets {
    /// A class per row, with the class names.
    Classes(Vec<i64>, Vec<String>),
    /// A value per row.
    Values(Vec<f32>),
}

impl TabularSet {
    /// How many rows.
    pub fn rows(&self) -> usize {
        match &self.targets {
            TabularTargets::Classes(c, _) => c.len(),
            TabularTargets::Values(v) => v.len(),
        }
    }

    /// Values per categorical column, `#na#` included: the embedding tables' sizes.
    pub fn cardinalities(&self) -> Vec<usize> {
        self.vocabs.iter().map(Vec::len).collect()
    }

    /// Rows `items` as their own set.
    pub fn subset(&self, items: &[usize]) -> TabularSet {
        let (k, n) = (self.cat_names.len(), self.cont_names.len());
        let pick = |v: &[i64], width: usize| items.iter().flat_map(|&i| v[i * width..(i + 1) * width].iter().copied()).collect();
        TabularSet {
            cats: pick(&self.cats, k),
            conts: items.iter().flat_map(|&i| self.conts[i * n..(i + 1) * n].iter().copied()).collect(),
            targets: match &self.targets {
                TabularTargets::Classes(c, names) => TabularTargets::Classes(items.iter().map(|&i| c[i]).collect(), names.clone()),
                TabularTargets::Values(v) => TabularTargets::Values(items.iter().map(|&i| v[i]).collect()),
            },
            ..self.clone()
        }
    }
}

impl Dataset for TabularSet {
    type Input = TabularInput;

    fn len(&self) -> usize {
        self.rows()
    }

    fn batch(&self, device: &Device, items: &[usize]) -> (TabularInput, Targets) {
        let (k, n) = (self.cat_names.len(), self.cont_names.len());
        let cats = Indices::new([items.len(), k], items.iter().flat_map(|&i| self.cats[i * k..(i + 1) * k].iter().copied()).collect())
            .expect("k values per row");
        let conts = Tensor::new([items.len(), n], items.iter().flat_map(|&i| self.conts[i * n..(i + 1) * n].iter().copied()).collect())
            .expect("n values per row");
        let targets = match &self.targets {
            TabularTargets::Classes(c, _) => Targets::Classes(Indices::vector(items.iter().map(|&i| c[i]).collect())),
            TabularTargets::Values(v) => Targets::Values(Tensor::new([items.len(), 1], items.iter().map(|&i| v[i]).collect()).expect("one per row")),
        };
        (TabularInput { cats, conts: conts.to(device) }, targets)
    }
}

/// CPU images `[N, C, H, W]` normalised with `stats`, one `(mean, std)` per channel: `(x − mean) / std`.
pub fn normalize(images: &Tensor, stats: &[(f32, f32)]) -> Tensor {
    let dims = images.shape().dims();
    let (c, plane) = (dims[1], dims[2] * dims[3]);
    Tensor::from_fn(images.shape().clone(), |i| {
        let (mean, std) = stats[i / plane % c];
        (images.data()[i] - mean) / std
    })
}

/// The rows `items` of `t` (along its first axis), in that order.
pub fn gather_rows(t: &Tensor, items: &[usize]) -> Tensor {
    let dims = t.shape().dims();
    let row: usize = dims[1..].iter().product();
    let mut out_dims = dims.to_vec();
    out_dims[0] = items.len();
    let data = items.iter().flat_map(|&i| t.data()[i * row..(i + 1) * row].iter().copied()).collect();
    Tensor::new(Shape::from(out_dims), data).expect("rows of the same size")
}

/// Mean and (population) standard deviation, the latter at least 1e-7.
pub fn mean_std(values: impl Iterator<Item = f32> + Clone) -> (f32, f32) {
    let (sum, count) = values.clone().fold((0.0f64, 0usize), |(s, c), v| (s + v as f64, c + 1));
    let mean = sum / count.max(1) as f64;
    let var = values.map(|v| (v as f64 - mean).powi(2)).sum::<f64>() / count.max(1) as f64;
    (mean as f32, (var.sqrt() as f32).max(1e-7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_seeded_disjoint_and_complete() {
        let (t, v) = random_split(100, 0.2, 3);
        assert_eq!((t.len(), v.len()), (80, 20));
        let mut all: Vec<usize> = t.iter().chain(&v).copied().collect();
        all.sort();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(random_split(100, 0.2, 3), (t, v));
        assert_ne!(random_split(100, 0.2, 4).1, random_split(100, 0.2, 3).1);
    }

    #[test]
    fn normalisation_uses_training_statistics() {
        let set = ImageSet {
            images: Tensor::from_fn([10, 1, 2, 2], |i| i as f32),
            labels: (0..10).map(|i| i % 2).collect(),
            classes: vec!["a".into(), "b".into()],
        };
        let (train, valid) = set.split(0.3, 1);
        let stats = train.channel_stats();
        assert!(stats[0].0.abs() < 1e-5 && (stats[0].1 - 1.0).abs() < 1e-4, "{stats:?}");
        assert_eq!(valid.labels.len(), 3);
    }
}
