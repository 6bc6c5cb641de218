//! A synthetic Rossmann-like sales table (the lesson's Kaggle competition, rebuilt from a known process so that
//! the best possible error is known), with the columns the lesson's data-cleaning notebook builds.
//!
//! # Generating process
//!
//! `stores` stores are followed for the last `days` days of the real data, which ends on Friday 31 July 2015
//! (at most 942 days, from 1 January 2013). Every store draws, once:
//! - a type `a`–`d` (probabilities 0.54, 0.02, 0.13, 0.31, as in the real data) and an assortment `a`–`c`
//!   (0.53, 0.01, 0.46);
//! - one of 12 German states;
//! - a competitor distance `D` (metres): log-normal around 2 km, clipped to [20, 75 000], left out of the table at
//!   one store in twenty (the real data misses 3 stores of 1,115);
//! - the month its competitor opened: unknown at 32% of stores (as in the real data; there the competitor has been
//!   open for long), otherwise uniform from January 2008 to December 2015 (so some open during the data);
//! - whether it takes part in the second, store-level promotion (`Promo2`, half of the stores), the Monday it
//!   began, uniform from January 2010 to June 2015, and its `PromoInterval` (one of the real data's three);
//! - a base level: `exp(N(log 5000, 0.35²))`.
//!
//! The calendar: weeks start on Monday. The chain-wide `Promo` runs Monday to Friday of every other week. Public
//! holidays (`StateHoliday`): New Year (1 January), Good Friday and Easter Monday (from each year's Easter date),
//! 1 May, German Unity Day (3 October), Christmas (25 and 26 December), and four more days a year that only some
//! states keep. School holidays: each state's six summer weeks and two autumn weeks, drawn once per state and
//! year. Weather: each state's daily maximum temperature, a seasonal curve (about 2 °C in January to 24 °C in July)
//! plus noise.
//!
//! Closed days are removed, as the lesson removed them: Sundays and public holidays, except at type `b` stores
//! (the real data's station and airport shops, open every day), and 6 to 12 weeks of refurbishment at one store in
//! ten.
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
//! `PromoInterval`, the date parts other than the month and the day of the week, and the days since, until and
//! counts of holidays and promotions have no effect of their own: a model must learn to ignore what does not matter. `customers = sales / basket`, with a basket of
//! `N(9, 0.5²)` euros (reported, not a feature: it is not known in advance).
//!
//! # Columns, as the lesson's `train_clean` has them
//!
//! From `train.csv`: `Date`, `Store`, `DayOfWeek` (1 = Monday … 7 = Sunday), `Promo` and `SchoolHoliday` (0/1),
//! `StateHoliday` (`True`/`False`: the cleaning notebook's `StateHoliday != '0'`), `Customers`, `Sales`. From
//! `store.csv`: `StoreType`, `Assortment`, `CompetitionDistance`, `CompetitionOpenSinceMonth`,
//! `CompetitionOpenSinceYear`, `Promo2`, `Promo2SinceWeek`, `Promo2SinceYear`, `PromoInterval`, each missing where
//! the real file leaves it empty. `State`, and `Max_TemperatureC` from the weather. Built by the cleaning notebook:
//! - `add_datepart(train, "Date", drop=False)`: see [`dates::add_datepart`];
//! - `CompetitionMonthsOpen`: days since the 15th of the competitor's opening month, `// 30`, in [0, 24] (0 where
//!   the opening is unknown: the notebook fills the year with 1900 and zeroes it);
//! - `Promo2Weeks`: days since `Promo2`'s Monday, `// 7`, in [0, 25] (0 for stores not taking part);
//! - `After*` and `Before*` for `SchoolHoliday`, `StateHoliday` and `Promo`: days since the last and (negative)
//!   until the next such day, over every calendar day of the store, closed ones included ([`dates::days_since`]);
//! - `*_bw` and `*_fw`: how many of the 7 days up to and from each day are such days ([`dates::window_counts`]).
//!
//! The notebook computed the last two on the training and test rows together, so that the days just before
//! 31 July could see the test weeks after it; here the calendar runs on for the same 48 days.
//!
//! # The noise floor
//!
//! No model can know `ε`. The best any predictor can do is predict `c·μ`, with `μ` the noise-free sales; the RMSPE
//! `√E[(1 − c·e^(−ε))²]` is smallest at `c = e^(−3σ²/2)`, where it is `√(1 − e^(−σ²))` = 0.0998 for σ = 0.10.
//! Predicting `μ` itself (as a model trained on log sales does) gives `√(1 − 2e^(σ²/2) + e^(2σ²))` = 0.1009.
//! [`RossmannTable::oracle_rmspe`] measures the floor on the actual rows (rounding sales to whole euros moves it
//! by less than 0.0001).
//!
//! The validation set is the last six weeks, 20 June to 31 July 2015, as the lesson validates on the most recent
//! weeks: the model must predict the future, in summer, with school holidays and heat.

