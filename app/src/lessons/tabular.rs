//! `/tabular`: the lesson's Rossmann model on a synthetic Rossmann table whose generating process is known. The
//! table (browsable, each column's type) with the columns the lesson's cleaning notebook builds (the date's parts,
//! the days since and until holidays and promotions, the seven-day counts) and the gaps the real data has; the
//! notebook's categorical and continuous columns, and what that choice does; `procs=[FillMissing, Categorify,
//! Normalize]` walked through on one row; why the target is `log(Sales)`, a float (a regression), and not the
//! integer sales (which would make it a classification); each categorical column's embedding size by fastai's
//! rule; the model printed as `learn.model` and summarised as `learn.summary()`; why `y_range` goes a little above
//! the largest sale; RMSPE on the exponentiated predictions against the table's noise floor; the lesson's calls,
//! and training with its settings on the page's device with live curves; embedding dropout 0 against 0.04 over
//! several seeds; and afterwards, what the model learned about the day of the week and the store type beside the
//! generator's true effects.
//!
//! URL parameters ([`PARAMS`]): `cat`, `cont` (comma-separated column names: the categorical and the continuous
//! columns), `rows` (the first row shown, 0 to the table's last), `epochs` (1–8), `effect` (`DayOfWeek`,
//! `StoreType`).

use crate::panel::{PanelNumbers, exact};
#[cfg(not(target_arch = "wasm32"))]
use crate::panel::{Assets, Case, url};
use crate::query::{AnyParam, Names, Param, Params, Query};
use crate::widgets::plot::{LinePlot, Series};
use crate::widgets::training::{Job, Refused, RunState, SeedRuns, Sequence, StartJob, Started, Training, TrainingRunner, seeds_verdict};
use crate::worker::{Recipe, RunEnd, recipe, setting};
use crate::widgets::{CodePanel, LessonPage, select};
use engine::data::dates;
use engine::data::rossmann::{CATEGORICAL, CONTINUOUS, Factors, LEFT_OUT, NOISE_SIGMA, RossmannTable, VALID_DAYS, median_floor, noise_floor};
use engine::data::table::Column;
use engine::data::{Dataset, TabularSet};
use engine::learner::{FitConfig, Loss, Metric, Trainer};
use engine::nn::tabular::{TabularConfig, TabularModel};
use engine::nn::{Model, Summary};
use engine::optim::Optimizer;
use engine::rng::Rng;
use engine::Device;
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// The page's table: 50 stores over the last 407 days of the real data (to 31 July 2015), generated with seed 1.
pub const STORES: usize = 50;
const DAYS: usize = 407;
const SEED: u64 = 1;

/// The page's table.
pub fn page_table() -> RossmannTable {
    RossmannTable::generate(STORES, DAYS, SEED)
}

/// Rows shown at a time in the table browser.
pub const PAGE_ROWS: usize = 10;
/// The rows of the page's table (a test checks it against the generated table).
pub const TABLE_ROWS: usize = 16_733;
/// Rows per batch: fastai 1's default `bs=64` (the notebook's `databunch()` sets none).
const BATCH: usize = 64;
/// The lesson's `fit_one_cycle(5, 1e-3, wd=0.2)`: the top of the one-cycle learning rate.
const LR: f32 = 1e-3;
/// …and AdamW's weight decay.
const WD: f32 = 0.2;
/// The lesson's `emb_drop`.
const EMB_DROP: f32 = 0.04;
/// The seeds each setting of the embedding-dropout comparison trains with.
pub const COMPARISON_SEEDS: [u64; 3] = [1, 2, 3];
/// Rows in the summary's example batch (fastai summarises one batch of 64).
const SUMMARY_BATCH: usize = 64;

/// The validation rows a learned effect is averaged over (a forward pass of this many rows per value runs when
/// training ends: 256 kept the page busy for almost 100 ms).
const PROBE_ROWS: usize = 128;

/// The columns whose learned effect the page compares with the truth.
pub const EFFECTS: [&str; 2] = ["DayOfWeek", "StoreType"];

fn effect_name(c: &'static str) -> &'static str {
    c
}

/// The categorical columns.
pub const CATS: Names = Names { key: "cat", default: &CATEGORICAL };
/// The continuous columns.
pub const CONTS: Names = Names { key: "cont", default: &CONTINUOUS };
/// The first row the table browser shows.
pub const FIRST_ROW: Param<usize> = Param::range("rows", 0, 0, TABLE_ROWS - 1);
/// Epochs a run takes.
pub const EPOCHS: Param<usize> = Param::range("epochs", 5, 1, 8);
/// The column whose learned effect is shown.
pub const EFFECT: Param<&'static str> = Param::choices("effect", EFFECTS[0], &EFFECTS, effect_name);
/// Every parameter, in the URL's order.
pub const PARAMS: &[&dyn AnyParam] = &[&CATS, &CONTS, &FIRST_ROW, &EPOCHS, &EFFECT];

/// The columns no model may take as inputs: the target, and `Customers`, counted on the same day (not known in
/// advance).
const ANSWERS: [&str; 2] = ["Sales", "Customers"];

/// The columns a learner can use: everything but [`ANSWERS`].
fn usable(table: &RossmannTable) -> Vec<(String, bool)> {
    table
        .table
        .columns
        .iter()
        .filter(|(name, _)| !ANSWERS.contains(&name.as_str()))
        .map(|(name, column)| (name.clone(), matches!(column, Column::Number(_))))
        .collect()
}

/// How each column is used.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// The categorical columns, in the table's order.
    pub cats: Vec<String>,
    /// The continuous columns, in the table's order.
    pub conts: Vec<String>,
}

impl Default for State {
    fn default() -> Self {
        State { cats: CATEGORICAL.iter().map(|s| s.to_string()).collect(), conts: CONTINUOUS.iter().map(|s| s.to_string()).collect() }
    }
}

/// Why a list of columns cannot be used as categorical (or as continuous) ones, or `Ok`: every name a usable
/// column, and text columns only as categories.
pub fn check_names(table: &RossmannTable, names: &[String], continuous: bool) -> Result<(), String> {
    let columns = usable(table);
    for name in names {
        match columns.iter().find(|(c, _)| c == name) {
            // The target as an input would hand the model the answer (and the customers, counted on the same day).
            None if ANSWERS.contains(&name.as_str()) => {
                return Err(format!("“{name}” is what the model predicts, or counted with it on the same day: as an input it would hand the model the answer"));
            }
            None => return Err(format!("there is no usable column “{name}”")),
            Some((_, false)) if continuous => return Err(format!("“{name}” holds text, so it can only be categorical")),
            _ => {}
        }
    }
    Ok(())
}

/// Why a choice of columns cannot be used, or `Ok`: both lists valid, no column in both, at least one column.
pub fn check_roles(table: &RossmannTable, cats: &[String], conts: &[String]) -> Result<(), String> {
    check_names(table, cats, false)?;
    check_names(table, conts, true)?;
    if let Some(both) = cats.iter().find(|c| conts.contains(c)) {
        return Err(format!("“{both}” cannot be categorical and continuous at once"));
    }
    if cats.is_empty() && conts.is_empty() {
        return Err("the model needs at least one column".into());
    }
    Ok(())
}

/// The columns a link asks for (`cat`, `cont`), each list checked on its own (a bad one falls back with the
/// query's notice); lists that are each fine but clash (a column in both, or no column at all) give the lesson's
/// choice, with the notice returned here.
pub fn roles_from(table: &RossmannTable, query: &Query) -> (State, Option<String>) {
    let cats = query.names(&CATS, |names: &[String]| check_names(table, names, false));
    let conts = query.names(&CONTS, |names: &[String]| check_names(table, names, true));
    match check_roles(table, &cats, &conts) {
        Ok(()) => (State { cats, conts }, None),
        Err(why) => (State::default(), Some(format!("The link's columns were not used ({why}); using the lesson's choice instead."))),
    }
}

/// The training and validation sets and `y_range` for a choice of columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    /// The training rows, preprocessed.
    pub train: TabularSet,
    /// The validation rows (the last six weeks).
    pub valid: TabularSet,
    /// `(0, log(1.2 · max sales))`.
    pub y_range: (f32, f32),
}

impl State {
    /// The lesson's choice with `Store` and `DayOfWeek` as numbers instead of categories.
    pub fn as_numbers() -> State {
        let lesson = State::default();
        State {
            cats: lesson.cats.iter().filter(|c| *c != "Store" && *c != "DayOfWeek").cloned().collect(),
            conts: ["Store", "DayOfWeek"].iter().map(|s| s.to_string()).chain(lesson.conts).collect(),
        }
    }

    fn names(list: &[String]) -> Vec<&str> {
        list.iter().map(String::as_str).collect()
    }

    /// The sets for this choice of columns.
    pub fn prepare(&self, table: &RossmannTable) -> Prepared {
        let (train, valid, y_range) = table.sets(&Self::names(&self.cats), &Self::names(&self.conts));
        Prepared { train, valid, y_range }
    }

    /// The lesson's model for these sets: fastai's Rossmann configuration.
    pub fn config(prepared: &Prepared) -> TabularConfig {
        TabularConfig::rossmann(prepared.train.cardinalities(), prepared.train.cont_names.len(), prepared.y_range)
    }

    /// The model (seeded) and its summary for a batch of 64 training rows, on the CPU.
    pub fn model(prepared: &Prepared) -> Result<(TabularModel, Summary), String> {
        let mut model = TabularModel::new(&Device::Cpu, Self::config(prepared), &mut Rng::new(SEED)).map_err(|e| e.to_string())?;
        let rows: Vec<usize> = (0..SUMMARY_BATCH.min(prepared.train.rows())).collect();
        let (input, _) = prepared.train.batch(&Device::Cpu, &rows);
        model.set_training(false);
        let summary = model.summary(&input).map_err(|e| e.to_string())?;
        Ok((model, summary))
    }

