//! A synthetic Rossmann-like sales table (the lesson's Kaggle competition, rebuilt from a known process so that
//! the best possible error is known).
//!
//! # Generating process
//!
//! `stores` stores are followed for `days` consecutive days from Wednesday 2014-01-01. Every store draws, once:
//! - a type `a`–`d` (probabilities 0.54, 0.02, 0.13, 0.31, as in the real data) and an assortment `a`–`c`
//!   (0.53, 0.01, 0.46);
//! - one of 12 German states;
//! - a competitor distance `D` (metres): log-normal around 2 km, clipped to [20, 75 000], and the month the
//!   competitor opened, uniform from January 2008 to December 2015 (so some open during the data);
//! - whether it takes part in the second, store-level promotion (`Promo2`, half of the stores) and the week it
//!   began, uniform from January 2012 to December 2015;
//! - a base level: `exp(N(log 5000, 0.35²))`.
//!
//! The calendar: weeks start on Monday. The chain-wide `Promo` runs Monday to Friday of every other week. Public
//! holidays (`StateHoliday`): New Year (1 January), Good Friday and Easter Monday (`b`, from each year's Easter
//! date), 1 May, German Unity Day (3 October), Christmas (`c`, 25 and 26 December), and about four more days a
//! year that only some states keep (type `a`). School holidays: each state's six summer weeks and two autumn
//! weeks, drawn once per state and year. Weather: each state's daily maximum temperature, a seasonal curve
//! (about 2 °C in January to 24 °C in July) plus noise.
//!
//! Closed days are removed, as the lesson removed them: every Sunday; public holidays, except at type `b` stores
//! (the real data's station and airport shops); and 6 to 12 weeks of refurbishment at one store in ten.
//!
//! ```text
//! sales = base · type · assortment · weekday · month · holiday · school · competition · promo · promo2 · heat · e^ε
//! ```
//!
//! with the factors in [`Factors`] and noise `ε ~ N(0, σ²)`, σ = 0.10, independent per row. Some effects interact,
//! so that they are not a sum in log space (a model with only embeddings and a linear layer cannot fit them):
//! - the promotion's lift depends on the store type and on the day of the week together:
//!   `1 + PROMO[type] · PROMO_DAY[weekday]`;
//! - the competitor takes `0.25·e^(−D/1200)` of sales, only once it has opened, and ramps in over its first six
//!   months: a non-linear effect of distance that depends on time;
//! - `Promo2` adds 1% per week since it began, up to 10%, and only on days without the chain-wide promotion;
//! - heat above 25 °C costs 2% a degree.
//!
//! `customers = sales / basket`, with a basket of `N(9, 0.5²)` euros (reported, not a feature: it is not known in
//! advance).
//!
//! # Columns
//!
//! Categorical as the lesson used them: `Store`, `DayOfWeek` (1 = Monday), `Month`, `Promo`, `StateHoliday`,
//! `SchoolHoliday`, `StoreType`, `Assortment`, `State`, `Promo2`. Continuous: `CompetitionDistance` (metres; the
//! model reads its logarithm, since a few stores 75 km out would otherwise saturate the `y_range` sigmoid),
//! `CompetitionMonthsOpen` (0 before the competitor opened, capped at 24 as the lesson did),
//! `Promo2Weeks` (weeks since `Promo2` began, capped at 25), `MaxTemperature` (°C). Then `Customers` and `Sales`.
//! `Store`, `DayOfWeek` and `Month` are stored as numbers, so that they can be used either way.
//!
//! # The noise floor
//!
//! No model can know `ε`. The best any predictor can do is predict `c·μ`, with `μ` the noise-free sales; the RMSPE
//! `√E[(1 − c·e^(−ε))²]` is smallest at `c = e^(−3σ²/2)`, where it is `√(1 − e^(−σ²))` = 0.0998 for σ = 0.10.
//! Predicting `μ` itself (as a model trained on log sales does) gives `√(1 − 2e^(σ²/2) + e^(2σ²))` = 0.1009.
//! [`RossmannTable::oracle_rmspe`] measures the floor on the actual rows (rounding sales to whole euros moves it
//! by less than 0.0001).
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

