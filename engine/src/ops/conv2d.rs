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

use crate::backend::gpu::{Gpu, GpuTensor};
use crate::backend::vector::gather_or_zero;
use crate::backend::{parallel, scratch};
use crate::backend::sgemm::{View, sgemm};
use crate::backend::{Backend, DeviceTensor};
use crate::error::{ErrorKind, OpError, Result};
use crate::ops::matmul::{Operand, StridedMatmul};
use crate::ops::pad::Pad;
use crate::ops::padding::PaddingMode;
use crate::ops::sum_to::SumTo;
use crate::shape::{Shape, window_out_len};
use crate::tensor::Tensor;
use std::sync::OnceLock;

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

/// Validates and runs a convolution on any backend: `y = conv2d(x, w) + b`.
pub fn conv2d<B: Backend>(backend: &B, x: &B::Tensor, w: &B::Tensor, b: Option<&B::Tensor>, params: &Conv2dParams) -> Result<B::Tensor> {
    let op = Conv2d::new(params, x.shape(), w.shape(), b.map(|b| b.shape()))?;
    Ok(backend.conv2d(&op, x, w, b))
}

/// The gradients of a convolution.
#[derive(Clone, Debug)]
pub struct Conv2dGrads<T> {
    /// `∂L/∂x`
    pub dx: T,
    /// `∂L/∂w`
    pub dw: T,
    /// `∂L/∂b`, when the convolution has a bias.
    pub db: Option<T>,
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
    tables: BatchTables,
}

/// [`Conv2d::batch_table`] for the input's layout (im2col's gather) and for a channel-major one (col2im's
/// scatter), kept with the op: a layer keeps its op from one step to the next, and building the tables cost
/// about as much as using them.
#[derive(Clone, Debug, Default)]
struct BatchTables {
    gather: OnceLock<Vec<u32>>,
    scatter: OnceLock<Vec<u32>>,
}

/// The tables follow from the op's other fields, so they never make two ops differ.
impl PartialEq for BatchTables {
    fn eq(&self, _: &BatchTables) -> bool {
        true
    }
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
            tables: BatchTables::default(),
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

    /// The input row that tap `ky` of output row `oy` reads, or `None` for a zero of the padding.
    /// This is the one indexing function behind `forward`, `backward`, the trace and the lessons.
    pub fn source_row(&self, oy: usize, ky: usize) -> Option<usize> {
        let i = (oy * self.params.stride[0] + ky * self.params.dilation[0]) as isize - self.params.padding[0] as isize;
        self.params.padding_mode.source(i, self.in_h)
    }

