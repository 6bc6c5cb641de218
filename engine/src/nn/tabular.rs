//! fastai's `TabularModel`, the lesson's Rossmann model: one embedding per categorical column, embedding dropout,
//! batch norm on the continuous columns, then hidden layers (each Linear, ReLU, BatchNorm1d, Dropout) and an
//! output squashed into `y_range`. Built as fastai 1 built it for the 2019 lesson: every Linear has a bias (fastai 2
//! drops the bias of a Linear that a batch norm follows; see [`TabularConfig::hidden_bias`]).
//!
//! ```text
//! x = cat(emb_1(c_1), …, emb_k(c_k))   → Dropout(emb_drop)
//! x = cat(x, BatchNorm1d(continuous))  → [Linear → ReLU → BatchNorm1d → Dropout(p_i)] per hidden size
//!   → Linear(→ out) → SigmoidRange(y_range)
//! ```
//!
//! Each categorical column with `n` values (index 0 is `#na#`, for missing or unseen) gets an embedding of width
//! `min(600, round(1.6·n^0.56))`, fastai's rule of thumb.

use super::summary::{Summary, SummaryRow};
use super::{BatchNorm, Dropout, Layer, Linear, Model, Param, ReLU, Sequential, SigmoidRange, init};
use crate::device::Device;
use crate::error::{ErrorKind, OpError, Result};
use crate::indices::Indices;
use crate::ops::concat::Concat;
use crate::ops::Unary;
use crate::ops::embedding::Embedding;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// The shape of a tabular model.
#[derive(Clone, Debug, PartialEq)]
pub struct TabularConfig {
    /// Values per categorical column, `#na#` included.
    pub cardinalities: Vec<usize>,
    /// Continuous columns.
    pub n_cont: usize,
    /// Hidden layer sizes (fastai: 1000, 500 for Rossmann).
    pub hidden: Vec<usize>,
    /// Dropout after each hidden layer (fastai: 0.001, 0.01).
    pub ps: Vec<f32>,
    /// Dropout on the concatenated embeddings (fastai: 0.04).
    pub emb_drop: f32,
    /// Whether the hidden Linears have a bias: fastai 1, the 2019 lesson's, gives them one; fastai 2 does not
    /// where a batch norm follows. With the ReLU between them the bias still moves the ReLU's threshold, but for a
    /// unit its ReLU passes on every row of a batch the bias's gradient is zero in exact arithmetic (the batch norm
    /// takes the mean away) and rounding noise in practice.
    pub hidden_bias: bool,
    /// Outputs (1 for a regression).
    pub out: usize,
    /// The output's range, for a regression (`None`: raw outputs, as class scores).
    pub y_range: Option<(f32, f32)>,
}

impl TabularConfig {
    /// fastai's embedding width for a column with `n` values: `min(600, round(1.6·n^0.56))`.
    pub fn embedding_size(n: usize) -> usize {
        600.min((1.6 * (n as f64).powf(0.56)).round() as usize)
    }

    /// The Rossmann model of the lesson: hidden layers 1000 and 500 with biases (fastai 1), dropout 0.001 and
    /// 0.01, embedding dropout 0.04, one output in `y_range`.
    pub fn rossmann(cardinalities: Vec<usize>, n_cont: usize, y_range: (f32, f32)) -> Self {
        TabularConfig { cardinalities, n_cont, hidden: vec![1000, 500], ps: vec![0.001, 0.01], emb_drop: 0.04, hidden_bias: true, out: 1, y_range: Some(y_range) }
    }
}

/// A batch for a tabular model: the categorical columns as indices `[N, columns]`, the continuous ones `[N, n]`.
pub struct TabularInput {
    /// Categorical values, row-major `[N, columns]`.
    pub cats: Indices,
    /// Continuous values `[N, n_cont]` (normalised).
    pub conts: Tensor,
}

