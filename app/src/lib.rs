//! The sandbox's web front end (Leptos, client-side rendered): the routes, the header, and the home page.
//! Each lesson is one file under [`lessons`]; one table, [`lessons::LESSONS`], drives routes and navigation.

pub mod data;
pub mod device;
pub mod image;
pub mod lessons;
pub mod panel;
pub mod query;
pub mod speed;
pub mod timing;
pub mod widgets;
pub mod worker;

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::use_params_map;
use leptos_router::path;
use lessons::LESSONS;

/// The whole app: header with the lesson list and the page's device, then the current page.
#[component]
pub fn App() -> impl IntoView {
    device::provide_device();
    view! {
        <Router>
            <header class="site">
                <A href="/" attr:class="brand">"Lesson 6, by the numbers"</A>
                <nav aria-label="Lessons">
                    {LESSONS
                        .iter()
                        .map(|lesson| view! { <A href=format!("/{}", lesson.path)>{lesson.title}</A> })
                        .collect_view()}
                </nav>
                <device::DeviceBadge/>
            </header>
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home/>
                    <Route path=path!("/speed") view=speed::Speed/>
                    <Route path=path!("/:lesson") view=LessonPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// The landing page: what this is, and the lessons.
#[component]
fn Home() -> impl IntoView {
    set_title("Lesson 6, by the numbers");
    view! {
        <section class="home">
            <h1>"Deep learning, number by number"</h1>
            <p>
                "Step through what a convolutional network computes: every multiply of a kernel, every padded "
                "cell, every pooled window, every dropout mask, and small networks trained in the page. The numbers are computed on your own GPU with WebGPU compute "
                "shaders, or on the CPU with identical results when your browser has no WebGPU. Nothing leaves "
                "this page."
            </p>
            <p>"How fast is this device? The " <A href="/speed">"speed test"</A> " trains the lessons' models here and times them."</p>
            <ul class="lesson-list">
                {LESSONS
                    .iter()
                    .map(|lesson| {
                        view! {
                            <li>
                                <A href=format!("/{}", lesson.path)>{lesson.title}</A>
                                <p>{lesson.summary}</p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

/// The lesson named by the URL, from the lessons table.
#[component]
fn LessonPage() -> impl IntoView {
    let params = use_params_map();
    move || {
        let path = params.read().get("lesson").unwrap_or_default();
        match LESSONS.iter().find(|lesson| lesson.path == path) {
            Some(lesson) => {
                set_title(lesson.title);
                (lesson.view)()
            }
            None => view! { <NotFound/> }.into_any(),
        }
    }
}

/// Shown for a URL that names no lesson.
#[component]
fn NotFound() -> impl IntoView {
    set_title("Page not found");
    view! {
        <section class="not-found">
            <h1>"There is no lesson at this address"</h1>
            <p>"Check the link, or pick a lesson: " <A href="/">"all lessons"</A> "."</p>
        </section>
    }
}

/// Sets the browser tab's title.
fn set_title(title: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(&format!("{title} · deep-learning sandbox"));
    }
}
