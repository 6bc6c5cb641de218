//! Lesson state in the URL: every control has a documented query parameter, so a link restores the exact state.
//! A value that cannot be used falls back to its default, with a notice saying what was changed and why.
//!
//! Each control is one [`Param`]: its name in the URL, its default, and the values it may take (a range, or named
//! choices). The URL decoder ([`Params::get`]), the control on the page (`widgets::inputs`, which stores only values
//! the parameter accepts, written as the URL writes them) and each lesson's "every setting" test all read it, so a
//! control cannot hold a value its link would drop. [`Params::sync`] writes every signal back to the URL.

use leptos::prelude::*;
use std::cell::RefCell;
use std::fmt::Display;

/// A number a range [`Param`] takes: a whole number, or a decimal written with at most 4 decimals.
pub trait Number: Copy + PartialOrd + Display + Send + Sync + 'static {
    /// The number a URL writes as `raw`, if it is one (finite, for decimals).
    fn from_url(raw: &str) -> Option<Self>;
    /// The number as a URL writes it.
    fn to_url(self) -> String;
    /// Values to try from `min` to `max`: every one of a short range of whole numbers; else the ends and some
    /// between.
    fn samples(min: Self, max: Self) -> Vec<Self>;
    /// The step of a number field for it (`1`, or `0.1` for decimals).
    const STEP: &'static str = "1";
}

impl Number for usize {
    fn from_url(raw: &str) -> Option<usize> {
        raw.trim().parse().ok()
    }

    fn to_url(self) -> String {
        self.to_string()
    }

    fn samples(min: usize, max: usize) -> Vec<usize> {
        if max - min <= 64 {
            return (min..=max).collect();
        }
        let mut out: Vec<usize> = (0..=8).map(|i| min + (max - min) / 8 * i).collect();
        out.push(max);
        out.dedup();
        out
    }
}

impl Number for u32 {
    fn from_url(raw: &str) -> Option<u32> {
        raw.trim().parse().ok()
    }

    fn to_url(self) -> String {
        self.to_string()
    }

    fn samples(min: u32, max: u32) -> Vec<u32> {
        usize::samples(min as usize, max as usize).into_iter().map(|v| v as u32).collect()
    }
}

impl Number for f32 {
    const STEP: &'static str = "0.1";

    /// Read back to the 4 decimals a URL keeps, so that what a control stores is what its link restores.
    fn from_url(raw: &str) -> Option<f32> {
        let v: f32 = raw.trim().parse().ok().filter(|v: &f32| v.is_finite())?;
        crate::widgets::format_weight(v).parse().ok()
    }

    fn to_url(self) -> String {
        crate::widgets::format_weight(self)
    }

    fn samples(min: f32, max: f32) -> Vec<f32> {
        let mut out: Vec<f32> = (0..=8).filter_map(|i| f32::from_url(&(min + (max - min) * i as f32 / 8.0).to_string())).collect();
        out.dedup();
        out
    }
}

/// The values a [`Param`] may take.
#[derive(Clone, Copy)]
pub enum Values<T: 'static> {
    /// Numbers from `min` to `max`, both included.
    Range {
        /// The smallest.
        min: T,
        /// The largest.
        max: T,
        /// Reads a number from the URL (see [`Number::from_url`]).
        from_url: fn(&str) -> Option<T>,
        /// Writes it (see [`Number::to_url`]).
        to_url: fn(T) -> String,
        /// Values to try (see [`Number::samples`]).
        samples: fn(T, T) -> Vec<T>,
        /// `a ≤ b`.
        at_most: fn(&T, &T) -> bool,
    },
    /// One of `all`, each written in the URL by its `name`.
    Choices {
        /// Every choice, in the order a control offers them.
        all: &'static [T],
        /// The name of a choice in URLs and test ids.
        name: fn(T) -> &'static str,
    },
}

/// One control of a lesson as its URL parameter: its name in the URL, its default, and the values it may take.
#[derive(Clone, Copy)]
pub struct Param<T: 'static> {
    /// The name in the URL: `k` in `?k=3`. People share links: never rename one.
    pub key: &'static str,
    /// The value when the URL has none, or one that cannot be used.
    pub default: T,
    /// What it may be.
    pub values: Values<T>,
}

