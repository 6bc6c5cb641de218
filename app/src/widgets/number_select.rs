//! A labelled drop-down of whole numbers bound to one field of a lesson's settings signal.

use leptos::prelude::*;
use std::ops::RangeInclusive;

/// `<label>{label}<select>` offering every number in `range`; the option equal to `get(settings)` is selected,
/// and choosing one stores it with `set`.
pub fn number_select<S: Send + Sync + 'static>(
    settings: RwSignal<S>,
    label: &'static str,
    testid: &'static str,
    range: RangeInclusive<usize>,
    get: fn(&S) -> usize,
    set: fn(&mut S, usize),
) -> impl IntoView {
    view! {
        <label>
            {label}
            <select
                data-testid=testid
                on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<usize>() {
                        settings.update(|s| set(s, v));
                    }
                }
            >
                {range.map(|v| view! { <option value=v.to_string() selected=move || settings.with(|s| get(s) == v)>{v}</option> }).collect_view()}
            </select>
        </label>
    }
}
