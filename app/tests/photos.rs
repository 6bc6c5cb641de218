//! The shipped sample photos are what the page computes on: no colour profile a browser could apply when it draws
//! them to a canvas, and one file per size a lesson uses, so that the page never resamples a sample.

use app::widgets::PHOTOS;
use app::widgets::photo_picker::{PhotoSource, SAMPLE_SIDES};
use std::path::Path;

#[test]
fn every_sample_is_shipped_at_each_size_without_a_colour_profile() {
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/images");
    for photo in PHOTOS {
        for side in SAMPLE_SIDES {
            let file = PhotoSource::Sample(photo.file).file_name(side);
            let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(images.join(&file)).unwrap()));
            let reader = decoder.read_info().unwrap();
            let info = reader.info();
            assert!(info.icc_profile.is_none() && info.srgb.is_none() && info.gama_chunk.is_none() && info.chrm_chunk.is_none(), "{file} carries colour information");
            assert_eq!(info.width.max(info.height), side, "{file} is not {side} pixels on its longest side");
            assert_eq!(info.bit_depth, png::BitDepth::Eight, "{file}");
        }
    }
}