impl<T: Number> Param<T> {
    /// A number from `min` to `max`.
    pub const fn range(key: &'static str, default: T, min: T, max: T) -> Param<T> {
        let values = Values::Range { min, max, from_url: T::from_url, to_url: T::to_url, samples: T::samples, at_most: at_most::<T> };
        Param { key, default, values }
    }
}

impl<T: Number> Param<T> {
    /// The smallest and the largest value.
    pub fn bounds(&self) -> (T, T) {
        match self.values {
            Values::Range { min, max, .. } => (min, max),
            Values::Choices { .. } => unreachable!("a range parameter is built by Param::range"),
        }
    }
}

/// `a ≤ b`.
fn at_most<T: PartialOrd>(a: &T, b: &T) -> bool {
    a <= b
}

impl<T: Copy + PartialEq + Send + Sync + 'static> Param<T> {
    /// One of `all`, named in the URL by `name`.
    pub const fn choices(key: &'static str, default: T, all: &'static [T], name: fn(T) -> &'static str) -> Param<T> {
        Param { key, default, values: Values::Choices { all, name } }
    }

    /// Whether `value` is one this parameter takes.
    pub fn accepts(&self, value: T) -> bool {
        match self.values {
            Values::Range { min, max, at_most, .. } => at_most(&min, &value) && at_most(&value, &max),
            Values::Choices { all, .. } => all.contains(&value),
        }
    }

    /// The value written in a URL as `raw`, or why it cannot be used (a phrase for the notice).
    pub fn parse(&self, raw: &str) -> Result<T, String> {
        match self.values {
            Values::Range { min, max, from_url, to_url, .. } => match from_url(raw) {
                Some(v) if self.accepts(v) => Ok(v),
                _ if raw.trim().is_empty() => Err("it is empty".into()),
                // A number of another kind (negative, with decimals, too large for its type): say what it may be.
                Some(_) | None if raw.trim().parse::<f64>().is_ok_and(|v| !v.is_nan()) => {
                    let whole = from_url("0.5").is_none();
                    Err(format!("it must be {} from {} to {}", if whole { "a whole number" } else { "a number" }, to_url(min), to_url(max)))
                }
                _ => Err("it is not a number".into()),
            },
            Values::Choices { all, name } => all.iter().copied().find(|&c| name(c) == raw).ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|&c| name(c)).collect();
                format!("it must be one of {}", names.join(", "))
            }),
        }
    }

    /// `value` as the URL writes it.
    pub fn to_url(&self, value: T) -> String {
        match self.values {
            Values::Range { to_url, .. } => to_url(value),
            Values::Choices { name, .. } => name(value).to_string(),
        }
    }

    /// What a control stores when the learner enters `value`: the nearest value the parameter takes, as its URL
    /// writes it (so that the link restores exactly what the page shows).
    pub fn settle(&self, value: T) -> T {
        match self.values {
            Values::Range { min, max, at_most, from_url, to_url, .. } => {
                let clamped = if at_most(&value, &min) { min } else if at_most(&max, &value) { max } else { value };
                from_url(&to_url(clamped)).unwrap_or(clamped)
            }
            Values::Choices { .. } if self.accepts(value) => value,
            Values::Choices { .. } => self.default,
        }
    }

    /// Values to try in tests: every choice; a range's ends, its default and values between.
    pub fn samples(&self) -> Vec<T> {
        match self.values {
            Values::Range { min, max, samples, .. } => {
                let mut out = samples(min, max);
                if !out.contains(&self.default) && self.accepts(self.default) {
                    out.push(self.default);
                }
                out
            }
            Values::Choices { all, .. } => all.to_vec(),
        }
    }

    /// Every way the parameter could disagree with itself, as sentences: a default it does not accept, or a value
    /// it accepts whose URL does not read back as the same value.
    pub fn inconsistencies(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.accepts(self.default) {
            out.push(format!("`{}`: the default {} is not one of its values", self.key, self.to_url(self.default)));
        }
        for v in self.samples() {
            let url = self.to_url(v);
            if self.parse(&url) != Ok(self.settle(v)) || self.settle(self.settle(v)) != self.settle(v) {
                out.push(format!("`{}`: {url} does not read back as itself", self.key));
            }
        }
        out
    }
}

