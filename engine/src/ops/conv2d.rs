//! 2-D convolution (strictly, cross-correlation, as in every deep-learning library).
//!
//! Each output value is one window of the input multiplied elementwise by the kernel and summed, plus a bias:
//!
//! ```text
//! y[n, co, oy, ox] = Σ_{ci in group(co)} Σ_{ky, kx}  x̃[n, ci, oy·sy + ky·dy − pt, ox·sx + kx·dx − pl] · w[co, ci − g·Cin/G, ky, kx]
//!                    + b[co]
//! ```
//!
//! `x̃` is the input seen through its padding (see [`PaddingMode`]): the image itself inside, and zeros, the edge
//! pixel or the mirror image outside. `sy, sx` are the strides, `dy, dx` the dilations, `pt, pl` the top and left
//! padding. With `G` groups, output channel `co` belongs to group `g = co / (Cout/G)` and sees only that group's
//! `Cin/G` input channels (`G = Cin = Cout` is a depthwise convolution).
//!
//! Shapes: `x [N, Cin, H, W]`, `w [Cout, Cin/G, kH, kW]`, `b [Cout]`, `y [N, Cout, H', W']` with
//! `H' = ⌊(H + pt + pb − dy·(kH − 1) − 1) / sy⌋ + 1` (see [`window_out_len`]) and likewise `W'`.
//!
//! Backward, for an upstream gradient `dy`: every product `x̃·w` in the sum above sends `dy·w` to the input pixel
//! it read (so a border or mirrored pixel collects gradient from every window that read it), `dy·x̃` to the weight,
//! and `dy` itself to the bias.
//!
//! Inputs `[x, w]` or `[x, w, b]`, outputs `[y]`. The CPU runs the convolution as im2col and matrix products
//! ([`crate::device::cpu::conv2d`]); the GPU the same way for ordinary convolutions, and one invocation per value
//! otherwise.

use super::dispatch::{Unary, launch, on_device};
use crate::device::cpu;
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::ops::matmul::{Operand, StridedMatmul};
use crate::ops::pad::Pad;
use crate::ops::sum_to::SumTo;
use crate::padding::{PaddingMode, tap_coordinate};
use crate::shape::{Shape, window_out_len};
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

/// The parameters of a convolution, as a learner sets them.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dParams {
    /// Step between windows, `[vertical, horizontal]`.
    pub stride: [usize; 2],
    /// Spacing between kernel taps, `[vertical, horizontal]`; 1 is an ordinary kernel.
    pub dilation: [usize; 2],
    /// Padding `[top, left, bottom, right]`, in ONNX's order.
    pub padding: [usize; 4],
    /// What the padding is made of.
    pub padding_mode: PaddingMode,
    /// Channel groups; `groups = Cin = Cout` is a depthwise convolution.
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams { stride: [1, 1], dilation: [1, 1], padding: [0; 4], padding_mode: PaddingMode::Zeros, groups: 1 }
    }
}

impl Conv2dParams {
    /// The same stride along both axes.
    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = [stride, stride];
        self
    }

    /// The same dilation along both axes.
    pub fn dilation(mut self, dilation: usize) -> Self {
        self.dilation = [dilation, dilation];
        self
    }

    /// The same padding on all four sides.
    pub fn padding(mut self, padding: usize) -> Self {
        self.padding = [padding; 4];
        self
    }

    /// What the padding is made of.
    pub fn padding_mode(mut self, mode: PaddingMode) -> Self {
        self.padding_mode = mode;
        self
    }

    /// Channel groups.
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
}

/// Validates and runs a convolution on `x`'s device: `y = conv2d(x, w) + b`.
pub fn conv2d(x: &Tensor, w: &Tensor, b: Option<&Tensor>, params: &Conv2dParams) -> Result<Tensor> {
    Conv2d::new(params, x.shape(), w.shape(), b.map(Tensor::shape))?.forward(x, w, b)
}

/// The gradients of a convolution.
#[derive(Clone, Debug)]
pub struct Conv2dGrads {
    /// `∂L/∂x`
    pub dx: Tensor,
    /// `∂L/∂w`
    pub dw: Tensor,
    /// `∂L/∂b`, when the convolution has a bias.
    pub db: Option<Tensor>,
}

/// The longest sum the GPU weight gradient adds up in one product (images × output positions); longer ones are
/// split per image.
const MAX_SUMMED_TERMS: usize = 16 * 1024;

/// A convolution whose parameters were checked against its input, weight and bias shapes.
/// Built by [`Conv2d::new`]; its methods cannot fail.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d {
    /// The parameters it was built from.
    pub params: Conv2dParams,
    /// `N`
    pub batch: usize,
    /// `Cin`
    pub in_channels: usize,
    /// `H`
    pub in_h: usize,
    /// `W`
    pub in_w: usize,
    /// `Cout`
    pub out_channels: usize,
    /// `kH`
    pub kernel_h: usize,
    /// `kW`
    pub kernel_w: usize,
    /// `H'`
    pub out_h: usize,
    /// `W'`
    pub out_w: usize,
    /// Whether a bias is added.
    pub has_bias: bool,
    /// The CPU's gather and scatter tables for small images, built on first use.
    pub(crate) cpu_tables: cpu::conv2d::Tables,
}

const OP: &str = "conv2d";

