//! Lesson state in the URL: every control has a documented query parameter, so a link restores the exact state.
//! A value that cannot be used falls back to its default, with a notice saying what was changed and why.
//!
//! A lesson declares each parameter once, on [`Params`]: the declaration reads and validates the value and gives
//! back the signal the lesson works with, and [`Params::sync`] writes every signal back to the URL as it changes.

use leptos::prelude::*;
use std::cell::RefCell;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// The query of the current page, read once when a lesson opens.
pub struct Query {
    pairs: Vec<(String, String)>,
    notices: RefCell<Vec<String>>,
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
        Query { pairs, notices: RefCell::new(Vec::new()) }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn notice(&self, key: &str, value: &str, why: impl Display, default: impl Display) {
        self.notices.borrow_mut().push(format!("“{key}={value}” was not used ({why}); using {default} instead."));
    }

    /// A number in `range` (default `default`).
    pub fn number<T>(&self, key: &str, default: T, range: RangeInclusive<T>) -> T
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(raw) = self.get(key) else { return default };
        match raw.parse::<T>() {
            Ok(v) if range.contains(&v) => v,
            Ok(_) => {
                self.notice(key, raw, format_args!("it must be from {} to {}", range.start(), range.end()), default);
                default
            }
            Err(_) => {
                self.notice(key, raw, "it is not a number", default);
                default
            }
        }
    }

    /// One of named choices (default `default`).
    pub fn choice<T: Copy>(&self, key: &str, default: T, parse: impl Fn(&str) -> Option<T>, name: impl Fn(T) -> &'static str) -> T {
        let Some(raw) = self.get(key) else { return default };
        parse(raw).unwrap_or_else(|| {
            self.notice(key, raw, "it is not one of the choices", name(default));
            default
        })
    }

    /// `len` comma-separated numbers (default `default`).
    pub fn numbers(&self, key: &str, default: &[f32], len: usize) -> Vec<f32> {
        let Some(raw) = self.get(key) else { return default.to_vec() };
        let values: Option<Vec<f32>> = raw.split(',').map(|v| v.trim().parse::<f32>().ok().filter(|f| f.is_finite())).collect();
        match values {
            Some(v) if v.len() == len => v,
            _ => {
                self.notice(key, raw, format_args!("it must be {len} comma-separated numbers"), "the default");
                default.to_vec()
            }
        }
    }

    /// A comma-separated list of names (default `default`), used only when `check` accepts it; otherwise the
    /// notice gives `check`'s reason. An empty value is the empty list.
    pub fn names(&self, key: &str, default: &[&str], check: impl Fn(&[String]) -> Result<(), String>) -> Vec<String> {
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

    /// Free text (default `default`).
    pub fn text(&self, key: &str, default: &str) -> String {
        self.get(key).unwrap_or(default).to_string()
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

    /// A number in `range` (default `default`).
    pub fn number<T>(&mut self, key: &'static str, default: T, range: RangeInclusive<T>) -> RwSignal<T>
    where
        T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
    {
        let signal = RwSignal::new(self.query.number(key, default, range));
        self.write(key, move || Some(signal.get().to_string()));
        signal
    }

    /// A number written with at most 4 decimals (a weight, a bias).
    pub fn weight(&mut self, key: &'static str, default: f32, range: RangeInclusive<f32>) -> RwSignal<f32> {
        let signal = RwSignal::new(self.query.number(key, default, range));
        self.write(key, move || Some(crate::widgets::format_weight(signal.get())));
        signal
    }

    /// A cell `(row, column)` as two parameters (`y`, `x`), each at most `max`.
    pub fn cell(&mut self, (y_key, x_key): (&'static str, &'static str), default: (usize, usize), max: usize) -> RwSignal<(usize, usize)> {
        let signal = RwSignal::new((self.query.number(y_key, default.0, 0..=max), self.query.number(x_key, default.1, 0..=max)));
        self.write(y_key, move || Some(signal.get().0.to_string()));
        self.write(x_key, move || Some(signal.get().1.to_string()));
        signal
    }

    /// One of `choices`, named in the URL by `name` (default `default`).
    pub fn choice<T>(&mut self, key: &'static str, default: T, choices: impl IntoIterator<Item = T>, name: fn(T) -> &'static str) -> RwSignal<T>
    where
        T: Copy + Send + Sync + 'static,
    {
        let choices: Vec<T> = choices.into_iter().collect();
        let parse = |raw: &str| choices.iter().copied().find(|&c| name(c) == raw);
        let signal = RwSignal::new(self.query.choice(key, default, parse, name));
        self.write(key, move || Some(name(signal.get()).to_string()));
        signal
    }

    /// The raw query, for a parameter that is read in some other way (and written with [`Params::write`]).
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// What was not used, one sentence each.
    pub fn notices(&self) -> Vec<String> {
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

/// Numbers as `a,b,c` with at most 4 decimals.
pub fn join_numbers(values: &[f32]) -> String {
    values.iter().map(|v| crate::widgets::format_weight(*v)).collect::<Vec<_>>().join(",")
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

    #[test]
    fn good_values_are_read_and_bad_ones_fall_back_with_a_notice() {
        let q = Query::parse("?k=5&s=9&mode=border&w=1,2,3&x=abc&name=a%20b");
        assert_eq!(q.number("k", 3usize, 1..=7), 5);
        assert_eq!(q.number("s", 1usize, 1..=3), 1);
        assert_eq!(q.number("x", 2usize, 1..=3), 2);
        assert_eq!(q.number("missing", 4usize, 1..=7), 4);
        assert_eq!(q.numbers("w", &[0.0; 3], 3), vec![1.0, 2.0, 3.0]);
        assert_eq!(q.numbers("w", &[0.0; 2], 2), vec![0.0, 0.0]);
        assert_eq!(q.text("name", ""), "a b");
        let notices = q.notices();
        assert_eq!(notices.len(), 3, "{notices:?}");
        assert!(notices[0].contains("s=9") && notices[0].contains("from 1 to 3"));
    }

    #[test]
    fn encoding_round_trips() {
        assert_eq!(decode(&encode("a b/c,1.5")), "a b/c,1.5");
    }
}
