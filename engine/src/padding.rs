//! How a padded image is read: which input pixel a coordinate outside the image stands for.
//!
//! A convolution or a pool slides its window over the input *as if* it had `pad` extra rows and columns on each
//! side. Along one axis of length `len`, a padded coordinate `i` (counted from the input's first pixel, so the
//! padding is at `i < 0` and `i ≥ len`) reads:
//!
//! | mode        | PyTorch name  | `i = −2, −1` for `len = 4` (pixels `a b c d`) | `i = 4, 5`  |
//! |-------------|---------------|-----------------------------------------------|-------------|
//! | zeros       | `zeros`       | 0, 0                                          | 0, 0        |
//! | border      | `replicate`   | a, a (the edge repeats)                       | d, d        |
//! | reflection  | `reflect`     | c, b (mirror, the edge itself not repeated)   | c, b        |
//! | circular    | `circular`    | c, d (the image wraps around, ONNX's `wrap`)  | a, b        |
//!
//! Reflection needs `pad < len`: a mirror cannot show more than the image minus its edge pixel.
//!
//! Tap `k` of window `o` (a window moving `stride` at a time, its taps `dilation` apart, after `pad` positions of
//! padding) stands at padded coordinate [`tap_coordinate`]`(o, k, stride, dilation, pad) = o·stride + k·dilation −
//! pad`: with [`PaddingMode::source`], the one indexing function behind the convolutions and pools, their CPU paths,
//! their traces and the lessons (and the prelude's WGSL functions of the same names).

/// Where tap `k` of window `o` stands along an axis, counted from the input's first pixel (negative in the start
/// padding): `o·stride + k·dilation − pad`.
pub fn tap_coordinate(o: usize, k: usize, stride: usize, dilation: usize, pad: usize) -> isize {
    (o * stride + k * dilation) as isize - pad as isize
}

/// What the pixels outside the image are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PaddingMode {
    /// Zeros outside the image.
    #[default]
    Zeros,
    /// The nearest edge pixel, repeated (PyTorch `replicate`, ONNX `edge`).
    Border,
    /// The image mirrored at its edge, without repeating the edge pixel (PyTorch `reflect`).
    Reflection,
    /// The image repeated, as if it wrapped around (PyTorch `circular`, ONNX `wrap`).
    Circular,
}

impl PaddingMode {
    /// All modes.
    pub const ALL: [PaddingMode; 4] = [PaddingMode::Zeros, PaddingMode::Border, PaddingMode::Reflection, PaddingMode::Circular];

    /// The three modes the lessons teach (as fastai's augmentations and `grid_sample` name them).
    pub const LESSON: [PaddingMode; 3] = [PaddingMode::Zeros, PaddingMode::Border, PaddingMode::Reflection];

    /// The name used in this project's URLs and labels (as in fastai and `grid_sample`).
    pub fn name(self) -> &'static str {
        match self {
            PaddingMode::Zeros => "zeros",
            PaddingMode::Border => "border",
            PaddingMode::Reflection => "reflection",
            PaddingMode::Circular => "circular",
        }
    }

    /// The `padding_mode` string `torch.nn.Conv2d` expects.
    pub fn pytorch_name(self) -> &'static str {
        match self {
            PaddingMode::Zeros => "zeros",
            PaddingMode::Border => "replicate",
            PaddingMode::Reflection => "reflect",
            PaddingMode::Circular => "circular",
        }
    }

    /// Parses a name from [`name`](Self::name) or [`pytorch_name`](Self::pytorch_name) (and ONNX's `edge`).
    pub fn parse(name: &str) -> Option<PaddingMode> {
        match name {
            "zeros" | "constant" => Some(PaddingMode::Zeros),
            "border" | "replicate" | "edge" => Some(PaddingMode::Border),
            "reflection" | "reflect" => Some(PaddingMode::Reflection),
            "circular" | "wrap" => Some(PaddingMode::Circular),
            _ => None,
        }
    }

    /// The code the WGSL kernels use for this mode.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The input index that padded coordinate `i` reads along an axis of length `len`, or `None` for a zero.
    /// `len` must be positive and, for reflection, `i` must lie within `len − 1` of the image.
    pub fn source(self, i: isize, len: usize) -> Option<usize> {
        let last = len as isize - 1;
        if (0..=last).contains(&i) {
            return Some(i as usize);
        }
        match self {
            PaddingMode::Zeros => None,
            PaddingMode::Border => Some(i.clamp(0, last) as usize),
            PaddingMode::Reflection => Some(if i < 0 { -i } else { 2 * last - i } as usize),
            PaddingMode::Circular => Some(i.rem_euclid(len as isize) as usize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_in_the_header_holds() {
        let read = |mode: PaddingMode| [-2, -1, 4, 5].map(|i| mode.source(i, 4));
        assert_eq!(read(PaddingMode::Zeros), [None, None, None, None]);
        assert_eq!(read(PaddingMode::Border), [Some(0), Some(0), Some(3), Some(3)]);
        assert_eq!(read(PaddingMode::Reflection), [Some(2), Some(1), Some(2), Some(1)]);
        assert_eq!(read(PaddingMode::Circular), [Some(2), Some(3), Some(0), Some(1)]);
    }

    #[test]
    fn names_round_trip() {
        for mode in PaddingMode::ALL {
            assert_eq!(PaddingMode::parse(mode.name()), Some(mode));
            assert_eq!(PaddingMode::parse(mode.pytorch_name()), Some(mode));
        }
        assert_eq!(PaddingMode::parse("wrap"), Some(PaddingMode::Circular));
        assert_eq!(PaddingMode::parse("symmetric"), None);
    }
}