impl Conv2d {
    /// Checks `params` against the shapes of `x [N, Cin, H, W]`, `w [Cout, Cin/G, kH, kW]` and `b [Cout]`.
    pub fn new(params: &Conv2dParams, x: &Shape, w: &Shape, b: Option<&Shape>) -> Result<Conv2d> {
        let err = |kind, problem: &str| OpError::new(OP, kind, problem);
        let &[batch, in_channels, in_h, in_w] = x.dims() else {
            return Err(err(ErrorKind::Shape, "the input must have 4 dimensions")
                .expected("[N, C, H, W]")
                .given(x)
                .hint("add a batch axis with t[None] (t.unsqueeze(0)) for a single image")
                .into());
        };
        let &[out_channels, group_in, kernel_h, kernel_w] = w.dims() else {
            return Err(err(ErrorKind::Shape, "the weight must have 4 dimensions")
                .expected("[C_out, C_in/groups, kH, kW]")
                .given(w)
                .hint("a single 3x3 kernel for a 1-channel image is w[None, None] with shape [1, 1, 3, 3]")
                .into());
        };
        if x.numel() == 0 || w.numel() == 0 {
            return Err(err(ErrorKind::ZeroSize, "a tensor has a dimension of size 0")
                .expected("every dimension at least 1")
                .given(format!("input {x}, weight {w}"))
                .hint("an image needs at least one pixel and one channel, a kernel at least one tap")
                .into());
        }
        let p = params;
        if p.stride.contains(&0) || p.dilation.contains(&0) {
            return Err(err(ErrorKind::Stride, "stride and dilation must be at least 1")
                .expected("stride ≥ 1 and dilation ≥ 1")
                .given(format!("stride {:?}, dilation {:?}", p.stride, p.dilation))
                .hint("stride 1 visits every position; stride 2 every other one")
                .into());
        }
        let groups = p.groups;
        if groups == 0 || in_channels % groups != 0 || out_channels % groups != 0 {
            return Err(err(ErrorKind::Groups, "the channels do not split evenly into the groups")
                .expected("groups ≥ 1 dividing both the input and the output channels")
                .given(format!("groups {groups}, {in_channels} input and {out_channels} output channels"))
                .hint("use groups = 1 for an ordinary convolution, groups = channels for a depthwise one")
                .into());
        }
        if group_in * groups != in_channels {
            return Err(err(ErrorKind::Shape, "the weight's input channels do not match the input")
                .expected(format!("weight[1] = {} (input channels / groups)", in_channels / groups))
                .given(format!("weight {w} for input {x} with {groups} group(s)"))
                .hint("an RGB image needs a rank-3 kernel per output channel: weight [K, 3, kH, kW]")
                .into());
        }
        if let Some(b) = b
            && b.dims() != [out_channels]
        {
            return Err(err(ErrorKind::Shape, "the bias needs one value per output channel")
                .expected(format!("[{out_channels}]"))
                .given(b)
                .hint("pass a bias of shape [C_out], or no bias")
                .into());
        }
        let [top, left, bottom, right] = p.padding;
        if p.padding_mode == PaddingMode::Reflection && (top.max(bottom) >= in_h || left.max(right) >= in_w) {
            return Err(err(ErrorKind::PaddingTooWide, "reflection padding must be narrower than the input")
                .expected(format!("padding < {in_h} rows and < {in_w} columns"))
                .given(format!("padding {:?} on a {in_h}x{in_w} input", p.padding))
                .hint("lower the padding, or use border or zeros padding")
                .into());
        }
        let [sy, sx] = p.stride;
        let [dy, dx] = p.dilation;
        let out_h = window_out_len(in_h, top, bottom, kernel_h, sy, dy, false);
        let out_w = window_out_len(in_w, left, right, kernel_w, sx, dx, false);
        let (Some(out_h), Some(out_w)) = (out_h, out_w) else {
            let span = |k: usize, d: usize| d * (k - 1) + 1;
            return Err(err(ErrorKind::KernelTooLarge, "the kernel does not fit the padded input")
                .expected(format!(
                    "a padded input of at least {}x{} for this kernel",
                    span(kernel_h, dy),
                    span(kernel_w, dx)
                ))
                .given(format!("{}x{} after padding", in_h + top + bottom, in_w + left + right))
                .hint("raise the padding, shrink the kernel or lower the dilation")
                .into());
        };
        Ok(Conv2d {
            params: p.clone(),
            batch,
            in_channels,
            in_h,
            in_w,
            out_channels,
            kernel_h,
            kernel_w,
            out_h,
            out_w,
            has_bias: b.is_some(),
            cpu_tables: Default::default(),
        })
    }

    /// `[N, Cout, H', W']`
    pub fn out_shape(&self) -> Shape {
        Shape::from([self.batch, self.out_channels, self.out_h, self.out_w])
    }

    /// `[N, Cin, H, W]`
    pub fn in_shape(&self) -> Shape {
        Shape::from([self.batch, self.in_channels, self.in_h, self.in_w])
    }

    /// `[Cout, Cin/G, kH, kW]`
    pub fn weight_shape(&self) -> Shape {
        Shape::from([self.out_channels, self.group_in(), self.kernel_h, self.kernel_w])
    }

    /// The padding of this convolution as a [`Pad`] of the input's two spatial axes.
    pub fn padding_op(&self) -> Pad {
        let [top, left, bottom, right] = self.params.padding.map(|p| p as isize);
        Pad::new(&self.in_shape(), &[(0, 0), (0, 0), (top, bottom), (left, right)], self.params.padding_mode, 0.0)
            .expect("a convolution's padding was validated with the convolution")
    }

    /// Input channels each output channel sees, `Cin / G`.
    pub fn group_in(&self) -> usize {
        self.in_channels / self.params.groups
    }

    /// The input row that tap `ky` of output row `oy` reads, or `None` for a zero of the padding. With
    /// [`Conv2d::source_col`], the one indexing function ([`crate::padding`]'s) behind `forward`, `backward`,
    /// the trace, the CPU's im2col and the lessons.
    pub fn source_row(&self, oy: usize, ky: usize) -> Option<usize> {
        let p = &self.params;
        p.padding_mode.source(tap_coordinate(oy, ky, p.stride[0], p.dilation[0], p.padding[0]), self.in_h)
    }