use super::dates::{self, Date};
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
    /// Monday … Sunday (only type `b` stores open on Sundays).
    pub const WEEKDAY: [f64; 7] = [1.15, 1.0, 0.95, 0.97, 1.05, 0.9, 0.85];
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

    /// The effect of a competitor `distance` metres away that opened `months_open` whole months (of 30 days) ago
    /// (0: not yet, or under a month).
    pub fn competition(distance: f64, months_open: u32) -> f64 {
        1.0 - 0.25 * (-distance / 1200.0).exp() * (months_open as f64 / 6.0).min(1.0)
    }

    /// The effect of `Promo2`, `weeks` whole weeks after it began (0: in its first week, not yet, or not taking
    /// part), on a day with or without the chain-wide promotion.
    pub fn promo2(weeks: u32, promo: bool) -> f64 {
        if promo { 1.0 } else { 1.0 + 0.01 * weeks.min(10) as f64 }
    }

    /// The effect of a day's maximum temperature (°C).
    pub fn heat(celsius: f64) -> f64 {
        1.0 - 0.02 * (celsius - 25.0).max(0.0)
    }
}

const STATES: [&str; 12] = ["BE", "BW", "BY", "HB,NI", "HE", "HH", "NW", "RP", "SH", "SN", "ST", "TH"];

/// The real data's first day, 1 January 2013, as a day number (days since 1970-01-01).
pub const FIRST_DAY: i64 = 15_706;
/// The real data's last day, Friday 31 July 2015.
pub const LAST_DAY: i64 = 16_647;
/// The days the notebook's test set ran on after [`LAST_DAY`] (to 17 September 2015), which the holiday and
/// promotion features could see.
const TEST_DAYS: i64 = 48;
/// Days in the validation set: the last six weeks.
pub const VALID_DAYS: i64 = 42;
/// The real data's `PromoInterval` values.
const INTERVALS: [&str; 3] = ["Jan,Apr,Jul,Oct", "Feb,May,Aug,Nov", "Mar,Jun,Sept,Dec"];

/// The nation-wide public holiday on day number `day`, if any: 1 (public), 2 (Easter) or 3 (Christmas).
fn national_holiday(day: i64) -> usize {
    let date = dates::date_of(day);
    let (month, easter_day) = easter(date.year);
    let easter = dates::days_of(Date { year: date.year, month, day: easter_day });
    match (date.month, date.day) {
        (1, 1) | (5, 1) | (10, 3) => 1,
        (12, 25) | (12, 26) => 3,
        _ if day == easter - 2 || day == easter + 1 => 2,
        _ => 0,
    }
}

/// Easter Sunday of `year` as `(month, day)`: the anonymous Gregorian algorithm (Meeus, "Astronomical
/// Algorithms", ch. 8).
pub fn easter(year: i32) -> (u32, u32) {
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
    (month as u32, day as u32)
}

