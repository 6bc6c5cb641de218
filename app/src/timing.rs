//! Giving the browser its turn: long work (training, the speed test) runs in chunks, and between chunks the page
//! draws and answers the learner.

use wasm_bindgen::JsCast;

/// Waits `ms` milliseconds without blocking the page (0: until the browser has handled what is waiting).
pub async fn sleep_ms(ms: i32) {
    // On the page or in the training worker (which has no window: its global scope has the same timer).
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(resolve.unchecked_ref(), ms);
        } else if let Ok(scope) = js_sys::global().dyn_into::<web_sys::WorkerGlobalScope>() {
            let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(resolve.unchecked_ref(), ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Lets the browser draw and handle input before the next chunk of work.
pub async fn yield_to_browser() {
    sleep_ms(0).await;
}
