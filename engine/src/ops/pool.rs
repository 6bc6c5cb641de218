//! The window geometry that `avg_pool2d` and `max_pool2d` share: a `kH x kW` window, its taps `dilation` apart,
//! moving `stride` at a time over an input padded by `[top, left, bottom, right]`.
//!
//! Output size per axis: [`window_out_len`] (with `ceil_mode`, a partial last window counts, unless it would
//! start in the end padding). Padding narrower than the window is required: a window that sees only padding has
//! nothing to pool.

use crate::error::{ErrorKind, OpError, Result};
use crate::shape::{Shape, window_out_len};

/// One pooling window, for a lesson to show: the pixels it reads `(row, col, value)`, the winner (max pooling),
/// the divisor (average pooling; 1 for max) and the output.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolTrace {
    /// `(row, col, value)` of every pixel the window covers, row by row.
    pub pixels: Vec<(usize, usize, f32)>,
    /// The divisor of an average.
    pub divisor: f32,
    /// Which of `pixels` is the maximum (max pooling).
    pub argmax: Option<usize>,
    /// The output value.
    pub output: f32,
}

/// Pooling parameters, as a learner sets them.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool2dParams {
    /// Window size `[kH, kW]`.
    pub kernel: [usize; 2],
    /// Step between windows `[vertical, horizontal]` (PyTorch's default is the kernel size).
    pub stride: [usize; 2],
    /// Padding `[top, left, bottom, right]`.
    pub padding: [usize; 4],
    /// Spacing between taps; 1 for an ordinary window.
    pub dilation: [usize; 2],
    /// Round the output size up, keeping a partial last window.
    pub ceil_mode: bool,
}

impl Pool2dParams {
    /// A `k x k` window moving `k` at a time, as `nn.MaxPool2d(k)` and `nn.AvgPool2d(k)`.
    pub fn new(kernel: usize) -> Self {
        Pool2dParams { kernel: [kernel; 2], stride: [kernel; 2], padding: [0; 4], dilation: [1; 2], ceil_mode: false }
    }

    /// The same stride along both axes.
    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = [stride; 2];
        self
    }

    /// The same padding on all four sides.
    pub fn padding(mut self, padding: usize) -> Self {
        self.padding = [padding; 4];
        self
    }
}

/// Pooling windows checked against an input shape.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolGeometry {
    /// The parameters.
    pub params: Pool2dParams,
    /// `N`
    pub batch: usize,
    /// `C`
    pub channels: usize,
    /// `H`
    pub in_h: usize,
    /// `W`
    pub in_w: usize,
    /// `H'`
    pub out_h: usize,
    /// `W'`
    pub out_w: usize,
}

impl PoolGeometry {
    /// Checks `params` against `x [N, C, H, W]`; `op` names the pool in errors.
    pub fn new(op: &'static str, params: &Pool2dParams, x: &Shape) -> Result<PoolGeometry> {
        let err = |kind, problem: &str| OpError::new(op, kind, problem);
        let &[batch, channels, in_h, in_w] = x.dims() else {
            return Err(err(ErrorKind::Shape, "the input must have 4 dimensions")
                .expected("[N, C, H, W]")
                .given(x)
                .hint("add a batch axis with t[None] for a single feature map")
                .into());
        };
        let p = params;
        if x.numel() == 0 || p.kernel.contains(&0) {
            return Err(err(ErrorKind::ZeroSize, "the input and the window must not be empty")
                .expected("every dimension and the kernel at least 1")
                .given(format!("input {x}, kernel {:?}", p.kernel))
                .hint("a 2x2 window is the usual choice")
                .into());
        }
        if p.stride.contains(&0) || p.dilation.contains(&0) {
            return Err(err(ErrorKind::Stride, "stride and dilation must be at least 1")
                .expected("stride ≥ 1 and dilation ≥ 1")
                .given(format!("stride {:?}, dilation {:?}", p.stride, p.dilation))
                .hint("stride 2 halves the height and width")
                .into());
        }
        let span = |axis: usize| p.dilation[axis] * (p.kernel[axis] - 1) + 1;
        let [top, left, bottom, right] = p.padding;
        if top.max(bottom) >= span(0) || left.max(right) >= span(1) {
            return Err(err(ErrorKind::PaddingTooWide, "the padding must be narrower than the window")
                .expected(format!("padding < {} rows and < {} columns", span(0), span(1)))
                .given(format!("padding {:?}", p.padding))
                .hint("a window that covers only padding has nothing to pool: lower the padding")
                .into());
        }
        let out_h = window_out_len(in_h, top, bottom, p.kernel[0], p.stride[0], p.dilation[0], p.ceil_mode);
        let out_w = window_out_len(in_w, left, right, p.kernel[1], p.stride[1], p.dilation[1], p.ceil_mode);
        let (Some(out_h), Some(out_w)) = (out_h, out_w) else {
            return Err(err(ErrorKind::KernelTooLarge, "the window does not fit the padded input")
                .expected(format!("a padded input of at least {}x{}", span(0), span(1)))
                .given(format!("{}x{} after padding", in_h + top + bottom, in_w + left + right))
                .hint("use a smaller window or more padding")
                .into());
        };
        Ok(PoolGeometry { params: p.clone(), batch, channels, in_h, in_w, out_h, out_w })
    }

    /// `[N, C, H', W']`
    pub fn out_shape(&self) -> Shape {
        Shape::from([self.batch, self.channels, self.out_h, self.out_w])
    }

    /// `[N, C, H, W]`
    pub fn in_shape(&self) -> Shape {
        Shape::from([self.batch, self.channels, self.in_h, self.in_w])
    }

