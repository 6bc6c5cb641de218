//! A synthetic Rossmann-like sales table (the lesson's Kaggle competition, rebuilt from a known process so that
//! the best possible error is known).
//!
//! # Generating process
//!
//! `stores` stores are followed for `days` consecutive days from Wednesday 2014-01-01. Stores are closed on
//! Sundays, so Sundays have no rows. Every store draws, once:
//! - a type `a`–`d` (probabilities 0.54, 0.02, 0.13, 0.31, as in the real data) and an assortment `a`–`c`
//!   (0.53, 0.01, 0.46);
//! - one of 12 German states;
//! - a competitor distance `D` (metres): log-normal around 2 km, clipped to [20, 75 000];
//! - a base level: `exp(N(log 5000, 0.35²))`.
//!
//! Every day has a calendar (day of week, month), a chain-wide promotion on weekdays of every other week, each
//! state's public holidays (type `a`, about 8 a year, plus Easter `b` and Christmas `c` days) and school holidays
//! (a state's summer six weeks and two more weeks).
//!
//! ```text
//! sales = base · type · assortment · competition(D) · weekday · month · promo(type) · holiday · school · e^ε
//! ```
//!
//! with the factors in [`Factors`] (competition: `1 − 0.15·e^(−D/1500)`), and noise `ε ~ N(0, σ²)`, σ = 0.10,
//! independent per row. `customers = sales / basket`, with a basket of `N(9, 0.5²)` euros (reported, not a
//! feature: it is not known in advance).
//!
//! # The noise floor
//!
//! No model can know `ε`. The best any predictor can do is predict `c·μ`, with `μ` the noise-free sales; the RMSPE
//! `√E[(1 − c·e^(−ε))²]` is smallest at `c = e^(−3σ²/2)`, where it is `√(1 − e^(−σ²))` = 0.0998 for σ = 0.10.
//! Predicting `μ` itself (as a model trained on log sales does) gives `√(1 − 2e^(σ²/2) + e^(2σ²))` = 0.1009.
//! [`RossmannTable::oracle_rmspe`] measures the floor on the actual rows.
//!
//! The validation set is the last six weeks, as in the lesson: the model must predict the future.

use super::table::{Column, Table};
use super::{TabularSet, TabularTargets};
use crate::rng::Rng;

/// The standard deviation of the log-noise.
pub const NOISE_SIGMA: f64 = 0.10;

/// The RMSPE of the best possible predictor, `√(1 − e^(−σ²))`.
pub fn noise_floor() -> f64 {
    (1.0 - (-NOISE_SIGMA * NOISE_SIGMA).exp()).sqrt()
}

/// The multiplicative effects.
pub struct Factors;

impl Factors {
    /// Store type `a`–`d`.
    pub const TYPE: [f64; 4] = [1.0, 1.6, 0.95, 0.9];
    /// Assortment `a`–`c`.
    pub const ASSORTMENT: [f64; 3] = [1.0, 1.3, 1.1];
    /// Monday … Saturday.
    pub const WEEKDAY: [f64; 6] = [1.15, 1.0, 0.95, 0.97, 1.05, 0.9];
    /// January … December.
    pub const MONTH: [f64; 12] = [0.92, 0.94, 1.0, 1.02, 1.0, 0.98, 1.03, 1.0, 0.98, 1.0, 1.05, 1.25];
    /// Promotion, by store type.
    pub const PROMO: [f64; 4] = [1.25, 1.15, 1.3, 1.2];
    /// State holiday: none, public (`a`), Easter (`b`), Christmas (`c`).
    pub const HOLIDAY: [f64; 4] = [1.0, 0.7, 0.8, 0.5];
    /// School holiday.
    pub const SCHOOL: f64 = 1.06;

    /// The effect of a competitor `distance` metres away.
    pub fn competition(distance: f64) -> f64 {
        1.0 - 0.15 * (-distance / 1500.0).exp()
    }
}

const STATES: [&str; 12] = ["BE", "BW", "BY", "HB,NI", "HE", "HH", "NW", "RP", "SH", "SN", "ST", "TH"];

/// Day `day` after 2014-01-01: (year, month 1–12, day of month, weekday 0 = Monday).
pub fn calendar(day: usize) -> (i32, usize, usize, usize) {
    // 2014-01-01 was a Wednesday (weekday 2).
    let weekday = (day + 2) % 7;
    let (mut year, mut left) = (2014, day);
    loop {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let len = if leap { 366 } else { 365 };
        if left < len {
            let months = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
            let mut month = 0;
            while left >= months[month] {
                left -= months[month];
                month += 1;
            }
            return (year, month + 1, left + 1, weekday);
        }
        left -= len;
        year += 1;
    }
}

