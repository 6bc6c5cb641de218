//! The "PyTorch" panel: the code that reproduces what a lesson shows, for the learner to run in a notebook.

use leptos::prelude::*;

/// A collapsible block of PyTorch code (open by default) with a copy button.
#[component]
pub fn CodePanel(
    /// The code.
    #[prop(into)]
    code: Signal<String>,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        if let Some(clipboard) = web_sys::window().map(|w| w.navigator().clipboard()) {
            let _ = clipboard.write_text(&code.get_untracked());
            copied.set(true);
        }
    };
    view! {
        <details class="code-panel" open>
            <summary>"PyTorch"</summary>
            <pre data-testid="pytorch-code" tabindex="0" role="group" aria-label="PyTorch code"><code>{move || code.get()}</code></pre>
            <button type="button" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
        </details>
    }
}
