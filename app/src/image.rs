//! Photos in and out: decoding an image into an NCHW tensor in [0, 1], and drawing a tensor onto a canvas.
//! Decoding happens in the browser (the page never uploads anything).

use engine::Tensor;
use wasm_bindgen::{Clamped, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, HtmlImageElement, ImageData};

/// How the photo enters the network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorMode {
    /// One channel of brightness (ITU-R BT.601 luma, whole levels as PIL's `convert("L")`): `[1, 1, H, W]`.
    #[default]
    Gray,
    /// Red, green and blue planes: `[1, 3, H, W]`.
    Rgb,
}

impl ColorMode {
    /// The name used in labels and URLs.
    pub fn name(self) -> &'static str {
        match self {
            ColorMode::Gray => "grayscale",
            ColorMode::Rgb => "RGB",
        }
    }

    /// How many channels the tensor has.
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Gray => 1,
            ColorMode::Rgb => 3,
        }
    }
}

/// The size an image of `width` by `height` pixels is drawn at so that its longest side is at most `max_side`
/// (at least 1): itself when it fits, else scaled down keeping its proportions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fit {
    /// The width drawn, at least 1.
    pub width: u32,
    /// The height drawn, at least 1.
    pub height: u32,
    /// Whether the image was scaled down.
    pub scaled: bool,
}

/// How an image of `width` by `height` pixels fits in `max_side` (see [`Fit`]), or why it cannot be used: an image
/// with no pixels.
pub fn fit(width: u32, height: u32, max_side: u32) -> Result<Fit, String> {
    if width == 0 || height == 0 {
        return Err(format!("The image has no pixels ({width} x {height}). Try another file (PNG or JPEG), or pick a sample photo."));
    }
    let max_side = max_side.max(1);
    let longest = width.max(height);
    if longest <= max_side {
        return Ok(Fit { width, height, scaled: false });
    }
    // Whole pixels, rounded, never 0 and never past the limit: 10,000 x 3 in 256 is 256 x 1.
    let side = |len: u32| ((len as u64 * max_side as u64 + longest as u64 / 2) / longest as u64).clamp(1, max_side as u64) as u32;
    Ok(Fit { width: side(width), height: side(height), scaled: true })
}

/// Decodes the image at `url`, or says it cannot be read as an image.
async fn decoded(url: &str, failed: &dyn Fn(&str) -> String) -> Result<HtmlImageElement, String> {
    let img = HtmlImageElement::new().map_err(|_| failed("opened"))?;
    img.set_src(url);
    JsFuture::from(img.decode()).await.map_err(|_| failed("read"))?;
    Ok(img)
}

/// The size of the image at `url` (a `blob:` URL of the learner's file), or why it cannot be used: a file that is
/// not an image the browser can decode, an empty one, an image with no pixels.
pub async fn image_size(url: &str) -> Result<(u32, u32), String> {
    let failed = |what: &str| format!("The file could not be {what} as an image. Try another file (PNG or JPEG), or pick a sample photo.");
    let img = decoded(url, &failed).await?;
    let (w, h) = (img.natural_width(), img.natural_height());
    fit(w, h, 1)?;
    Ok((w, h))
}

/// Loads the image at `url` (a same-origin file, or a `blob:` URL of the learner's own file, which never leaves the
/// browser) as an RGB tensor `[1, 3, H, W]` with values in [0, 1], scaled down so that its longest side is at most
/// `max_side` pixels.
pub async fn load_rgb(url: &str, max_side: u32) -> Result<Tensor, String> {
    let failed = |what: &str| format!("The image could not be {what}. Try another file (PNG or JPEG), or pick a sample photo.");
    let img = decoded(url, &failed).await?;
    let Fit { width: w, height: h, .. } = fit(img.natural_width(), img.natural_height(), max_side)?;
    let canvas = new_canvas(w, h).ok_or_else(|| failed("decoded"))?;
    let ctx = context_2d(&canvas).ok_or_else(|| failed("decoded"))?;
    ctx.draw_image_with_html_image_element_and_dw_and_dh(&img, 0.0, 0.0, w as f64, h as f64).map_err(|_| failed("decoded"))?;
    let rgba = ctx.get_image_data(0.0, 0.0, w as f64, h as f64).map_err(|_| failed("decoded"))?.data();
    Ok(rgb_of(&rgba, h as usize, w as usize))
}

/// Loads the image at `url` (the learner's own file as a `blob:` URL, never uploaded) squeezed to exactly `side` by
/// `side` pixels, as an RGB tensor `[1, 3, side, side]` with values in [0, 1]: fastai's `ResizeMethod.SQUISH`.
pub async fn load_square(url: &str, side: u32) -> Result<Tensor, String> {
    let failed = |what: &str| format!("The image could not be {what}. Try another file (PNG or JPEG).");
    let img = decoded(url, &failed).await?;
    fit(img.natural_width(), img.natural_height(), side)?;
    let canvas = new_canvas(side, side).ok_or_else(|| failed("decoded"))?;
    let ctx = context_2d(&canvas).ok_or_else(|| failed("decoded"))?;
    ctx.draw_image_with_html_image_element_and_dw_and_dh(&img, 0.0, 0.0, side as f64, side as f64).map_err(|_| failed("decoded"))?;
    let rgba = ctx.get_image_data(0.0, 0.0, side as f64, side as f64).map_err(|_| failed("decoded"))?.data();
    Ok(rgb_of(&rgba, side as usize, side as usize))
}