/// The generated table, its true noise-free sales, and the split.
pub struct RossmannTable {
    /// Every row, with the columns listed in [`RossmannTable::generate`].
    pub table: Table,
    /// The noise-free sales `μ` of each row.
    pub expected: Vec<f64>,
    /// The rows of the last six weeks.
    pub valid_rows: Vec<usize>,
    /// The other rows.
    pub train_rows: Vec<usize>,
}

fn pick(rng: &mut Rng, probabilities: &[f64]) -> usize {
    let mut u = rng.uniform() as f64;
    for (i, &p) in probabilities.iter().enumerate() {
        if u < p {
            return i;
        }
        u -= p;
    }
    probabilities.len() - 1
}

impl RossmannTable {
    /// Generates `stores` stores over `days` days. Columns: `Store`, `DayOfWeek`, `Month`, `Promo`,
    /// `StateHoliday`, `SchoolHoliday`, `StoreType`, `Assortment`, `State` (categorical), `CompetitionDistance`
    /// (continuous, as its natural log), `Customers` and `Sales`.
    pub fn generate(stores: usize, days: usize, seed: u64) -> RossmannTable {
        let mut rng = Rng::new(seed);
        struct Store {
            kind: usize,
            assortment: usize,
            state: usize,
            distance: f64,
            base: f64,
        }
        let shops: Vec<Store> = (0..stores)
            .map(|_| Store {
                kind: pick(&mut rng, &[0.54, 0.02, 0.13, 0.31]),
                assortment: pick(&mut rng, &[0.53, 0.01, 0.46]),
                state: rng.below(STATES.len()),
                distance: ((2000f64).ln() + 1.0 * rng.normal() as f64).exp().clamp(20.0, 75_000.0),
                base: ((5000f64).ln() + 0.35 * rng.normal() as f64).exp(),
            })
            .collect();
        // Each state's holidays: public days (type a), Easter (b) and Christmas (c); school holidays.
        let mut holiday = vec![vec![0usize; days]; STATES.len()];
        let mut school = vec![vec![false; days]; STATES.len()];
        for (state_holidays, state_school) in holiday.iter_mut().zip(&mut school) {
            for (d, kind) in state_holidays.iter_mut().enumerate() {
                let (_, month, dom, _) = calendar(d);
                if (month == 12 && (25..=26).contains(&dom)) || (month == 1 && dom == 1) {
                    *kind = 3;
                } else if month == 4 && (18..=21).contains(&dom) {
                    *kind = 2;
                } else if rng.uniform() < 8.0 / 365.0 {
                    *kind = 1;
                }
            }
            let summer = 180 + rng.below(30);
            let autumn = 280 + rng.below(20);
            for (d, off) in state_school.iter_mut().enumerate() {
                let in_year = d % 365;
                *off = (summer..summer + 42).contains(&in_year) || (autumn..autumn + 14).contains(&in_year);
            }
        }
        let mut columns: Vec<Vec<String>> = vec![Vec::new(); 9];
        let (mut distance, mut customers, mut sales, mut expected, mut day_of_row) = (vec![], vec![], vec![], vec![], vec![]);
        for d in 0..days {
            let (_, month, _, weekday) = calendar(d);
            if weekday == 6 {
                continue;
            }
            let promo = weekday < 5 && (d / 7) % 2 == 0;
            for (i, shop) in shops.iter().enumerate() {
                let h = holiday[shop.state][d];
                let mu = shop.base
                    * Factors::TYPE[shop.kind]
                    * Factors::ASSORTMENT[shop.assortment]
                    * Factors::competition(shop.distance)
                    * Factors::WEEKDAY[weekday]
                    * Factors::MONTH[month - 1]
                    * if promo { Factors::PROMO[shop.kind] } else { 1.0 }
                    * Factors::HOLIDAY[h]
                    * if school[shop.state][d] { Factors::SCHOOL } else { 1.0 };
                let value = (mu * (NOISE_SIGMA * rng.normal() as f64).exp()).round().max(1.0);
                let basket = 9.0 + 0.5 * rng.normal() as f64;
                let cells = [
                    (i + 1).to_string(),
                    (weekday + 1).to_string(),
                    month.to_string(),
                    (promo as u8).to_string(),
                    ["0", "a", "b", "c"][h].to_string(),
                    (school[shop.state][d] as u8).to_string(),
                    ["a", "b", "c", "d"][shop.kind].to_string(),
                    ["a", "b", "c"][shop.assortment].to_string(),
                    STATES[shop.state].to_string(),
                ];
                for (column, cell) in columns.iter_mut().zip(cells) {
                    column.push(cell);
                }
                // The distance's log: the raw distance has a heavy tail (up to 75 km against a median of 2), and a few
                // stores far out in it would push the y_range sigmoid into saturation, where it stops learning.
                distance.push(Some(shop.distance.ln() as f32));
                customers.push(Some((value / basket).round() as f32));
                sales.push(Some(value as f32));
                expected.push(mu);
                day_of_row.push(d);
            }
        }
        let names = ["Store", "DayOfWeek", "Month", "Promo", "StateHoliday", "SchoolHoliday", "StoreType", "Assortment", "State"];
        let mut table_columns: Vec<(String, Column)> =
            names.iter().zip(columns).map(|(n, c)| (n.to_string(), Column::Text(c.into_iter().map(Some).collect()))).collect();
        table_columns.push(("CompetitionDistance".into(), Column::Number(distance)));
        table_columns.push(("Customers".into(), Column::Number(customers)));
        table_columns.push(("Sales".into(), Column::Number(sales)));
        let cutoff = days.saturating_sub(42);
        let (valid_rows, train_rows) = (0..day_of_row.len()).partition(|&r| day_of_row[r] >= cutoff);
        RossmannTable { table: Table { columns: table_columns }, expected, valid_rows, train_rows }
    }