/// Whether the chain-wide promotion runs on day number `day`: Monday to Friday of every other week, counted from
/// Monday 31 December 2012.
pub fn promo_on(day: i64) -> bool {
    dates::weekday(day) < 5 && (day - (FIRST_DAY - 1)).div_euclid(7) % 2 == 0
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

/// The notebook's `cat_vars`, those of its 22 the table has (it leaves out `Events`, the weather's fog, rain or
/// snow).
pub const CATEGORICAL: [&str; 21] = [
    "Store", "DayOfWeek", "Year", "Month", "Day", "StateHoliday", "CompetitionMonthsOpen", "Promo2Weeks", "StoreType", "Assortment",
    "PromoInterval", "CompetitionOpenSinceYear", "Promo2SinceYear", "State", "Week", "Promo_fw", "Promo_bw", "StateHoliday_fw",
    "StateHoliday_bw", "SchoolHoliday_fw", "SchoolHoliday_bw",
];
/// The notebook's `cont_vars`, those of its 16 the table has.
pub const CONTINUOUS: [&str; 6] = ["CompetitionDistance", "Max_TemperatureC", "AfterStateHoliday", "BeforeStateHoliday", "Promo", "SchoolHoliday"];
/// The notebook's columns the synthetic table leaves out: the rest of the weather and the Google Trends series.
pub const LEFT_OUT: [&str; 11] = [
    "Events", "Mean_TemperatureC", "Min_TemperatureC", "Max_Humidity", "Mean_Humidity", "Min_Humidity", "Max_Wind_SpeedKm_h",
    "Mean_Wind_SpeedKm_h", "CloudCover", "trend", "trend_DE",
];

/// One cell of a generated row.
enum Cell {
    Text(Option<String>),
    Number(Option<f32>),
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(Some(s.into()))
}

fn number(x: impl Into<f64>) -> Cell {
    Cell::Number(Some(x.into() as f32))
}

fn boolean(b: bool) -> Cell {
    text(if b { "True" } else { "False" })
}

/// The generated columns before `add_datepart`, in the table's order.
const RAW: [&str; 33] = [
    "Date", "Store", "DayOfWeek", "Promo", "StateHoliday", "SchoolHoliday", "StoreType", "Assortment", "CompetitionDistance",
    "CompetitionOpenSinceMonth", "CompetitionOpenSinceYear", "Promo2", "Promo2SinceWeek", "Promo2SinceYear", "PromoInterval",
    "State", "Max_TemperatureC", "CompetitionMonthsOpen", "Promo2Weeks", "AfterSchoolHoliday", "BeforeSchoolHoliday",
    "AfterStateHoliday", "BeforeStateHoliday", "AfterPromo", "BeforePromo", "SchoolHoliday_bw", "StateHoliday_bw", "Promo_bw",
    "SchoolHoliday_fw", "StateHoliday_fw", "Promo_fw", "Customers", "Sales",
];

struct Store {
    kind: usize,
    assortment: usize,
    state: usize,
    distance: f64,
    distance_known: bool,
    /// The 15th of the month the competitor opened (the notebook's `CompetitionOpenSince`), if known.
    competitor_since: Option<i64>,
    /// The Monday `Promo2` began and its interval, if taking part.
    promo2: Option<(i64, usize)>,
    /// Closed for refurbishment on these days.
    refurbishing: std::ops::Range<i64>,
    base: f64,
}

impl Store {
    fn draw(rng: &mut Rng, first: i64) -> Store {
        let kind = pick(rng, &[0.54, 0.02, 0.13, 0.31]);
        let assortment = pick(rng, &[0.53, 0.01, 0.46]);
        let state = rng.below(STATES.len());
        let distance = ((2000f64).ln() + 1.0 * rng.normal() as f64).exp().clamp(20.0, 75_000.0).round();
        let distance_known = rng.uniform() >= 0.05;
        let month = rng.below(96) as u32;
        let competitor_since = (rng.uniform() >= 0.32).then(|| dates::days_of(Date { year: 2008 + (month / 12) as i32, month: month % 12 + 1, day: 15 }));
        let mondays = (dates::iso_monday(2015, 27) - dates::iso_monday(2010, 1)) / 7;
        let promo2 = (rng.uniform() < 0.5).then(|| (dates::iso_monday(2010, 1) + 7 * rng.below(mondays as usize + 1) as i64, rng.below(INTERVALS.len())));
        let refurbishing = if rng.uniform() < 0.1 {
            let start = first + rng.below((LAST_DAY - first + 1) as usize) as i64;
            start..start + 42 + rng.below(43) as i64
        } else {
            0..0
        };
        let base = ((5000f64).ln() + 0.35 * rng.normal() as f64).exp();
        Store { kind, assortment, state, distance, distance_known, competitor_since, promo2, refurbishing, base }
    }
}

/// Each state's calendar from [`FIRST_DAY`] to the end of the test weeks: holidays, school holidays, weather.
struct StateCalendar {
    holiday: Vec<usize>,
    school: Vec<bool>,
    celsius: Vec<f64>,
}

impl StateCalendar {
    fn draw(rng: &mut Rng) -> StateCalendar {
        let regional: Vec<i64> = (0..4).map(|_| 1 + rng.below(365) as i64).collect();
        let breaks: Vec<(i64, i64)> = (2013..=2015).map(|_| (180 + rng.below(30) as i64, 280 + rng.below(20) as i64)).collect();
        let mut calendar = StateCalendar { holiday: vec![], school: vec![], celsius: vec![] };
        for day in FIRST_DAY..=LAST_DAY + TEST_DAYS {
            let doy = dates::day_of_year(day);
            let national = national_holiday(day);
            calendar.holiday.push(if national > 0 { national } else { usize::from(regional.contains(&doy)) });
            let (summer, autumn) = breaks[(dates::date_of(day).year - 2013) as usize];
            calendar.school.push((summer..summer + 42).contains(&doy) || (autumn..autumn + 14).contains(&doy));
            let season = (2.0 * std::f64::consts::PI * (doy as f64 - 16.0) / 365.0).cos();
            calendar.celsius.push((13.0 - 11.0 * season + 3.0 * rng.normal() as f64).round());
        }
        calendar
    }
}

impl RossmannTable {
    /// Generates `stores` stores over the last `days` days to 31 July 2015 (at most 942), as the module's
    /// documentation describes, without the closed days.
    pub fn generate(stores: usize, days: usize, seed: u64) -> RossmannTable {
        let mut rng = Rng::new(seed);
        let first = LAST_DAY + 1 - (days as i64).clamp(1, LAST_DAY - FIRST_DAY + 1);
        let shops: Vec<Store> = (0..stores).map(|_| Store::draw(&mut rng, first)).collect();
        let states: Vec<StateCalendar> = (0..STATES.len()).map(|_| StateCalendar::draw(&mut rng)).collect();
        let promo: Vec<bool> = (FIRST_DAY..=LAST_DAY + TEST_DAYS).map(promo_on).collect();
        // Each store's holiday and promotion features, over every calendar day (closed ones too).
        let features: Vec<[Vec<i32>; 12]> = shops
            .iter()
            .map(|shop| {
                let calendar = &states[shop.state];
                let holiday: Vec<bool> = calendar.holiday.iter().map(|&h| h > 0).collect();
                let events = [&calendar.school, &holiday, &promo];
                let counts = |forward| events.map(|e| dates::window_counts(e, 7, forward).into_iter().map(|c| c as i32).collect::<Vec<_>>());
                let [sb, hb, pb] = counts(false);
                let [sf, hf, pf] = counts(true);
                let [sa, ha, pa] = events.map(|e| dates::days_since(e));
                let [su, hu, pu] = events.map(|e| dates::days_until(e));
                [sa, su, ha, hu, pa, pu, sb, hb, pb, sf, hf, pf]
            })
            .collect();
        let mut cells: Vec<Vec<Cell>> = (0..RAW.len()).map(|_| Vec::new()).collect();
        let (mut expected, mut day_of_row) = (vec![], vec![]);
        for day in first..=LAST_DAY {
            let i = (day - FIRST_DAY) as usize;
            let (date, weekday) = (dates::date_of(day), dates::weekday(day) as usize);
            for (s, shop) in shops.iter().enumerate() {
                let calendar = &states[shop.state];
                let h = calendar.holiday[i];
                let open_anyway = shop.kind == 1;
                if ((weekday == 6 || h > 0) && !open_anyway) || shop.refurbishing.contains(&day) {
                    continue;
                }
                // The notebook's CompetitionMonthsOpen and Promo2Weeks, and the whole months and weeks behind the
                // true effects (an unknown opening was long ago).
                let months_open = shop.competitor_since.map_or(1000, |since| ((day - since).max(0) / 30) as u32);
                let promo2_weeks = shop.promo2.map_or(0, |(began, _)| ((day - began).max(0) / 7) as u32);
                let school = calendar.school[i];
                let celsius = calendar.celsius[i];
                let mu = shop.base
                    * Factors::TYPE[shop.kind]
                    * Factors::ASSORTMENT[shop.assortment]
                    * Factors::WEEKDAY[weekday]
                    * Factors::MONTH[date.month as usize - 1]
                    * Factors::HOLIDAY[h]
                    * if school { Factors::SCHOOL } else { 1.0 }
                    * Factors::competition(shop.distance, months_open)
                    * if promo[i] { Factors::promo(shop.kind, weekday) } else { 1.0 }
                    * Factors::promo2(promo2_weeks, promo[i])
                    * Factors::heat(celsius);
                let value = (mu * (NOISE_SIGMA * rng.normal() as f64).exp()).round().max(1.0);
                let basket = 9.0 + 0.5 * rng.normal() as f64;
                let since = shop.competitor_since.map(dates::date_of);
                let promo2_since = shop.promo2.map(|(began, _)| dates::iso_week(began));
                let row = [
                    text(dates::format(date)),
                    number(s as u32 + 1),
                    number(weekday as u32 + 1),
                    number(u8::from(promo[i])),
                    boolean(h > 0),
                    number(u8::from(school)),
                    text(["a", "b", "c", "d"][shop.kind]),
                    text(["a", "b", "c"][shop.assortment]),
                    Cell::Number(shop.distance_known.then_some(shop.distance as f32)),
                    Cell::Number(since.map(|d| d.month as f32)),
                    Cell::Number(since.map(|d| d.year as f32)),
                    number(u8::from(shop.promo2.is_some())),
                    Cell::Number(promo2_since.map(|(_, week)| week as f32)),
                    Cell::Number(promo2_since.map(|(year, _)| year as f32)),
                    Cell::Text(shop.promo2.map(|(_, interval)| INTERVALS[interval].to_string())),
                    text(STATES[shop.state]),
                    number(celsius),
                    number(if shop.competitor_since.is_some() { months_open.min(24) } else { 0 }),
                    number(promo2_weeks.min(25)),
                ]
                .into_iter()
                .chain(features[s].iter().map(|f| number(f[i])))
                .chain([number((value / basket).round()), number(value)]);
                for (column, cell) in cells.iter_mut().zip(row) {
                    column.push(cell);
                }
                expected.push(mu);
                day_of_row.push(day);
            }
        }
        let columns = RAW
            .iter()
            .zip(cells)
            .map(|(name, column)| {
                let column = match column.first() {
                    Some(Cell::Text(_)) => Column::Text(column.into_iter().map(|c| if let Cell::Text(t) = c { t } else { None }).collect()),
                    _ => Column::Number(column.into_iter().map(|c| if let Cell::Number(x) = c { x } else { None }).collect()),
                };
                (name.to_string(), column)
            })
            .collect();
        let mut table = Table { columns };
        dates::add_datepart(&mut table, "Date");
        let cutoff = LAST_DAY + 1 - VALID_DAYS;
        let (valid_rows, train_rows) = (0..day_of_row.len()).partition(|&r| day_of_row[r] >= cutoff);
        RossmannTable { table, expected, valid_rows, train_rows }
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

    /// The positions in the validation set of its ordinary days: no promotion, no public holiday.
    pub fn ordinary_valid_rows(&self) -> Vec<usize> {
        let promo = self.table.numbers("Promo").expect("the table has Promo");
        let Ok(Column::Text(holiday)) = self.table.column("StateHoliday") else { return vec![] };
        (0..self.valid_rows.len())
            .filter(|&i| {
                let r = self.valid_rows[i];
                promo[r] == Some(0.0) && holiday[r].as_deref() == Some("False")
            })
            .collect()
    }

    /// Training and validation sets for a tabular model predicting `log(Sales)` from the lesson's columns
    /// ([`CATEGORICAL`] and [`CONTINUOUS`]), with the `y_range` fastai would use: `(0, log(1.2 · max sales))`.
    pub fn tabular_sets(&self) -> (TabularSet, TabularSet, (f32, f32)) {
        self.sets(&CATEGORICAL, &CONTINUOUS)
    }

    /// [`RossmannTable::tabular_sets`] with the given columns as categorical and as continuous (`FillMissing`,
    /// `Categorify` and `Normalize` fitted on the training rows). `CompetitionDistance` enters as its logarithm
    /// when continuous, so that the few stores 75 km out do not squash the rest into a sliver.
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

    fn texts<'a>(t: &'a RossmannTable, name: &str) -> &'a [Option<String>] {
        match t.table.column(name).unwrap() {
            Column::Text(v) => v,
            Column::Number(_) => panic!("{name} is text"),
        }
    }

    #[test]
    fn the_calendar_knows_easter_and_the_real_data_s_dates() {
        assert_eq!(Some(FIRST_DAY), dates::parse("2013-01-01"));
        assert_eq!(Some(LAST_DAY), dates::parse("2015-07-31"));
        // Easter Sundays from the published tables.
        assert_eq!([easter(2014), easter(2015), easter(2016), easter(2019)], [(4, 20), (4, 5), (3, 27), (4, 21)]);
        let day = |t: &str| dates::parse(t).unwrap();
        assert_eq!(national_holiday(day("2015-04-03")), 2, "Good Friday");
        assert_eq!(national_holiday(day("2015-04-06")), 2, "Easter Monday");
        assert_eq!(national_holiday(day("2015-04-04")), 0);
        assert_eq!(national_holiday(day("2015-01-01")), 1, "New Year, not Christmas");
        assert_eq!(national_holiday(day("2014-12-25")), 3);
        assert_eq!(dates::day_of_year(day("2015-07-31")), 212);
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
        let promo = t.table.numbers("Promo").unwrap();
        let (holiday, kind) = (texts(&t, "StateHoliday"), texts(&t, "StoreType"));
        let mut sundays = 0;
        for r in 0..t.expected.len() {
            let b = kind[r].as_deref() == Some("b");
            if holiday[r].as_deref() == Some("True") {
                assert!(b, "only type b stores open on public holidays");
            }
            if weekday[r] == Some(7.0) {
                assert!(b, "only type b stores open on Sundays");
                sundays += 1;
            }
            if promo[r] == Some(1.0) {
                assert!(weekday[r].unwrap() <= 5.0, "the promotion runs Monday to Friday");
            }
        }
        assert!(sundays > 0, "type b stores open on Sundays, as in the real data");
        // Each Monday-to-Friday week is all promotion or none, alternately; weekends never.
        let first_monday = dates::parse("2014-01-06").unwrap();
        for monday in (first_monday..first_monday + 400).step_by(7) {
            let week: Vec<bool> = (monday..monday + 7).map(promo_on).collect();
            assert!(week[..5].iter().all(|&p| p == week[0]) && !week[5] && !week[6], "{week:?}");
            assert_ne!(promo_on(monday), promo_on(monday + 7));
        }
        // Fewer rows than 6 days a week for every store: holidays and refurbishments are gone.
        assert!(t.expected.len() < 80 * 120 * 6 / 7);
        assert!(t.valid_rows.iter().all(|&r| !t.train_rows.contains(&r)));
    }

    #[test]
    fn the_table_ends_with_the_real_data_and_validates_on_its_last_six_summer_weeks() {
        let t = RossmannTable::generate(60, 300, 3);
        let date = texts(&t, "Date");
        let day = |r: usize| dates::parse(date[r].as_deref().unwrap()).unwrap();
        assert_eq!(t.valid_rows.iter().map(|&r| day(r)).max(), Some(LAST_DAY));
        assert_eq!(t.valid_rows.iter().map(|&r| day(r)).min(), dates::parse("2015-06-20"));
        assert_eq!(t.train_rows.iter().map(|&r| day(r)).max(), dates::parse("2015-06-19"));
        assert_eq!(t.train_rows.iter().map(|&r| day(r)).min(), Some(LAST_DAY - 299));
        // The summer is validated: school holidays and days over 25 °C are among the validation rows.
        let school = t.table.numbers("SchoolHoliday").unwrap();
        let heat = t.table.numbers("Max_TemperatureC").unwrap();
        let share = |f: &dyn Fn(usize) -> bool| t.valid_rows.iter().filter(|&&r| f(r)).count() as f64 / t.valid_rows.len() as f64;
        assert!(share(&|r| school[r] == Some(1.0)) > 0.1, "school holidays in validation");
        assert!(share(&|r| heat[r].unwrap() > 25.0) > 0.05, "hot days in validation");
        // add_datepart's columns follow the date.
        let names: Vec<&str> = t.table.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(&names[..14], ["Date"].iter().chain(dates::DATEPART.iter()).copied().collect::<Vec<_>>().as_slice());
        for name in CATEGORICAL.iter().chain(&CONTINUOUS).chain(["Customers", "Sales"].iter()) {
            assert!(names.contains(name), "{name}");
        }
        assert!(LEFT_OUT.iter().all(|n| !names.contains(n)));
    }

    #[test]
    fn the_columns_are_the_notebook_s_lists_less_what_the_table_leaves_out() {
        // lesson6-rossmann.ipynb, as the 2019 course ran it.
        let cat_vars = [
            "Store", "DayOfWeek", "Year", "Month", "Day", "StateHoliday", "CompetitionMonthsOpen", "Promo2Weeks", "StoreType", "Assortment",
            "PromoInterval", "CompetitionOpenSinceYear", "Promo2SinceYear", "State", "Week", "Events", "Promo_fw", "Promo_bw",
            "StateHoliday_fw", "StateHoliday_bw", "SchoolHoliday_fw", "SchoolHoliday_bw",
        ];
        let cont_vars = [
            "CompetitionDistance", "Max_TemperatureC", "Mean_TemperatureC", "Min_TemperatureC", "Max_Humidity", "Mean_Humidity",
            "Min_Humidity", "Max_Wind_SpeedKm_h", "Mean_Wind_SpeedKm_h", "CloudCover", "trend", "trend_DE", "AfterStateHoliday",
            "BeforeStateHoliday", "Promo", "SchoolHoliday",
        ];
        let kept = |list: &[&'static str]| list.iter().copied().filter(|c| !LEFT_OUT.contains(c)).collect::<Vec<_>>();
        assert_eq!(kept(&cat_vars), CATEGORICAL, "in the notebook's order");
        assert_eq!(kept(&cont_vars), CONTINUOUS);
        assert_eq!(CATEGORICAL.len() + CONTINUOUS.len() + LEFT_OUT.len(), cat_vars.len() + cont_vars.len());
    }

    #[test]
    fn the_cleaning_notebook_s_features_follow_its_definitions() {
        let t = RossmannTable::generate(30, 120, 5);
        let n = |name: &str| t.table.numbers(name).unwrap();
        let (store, date) = (n("Store"), texts(&t, "Date"));
        let (after, before, bw, fw) = (n("AfterStateHoliday"), n("BeforeStateHoliday"), n("StateHoliday_bw"), n("StateHoliday_fw"));
        let (promo_bw, promo_fw) = (n("Promo_bw"), n("Promo_fw"));
        let holiday = texts(&t, "StateHoliday");
        for r in 0..t.expected.len() {
            if holiday[r].as_deref() == Some("True") {
                assert_eq!((after[r], before[r]), (Some(0.0), Some(0.0)), "on the day itself");
                assert!(bw[r].unwrap() >= 1.0 && fw[r].unwrap() >= 1.0);
            }
            assert!(after[r].unwrap() >= 0.0 && before[r].unwrap() <= 0.0, "since is positive, until negative");
            assert!((0.0..=5.0).contains(&promo_bw[r].unwrap()) && (0.0..=5.0).contains(&promo_fw[r].unwrap()), "at most 5 promotion days in 7");
        }
        // A store's Promo_bw is the count of its promotion days over the last 7 calendar days.
        let r = (0..t.expected.len()).find(|&r| store[r] == Some(1.0) && n("Promo")[r] == Some(1.0)).unwrap();
        let day = dates::parse(date[r].as_deref().unwrap()).unwrap();
        assert_eq!(promo_bw[r], Some((day - 6..=day).filter(|&d| promo_on(d)).count() as f32));
        assert_eq!(promo_fw[r], Some((day..=day + 6).filter(|&d| promo_on(d)).count() as f32));
        // The store columns' gaps are where the real data has them.
        let (promo2, week, interval) = (n("Promo2"), n("Promo2SinceWeek"), texts(&t, "PromoInterval"));
        for r in 0..t.expected.len() {
            assert_eq!(promo2[r] == Some(0.0), week[r].is_none());
            assert_eq!(promo2[r] == Some(0.0), interval[r].is_none());
            if n("CompetitionOpenSinceYear")[r].is_none() {
                assert_eq!(n("CompetitionMonthsOpen")[r], Some(0.0), "the notebook zeroes an unknown opening");
            }
            assert!((0.0..=24.0).contains(&n("CompetitionMonthsOpen")[r].unwrap()));
            assert!((0.0..=25.0).contains(&n("Promo2Weeks")[r].unwrap()));
        }
        assert!(n("CompetitionOpenSinceYear").iter().any(Option::is_none));
    }

    #[test]
    fn the_procs_fill_categorify_and_normalize_with_training_statistics() {
        // Seed 1 with 50 stores is the page's table: it has stores with no competitor distance.
        let t = RossmannTable::generate(50, 300, 1);
        let raw = t.table.numbers("CompetitionDistance").unwrap().to_vec();
        assert!(t.train_rows.iter().any(|&r| raw[r].is_none()));
        let (train, valid, _) = t.tabular_sets();
        // FillMissing: a `_na` column after the lesson's categorical ones, True exactly where the distance is missing.
        assert_eq!(train.cat_names.len(), CATEGORICAL.len() + 1);
        assert_eq!(train.cat_names.last().unwrap(), "CompetitionDistance_na");
        assert_eq!(train.vocabs.last().unwrap(), &["#na#", "False", "True"]);
        let k = train.cat_names.len();
        for (i, &r) in t.train_rows.iter().enumerate() {
            assert_eq!(train.cats[i * k + k - 1], if raw[r].is_none() { 2 } else { 1 });
        }
        // …filled with the training median of log distance (the model reads its log).
        let mut logs: Vec<f32> = t.train_rows.iter().filter_map(|&r| raw[r].map(f32::ln)).collect();
        logs.sort_by(f32::total_cmp);
        let m = logs.len();
        let median = if m % 2 == 1 { logs[m / 2] } else { (logs[m / 2 - 1] + logs[m / 2]) / 2.0 };
        assert_eq!(train.filled, vec![("CompetitionDistance".to_string(), median)]);
        // Categorify: numbers in numeric order, a missing opening year is #na#, code 0.
        let year = train.cat_names.iter().position(|c| c == "CompetitionOpenSinceYear").unwrap();
        assert_eq!(train.vocabs[year][0], "#na#");
        let years: Vec<f32> = train.vocabs[year][1..].iter().map(|v| v.parse().unwrap()).collect();
        assert!(years.windows(2).all(|w| w[0] < w[1]), "{years:?}");
        let opened = t.table.numbers("CompetitionOpenSinceYear").unwrap();
        for (i, &r) in t.train_rows.iter().enumerate() {
            assert_eq!(train.cats[i * k + year] == 0, opened[r].is_none());
        }
        // Normalize: the training columns have mean 0 and standard deviation 1; validation uses the same statistics.
        let c = train.cont_names.len();
        assert_eq!(train.stats.len(), c);
        for j in 0..c {
            let (mean, std) = super::super::mean_std((0..train.rows()).map(|i| train.conts[i * c + j]));
            assert!(mean.abs() < 1e-3 && (std - 1.0).abs() < 1e-3, "{}: {mean} {std}", train.cont_names[j]);
        }
        let temperature = train.cont_names.iter().position(|n| n == "Max_TemperatureC").unwrap();
        let (mean, std) = train.stats[temperature];
        let celsius = t.table.numbers("Max_TemperatureC").unwrap()[t.valid_rows[0]].unwrap();
        assert!((valid.conts[temperature] - (celsius - mean) / std).abs() < 1e-5);
    }

    #[test]
    fn the_tabular_sets_predict_log_sales() {
        let t = RossmannTable::generate(20, 100, 8);
        let (train, valid, (low, high)) = t.tabular_sets();
        assert_eq!(train.cont_names.len(), CONTINUOUS.len());
        assert_eq!(train.cardinalities()[0], 21, "20 stores and #na#");
        assert_eq!(train.rows() + valid.rows(), t.expected.len());
        let TabularTargets::Values(v) = &train.targets else { panic!("a regression") };
        assert!(v.iter().all(|&y| y > low && y < high));
        // Day of week as a number instead: one categorical column fewer, one continuous more.
        let cats: Vec<&str> = CATEGORICAL.iter().copied().filter(|&c| c != "DayOfWeek").collect();
        let conts: Vec<&str> = CONTINUOUS.iter().copied().chain(["DayOfWeek"]).collect();
        let (fewer, _, _) = t.sets(&cats, &conts);
        assert_eq!((fewer.cat_names.len(), fewer.cont_names.len()), (train.cat_names.len() - 1, CONTINUOUS.len() + 1));
        let ordinary = t.ordinary_valid_rows();
        assert!(!ordinary.is_empty() && ordinary.len() < valid.rows());
    }
}