/// The current frame of a playing `video` (the learner's webcam, which never leaves the page) squeezed to `side` by
/// `side` pixels, as `[1, 3, side, side]` with values in [0, 1].
pub fn frame_square(video: &web_sys::HtmlVideoElement, side: u32) -> Result<Tensor, String> {
    let failed = "The webcam's picture could not be read. Start the webcam again, or use image files.".to_string();
    if video.video_width() == 0 {
        return Err("The webcam has not started yet: wait a moment, then capture.".into());
    }
    let canvas = new_canvas(side, side).ok_or_else(|| failed.clone())?;
    let ctx = context_2d(&canvas).ok_or_else(|| failed.clone())?;
    ctx.draw_image_with_html_video_element_and_dw_and_dh(video, 0.0, 0.0, side as f64, side as f64).map_err(|_| failed.clone())?;
    let rgba = ctx.get_image_data(0.0, 0.0, side as f64, side as f64).map_err(|_| failed)?.data();
    Ok(rgb_of(&rgba, side as usize, side as usize))
}

/// RGBA bytes, row by row, as `[1, 3, h, w]` with values in [0, 1] (the first `4 h w` bytes are read).
pub fn rgb_of(rgba: &[u8], h: usize, w: usize) -> Tensor {
    let plane = h * w;
    Tensor::from_fn([1, 3, h, w], |i| rgba[4 * (i % plane) + i / plane] as f32 / 255.0)
}

/// An RGB image `[1, 3, H, W]` in the given color mode: itself, or its luma `[1, 1, H, W]`.
pub fn to_mode(rgb: &Tensor, mode: ColorMode) -> Tensor {
    match mode {
        ColorMode::Rgb => rgb.clone(),
        ColorMode::Gray => {
            let dims = rgb.shape().dims();
            let plane = dims[2] * dims[3];
            let d = rgb.data();
            let byte = |v: f32| (v * 255.0).round() as u32;
            Tensor::from_fn([1, 1, dims[2], dims[3]], |i| luma(byte(d[i]), byte(d[plane + i]), byte(d[2 * plane + i])) as f32 / 255.0)
        }
    }
}

/// The brightness of a pixel, exactly as PIL's `convert("L")` computes it (so the PyTorch panel opens the same
/// numbers): ITU-R BT.601's `0.299 R + 0.587 G + 0.114 B` in 16-bit fixed point, rounded to a whole level.
pub fn luma(r: u32, g: u32, b: u32) -> u32 {
    (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16
}

/// Draws the first image of an NCHW tensor with 1 (gray) or 3 (RGB) channels on `canvas`, resizing the canvas to
/// the image. Values are clamped to [0, 1], as `plt.imshow` does for floats.
pub fn draw(canvas: &HtmlCanvasElement, t: &Tensor) -> Result<(), String> {
    let dims = t.shape().dims();
    let (channels, h, w) = (dims[1], dims[2], dims[3]);
    let plane = h * w;
    let d = t.data();
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let mut rgba = vec![255u8; 4 * plane];
    for i in 0..plane {
        for c in 0..3 {
            rgba[4 * i + c] = byte(d[if channels == 3 { c * plane + i } else { i }]);
        }
    }
    canvas.set_width(w as u32);
    canvas.set_height(h as u32);
    let image = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), w as u32, h as u32)
        .map_err(|_| "The browser could not build the image to draw.".to_string())?;
    let ctx = context_2d(canvas).ok_or("The browser has no 2-D canvas to draw on.")?;
    ctx.put_image_data(&image, 0.0, 0.0).map_err(|_| "The browser could not draw the image.".to_string())
}

fn new_canvas(w: u32, h: u32) -> Option<HtmlCanvasElement> {
    let canvas: HtmlCanvasElement = web_sys::window()?.document()?.create_element("canvas").ok()?.dyn_into().ok()?;
    canvas.set_width(w);
    canvas.set_height(h);
    Some(canvas)
}

fn context_2d(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_is_pil_s() {
        // PIL: Image.new("RGB", (1, 1), c).convert("L").getpixel((0, 0)) for each colour c.
        assert_eq!([luma(255, 0, 0), luma(0, 255, 0), luma(0, 0, 255), luma(255, 255, 255), luma(0, 0, 0)], [76, 150, 29, 255, 0]);
        assert_eq!(luma(10, 200, 30), 124);
    }

    #[test]
    fn a_large_image_is_scaled_to_fit_and_an_empty_one_refused() {
        assert_eq!(fit(200, 100, 256), Ok(Fit { width: 200, height: 100, scaled: false }));
        assert_eq!(fit(10_000, 10_000, 256), Ok(Fit { width: 256, height: 256, scaled: true }));
        assert_eq!(fit(10_000, 3, 256), Ok(Fit { width: 256, height: 1, scaled: true }));
        assert_eq!(fit(1000, 750, 128), Ok(Fit { width: 128, height: 96, scaled: true }));
        assert!(fit(0, 10, 256).unwrap_err().contains("no pixels"));
    }
}
