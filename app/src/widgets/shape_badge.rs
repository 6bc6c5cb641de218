//! A tensor's shape as a small badge, written as PyTorch prints it: `[1, 3, 256, 256]`.

use engine::Shape;
use leptos::prelude::*;

/// Shows `shape`, or a dash while it is unknown.
#[component]
pub fn ShapeBadge(
    /// The shape to show; `None` while it is being computed.
    #[prop(into)]
    shape: Signal<Option<Shape>>,
    /// The `data-testid` for tests.
    testid: &'static str,
) -> impl IntoView {
    view! {
        <code class="shape-badge" data-testid=testid title="tensor shape">
            {move || shape.get().map_or_else(|| "…".to_string(), |s| s.to_string())}
        </code>
    }
}
