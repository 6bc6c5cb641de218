//! Mounts the app on the page; everything else is in the library. In the training worker (`public/worker.js`,
//! which runs this same app), there is no window: it serves the page's training jobs instead.

fn main() {
    // A panic is a bug: its message goes to the console and to the page's fault report (the loader's), which
    // offers a reload that keeps the learner's settings and models.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        app::report_fault(&info.to_string());
    }));
    if web_sys::window().is_none() {
        app::worker::serve();
        return;
    }
    leptos::mount::mount_to_body(app::App);
}
