//! Writes every shipped photo's pixels, decoded natively, for the end-to-end test that checks the page computes
//! on the file's own pixels (no colour profile applied, no resampling): `cargo run -p app --example photo_pixels
//! -- DIR` writes `DIR/index.json` (`[{"file", "side", "width", "height"}]`, with the lesson that loads the photo at
//! that side) and one `DIR/<n>.rgb` of RGB bytes per entry, in the index's order.

use app::widgets::PHOTOS;
use app::widgets::photo_picker::{PhotoSource, SAMPLE_SIDES};
use std::path::Path;
use std::process::ExitCode;

#[path = "common/png_photo.rs"]
mod png_photo;

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: photo_pixels DIR");
        return ExitCode::FAILURE;
    };
    match write(Path::new(&dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(dir: &Path) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("app/ sits in the repository");
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut index = Vec::new();
    for photo in PHOTOS {
        for side in SAMPLE_SIDES {
            let file = PhotoSource::Sample(photo.file).file_name(side);
            let (width, height, rgb) = png_photo::decode(&root.join("public/images").join(&file))?;
            let out = dir.join(format!("{}.rgb", index.len()));
            std::fs::write(&out, rgb).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            index.push(format!("{{\"file\": \"{}\", \"side\": {side}, \"width\": {width}, \"height\": {height}}}", photo.file));
        }
    }
    let path = dir.join("index.json");
    std::fs::write(&path, format!("[\n  {}\n]\n", index.join(",\n  "))).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
