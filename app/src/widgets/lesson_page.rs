//! The frame every lesson page shares.

use super::{Cursor, QueryNotices};
use leptos::prelude::*;

/// A lesson's page: its title, its lede (what the page shows, in a few sentences), the notice for settings of the
/// link it could not use, then the lesson itself. Where the lesson has a selected cell, the arrow keys move it and
/// the space bar plays or pauses ([`Cursor::key`]).
#[component]
pub fn LessonPage(
    /// The page's class besides `lesson`: the lesson's path.
    class: &'static str,
    /// The page's heading.
    title: &'static str,
    /// The paragraph under the heading.
    lede: &'static str,
    /// What [`crate::query::Params::notices`] returned.
    notices: Vec<String>,
    /// The selected cell that the keyboard drives, if the lesson has one.
    #[prop(optional)]
    cursor: Option<Cursor>,
    children: Children,
) -> impl IntoView {
    view! {
        <article
            class=format!("lesson {class}")
            on:keydown=move |ev| {
                if let Some(cursor) = cursor {
                    cursor.key(&ev);
                }
            }
        >
            <h1>{title}</h1>
            <p class="lede">{lede}</p>
            <QueryNotices notices/>
            {children()}
        </article>
    }
}
