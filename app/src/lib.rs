//! The sandbox's web front end (Leptos, client-side rendered): the routes, the header (with its menu on small
//! screens and the offer of a new version), the home page and the about page.
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
use leptos_router::hooks::{use_location, use_params_map};
use leptos_router::path;
use lessons::LESSONS;

/// Hands a panic's message to the page's fault report (`window.sandboxFault`, set by the site's loader): a report
/// at the top of the page with a reload that keeps the settings and the stored models. Nothing in the training
/// worker, which has no page (its panics end its run as a failure on the page).
pub fn report_fault(message: &str) {
    let Some(window) = web_sys::window() else { return };
    if let Ok(report) = js_sys::Reflect::get(&window, &"sandboxFault".into())
        && let Some(report) = wasm_bindgen::JsCast::dyn_ref::<js_sys::Function>(&report)
    {
        let _ = report.call1(&window, &message.into());
    }
}

/// The whole app: header with the lesson list and the page's device, then the current page.
#[component]
pub fn App() -> impl IntoView {
    device::provide_device();
    let pathname = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
    let base = BASE.get_or_init(|| base_path(&pathname).to_string());
    view! {
        <Router base=base.clone()>
            <header class="site">
                <A href=route("") attr:class="brand">"Lesson 6, by the numbers"</A>
                <LessonMenu/>
                <device::DeviceBadge/>
                <UpdateBanner/>
            </header>
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home/>
                    <Route path=path!("/about") view=About/>
                    <Route path=path!("/speed") view=speed::Speed/>
                    <Route path=path!("/:lesson") view=LessonPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// The header's lesson links: a row on a wide screen, behind a "Lessons" button on a narrow one (ten links do not
/// fit a phone's width); the menu closes when a link in it is clicked, and on any other change of page.
#[component]
fn LessonMenu() -> impl IntoView {
    let open = RwSignal::new(false);
    let location = use_location();
    Effect::new(move || {
        location.pathname.track();
        open.set(false);
    });
    view! {
        <button type="button" class="menu-toggle" data-testid="menu-toggle" aria-controls="lesson-nav"
            aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>"Lessons"</button>
        <nav id="lesson-nav" aria-label="Lessons" class:open=move || open.get() on:click=move |_| open.set(false)>
            {LESSONS.iter().map(|lesson| view! { <A href=route(lesson.path)>{lesson.title}</A> }).collect_view()}
            <A href=route("about")>"About"</A>
        </nav>
    }
}

/// The offer of a new version of the site: the loader (xtask/src/loader.js) fires `siteupdate` when a new build's
/// service worker is installed and waiting, and `window.siteUpdate()` lets it take over and reloads the page. The
/// settings are in the address and the trained models in the browser's storage, so the reload keeps both.
#[component]
fn UpdateBanner() -> impl IntoView {
    let ready = RwSignal::new(false);
    if let Some(window) = web_sys::window() {
        ready.set(js_sys::Reflect::has(&window, &"siteUpdate".into()).unwrap_or(false));
        let listener = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || ready.set(true));
        let _ = window.add_event_listener_with_callback("siteupdate", wasm_bindgen::JsCast::unchecked_ref(listener.as_ref()));
        listener.forget();
    }
    let apply = move |_| {
        let update = web_sys::window().and_then(|w| js_sys::Reflect::get(&w, &"siteUpdate".into()).ok());
        if let Some(update) = update.and_then(|f| wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(f).ok()) {
            let _ = update.call0(&wasm_bindgen::JsValue::NULL);
        }
    };
    move || {
        ready.get().then(|| view! {
            <p class="notice update" role="status" data-testid="update-banner">
                "A new version of this site is ready. Reloading keeps your settings and your trained models; a run in progress would stop. "
                <button type="button" data-testid="update-reload" on:click=apply>"Reload now"</button>
            </p>
        })
    }
}

/// The landing page: what this is, the lessons as a path through the material, and what runs where.
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
                "this page: see " <A href=route("about")>"about this site"</A> "."
            </p>
            <h2>"The path through lesson 6"</h2>
            <ol class="lesson-list" data-testid="lesson-path">
                {LESSONS
                    .iter()
                    .map(|lesson| {
                        view! {
                            <li>
                                <A href=route(lesson.path)>{lesson.title}</A>
                                <p class="question">{lesson.question}</p>
                                <p>{lesson.summary}</p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
            <WhatRunsWhere/>
            <p>"How fast is this device? The " <A href=route("speed")>"speed test"</A> " trains the lessons' models here and times them."</p>
        </section>
    }
}

/// Where this page computes: the WebGPU adapter and the limits that bound what it can hold, or the CPU and why, and
/// which of the two builds of the app the loader chose.
#[component]
fn WhatRunsWhere() -> impl IntoView {
    let device = device::use_device();
    let build = if cfg!(feature = "relaxed-simd") {
        "the relaxed-SIMD build (this browser has WebAssembly's relaxed SIMD: matrix products use its fused multiply-add)"
    } else {
        "the baseline build (this browser lacks WebAssembly's relaxed SIMD, or the loader found it missing)"
    };
    view! {
        <section class="runs-where" data-testid="runs-where" aria-live="polite">
            <h2>"What runs where"</h2>
            {move || match device.get() {
                None => view! { <p>"Looking for a GPU…"</p> }.into_any(),
                Some(device::PageDevice { device: engine::Device::Gpu(gpu), .. }) => {
                    let info = gpu.adapter_info().clone();
                    let limits = gpu.limits();
                    let mib = |bytes: u64| format!("{} MiB", bytes / (1 << 20));
                    view! {
                        <p data-testid="runs-on">{format!("The lessons compute on WebGPU: {} ({:?} backend, a {:?} adapter).", gpu.label(), info.backend, info.device_type)}</p>
                        <table class="limits">
                            <caption>"The adapter's limits that bound what a lesson can hold"</caption>
                            <tbody>
                                <tr><th scope="row">"largest buffer"</th><td>{mib(limits.max_buffer_size)}</td></tr>
                                <tr><th scope="row">"largest storage binding"</th><td>{mib(u64::from(limits.max_storage_buffer_binding_size))}</td></tr>
                                <tr><th scope="row">"workgroups per dimension"</th><td>{limits.max_compute_workgroups_per_dimension}</td></tr>
                                <tr><th scope="row">"invocations per workgroup"</th><td>{limits.max_compute_invocations_per_workgroup}</td></tr>
                                <tr><th scope="row">"workgroup memory"</th><td>{format!("{} KiB", limits.max_compute_workgroup_storage_size / 1024)}</td></tr>
                            </tbody>
                        </table>
                        {gpu.is_emulated().then(|| view! { <p>"This adapter runs its shaders on the CPU, so training defaults to the CPU, which is faster here."</p> })}
                    }
                    .into_any()
                }
                Some(device::PageDevice { why_cpu, .. }) => view! {
                    <p data-testid="runs-on">{format!("The lessons compute on the CPU, in WebAssembly: WebGPU is not available here ({}).", why_cpu.unwrap_or_default())}</p>
                }
                .into_any(),
            }}
            <p data-testid="runs-build">{format!("Training on the CPU runs in a Web Worker, off the page's thread. The app loaded is {build}.")}</p>
        </section>
    }
}

/// What the site does with the learner's data, and whose data and photos it ships.
#[component]
fn About() -> impl IntoView {
    set_title("About");
    view! {
        <section class="about">
            <h1>"About this site"</h1>
            <h2>"Your data stays here"</h2>
            <p>
                "Everything this site computes, it computes in your browser: the lessons' numbers on your GPU or CPU, "
                "and the models you train. Your own images and photos (from files or the webcam) are decoded in the page "
                "and never uploaded; your trained models are kept in this browser's storage and leave it only when you "
                "export one. The site makes no request beyond its own origin: no fonts, scripts or analytics from "
                "elsewhere, enforced by its Content Security Policy. After one visit it works offline."
            </p>
            <h2>"Datasets and photos"</h2>
            <Licences text=include_str!("../../public/data/LICENSES.md") testid="data-licences"/>
            <Licences text=include_str!("../../public/images/LICENSES.md") testid="photo-licences"/>
            <p>"The site's icons are the project's own work, under the project's licence."</p>
        </section>
    }
}

/// A licences file (`public/*/LICENSES.md`) as the about page shows it: its heading, its paragraphs, and its one
/// table (header cells, then rows), code marks dropped.
#[derive(Debug, PartialEq)]
pub struct LicenceFile {
    /// The first line's heading.
    pub heading: String,
    /// Every paragraph but the heading and the table, each on one line.
    pub paragraphs: Vec<String>,
    /// The table's header cells.
    pub head: Vec<String>,
    /// The table's rows.
    pub rows: Vec<Vec<String>>,
}

impl LicenceFile {
    /// Reads the markdown of a licences file: headings, paragraphs separated by blank lines, one table.
    pub fn parse(text: &str) -> LicenceFile {
        let cells = |line: &str| line.trim().trim_matches('|').split('|').map(|c| c.trim().replace('`', "")).collect::<Vec<_>>();
        let mut table = text.lines().filter(|l| l.starts_with('|') && !l.starts_with("|---")).map(cells);
        let head = table.next().unwrap_or_default();
        LicenceFile {
            heading: text.lines().next().unwrap_or_default().trim_start_matches('#').trim().to_string(),
            paragraphs: text
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty() && !p.starts_with('|') && !p.starts_with('#'))
                .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" ").replace('`', ""))
                .collect(),
            head,
            rows: table.collect(),
        }
    }
}