    /// What the page shows of the model: the output's shape for a batch of 64, the total parameter count (as the
    /// "window sum"), the top of `y_range` (as the "output") and the sum of the embedding widths (as the
    /// "checksum").
    pub fn numbers(&self, table: &RossmannTable) -> Result<PanelNumbers, String> {
        let prepared = self.prepare(table);
        let (_, summary) = Self::model(&prepared)?;
        let widths: usize = prepared.train.cardinalities().iter().map(|&n| TabularConfig::embedding_size(n)).sum();
        Ok(PanelNumbers {
            shape: vec![SUMMARY_BATCH, 1],
            window_sum: summary.total_params() as f64,
            output: prepared.y_range.1 as f64,
            checksum: widths as f64,
            magnitude: widths as f64,
        })
    }

    /// The PyTorch code: the lesson's `TabularModel` written out in plain PyTorch with this choice's sizes, run
    /// on a batch of 64, printing the numbers the page shows.
    pub fn pytorch(&self, table: &RossmannTable) -> String {
        let prepared = self.prepare(table);
        let config = Self::config(&prepared);
        let cats: Vec<String> = prepared.train.cat_names.iter().zip(&config.cardinalities).map(|(n, c)| format!("    {c},  # {n}")).collect();
        let (low, high) = prepared.y_range;
        let n_cont = config.n_cont;
        format!(
            "import torch\n\
             from torch import nn\n\n\
             # Each categorical column's number of values, #na# included, from the training rows:\n\
             cardinalities = [\n{cats}\n]\n\
             n_cont = {n_cont}  # continuous columns: {conts}\n\
             y_range = ({low}, {high})  # (0, log(1.2 * largest sale))\n\n\
             def emb_sz(n):  # fastai's rule of thumb\n\
             \x20   return min(600, int(1.6 * n ** 0.56 + 0.5))\n\n\
             class TabularModel(nn.Module):  # fastai 1's, for this lesson's layers=[1000, 500], ps=[0.001, 0.01], emb_drop=0.04\n\
             \x20   def __init__(self):\n\
             \x20       super().__init__()\n\
             \x20       self.embeds = nn.ModuleList([nn.Embedding(n, emb_sz(n)) for n in cardinalities])\n\
             \x20       self.emb_drop = nn.Dropout(0.04)\n\
             \x20       self.bn_cont = nn.BatchNorm1d(n_cont) if n_cont else None\n\
             \x20       sizes = [sum(emb_sz(n) for n in cardinalities) + n_cont, 1000, 500, 1]\n\
             \x20       layers = []\n\
             \x20       for i, (a, b, p) in enumerate(zip(sizes[:-1], sizes[1:], [0.0, 0.001, 0.01])):  # fastai 1's bn_drop_lin\n\
             \x20           if i > 0:\n\
             \x20               layers += [nn.BatchNorm1d(a), nn.Dropout(p)]\n\
             \x20           layers.append(nn.Linear(a, b))\n\
             \x20           if i < len(sizes) - 2:\n\
             \x20               layers.append(nn.ReLU(inplace=True))\n\
             \x20       self.layers = nn.Sequential(*layers)\n\n\
             \x20   def forward(self, x_cat, x_cont):\n\
             \x20       parts = []\n\
             \x20       if cardinalities:\n\
             \x20           parts.append(self.emb_drop(torch.cat([e(x_cat[:, i]) for i, e in enumerate(self.embeds)], 1)))\n\
             \x20       if n_cont:\n\
             \x20           parts.append(self.bn_cont(x_cont))\n\
             \x20       low, high = y_range\n\
             \x20       return torch.sigmoid(self.layers(torch.cat(parts, 1))) * (high - low) + low  # SigmoidRange\n\n\
             torch.manual_seed(0)\n\
             model = TabularModel().eval()\n\
             print(model)\n\
             out = model(torch.zeros({SUMMARY_BATCH}, len(cardinalities), dtype=torch.long), torch.randn({SUMMARY_BATCH}, n_cont))\n\n\
             # What the page shows:\n\
             print(\"shape:\", list(out.shape))\n\
             print(\"window sum:\", sum(p.numel() for p in model.parameters()))  # learn.summary()'s total params\n\
             print(\"output:\", y_range[1])  # the top of y_range\n\
             print(\"checksum:\", sum(emb_sz(n) for n in cardinalities))  # the embeddings' total width\n",
            cats = cats.join("\n"),
            conts = if self.conts.is_empty() { "none".to_string() } else { self.conts.join(", ") },
            low = exact(low),
            high = exact(high),
        )
    }
}

impl State {
    /// The choice as the URL writes it.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        vec![(CATS.key, self.cats.join(",")), (CONTS.key, self.conts.join(","))]
    }

    /// How column `name` is used: the target, not used, categorical or continuous.
    pub fn role_of(&self, name: &str) -> &'static str {
        match name {
            "Sales" => "the target (as log)",
            "Customers" => "not used (not known in advance)",
            _ if self.cats.iter().any(|c| c == name) => "categorical",
            _ if self.conts.iter().any(|c| c == name) => "continuous",
            _ => "not used",
        }
    }

    /// This choice with column `name` used as `role` (`categorical`, `continuous`, or anything else: not used),
    /// the lists kept in the table's order.
    pub fn with_role(&self, table: &RossmannTable, name: &str, role: &str) -> State {
        let mut s = self.clone();
        s.cats.retain(|c| c != name);
        s.conts.retain(|c| c != name);
        match role {
            "categorical" => s.cats.push(name.to_string()),
            "continuous" => s.conts.push(name.to_string()),
            _ => {}
        }
        let order: Vec<String> = usable(table).into_iter().map(|(n, _)| n).collect();
        s.cats.sort_by_key(|c| order.iter().position(|o| o == c));
        s.conts.sort_by_key(|c| order.iter().position(|o| o == c));
        s
    }
}

/// The states `cargo xtask panels` checks: the lesson's columns, store and day of week as numbers, no continuous
/// column, and a few columns of each kind.
#[cfg(not(target_arch = "wasm32"))]
pub fn cases(_: &dyn Assets) -> Result<Vec<Case>, String> {
    let table = page_table();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let lesson = State::default();
    let states = [
        lesson.clone(),
        State::as_numbers(),
        State { cats: lesson.cats.clone(), conts: vec![] },
        State { cats: names(&["Month"]), conts: names(&["CompetitionDistance", "Max_TemperatureC"]) },
    ];
    Ok(states.into_iter().map(|s| Case { url: url("tabular", &s.query()), code: s.pytorch(&table), page: s.numbers(&table) }).collect())
}

/// What the page says about the table and the model around the controls: plain values, computed once per page.
pub struct Facts {
    /// Rows in the table.
    pub total_rows: usize,
    /// The distinct sales in the training rows: the classes an integer target would make.
    pub distinct_sales: usize,
    /// The largest sale in the training rows (what `y_range` is built from).
    pub max_sale: f32,
    /// The RMSPE of the best possible predictor on the validation rows.
    pub floor: f64,
    /// Each column's name and how it is stored (`number` or `text`).
    pub headers: Vec<(String, &'static str)>,
    /// The table's first day, the first day of the validation weeks, and its last day (`YYYY-MM-DD`).
    pub dates: (String, String, String),
    /// Each column with gaps: its name, the stores with a gap and the rows.
    pub missing: Vec<(String, usize, usize)>,
}

impl Facts {
    /// The facts of `table`.
    pub fn of(table: &RossmannTable) -> Facts {
        let store = table.table.numbers("Store");
        let mut sales: Vec<i64> = table.train_rows.iter().filter_map(|&r| table.table.numbers("Sales").ok()?[r].map(|x| x as i64)).collect();
        sales.sort_unstable();
        sales.dedup();
        Facts {
            total_rows: table.table.rows(),
            distinct_sales: sales.len(),
            max_sale: table.table.numbers("Sales").map(|v| table.train_rows.iter().filter_map(|&r| v[r]).fold(0.0f32, f32::max)).unwrap_or(0.0),
            floor: table.oracle_rmspe(&table.valid_rows),
            headers: table.table.columns.iter().map(|(n, c)| (n.clone(), if matches!(c, Column::Number(_)) { "number" } else { "text" })).collect(),
            dates: table_dates(table),
            missing: table
                .table
                .columns
                .iter()
                .filter_map(|(name, column)| {
                    let store = store.as_ref().ok()?;
                    let gaps: Vec<usize> = (0..table.table.rows()).filter(|&r| column.is_missing(r)).collect();
                    let mut stores: Vec<i64> = gaps.iter().filter_map(|&r| store[r].map(|s| s as i64)).collect();
                    stores.sort_unstable();
                    stores.dedup();
                    (!gaps.is_empty()).then(|| (name.clone(), stores.len(), gaps.len()))
                })
                .collect(),
        }
    }

    /// Where the table's rows come from, and which are validated.
    pub fn table_text(&self) -> String {
        let (first, valid, last) = &self.dates;
        format!(
            "{} rows: {STORES} stores from {first} to {last}, where the real data ends, closed days removed as the lesson removed \
             them (Sundays and public holidays, except at type b stores, which open every day as the real data's do; \
             refurbishments). The last {} weeks, {valid} to {last}, are the validation set, as the notebook validates on the \
             most recent weeks: the model must predict the future, in summer, with school holidays and heat.",
            self.total_rows,
            VALID_DAYS / 7,
        )
    }

