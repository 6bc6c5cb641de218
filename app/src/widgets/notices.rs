//! The notice a lesson shows when a shared link held settings it could not use.

use leptos::prelude::*;

/// The link's unusable settings, one sentence each (nothing when there are none).
#[component]
pub fn QueryNotices(notices: Vec<String>) -> impl IntoView {
    (!notices.is_empty()).then(|| {
        view! {
            <div class="notice link-notice" role="status" data-testid="query-notice">
                <p>"Some settings in this link could not be used:"</p>
                <ul>{notices.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
            </div>
        }
    })
}