/// A licences file, shown.
#[component]
fn Licences(text: &'static str, testid: &'static str) -> impl IntoView {
    let LicenceFile { heading, paragraphs, head, rows } = LicenceFile::parse(text);
    view! {
        <div class="licences" data-testid=testid>
            <h3>{heading}</h3>
            {paragraphs.into_iter().map(|p| view! { <p>{p}</p> }).collect_view()}
            <div class="scroll-x" tabindex="0" role="group" aria-label="Scrollable table">
                <table>
                    <thead><tr>{head.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}</tr></thead>
                    <tbody>{rows.into_iter().map(|r| view! { <tr>{r.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr> }).collect_view()}</tbody>
                </table>
            </div>
        </div>
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
            <p>"Check the link, or pick a lesson: " <A href=route("")>"all lessons"</A> "."</p>
        </section>
    }
}

/// Where the site lives on its host, from the address of the page it opened on: the path before the last segment,
/// `""` at the root (`/`, `/pooling`) and `/some/path` under a sub-path (`/some/path/`, `/some/path/pooling`).
/// Every route is one segment, so any page's address says it. The router takes it as its base; the site's own
/// files are addressed relative to the page (`data/digits_u8.bin`, `worker.js`), which works from either.
pub fn base_path(pathname: &str) -> &str {
    &pathname[..pathname.rfind('/').unwrap_or(0)]
}

/// The site's base path on its host, found once when the app starts ([`base_path`]).
static BASE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The address of a route of the site (`pooling`, `""` for the home page) under its base: the router matches
/// routes under the base, but takes a link's absolute address as it is.
pub fn route(path: &str) -> String {
    format!("{}/{path}", BASE.get().map_or("", String::as_str))
}

/// Sets the browser tab's title.
fn set_title(title: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(&format!("{title} · deep-learning sandbox"));
    }
}