    /// The columns with gaps, said as the real data has them.
    pub fn missing_text(&self) -> String {
        let gaps: Vec<String> = self.missing.iter().map(|(name, stores, rows)| format!("{name} at {stores} stores ({rows} rows)")).collect();
        format!(
            "Gaps, where the real store.csv has them: {}. The real data misses CompetitionDistance at 3 of its 1,115 stores, the \
             competitor's opening date at 354, and Promo2's start and interval at every store not taking part. The cleaning \
             notebook fills CompetitionOpenSinceYear and Promo2SinceYear with 1900, and the month and week with 1, before the \
             lesson (fillna(1900)), so there they are a category “1900”; here they stay empty, and Categorify gives them #na#. \
             CompetitionDistance stays empty in both, for FillMissing.",
            gaps.join(", ")
        )
    }

    /// The rows the browser shows from `first`, each cell as text.
    pub fn page_of_rows(table: &RossmannTable, first: usize) -> Vec<Vec<String>> {
        let start = first.min(table.table.rows().saturating_sub(1));
        let end = (start + PAGE_ROWS).min(table.table.rows());
        (start..end).map(|r| table.table.columns.iter().map(|(_, c)| cell_text(c, r)).collect()).collect()
    }

    /// `rows a to b of n`.
    pub fn rows_shown(&self, first: usize) -> String {
        format!("rows {} to {} of {}", first + 1, (first + PAGE_ROWS).min(self.total_rows), self.total_rows)
    }

    /// The sigmoid that squashes the last layer's output into `y_range`, its top and the largest log sale.
    pub fn sigmoid_plot(&self, (low, high): (f32, f32)) -> Vec<Series> {
        let curve = (0..=100).map(|i| {
            let x = i as f64 / 10.0;
            (x, low as f64 + (high - low) as f64 / (1.0 + (-x).exp()))
        });
        let top = (self.max_sale as f64).ln();
        vec![
            Series { name: "sigmoid_range(x)", class: "train", points: curve.collect() },
            Series { name: "top of y_range", class: "truth", points: vec![(0.0, high as f64), (10.0, high as f64)] },
            Series { name: "largest log sale", class: "valid", points: vec![(0.0, top), (10.0, top)] },
        ]
    }

    /// Where the sigmoid reaches the largest sale, and why `y_range` goes above it.
    pub fn sigmoid_text(&self, (low, high): (f32, f32)) -> String {
        let top = (self.max_sale as f64).ln();
        let x_needed = ((top - low as f64) / (high as f64 - top)).ln();
        format!(
            "The largest sale in the training rows is {:.0} euros, log {top:.3}. With y_range = ({low}, {high:.3}) the model \
             reaches it at x = {x_needed:.2}. Had the top of y_range been exactly {top:.3}, the sigmoid would reach it only as x \
             goes to infinity, and the largest sales could never be predicted: that is why fastai's lesson sets it a little above the maximum.",
            self.max_sale
        )
    }

    /// The validation RMSPE against the floor.
    pub fn rmspe_text(&self, rmspe: f64) -> String {
        format!("Validation RMSPE {rmspe:.4}: {:.2} times what the best possible predictor scores on these rows ({:.4}).", rmspe / self.floor, self.floor)
    }

    /// The noise floor, said as what it is: an expected value, with what the best predictor scores on these
    /// validation rows, the higher floor of predicting the median, and the real competition for scale.
    pub fn floor_text(&self) -> String {
        format!(
            "The noise in the table is random and unknowable (a log-normal factor with σ = {NOISE_SIGMA}), so the best possible \
             predictor has an expected RMSPE of {:.4}. That is an average over endless rows: on these validation rows it scores \
             {:.4}, and a finite set can come out below the expected value. A model trained with MSE on log(Sales) aims at the \
             median of each day's sales rather than that best predictor, and the median's expected RMSPE is {:.4}, slightly \
             higher. For scale, on the real competition (whose noise nobody knows) an RMSPE of 0.108 was 10th place on the \
             leaderboard, the lesson's reference.",
            noise_floor(),
            self.floor,
            median_floor(),
        )
    }
}

/// The table's first day, the validation set's first day and the last day.
fn table_dates(table: &RossmannTable) -> (String, String, String) {
    let Ok(Column::Text(date)) = table.table.column("Date") else { return Default::default() };
    let day = |rows: &[usize], last: bool| {
        let days = rows.iter().filter_map(|&r| date[r].as_deref().and_then(dates::parse));
        let day = if last { days.max() } else { days.min() };
        day.map(|d| dates::format(dates::date_of(d))).unwrap_or_default()
    };
    (day(&table.train_rows, false), day(&table.valid_rows, false), day(&table.valid_rows, true))
}

/// One column of one row through `procs=[FillMissing, Categorify, Normalize]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcStep {
    /// The column (a `_na` column is FillMissing's).
    pub column: String,
    /// The value in the table (`#na#` where empty).
    pub raw: String,
    /// What FillMissing did: the median put in a gap, the flag it set, or nothing.
    pub fill: String,
    /// What the model reads: a category's code and value, or the normalisation worked out.
    pub result: String,
}

/// Something shown of one row of the table, with the row's date and store.
#[derive(Clone, Debug, PartialEq)]
pub struct RowExample<T> {
    /// The row's date.
    pub date: String,
    /// The row's store.
    pub store: String,
    /// What is shown, column by column.
    pub items: Vec<T>,
}

/// `procs` walked through on one training row: the first with neither a competitor distance (FillMissing's case)
/// nor its opening year (Categorify's `#na#`), else the first without a distance, else the first row: each column's
/// steps.
pub fn procs_walkthrough(table: &RossmannTable, prepared: &Prepared) -> RowExample<ProcStep> {
    let train = &prepared.train;
    let gap = |name: &str, i: usize| table.table.column(name).is_ok_and(|c| c.is_missing(table.train_rows[i]));
    let rows = 0..table.train_rows.len();
    let i = rows
        .clone()
        .find(|&i| gap("CompetitionDistance", i) && gap("CompetitionOpenSinceYear", i))
        .or_else(|| rows.clone().find(|&i| gap("CompetitionDistance", i)))
        .unwrap_or(0);
    let Some(&r) = table.train_rows.get(i) else { return RowExample { date: String::new(), store: String::new(), items: vec![] } };
    let cell = |name: &str| table.table.column(name).map(|c| cell_text(c, r)).unwrap_or_default();
    let (k, n) = (train.cat_names.len(), train.cont_names.len());
    let mut steps = Vec::new();
    for (j, name) in train.cat_names.iter().enumerate() {
        let code = train.cats[i * k + j] as usize;
        let value = train.vocabs[j].get(code).cloned().unwrap_or_default();
        let result = format!("code {code} ({value}) of {}", train.vocabs[j].len());
        let step = match name.strip_suffix("_na").filter(|base| train.cont_names.iter().any(|c| c == base)) {
            Some(base) => ProcStep {
                column: name.clone(),
                raw: format!("({} {})", base, if table.table.column(base).is_ok_and(|c| c.is_missing(r)) { "empty" } else { "present" }),
                fill: format!("added: is {base} missing?"),
                result,
            },
            None => ProcStep { column: name.clone(), raw: cell(name), fill: String::new(), result },
        };
        steps.push(step);
    }
    for (j, name) in train.cont_names.iter().enumerate() {
        let raw = cell(name);
        let logged = name == "CompetitionDistance";
        let median = train.filled.iter().find(|(c, _)| c == name).map(|&(_, m)| m);
        let value = table.table.numbers(name).ok().and_then(|v| v[r]).map(|x| if logged { x.ln() } else { x });
        let (x, fill) = match (value, median) {
            (Some(x), _) => (x, String::new()),
            (None, Some(m)) => (m, format!("the training median{}, {m:.3}", if logged { " of log(distance)" } else { "" })),
            (None, None) => (0.0, String::new()),
        };
        let (mean, std) = train.stats.get(j).copied().unwrap_or((0.0, 1.0));
        let shown = if logged && value.is_some() { format!("log {raw} = {x:.3}") } else { format!("{x:.3}") };
        let result = format!("({shown} − {mean:.3}) / {std:.3} = {:+.3}", train.conts[i * n + j]);
        steps.push(ProcStep { column: name.clone(), raw, fill, result });
    }
    RowExample { date: cell("Date"), store: cell("Store"), items: steps }
}

/// A row two days before a public holiday, with the notebook's holiday and promotion features: each feature's name
/// and value.
pub fn elapsed_example(table: &RossmannTable) -> Option<RowExample<(&'static str, String)>> {
    let before = table.table.numbers("BeforeStateHoliday").ok()?;
    let r = (0..table.table.rows()).find(|&r| before[r] == Some(-2.0))?;
    let names = ["StateHoliday", "AfterStateHoliday", "BeforeStateHoliday", "StateHoliday_bw", "StateHoliday_fw", "Promo", "Promo_bw", "Promo_fw"];
    let cell = |name: &str| table.table.column(name).map(|c| cell_text(c, r)).unwrap_or_default();
    Some(RowExample { date: cell("Date"), store: cell("Store"), items: names.iter().map(|&n| (n, cell(n))).collect() })
}

