//! Dates, and the features the lesson builds from them: fastai's `add_datepart`, and the Rossmann notebook's
//! "time since / until" (`get_elapsed`) and seven-day window counts.
//!
//! A date is a day number, days since 1970-01-01 (the Unix epoch), so that differences are plain subtraction.

use super::table::{Column, Table};

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    /// The year.
    pub year: i32,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
}

/// The date of day number `days` (days since 1970-01-01): the proleptic Gregorian calendar, by counting 400-year
/// eras of 146,097 days from 1 March of year 0 (H. Hinnant, "chrono-compatible low-level date algorithms").
pub fn date_of(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    Date { year, month, day }
}

/// The day number (days since 1970-01-01) of `date`: the inverse of [`date_of`].
pub fn days_of(date: Date) -> i64 {
    let year = i64::from(date.year) - i64::from(date.month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (i64::from(date.month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(date.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The day of the week of day number `days`: 0 = Monday … 6 = Sunday (pandas' `dayofweek`; 1 January 1970 was a
/// Thursday).
pub fn weekday(days: i64) -> u32 {
    (days + 3).rem_euclid(7) as u32
}

fn leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` of `year`.
pub fn month_length(year: i32, month: u32) -> u32 {
    match month {
        2 if leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The day of the year of day number `days`, from 1 (pandas' `dayofyear`).
pub fn day_of_year(days: i64) -> i64 {
    days - days_of(Date { year: date_of(days).year, month: 1, day: 1 }) + 1
}

/// The ISO 8601 week of day number `days`, as `(ISO year, week 1–53)`: weeks start on Monday, and week 1 is the one
/// holding the year's first Thursday (pandas' `week`).
pub fn iso_week(days: i64) -> (i32, u32) {
    // The Thursday of this week decides the ISO year; the week is its day of the year / 7.
    let thursday = days - i64::from(weekday(days)) + 3;
    let year = date_of(thursday).year;
    let week = (thursday - days_of(Date { year, month: 1, day: 1 })) / 7 + 1;
    (year, week as u32)
}

/// The Monday of ISO week `week` of ISO `year` (Python's `isoweek.Week(year, week).monday()`, which the notebook
/// uses for `Promo2Since`).
pub fn iso_monday(year: i32, week: u32) -> i64 {
    let january_4 = days_of(Date { year, month: 1, day: 4 });
    january_4 - i64::from(weekday(january_4)) + 7 * (i64::from(week) - 1)
}

/// `date` as `YYYY-MM-DD`.
pub fn format(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year, date.month, date.day)
}

/// The day number of a `YYYY-MM-DD` text, if it is a real date.
pub fn parse(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    ((1..=12).contains(&month) && (1..=month_length(year, month)).contains(&day)).then(|| days_of(Date { year, month, day }))
}

/// The columns `add_datepart` adds, in its order (fastai 1's `attr` list, then `Elapsed`).
pub const DATEPART: [&str; 13] = [
    "Year", "Month", "Week", "Day", "Dayofweek", "Dayofyear", "Is_month_end", "Is_month_start", "Is_quarter_end", "Is_quarter_start",
    "Is_year_end", "Is_year_start", "Elapsed",
];

fn flag(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

/// fastai's `add_datepart(df, field, drop=False)`, as the Rossmann notebooks call it: after the `YYYY-MM-DD` text
/// column `field`, the columns of [`DATEPART`] with `field`'s name less a trailing `Date` as their prefix. The
/// numbers are pandas' `dt` attributes (`Week` the ISO week, `Dayofweek` 0 = Monday, `Dayofyear` from 1); the
/// `Is_*` flags are booleans (`True`/`False`); `Elapsed` is the seconds since 1970-01-01. A missing or unreadable
/// date gives missing values in every new column. Does nothing when there is no such text column.
pub fn add_datepart(table: &mut Table, field: &str) {
    let Some(at) = table.columns.iter().position(|(name, column)| name == field && matches!(column, Column::Text(_))) else { return };
    let Column::Text(texts) = &table.columns[at].1 else { return };
    let days: Vec<Option<i64>> = texts.iter().map(|t| t.as_deref().and_then(parse)).collect();
    let prefix = field.strip_suffix("Date").or_else(|| field.strip_suffix("date")).unwrap_or(field);
    let number = |f: &dyn Fn(i64) -> f64| Column::Number(days.iter().map(|d| d.map(|d| f(d) as f32)).collect());
    let boolean = |f: &dyn Fn(Date) -> bool| Column::Text(days.iter().map(|d| d.map(|d| flag(f(date_of(d))))).collect());
    let last = |date: Date| date.day == month_length(date.year, date.month);
    let columns = [
        number(&|d| f64::from(date_of(d).year)),
        number(&|d| f64::from(date_of(d).month)),
        number(&|d| f64::from(iso_week(d).1)),
        number(&|d| f64::from(date_of(d).day)),
        number(&|d| f64::from(weekday(d))),
        number(&|d| day_of_year(d) as f64),
        boolean(&last),
        boolean(&|date| date.day == 1),
        boolean(&|date| date.month % 3 == 0 && last(date)),
        boolean(&|date| date.month % 3 == 1 && date.day == 1),
        boolean(&|date| date.month == 12 && date.day == 31),
        boolean(&|date| date.month == 1 && date.day == 1),
        number(&|d| d as f64 * 86_400.0),
    ];
    let named = DATEPART.iter().map(|n| format!("{prefix}{n}")).zip(columns);
    table.columns.splice(at + 1..at + 1, named);
}

/// The notebook's `get_elapsed(field, 'After')` over one store's consecutive days: for each day, the days since the
/// last day `events` was true (0 on such a day, and 0 before the first one: the notebook's empty date, filled with
/// 0).
pub fn days_since(events: &[bool]) -> Vec<i32> {
    let mut last = None;
    events
        .iter()
        .enumerate()
        .map(|(i, &e)| {
            if e {
                last = Some(i);
            }
            last.map_or(0, |l| (i - l) as i32)
        })
        .collect()
}

/// The notebook's `get_elapsed(field, 'Before')` (the days in reverse order): for each day, minus the days until
/// the next day `events` is true (0 on such a day, and 0 after the last one).
pub fn days_until(events: &[bool]) -> Vec<i32> {
    let reversed: Vec<bool> = events.iter().rev().copied().collect();
    days_since(&reversed).into_iter().rev().map(|d| -d).collect()
}

/// The notebook's `rolling(7, min_periods=1).sum()` over one store's consecutive days: for each day, how many of
/// it and the `window − 1` days before were events (`_bw`), or, with `forward`, of it and the days after (`_fw`,
/// the days sorted in reverse). Near either end the window holds what there is.
pub fn window_counts(events: &[bool], window: usize, forward: bool) -> Vec<u32> {
    (0..events.len())
        .map(|i| {
            let range = if forward { i..(i + window).min(events.len()) } else { (i + 1).saturating_sub(window)..i + 1 };
            events[range].iter().filter(|&&e| e).count() as u32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_and_know_the_calendar() {
        assert_eq!(date_of(0), Date { year: 1970, month: 1, day: 1 });
        assert_eq!(days_of(Date { year: 2013, month: 1, day: 1 }), 15_706, "1,356,998,400 s / 86,400");
        assert_eq!(date_of(days_of(Date { year: 2016, month: 2, day: 29 })), Date { year: 2016, month: 2, day: 29 });
        for d in -800_000..800_000i64 {
            if d % 997 == 0 {
                assert_eq!(days_of(date_of(d)), d);
            }
        }
        // 2015-07-31 was a Friday, 2013-01-01 a Tuesday.
        assert_eq!(weekday(parse("2015-07-31").unwrap()), 4);
        assert_eq!(weekday(parse("2013-01-01").unwrap()), 1);
        assert_eq!(parse("2015-02-29"), None);
        assert_eq!(parse("2015-13-01"), None);
        assert_eq!(parse("soon"), None);
        assert_eq!(format(date_of(parse("2015-07-31").unwrap())), "2015-07-31");
    }

    #[test]
    fn iso_weeks_follow_the_first_thursday() {
        // From the ISO calendar: 2015-01-01 (a Thursday) is in week 1 of 2015, 2014-12-29 (Monday) too; 2016-01-03 is
        // in week 53 of 2015; 2015-07-31 in week 31.
        let week = |t: &str| iso_week(parse(t).unwrap());
        assert_eq!(week("2015-01-01"), (2015, 1));
        assert_eq!(week("2014-12-29"), (2015, 1));
        assert_eq!(week("2014-12-28"), (2014, 52));
        assert_eq!(week("2016-01-03"), (2015, 53));
        assert_eq!(week("2015-07-31"), (2015, 31));
        assert_eq!(format(date_of(iso_monday(2015, 1))), "2014-12-29");
        assert_eq!(format(date_of(iso_monday(2013, 10))), "2013-03-04");
        for d in (15_000..17_000).step_by(3) {
            let (year, w) = iso_week(d);
            assert_eq!(iso_monday(year, w), d - i64::from(weekday(d)));
        }
    }

    #[test]
    fn add_datepart_writes_pandas_attributes_after_the_date() {
        let dates = ["2015-07-31", "2015-03-31", "2016-01-01", ""];
        let mut table = Table {
            columns: vec![
                ("Date".into(), Column::Text(dates.iter().map(|d| (!d.is_empty()).then(|| d.to_string())).collect())),
                ("Sales".into(), Column::Number(vec![Some(1.0); 4])),
            ],
        };
        add_datepart(&mut table, "Date");
        let names: Vec<&str> = table.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[0], "Date", "drop=False keeps the date");
        assert_eq!(&names[1..14], &DATEPART);
        assert_eq!(names[14], "Sales");
        let number = |name: &str| table.numbers(name).unwrap().to_vec();
        let text = |name: &str| match table.column(name).unwrap() {
            Column::Text(v) => v.clone(),
            Column::Number(_) => panic!("{name} is a flag"),
        };
        assert_eq!(number("Year")[..3], [Some(2015.0), Some(2015.0), Some(2016.0)]);
        assert_eq!(number("Week")[..3], [Some(31.0), Some(14.0), Some(53.0)]);
        assert_eq!(number("Dayofweek")[..3], [Some(4.0), Some(1.0), Some(4.0)], "Friday, Tuesday, Friday");
        assert_eq!(number("Dayofyear")[..3], [Some(212.0), Some(90.0), Some(1.0)]);
        assert_eq!(number("Elapsed")[0], Some(1_438_300_800.0), "2015-07-31 00:00 UTC in seconds, exact in an f32");
        let t = |s: &str| Some(s.to_string());
        assert_eq!(text("Is_month_end")[..3], [t("True"), t("True"), t("False")]);
        assert_eq!(text("Is_quarter_end")[..3], [t("False"), t("True"), t("False")]);
        assert_eq!(text("Is_year_start")[..3], [t("False"), t("False"), t("True")]);
        assert_eq!(text("Is_quarter_start")[..3], [t("False"), t("False"), t("True")]);
        assert!(table.columns.iter().skip(1).take(13).all(|(n, c)| match c {
            Column::Number(v) => v[3].is_none(),
            Column::Text(v) => v[3].is_none() && !n.is_empty(),
        }), "a missing date gives missing parts");
    }

    #[test]
    fn elapsed_and_window_counts_match_the_notebook_s_definitions() {
        let events = [false, true, false, false, true, false, false];
        assert_eq!(days_since(&events), [0, 0, 1, 2, 0, 1, 2]);
        assert_eq!(days_until(&events), [-1, 0, -2, -1, 0, 0, 0]);
        assert_eq!(window_counts(&events, 3, false), [0, 1, 1, 1, 1, 1, 1]);
        assert_eq!(window_counts(&events, 3, true), [1, 1, 1, 1, 1, 0, 0]);
        // Against a brute-force count on a longer pattern.
        let long: Vec<bool> = (0..60).map(|i| (i * 7 + i / 5) % 4 == 0).collect();
        let back = window_counts(&long, 7, false);
        let fwd = window_counts(&long, 7, true);
        for i in 0..long.len() {
            let count = |a: usize, b: usize| (a..=b).filter(|&j| long[j]).count() as u32;
            assert_eq!(back[i], count(i.saturating_sub(6), i));
            assert_eq!(fwd[i], count(i, (i + 6).min(long.len() - 1)));
        }
    }
}
