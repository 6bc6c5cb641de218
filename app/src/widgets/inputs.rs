//! Labelled inputs bound to a signal (a lesson's URL parameter): drop-downs of named choices or of whole numbers,
//! a number field, and the choice between training and evaluation mode.

use leptos::prelude::*;
use std::ops::RangeInclusive;

/// `<label>{label}<select>` offering each of `choices` under its `name`; the option equal to `value` is selected,
/// and choosing one stores it there.
pub fn choice_select<T>(
    value: RwSignal<T>,
    label: &'static str,
    testid: &'static str,
    choices: impl IntoIterator<Item = T>,
    name: impl Fn(T) -> String + Copy + Send + Sync + 'static,
) -> impl IntoView
where
    T: Copy + PartialEq + Send + Sync + 'static,
{
    let choices: Vec<T> = choices.into_iter().collect();
    let options = choices
        .iter()
        .map(|&c| view! { <option value=name(c) selected=move || value.get() == c>{name(c)}</option> })
        .collect_view();
    view! {
        <label>
            {label}
            <select
                data-testid=testid
                on:change=move |ev| {
                    let chosen = event_target_value(&ev);
                    if let Some(&c) = choices.iter().find(|&&c| name(c) == chosen) {
                        value.set(c);
                    }
                }
            >
                {options}
            </select>
        </label>
    }
}

/// [`choice_select`] over every whole number in `range`.
pub fn number_select(value: RwSignal<usize>, label: &'static str, testid: &'static str, range: RangeInclusive<usize>) -> impl IntoView {
    choice_select(value, label, testid, range, |v| v.to_string())
}

/// `<label>{label}<input type="number">` for a whole number from 0 to `max`; a number past `max` is stored as
/// `max`, and anything that is not a number is ignored.
pub fn number_input(value: RwSignal<usize>, label: &'static str, testid: &'static str, max: usize) -> impl IntoView {
    view! {
        <label>
            {label}
            <input
                type="number"
                min="0"
                max=max.to_string()
                data-testid=testid
                prop:value=move || value.get().to_string()
                on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<usize>() {
                        value.set(v.min(max));
                    }
                }
            />
        </label>
    }
}

/// A mode's name in URLs (the `mode` parameter): `train` or `eval`.
pub fn mode_name(training: bool) -> &'static str {
    if training { "train" } else { "eval" }
}

/// Two radio buttons under `legend` choosing training or evaluation mode, labelled `labels` (training's first),
/// with the test ids `mode-train` and `mode-eval`.
pub fn mode_radios(training: RwSignal<bool>, legend: &'static str, labels: [&'static str; 2]) -> impl IntoView {
    view! {
        <fieldset class="choice">
            <legend>{legend}</legend>
            {[true, false].into_iter().zip(labels).map(|(t, label)| view! {
                <label>
                    <input type="radio" name="mode" data-testid=format!("mode-{}", mode_name(t)) prop:checked=move || training.get() == t on:change=move |_| training.set(t)/>
                    {label}
                </label>
            }).collect_view()}
        </fieldset>
    }
}