    /// The (possibly padded) input row of tap `ky` of output row `oy`.
    pub fn tap_row(&self, oy: usize, ky: usize) -> isize {
        (oy * self.params.stride[0] + ky * self.params.dilation[0]) as isize - self.params.padding[0] as isize
    }

    /// The (possibly padded) input column of tap `kx` of output column `ox`.
    pub fn tap_col(&self, ox: usize, kx: usize) -> isize {
        (ox * self.params.stride[1] + kx * self.params.dilation[1]) as isize - self.params.padding[1] as isize
    }

    /// The input pixels `(row, col)` that window `(oy, ox)` covers, row by row (taps in the padding skipped).
    pub fn window(&self, oy: usize, ox: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let rows = (0..self.params.kernel[0]).map(move |ky| self.tap_row(oy, ky)).filter(|&r| r >= 0 && r < self.in_h as isize);
        rows.flat_map(move |r| {
            (0..self.params.kernel[1])
                .map(move |kx| self.tap_col(ox, kx))
                .filter(|&c| c >= 0 && c < self.in_w as isize)
                .map(move |c| (r as usize, c as usize))
        })
    }

    /// How many taps of window `(oy, ox)` fall inside the padded input (`within_padding`) or inside the image.
    pub fn tap_count(&self, oy: usize, ox: usize, within_padding: bool) -> usize {
        let [top, left, bottom, right] = self.params.padding.map(|p| p as isize);
        let (lo_y, hi_y, lo_x, hi_x) = if within_padding {
            (-top, self.in_h as isize + bottom, -left, self.in_w as isize + right)
        } else {
            (0, self.in_h as isize, 0, self.in_w as isize)
        };
        let rows = (0..self.params.kernel[0]).filter(|&k| (lo_y..hi_y).contains(&self.tap_row(oy, k))).count();
        let cols = (0..self.params.kernel[1]).filter(|&k| (lo_x..hi_x).contains(&self.tap_col(ox, k))).count();
        rows * cols
    }

    /// The uniforms of `avg_pool2d.wgsl` and `max_pool2d.wgsl`.
    pub fn uniforms(&self, count_include_pad: bool) -> PoolUniforms {
        let p = &self.params;
        PoolUniforms {
            batch: self.batch as u32,
            channels: self.channels as u32,
            in_h: self.in_h as u32,
            in_w: self.in_w as u32,
            out_h: self.out_h as u32,
            out_w: self.out_w as u32,
            kernel_h: p.kernel[0] as u32,
            kernel_w: p.kernel[1] as u32,
            stride_y: p.stride[0] as u32,
            stride_x: p.stride[1] as u32,
            dilation_y: p.dilation[0] as u32,
            dilation_x: p.dilation[1] as u32,
            pad_top: p.padding[0] as u32,
            pad_left: p.padding[1] as u32,
            pad_bottom: p.padding[2] as u32,
            pad_right: p.padding[3] as u32,
            count_include_pad: count_include_pad as u32,
        }
    }
}

crate::uniforms! {
    /// The `Params` of `shaders/avg_pool2d.wgsl` and `shaders/max_pool2d.wgsl`.
    pub struct PoolUniforms {
        batch: u32, channels: u32, in_h: u32, in_w: u32,
        out_h: u32, out_w: u32, kernel_h: u32, kernel_w: u32,
        stride_y: u32, stride_x: u32, dilation_y: u32, dilation_x: u32,
        pad_top: u32, pad_left: u32, pad_bottom: u32, pad_right: u32,
        count_include_pad: u32,
    }
}

/// Random pooling windows (dilated, padded, `ceil_mode`) over small random inputs, for the pools' examples: valid
/// ones whose every window covers at least one pixel of the image.
#[cfg(any(test, feature = "check"))]
pub(crate) fn random_windows(rng: &mut crate::rng::Rng, count: usize) -> Vec<(Pool2dParams, Shape)> {
    let mut out = Vec::new();
    while out.len() < count {
        let x = Shape::from([1 + rng.below(2), 1 + rng.below(3), 2 + rng.below(7), 2 + rng.below(7)]);
        let kernel = [1 + rng.below(3), 1 + rng.below(3)];
        let params = Pool2dParams {
            kernel,
            stride: [1 + rng.below(3), 1 + rng.below(3)],
            padding: [rng.below(kernel[0]), rng.below(kernel[1]), rng.below(kernel[0]), rng.below(kernel[1])],
            dilation: [1 + rng.below(2), 1 + rng.below(2)],
            ceil_mode: rng.below(2) == 1,
        };
        let sees_the_image = |g: PoolGeometry| (0..g.out_h).all(|oy| (0..g.out_w).all(|ox| g.window(oy, ox).next().is_some()));
        if PoolGeometry::new("pool", &params, &x).is_ok_and(sees_the_image) {
            out.push((params, x));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_skip_padding_and_count_it_when_asked() {
        // 4x4 input, 3x3 window, stride 2, padding 1: window (0, 0) covers rows/cols -1..=1.
        let g = PoolGeometry::new("test", &Pool2dParams::new(3).stride(2).padding(1), &[1, 1, 4, 4].into()).unwrap();
        assert_eq!((g.out_h, g.out_w), (2, 2));
        assert_eq!(g.window(0, 0).collect::<Vec<_>>(), [(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert_eq!(g.tap_count(0, 0, false), 4);
        assert_eq!(g.tap_count(0, 0, true), 9);
    }

    #[test]
    fn padding_as_wide_as_the_window_is_refused() {
        let e = PoolGeometry::new("max_pool2d", &Pool2dParams::new(2).padding(2), &[1, 1, 4, 4].into()).unwrap_err();
        assert!(matches!(e, crate::Error::Op(e) if e.kind == ErrorKind::PaddingTooWide && e.op == "max_pool2d"));
    }
}