#[cfg(test)]
mod tests {
    use super::{LicenceFile, base_path};

    #[test]
    fn the_about_page_lists_every_shipped_file_with_its_licence() {
        let data = LicenceFile::parse(include_str!("../../public/data/LICENSES.md"));
        assert_eq!(data.heading, "Datasets shipped with the sandbox");
        assert_eq!(data.head, ["file", "what", "source", "licence"]);
        let photos = LicenceFile::parse(include_str!("../../public/images/LICENSES.md"));
        assert_eq!(photos.head, ["file", "subject", "licence"]);
        assert!(photos.paragraphs[0].starts_with("Downscaled (longest side 256 px)"), "{:?}", photos.paragraphs);
        // Every file in public/data and public/images has its row, with a licence.
        for (dir, file, column) in [("data", &data, 3), ("images", &photos, 2)] {
            let listed: Vec<&str> = file.rows.iter().map(|r| r[0].as_str()).collect();
            for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../public/").to_string() + dir).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                if name.contains('.') && name != "LICENSES.md" {
                    assert!(listed.contains(&name.as_str()), "public/{dir}/{name} has no licence row");
                }
            }
            assert!(file.rows.iter().all(|r| r.len() == file.head.len() && !r[column].is_empty()));
        }
    }

    #[test]
    fn the_base_is_the_path_before_the_page_s_own_segment() {
        for (page, base) in [("/", ""), ("/pooling", ""), ("", ""), ("/some/path/", "/some/path"), ("/some/path/pooling", "/some/path")] {
            assert_eq!(base_path(page), base, "{page}");
        }
    }
}