    /// The input column that tap `kx` of output column `ox` reads, or `None` for a zero of the padding.
    pub fn source_col(&self, ox: usize, kx: usize) -> Option<usize> {
        let i = (ox * self.params.stride[1] + kx * self.params.dilation[1]) as isize - self.params.padding[1] as isize;
        self.params.padding_mode.source(i, self.in_w)
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

    /// The CPU reference: `y = conv2d(x, w) + b`.
    pub fn forward(&self, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Tensor {
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

    /// The CPU reference backward: given `dy = ∂L/∂y`, the gradients of the input, weight and bias.
    pub fn backward(&self, x: &Tensor, w: &Tensor, dy: &Tensor) -> Conv2dGrads<Tensor> {
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

    /// For each kernel column `kx`: the output columns `lo..hi` whose tap reads inside the image, where input
    /// column = `ox·stride + kx·dilation − pad_left` (no padding mode involved), and every output column's source.
    fn column_plan(&self) -> Vec<(usize, usize, Vec<Option<usize>>)> {
        (0..self.kernel_w)
            .map(|kx| {
                let sources: Vec<Option<usize>> = (0..self.out_w).map(|ox| self.source_col(ox, kx)).collect();
                let direct = |ox: usize| {
                    let i = (ox * self.params.stride[1] + kx * self.params.dilation[1]) as isize - self.params.padding[1] as isize;
                    (0..self.in_w as isize).contains(&i)
                };
                let lo = (0..self.out_w).find(|&ox| direct(ox)).unwrap_or(self.out_w);
                let hi = (lo..self.out_w).take_while(|&ox| direct(ox)).last().map_or(lo, |ox| ox + 1);
                (lo, hi, sources)
            })
            .collect()
    }

    /// For each kernel row `ky` and output row `oy`: the input row the taps read, or `None` for a row of zeros.
    fn row_plan(&self) -> Vec<Option<usize>> {
        (0..self.kernel_h).flat_map(|ky| (0..self.out_h).map(move |oy| self.source_row(oy, ky))).collect()
    }

    /// Unfolds image `n`'s windows over group `g` (im2col) into `out` `[group_in·kh·kw, out_h·out_w]`: row
    /// `(cg, ky, kx)`, column `(oy, ox)` holds the value that tap reads (0 for zero padding). A convolution is then
    /// one matrix product. The input channels are shared out between threads.
    fn im2col(&self, x: &[f32], g: usize, n: usize, out: &mut [f32]) {
        let (kh, kw, ow, w) = (self.kernel_h, self.kernel_w, self.out_w, self.in_w);
        let (columns, rows) = (self.column_plan(), self.row_plan());
        let (stride, hw, plane) = (self.params.stride[1], self.out_h * ow, self.in_h * w);
        let first_plane = (n * self.in_channels + g * self.group_in()) * plane;
        parallel::for_blocks([out], kh * kw * hw, |start, [out]| {
            for (c, taps) in out.chunks_exact_mut(kh * kw * hw).enumerate() {
                let cg = start / (kh * kw * hw) + c;
                let plane = &x[first_plane + cg * plane..][..plane];
                for (tap, row) in taps.chunks_exact_mut(hw).enumerate() {
                    let (ky, (lo, hi, sources)) = (tap / kw, &columns[tap % kw]);
                    for (oy, dst) in row.chunks_exact_mut(ow).enumerate() {
                        let Some(sy) = rows[ky * self.out_h + oy] else {
                            dst.fill(0.0);
                            continue;
                        };
                        let src = &plane[sy * w..][..w];
                        // The interior reads the image directly: a copy (or strided copy) without per-pixel checks.
                        if lo < hi {
                            let first = lo * stride + (tap % kw) * self.params.dilation[1] - self.params.padding[1];
                            if stride == 1 {
                                dst[*lo..*hi].copy_from_slice(&src[first..first + (hi - lo)]);
                            } else {
                                for (d, v) in dst[*lo..*hi].iter_mut().zip(src[first..].iter().step_by(stride)) {
                                    *d = *v;
                                }
                            }
                        }
                        for ox in (0..*lo).chain(*hi..ow) {
                            dst[ox] = sources[ox].map_or(0.0, |sx| src[sx]);
                        }
                    }
                }
            }
        });
    }

    /// Folds columns `[group_in·kh·kw, out_h·out_w]` back onto image `n`'s planes of group `g` (col2im), adding
    /// each entry to the pixel its tap read: the adjoint of [`Conv2d::im2col`] (padding sends the gradient to the
    /// pixels it copied). The input channels are shared out between threads.
    fn col2im(&self, cols: &[f32], g: usize, n: usize, dx: &mut [f32]) {
        let (kh, kw, ow, w) = (self.kernel_h, self.kernel_w, self.out_w, self.in_w);
        let (columns, rows) = (self.column_plan(), self.row_plan());
        let (stride, hw, plane) = (self.params.stride[1], self.out_h * ow, self.in_h * w);
        let planes = &mut dx[(n * self.in_channels + g * self.group_in()) * plane..][..self.group_in() * plane];
        parallel::for_blocks([planes], plane, |start, [planes]| {
            for (c, channel) in planes.chunks_exact_mut(plane).enumerate() {
                let cg = start / plane + c;
                let taps = &cols[cg * kh * kw * hw..][..kh * kw * hw];
                for (tap, row) in taps.chunks_exact(hw).enumerate() {
                    let (ky, (lo, hi, sources)) = (tap / kw, &columns[tap % kw]);
                    for (oy, src) in row.chunks_exact(ow).enumerate() {
                        let Some(sy) = rows[ky * self.out_h + oy] else { continue };
                        let dst = &mut channel[sy * w..][..w];
                        if lo < hi {
                            let first = lo * stride + (tap % kw) * self.params.dilation[1] - self.params.padding[1];
                            if stride == 1 {
                                dst[first..first + (hi - lo)].iter_mut().zip(&src[*lo..*hi]).for_each(|(d, v)| *d += *v);
                            } else {
                                dst[first..].iter_mut().step_by(stride).zip(&src[*lo..*hi]).for_each(|(d, v)| *d += *v);
                            }
                        }
                        for ox in (0..*lo).chain(*hi..ow) {
                            if let Some(sx) = sources[ox] {
                                dst[sx] += src[ox];
                            }
                        }
                    }
                }
            }
        });
    }

    /// For every tap `(ky, kx)` and every column `(n, oy, ox)` of the batch: the offset of the pixel it reads,
    /// counted from the same channel's plane in image 0 (images `image` values apart), or `u32::MAX` for a zero of
    /// the padding. im2col of the whole batch is then one gather per row, and col2im one scatter per row.
    fn batch_table(&self, image: usize) -> Vec<u32> {
        let (hw, columns) = (self.out_h * self.out_w, self.batch * self.out_h * self.out_w);
        let mut table = Vec::with_capacity(self.kernel_h * self.kernel_w * columns);
        for ky in 0..self.kernel_h {
            for kx in 0..self.kernel_w {
                let mut in_image = Vec::with_capacity(hw);
                for oy in 0..self.out_h {
                    for ox in 0..self.out_w {
                        let source = self.source_row(oy, ky).zip(self.source_col(ox, kx));
                        in_image.push(source.map_or(u32::MAX, |(sy, sx)| (sy * self.in_w + sx) as u32));
                    }
                }
                for n in 0..self.batch {
                    let shift = (n * image) as u32;
                    table.extend(in_image.iter().map(|&o| if o == u32::MAX { o } else { o + shift }));
                }
            }
        }
        table
    }

    /// The table of [`Conv2d::im2col_batch`], for `[N, Cin, H, W]` images.
    fn gather_table(&self) -> &[u32] {
        self.tables.gather.get_or_init(|| self.batch_table(self.in_channels * self.in_h * self.in_w))
    }

    /// The table of [`Conv2d::col2im_batch`], for its channel-major `[Cin, N, H, W]` gradient.
    fn scatter_table(&self) -> &[u32] {
        self.tables.scatter.get_or_init(|| self.batch_table(self.in_h * self.in_w))
    }

    /// im2col of every image of group `g` at once: row `(cg, ky, kx)`, column `(n, oy, ox)`, through
    /// [`Conv2d::batch_table`] for `[N, Cin, H, W]` images. The rows are split across threads.
    fn im2col_batch(&self, x: &[f32], g: usize, table: &[u32], cols: &mut [f32]) {
        let (taps, plane, columns) = (self.kernel_h * self.kernel_w, self.in_h * self.in_w, self.batch * self.out_h * self.out_w);
        parallel::for_blocks([cols], columns, |start, [rows]| {
            for (r, row) in rows.chunks_exact_mut(columns).enumerate() {
                let (cg, tap) = ((start / columns + r) / taps, (start / columns + r) % taps);
                // From channel cg's plane in image 0 on: the table's offsets reach the same plane in image n.
                let src = &x[(g * self.group_in() + cg) * plane..];
                gather_or_zero(src, &table[tap * columns..][..columns], row);
            }
        });
    }

    /// col2im of every image of group `g` at once, the adjoint of [`Conv2d::im2col_batch`]: each entry of the
    /// columns is added to the pixel its tap read. `dxc` is the group's input gradient channel by channel,
    /// `[group_in, N, H, W]` (so that each channel is one block and the channels are split across threads), and
    /// `table` is [`Conv2d::batch_table`] for that layout. Each input value receives its taps in the same order
    /// however many threads there are.
    fn col2im_batch(&self, cols: &[f32], table: &[u32], dxc: &mut [f32]) {
        let (taps, columns) = (self.kernel_h * self.kernel_w, self.batch * self.out_h * self.out_w);
        let channel = self.batch * self.in_h * self.in_w;
        parallel::for_blocks([dxc], channel, |start, [channels]| {
            for (c, dst) in channels.chunks_exact_mut(channel).enumerate() {
                dst.fill(0.0);
                let cg = start / channel + c;
                for tap in 0..taps {
                    let row = &cols[(cg * taps + tap) * columns..][..columns];
                    for (&v, &o) in row.iter().zip(&table[tap * columns..][..columns]) {
                        // The padding's offset, u32::MAX, lies past the planes: it reads a zero and sends nothing.
                        if let Some(d) = dst.get_mut(o as usize) {
                            *d += v;
                        }
                    }
                }
            }
        });
    }

    /// Large images go through the matrix product one image at a time (its columns stay in cache); small ones
    /// (the digits' 8x8 down to 2x2) all at once, so that each product is large enough to be fast. (A batch
    /// whose offsets would not fit the 32-bit gather tables also goes image by image.)
    fn per_image(&self) -> bool {
        self.out_h * self.out_w >= 256 || self.in_shape().numel() >= u32::MAX as usize
    }

    /// The CPU backend's forward: im2col and matrix products. Equal to [`Conv2d::forward`] up to rounding (the
    /// sums run in another order).
    pub fn forward_fast(&self, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Tensor {
        let (groups, group_out) = (self.params.groups, self.out_channels / self.params.groups);
        let k = self.group_in() * self.kernel_h * self.kernel_w;
        let hw = self.out_h * self.out_w;
        let mut y = if self.per_image() {
            let mut y = vec![0.0; self.out_shape().numel()];
            scratch::with_buffers([k * hw], |[cols]| {
                for n in 0..self.batch {
                    for g in 0..groups {
                        self.im2col(x.data(), g, n, cols);
                        let out = (n * self.out_channels + g * group_out) * hw;
                        sgemm(group_out, k, hw, 1.0, View::rows(w.data(), g * group_out * k, k), View::rows(cols, 0, hw), 0.0, &mut y, out, hw);
                    }
                }
            });
            y
        } else {
            let columns = self.batch * hw;
            scratch::with_buffers([k * columns, self.out_channels * columns], |[cols, product]| {
                for g in 0..groups {
                    self.im2col_batch(x.data(), g, self.gather_table(), cols);
                    let w = View::rows(w.data(), g * group_out * k, k);
                    sgemm(group_out, k, columns, 1.0, w, View::rows(cols, 0, columns), 0.0, product, g * group_out * columns, columns);
                }
                // product is [Cout, (n, p)]; y is [n, Cout, p]. (Runs of a few values: copied in a loop, not by a
                // call to memcpy per run.)
                let mut y = Vec::with_capacity(self.out_shape().numel());
                for n in 0..self.batch {
                    for co in 0..self.out_channels {
                        y.extend(product[co * columns + n * hw..][..hw].iter().copied());
                    }
                }
                y
            })
        };
        if let Some(b) = b {
            for (i, plane) in y.chunks_mut(hw).enumerate() {
                let bias = b.data()[i % self.out_channels];
                plane.iter_mut().for_each(|v| *v += bias);
            }
        }
        Tensor::new(self.out_shape(), y).expect("the output fills its shape")
    }

    /// The CPU backend's backward: `∂w = ∂y·colsᵀ` and `∂cols = wᵀ·∂y` as matrix products, then the columns folded
    /// back onto the input (col2im).
    pub fn backward_fast(&self, x: &Tensor, w: &Tensor, dy: &Tensor) -> Conv2dGrads<Tensor> {
        let (dx, dw, db) = self.gradients_fast(x, w, dy, true);
        Conv2dGrads { dx: Tensor::new(self.in_shape(), dx.expect("asked for")).expect("dx has x's shape"), dw, db }
    }

    /// [`Conv2d::backward_fast`] without the input's gradient (a model's first layer): `(∂w, ∂b)`.
    pub fn param_grads_fast(&self, x: &Tensor, w: &Tensor, dy: &Tensor) -> (Tensor, Option<Tensor>) {
        let (_, dw, db) = self.gradients_fast(x, w, dy, false);
        (dw, db)
    }

    /// `∂x` (when `input`), `∂w` and `∂b`.
    fn gradients_fast(&self, x: &Tensor, w: &Tensor, dy: &Tensor, input: bool) -> (Option<Vec<f32>>, Tensor, Option<Tensor>) {
        let (groups, group_out) = (self.params.groups, self.out_channels / self.params.groups);
        let k = self.group_in() * self.kernel_h * self.kernel_w;
        let (hw, plane) = (self.out_h * self.out_w, self.in_h * self.in_w);
        let mut dw = vec![0.0; self.weight_shape().numel()];
        let db: Vec<f32> = (0..self.out_channels)
            .map(|co| (0..self.batch).map(|n| dy.data()[(n * self.out_channels + co) * hw..][..hw].iter().sum::<f32>()).sum())
            .collect();
        let dx = if self.per_image() {
            let mut dx = input.then(|| vec![0.0; self.in_shape().numel()]);
            scratch::with_buffers([k * hw, k * hw], |[cols, dcols]| {
                for n in 0..self.batch {
                    for g in 0..groups {
                        self.im2col(x.data(), g, n, cols);
                        // Image n's ∂y for group g is already a [group_out, hw] matrix inside dy.
                        let dy_view = View::rows(dy.data(), (n * self.out_channels + g * group_out) * hw, hw);
                        sgemm(group_out, hw, k, 1.0, dy_view, View::rows(cols, 0, hw).t(), 1.0, &mut dw, g * group_out * k, k);
                        if let Some(dx) = &mut dx {
                            sgemm(k, group_out, hw, 1.0, View::rows(w.data(), g * group_out * k, k).t(), dy_view, 0.0, dcols, 0, hw);
                            self.col2im(dcols, g, n, dx);
                        }
                    }
                }
            });
            dx
        } else {
            let columns = self.batch * hw;
            // Only what the input's gradient needs when it is asked for: the channel-major table, ∂cols, ∂x.
            let scatter = input.then(|| self.scatter_table());
            let (dcols, dxc) = if input { (k * columns, self.in_shape().numel()) } else { (0, 0) };
            scratch::with_buffers([k * columns, self.out_channels * columns, dcols, dxc], |[cols, dy_matrix, dcols, dxc]| {
                // dy as [Cout, (n, p)], the layout of the forward product.
                for co in 0..self.out_channels {
                    for n in 0..self.batch {
                        let src = (n * self.out_channels + co) * hw;
                        let run = dy_matrix[co * columns + n * hw..][..hw].iter_mut().zip(&dy.data()[src..src + hw]);
                        run.for_each(|(d, &v)| *d = v);
                    }
                }
                for g in 0..groups {
                    self.im2col_batch(x.data(), g, self.gather_table(), cols);
                    let dy_view = View::rows(dy_matrix, g * group_out * columns, columns);
                    sgemm(group_out, columns, k, 1.0, dy_view, View::rows(cols, 0, columns).t(), 0.0, &mut dw, g * group_out * k, k);
                    if let Some(scatter) = scatter {
                        sgemm(k, group_out, columns, 1.0, View::rows(w.data(), g * group_out * k, k).t(), dy_view, 0.0, dcols, 0, columns);
                        let group = self.group_in() * self.batch * plane;
                        self.col2im_batch(dcols, scatter, &mut dxc[g * group..][..group]);
                    }
                }
                // dxc is [Cin, n, plane]; dx is [n, Cin, plane].
                input.then(|| {
                    let mut dx = Vec::with_capacity(self.in_shape().numel());
                    for n in 0..self.batch {
                        for c in 0..self.in_channels {
                            dx.extend(dxc[(c * self.batch + n) * plane..][..plane].iter().copied());
                        }
                    }
                    dx
                })
            })
        };
        (
            dx,
            Tensor::new(self.weight_shape(), dw).expect("dw has w's shape"),
            self.has_bias.then(|| Tensor::new([self.out_channels], db).expect("one per channel")),
        )
    }

    /// Everything that goes into output value `(n, co, oy, ox)`, tap by tap, for a lesson to show.
    /// `output` is computed exactly as `forward` computes it, so the two are equal to the last bit.
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

    /// The values the WGSL kernel reads from its uniform buffer, in the order of `Params` in `conv2d.wgsl`.
    fn uniforms(&self) -> [u32; 21] {
        let p = &self.params;
        [
            self.batch,
            self.in_channels,
            self.in_h,
            self.in_w,
            self.out_channels,
            self.kernel_h,
            self.kernel_w,
            self.out_h,
            self.out_w,
            p.stride[0],
            p.stride[1],
            p.dilation[0],
            p.dilation[1],
            p.padding[0],
            p.padding[1],
            p.groups,
            p.padding_mode.code() as usize,
            self.has_bias as usize,
            self.out_shape().numel(),
            p.padding[2],
            p.padding[3],
        ]
        .map(|v| v as u32)
    }

    /// The im2col layout of the GPU path, when it applies: `[N, Cin·kH·kW, H'·W']`, one column per window.
    fn column_shape(&self, gpu: &Gpu) -> Option<Shape> {
        let shape = Shape::from([self.batch, self.in_channels * self.kernel_h * self.kernel_w, self.out_h * self.out_w]);
        (self.params.groups == 1 && gpu.fits_in_binding(shape.numel())).then_some(shape)
    }

    /// Records the im2col columns of `x` on the GPU.
    fn columns_gpu(&self, gpu: &Gpu, x: &GpuTensor, shape: Shape) -> GpuTensor {
        let cols = gpu.empty(shape);
        gpu.dispatch("conv2d", "columns", &self.uniforms(), &[(1, x.buffer()), (9, cols.buffer())], cols.numel());
        cols
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

    /// Records the forward pass on the GPU (`shaders/conv2d.wgsl`): as im2col and the tiled matrix product when
    /// the columns fit in a buffer and there are no groups, else one invocation per output value. Nothing is
    /// read back.
    pub fn forward_gpu(&self, gpu: &Gpu, x: &GpuTensor, w: &GpuTensor, b: Option<&GpuTensor>) -> GpuTensor {
        if let Some(shape) = self.column_shape(gpu) {
            let taps = shape.dims()[1];
            let cols = self.columns_gpu(gpu, x, shape);
            return self.forward_product(taps).run_gpu(gpu, w, &cols, b, self.out_shape());
        }
        let y = gpu.empty(self.out_shape());
        let bias = b.map_or(gpu.placeholder(), GpuTensor::buffer);
        gpu.dispatch("conv2d", "forward", &self.uniforms(), &[(1, x.buffer()), (2, w.buffer()), (3, bias), (4, y.buffer())], y.numel());
        y
    }

    /// Records the backward pass on the GPU. The input gradient is gathered on the padded input (each padded
    /// pixel sums `dy·w` over the windows that read it) and then folded back onto the pixels the padding copied
    /// (`Pad::backward_gpu`). With im2col (see [`Conv2d::forward_gpu`]) the sums are matrix products:
    /// `∂cols[n] = Wᵀ · ∂y[n]`, gathered back onto the padded input, and `∂W = Σ_n ∂y[n] · cols[n]ᵀ` (one product
    /// that sums over the images).
    pub fn backward_gpu(&self, gpu: &Gpu, x: &GpuTensor, w: &GpuTensor, dy: &GpuTensor) -> Conv2dGrads<GpuTensor> {
        let (dx, dw, db) = self.gradients_gpu(gpu, x, w, dy, true);
        Conv2dGrads { dx: dx.expect("asked for"), dw, db }
    }

    /// [`Conv2d::backward_gpu`] without the input's gradient (a model's first layer): `(∂w, ∂b)`.
    pub fn param_grads_gpu(&self, gpu: &Gpu, x: &GpuTensor, w: &GpuTensor, dy: &GpuTensor) -> (GpuTensor, Option<GpuTensor>) {
        let (_, dw, db) = self.gradients_gpu(gpu, x, w, dy, false);
        (dw, db)
    }

    /// `∂x` (when `input`), `∂w` and `∂b` on the GPU.
    fn gradients_gpu(&self, gpu: &Gpu, x: &GpuTensor, w: &GpuTensor, dy: &GpuTensor, input: bool) -> (Option<GpuTensor>, GpuTensor, Option<GpuTensor>) {
        let u = self.uniforms();
        let pad = self.padding_op();
        let dx_padded = input.then(|| gpu.empty(pad.out_shape.clone()));
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
                    gpu.dispatch("conv2d", "grad_input_from_columns", &u, &[(6, dx_padded.buffer()), (9, dcols.buffer())], dx_padded.numel());
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
                    sum.forward_gpu(gpu, &dw).reshaped(self.weight_shape())
                }
            }
            None => {
                if let Some(dx_padded) = &dx_padded {
                    gpu.dispatch("conv2d", "grad_input_padded", &u, &[(2, w.buffer()), (5, dy.buffer()), (6, dx_padded.buffer())], dx_padded.numel());
                }
                let dw = gpu.empty(self.weight_shape());
                gpu.dispatch("conv2d", "grad_weight", &u, &[(1, x.buffer()), (5, dy.buffer()), (7, dw.buffer())], dw.numel());
                dw
            }
        };
        let dx = dx_padded.map(|dx_padded| pad.backward_gpu(gpu, &dx_padded));
        let db = self.has_bias.then(|| {
            let db = gpu.empty(Shape::from([self.out_channels]));
            gpu.dispatch_grid("conv2d", "grad_bias", &u, &[(5, dy.buffer()), (8, db.buffer())], gpu.one_group_each(self.out_channels));
            db
        });
        (dx, dw, db)
    }
}

/// Where one tap of a window reads, as indices: the step shared by `forward`, `backward` and `trace`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn conv(p: &Conv2dParams, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Tensor {
        Conv2d::new(p, x.shape(), w.shape(), b.map(Tensor::shape)).unwrap().forward(x, w, b)
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
            let y = op.forward(&x, &w, Some(&b));
            let (h, wd) = (op.out_h, op.out_w);
            for (n, co, oy, ox) in [(0, 0, 0, 0), (1, 3, h - 1, wd - 1), (1, 2, 1, 0)] {
                let t = op.trace(&x, &w, Some(&b), n, co, oy, ox);
                assert_eq!(t.output.to_bits(), y.data()[((n * 4 + co) * h + oy) * wd + ox].to_bits());
                assert_eq!(t.taps.len(), 27);
            }
        }
    }