    /// The input column that tap `kx` of output column `ox` reads, or `None` for a zero of the padding.
    pub fn source_col(&self, ox: usize, kx: usize) -> Option<usize> {
        let p = &self.params;
        p.padding_mode.source(tap_coordinate(ox, kx, p.stride[1], p.dilation[1], p.padding[1]), self.in_w)
    }

    /// The geometry the CPU's im2col path reads.
    fn cpu_geometry(&self) -> cpu::conv2d::Geometry {
        let p = &self.params;
        cpu::conv2d::Geometry {
            batch: self.batch,
            in_channels: self.in_channels,
            in_h: self.in_h,
            in_w: self.in_w,
            out_channels: self.out_channels,
            kernel_h: self.kernel_h,
            kernel_w: self.kernel_w,
            out_h: self.out_h,
            out_w: self.out_w,
            stride: p.stride,
            dilation: p.dilation,
            padding: [p.padding[0], p.padding[1]],
            padding_mode: p.padding_mode,
            groups: p.groups,
        }
    }

    /// The taps of output value `(n, co, oy, ox)`, in the order `forward` sums them: input channel, then kernel
    /// row, then kernel column.
    pub fn window(&self, n: usize, co: usize, oy: usize, ox: usize) -> impl Iterator<Item = TapIndex> + '_ {
        let group_in = self.group_in();
        let first_channel = co / (self.out_channels / self.params.groups) * group_in;
        (0..group_in).flat_map(move |cg| {
            (0..self.kernel_h).flat_map(move |ky| {
                (0..self.kernel_w).map(move |kx| {
                    let ci = first_channel + cg;
                    let pixel = self.source_row(oy, ky).zip(self.source_col(ox, kx));
                    TapIndex {
                        ci,
                        ky,
                        kx,
                        pixel,
                        x: pixel.map(|(sy, sx)| ((n * self.in_channels + ci) * self.in_h + sy) * self.in_w + sx),
                        w: ((co * group_in + cg) * self.kernel_h + ky) * self.kernel_w + kx,
                    }
                })
            })
        })
    }

    /// `y = conv2d(x, w) + b`, on `x`'s device: on the CPU as im2col and matrix products
    /// ([`cpu::conv2d::forward`]), equal to the reference up to rounding.
    pub fn forward(&self, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
        let cpu = || {
            let y = cpu::conv2d::forward(&self.cpu_geometry(), &self.cpu_tables, x.data(), w.data(), b.map(Tensor::data));
            Tensor::new(self.out_shape(), y).expect("the output fills its shape")
        };
        on_device(OP, [x, w].into_iter().chain(b), cpu, |gpu| self.forward_gpu(gpu, x, w, b))
    }

    /// The gradients of the input, the weight and the bias, for the upstream gradient `dy`.
    pub fn backward(&self, x: &Tensor, w: &Tensor, dy: &Tensor) -> Result<Conv2dGrads> {
        let (dx, dw, db) = self.gradients(x, w, dy, true)?;
        Ok(Conv2dGrads { dx: dx.expect("asked for"), dw, db })
    }

    /// The weight's and the bias's gradients only: a model's first layer, whose input (the images) needs none.
    pub fn param_grads(&self, x: &Tensor, w: &Tensor, dy: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let (_, dw, db) = self.gradients(x, w, dy, false)?;
        Ok((dw, db))
    }

    /// `∂x` (when `input`), `∂w` and `∂b`, where the tensors live; on the CPU as matrix products and col2im
    /// ([`cpu::conv2d::gradients`]).
    fn gradients(&self, x: &Tensor, w: &Tensor, dy: &Tensor, input: bool) -> Result<(Option<Tensor>, Tensor, Option<Tensor>)> {
        let cpu = || {
            let (dx, dw, db) = cpu::conv2d::gradients(&self.cpu_geometry(), &self.cpu_tables, x.data(), w.data(), dy.data(), input);
            (
                dx.map(|dx| Tensor::new(self.in_shape(), dx).expect("dx has x's shape")),
                Tensor::new(self.weight_shape(), dw).expect("dw has w's shape"),
                self.has_bias.then(|| Tensor::new([self.out_channels], db).expect("one per channel")),
            )
        };
        on_device(OP, [x, w, dy], cpu, |gpu| self.gradients_gpu(gpu, x, w, dy, input))
    }

    /// The reference forward: each output value summed tap by tap, in the order of [`Conv2d::window`].
    pub fn reference_forward(&self, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Tensor {
        let (x, w) = (x.data(), w.data());
        let mut y = Tensor::zeros(self.out_shape());
        let mut out = y.data_mut().iter_mut();
        for n in 0..self.batch {
            for co in 0..self.out_channels {
                let bias = b.map_or(0.0, |b| b.data()[co]);
                for oy in 0..self.out_h {
                    for ox in 0..self.out_w {
                        let mut sum = 0.0;
                        for tap in self.window(n, co, oy, ox) {
                            if let Some(i) = tap.x {
                                sum += x[i] * w[tap.w];
                            }
                        }
                        // Every output slot is visited once, in order.
                        if let Some(slot) = out.next() {
                            *slot = sum + bias;
                        }
                    }
                }
            }
        }
        y
    }

    /// The reference backward: every product of the forward sends `dy·w` to the pixel it read, `dy·x̃` to its
    /// weight, and `dy` to the bias.
    #[allow(clippy::needless_range_loop)] // the loops name the output's axes, as the math does
    pub fn reference_backward(&self, x: &Tensor, w: &Tensor, dy: &Tensor) -> Conv2dGrads {
        let mut dx = Tensor::zeros(x.shape().clone());
        let mut dw = Tensor::zeros(w.shape().clone());
        let mut db = Tensor::zeros([self.out_channels]);
        let (x, w, g) = (x.data(), w.data(), dy.data());
        let (dx_out, dw_out, db_out) = (dx.data_mut(), dw.data_mut(), db.data_mut());
        let mut index = 0;
        for n in 0..self.batch {
            for co in 0..self.out_channels {
                for oy in 0..self.out_h {
                    for ox in 0..self.out_w {
                        let g = g[index];
                        index += 1;
                        db_out[co] += g;
                        for tap in self.window(n, co, oy, ox) {
                            if let Some(i) = tap.x {
                                dx_out[i] += g * w[tap.w];
                                dw_out[tap.w] += g * x[i];
                            }
                        }
                    }
                }
            }
        }
        Conv2dGrads { dx, dw, db: self.has_bias.then_some(db) }
    }

    /// Everything that goes into output value `(n, co, oy, ox)`, tap by tap, for a lesson to show.
    /// `output` is computed exactly as the reference computes it, so the two are equal to the last bit.
    #[allow(clippy::too_many_arguments)] // the three tensors and the cell's four coordinates
    pub fn trace(&self, x: &Tensor, w: &Tensor, b: Option<&Tensor>, n: usize, co: usize, oy: usize, ox: usize) -> Conv2dTrace {
        let taps: Vec<Tap> = self
            .window(n, co, oy, ox)
            .map(|t| {
                let input = t.x.map_or(0.0, |i| x.data()[i]);
                let weight = w.data()[t.w];
                Tap { ci: t.ci, ky: t.ky, kx: t.kx, pixel: t.pixel, input, weight, product: input * weight }
            })
            .collect();
        let mut sum = 0.0;
        for tap in taps.iter().filter(|t| t.pixel.is_some()) {
            sum += tap.product;
        }
        let bias = b.map_or(0.0, |b| b.data()[co]);
        Conv2dTrace { n, co, oy, ox, taps, sum, bias, output: sum + bias }
    }

    /// The convolution as a matrix: output pixel `(oy, ox)` of channel `co` of image 0 is row `oy·W' + ox`, input
    /// pixel `(ci, y, x)` is column `(ci·H + y)·W + x`, and entry `(row, column)` lists the kernel taps
    /// `(ci, ky, kx)` that multiply that input pixel for that output (zero padding reads none; border and reflection
    /// can read one pixel with several taps, whose weights then add up). Almost every entry is empty, and the
    /// same weight appears in many rows: its weights are tied.
    pub fn as_matrix(&self, co: usize) -> Vec<Vec<Vec<(usize, usize, usize)>>> {
        let cols = self.in_channels * self.in_h * self.in_w;
        let mut matrix = vec![vec![Vec::new(); cols]; self.out_h * self.out_w];
        for oy in 0..self.out_h {
            for ox in 0..self.out_w {
                for tap in self.window(0, co, oy, ox) {
                    if let Some((y, x)) = tap.pixel {
                        matrix[oy * self.out_w + ox][(tap.ci * self.in_h + y) * self.in_w + x].push((tap.ci, tap.ky, tap.kx));
                    }
                }
            }
        }
        matrix
    }

}