/// The lesson's calls, from the notebook, with what each does here.
pub const LESSON_CALLS: &str = "procs = [FillMissing, Categorify, Normalize]\n\
data = (TabularList.from_df(df, path=path, cat_names=cat_vars, cont_names=cont_vars, procs=procs)\n\
\x20       .split_by_idx(valid_idx)\n\
\x20       .label_from_df(cols=dep_var, label_cls=FloatList, log=True)\n\
\x20       .databunch())                          # batches of 64: fastai 1's default\n\
max_log_y = np.log(np.max(train_df['Sales'])*1.2)\n\
y_range = torch.tensor([0, max_log_y], device=defaults.device)\n\
learn = tabular_learner(data, layers=[1000,500], ps=[0.001,0.01], emb_drop=0.04,\n\
\x20                       y_range=y_range, metrics=exp_rmspe)\n\
learn.fit_one_cycle(5, 1e-3, wd=0.2)";

/// The embedding widths of the 2019 lesson's printout, beside the rule this page uses.
pub fn embedding_rule_note(prepared: &Prepared) -> String {
    let stores = prepared.train.cat_names.iter().position(|c| c == "Store").map(|j| prepared.train.cardinalities()[j]);
    let example = stores.map_or(String::new(), |n| {
        format!(" For this table's Store column, n = {n}: width {} by the old rule, {} by the new.", (n / 2 + 1).min(50), TabularConfig::embedding_size(n))
    });
    format!(
        "The 2019 lesson's printout shows other widths, such as Embedding(1116, 50) for the real data's stores: the fastai 1 \
         release of the lecture picked min(50, n // 2 + 1). Later fastai 1 releases changed to min(600, round(1.6 × n^0.56)), \
         the rule fastai 2 keeps and this page uses.{example}"
    )
}

/// Each categorical column of `prepared` with its number of values and its embedding width.
pub fn embedding_table(prepared: &Prepared) -> Vec<(String, usize, usize)> {
    prepared.train.cat_names.iter().zip(prepared.train.cardinalities()).map(|(n, c)| (n.clone(), c, TabularConfig::embedding_size(c))).collect()
}

/// The lesson's model in training on the table.
type TabularTrainer = Trainer<TabularModel, TabularSet>;

/// A training run of the lesson's model as the lesson trains it, `fit_one_cycle(epochs, 1e-3, wd=0.2)` in batches
/// of 64 (AdamW, mean squared error on `log(Sales)`, RMSPE after each epoch), with embedding dropout `emb_drop`,
/// the model's weights and the batches' order drawn from `seed`.
fn trainer(device: &Device, prepared: &Prepared, epochs: usize, emb_drop: f32, seed: u64) -> Result<TabularTrainer, String> {
    let config = TabularConfig { emb_drop, ..State::config(prepared) };
    let model = TabularModel::new(device, config, &mut Rng::new(seed)).map_err(|e| e.to_string())?;
    let config = FitConfig { epochs, batch_size: BATCH, lr_max: LR, seed, read_every: 16, loss: Loss::Mse, metric: Metric::Rmspe };
    Ok(Trainer::new(device, model, Optimizer::adamw(WD), prepared.train.clone(), prepared.valid.clone(), config))
}

/// The embedding-dropout comparison: the lesson's model trained with `emb_drop` 0 and 0.04, each with every seed
/// of [`COMPARISON_SEEDS`], alternating, as one sequence of runs labelled by their setting.
pub fn comparison_runs(device: &Device, prepared: &Prepared, epochs: usize) -> Result<Vec<(String, TabularTrainer)>, String> {
    let mut runs = Vec::new();
    for seed in COMPARISON_SEEDS {
        for p in [0.0, EMB_DROP] {
            runs.push((emb_drop_label(p).to_string(), trainer(device, prepared, epochs, p, seed)?));
        }
    }
    Ok(runs)
}

fn emb_drop_label(p: f32) -> &'static str {
    if p == 0.0 { "emb_drop 0" } else { "emb_drop 0.04" }
}

/// The comparison's results, `(label, validation RMSPE)` in the order the runs ended, said in words
/// ([`seeds_verdict`]).
pub fn comparison_text(results: &[(String, f32)]) -> String {
    let settings = [(emb_drop_label(0.0), "without embedding dropout"), (emb_drop_label(EMB_DROP), "with 0.04")];
    seeds_verdict(results, settings, "RMSPE", "embedding dropout's effect")
}

/// What a trained model learned about `column`.
#[derive(Clone, Debug, PartialEq)]
pub struct Learned {
    /// For each value: the mean log prediction over validation rows without a promotion or holiday, with the
    /// column set to that value (the rest of each row unchanged), less the mean over the values; beside the
    /// generator's true effect on the same scale, `log(factor)` less its mean. `(value, learned, true)`.
    pub effects: Vec<(String, f64, f64)>,
    /// The embedding: each value with its learned vector.
    pub vectors: Vec<(String, Vec<f32>)>,
}

/// [`Learned`] for `column` of the model `trainer` holds, measured on the validation set's `ordinary` rows (no
/// promotion, no holiday: [`RossmannTable::ordinary_valid_rows`]). The model is borrowed only while the forward
/// pass is recorded, never across a read.
#[allow(clippy::await_holding_refcell_ref)] // the borrow ends with the block below, before the reads
pub async fn learned_effects(trainer: &RefCell<TabularTrainer>, column: &str, ordinary: &[usize]) -> Result<Learned, String> {
    let (out, table, rows, values, vocab) = {
        let mut trainer = trainer.try_borrow_mut().map_err(|_| "the model is training".to_string())?;
        let valid = trainer.valid_set();
        let Some(col) = valid.cat_names.iter().position(|c| c == column) else {
            return Err(format!("{column} is not a categorical column in this run, so it has no embedding: make it categorical and train again."));
        };
        let vocab = valid.vocabs[col].clone();
        let k = valid.cat_names.len();
        let rows: Vec<usize> = ordinary.iter().copied().filter(|&r| r < valid.rows()).take(PROBE_ROWS).collect();
        let values: Vec<usize> = (1..vocab.len()).filter(|&v| true_effect(column, &vocab[v]).is_some()).collect();
        if rows.is_empty() || values.is_empty() {
            return Err("there are no ordinary validation days to measure on".into());
        }
        let mut probe = valid.subset(&rows.iter().copied().cycle().take(rows.len() * values.len()).collect::<Vec<_>>());
        for (i, &v) in values.iter().enumerate() {
            for r in 0..rows.len() {
                probe.cats[(i * rows.len() + r) * k + col] = v as i64;
            }
        }
        let all: Vec<usize> = (0..probe.rows()).collect();
        let (input, _) = probe.batch(&trainer.device, &all);
        let model = &mut trainer.model;
        model.set_training(false);
        let out = model.forward(&input).map_err(|e| e.to_string());
        model.set_training(true);
        (out?, model.embeddings[col].value.clone(), rows.len(), values, vocab)
    };
    let out = out.read().await.map_err(|e| e.to_string())?;
    let table = table.read().await.map_err(|e| e.to_string())?;
    let mean = |i: usize| out.data()[i * rows..(i + 1) * rows].iter().map(|&v| v as f64).sum::<f64>() / rows as f64;
    let learned: Vec<f64> = (0..values.len()).map(mean).collect();
    let true_log: Vec<f64> = values.iter().map(|&v| true_effect(column, &vocab[v]).unwrap_or(1.0).ln()).collect();
    let centre = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (cl, ct) = (centre(&learned), centre(&true_log));
    let width = table.shape().dims()[1];
    Ok(Learned {
        effects: values.iter().enumerate().map(|(i, &v)| (vocab[v].clone(), learned[i] - cl, true_log[i] - ct)).collect(),
        vectors: vocab.into_iter().zip(table.data().chunks(width).map(<[f32]>::to_vec)).collect(),
    })
}

/// The generator's factor for `value` of `column` (day of week 1–7, store type a–d).
fn true_effect(column: &str, value: &str) -> Option<f64> {
    match column {
        "DayOfWeek" => value.parse::<usize>().ok().and_then(|d| Factors::WEEKDAY.get(d.checked_sub(1)?)).copied(),
        "StoreType" => ["a", "b", "c", "d"].iter().position(|t| *t == value).map(|i| Factors::TYPE[i]),
        _ => None,
    }
}

/// The page's handle on the last run's trainer, to read its model once the run ends.
/// The training worker's names for this lesson's run and its comparison of embedding dropout.
pub const TRAIN_JOB: &str = "tabular.train";
/// See [`TRAIN_JOB`].
pub const COMPARISON_JOB: &str = "tabular.emb_drop";

/// A run (or the comparison) with the columns of `state` for `epochs`, as a recipe for the training worker, which
/// generates the same table as the page.
fn job_recipe(job: &str, state: &State, epochs: usize) -> Recipe {
    recipe(job, &[("cats", state.cats.join(",")), ("conts", state.conts.join(",")), ("epochs", epochs.to_string())])
}

/// The sets and epochs of a [`job_recipe`].
fn prepared_of(r: &Recipe) -> Result<(Prepared, usize), String> {
    let names = |key: &str| setting::<String>(r, key).map(|list| list.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect::<Vec<_>>());
    let (cats, conts) = (names("cats")?, names("conts")?);
    let table = page_table();
    check_roles(&table, &cats, &conts)?;
    Ok((State { cats, conts }.prepare(&table), setting(r, "epochs")?))
}

/// In the worker: the run of a [`TRAIN_JOB`] recipe, on the CPU.
pub fn train_job(r: &Recipe) -> Result<Box<dyn Job>, String> {
    let (prepared, epochs) = prepared_of(r)?;
    Ok(Box::new(trainer(&Device::Cpu, &prepared, epochs, EMB_DROP, SEED)?))
}

