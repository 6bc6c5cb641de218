//! A labelled drop-down of whole numbers bound to a signal (a lesson's URL parameter).

use leptos::prelude::*;
use std::ops::RangeInclusive;

/// `<label>{label}<select>` offering every number in `range`; the option equal to `value` is selected, and
/// choosing one stores it there.
pub fn number_select(value: RwSignal<usize>, label: &'static str, testid: &'static str, range: RangeInclusive<usize>) -> impl IntoView {
    view! {
        <label>
            {label}
            <select
                data-testid=testid
                on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<usize>() {
                        value.set(v);
                    }
                }
            >
                {range.map(|v| view! { <option value=v.to_string() selected=move || value.get() == v>{v}</option> }).collect_view()}
            </select>
        </label>
    }
}