uniforms! {
    /// The `Params` of `shaders/conv2d.wgsl`.
    pub struct Uniforms {
        batch: u32, in_channels: u32, in_h: u32, in_w: u32,
        out_channels: u32, kernel_h: u32, kernel_w: u32, out_h: u32,
        out_w: u32, stride_y: u32, stride_x: u32, dilation_y: u32,
        dilation_x: u32, pad_top: u32, pad_left: u32, groups: u32,
        padding_mode: u32, has_bias: u32, total: u32, pad_bottom: u32,
        pad_right: u32,
    }
}

impl Conv2d {
    fn uniforms(&self) -> Uniforms {
        let p = &self.params;
        let u = |v: usize| v as u32;
        Uniforms {
            batch: u(self.batch),
            in_channels: u(self.in_channels),
            in_h: u(self.in_h),
            in_w: u(self.in_w),
            out_channels: u(self.out_channels),
            kernel_h: u(self.kernel_h),
            kernel_w: u(self.kernel_w),
            out_h: u(self.out_h),
            out_w: u(self.out_w),
            stride_y: u(p.stride[0]),
            stride_x: u(p.stride[1]),
            dilation_y: u(p.dilation[0]),
            dilation_x: u(p.dilation[1]),
            pad_top: u(p.padding[0]),
            pad_left: u(p.padding[1]),
            groups: u(p.groups),
            padding_mode: p.padding_mode.code(),
            has_bias: u(self.has_bias as usize),
            total: u(self.out_shape().numel()),
            pad_bottom: u(p.padding[2]),
            pad_right: u(p.padding[3]),
        }
    }

    /// The im2col layout of the GPU path, when it applies: `[N, Cin·kH·kW, H'·W']`, one column per window.
    fn column_shape(&self, gpu: &Gpu) -> Option<Shape> {
        let shape = Shape::from([self.batch, self.in_channels * self.kernel_h * self.kernel_w, self.out_h * self.out_w]);
        (self.params.groups == 1 && gpu.fits_in_binding(shape.numel())).then_some(shape)
    }

    /// Records the im2col columns of `x` on the GPU.
    fn columns_gpu(&self, gpu: &Gpu, x: &Tensor, shape: Shape) -> Tensor {
        launch(gpu, &COLUMNS, &self.uniforms(), [x], shape)
    }