/// fastai's `TabularModel`.
pub struct TabularModel {
    /// Its shape.
    pub config: TabularConfig,
    /// One table `[n_i, width_i]` per categorical column.
    pub embeddings: Vec<Param>,
    /// Dropout on the joined embeddings.
    pub emb_drop: Dropout,
    /// Batch norm of the continuous columns.
    pub bn_cont: BatchNorm,
    /// The hidden layers and the head.
    pub layers: Sequential,
    saved: Option<Saved>,
}

/// What the forward pass keeps for backward.
struct Saved {
    lookups: Vec<Embedding>,
    join_embeddings: Option<Concat>,
    join_all: Concat,
}

impl TabularModel {
    /// A model on `device`, initialised as fastai does (embeddings ~ N(0, 0.01) truncated; linear layers as
    /// PyTorch).
    pub fn new(device: &Device, config: TabularConfig, rng: &mut Rng) -> Result<Self> {
        if config.hidden.len() != config.ps.len() || config.cardinalities.contains(&0) || config.out == 0 {
            return Err(OpError::new("TabularModel", ErrorKind::Value, "the configuration does not describe a model")
                .expected("one dropout per hidden layer, categories ≥ 1, outputs ≥ 1")
                .given(format!("{} hidden sizes, {} dropouts, cardinalities {:?}", config.hidden.len(), config.ps.len(), config.cardinalities))
                .hint("fastai's defaults: hidden [1000, 500], ps [0.001, 0.01]")
                .into());
        }
        let embeddings: Vec<Param> = config
            .cardinalities
            .iter()
            .map(|&n| Param::new("weight", init::truncated_normal([n, TabularConfig::embedding_size(n)], 0.01, rng).to(device)))
            .collect();
        let widths: usize = config.cardinalities.iter().map(|&n| TabularConfig::embedding_size(n)).sum();
        let mut layers: Vec<Box<dyn Layer>> = Vec::new();
        let mut width = widths + config.n_cont;
        for (i, (&size, &p)) in config.hidden.iter().zip(&config.ps).enumerate() {
            layers.push(Box::new(Linear::new(device, width, size, config.hidden_bias, rng)));
            layers.push(Box::new(ReLU::default()));
            layers.push(Box::new(BatchNorm::new(device, size, 1)));
            layers.push(Box::new(Dropout::new(p, rng.next_u64() as u32 ^ i as u32)));
            width = size;
        }
        layers.push(Box::new(Linear::new(device, width, config.out, true, rng)));
        if let Some((low, high)) = config.y_range {
            layers.push(Box::new(SigmoidRange::new(low, high)?));
        }
        Ok(TabularModel {
            emb_drop: Dropout::new(config.emb_drop, rng.next_u64() as u32),
            bn_cont: BatchNorm::new(device, config.n_cont.max(1), 1),
            embeddings,
            layers: Sequential::new(layers),
            config,
            saved: None,
        })
    }

    /// The model as the 2019 lesson printed `learn.model` (fastai 1 on PyTorch 1.0): the embeddings, `emb_drop`,
    /// `bn_cont`, then one flat `Sequential` in fastai 1's order, where a hidden block's batch norm and dropout are
    /// printed ahead of the next Linear (`bn_drop_lin`). `y_range` is applied in `forward` and prints nothing.
    pub fn describe(&self) -> String {
        let mut out = String::from("TabularModel(\n  (embeds): ModuleList(\n");
        for (i, table) in self.embeddings.iter().enumerate() {
            let d = table.value.shape().dims();
            out += &format!("    ({i}): Embedding({}, {})\n", d[0], d[1]);
        }
        // PyTorch 1.0's wording of what the engine's layers print more briefly.
        let batch_norm = |described: String| described.replace("eps=1e-5", "eps=1e-05").replace(')', ", affine=True, track_running_stats=True)");
        out += &format!("  )\n  (emb_drop): Dropout(p={})\n", self.config.emb_drop);
        if self.config.n_cont > 0 {
            out += &format!("  (bn_cont): {}\n", batch_norm(self.bn_cont.describe()));
        }
        out += "  (layers): Sequential(\n";
        let printed = self.layers.layers.iter().filter(|layer| layer.kind() != "SigmoidRange");
        for (i, layer) in printed.enumerate() {
            let text = match layer.kind() {
                "ReLU" => "ReLU(inplace)".to_string(),
                "BatchNorm1d" => batch_norm(layer.describe()),
                _ => layer.describe(),
            };
            out += &format!("    ({i}): {text}\n");
        }
        out + "  )\n)"
    }