    #[test]
    fn the_fast_path_equals_the_reference_loops() {
        let mut rng = Rng::new(22);
        for mode in PaddingMode::ALL {
            let p = Conv2dParams { padding: [2, 1, 0, 2], ..Conv2dParams::default().stride(2).dilation(2).padding_mode(mode).groups(2) };
            for size in [7, 40] {
            let (x, w, b) = (Tensor::randn([3, 4, size, 6 + size / 2], &mut rng), Tensor::randn([6, 2, 3, 2], &mut rng), Tensor::randn([6], &mut rng));
            let op = Conv2d::new(&p, x.shape(), w.shape(), Some(b.shape())).unwrap();
            assert_eq!(op.per_image(), size == 40);
            let dy = Tensor::randn(op.out_shape(), &mut rng);
            let close = |a: &Tensor, b: &Tensor| a.data().iter().zip(b.data()).all(|(x, y)| (x - y).abs() < 1e-4 * (1.0 + y.abs()));
            assert!(close(&op.forward_fast(&x, &w, Some(&b)), &op.forward(&x, &w, Some(&b))), "{mode:?} forward");
            let (fast, slow) = (op.backward_fast(&x, &w, &dy), op.backward(&x, &w, &dy));
            assert!(close(&fast.dx, &slow.dx) && close(&fast.dw, &slow.dw), "{mode:?} backward");
            assert!(close(fast.db.as_ref().unwrap(), slow.db.as_ref().unwrap()), "{mode:?} bias");
            // A first layer's gradients skip ∂x and are the same numbers.
            let (dw, db) = op.param_grads_fast(&x, &w, &dy);
            assert_eq!((dw.data(), db.as_ref().unwrap().data()), (fast.dw.data(), fast.db.as_ref().unwrap().data()), "{mode:?} without ∂x");
            }
        }
    }