    /// `y[n] = W · cols[n] + b`: the forward pass as a matrix product over the batch. `W` is `[Cout, taps]` for
    /// every image (batch stride 0), the bias a column broadcast along each row.
    fn forward_product(&self, taps: usize) -> StridedMatmul {
        let positions = self.out_h * self.out_w;
        StridedMatmul {
            m: self.out_channels,
            n: positions,
            k: taps,
            batch_dims: [1, 1, 1, self.batch],
            a: Operand { row_stride: taps, col_stride: 1, batch_strides: [0; 4] },
            b: Operand { row_stride: positions, col_stride: 1, batch_strides: [0, 0, 0, taps * positions] },
            alpha: 1.0,
            beta: 1.0,
            c: self.has_bias.then_some((1, 0)),
            sum_batches: false,
        }
    }

    /// As im2col and the tiled matrix product when the columns fit in a buffer and there are no groups, else one
    /// invocation per output value.
    fn forward_gpu(&self, gpu: &Gpu, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Tensor {
        if let Some(shape) = self.column_shape(gpu) {
            let taps = shape.dims()[1];
            let cols = self.columns_gpu(gpu, x, shape);
            return self.forward_product(taps).run_gpu(gpu, w, &cols, b, self.out_shape());
        }
        let y = Tensor::empty_on(gpu, self.out_shape());
        let bias = b.map_or(gpu.placeholder(), Tensor::buffer);
        gpu.dispatch(&FORWARD, &self.uniforms(), [x.buffer(), w.buffer(), bias, y.buffer()], y.numel());
        y
    }

    /// `∂x` (when `input`), `∂w` and `∂b` on the GPU. The input gradient is gathered on the padded input (each
    /// padded pixel sums `dy·w` over the windows that read it) and then folded back onto the pixels the padding
    /// copied ([`Pad::backward`]). With im2col (see [`Conv2d::forward_gpu`]) the sums are matrix products:
    /// `∂cols[n] = Wᵀ · ∂y[n]`, gathered back onto the padded input, and `∂W = Σ_n ∂y[n] · cols[n]ᵀ` (one product
    /// that sums over the images).
    fn gradients_gpu(&self, gpu: &Gpu, x: &Tensor, w: &Tensor, dy: &Tensor, input: bool) -> (Option<Tensor>, Tensor, Option<Tensor>) {
        let u = self.uniforms();
        let pad = self.padding_op();
        let dx_padded = input.then(|| Tensor::empty_on(gpu, pad.out_shape.clone()));
        let dw = match self.column_shape(gpu) {
            Some(shape) => {
                let (taps, positions) = (shape.dims()[1], shape.dims()[2]);
                let forward = self.forward_product(taps);
                // ∂cols[n] [taps, positions] = Wᵀ [taps, Cout] · ∂y[n] [Cout, positions]
                let grad_columns = StridedMatmul {
                    m: taps,
                    n: positions,
                    k: self.out_channels,
                    a: forward.a.transposed(),
                    b: Operand { row_stride: positions, col_stride: 1, batch_strides: [0, 0, 0, self.out_channels * positions] },
                    c: None,
                    beta: 0.0,
                    ..forward.clone()
                };
                if let Some(dx_padded) = &dx_padded {
                    let dcols = grad_columns.run_gpu(gpu, w, dy, None, shape.clone());
                    gpu.dispatch(&GRAD_INPUT_FROM_COLUMNS, &u, [dx_padded.buffer(), dcols.buffer()], dx_padded.numel());
                }
                // ∂W [Cout, taps] = Σ_n ∂y[n] [Cout, positions] · cols[n]ᵀ [positions, taps], summed over the images
                // in the product when the sum is short; otherwise one product per image, then their sum. (Lavapipe
                // stops an invocation's loops after 65,535 iterations, and on a real GPU a very long sum is one slow
                // thread.)
                let in_one_product = self.batch * positions <= MAX_SUMMED_TERMS;
                let grad_weight = StridedMatmul {
                    m: self.out_channels,
                    n: taps,
                    k: positions,
                    a: grad_columns.b,
                    b: forward.b.transposed(),
                    c: None,
                    beta: 0.0,
                    sum_batches: in_one_product,
                    ..forward
                };
                let cols = self.columns_gpu(gpu, x, shape);
                if in_one_product {
                    grad_weight.run_gpu(gpu, dy, &cols, None, self.weight_shape())
                } else {
                    let per_image = Shape::from([self.batch, self.out_channels, taps]);
                    let dw = grad_weight.run_gpu(gpu, dy, &cols, None, per_image.clone());
                    let sum = SumTo { from: per_image, to: Shape::from([self.out_channels, taps]), scale: 1.0 };
                    sum.gpu_forward(gpu, &dw).reshaped(self.weight_shape()).expect("the same values")
                }
            }
            None => {
                if let Some(dx_padded) = &dx_padded {
                    gpu.dispatch(&GRAD_INPUT_PADDED, &u, [w.buffer(), dy.buffer(), dx_padded.buffer()], dx_padded.numel());
                }
                launch(gpu, &GRAD_WEIGHT, &u, [x, dy], self.weight_shape())
            }
        };
        let dx = dx_padded.map(|dx_padded| pad.gpu_backward(gpu, x, &dx_padded));
        let db = self.has_bias.then(|| {
            let db = Tensor::empty_on(gpu, [self.out_channels]);
            gpu.dispatch_grid(&GRAD_BIAS, &u, [dy.buffer(), db.buffer()], gpu.one_group_each(self.out_channels));
            db
        });
        (dx, dw, db)
    }
}

kernels! {
    shader "conv2d", uniforms Uniforms;
    /// One invocation per output value (grouped convolutions, or columns too large for a buffer).
    FORWARD = forward(x: 1, w: 2, b: 3, y: 4);
    /// im2col: one invocation per column value.
    COLUMNS = columns(x: 1, cols: 9);
    GRAD_INPUT_FROM_COLUMNS = grad_input_from_columns(dx_padded: 6, cols: 9);
    GRAD_INPUT_PADDED = grad_input_padded(w: 2, dy: 5, dx_padded: 6);
    GRAD_WEIGHT = grad_weight(x: 1, dy: 5, dw: 7);
    GRAD_BIAS = grad_bias(dy: 5, db: 8);
}

/// Where one tap of a window reads, as indices: the step shared by the reference loops, the trace and the CPU's
/// im2col.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TapIndex {
    /// Input channel.
    pub ci: usize,
    /// Kernel row.
    pub ky: usize,
    /// Kernel column.
    pub kx: usize,
    /// The input pixel `(row, column)` read, or `None` for a zero of the padding.
    pub pixel: Option<(usize, usize)>,
    /// Flat index into `x`, or `None` for a zero of the padding.
    pub x: Option<usize>,
    /// Flat index into `w`.
    pub w: usize,
}