impl<T: Number> Param<T> {
    /// What a number field of this parameter does with the text the browser hands it (`raw`) while it holds
    /// `current`: the value it stores, and what it says when that is not simply `raw` (empty, not a number, out of
    /// range: clamped to the nearest end).
    pub fn typed(&self, raw: &str, current: T) -> (T, Option<String>) {
        let (min, max) = self.bounds();
        let shown = || truncated(raw.trim(), 24);
        match T::from_url(raw) {
            Some(v) if self.accepts(v) => (self.settle(v), None),
            Some(v) => {
                let v = self.settle(v);
                (v, Some(format!("{} is outside {} to {}: using {}.", shown(), self.to_url(min), self.to_url(max), self.to_url(v))))
            }
            None if raw.trim().is_empty() => (current, Some(format!("The field was empty: it keeps {}.", self.to_url(current)))),
            None => match raw.trim().parse::<f64>() {
                // A count given a fraction.
                Ok(v) if v.is_finite() && v >= 0.0 && v.fract() != 0.0 && T::from_url("0.5").is_none() => {
                    (current, Some(format!("“{}” is not a whole number: the field keeps {}.", shown(), self.to_url(current))))
                }
                // Beyond what the type holds (1e40 for a decimal, -3 or 10^20 for a count): the nearest end.
                Ok(v) if !v.is_nan() => {
                    let end = if v < 0.0 { min } else { max };
                    (end, Some(format!("{} is outside {} to {}: using {}.", shown(), self.to_url(min), self.to_url(max), self.to_url(end))))
                }
                _ => (current, Some(format!("“{}” is not a number: the field keeps {}.", shown(), self.to_url(current)))),
            },
        }
    }
}

/// `text`, cut to `chars` characters with an ellipsis when longer: a notice quotes what was given, not all of it.
pub fn truncated(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// A parameter of any type, as the tests that run over every lesson's parameters see it.
pub trait AnyParam: Sync {
    /// The name in the URL.
    fn key(&self) -> &'static str;
    /// See [`Param::inconsistencies`].
    fn inconsistencies(&self) -> Vec<String>;
    /// Reads the parameter from `query` as a lesson does: `Err` says how the value read is not one the parameter
    /// takes (which would be a bug: an unusable value falls back to the default, with a notice). The fuzz target
    /// of the URL state drives it with any query.
    fn read(&self, query: &Query) -> Result<(), String>;
}

impl<T: Copy + PartialEq + Send + Sync + 'static> AnyParam for Param<T> {
    fn key(&self) -> &'static str {
        self.key
    }

    fn inconsistencies(&self) -> Vec<String> {
        Param::inconsistencies(self)
    }

    fn read(&self, query: &Query) -> Result<(), String> {
        let value = query.value(self);
        if !self.accepts(value) || self.parse(&self.to_url(value)) != Ok(value) {
            return Err(format!("`{}` read {:?} as {}, a value it does not take", self.key, query.get(self.key), self.to_url(value)));
        }
        Ok(())
    }
}

/// A parameter holding a comma-separated list of names (a table's columns), checked against what the lesson has.
#[derive(Clone, Copy)]
pub struct Names {
    /// The name in the URL.
    pub key: &'static str,
    /// The list when the URL has none, or one that cannot be used.
    pub default: &'static [&'static str],
}

impl AnyParam for Names {
    fn key(&self) -> &'static str {
        self.key
    }

    /// A list is checked against the lesson's columns when it is read (see [`Query::names`]).
    fn inconsistencies(&self) -> Vec<String> {
        Vec::new()
    }

    /// Any list reads (the lesson checks it against its columns).
    fn read(&self, query: &Query) -> Result<(), String> {
        query.names(self, |_| Ok(()));
        Ok(())
    }
}