/// The expected RMSPE of predicting the median `μ` (what a model trained with MSE on the log aims at),
/// `√(1 − 2e^(σ²/2) + e^(2σ²))`: slightly above [`noise_floor`].
pub fn median_floor() -> f64 {
    let s2 = NOISE_SIGMA * NOISE_SIGMA;
    (1.0 - 2.0 * (s2 / 2.0).exp() + (2.0 * s2).exp()).sqrt()
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
    /// The promotion's lift by store type, scaled by [`Factors::PROMO_DAY`].
    pub const PROMO: [f64; 4] = [0.25, 0.15, 0.3, 0.2];
    /// How much of the lift each day of the promotion week brings, Monday … Friday (it is strongest on Monday).
    pub const PROMO_DAY: [f64; 5] = [1.4, 1.1, 0.9, 0.8, 0.8];
    /// State holiday (at the type `b` stores that open then): none, public (`a`), Easter (`b`), Christmas (`c`).
    pub const HOLIDAY: [f64; 4] = [1.0, 0.8, 0.85, 0.6];
    /// School holiday.
    pub const SCHOOL: f64 = 1.06;

    /// The promotion's lift for a store of `kind` on `weekday` (0 = Monday): an interaction of the two.
    pub fn promo(kind: usize, weekday: usize) -> f64 {
        1.0 + Self::PROMO[kind] * Self::PROMO_DAY.get(weekday).copied().unwrap_or(0.0)
    }

    /// The effect of a competitor `distance` metres away that opened `months_open` months ago (0: not yet).
    pub fn competition(distance: f64, months_open: u32) -> f64 {
        1.0 - 0.25 * (-distance / 1200.0).exp() * (months_open as f64 / 6.0).min(1.0)
    }

    /// The effect of `Promo2`, `weeks` weeks after it began (0: not taking part or not yet), on a day with or
    /// without the chain-wide promotion.
    pub fn promo2(weeks: u32, promo: bool) -> f64 {
        if promo { 1.0 } else { 1.0 + 0.01 * weeks.min(10) as f64 }
    }

    /// The effect of a day's maximum temperature (°C).
    pub fn heat(celsius: f64) -> f64 {
        1.0 - 0.02 * (celsius - 25.0).max(0.0)
    }
}

const STATES: [&str; 12] = ["BE", "BW", "BY", "HB,NI", "HE", "HH", "NW", "RP", "SH", "SN", "ST", "TH"];

fn leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn month_lengths(year: i32) -> [usize; 12] {
    [31, if leap(year) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
}

/// A date of the table's calendar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Date {
    /// The year.
    pub year: i32,
    /// 1–12.
    pub month: usize,
    /// 1–31.
    pub day: usize,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: usize,
    /// 0 = 1 January.
    pub day_of_year: usize,
}

/// Day `day` after 2014-01-01.
pub fn calendar(day: usize) -> Date {
    // 2014-01-01 was a Wednesday (weekday 2).
    let weekday = (day + 2) % 7;
    let (mut year, mut left) = (2014, day);
    loop {
        let len = if leap(year) { 366 } else { 365 };
        if left < len {
            let day_of_year = left;
            let mut month = 0;
            for length in month_lengths(year) {
                if left < length {
                    break;
                }
                left -= length;
                month += 1;
            }
            return Date { year, month: month + 1, day: left + 1, weekday, day_of_year };
        }
        left -= len;
        year += 1;
    }
}

