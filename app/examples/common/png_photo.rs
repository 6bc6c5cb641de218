//! Decoding a shipped photo natively, as the page's `load_rgb` reads it in the browser: 8-bit RGB, a gray file's
//! level repeated in all three channels, alpha dropped. Shared by the examples that check the page's numbers.

use std::path::Path;

/// The photo at `path`: `(width, height, RGB bytes row by row)`.
pub fn decode(path: &Path) -> Result<(usize, usize, Vec<u8>), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = vec![0; reader.output_buffer_size().ok_or("the image is too large")?];
    let info = reader.next_frame(&mut bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let (w, h, samples) = (info.width as usize, info.height as usize, info.color_type.samples());
    let rgb = (0..w * h * 3)
        .map(|i| {
            let (pixel, channel) = (i / 3, i % 3);
            // Gray (with or without alpha) repeats its level; RGB(A) takes its own.
            bytes[pixel * samples + if samples < 3 { 0 } else { channel }]
        })
        .collect();
    Ok((w, h, rgb))
}