    /// The RMSPE of the best possible predictor (`e^(−3σ²/2)·μ`) on `rows`: the floor no model can beat.
    pub fn oracle_rmspe(&self, rows: &[usize]) -> f64 {
        let sales = self.table.numbers("Sales").expect("the table has sales");
        let c = (-1.5 * NOISE_SIGMA * NOISE_SIGMA).exp();
        let sum: f64 = rows
            .iter()
            .map(|&r| {
                let y = sales[r].unwrap_or(1.0) as f64;
                ((y - c * self.expected[r]) / y).powi(2)
            })
            .sum();
        (sum / rows.len().max(1) as f64).sqrt()
    }

    /// Training and validation sets for a tabular model predicting `log(Sales)` (vocabularies and normalisation
    /// from the training rows), with the `y_range` fastai would use: `(0, log(1.2 · max sales))`.
    pub fn tabular_sets(&self) -> (TabularSet, TabularSet, (f32, f32)) {
        let cats = ["Store", "DayOfWeek", "Month", "Promo", "StateHoliday", "SchoolHoliday", "StoreType", "Assortment", "State"];
        let (train, valid) = self.table.tabular_sets(&cats, &["CompetitionDistance"], "Sales", &self.train_rows, &self.valid_rows, true);
        let max = match &train.targets {
            TabularTargets::Values(v) => v.iter().fold(0.0f32, |m, &x| m.max(x)),
            TabularTargets::Classes(..) => 0.0,
        };
        (train, valid, (0.0, (max.exp() * 1.2).ln()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_knows_2014_and_2016() {
        assert_eq!(calendar(0), (2014, 1, 1, 2));
        assert_eq!(calendar(31), (2014, 2, 1, 5));
        assert_eq!(calendar(364), (2014, 12, 31, 2));
        assert_eq!(calendar(365 + 365 + 59), (2016, 2, 29, 0));
    }

    #[test]
    fn the_oracle_reaches_the_documented_floor() {
        let t = RossmannTable::generate(60, 200, 7);
        let all: Vec<usize> = (0..t.expected.len()).collect();
        let oracle = t.oracle_rmspe(&all);
        assert!((oracle - noise_floor()).abs() < 0.004, "oracle {oracle}, floor {}", noise_floor());
        assert!((noise_floor() - 0.0998).abs() < 1e-4);
        // Six weeks of six open days each validate.
        assert_eq!(t.valid_rows.len(), 60 * 36);
    }

    #[test]
    fn the_tabular_sets_predict_log_sales() {
        let t = RossmannTable::generate(20, 100, 8);
        let (train, valid, (low, high)) = t.tabular_sets();
        assert_eq!(train.cat_names.len(), 9);
        assert_eq!(train.cardinalities()[0], 21, "20 stores and #na#");
        assert_eq!(train.rows() + valid.rows(), t.expected.len());
        let TabularTargets::Values(v) = &train.targets else { panic!("a regression") };
        assert!(v.iter().all(|&y| y > low && y < high));
    }
}