/// Easter Sunday of `year` as `(month, day)`: the anonymous Gregorian algorithm (Meeus, "Astronomical
/// Algorithms", ch. 8).
pub fn easter(year: i32) -> (usize, usize) {
    let (a, b, c) = (year % 19, year / 100, year % 100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    (month as usize, day as usize)
}

/// The day of the year (0 = 1 January) of `month`/`day` in `year`.
fn day_of_year(year: i32, month: usize, day: usize) -> usize {
    month_lengths(year)[..month - 1].iter().sum::<usize>() + day - 1
}

/// The nation-wide public holiday on a date, if any: 1 (`a`), 2 (Easter, `b`) or 3 (Christmas, `c`).
fn national_holiday(date: Date) -> usize {
    let (easter_month, easter_day) = easter(date.year);
    let easter = day_of_year(date.year, easter_month, easter_day);
    match (date.month, date.day) {
        (1, 1) | (5, 1) | (10, 3) => 1,
        (12, 25) | (12, 26) => 3,
        _ if date.day_of_year + 2 == easter || date.day_of_year == easter + 1 => 2,
        _ => 0,
    }
}

/// Whether the chain-wide promotion runs on day `day`: Monday to Friday of every other week, weeks starting on
/// Monday (the week of Monday 30 December 2013 is the first).
pub fn promo_on(day: usize) -> bool {
    let date = calendar(day);
    date.weekday < 5 && ((day + 2) / 7).is_multiple_of(2)
}

/// The generated table, its true noise-free sales, and the split.
pub struct RossmannTable {
    /// Every row, with the columns listed in the module's documentation.
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

/// The categorical columns, as the lesson chose them.
pub const CATEGORICAL: [&str; 10] = ["Store", "DayOfWeek", "Month", "Promo", "StateHoliday", "SchoolHoliday", "StoreType", "Assortment", "State", "Promo2"];
/// The continuous columns.
pub const CONTINUOUS: [&str; 4] = ["CompetitionDistance", "CompetitionMonthsOpen", "Promo2Weeks", "MaxTemperature"];

impl RossmannTable {
    /// Generates `stores` stores over `days` days, as the module's documentation describes, without the closed
    /// days.
    pub fn generate(stores: usize, days: usize, seed: u64) -> RossmannTable {
        let mut rng = Rng::new(seed);
        struct Store {
            kind: usize,
            assortment: usize,
            state: usize,
            distance: f64,
            /// Months after January 2008.
            competitor_opened: i32,
            /// Days after 2014-01-01 (negative: before), if taking part.
            promo2_began: Option<i32>,
            /// Closed for refurbishment on these days.
            refurbishing: std::ops::Range<usize>,
            base: f64,
        }
        let shops: Vec<Store> = (0..stores)
            .map(|_| {
                let kind = pick(&mut rng, &[0.54, 0.02, 0.13, 0.31]);
                let assortment = pick(&mut rng, &[0.53, 0.01, 0.46]);
                let state = rng.below(STATES.len());
                let distance = ((2000f64).ln() + 1.0 * rng.normal() as f64).exp().clamp(20.0, 75_000.0).round();
                let competitor_opened = rng.below(96) as i32;
                let promo2_began = (rng.uniform() < 0.5).then(|| rng.below(4 * 365) as i32 - 2 * 365);
                let refurbishing = if rng.uniform() < 0.1 {
                    let start = rng.below(days.max(1));
                    start..start + 42 + rng.below(43)
                } else {
                    0..0
                };
                let base = ((5000f64).ln() + 0.35 * rng.normal() as f64).exp();
                Store { kind, assortment, state, distance, competitor_opened, promo2_began, refurbishing, base }
            })
            .collect();
        // Each state's holidays (national, plus four regional days a year), school holidays and weather.
        let years = calendar(days.saturating_sub(1)).year - 2013;
        let mut holiday = vec![vec![0usize; days]; STATES.len()];
        let mut school = vec![vec![false; days]; STATES.len()];
        let mut weather = vec![vec![0.0f64; days]; STATES.len()];
        for state in 0..STATES.len() {
            let regional: Vec<usize> = (0..4).map(|_| rng.below(365)).collect();
            let breaks: Vec<(usize, usize)> = (0..years).map(|_| (180 + rng.below(30), 280 + rng.below(20))).collect();
            for d in 0..days {
                let date = calendar(d);
                let national = national_holiday(date);
                holiday[state][d] = if national > 0 { national } else if regional.contains(&date.day_of_year) { 1 } else { 0 };
                let (summer, autumn) = breaks[(date.year - 2014) as usize];
                school[state][d] = (summer..summer + 42).contains(&date.day_of_year) || (autumn..autumn + 14).contains(&date.day_of_year);
                let season = (2.0 * std::f64::consts::PI * (date.day_of_year as f64 - 15.0) / 365.0).cos();
                weather[state][d] = (13.0 - 11.0 * season + 3.0 * rng.normal() as f64).round();
            }
        }
        let mut text: Vec<Vec<Option<String>>> = vec![Vec::new(); 7];
        let mut numbers: Vec<Vec<Option<f32>>> = vec![Vec::new(); 9];
        let (mut expected, mut day_of_row) = (vec![], vec![]);
        for d in 0..days {
            let date = calendar(d);
            if date.weekday == 6 {
                continue;
            }
            let promo = promo_on(d);
            let month_index = (date.year - 2008) * 12 + date.month as i32 - 1;
            for (i, shop) in shops.iter().enumerate() {
                let h = holiday[shop.state][d];
                if (h > 0 && shop.kind != 1) || shop.refurbishing.contains(&d) {
                    continue;
                }
                let months_open = (month_index - shop.competitor_opened + 1).max(0) as u32;
                let promo2_weeks = shop.promo2_began.map_or(0, |began| if d as i32 >= began { ((d as i32 - began) / 7 + 1) as u32 } else { 0 });
                let celsius = weather[shop.state][d];
                let mu = shop.base
                    * Factors::TYPE[shop.kind]
                    * Factors::ASSORTMENT[shop.assortment]
                    * Factors::WEEKDAY[date.weekday]
                    * Factors::MONTH[date.month - 1]
                    * Factors::HOLIDAY[h]
                    * if school[shop.state][d] { Factors::SCHOOL } else { 1.0 }
                    * Factors::competition(shop.distance, months_open)
                    * if promo { Factors::promo(shop.kind, date.weekday) } else { 1.0 }
                    * Factors::promo2(promo2_weeks, promo)
                    * Factors::heat(celsius);
                let value = (mu * (NOISE_SIGMA * rng.normal() as f64).exp()).round().max(1.0);
                let basket = 9.0 + 0.5 * rng.normal() as f64;
                let cells = [
                    (promo as u8).to_string(),
                    ["0", "a", "b", "c"][h].to_string(),
                    (school[shop.state][d] as u8).to_string(),
                    ["a", "b", "c", "d"][shop.kind].to_string(),
                    ["a", "b", "c"][shop.assortment].to_string(),
                    STATES[shop.state].to_string(),
                    (shop.promo2_began.is_some() as u8).to_string(),
                ];
                for (column, cell) in text.iter_mut().zip(cells) {
                    column.push(Some(cell));
                }
                let values = [
                    (i + 1) as f32,
                    (date.weekday + 1) as f32,
                    date.month as f32,
                    shop.distance as f32,
                    months_open.min(24) as f32,
                    promo2_weeks.min(25) as f32,
                    celsius as f32,
                    (value / basket).round() as f32,
                    value as f32,
                ];
                for (column, value) in numbers.iter_mut().zip(values) {
                    column.push(Some(value));
                }
                expected.push(mu);
                day_of_row.push(d);
            }
        }
        let mut numbers = numbers.into_iter();
        let mut text = text.into_iter();
        let mut columns: Vec<(String, Column)> = Vec::new();
        for name in ["Store", "DayOfWeek", "Month"] {
            columns.push((name.into(), Column::Number(numbers.next().expect("nine numeric columns"))));
        }
        for name in ["Promo", "StateHoliday", "SchoolHoliday", "StoreType", "Assortment", "State", "Promo2"] {
            columns.push((name.into(), Column::Text(text.next().expect("seven text columns"))));
        }
        for name in CONTINUOUS.into_iter().chain(["Customers", "Sales"]) {
            columns.push((name.into(), Column::Number(numbers.next().expect("nine numeric columns"))));
        }
        let cutoff = days.saturating_sub(42);
        let (valid_rows, train_rows) = (0..day_of_row.len()).partition(|&r| day_of_row[r] >= cutoff);
        RossmannTable { table: Table { columns }, expected, valid_rows, train_rows }
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

    /// Training and validation sets for a tabular model predicting `log(Sales)` from the lesson's columns
    /// ([`CATEGORICAL`] and [`CONTINUOUS`]), with the `y_range` fastai would use: `(0, log(1.2 · max sales))`.
    pub fn tabular_sets(&self) -> (TabularSet, TabularSet, (f32, f32)) {
        self.sets(&CATEGORICAL, &CONTINUOUS)
    }

    /// [`RossmannTable::tabular_sets`] with the given columns as categorical and as continuous (vocabularies and
    /// normalisation from the training rows). `CompetitionDistance` enters as its logarithm when continuous.
    pub fn sets(&self, cats: &[&str], conts: &[&str]) -> (TabularSet, TabularSet, (f32, f32)) {
        let used = |name: &str| cats.contains(&name) || conts.contains(&name) || name == "Sales";
        let columns = self
            .table
            .columns
            .iter()
            .filter(|(name, _)| used(name))
            .map(|(name, column)| match column {
                Column::Number(v) if name == "CompetitionDistance" && conts.contains(&name.as_str()) => {
                    (name.clone(), Column::Number(v.iter().map(|x| x.map(f32::ln)).collect()))
                }
                _ => (name.clone(), column.clone()),
            })
            .collect();
        let (train, valid) = Table { columns }.tabular_sets(cats, conts, "Sales", &self.train_rows, &self.valid_rows, true);
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
    fn the_calendar_knows_2014_to_2016() {
        assert_eq!(calendar(0), Date { year: 2014, month: 1, day: 1, weekday: 2, day_of_year: 0 });
        assert_eq!(calendar(31), Date { year: 2014, month: 2, day: 1, weekday: 5, day_of_year: 31 });
        assert_eq!(calendar(364).day, 31);
        assert_eq!(calendar(365 + 365 + 59), Date { year: 2016, month: 2, day: 29, weekday: 0, day_of_year: 59 });
        // Easter Sundays from the published tables.
        assert_eq!([easter(2014), easter(2015), easter(2016), easter(2019)], [(4, 20), (4, 5), (3, 27), (4, 21)]);
        // Good Friday and Easter Monday 2015, New Year, Christmas.
        assert_eq!(national_holiday(calendar(365 + 92)), 2, "Friday 3 April 2015");
        assert_eq!(national_holiday(calendar(365 + 95)), 2, "Monday 6 April 2015");
        assert_eq!(national_holiday(calendar(365 + 93)), 0);
        assert_eq!(national_holiday(calendar(0)), 1, "1 January is New Year, not Christmas");
        assert_eq!(national_holiday(calendar(358)), 3, "25 December");
    }

    #[test]
    fn the_oracle_reaches_the_documented_floor() {
        let t = RossmannTable::generate(60, 200, 7);
        let all: Vec<usize> = (0..t.expected.len()).collect();
        let oracle = t.oracle_rmspe(&all);
        assert!((oracle - noise_floor()).abs() < 0.004, "oracle {oracle}, floor {}", noise_floor());
        assert!((noise_floor() - 0.0998).abs() < 1e-4);
        assert!((median_floor() - 0.1009).abs() < 1e-4 && median_floor() > noise_floor());
    }

    #[test]
    fn closed_days_are_removed_and_promotions_run_monday_to_friday() {
        let t = RossmannTable::generate(80, 120, 9);
        let weekday = t.table.numbers("DayOfWeek").unwrap();
        assert!(weekday.iter().all(|d| (1.0..=6.0).contains(&d.unwrap())), "no Sundays");
        let Column::Text(holiday) = t.table.column("StateHoliday").unwrap() else { panic!("text") };
        let Column::Text(kind) = t.table.column("StoreType").unwrap() else { panic!("text") };
        let Column::Text(promo) = t.table.column("Promo").unwrap() else { panic!("text") };
        for r in 0..t.expected.len() {
            if holiday[r].as_deref() != Some("0") {
                assert_eq!(kind[r].as_deref(), Some("b"), "only type b stores open on public holidays");
            }
            if promo[r].as_deref() == Some("1") {
                assert!(weekday[r].unwrap() <= 5.0, "the promotion runs Monday to Friday");
            }
        }
        // Each Monday-to-Friday week is all promotion or none, alternately; Saturdays never.
        for monday in (5..400).step_by(7) {
            assert_eq!(calendar(monday).weekday, 0);
            let week: Vec<bool> = (monday..monday + 6).map(promo_on).collect();
            assert!(week[..5].iter().all(|&p| p == week[0]) && !week[5], "{week:?}");
            assert_ne!(promo_on(monday), promo_on(monday + 7));
        }
        // Fewer rows than 6 days a week for every store: holidays and refurbishments are gone.
        assert!(t.expected.len() < 80 * 120 * 6 / 7);
        assert!(t.valid_rows.iter().all(|&r| !t.train_rows.contains(&r)));
    }

    #[test]
    fn the_tabular_sets_predict_log_sales() {
        let t = RossmannTable::generate(20, 100, 8);
        let (train, valid, (low, high)) = t.tabular_sets();
        assert_eq!(train.cat_names.len(), CATEGORICAL.len());
        assert_eq!(train.cont_names.len(), CONTINUOUS.len());
        assert_eq!(train.cardinalities()[0], 21, "20 stores and #na#");
        assert_eq!(train.rows() + valid.rows(), t.expected.len());
        let TabularTargets::Values(v) = &train.targets else { panic!("a regression") };
        assert!(v.iter().all(|&y| y > low && y < high));
        // Day of week as a number instead: one categorical column fewer, one continuous more.
        let cats: Vec<&str> = CATEGORICAL.iter().copied().filter(|&c| c != "DayOfWeek").collect();
        let conts: Vec<&str> = CONTINUOUS.iter().copied().chain(["DayOfWeek"]).collect();
        let (train, _, _) = t.sets(&cats, &conts);
        assert_eq!((train.cat_names.len(), train.cont_names.len()), (CATEGORICAL.len() - 1, CONTINUOUS.len() + 1));
    }
}
