//! Tensor shapes, and the one place that computes how many positions a sliding window takes (conv and pool).

use std::fmt;

/// The dimensions of a tensor, outermost first (NCHW for images). `[]` is a scalar.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Shape(Vec<usize>);

impl Shape {
    /// A shape from its dimensions.
    pub fn new(dims: impl Into<Vec<usize>>) -> Self {
        Shape(dims.into())
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// How many dimensions.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// How many elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(dims: [usize; N]) -> Self {
        Shape(dims.to_vec())
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Self {
        Shape(dims.to_vec())
    }
}

impl From<Vec<usize>> for Shape {
    fn from(dims: Vec<usize>) -> Self {
        Shape(dims)
    }
}

/// How many positions a window of `kernel` taps, `dilation` apart, takes along an axis of length `input` padded by
/// `pad_begin` and `pad_end`, moving `stride` at a time:
///
///   out = ⌊(input + pad_begin + pad_end − dilation·(kernel − 1) − 1) / stride⌋ + 1
///
/// With `ceil_mode` the division rounds up, but (as in PyTorch and ONNX) a last window that would start in the
/// end padding is dropped. `None` when the dilated kernel is longer than the padded input, or a size is zero.
pub fn window_out_len(
    input: usize,
    pad_begin: usize,
    pad_end: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    ceil_mode: bool,
) -> Option<usize> {
    if input == 0 || kernel == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    let padded = input + pad_begin + pad_end;
    let span = dilation * (kernel - 1) + 1;
    let room = padded.checked_sub(span)?;
    if !ceil_mode {
        return Some(room / stride + 1);
    }
    let mut out = room.div_ceil(stride) + 1;
    if (out - 1) * stride >= input + pad_begin {
        out -= 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stride_two_halves_an_even_image() {
        // 8 pixels, 3x3 kernel, padding 1, stride 2: ⌊(8 + 2 − 3) / 2⌋ + 1 = 4.
        assert_eq!(window_out_len(8, 1, 1, 3, 2, 1, false), Some(4));
    }

    #[test]
    fn dilation_widens_the_window() {
        // A 3-tap kernel with dilation 2 spans 5 pixels: 7 − 5 + 1 = 3 positions.
        assert_eq!(window_out_len(7, 0, 0, 3, 1, 2, false), Some(3));
        assert_eq!(window_out_len(4, 0, 0, 3, 1, 2, false), None);
    }

    #[test]
    fn ceil_mode_keeps_a_partial_window_but_not_one_that_starts_in_padding() {
        // PyTorch: avg_pool2d(k=2, s=2, ceil_mode=True) on 5 → 3; on 4 with padding 1 → 3 (not 4).
        assert_eq!(window_out_len(5, 0, 0, 2, 2, 1, true), Some(3));
        assert_eq!(window_out_len(4, 1, 1, 2, 2, 1, true), Some(3));
        assert_eq!(window_out_len(5, 0, 0, 2, 2, 1, false), Some(2));
    }

    #[test]
    fn shape_prints_like_pytorch_lists() {
        assert_eq!(Shape::from([1, 3, 8, 8]).to_string(), "[1, 3, 8, 8]");
        assert_eq!(Shape::from([2, 3]).numel(), 6);
        assert_eq!(Shape::default().numel(), 1);
    }
}