/// In the worker: the comparison of a [`COMPARISON_JOB`] recipe, on the CPU; `on_run_end` hears each run's end.
pub fn comparison_job(r: &Recipe, on_run_end: RunEnd) -> Result<Box<dyn Job>, String> {
    let (prepared, epochs) = prepared_of(r)?;
    let runs = comparison_runs(&Device::Cpu, &prepared, epochs)?;
    Ok(Box::new(Sequence::new(runs, move |label: &str, metric: f32| on_run_end(label, metric))))
}

type TrainedSlot = StoredValue<Option<Rc<RefCell<TabularTrainer>>>, LocalStorage>;

/// One finished run, for the comparison table.
#[derive(Clone, Debug, PartialEq)]
struct Run {
    columns: String,
    epochs: usize,
    rmspe: f64,
}

/// A short description of a choice of columns: what differs from the lesson's.
fn describe_choice(state: &State) -> String {
    let default = State::default();
    let mut changes: Vec<String> = Vec::new();
    for c in &state.conts {
        if !default.conts.contains(c) {
            changes.push(format!("{c} as a number"));
        }
    }
    for c in &state.cats {
        if !default.cats.contains(c) {
            changes.push(format!("{c} as a category"));
        }
    }
    for c in default.cats.iter().chain(&default.conts) {
        if !state.cats.contains(c) && !state.conts.contains(c) {
            changes.push(format!("without {c}"));
        }
    }
    if changes.is_empty() { "the lesson's choice".into() } else { changes.join(", ") }
}