    #[test]
    fn the_threaded_stride_one_path_equals_the_reference_loops() {
        // Stride 1 (the row-copy path) on images big enough that im2col and col2im split their channels between
        // threads: 24 channels of 40x40 give 345,600 column values and 38,400 input values per image.
        let mut rng = Rng::new(24);
        for mode in [PaddingMode::Zeros, PaddingMode::Reflection] {
            let p = Conv2dParams { padding: [1, 1, 2, 0], ..Conv2dParams::default().padding_mode(mode) };
            let (x, w) = (Tensor::randn([2, 24, 40, 40], &mut rng), Tensor::randn([4, 24, 3, 3], &mut rng));
            let op = Conv2d::new(&p, x.shape(), w.shape(), None).unwrap();
            assert!(op.per_image());
            let dy = Tensor::randn(op.out_shape(), &mut rng);
            let close = |a: &Tensor, b: &Tensor| a.data().iter().zip(b.data()).all(|(x, y)| (x - y).abs() < 1e-3 * (1.0 + y.abs()));
            assert!(close(&op.forward_fast(&x, &w, None), &op.forward(&x, &w, None)), "{mode:?} forward");
            let (fast, slow) = (op.backward_fast(&x, &w, &dy), op.backward(&x, &w, &dy));
            assert!(close(&fast.dx, &slow.dx) && close(&fast.dw, &slow.dw), "{mode:?} backward");
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
                assert!(op.per_image() && op.out_shape().dims()[3] == 20, "{p:?}: image by image, as wide as the input");
                let close = |a: &Tensor, b: &Tensor| a.data().iter().zip(b.data()).all(|(x, y)| (x - y).abs() < 1e-4 * (1.0 + y.abs()));
                assert!(close(&op.forward_fast(&x, &w, None), &op.forward(&x, &w, None)), "{p:?} forward");
            }
        }
    }

    #[test]
    fn the_threaded_batch_path_equals_the_reference_loops() {
        // Small images (the digits model's second convolution) take the whole-batch path; 64 images of 16 channels
        // give 147,456 column values and 65,536 input values, enough for im2col and col2im to split them.
        let mut rng = Rng::new(25);
        let p = Conv2dParams::default().padding(1).stride(2);
        let (x, w) = (Tensor::randn([64, 16, 8, 8], &mut rng), Tensor::randn([32, 16, 3, 3], &mut rng));
        let op = Conv2d::new(&p, x.shape(), w.shape(), None).unwrap();
        assert!(!op.per_image());
        let dy = Tensor::randn(op.out_shape(), &mut rng);
        let close = |a: &Tensor, b: &Tensor| a.data().iter().zip(b.data()).all(|(x, y)| (x - y).abs() < 1e-3 * (1.0 + y.abs()));
        assert!(close(&op.forward_fast(&x, &w, None), &op.forward(&x, &w, None)), "forward");
        let (fast, slow) = (op.backward_fast(&x, &w, &dy), op.backward(&x, &w, &dy));
        assert!(close(&fast.dx, &slow.dx), "dx");
        assert!(close(&fast.dw, &slow.dw), "dw");
    }

    #[test]
    fn the_matrix_view_times_the_flattened_input_is_the_convolution() {
        let mut rng = Rng::new(23);
        for mode in PaddingMode::ALL {
            let p = Conv2dParams::default().padding(1).stride(2).padding_mode(mode);
            let (x, w) = (Tensor::randn([1, 2, 5, 4], &mut rng), Tensor::randn([3, 2, 3, 3], &mut rng));
            let op = Conv2d::new(&p, x.shape(), w.shape(), None).unwrap();
            let y = op.forward(&x, &w, None);
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

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(3);
        for mode in PaddingMode::ALL {
            let p = Conv2dParams::default().padding(1).stride(2).padding_mode(mode).groups(2);
            let (x, w, b) =
                (Tensor::randn([2, 4, 5, 4], &mut rng), Tensor::randn([2, 2, 3, 3], &mut rng), Tensor::randn([2], &mut rng));
            let op = Conv2d::new(&p, x.shape(), w.shape(), Some(b.shape())).unwrap();
            let dy = Tensor::randn(op.out_shape(), &mut rng);
            // L = Σ y·dy, so ∂L/∂θ is what backward returns for upstream gradient dy.
            let loss = |x: &Tensor, w: &Tensor, b: &Tensor| -> f64 {
                let y = op.forward(x, w, Some(b));
                y.data().iter().zip(dy.data()).map(|(a, g)| (*a as f64) * (*g as f64)).sum()
            };
            let Conv2dGrads { dx, dw, db } = op.backward(&x, &w, &dy);
            let db = db.unwrap();
            let eps = 1e-2;
            let check = |analytic: &Tensor, nudge: &dyn Fn(usize, f32) -> f64| {
                for i in 0..analytic.data().len() {
                    let numeric = (nudge(i, eps) - nudge(i, -eps)) / (2.0 * eps as f64);
                    let a = analytic.data()[i] as f64;
                    assert!((numeric - a).abs() < 1e-2 * (1.0 + a.abs()), "{mode:?} index {i}: {a} vs {numeric}");
                }
            };
            check(&dx, &|i, e| {
                let mut x = x.clone();
                x.data_mut()[i] += e;
                loss(&x, &w, &b)
            });
            check(&dw, &|i, e| {
                let mut w = w.clone();
                w.data_mut()[i] += e;
                loss(&x, &w, &b)
            });
            check(&db, &|i, e| {
                let mut b = b.clone();
                b.data_mut()[i] += e;
                loss(&x, &w, &b)
            });
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
