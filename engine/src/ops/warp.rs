//! A projective warp: each output pixel reads the input, bilinearly, where a 3x3 matrix sends it. Flips, rotations,
//! zooms and fastai's perspective warp are all such matrices; it is how the augmentation lesson moves an image
//! without changing its label. PyTorch: `F.grid_sample(x, grid, mode="bilinear", padding_mode, align_corners)` on
//! the grid `F.affine_grid(theta, size, align_corners)` makes (a matrix whose last row is `0 0 1`), or on a
//! homography's grid.
//!
//! ```text
//! output pixel (i, j), in coordinates from −1 to 1:
//!     x = (2j + 1)/W − 1,  y = (2i + 1)/H − 1          (align_corners=False: pixel centres)
//!     x = 2j/(W − 1) − 1,  y = 2i/(H − 1) − 1          (align_corners=True: the corner pixels' centres at ±1)
//! (u, v, w) = M · (x, y, 1);  the source is (u/w, v/w), in the same coordinates, turned back into pixels:
//!     px = ((u/w + 1)·W_in − 1)/2                     (align_corners=False)
//!     px = (u/w + 1)/2 · (W_in − 1)                   (align_corners=True)
//! padding: zeros (taps outside the image read 0), border (the source clamped into the image), reflection (the
//! source mirrored at the image's edges, then clamped)
//! y[n, c, i, j] = the bilinear mix of the four pixels around (py, px)
//! ```
//!
//! Backward hands each `dy` back to the four pixels it read, with the same weights (the matrices are settings,
//! not learned).
//!
//! Inputs `[x]` `[N, C, H, W]`, outputs `[y]` `[N, C, oh, ow]`.

use super::dispatch::{Unary, launch};
use super::taps;
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::padding::PaddingMode;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

/// Images in one warp, at most: the matrices travel in the uniforms (a larger batch is warped in parts).
pub const MAX_IMAGES: usize = 32;

/// A validated warp of an `[N, C, H, W]` input.
#[derive(Clone, Debug, PartialEq)]
pub struct Warp {
    /// Each image's matrix, row by row: output coordinates `(x, y, 1)` to source coordinates.
    pub matrices: Vec<[f32; 9]>,
    /// What the pixels outside the image are: zeros, border or reflection.
    pub padding: PaddingMode,
    /// Whether ±1 are the corner pixels' centres (PyTorch's `align_corners`) rather than the image's edges.
    pub align_corners: bool,
    /// The input's shape.
    pub in_shape: Shape,
    /// `[N, C, oh, ow]`
    pub out_shape: Shape,
}

/// The affine matrix `[a b c; d e f; 0 0 1]` of PyTorch's `theta = [[a, b, c], [d, e, f]]`.
pub fn affine(theta: [f32; 6]) -> [f32; 9] {
    [theta[0], theta[1], theta[2], theta[3], theta[4], theta[5], 0.0, 0.0, 1.0]
}

/// Output index `dst` of `len` along an axis, in coordinates from −1 to 1.
fn normalized(dst: usize, len: usize, align_corners: bool) -> f32 {
    if align_corners {
        if len > 1 { 2.0 * dst as f32 / (len - 1) as f32 - 1.0 } else { -1.0 }
    } else {
        (2 * dst + 1) as f32 / len as f32 - 1.0
    }
}

/// A coordinate from −1 to 1 as a pixel position along an axis of `len` pixels, with the padding applied
/// (PyTorch's `grid_sampler_compute_source_index`).
pub fn source(coordinate: f32, len: usize, padding: PaddingMode, align_corners: bool) -> f32 {
    let size = len as f32;
    let px = if align_corners { (coordinate + 1.0) / 2.0 * (size - 1.0) } else { ((coordinate + 1.0) * size - 1.0) / 2.0 };
    let clamp = |v: f32| v.max(0.0).min(size - 1.0);
    match padding {
        PaddingMode::Border => clamp(px),
        PaddingMode::Reflection => {
            // Mirror at the edges: the centres of the edge pixels (align_corners) or the image's edges.
            let (low, high) = if align_corners { (0.0, size - 1.0) } else { (-0.5, size - 0.5) };
            let span = high - low;
            if span <= 0.0 {
                return 0.0;
            }
            let d = (px - low).abs();
            let flips = (d / span).floor();
            let extra = d - flips * span;
            clamp(if flips as i64 % 2 == 0 { low + extra } else { high - extra })
        }
        _ => px,
    }
}