/// A parameter holding a lesson's own text (an architecture's blocks), checked by the lesson when it is read; the
/// lesson's default when absent.
#[derive(Clone, Copy)]
pub struct Text {
    /// The name in the URL.
    pub key: &'static str,
}

impl AnyParam for Text {
    fn key(&self) -> &'static str {
        self.key
    }

    /// The text is checked by the lesson when it is read (see [`Query::text`]).
    fn inconsistencies(&self) -> Vec<String> {
        Vec::new()
    }

    /// Any text reads (the lesson checks it: the architecture's own fuzz target drives that check).
    fn read(&self, query: &Query) -> Result<(), String> {
        query.text(self, |_| Ok(()));
        Ok(())
    }
}

/// The query of the current page, read once when a lesson opens.
pub struct Query {
    pairs: Vec<(String, String)>,
    notices: RefCell<Vec<String>>,
    /// The keys the lesson asked for.
    read: RefCell<Vec<String>>,
}

impl Query {
    /// The current page's query (`?k=3&mode=border`).
    pub fn from_location() -> Query {
        let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
        Query::parse(&search)
    }

    /// A query string, with or without its `?`.
    pub fn parse(search: &str) -> Query {
        let pairs = search
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        Query { pairs, notices: RefCell::new(Vec::new()), read: RefCell::new(Vec::new()) }
    }

    /// The raw value of `key`, if the query has it (the key is then one the lesson reads: see [`Query::unknown`]).
    pub fn get(&self, key: &str) -> Option<&str> {
        if !self.read.borrow().iter().any(|k| k == key) {
            self.read.borrow_mut().push(key.to_string());
        }
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Records that `key=value` was not used, and why (a long value quoted by its start).
    pub fn notice(&self, key: &str, value: &str, why: impl Display, instead: impl Display) {
        let (key, value) = (truncated(key, 40), truncated(value, 40));
        self.notices.borrow_mut().push(format!("“{key}={value}” was not used ({why}); using {instead} instead."));
    }

    /// Records a notice for every key of the query that the lesson never asked for (garbage, a typo, another
    /// lesson's setting): call it once the lesson has read all of its parameters.
    pub fn unknown(&self) {
        let mut seen = Vec::new();
        let read = self.read.borrow().clone();
        for (key, _) in &self.pairs {
            if !key.is_empty() && !read.contains(key) && !seen.contains(key) {
                seen.push(key.clone());
                self.notices.borrow_mut().push(format!("“{}” is not a setting of this lesson, so it was ignored.", truncated(key, 40)));
            }
        }
    }

    /// `param`'s value (its default when the query has none, or one it cannot use, with a notice).
    pub fn value<T: Copy + PartialEq + Send + Sync + 'static>(&self, param: &Param<T>) -> T {
        let Some(raw) = self.get(param.key) else { return param.default };
        param.parse(raw).unwrap_or_else(|why| {
            self.notice(param.key, raw, why, param.to_url(param.default));
            param.default
        })
    }

    /// `len` comma-separated values of `element` (default `default`).
    pub fn list(&self, element: &Param<f32>, len: usize, default: &[f32]) -> Vec<f32> {
        let Some(raw) = self.get(element.key) else { return default.to_vec() };
        let values: Result<Vec<f32>, String> = raw.split(',').map(|v| element.parse(v)).collect();
        match values {
            Ok(v) if v.len() == len => v,
            Ok(_) => {
                self.notice(element.key, raw, format_args!("it must be {len} comma-separated numbers"), "the default");
                default.to_vec()
            }
            Err(why) => {
                self.notice(element.key, raw, format_args!("each of its {len} numbers: {why}"), "the default");
                default.to_vec()
            }
        }
    }

    /// `param`'s list of names, used only when `check` accepts it; otherwise its default, with a notice giving
    /// `check`'s reason. An empty value is the empty list.
    pub fn names(&self, param: &Names, check: impl Fn(&[String]) -> Result<(), String>) -> Vec<String> {
        let (key, default) = (param.key, param.default);
        let Some(raw) = self.get(key) else { return default.iter().map(|s| s.to_string()).collect() };
        let names: Vec<String> = raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        match check(&names) {
            Ok(()) => names,
            Err(why) => {
                self.notice(key, raw, why, format_args!("“{}”", default.join(",")));
                default.iter().map(|s| s.to_string()).collect()
            }
        }
    }