/// The page.
#[component]
pub fn Tabular() -> impl IntoView {
    let table = StoredValue::new_local(page_table());
    let facts = StoredValue::new_local(table.with_value(Facts::of));
    let mut params = Params::from_location();
    let (roles, clash) = table.with_value(|t| roles_from(t, params.query()));
    let state = RwSignal::new(roles);
    params.write(CATS.key, move || Some(state.get().cats.join(",")));
    params.write(CONTS.key, move || Some(state.get().conts.join(",")));
    let (first_row, epochs, effect) = (params.get(&FIRST_ROW), params.get(&EPOCHS), params.get(&EFFECT));
    let mut notices = params.notices();
    notices.extend(clash);
    params.sync();

    let prepared = Memo::new(move |_| table.with_value(|t| state.get().prepare(t)));
    let training = Training::default();
    let trained: TrainedSlot = StoredValue::new_local(None);
    let code = Signal::derive(move || table.with_value(|t| state.get().pytorch(t)));

    view! {
        <LessonPage
            class="tabular"
            title="A tabular model: Rossmann sales"
            lede="The lesson's last model predicts a store's sales for a day from a table: store, day of the week, \
                  promotions, holidays, competitors, weather. Categorical columns go through embeddings, continuous ones \
                  through batch norm, then two hidden layers. This table is synthetic, generated from a known process, \
                  so we know the best error any model could reach and what the true effects are."
            notices
        >
            <TableBrowser table facts state first_row/>
            <FromTheDate table facts/>
            <Roles table state busy=Signal::derive(move || training.state.get().active())/>
            <Procs table prepared/>
            <Target facts/>
            <section class="embeddings">
                <h2>"Embedding sizes"</h2>
                <p>"fastai's rule of thumb gives a column with n values (#na# included, for missing or unseen values) an embedding of min(600, round(1.6 × n^0.56)) numbers."</p>
                <p data-testid="embedding-rule-2019">{move || embedding_rule_note(&prepared.get())}</p>
                <table data-testid="embedding-sizes">
                    <thead><tr><th scope="col">"column"</th><th scope="col">"values n"</th><th scope="col">"width"</th><th scope="col">"parameters"</th></tr></thead>
                    <tbody>
                        {move || embedding_table(&prepared.get()).into_iter().map(|(n, c, w)| view! {
                            <tr><th scope="row">{n}</th><td>{c}</td><td>{w}</td><td>{c * w}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
            <ModelAndRange prepared facts/>
            <TrainingSection prepared state epochs training trained facts/>
            <EmbDropComparison prepared state epochs busy=Signal::derive(move || training.state.get().active())/>
            <LearnedEffects table training trained effect/>
            <CodePanel code/>
        </LessonPage>
    }
}

/// The table, ten rows at a time, each column's type and use.
#[component]
fn TableBrowser(table: StoredValue<RossmannTable, LocalStorage>, facts: StoredValue<Facts, LocalStorage>, state: RwSignal<State>, first_row: RwSignal<usize>) -> impl IntoView {
    let total_rows = facts.with_value(|f| f.total_rows);
    let headers = facts.with_value(|f| f.headers.clone());
    let at_end = move || first_row.get() + PAGE_ROWS >= total_rows;
    view! {
        <section class="table-browser">
            <h2>"The table"</h2>
            <p data-testid="table-text">{facts.with_value(Facts::table_text)}</p>
            <div class="controls">
                <button type="button" data-testid="rows-previous" disabled=move || first_row.get() == 0
                    on:click=move |_| first_row.update(|r| *r = r.saturating_sub(PAGE_ROWS))>"Previous rows"</button>
                <button type="button" data-testid="rows-next" disabled=at_end
                    on:click=move |_| first_row.update(|r| *r = FIRST_ROW.settle(*r + PAGE_ROWS))>"Next rows"</button>
                <span class="status" aria-live="polite" data-testid="rows-shown">{move || facts.with_value(|f| f.rows_shown(first_row.get()))}</span>
            </div>
            <div class="scroll" tabindex="0" role="group" aria-label="Scrollable table">
                <table class="data" data-testid="table-rows">
                    <thead>
                        <tr>{headers.iter().map(|(n, _)| view! { <th scope="col">{n.clone()}</th> }).collect_view()}</tr>
                        <tr class="types">{headers.iter().map(|(n, kind)| {
                            let n = n.clone();
                            view! { <td>{*kind} <br/> <em>{move || state.get().role_of(&n)}</em></td> }
                        }).collect_view()}</tr>
                    </thead>
                    <tbody>
                        {move || table.with_value(|t| Facts::page_of_rows(t, first_row.get())).into_iter().map(|row| view! {
                            <tr>{row.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// The choice of categorical and continuous columns.
#[component]
fn Roles(table: StoredValue<RossmannTable, LocalStorage>, state: RwSignal<State>, busy: Signal<bool>) -> impl IntoView {
    let columns = table.with_value(usable);
    view! {
        <section class="roles">
            <h2>"Categorical or continuous"</h2>
            <p>
                "A categorical column gets an embedding: a learned vector per value, so each day of the week or each store "
                "can have any effect at all. A continuous column enters as one normalised number: a ReLU network can still "
                "bend it into any piecewise-linear shape, but neighbouring values start out treated alike, and every kink "
                "costs units the network must learn. Store 7 is not “one more” than store 6, and Saturday (6) is not “a bit more "
                "Friday”: as numbers they force an order and a distance that mean nothing. Distance to a competitor, on the "
                "other hand, is a real quantity. Change a column, train, and compare the runs below."
            </p>
            <p data-testid="notebook-lists">{format!(
                "The lesson's choice is the notebook's: cat_vars and cont_vars, here the {} and {} of them this table has. Numbers \
                 such as Year, Week, CompetitionMonthsOpen and the seven-day counts are categories there, while Promo and \
                 SchoolHoliday, 0 or 1, are continuous. The synthetic table leaves out {}: the rest of the weather and the Google \
                 Trends series.",
                CATEGORICAL.len(),
                CONTINUOUS.len(),
                LEFT_OUT.join(", "),
            )}</p>
            <div class="controls">
                <button type="button" data-testid="roles-lesson" disabled=busy on:click=move |_| state.set(State::default())>
                    "The lesson's choice (the notebook's lists)"
                </button>
                <button type="button" data-testid="roles-numbers" disabled=busy on:click=move |_| state.set(State::as_numbers())>
                    "Store and day of week as numbers"
                </button>
            </div>
            <table class="role-choice" data-testid="roles">
                <thead><tr><th scope="col">"column"</th><th scope="col">"stored as"</th><th scope="col">"used as"</th></tr></thead>
                <tbody>
                    {columns.into_iter().map(|(name, number)| {
                        let n = name.clone();
                        let options: Vec<&'static str> = if number { vec!["categorical", "continuous", "not used"] } else { vec!["categorical", "not used"] };
                        view! {
                            <tr>
                                <th scope="row">{name.clone()}</th>
                                <td>{if number { "number" } else { "text" }}</td>
                                <td>
                                    <select aria-label=format!("{name} used as") data-testid=format!("role-{name}") disabled=busy
                                        on:change=move |ev| state.update(|s| *s = table.with_value(|t| s.with_role(t, &n, &event_target_value(&ev))))>
                                        {options.into_iter().map(|o| {
                                            let n = name.clone();
                                            view! { <option value=o selected=move || state.get().role_of(&n) == o>{o}</option> }
                                        }).collect_view()}
                                    </select>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// What the cleaning notebook built from the date and the calendar, and where the table has gaps.
#[component]
fn FromTheDate(table: StoredValue<RossmannTable, LocalStorage>, facts: StoredValue<Facts, LocalStorage>) -> impl IntoView {
    let example = table.with_value(elapsed_example);
    view! {
        <section class="from-the-date">
            <h2>"What the notebook builds from the date"</h2>
            <p data-testid="datepart-text">{format!(
                "A date is one value a model cannot use as it is. The cleaning notebook calls add_datepart(train, \"Date\", drop=False), \
                 which keeps the Date and adds {}: pandas' own date attributes (Week is the ISO week, Dayofweek counts from 0 = Monday, \
                 Elapsed is seconds since 1970). The lesson uses Year, Month, Week and Day as categories; the rest sit in the table unused.",
                dates::DATEPART.join(", ")
            )}</p>
            <p>
                "It then runs get_elapsed over each store's days, closed ones included: AfterStateHoliday counts the days since the last "
                "public holiday, BeforeStateHoliday the days until the next (negative), and the same for SchoolHoliday and Promo. A rolling "
                "window counts how many of the 7 days up to a day (_bw) and from it (_fw) are holidays or promotion days: in the real data, "
                "shoppers stock up before a closed day. This table's process has no such effect, so here these are columns a model must "
                "learn to ignore. The notebook ran these on the training and test rows together, so the last days of July could see "
                "the test weeks after them; here the calendar runs on for the same 48 days."
            </p>
            {example.map(|RowExample { date, store, items: values }| view! {
                <table data-testid="elapsed-example">
                    <caption>{format!("Store {store} on {date}, two days before a public holiday")}</caption>
                    <thead><tr>{values.iter().map(|(n, _)| view! { <th scope="col">{*n}</th> }).collect_view()}</tr></thead>
                    <tbody><tr>{values.into_iter().map(|(_, v)| view! { <td>{v}</td> }).collect_view()}</tr></tbody>
                </table>
            })}
            <p data-testid="missing-text">{facts.with_value(Facts::missing_text)}</p>
        </section>
    }
}

/// `procs=[FillMissing, Categorify, Normalize]` walked through on one training row.
#[component]
fn Procs(table: StoredValue<RossmannTable, LocalStorage>, prepared: Memo<Prepared>) -> impl IntoView {
    let walk = Memo::new(move |_| table.with_value(|t| procs_walkthrough(t, &prepared.get())));
    view! {
        <section class="procs">
            <h2>"procs=[FillMissing, Categorify, Normalize]"</h2>
            <p>
                "Three steps turn the table into numbers, each fitted on the training rows only, then applied unchanged to the "
                "validation rows. FillMissing puts the training median into the gaps of a continuous column that has gaps in its "
                "training rows, and adds a column <name>_na that says where it did, itself a category. Categorify lists each categorical column's training values in "
                "order, with #na# first for a gap or a value never seen in training, and replaces each value by its position, the row "
                "of its embedding. Normalize turns each continuous value x into (x − mean) / std, with the training rows' mean and "
                "standard deviation. One training row, column by column:"
            </p>
            {move || {
                let RowExample { date, store, items: steps } = walk.get();
                view! {
                    <div class="scroll" tabindex="0" role="group" aria-label="Scrollable table">
                        <table data-testid="procs-row">
                            <caption>{format!("Store {store} on {date}")}</caption>
                            <thead><tr>
                                <th scope="col">"column"</th><th scope="col">"in the table"</th>
                                <th scope="col">"FillMissing"</th><th scope="col">"Categorify or Normalize"</th>
                            </tr></thead>
                            <tbody>
                                {steps.into_iter().map(|s| view! {
                                    <tr><th scope="row">{s.column}</th><td>{s.raw}</td><td>{s.fill}</td><td>{s.result}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
            }}
        </section>
    }
}

/// Embedding dropout 0 against the lesson's 0.04, over several seeds, trained by the learner.
#[component]
fn EmbDropComparison(prepared: Memo<Prepared>, state: RwSignal<State>, epochs: RwSignal<usize>, busy: Signal<bool>) -> impl IntoView {
    let training = Training::default();
    let results = RwSignal::new(Vec::<(String, f32)>::new());
    let start: StartJob = Rc::new(move |device: Device| {
        results.set(Vec::new());
        let on_end = move |label: &str, rmspe: f32| results.update(|r| r.push((label.to_string(), rmspe)));
        let recipe = job_recipe(COMPARISON_JOB, &state.get_untracked(), epochs.get_untracked());
        let (p, epochs) = (prepared.get_untracked(), epochs.get_untracked());
        let runs = move || async move { comparison_runs(&device, &p, epochs) };
        Started::portable(Rc::new(RefCell::new(Sequence::lazy(runs, on_end))), recipe)
    });
    let runs = COMPARISON_SEEDS.len() * 2;
    let total_steps = Signal::derive(move || prepared.with(|p| p.train.rows().div_ceil(BATCH)) * epochs.get() * runs);
    view! {
        <section class="emb-drop">
            <h2>"Embedding dropout: 0 against 0.04"</h2>
            <p>{format!(
                "emb_drop zeroes each number of the joined embeddings with probability 0.04 while training (the rest scaled by 1/0.96), so \
                 that the model cannot lean on any one of them. Does it help here? This trains the lesson's model {runs} times, with and \
                 without it, with seeds {} each (the seed draws the weights and the batches), for the epochs chosen above, one run \
                 after another. The difference of two runs means something only beside the spread between seeds."
                , COMPARISON_SEEDS.map(|s| s.to_string()).join(", ")
            )}</p>
            {move || busy.get().then(|| view! { <p class="status">"The training above is still running: both at once, each goes at half the speed."</p> })}
            <SeedRuns training start total_steps results seeds=&COMPARISON_SEEDS verdict=comparison_text metric="rmspe" testid="emb-drop"/>
        </section>
    }
}

/// Why the target is log(Sales), and the noise floor of RMSPE.
#[component]
fn Target(facts: StoredValue<Facts, LocalStorage>) -> impl IntoView {
    let distinct_sales = facts.with_value(|f| f.distinct_sales);
    view! {
        <section class="target">
            <h2>"The target: log(Sales), a regression"</h2>
            <p data-testid="target-kind">{format!(
                "Sales are whole euros. Given an integer target, fastai would make this a classification: one output per distinct \
                 value, {distinct_sales} classes here, where predicting 5,001 euros for a 5,000-euro day is as wrong as predicting 50. \
                 As a float, log(Sales) makes it a regression with one output. The log also turns the table's multiplicative effects \
                 (a promotion adds 25%, not 1,000 euros) into sums, and the competition's metric is a percentage error:"
            )}</p>
            <p class="formula">"RMSPE = √( mean( ((y − ŷ) / y)² ) ), with ŷ = exp(the model's output)"</p>
            <p data-testid="log-approximates-rmspe">
                "Training minimises the mean squared error of the logs instead, and that is nearly the same thing: for a small "
                "error, log ŷ − log y = log(1 + (ŷ − y)/y) ≈ (ŷ − y)/y, so the root of the mean squared log error is close to "
                "the RMSPE (for a 10% error the two differ by about 5% of it). This is why the lesson passes "
                <code>"log=True"</code>" with "<code>"label_cls=FloatList"</code>" and reports "<code>"exp_rmspe"</code>"."
            </p>
            <p data-testid="noise-floor">{facts.with_value(Facts::floor_text)}</p>
        </section>
    }
}

/// How the printout relates to the lesson's and to fastai 2's: the model is fastai 1's, and fastai 2 would build
/// it without the hidden layers' biases.
pub fn fastai2_note(config: &TabularConfig) -> String {
    let biases: usize = config.hidden.iter().sum();
    format!(
        "Printed as the 2019 lesson printed it (fastai 1 on PyTorch 1.0), for the model this page trains. fastai 2 prints \
         the same model in blocks, LinBnDrop(Linear, ReLU, BatchNorm1d, Dropout), ends it with a SigmoidRange module for \
         y_range, and builds the hidden Linears with bias=False, by its rule of no bias where a batch norm follows (a rule \
         made for a batch norm right after the Linear; here a ReLU sits between them): {biases} fewer parameters, one for \
         each of the {} hidden units.",
        config.hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(" and "),
    )
}

/// `learn.model`, `learn.summary()`, and why `y_range` goes above the largest sale.
#[component]
fn ModelAndRange(prepared: Memo<Prepared>, facts: StoredValue<Facts, LocalStorage>) -> impl IntoView {
    let model = Memo::new(move |_| State::model(&prepared.get()).map(|(m, s)| (m.describe(), s)));
    let sigmoid_plot = Signal::derive(move || facts.with_value(|f| f.sigmoid_plot(prepared.with(|p| p.y_range))));
    view! {
        <section class="model">
            <h2>"learn.model and learn.summary()"</h2>
            <p data-testid="fastai-versions">{move || fastai2_note(&State::config(&prepared.get()))}</p>
            {move || match model.get() {
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Ok((printed, summary)) => view! {
                    <div class="side-by-side">
                        <pre class="code" data-testid="learn-model" tabindex="0" role="group" aria-label="The model, as PyTorch prints it">{printed}</pre>
                        <pre class="code" data-testid="learn-summary" tabindex="0" role="group" aria-label="The model summary">{summary.to_string()}</pre>
                    </div>
                }.into_any(),
            }}
        </section>
        <section class="y-range">
            <h2>"Why y_range goes above the largest sale"</h2>
            <LinePlot series=sigmoid_plot x_max=Signal::derive(|| 10.0) x_label="x (the last layer's output)" y_label="log sales" testid="sigmoid-plot"/>
            <p data-testid="y-range-text">{move || facts.with_value(|f| f.sigmoid_text(prepared.with(|p| p.y_range)))}</p>
        </section>
    }
}

/// What the embeddings learned about a column, beside the generator's truth, once a run ends.
#[component]
fn LearnedEffects(table: StoredValue<RossmannTable, LocalStorage>, training: Training, trained: TrainedSlot, effect: RwSignal<&'static str>) -> impl IntoView {
    let ordinary = StoredValue::new_local(table.with_value(RossmannTable::ordinary_valid_rows));
    let learned = LocalResource::new(move || {
        let (state_now, column) = (training.state.get(), effect.get());
        let job = trained.get_value();
        let ordinary = ordinary.get_value();
        async move {
            if !matches!(state_now, RunState::Done | RunState::Stopped) {
                return None;
            }
            Some(learned_effects(&*job?, column, &ordinary).await)
        }
    });
    view! {
        <section class="learned">
            <h2>"What the embeddings learned"</h2>
            <p>
                "After training, set one column of 128 ordinary validation days (no promotion, no holiday) to each of its values "
                "and average the model's log prediction: that is what the model learned about the value, everything else equal. "
                "Beside it, the generator's true effect on the same scale (log of its factor), both centred on their mean. "
                "The store's own embedding can also carry its type, so the store type's may learn less than the truth."
            </p>
            {select(&EFFECT, effect, "Column ", "effect")}
            {move || match learned.get().flatten() {
                None => view! { <p class="status" data-testid="effects-status">"Train the model (or stop a run) to see what it learned."</p> }.into_any(),
                Some(Err(e)) => view! { <p class="notice" data-testid="effects-status">{e}</p> }.into_any(),
                Some(Ok(Learned { effects, vectors })) => view! {
                    <div class="side-by-side">
                        <table data-testid="effects">
                            <caption>{format!("{}: learned and true effects", effect.get_untracked())}</caption>
                            <thead><tr><th scope="col">"value"</th><th scope="col">"learned (log)"</th><th scope="col">"true (log)"</th></tr></thead>
                            <tbody>
                                {effects.into_iter().map(|(v, l, t)| view! { <tr><th scope="row">{v}</th><td>{format!("{l:+.3}")}</td><td>{format!("{t:+.3}")}</td></tr> }).collect_view()}
                            </tbody>
                        </table>
                        <table class="embedding-vectors" data-testid="embedding-vectors">
                            <caption>{format!("{}'s embedding: one learned vector per value", effect.get_untracked())}</caption>
                            <tbody>
                                {vectors.into_iter().map(|(v, vector)| view! {
                                    <tr><th scope="row">{v}</th>{vector.into_iter().map(|x| view! { <td>{format!("{x:.3}")}</td> }).collect_view()}</tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

/// The training section: the epochs, the runner, the RMSPE against the floor, and every finished run.
#[component]
fn TrainingSection(
    prepared: Memo<Prepared>,
    state: RwSignal<State>,
    epochs: RwSignal<usize>,
    training: Training,
    trained: TrainedSlot,
    facts: StoredValue<Facts, LocalStorage>,
) -> impl IntoView {
    let runs = RwSignal::new(Vec::<Run>::new());
    let run_choice = StoredValue::new_local((String::new(), 0usize));
    let start: StartJob = Rc::new(move |device: Device| {
        let p = prepared.get_untracked();
        run_choice.set_value((describe_choice(&state.get_untracked()), epochs.get_untracked()));
        match trainer(&device, &p, epochs.get_untracked(), EMB_DROP, SEED) {
            Ok(job) => {
                let job = Rc::new(RefCell::new(job));
                trained.set_value(Some(job.clone()));
                Started::portable(job, job_recipe(TRAIN_JOB, &state.get_untracked(), epochs.get_untracked()))
            }
            // No choice the controls allow is refused; should one be, the runner says why and nothing is lost.
            Err(e) => Started::here(Refused(e)),
        }
    });
    Effect::new(move || {
        if matches!(training.state.get(), RunState::Done | RunState::Stopped)
            && let Some(last) = training.epochs.get_untracked().last()
        {
            let (columns, epochs) = run_choice.get_value();
            runs.update(|r| r.push(Run { columns, epochs, rmspe: last.2 }));
        }
    });
    let steps_per_epoch = move || prepared.with(|p| engine::learner::steps_per_epoch(p.train.rows(), BATCH));
    view! {
            <section class="train">
                <h2>"Training"</h2>
                <p>"The lesson's calls, from the notebook:"</p>
                <pre class="code" data-testid="lesson-calls" tabindex="0" role="group" aria-label="The lesson's calls">{LESSON_CALLS}</pre>
                <p data-testid="training-text">{move || format!(
                    "This page trains with the same settings: batches of {BATCH} ({} steps an epoch), fit_one_cycle to a learning rate of \
                     {LR} with AdamW's weight decay of {WD}, mean squared error on log(Sales), RMSPE on the validation rows after each \
                     epoch. layers=[1000,500] are the two hidden layers' widths; ps=[0.001,0.01] the dropout probability after each of \
                     them (0.1% and 1%); emb_drop={EMB_DROP} the dropout on the joined embeddings (see /dropout). One difference: the \
                     notebook's train_df still holds the validation weeks when it takes the largest sale for y_range; this page takes \
                     the training rows' largest.", steps_per_epoch()
                )}</p>
                <div class="controls">{select(&EPOCHS, epochs, "Epochs ", "epochs")}</div>
                <TrainingRunner training start total_steps=Signal::derive(move || steps_per_epoch() * epochs.get()) label="Train the model here" metric="rmspe"/>
                <p class="sum" data-testid="rmspe-vs-floor" aria-live="polite">{move || training.epochs.get().last().map(|e| facts.with_value(|f| f.rmspe_text(e.2)))}</p>
                <table class="runs" data-testid="runs">
                    <caption>"Runs so far"</caption>
                    <thead><tr><th scope="col">"columns"</th><th scope="col">"epochs"</th><th scope="col">"validation RMSPE"</th><th scope="col">"× floor"</th></tr></thead>
                    <tbody>
                        {move || runs.get().into_iter().map(|r| view! {
                            <tr><td>{r.columns}</td><td>{r.epochs}</td><td>{format!("{:.4}", r.rmspe)}</td><td>{format!("{:.2}", r.rmspe / facts.with_value(|f| f.floor))}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>

    }
}

/// A cell as the table browser shows it.
fn cell_text(column: &Column, row: usize) -> String {
    match column {
        Column::Text(v) => v[row].clone().unwrap_or_else(|| "#na#".into()),
        Column::Number(v) => v[row].map_or_else(|| "#na#".into(), |x| if x.fract() == 0.0 { format!("{x:.0}") } else { x.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_prepares_the_columns_the_page_sent() {
        let table = page_table();
        let numbers = State::as_numbers();
        let r = engine::safetensors::File::from_bytes(&job_recipe(TRAIN_JOB, &numbers, 3).to_bytes()).unwrap();
        let (prepared, epochs) = prepared_of(&r).unwrap();
        assert_eq!((prepared, epochs), (numbers.prepare(&table), 3));
        let clash = State { cats: vec!["Store".into()], conts: vec!["Store".into()] };
        assert!(prepared_of(&job_recipe(TRAIN_JOB, &clash, 1)).unwrap_err().contains("cannot be categorical and continuous at once"));
    }

    #[test]
    fn roles_are_checked() {
        let t = page_table();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(check_roles(&t, &s(&CATEGORICAL), &s(&CONTINUOUS)).is_ok());
        assert!(check_roles(&t, &s(&["Store"]), &s(&["DayOfWeek"])).is_ok());
        assert!(check_roles(&t, &s(&["Store"]), &s(&["Store"])).is_err(), "both");
        assert!(check_roles(&t, &s(&[]), &s(&["StoreType"])).unwrap_err().contains("text"));
        assert!(check_roles(&t, &s(&["Sales"]), &s(&[])).is_err(), "the target is not a feature");
        assert!(check_roles(&t, &s(&["Nope"]), &s(&[])).is_err());
        assert!(check_roles(&t, &s(&[]), &s(&[])).is_err());
    }

    #[test]
    fn the_page_s_facts_and_texts_follow_the_table() {
        let t = page_table();
        let facts = Facts::of(&t);
        assert_eq!(facts.total_rows, TABLE_ROWS, "the `rows` parameter's range is the table's");
        assert_eq!(FIRST_ROW.bounds().1, t.table.rows() - 1);
        assert_eq!(facts.rows_shown(0), format!("rows 1 to 10 of {TABLE_ROWS}"));
        assert_eq!(facts.rows_shown(TABLE_ROWS - 3), format!("rows {} to {TABLE_ROWS} of {TABLE_ROWS}", TABLE_ROWS - 2));
        assert_eq!(Facts::page_of_rows(&t, TABLE_ROWS - 3).len(), 3);
        assert_eq!(Facts::page_of_rows(&t, 0)[0].len(), facts.headers.len());
        let prepared = State::default().prepare(&t);
        assert!(facts.sigmoid_text(prepared.y_range).contains(&format!("{:.0} euros", facts.max_sale)));
        let plot = facts.sigmoid_plot(prepared.y_range);
        assert!(plot[0].points.iter().all(|&(_, y)| y < prepared.y_range.1 as f64), "the sigmoid stays under its top");
        assert!(facts.rmspe_text(2.0 * facts.floor).contains("2.00 times"));
        // The largest sale is the training rows' (what y_range is built from), not the whole table's.
        let sales = t.table.numbers("Sales").unwrap();
        let train_max = t.train_rows.iter().filter_map(|&r| sales[r]).fold(0.0f32, f32::max);
        assert_eq!(facts.max_sale, train_max);
        assert!(((facts.max_sale * 1.2).ln() - prepared.y_range.1).abs() < 1e-4, "{} vs {:?}", facts.max_sale, prepared.y_range);
        assert!(facts.table_text().contains("to 2015-07-31") && facts.table_text().contains("2015-06-20 to 2015-07-31"), "{}", facts.table_text());
        assert_eq!(facts.dates.0, dates::format(dates::date_of(engine::data::rossmann::LAST_DAY + 1 - DAYS as i64)));
        let missing = facts.missing_text();
        for column in ["CompetitionDistance", "CompetitionOpenSinceYear", "Promo2SinceWeek", "PromoInterval"] {
            assert!(missing.contains(&format!("{column} at ")), "{missing}");
        }
        let floor = facts.floor_text();
        assert!(floor.contains(&format!("{:.4}", noise_floor())) && floor.contains(&format!("{:.4}", median_floor())) && floor.contains("0.108"));
        assert_eq!(embedding_table(&prepared).len(), CATEGORICAL.len() + 1, "and FillMissing's CompetitionDistance_na");
        // A column moved from one role to another, in the table's order.
        let moved = State::default().with_role(&t, "Store", "continuous");
        assert_eq!(moved.role_of("Store"), "continuous");
        assert_eq!(moved.conts[0], "Store");
        assert_eq!(State::default().with_role(&t, "Month", "not used").role_of("Month"), "not used");
        assert_eq!(State::default().role_of("Sales"), "the target (as log)");
    }

    #[test]
    fn links_fall_back_with_a_notice() {
        let t = page_table();
        let (roles, clash) = roles_from(&t, &Query::parse("?cat=Store,Month&cont=Max_TemperatureC"));
        assert_eq!((roles.cats, roles.conts, clash), (vec!["Store".to_string(), "Month".to_string()], vec!["Max_TemperatureC".to_string()], None));
        let (roles, clash) = roles_from(&t, &Query::parse("?cat=Store&cont=Store"));
        assert_eq!(roles, State::default());
        assert!(clash.unwrap().contains("categorical and continuous"));
        let query = Query::parse("?cont=StoreType");
        let (roles, clash) = roles_from(&t, &query);
        assert_eq!((roles, clash), (State::default(), None));
        assert!(query.notices()[0].contains("holds text"), "{:?}", query.notices());
    }

    #[test]
    fn the_model_and_its_numbers_follow_the_choice() {
        let t = page_table();
        let lesson = State::default();
        let numbers = lesson.numbers(&t).unwrap();
        assert_eq!(numbers.shape, vec![SUMMARY_BATCH, 1]);
        let as_numbers = State::as_numbers();
        let fewer = as_numbers.numbers(&t).unwrap();
        assert!(fewer.checksum < numbers.checksum && fewer.window_sum < numbers.window_sum);
        // The printed model has one Embedding per categorical column, and one for FillMissing's CompetitionDistance_na.
        let (model, _) = State::model(&lesson.prepare(&t)).unwrap();
        assert_eq!(model.describe().matches("Embedding(").count(), CATEGORICAL.len() + 1);
        // The printout is fastai 1's, with the biases the model trains; the note counts what fastai 2 would drop.
        assert!(model.describe().contains("out_features=1000, bias=True)") && model.describe().contains("ReLU(inplace)"));
        assert!(fastai2_note(&model.config).contains("1500 fewer parameters, one for each of the 1000 and 500 hidden units"));
        assert!(lesson.pytorch(&t).contains("print(\"checksum:\""));
        assert_eq!(describe_choice(&as_numbers), "Store as a number, DayOfWeek as a number");
        assert!(check_roles(&t, &as_numbers.cats, &as_numbers.conts).is_ok());
    }

    #[test]
    fn training_lowers_the_rmspe_and_learns_the_weekday() {
        let t = page_table();
        let prepared = State::default().prepare(&t);
        let mut trainer = trainer(&Device::Cpu, &prepared, 3, EMB_DROP, SEED).unwrap();
        let reports = pollster::block_on(trainer.fit(|_, _| {}, |_| {})).unwrap();
        let (first, last) = (reports[0].metric, reports.last().unwrap().metric);
        assert!(last < first && last < 0.3, "RMSPE {first} → {last}");
        let trainer = RefCell::new(trainer);
        let ordinary = t.ordinary_valid_rows();
        let learned = pollster::block_on(learned_effects(&trainer, "DayOfWeek", &ordinary)).unwrap();
        let effects = learned.effects;
        assert_eq!(effects.len(), 7);
        assert_eq!(learned.vectors.len(), 8, "#na# and seven days (type b stores open on Sundays)");
        // Monday's true effect is the largest and Saturday's the smallest: the model finds the same order.
        let monday = effects.iter().find(|e| e.0 == "1").unwrap();
        let saturday = effects.iter().find(|e| e.0 == "6").unwrap();
        assert!(monday.1 > saturday.1 + 0.1, "{effects:?}");
        assert!(pollster::block_on(learned_effects(&trainer, "Nope", &ordinary)).is_err());
    }

    #[test]
    fn the_procs_walkthrough_shows_fill_missing_categorify_and_normalize_on_a_row_with_a_gap() {
        let t = page_table();
        let prepared = State::default().prepare(&t);
        let RowExample { date, store, items: steps } = procs_walkthrough(&t, &prepared);
        assert!(dates::parse(&date).is_some() && store.parse::<usize>().is_ok());
        let step = |name: &str| steps.iter().find(|s| s.column == name).unwrap_or_else(|| panic!("{name} in {steps:?}"));
        // The row chosen has no competitor distance: FillMissing's median, and its flag column set.
        let distance = step("CompetitionDistance");
        assert_eq!(distance.raw, "#na#");
        assert!(distance.fill.contains(&format!("{:.3}", prepared.train.filled[0].1)), "{distance:?}");
        assert_eq!(step("CompetitionDistance_na").result, "code 2 (True) of 3");
        assert!(step("CompetitionOpenSinceYear").result.starts_with("code 0 (#na#)"), "a gap in a category is #na#");
        // Categorify's code is the value's place in the training vocabulary; Normalize's sum is worked out.
        let weekday = step("DayOfWeek");
        assert_eq!(weekday.result, format!("code {} ({}) of 8", weekday.raw, weekday.raw), "days 1–7 sit at codes 1–7");
        let temperature = step("Max_TemperatureC");
        let (mean, std) = prepared.train.stats[prepared.train.cont_names.iter().position(|c| c == "Max_TemperatureC").unwrap()];
        let z = (temperature.raw.parse::<f32>().unwrap() - mean) / std;
        assert!(temperature.result.ends_with(&format!("= {z:+.3}")), "{temperature:?}");
        assert_eq!(steps.len(), prepared.train.cat_names.len() + prepared.train.cont_names.len());
        // The holiday example sits two days before a public holiday: the forward count sees it.
        let values = elapsed_example(&t).unwrap().items;
        let value = |n: &str| values.iter().find(|(c, _)| *c == n).unwrap().1.clone();
        assert_eq!(value("BeforeStateHoliday"), "-2");
        assert!(value("StateHoliday_fw").parse::<u32>().unwrap() >= 1);
        assert_eq!(value("StateHoliday"), "False");
        // The 2019 rule's note computes both widths for this table's stores.
        assert!(embedding_rule_note(&prepared).contains(&format!("n = {}: width {} by the old rule, {} by the new", STORES + 1, STORES / 2 + 1, TabularConfig::embedding_size(STORES + 1))));
    }

    #[test]
    fn the_emb_drop_comparison_runs_every_setting_and_seed_and_says_what_it_measured() {
        let t = page_table();
        let prepared = State::default().prepare(&t);
        let runs = comparison_runs(&Device::Cpu, &prepared, 1).unwrap();
        assert_eq!(runs.len(), 2 * COMPARISON_SEEDS.len());
        let results = Rc::new(RefCell::new(Vec::new()));
        let sink = results.clone();
        let mut sequence = Sequence::new(runs, move |label: &str, rmspe: f32| sink.borrow_mut().push((label.to_string(), rmspe)));
        let steps_per_run = prepared.train.rows().div_ceil(BATCH);
        assert_eq!(sequence.total_steps(), steps_per_run * 2 * COMPARISON_SEEDS.len());
        let mut last_step = 0;
        while !sequence.finished() {
            let report = pollster::block_on(sequence.step()).unwrap();
            assert_eq!((report.step, report.total), (last_step + 1, sequence.total_steps()), "steps count through the runs");
            last_step = report.step;
            if report.epoch_done {
                // In pieces, as the runner evaluates: a budget of 0 ms is one batch a call.
                while pollster::block_on(sequence.evaluate(0.0)).unwrap().is_none() {}
            }
        }
        let results = results.borrow().clone();
        assert_eq!(results.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["emb_drop 0", "emb_drop 0.04"].repeat(3));
        assert!(results.iter().all(|&(_, r)| r > 0.05 && r < 0.5), "{results:?}");
        // The sentence reports the measured means and says "noise" exactly when the means differ by less than a spread.
        let text = comparison_text(&results);
        let mean = |label: &str| results.iter().filter(|(l, _)| l == label).map(|&(_, v)| v as f64).sum::<f64>() / 3.0;
        assert!(text.contains(&format!("{:.4} without", mean("emb_drop 0"))) && text.contains(&format!("{:.4} with 0.04", mean("emb_drop 0.04"))), "{text}");
        let made_up = |a: f32, b: f32| vec![("emb_drop 0".to_string(), a), ("emb_drop 0.04".to_string(), b), ("emb_drop 0".to_string(), a + 0.001), ("emb_drop 0.04".to_string(), b + 0.001)];
        assert!(comparison_text(&made_up(0.120, 0.1205)).contains("lost in the noise"));
        assert!(comparison_text(&made_up(0.130, 0.110)).contains("emb_drop 0.04 ends 0.0200 lower"));
        assert!(comparison_text(&made_up(0.110, 0.130)).contains("higher"));
        assert_eq!(comparison_text(&[]), "");
    }
}