impl Warp {
    /// Checks `x [N, C, H, W]`, one matrix per image (at most [`MAX_IMAGES`]), a padding mode `grid_sample` knows
    /// and an output size of at least 1x1.
    pub fn new(x: &Shape, matrices: Vec<[f32; 9]>, size: [usize; 2], padding: PaddingMode, align_corners: bool) -> Result<Warp> {
        let err = |kind, problem: &str| OpError::new(Self::NAME, kind, problem);
        let &[batch, channels, _, _] = x.dims() else {
            return Err(err(ErrorKind::Shape, "the input must have 4 dimensions").expected("[N, C, H, W]").given(x).hint("add a batch axis with t[None]").into());
        };
        if x.numel() == 0 || size.contains(&0) {
            return Err(err(ErrorKind::ZeroSize, "the input and the size must not be empty")
                .expected("every dimension and the size at least 1")
                .given(format!("input {x}, size {size:?}"))
                .hint("warp at least one pixel")
                .into());
        }
        if matrices.len() != batch || batch > MAX_IMAGES {
            return Err(err(ErrorKind::Shape, "there must be one matrix per image")
                .expected(format!("{batch} matrices, and at most {MAX_IMAGES} images in one warp"))
                .given(format!("{} matrices", matrices.len()))
                .hint("warp a large batch in parts")
                .into());
        }
        if matrices.iter().flatten().any(|v| !v.is_finite()) {
            return Err(err(ErrorKind::Value, "a matrix holds a value that is not a number").given(format!("{matrices:?}")).hint("build the matrix from finite angles and scales").into());
        }
        if padding == PaddingMode::Circular {
            return Err(err(ErrorKind::Value, "grid_sample has no circular padding")
                .expected("zeros, border or reflection")
                .given(padding.name())
                .hint("reflection is fastai's default for augmentations")
                .into());
        }
        Ok(Warp { matrices, padding, align_corners, in_shape: x.clone(), out_shape: Shape::from([batch, channels, size[0], size[1]]) })
    }

    /// `(C, H, W, oh, ow)`
    fn sizes(&self) -> (usize, usize, usize, usize, usize) {
        let (i, o) = (self.in_shape.dims(), self.out_shape.dims());
        (i[1], i[2], i[3], o[2], o[3])
    }

    /// Where output pixel `(i, j)` of image `n` reads: the four neighbours inside the image, `((row, col), weight)`
    /// (a neighbour outside it reads zero and is left out). The one indexing function of the reference and the
    /// lessons; the kernels compute the same in WGSL.
    pub fn trace(&self, n: usize, i: usize, j: usize) -> Vec<((usize, usize), f32)> {
        let (_, h, w, oh, ow) = self.sizes();
        let m = &self.matrices[n];
        let (x, y) = (normalized(j, ow, self.align_corners), normalized(i, oh, self.align_corners));
        let (u, v, q) = (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5], m[6] * x + m[7] * y + m[8]);
        let (px, py) = (source(u / q, w, self.padding, self.align_corners), source(v / q, h, self.padding, self.align_corners));
        if !px.is_finite() || !py.is_finite() {
            return Vec::new();
        }
        let (x0, y0) = (px.floor(), py.floor());
        let (b, a) = (px - x0, py - y0);
        let taps = [(y0, x0, (1.0 - a) * (1.0 - b)), (y0, x0 + 1.0, (1.0 - a) * b), (y0 + 1.0, x0, a * (1.0 - b)), (y0 + 1.0, x0 + 1.0, a * b)];
        taps.into_iter()
            .filter(|&(r, c, _)| r >= 0.0 && c >= 0.0 && r < h as f32 && c < w as f32)
            .map(|(r, c, weight)| ((r as usize, c as usize), weight))
            .collect()
    }

    fn uniforms(&self) -> Uniforms {
        let (channels, in_h, in_w, out_h, out_w) = self.sizes();
        let mut matrices = [[0.0f32; 12]; MAX_IMAGES];
        for (padded, m) in matrices.iter_mut().zip(&self.matrices) {
            // Each matrix as three vec4 rows (a uniform array's 16-byte stride).
            for r in 0..3 {
                padded[r * 4..r * 4 + 3].copy_from_slice(&m[r * 3..r * 3 + 3]);
            }
        }
        Uniforms {
            batch: self.matrices.len() as u32,
            channels: channels as u32,
            in_h: in_h as u32,
            in_w: in_w as u32,
            out_h: out_h as u32,
            out_w: out_w as u32,
            padding: self.padding.code(),
            align_corners: self.align_corners as u32,
            matrices,
        }
    }
}

impl Unary for Warp {
    const NAME: &'static str = "warp";

    /// Each output pixel, the weighted sum of its neighbours inside the image.
    fn reference_forward(&self, x: &Tensor) -> Tensor {
        let channels = self.in_shape.dims()[1];
        taps::gather(x, &self.out_shape, |plane, i, j| self.trace(plane / channels, i, j))
    }

    /// Each `dy` added back to the pixels it read, with their weights.
    fn reference_backward(&self, _: &Tensor, dy: &Tensor) -> Tensor {
        let channels = self.in_shape.dims()[1];
        taps::scatter(dy, &self.in_shape, |plane, i, j| self.trace(plane / channels, i, j))
    }