    /// `param`'s text, when the query has it and `check` accepts it; otherwise `None` (the lesson's default), with a
    /// notice giving `check`'s reason.
    pub fn text(&self, param: &Text, check: impl Fn(&str) -> Result<(), String>) -> Option<String> {
        let raw = self.get(param.key)?;
        match check(raw) {
            Ok(()) => Some(raw.to_string()),
            Err(why) => {
                self.notice(param.key, raw, why, "the lesson's default");
                None
            }
        }
    }

    /// What was not used, one sentence each.
    pub fn notices(&self) -> Vec<String> {
        self.notices.borrow().clone()
    }
}

/// What one declared parameter writes to the URL: its key, and its current value (`None` to leave it out).
type Writer = (&'static str, Box<dyn Fn() -> Option<String>>);

/// A lesson's URL parameters, declared once each: read from the page's query (with a notice for a value that
/// cannot be used), held in signals, and written back by [`Params::sync`] whenever one changes.
pub struct Params {
    query: Query,
    writers: Vec<Writer>,
}

impl Params {
    /// The parameters of the current page.
    pub fn from_location() -> Params {
        Params { query: Query::from_location(), writers: Vec::new() }
    }

    /// Writes `key` back as `value()` (leaving it out when that is `None`): for a parameter the lesson derives,
    /// such as the weights of a custom kernel.
    pub fn write(&mut self, key: &'static str, value: impl Fn() -> Option<String> + 'static) {
        self.writers.push((key, Box::new(value)));
    }

    /// `param`'s signal, starting from the URL's value (or the default, with a notice), written back as it changes.
    pub fn get<T: Copy + PartialEq + Send + Sync + 'static>(&mut self, param: &'static Param<T>) -> RwSignal<T> {
        let signal = RwSignal::new(self.query.value(param));
        self.write(param.key, move || Some(param.to_url(signal.get())));
        signal
    }

    /// A list of `len` values of `element` (default `default`), written back as it changes.
    pub fn list(&mut self, element: &'static Param<f32>, len: usize, default: &[f32]) -> RwSignal<Vec<f32>> {
        let signal = RwSignal::new(self.query.list(element, len, default));
        self.write(element.key, move || Some(join(element, &signal.get())));
        signal
    }

    /// A cell `(row, column)` as two parameters (`y`, `x`).
    pub fn cell(&mut self, (y, x): (&'static Param<usize>, &'static Param<usize>)) -> RwSignal<(usize, usize)> {
        let signal = RwSignal::new((self.query.value(y), self.query.value(x)));
        self.write(y.key, move || Some(y.to_url(signal.get().0)));
        self.write(x.key, move || Some(x.to_url(signal.get().1)));
        signal
    }

    /// The raw query, for a parameter that is read in some other way (and written with [`Params::write`]).
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// What was not used, one sentence each.
    pub fn notices(&self) -> Vec<String> {
        // A parameter the lesson writes is one of its settings, even where this state did not read it.
        for (key, _) in &self.writers {
            self.query.get(key);
        }
        self.query.unknown();
        self.query.notices()
    }

    /// Keeps the URL in step with every declared parameter, in the order they were declared.
    pub fn sync(self) {
        let writers = self.writers;
        Effect::new(move || {
            let pairs: Vec<(&str, String)> = writers.iter().filter_map(|(key, value)| value().map(|v| (*key, v))).collect();
            write(&pairs);
        });
    }
}

/// Values of `element` as a URL writes a list of them: `a,b,c`.
pub fn join(element: &Param<f32>, values: &[f32]) -> String {
    values.iter().map(|&v| element.to_url(v)).collect::<Vec<_>>().join(",")
}