/// One multiply of a window, with its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Tap {
    /// Input channel.
    pub ci: usize,
    /// Kernel row.
    pub ky: usize,
    /// Kernel column.
    pub kx: usize,
    /// The input pixel `(row, column)` read, or `None` for a zero of the padding.
    pub pixel: Option<(usize, usize)>,
    /// The input value (0 for zero padding).
    pub input: f32,
    /// The kernel weight.
    pub weight: f32,
    /// `input · weight`
    pub product: f32,
}

/// How one output value was computed.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dTrace {
    /// Batch index.
    pub n: usize,
    /// Output channel.
    pub co: usize,
    /// Output row.
    pub oy: usize,
    /// Output column.
    pub ox: usize,
    /// The multiplies, in summation order.
    pub taps: Vec<Tap>,
    /// The sum of the products.
    pub sum: f32,
    /// The bias added (0 without one).
    pub bias: f32,
    /// `sum + bias`: the output value.
    pub output: f32,
}

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for Conv2d {
    fn outputs(&self, x: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        let b = x.get(2).copied();
        Ok(vec![path.run(|| self.reference_forward(x[0], x[1], b), || self.forward(x[0], x[1], b))?])
    }

    fn gradients(&self, x: &[&Tensor], _: &[&Tensor], dy: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        let grads = path.run(|| self.reference_backward(x[0], x[1], dy[0]), || self.backward(x[0], x[1], dy[0]))?;
        let mut out = vec![Some(grads.dx), Some(grads.dw)];
        if x.len() > 2 {
            out.push(grads.db);
        }
        Ok(out)
    }
}

/// A convolution whose backward skips the input's gradient ([`Conv2d::param_grads`], a model's first layer), so
/// that the checks cover that path too.
#[cfg(any(test, feature = "check"))]
struct FirstLayer(Conv2d);

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for FirstLayer {
    fn outputs(&self, x: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        crate::ops::dispatch::Op::outputs(&self.0, x, path)
    }

    fn gradients(&self, x: &[&Tensor], _: &[&Tensor], dy: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        let reference = || {
            let grads = self.0.reference_backward(x[0], x[1], dy[0]);
            (grads.dw, grads.db)
        };
        let (dw, db) = path.run(reference, || self.0.param_grads(x[0], x[1], dy[0]))?;
        let mut out = vec![None, Some(dw)];
        if x.len() > 2 {
            out.push(db);
        }
        Ok(out)
    }
}