    /// The categorical column `column` of `cats [N, columns]`.
    fn column(cats: &Indices, column: usize, columns: usize) -> Indices {
        Indices::vector(cats.values().iter().skip(column).step_by(columns).copied().collect())
    }

    /// The joined embeddings and continuous columns: what the hidden layers read.
    fn features(&mut self, input: &TabularInput) -> Result<(Tensor, Saved)> {
        let columns = self.config.cardinalities.len();
        let expected = Shape::from([input.conts.shape().dims().first().copied().unwrap_or(0), columns]);
        if input.cats.shape() != &expected || input.conts.shape().rank() != 2 || input.conts.shape().dims()[1] != self.config.n_cont {
            return Err(OpError::new("TabularModel", ErrorKind::Shape, "the batch does not have the model's columns")
                .expected(format!("categorical {expected} and continuous [N, {}]", self.config.n_cont))
                .given(format!("categorical {} and continuous {}", input.cats.shape(), input.conts.shape()))
                .hint("build the batch with the same columns the model was made for")
                .into());
        }
        let mut lookups = Vec::new();
        let mut pieces = Vec::new();
        for (i, table) in self.embeddings.iter().enumerate() {
            let op = Embedding::new(table.value.shape(), 0, &Self::column(&input.cats, i, columns))?;
            pieces.push(op.forward(&table.value)?);
            lookups.push(op);
        }
        let (embedded, join_embeddings) = match pieces.len() {
            0 => (None, None),
            1 => (Some(self.emb_drop.forward(&pieces[0])?), None),
            _ => {
                let op = Concat::new(&pieces.iter().map(|p| p.shape()).collect::<Vec<_>>(), 1)?;
                let joined = op.forward(&pieces.iter().collect::<Vec<_>>())?;
                (Some(self.emb_drop.forward(&joined)?), Some(op))
            }
        };
        let continuous = (self.config.n_cont > 0).then(|| self.bn_cont.forward(&input.conts)).transpose()?;
        let parts: Vec<&Tensor> = embedded.iter().chain(continuous.iter()).collect();
        let join_all = Concat::new(&parts.iter().map(|p| p.shape()).collect::<Vec<_>>(), 1)?;
        let x = join_all.forward(&parts)?;
        Ok((x, Saved { lookups, join_embeddings, join_all }))
    }
}

impl Model for TabularModel {
    type Input = TabularInput;

    fn forward(&mut self, input: &TabularInput) -> Result<Tensor> {
        let (x, saved) = self.features(input)?;
        self.saved = Some(saved);
        self.layers.forward(&x)
    }

    fn backward(&mut self, dy: &Tensor) -> Result<()> {
        let dx = self.layers.backward(dy)?;
        let saved = super::saved(&self.saved, "TabularModel");
        let mut parts = saved.join_all.backward(&dx)?.into_iter();
        if !self.embeddings.is_empty() {
            let d_embedded = self.emb_drop.backward(&parts.next().expect("the embeddings' gradient"))?;
            let d_tables = match &saved.join_embeddings {
                Some(op) => op.backward(&d_embedded)?,
                None => vec![d_embedded],
            };
            for ((table, op), d) in self.embeddings.iter_mut().zip(&saved.lookups).zip(&d_tables) {
                let grad = op.backward(&table.value, d)?;
                table.grad = Some(grad);
            }
        }
        if let Some(d_cont) = parts.next() {
            self.bn_cont.backward(&d_cont)?;
        }
        Ok(())
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut params: Vec<&mut Param> = self.embeddings.iter_mut().collect();
        if self.config.n_cont > 0 {
            params.extend(self.bn_cont.params_mut());
        }
        params.extend(self.layers.params_mut());
        params
    }