/// Replaces the current URL's query (no navigation, no new history entry).
pub fn write(pairs: &[(&str, String)]) {
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    let Some(window) = web_sys::window() else { return };
    let path = window.location().pathname().unwrap_or_default();
    let url = if query.is_empty() { path } else { format!("{path}?{}", query.join("&")) };
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b',' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: Param<usize> = Param::range("k", 3, 1, 7);
    const BIAS: Param<f32> = Param::range("bias", 0.0, -10.0, 10.0);
    const MODE: Param<bool> = Param::choices("mode", true, &[true, false], |t| if t { "train" } else { "eval" });

    #[test]
    fn good_values_are_read_and_bad_ones_fall_back_with_a_notice() {
        let q = Query::parse("?k=5&s=9&mode=eval&w=1,2,3&x=abc&name=a%20b&bias=12");
        assert_eq!(q.value(&K), 5);
        assert_eq!(q.value(&Param::range("s", 1usize, 1, 3)), 1);
        assert_eq!(q.value(&Param::range("x", 2usize, 1, 3)), 2);
        assert_eq!(q.value(&Param::range("missing", 4usize, 1, 7)), 4);
        assert!(!q.value(&MODE));
        assert_eq!(q.value(&BIAS), 0.0);
        let w = Param::range("w", 0.0f32, -100.0, 100.0);
        assert_eq!(q.list(&w, 3, &[0.0; 3]), vec![1.0, 2.0, 3.0]);
        assert_eq!(q.list(&w, 2, &[0.0; 2]), vec![0.0, 0.0]);
        let notices = q.notices();
        assert_eq!(notices.len(), 4, "{notices:?}");
        assert!(notices[0].contains("s=9") && notices[0].contains("from 1 to 3"));
        assert!(notices[2].contains("bias=12") && notices[2].contains("from -10 to 10"), "{notices:?}");
    }

    #[test]
    fn a_control_stores_only_what_its_link_restores() {
        // The bug this shape removes: a bias box that took 50 while the link accepted -10..10, so the link dropped
        // what the page showed. Whatever a learner types, the stored value reads back from its URL unchanged.
        for typed in [50.0, -1e30, 0.123456, 10.0, -3.33333, 7.0] {
            let stored = BIAS.settle(typed);
            assert!(BIAS.accepts(stored), "{typed} stored as {stored}");
            assert_eq!(BIAS.parse(&BIAS.to_url(stored)), Ok(stored), "{typed} stored as {stored}");
        }
        assert_eq!(BIAS.settle(50.0), 10.0);
        assert_eq!(K.settle(0), 1);
        assert!(K.inconsistencies().is_empty() && BIAS.inconsistencies().is_empty() && MODE.inconsistencies().is_empty());
        let broken = Param::range("p", 9usize, 1, 3);
        assert_eq!(broken.inconsistencies().len(), 1, "a default outside the range is reported");
    }

    #[test]
    fn a_field_clamps_or_keeps_and_says_which() {
        assert_eq!(K.typed("5", 3), (5, None));
        assert_eq!(K.typed("9", 3), (7, Some("9 is outside 1 to 7: using 7.".into())));
        assert_eq!(K.typed("-3", 3), (1, Some("-3 is outside 1 to 7: using 1.".into())));
        assert_eq!(K.typed("99999999999999999999", 3), (7, Some("99999999999999999999 is outside 1 to 7: using 7.".into())));
        assert_eq!(K.typed("2.5", 3), (3, Some("“2.5” is not a whole number: the field keeps 3.".into())));
        assert_eq!(K.typed(" ", 3), (3, Some("The field was empty: it keeps 3.".into())));
        assert_eq!(BIAS.typed("-1e40", 2.0), (-10.0, Some("-1e40 is outside -10 to 10: using -10.".into())));
        assert_eq!(BIAS.typed("x1", 2.0).0, 2.0);
        // A notice quotes the start of a long value.
        assert_eq!(truncated("abcdef", 3), "abc…");
        assert_eq!(truncated("ab", 3), "ab");
    }

    #[test]
    fn encoding_round_trips() {
        assert_eq!(decode(&encode("a b/c,1.5")), "a b/c,1.5");
    }
}
