//! The datasets the lessons load from the page's own origin (`public/data`, licences in `public/data/LICENSES.md`).

use engine::data::{ImageSet, digits};

/// Loads the 8x8 handwritten digits shipped with the page.
pub async fn load_digits() -> Result<ImageSet, String> {
    let failed = "The digits could not be loaded. Reload the page.".to_string();
    let window = web_sys::window().ok_or(failed.clone())?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str("/data/digits_u8.bin")).await.map_err(|_| failed.clone())?;
    let response: web_sys::Response = wasm_bindgen::JsCast::dyn_into(response).map_err(|_| failed.clone())?;
    let buffer = wasm_bindgen_futures::JsFuture::from(response.array_buffer().map_err(|_| failed.clone())?).await.map_err(|_| failed.clone())?;
    digits::parse(&js_sys::Uint8Array::new(&buffer).to_vec()).map_err(|e| e.to_string())
}