    /// Named as fastai's `TabularModel` names its modules: `embeds.0.weight`, `bn_cont.running_mean`, then the
    /// hidden layers and the head under `layers.`.
    fn state_mut(&mut self) -> Vec<(String, &mut Tensor)> {
        let mut state: Vec<(String, &mut Tensor)> = self.embeddings.iter_mut().enumerate().map(|(i, t)| (format!("embeds.{i}.weight"), &mut t.value)).collect();
        if self.config.n_cont > 0 {
            state.extend(self.bn_cont.state_mut().into_iter().map(|(n, t)| (format!("bn_cont.{n}"), t)));
        }
        state.extend(self.layers.state_mut().into_iter().map(|(n, t)| (format!("layers.{n}"), t)));
        state
    }

    fn set_training(&mut self, training: bool) {
        self.emb_drop.set_training(training);
        self.bn_cont.set_training(training);
        Model::set_training(&mut self.layers, training);
    }

    fn summary(&mut self, input: &TabularInput) -> Result<Summary> {
        let batch = input.conts.shape().dims()[0];
        let mut rows: Vec<SummaryRow> = self
            .embeddings
            .iter()
            .map(|t| SummaryRow {
                kind: "Embedding".into(),
                output_shape: Shape::from([batch, t.value.shape().dims()[1]]),
                params: t.numel(),
                trainable: t.trainable,
            })
            .collect();
        let (x, _) = self.features(input)?;
        let widths: usize = self.embeddings.iter().map(|t| t.value.shape().dims()[1]).sum();
        rows.push(SummaryRow { kind: "Dropout".into(), output_shape: Shape::from([batch, widths]), params: 0, trainable: true });
        if self.config.n_cont > 0 {
            rows.push(SummaryRow {
                kind: "BatchNorm1d".into(),
                output_shape: Shape::from([batch, self.config.n_cont]),
                params: 2 * self.config.n_cont,
                trainable: true,
            });
        }
        rows.extend(self.layers.summary_rows(&x)?);
        Ok(Summary { model: "TabularModel".into(), input_shape: Shape::from([batch, self.config.cardinalities.len() + self.config.n_cont]), rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{load_state, read_state};

    const CPU: Device = Device::Cpu;

    #[test]
    fn a_models_state_carries_it_to_another_with_the_running_statistics() {
        let config = TabularConfig { hidden: vec![8], ps: vec![0.0], ..TabularConfig::rossmann(vec![5, 3], 2, (0.0, 2.0)) };
        let input = TabularInput {
            cats: Indices::new([4, 2], vec![1, 0, 4, 2, 0, 1, 2, 1]).unwrap(),
            conts: Tensor::from_fn([4, 2], |i| (i as f32 * 0.7).sin()),
        };
        let mut a = TabularModel::new(&CPU, config.clone(), &mut Rng::new(1)).unwrap();
        // One forward pass in training mode moves the running statistics away from their start.
        a.set_training(true);
        a.forward(&input).unwrap();
        let state = pollster::block_on(read_state(&mut a)).unwrap();
        let names: Vec<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(&names[..4], ["embeds.0.weight", "embeds.1.weight", "bn_cont.weight", "bn_cont.bias"]);
        assert!(names.contains(&"bn_cont.running_mean") && names.iter().any(|n| n.starts_with("layers.")));
        let mut b = TabularModel::new(&CPU, config, &mut Rng::new(2)).unwrap();
        load_state(&mut b, &state).unwrap();
        a.set_training(false);
        b.set_training(false);
        assert_eq!(a.forward(&input).unwrap().data(), b.forward(&input).unwrap().data());
        assert!(load_state(&mut b, &state[1..]).unwrap_err().to_string().contains("lack a tensor"));
    }

    #[test]
    fn the_model_prints_like_learn_model() {
        let mut model = TabularModel::new(&CPU, TabularConfig::rossmann(vec![1116, 8], 2, (0.0, 10.0)), &mut Rng::new(1)).unwrap();
        let printed = model.describe();
        for line in [
            "    (0): Embedding(1116, 81)",
            "    (1): Embedding(8, 5)",
            "  (emb_drop): Dropout(p=0.04)",
            "  (bn_cont): BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
            "    (0): Linear(in_features=88, out_features=1000, bias=True)",
            "    (1): ReLU(inplace)",
            "    (2): BatchNorm1d(1000, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
            "    (3): Dropout(p=0.001)",
            "    (4): Linear(in_features=1000, out_features=500, bias=True)",
            "    (7): Dropout(p=0.01)",
            "    (8): Linear(in_features=500, out_features=1, bias=True)",
        ] {
            assert!(printed.lines().any(|l| l == line), "no line {line:?} in\n{printed}");
        }
        assert!(!printed.contains("Sigmoid") && printed.ends_with("  )\n)"));
        // The printed sizes account for every parameter the model trains.
        // The whole numbers inside a module's parentheses (not the `1` of `BatchNorm1d`).
        let numbers = |m: &str| m.split_once('(').unwrap().1.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<usize>().ok()).collect::<Vec<_>>();
        let printed_params: usize = printed
            .lines()
            .map(|l| match l.trim().split_once(": ").map(|(_, m)| m) {
                Some(m) if m.starts_with("Embedding(") => numbers(m)[0] * numbers(m)[1],
                Some(m) if m.starts_with("Linear(") => numbers(m)[0] * numbers(m)[1] + numbers(m)[1],
                Some(m) if m.starts_with("BatchNorm1d(") => 2 * numbers(m)[0],
                _ => 0,
            })
            .sum();
        let trained: usize = model.params_mut().iter().map(|p| p.value.numel()).sum();
        assert_eq!(printed_params, trained);
    }

    #[test]
    fn embedding_sizes_follow_fastai() {
        let sizes: Vec<usize> = [1115, 7, 31, 12, 3, 4, 4, 2].iter().map(|&n| TabularConfig::embedding_size(n)).collect();
        assert_eq!(sizes, [81, 5, 11, 6, 3, 3, 3, 2]);
    }

    #[test]
    fn every_parameter_gets_a_gradient_of_its_shape() {
        let mut rng = Rng::new(33);
        let config = TabularConfig { hidden: vec![8, 4], ps: vec![0.1, 0.1], ..TabularConfig::rossmann(vec![5, 3], 2, (0.0, 3.0)) };
        let mut model = TabularModel::new(&CPU, config, &mut rng).unwrap();
        let input = TabularInput { cats: Indices::new([4, 2], vec![1, 2, 4, 0, 3, 1, 0, 2]).unwrap(), conts: Tensor::randn([4, 2], &mut rng) };
        let out = model.forward(&input).unwrap();
        assert_eq!(out.shape(), &Shape::from([4, 1]));
        assert!(out.data().iter().all(|&v| (0.0..3.0).contains(&v)), "the y_range holds");
        model.backward(&Tensor::randn([4, 1], &mut rng)).unwrap();
        for p in model.params_mut() {
            let grad = p.grad.as_ref().expect("every parameter has a gradient");
            assert_eq!(grad.shape(), p.value.shape());
        }
        // Column 0 holds 1, 4, 3, 0: row 1 of its table learns, row 2 (no sample has it) does not.
        let table = model.embeddings[0].grad.as_ref().unwrap();
        let width = table.shape().dims()[1];
        assert!(table.data()[width..2 * width].iter().any(|&g| g != 0.0));
        assert!(table.data()[2 * width..3 * width].iter().all(|&g| g == 0.0));
        let summary = model.summary(&input).unwrap();
        assert_eq!(summary.rows[0].kind, "Embedding");
        assert!(summary.to_string().contains("SigmoidRange"));
    }

    #[test]
    fn a_batch_without_the_model_columns_is_explained() {
        let mut model = TabularModel::new(&CPU, TabularConfig::rossmann(vec![5], 2, (0.0, 3.0)), &mut Rng::new(34)).unwrap();
        let input = TabularInput { cats: Indices::new([2, 2], vec![1, 1, 1, 1]).unwrap(), conts: Tensor::zeros([2, 2]) };
        assert!(model.forward(&input).is_err());
    }
}
