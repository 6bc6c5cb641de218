//! The 8x8 handwritten digits (scikit-learn's `load_digits`, from the UCI "Optical Recognition of Handwritten
//! Digits" test set; CC BY 4.0, see `public/data/LICENSES.md`): 1797 grayscale images of 0–9, 64 pixels of 0..16.
//! The file `public/data/digits_u8.bin` holds one record per image: the label byte, then the 64 pixel bytes.

use super::ImageSet;
use crate::error::{ErrorKind, OpError, Result};
use crate::tensor::Tensor;

/// Bytes per record.
const RECORD: usize = 65;

/// Reads `digits_u8.bin`; pixels become 0..1 (`/ 16`).
pub fn parse(bytes: &[u8]) -> Result<ImageSet> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        return Err(OpError::new("digits", ErrorKind::Length, "this is not the digits file")
            .expected(format!("a multiple of {RECORD} bytes (a label and 64 pixels per image)"))
            .given(format!("{} bytes", bytes.len()))
            .hint("use public/data/digits_u8.bin as shipped")
            .into());
    }
    let n = bytes.len() / RECORD;
    let labels = bytes.chunks(RECORD).map(|r| r[0] as i64).collect();
    let images = Tensor::from_fn([n, 1, 8, 8], |i| bytes[(i / 64) * RECORD + 1 + i % 64] as f32 / 16.0);
    Ok(ImageSet { images, labels, classes: (0..10).map(|d| d.to_string()).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_has_1797_digits_of_every_class() {
        let set = parse(include_bytes!("../../../public/data/digits_u8.bin")).unwrap();
        assert_eq!(set.images.shape().dims(), &[1797, 1, 8, 8]);
        assert!(set.images.data().iter().all(|&v| (0.0..=1.0).contains(&v)));
        for d in 0..10 {
            let count = set.labels.iter().filter(|&&l| l == d).count();
            assert!((170..=185).contains(&count), "digit {d}: {count}");
        }
        assert!(parse(&[0; 64]).is_err());
    }
}