/// Random convolutions over strides, dilations, asymmetric padding, every padding mode, groups and missing biases;
/// a few of them also without the input's gradient; the lessons' same-size convolutions and the digits model's
/// small images (the CPU's two im2col paths, on images and channels enough to be split between threads).
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    use crate::ops::dispatch::Example;
    let mut out = Vec::new();
    while out.len() < 24 {
        let groups = 1 + rng.below(3);
        let (in_channels, out_channels) = (groups * (1 + rng.below(3)), groups * (1 + rng.below(3)));
        let x = Shape::from([1 + rng.below(2), in_channels, 1 + rng.below(9), 1 + rng.below(9)]);
        let w = Shape::from([out_channels, in_channels / groups, 1 + rng.below(4), 1 + rng.below(4)]);
        let params = Conv2dParams {
            stride: [1 + rng.below(3), 1 + rng.below(3)],
            dilation: [1 + rng.below(3), 1 + rng.below(3)],
            padding: [rng.below(4), rng.below(4), rng.below(4), rng.below(4)],
            padding_mode: PaddingMode::ALL[rng.below(4)],
            groups,
        };
        let b = (rng.below(4) != 0).then(|| Shape::from([out_channels]));
        // Redraw what the op refuses (a kernel larger than the padded input, reflection wider than the image).
        let Ok(op) = Conv2d::new(&params, &x, &w, b.as_ref()) else { continue };
        let mut inputs = vec![Tensor::randn(x.clone(), rng), Tensor::randn(w.clone(), rng)];
        inputs.extend(b.map(|b| Tensor::randn(b, rng)));
        let name = format!("conv2d {params:?} x {x} w {w}");
        out.push(match out.len() % 6 {
            5 => Example::new(format!("{name}, without the input's gradient"), FirstLayer(op), inputs),
            _ => Example::new(name, op, inputs),
        });
    }
    let wide = [
        ("lesson 3x3 same-size, reflection", Conv2dParams::default().padding(1).padding_mode(PaddingMode::Reflection), [2, 3, 36, 20], [4, 3, 3, 3]),
        ("stride 1, 24 channels of 40x40", Conv2dParams { padding: [1, 1, 2, 0], ..Default::default() }, [2, 24, 40, 40], [4, 24, 3, 3]),
        ("the digits model's second convolution", Conv2dParams::default().padding(1).stride(2), [64, 16, 8, 8], [32, 16, 3, 3]),
    ];
    for (name, params, x, w) in wide {
        let (x, w) = (Tensor::randn(x, rng), Tensor::randn(w, rng));
        let op = Conv2d::new(&params, x.shape(), w.shape(), None).expect("valid");
        // Sums of a thousand and more products each, added in another order by im2col and the products.
        out.push(Example::new(format!("conv2d, {name}"), op, vec![x, w]).finite_differences(None).tolerance(1e-3, 1e-3));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn conv(p: &Conv2dParams, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Tensor {
        Conv2d::new(p, x.shape(), w.shape(), b.map(Tensor::shape)).unwrap().reference_forward(x, w, b)
    }

    #[test]
    fn a_3x3_kernel_is_a_multiply_sum_of_each_window() {
        // x = 0..16 as a 4x4 image, a kernel that picks the centre plus the top-left corner.
        let x = Tensor::from_fn([1, 1, 4, 4], |i| i as f32);
        let mut w = Tensor::zeros([1, 1, 3, 3]);
        w.data_mut()[0] = 1.0;
        w.data_mut()[4] = 1.0;
        let y = conv(&Conv2dParams::default(), &x, &w, Some(&Tensor::new([1], vec![0.5]).unwrap()));
        assert_eq!(y.shape(), &Shape::from([1, 1, 2, 2]));
        // Window at (0, 0): corner x[0,0] = 0, centre x[1,1] = 5 → 5.5.
        assert_eq!(y.data(), &[5.5, 7.5, 13.5, 15.5]);
    }

    #[test]
    fn padding_modes_read_the_documented_pixels() {
        // A 1x3 image [1 2 3] and a kernel that reads only its left tap, padding 1: output[0] reads x̃[-1].
        let x = Tensor::new([1, 1, 1, 3], vec![1.0, 2.0, 3.0]).unwrap();
        let w = Tensor::new([1, 1, 1, 3], vec![1.0, 0.0, 0.0]).unwrap();
        let p = |mode| Conv2dParams { padding: [0, 1, 0, 1], padding_mode: mode, ..Default::default() };
        assert_eq!(conv(&p(PaddingMode::Zeros), &x, &w, None).data(), &[0.0, 1.0, 2.0]);
        assert_eq!(conv(&p(PaddingMode::Border), &x, &w, None).data(), &[1.0, 1.0, 2.0]);
        assert_eq!(conv(&p(PaddingMode::Reflection), &x, &w, None).data(), &[2.0, 1.0, 2.0]);
    }

    #[test]
    fn stride_two_halves_height_and_width() {
        let op = Conv2d::new(&Conv2dParams::default().padding(1).stride(2), &[1, 3, 64, 48].into(), &[8, 3, 3, 3].into(), None)
            .unwrap();
        assert_eq!(op.out_shape(), Shape::from([1, 8, 32, 24]));
    }

    #[test]
    fn groups_keep_channels_apart() {
        // Depthwise: channel 1's output must not depend on channel 0's input.
        let mut rng = Rng::new(1);
        let p = Conv2dParams::default().groups(2).padding(1);
        let w = Tensor::randn([2, 1, 3, 3], &mut rng);
        let x = Tensor::randn([1, 2, 5, 5], &mut rng);
        let mut x2 = x.clone();
        x2.data_mut()[..25].iter_mut().for_each(|v| *v += 1.0);
        let (y, y2) = (conv(&p, &x, &w, None), conv(&p, &x2, &w, None));
        assert_ne!(y.data()[..25], y2.data()[..25]);
        assert_eq!(y.data()[25..], y2.data()[25..]);
    }

    #[test]
    fn the_trace_equals_forward_to_the_last_bit() {
        let mut rng = Rng::new(2);
        for mode in PaddingMode::ALL {
            let p = Conv2dParams::default().padding(2).dilation(2).stride(2).padding_mode(mode);
            let (x, w, b) =
                (Tensor::randn([2, 3, 7, 6], &mut rng), Tensor::randn([4, 3, 3, 3], &mut rng), Tensor::randn([4], &mut rng));
            let op = Conv2d::new(&p, x.shape(), w.shape(), Some(b.shape())).unwrap();
            let y = op.reference_forward(&x, &w, Some(&b));
            let (h, wd) = (op.out_h, op.out_w);
            for (n, co, oy, ox) in [(0, 0, 0, 0), (1, 3, h - 1, wd - 1), (1, 2, 1, 0)] {
                let t = op.trace(&x, &w, Some(&b), n, co, oy, ox);
                assert_eq!(t.output.to_bits(), y.data()[((n * 4 + co) * h + oy) * wd + ox].to_bits());
                assert_eq!(t.taps.len(), 27);
            }
        }
    }

    #[test]
    fn the_matrix_view_times_the_flattened_input_is_the_convolution() {
        let mut rng = Rng::new(23);
        for mode in PaddingMode::ALL {
            let p = Conv2dParams::default().padding(1).stride(2).padding_mode(mode);
            let (x, w) = (Tensor::randn([1, 2, 5, 4], &mut rng), Tensor::randn([3, 2, 3, 3], &mut rng));
            let op = Conv2d::new(&p, x.shape(), w.shape(), None).unwrap();
            let y = op.reference_forward(&x, &w, None);
            for co in 0..3 {
                let matrix = op.as_matrix(co);
                for (row, entries) in matrix.iter().enumerate() {
                    let product: f32 = entries
                        .iter()
                        .enumerate()
                        .map(|(col, taps)| taps.iter().map(|&(ci, ky, kx)| w.data()[((co * 2 + ci) * 3 + ky) * 3 + kx]).sum::<f32>() * x.data()[col])
                        .sum();
                    let want = y.data()[co * op.out_h * op.out_w + row];
                    assert!((product - want).abs() < 1e-5 * (1.0 + want.abs()), "{mode:?} channel {co} row {row}");
                }
                // Most of the matrix is zeros.
                let filled = matrix.iter().flatten().filter(|t| !t.is_empty()).count();
                assert!(filled * 2 < matrix.len() * matrix[0].len());
            }
        }
    }

    /// Whether two tensors agree to `tol` relative.
    fn close(a: &Tensor, b: &Tensor, tol: f32) -> bool {
        a.data().iter().zip(b.data()).all(|(x, y)| (x - y).abs() < tol * (1.0 + y.abs()))
    }

    #[test]
    fn the_cpu_s_im2col_paths_equal_the_reference_loops() {
        // Both of the CPU's paths (image by image for large images, the whole batch through gather tables for
        // small ones), with strides, dilations, asymmetric padding and groups in every padding mode.
        let mut rng = Rng::new(22);
        for mode in PaddingMode::ALL {
            let p = Conv2dParams { padding: [2, 1, 0, 2], ..Conv2dParams::default().stride(2).dilation(2).padding_mode(mode).groups(2) };
            for size in [7, 40] {
                let (x, w, b) = (Tensor::randn([3, 4, size, 6 + size / 2], &mut rng), Tensor::randn([6, 2, 3, 2], &mut rng), Tensor::randn([6], &mut rng));
                let op = Conv2d::new(&p, x.shape(), w.shape(), Some(b.shape())).unwrap();
                assert_eq!(cpu::conv2d::per_image(&op.cpu_geometry()), size == 40);
                let dy = Tensor::randn(op.out_shape(), &mut rng);
                assert!(close(&op.forward(&x, &w, Some(&b)).unwrap(), &op.reference_forward(&x, &w, Some(&b)), 1e-4), "{mode:?} forward");
                let (fast, slow) = (op.backward(&x, &w, &dy).unwrap(), op.reference_backward(&x, &w, &dy));
                assert!(close(&fast.dx, &slow.dx, 1e-4) && close(&fast.dw, &slow.dw, 1e-4), "{mode:?} backward");
                assert!(close(fast.db.as_ref().unwrap(), slow.db.as_ref().unwrap(), 1e-4), "{mode:?} bias");
                // A first layer's gradients skip ∂x and are the same numbers.
                let (dw, db) = op.param_grads(&x, &w, &dy).unwrap();
                assert_eq!((dw.data(), db.as_ref().unwrap().data()), (fast.dw.data(), fast.db.as_ref().unwrap().data()), "{mode:?} without ∂x");
            }
        }
    }

    #[test]
    fn same_size_outputs_at_stride_one_equal_the_reference_loops_in_every_padding_mode() {
        // The lessons' and the bench's convolutions: stride 1 across and an output as wide as the input, image by
        // image. Every padding mode (reflection and replication read rows out of order at the edges), dilation 2,
        // and a vertical stride of 2 (consecutive output rows read every other input row).
        let mut rng = Rng::new(25);
        let configs = [
            Conv2dParams::default().padding(1),
            Conv2dParams::default().padding(2).dilation(2),
            Conv2dParams { stride: [2, 1], ..Conv2dParams::default().padding(1) },
        ];
        for mode in PaddingMode::ALL {
            for p in &configs {
                let p = Conv2dParams { padding_mode: mode, ..p.clone() };
                let (x, w) = (Tensor::randn([2, 3, 36, 20], &mut rng), Tensor::randn([4, 3, 3, 3], &mut rng));
                let op = Conv2d::new(&p, x.shape(), w.shape(), None).unwrap();
                assert!(cpu::conv2d::per_image(&op.cpu_geometry()) && op.out_w == 20, "{p:?}: image by image, as wide as the input");
                assert!(close(&op.forward(&x, &w, None).unwrap(), &op.reference_forward(&x, &w, None), 1e-4), "{p:?} forward");
            }
        }
    }

    #[test]
    fn bad_parameters_are_explained_not_panicked() {
        let x: Shape = [1, 3, 4, 4].into();
        let w: Shape = [2, 3, 5, 5].into();
        let kind = |p: &Conv2dParams, x: &Shape, w: &Shape, b: Option<&Shape>| match Conv2d::new(p, x, w, b) {
            Err(crate::Error::Op(e)) => e.kind,
            other => panic!("expected an OpError, got {other:?}"),
        };
        assert_eq!(kind(&Conv2dParams::default(), &x, &w, None), ErrorKind::KernelTooLarge);
        assert_eq!(kind(&Conv2dParams::default().stride(0), &x, &[2, 3, 3, 3].into(), None), ErrorKind::Stride);
        assert_eq!(kind(&Conv2dParams::default(), &[3, 4, 4].into(), &w, None), ErrorKind::Shape);
        assert_eq!(kind(&Conv2dParams::default(), &x, &[2, 1, 3, 3].into(), None), ErrorKind::Shape);
        assert_eq!(kind(&Conv2dParams::default().groups(2), &x, &[2, 1, 3, 3].into(), None), ErrorKind::Groups);
        assert_eq!(kind(&Conv2dParams::default(), &x, &[2, 3, 3, 3].into(), Some(&[3].into())), ErrorKind::Shape);
        assert_eq!(kind(&Conv2dParams::default(), &[1, 3, 0, 4].into(), &[2, 3, 1, 1].into(), None), ErrorKind::ZeroSize);
        let reflect = Conv2dParams::default().padding(4).padding_mode(PaddingMode::Reflection);
        assert_eq!(kind(&reflect, &x, &[2, 3, 3, 3].into(), None), ErrorKind::PaddingTooWide);
        let message = Conv2d::new(&Conv2dParams::default(), &x, &w, None).unwrap_err().to_string();
        assert!(message.contains("conv2d") && message.contains("Hint"), "{message}");
    }
}
