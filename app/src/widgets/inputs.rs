//! Controls bound to a lesson's URL parameter ([`Param`]): a drop-down of its choices (or of every whole number of a
//! short range), a number field, and the choice between training and evaluation mode. Each stores only values the
//! parameter accepts, as its URL writes them ([`Param::settle`]), so a link always restores what the page shows.

use crate::query::{Number, Param};
use leptos::prelude::*;

/// `<label>{label}<select>` offering each of `param`'s values under its URL name; the option equal to `value` is
/// selected, and choosing one stores it there. For named choices, and ranges short enough to list.
pub fn select<T>(param: &'static Param<T>, value: RwSignal<T>, label: &'static str, testid: &'static str) -> impl IntoView
where
    T: Copy + PartialEq + Send + Sync + 'static,
{
    let choices = param.samples();
    let options = choices
        .iter()
        .map(|&c| view! { <option value=param.to_url(c) selected=move || value.get() == c>{param.to_url(c)}</option> })
        .collect_view();
    view! {
        <label>
            {label}
            <select
                data-testid=testid
                on:change=move |ev| {
                    if let Ok(c) = param.parse(&event_target_value(&ev)) {
                        value.set(c);
                    }
                }
            >
                {options}
            </select>
        </label>
    }
}

/// `<label>{label}<input type="number">` for `param`'s range: a number outside it is stored as the nearest end, and
/// anything that is not a number puts the field back to the value it had; either way a notice beside it says so
/// ([`Param::typed`]), test id `{testid}-notice`.
pub fn number_input<T: Number>(param: &'static Param<T>, value: RwSignal<T>, label: &'static str, testid: &'static str) -> impl IntoView {
    let (min, max) = param.bounds();
    let message = RwSignal::new(None::<String>);
    view! {
        <label>
            {label}
            <input
                type="number"
                min=param.to_url(min)
                max=param.to_url(max)
                step=T::STEP
                data-testid=testid
                prop:value=move || param.to_url(value.get())
                on:change=move |ev| {
                    let (stored, said) = param.typed(&event_target_value(&ev), value.get_untracked());
                    message.set(said);
                    // Set even when unchanged: the field then shows the stored value again.
                    value.set(stored);
                }
            />
        </label>
        {typed_notice(message, format!("{testid}-notice"))}
    }
}

/// What a number field said about the last text typed into it ([`Param::typed`]), while it has something to say.
pub fn typed_notice(message: RwSignal<Option<String>>, testid: String) -> impl IntoView {
    move || message.get().map(|m| view! { <span class="notice typed" role="status" data-testid=testid.clone()>{m}</span> })
}

/// A mode's name in URLs (the `mode` parameter): `train` or `eval`.
pub fn mode_name(training: bool) -> &'static str {
    if training { "train" } else { "eval" }
}

/// The `mode` parameter of a lesson that shows both: training (the default) or evaluation.
pub const MODE: Param<bool> = Param::choices("mode", true, &[true, false], mode_name);

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