    /// One invocation per output pixel.
    fn gpu_forward(&self, gpu: &Gpu, x: &Tensor) -> Tensor {
        launch(gpu, &FORWARD, &self.uniforms(), [x], self.out_shape.clone())
    }

    /// One invocation per input pixel, looking through every output pixel of its plane for the ones that read it:
    /// `oh·ow` steps each, fine for the lessons' small images (a warp is not learned, so nothing trains through it).
    fn gpu_backward(&self, gpu: &Gpu, _: &Tensor, dy: &Tensor) -> Tensor {
        launch(gpu, &BACKWARD, &self.uniforms(), [dy], self.in_shape.clone())
    }
}

uniforms! {
    /// The `Params` of `shaders/warp.wgsl`.
    pub struct Uniforms {
        batch: u32, channels: u32, in_h: u32, in_w: u32, out_h: u32, out_w: u32, padding: u32, align_corners: u32,
        matrices: [[f32; 12]; MAX_IMAGES],
    }
}

kernels! {
    shader "warp", uniforms Uniforms;
    FORWARD = forward(x: 1, y: 2);
    BACKWARD = backward(dy: 3, dx: 4);
}

/// Each padding mode in both conventions, a rotation with zoom, a flip, a homography, and a batch whose images
/// each have their own matrix.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    let turn = |degrees: f32, scale: f32| {
        let (s, c) = degrees.to_radians().sin_cos();
        affine([scale * c, -scale * s, 0.1, scale * s, scale * c, -0.2])
    };
    let mut examples = Vec::new();
    for padding in PaddingMode::LESSON {
        for align in [false, true] {
            let x = Tensor::randn([1, 2, 5, 6], rng);
            let op = Warp::new(x.shape(), vec![turn(25.0, 1.2)], [5, 6], padding, align).expect("valid");
            examples.push(crate::ops::dispatch::Example::new(format!("warp {} by 25°, {}, align_corners={align}", x.shape(), padding.name()), op, vec![x]));
        }
    }
    let x = Tensor::randn([3, 3, 8, 8], rng);
    let matrices = vec![affine([-1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), [1.1, 0.2, 0.1, -0.1, 0.9, 0.05, 0.15, -0.2, 1.0], turn(-10.0, 0.9)];
    let op = Warp::new(x.shape(), matrices, [6, 10], PaddingMode::Reflection, false).expect("valid");
    examples.push(crate::ops::dispatch::Example::new("warp [3, 3, 8, 8]: a flip, a homography, a turn, to 6x10", op, vec![x]));
    examples
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Tensor {
        Tensor::new([1, 1, 3, 4], vec![1.0, 2.0, 4.0, -1.0, 3.0, -1.0, 0.5, 2.0, 0.0, 1.5, -2.0, 1.0]).unwrap()
    }

    /// `theta` = a 30° turn, zoom 1.3, shift (0.2, −0.1) on a 3x4 image, and `dy = [−0.5, −0.4, …, 0.6]`, from
    /// PyTorch 2.15: `F.grid_sample(x, F.affine_grid(theta, (1, 1, 3, 4), align_corners), "bilinear", padding_mode,
    /// align_corners)`, with its gradient.
    #[test]
    fn warping_matches_pytorch_in_every_padding_mode_and_convention() {
        let theta = [1.125833, -0.65, 0.2, 0.65, 1.125833, -0.1];
        let dy = Tensor::new([1, 1, 3, 4], (0..12).map(|i| i as f32 / 10.0 - 0.5).collect()).unwrap();
        #[rustfmt::skip]
        let pytorch: [(PaddingMode, bool, [f32; 12], [f32; 12]); 6] = [
            (PaddingMode::Zeros, false,
             [0.0, 1.432243, -0.648908, 0.0, 1.323321, 0.753239, 1.025097, 0.583461, 0.780914, 0.816197, -0.458007, 0.048697],
             [-0.069509, -0.018616, -0.153013, -0.233826, 0.125479, 0.047904, 0.048673, 0.076394, 0.180363, 0.2953, 0.286541, 0.179054]),
            (PaddingMode::Zeros, true,
             [0.269753, 1.638818, -0.656015, 0.0, 1.472187, 0.343163, 0.816218, 0.741313, 0.255129, 0.690547, 0.107786, -0.148712],
             [-0.066656, -0.065073, -0.18106, -0.244099, 0.059622, 0.017224, 0.056276, 0.07807, 0.254201, 0.316654, 0.248932, 0.160396]),
            (PaddingMode::Border, false,
             [2.155834, 2.981249, -1.0, 0.366251, 1.323321, 0.753239, 1.025097, 1.41875, 2.266251, 0.816197, -0.586874, 0.166249],
             [-0.069509, -0.479658, -0.357459, -0.490417, 0.274012, 0.047904, 0.048673, 0.034618, 0.228454, 0.339629, 0.46991, 0.55384]),
            (PaddingMode::Border, true,
             [2.172501, 2.939582, -1.0, 0.272501, 1.472187, 0.343163, 0.816218, 1.45, 1.872501, 0.690547, 0.142292, -0.458751],
             [-0.066656, -0.465219, -0.358292, -0.5, 0.221359, 0.017224, 0.056276, 0.037224, 0.351589, 0.390869, 0.493141, 0.422484]),
            (PaddingMode::Reflection, false,
             [2.134309, 2.981249, -1.0, 1.295204, 1.323321, 0.753239, 1.025097, 1.41875, 2.266251, 0.816196, -0.586874, 0.166249],
             [-0.069509, -0.476392, -0.406785, -0.440814, 0.274012, 0.044639, 0.006916, 0.076099, 0.228455, 0.339629, 0.46991, 0.55384]),
            (PaddingMode::Reflection, true,
             [-0.492769, 2.000838, 0.696947, 1.68627, 1.472187, 0.343163, 0.816218, 0.313657, 0.202944, 0.690547, 0.006391, 0.710018],
             [-0.066656, -0.118481, -0.343264, -0.244099, 0.059622, -0.186311, 0.12082, 0.247036, 0.254201, 0.414042, 0.302694, 0.160396]),
        ];
        let x = image();
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(p, q)| (p - q).abs() < 2e-5);
        for (padding, align, y, dx) in pytorch {
            let op = Warp::new(x.shape(), vec![affine(theta)], [3, 4], padding, align).unwrap();
            let got = op.forward(&x).unwrap();
            assert!(close(got.data(), &y), "{} align_corners={align}: {:?}", padding.name(), got.data());
            let got = op.backward(&x, &dy).unwrap();
            assert!(close(got.data(), &dx), "{} align_corners={align}: {:?}", padding.name(), got.data());
        }
        // A homography (a perspective warp) on the same image, reflection, from PyTorch's grid_sample on the grid it
        // makes: (u, v, w) = M·(x, y, 1), the source (u/w, v/w).
        let m = [1.1, 0.2, 0.1, -0.1, 0.9, 0.05, 0.15, -0.2, 1.0];
        let got = Warp::new(x.shape(), vec![m], [3, 4], PaddingMode::Reflection, false).unwrap().forward(&x).unwrap();
        let pytorch = [1.604082, 1.181418, 2.915395, 0.519412, 2.366197, -0.58294, 0.756061, 1.898876, 0.0, 0.101759, -0.126728, 1.119149];
        assert!(close(got.data(), &pytorch), "{:?}", got.data());
    }

    #[test]
    fn the_identity_keeps_the_image_and_a_flip_mirrors_it() {
        let x = image();
        for align in [false, true] {
            let same = Warp::new(x.shape(), vec![affine([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])], [3, 4], PaddingMode::Zeros, align).unwrap();
            assert!(same.forward(&x).unwrap().data().iter().zip(x.data()).all(|(a, b)| (a - b).abs() < 1e-5));
        }
        let flip = Warp::new(x.shape(), vec![affine([-1.0, 0.0, 0.0, 0.0, 1.0, 0.0])], [3, 4], PaddingMode::Reflection, false).unwrap();
        let flipped = flip.forward(&x).unwrap();
        for row in 0..3 {
            for col in 0..4 {
                assert!((flipped.data()[row * 4 + col] - x.data()[row * 4 + 3 - col]).abs() < 1e-5);
            }
        }
        // The first pixel reads the last of its row (the other taps' weights are rounding).
        let taps = flip.trace(0, 0, 0);
        assert_eq!(taps[0].0, (0, 3));
        assert!((taps[0].1 - 1.0).abs() < 1e-6 && taps[1..].iter().all(|&(_, w)| w.abs() < 1e-6), "{taps:?}");
    }

    #[test]
    fn bad_settings_are_explained() {
        let x = image();
        let id = affine([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        assert!(Warp::new(x.shape(), vec![], [3, 4], PaddingMode::Zeros, false).unwrap_err().to_string().contains("one matrix per image"));
        assert!(Warp::new(x.shape(), vec![id], [3, 4], PaddingMode::Circular, false).unwrap_err().to_string().contains("circular"));
        assert!(Warp::new(x.shape(), vec![[f32::NAN; 9]], [3, 4], PaddingMode::Zeros, false).is_err());
        assert!(Warp::new(&Shape::from([3, 4]), vec![id], [3, 4], PaddingMode::Zeros, false).is_err());
        assert!(Warp::new(x.shape(), vec![id], [0, 4], PaddingMode::Zeros, false).is_err());
    }
}
