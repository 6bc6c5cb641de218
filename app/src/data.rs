//! The datasets the lessons load from the page's own origin (`public/data`, licences in `public/data/LICENSES.md`).

use engine::data::{ImageSet, digits};

/// Loads the 8x8 handwritten digits shipped with the page.
pub async fn load_digits() -> Result<ImageSet, String> {
    let bytes = load_bytes("data/digits_u8.bin").await.map_err(|_| "The digits could not be loaded. Reload the page.".to_string())?;
    digits::parse(&bytes).map_err(|e| e.to_string())
}

/// The bytes of a file of the site (`data/...`, relative to the page or the training worker's script, so that the
/// site works from any path: see [`crate::base_path`]); `Err(())` when it cannot be fetched (the caller says what
/// was missing).
pub async fn load_bytes(path: &str) -> Result<Vec<u8>, ()> {
    use wasm_bindgen::JsCast;
    let request = match web_sys::window() {
        Some(window) => window.fetch_with_str(path),
        None => js_sys::global().dyn_into::<web_sys::WorkerGlobalScope>().map_err(drop)?.fetch_with_str(path),
    };
    let response = wasm_bindgen_futures::JsFuture::from(request).await.map_err(drop)?;
    let response: web_sys::Response = wasm_bindgen::JsCast::dyn_into(response).map_err(drop)?;
    if !response.ok() {
        return Err(());
    }
    let buffer = wasm_bindgen_futures::JsFuture::from(response.array_buffer().map_err(drop)?).await.map_err(drop)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}
