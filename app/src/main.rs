//! Mounts the app on the page; everything else is in the library. In the training worker (`public/worker.js`,
//! which runs this same app), there is no window: it serves the page's training jobs instead.

fn main() {
    console_error_panic_hook::set_once();
    if web_sys::window().is_none() {
        app::worker::serve();
        return;
    }
    leptos::mount::mount_to_body(app::App);
}
