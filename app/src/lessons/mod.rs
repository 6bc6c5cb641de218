//! The lessons, one file each. [`LESSONS`] drives the routes (`/<path>`), the navigation and the home page:
//! adding a lesson adds its file and one row here.

pub mod kernels;

use leptos::prelude::*;

/// One lesson: where it lives, what it is called, and its page.
pub struct Lesson {
    /// The URL path, without the slash: `/kernels` is `kernels`. People share these links: never rename one.
    pub path: &'static str,
    /// The title in the navigation and on the home page.
    pub title: &'static str,
    /// One sentence on the home page.
    pub summary: &'static str,
    /// Renders the page.
    pub view: fn() -> AnyView,
}

/// Every lesson, in teaching order.
pub const LESSONS: &[Lesson] = &[Lesson {
    path: "kernels",
    title: "Image kernels",
    summary: "A 3x3 kernel slides over a photo: each output pixel is the multiply-sum of a window with the kernel.",
    view: || view! { <kernels::Kernels/> }.into_any(),
}];
