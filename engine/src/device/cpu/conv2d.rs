//! The CPU's convolution: im2col and matrix products ([`sgemm`]), instead of the reference's loop per output
//! value. Large images go through the product one image at a time (its columns stay in cache); small ones (the
//! digits' 8x8 down to 2x2) all at once, through gather and scatter tables kept with the op ([`Tables`]), so that
//! each product is large enough to be fast. Every tap reads its pixel through the indexing function the op's
//! reference uses ([`crate::padding`]'s `tap_coordinate` and `PaddingMode::source`), so the padding modes mean
//! here what they mean there. The op (`ops/conv2d.rs`) validates the convolution and hands its [`Geometry`].

use super::scratch;
use super::parallel;
use super::sgemm::{View, sgemm};
use super::vector::gather_or_zero;
use crate::padding::{PaddingMode, tap_coordinate};
use std::sync::OnceLock;

/// A validated convolution's plain geometry: `x [N, Cin, H, W]`, `w [Cout, Cin/G, kH, kW]`, `y [N, Cout, H', W']`.
/// The op (`ops::conv2d::Conv2d`) holds the same sizes and hands them over: this module sits below the ops and
/// cannot read the op itself (the engine's dependencies run one way).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geometry {
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
    /// `[vertical, horizontal]`
    pub stride: [usize; 2],
    /// `[vertical, horizontal]`
    pub dilation: [usize; 2],
    /// `[top, left]` (the bottom and right padding only decide `H'` and `W'`).
    pub padding: [usize; 2],
    /// What the padding is made of.
    pub padding_mode: PaddingMode,
    /// Channel groups.
    pub groups: usize,
}

impl Geometry {
    /// Input channels per group.
    fn group_in(&self) -> usize {
        self.in_channels / self.groups
    }

    /// Values in `x`.
    fn in_len(&self) -> usize {
        self.batch * self.in_channels * self.in_h * self.in_w
    }

    /// Values in `y`.
    fn out_len(&self) -> usize {
        self.batch * self.out_channels * self.out_h * self.out_w
    }

    /// The input row tap `ky` of output row `oy` reads, or `None` for a zero of the padding.
    fn source_row(&self, oy: usize, ky: usize) -> Option<usize> {
        self.padding_mode.source(tap_coordinate(oy, ky, self.stride[0], self.dilation[0], self.padding[0]), self.in_h)
    }

    /// The input column tap `kx` of output column `ox` reads, or `None` for a zero of the padding.
    fn source_col(&self, ox: usize, kx: usize) -> Option<usize> {
        self.padding_mode.source(tap_coordinate(ox, kx, self.stride[1], self.dilation[1], self.padding[1]), self.in_w)
    }
}

/// `batch_table` for the input's layout (im2col's gather) and for a channel-major one (col2im's scatter), kept
/// with the op: a layer keeps its op from one step to the next, and building the tables cost about as much as
/// using them.
#[derive(Clone, Debug, Default)]
pub struct Tables {
    gather: OnceLock<Vec<u32>>,
    scatter: OnceLock<Vec<u32>>,
}

/// The tables follow from the geometry, so they never make two ops differ.
impl PartialEq for Tables {
    fn eq(&self, _: &Tables) -> bool {
        true
    }
}

/// For each kernel column `kx`: the output columns `lo..hi` whose tap reads inside the image, where input
/// column = `ox·stride + kx·dilation − pad_left` (no padding mode involved), and every output column's source.
fn column_plan(op: &Geometry) -> Vec<(usize, usize, Vec<Option<usize>>)> {
    (0..op.kernel_w)
        .map(|kx| {
            let sources: Vec<Option<usize>> = (0..op.out_w).map(|ox| op.source_col(ox, kx)).collect();
            let direct = |ox: usize| {
                (0..op.in_w as isize).contains(&tap_coordinate(ox, kx, op.stride[1], op.dilation[1], op.padding[1]))
            };
            let lo = (0..op.out_w).find(|&ox| direct(ox)).unwrap_or(op.out_w);
            let hi = (lo..op.out_w).take_while(|&ox| direct(ox)).last().map_or(lo, |ox| ox + 1);
            (lo, hi, sources)
        })
        .collect()
}

/// For each kernel row `ky` and output row `oy`: the input row the taps read, or `None` for a row of zeros.
fn row_plan(op: &Geometry) -> Vec<Option<usize>> {
    (0..op.kernel_h).flat_map(|ky| (0..op.out_h).map(move |oy| op.source_row(oy, ky))).collect()
}

/// Unfolds image `n`'s windows over group `g` (im2col) into `out` `[group_in·kh·kw, out_h·out_w]`: row
/// `(cg, ky, kx)`, column `(oy, ox)` holds the value that tap reads (0 for zero padding). A convolution is then
/// one matrix product. The input channels are shared out between threads.
fn im2col(op: &Geometry, x: &[f32], g: usize, n: usize, out: &mut [f32]) {
    let (kh, kw, ow, w) = (op.kernel_h, op.kernel_w, op.out_w, op.in_w);
    let (columns, rows) = (column_plan(op), row_plan(op));
    let (stride, hw, plane) = (op.stride[1], op.out_h * ow, op.in_h * w);
    let first_plane = (n * op.in_channels + g * op.group_in()) * plane;
    parallel::for_blocks([out], kh * kw * hw, |start, [out]| {
        for (c, taps) in out.chunks_exact_mut(kh * kw * hw).enumerate() {
            let cg = start / (kh * kw * hw) + c;
            let plane = &x[first_plane + cg * plane..][..plane];
            for (tap, row) in taps.chunks_exact_mut(hw).enumerate() {
                let (ky, (lo, hi, sources)) = (tap / kw, &columns[tap % kw]);
                for (oy, dst) in row.chunks_exact_mut(ow).enumerate() {
                    let Some(sy) = rows[ky * op.out_h + oy] else {
                        dst.fill(0.0);
                        continue;
                    };
                    let src = &plane[sy * w..][..w];
                    // The interior reads the image directly: a copy (or strided copy) without per-pixel checks.
                    if lo < hi {
                        let first = lo * stride + (tap % kw) * op.dilation[1] - op.padding[1];
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
/// each entry to the pixel its tap read: the adjoint of [`im2col`] (padding sends the gradient to the
/// pixels it copied). The input channels are shared out between threads.
fn col2im(op: &Geometry, cols: &[f32], g: usize, n: usize, dx: &mut [f32]) {
    let (kh, kw, ow, w) = (op.kernel_h, op.kernel_w, op.out_w, op.in_w);
    let (columns, rows) = (column_plan(op), row_plan(op));
    let (stride, hw, plane) = (op.stride[1], op.out_h * ow, op.in_h * w);
    let planes = &mut dx[(n * op.in_channels + g * op.group_in()) * plane..][..op.group_in() * plane];
    parallel::for_blocks([planes], plane, |start, [planes]| {
        for (c, channel) in planes.chunks_exact_mut(plane).enumerate() {
            let cg = start / plane + c;
            let taps = &cols[cg * kh * kw * hw..][..kh * kw * hw];
            for (tap, row) in taps.chunks_exact(hw).enumerate() {
                let (ky, (lo, hi, sources)) = (tap / kw, &columns[tap % kw]);
                for (oy, src) in row.chunks_exact(ow).enumerate() {
                    let Some(sy) = rows[ky * op.out_h + oy] else { continue };
                    let dst = &mut channel[sy * w..][..w];
                    if lo < hi {
                        let first = lo * stride + (tap % kw) * op.dilation[1] - op.padding[1];
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
fn batch_table(op: &Geometry, image: usize) -> Vec<u32> {
    let (hw, columns) = (op.out_h * op.out_w, op.batch * op.out_h * op.out_w);
    let mut table = Vec::with_capacity(op.kernel_h * op.kernel_w * columns);
    for ky in 0..op.kernel_h {
        for kx in 0..op.kernel_w {
            let mut in_image = Vec::with_capacity(hw);
            for oy in 0..op.out_h {
                for ox in 0..op.out_w {
                    let source = op.source_row(oy, ky).zip(op.source_col(ox, kx));
                    in_image.push(source.map_or(u32::MAX, |(sy, sx)| (sy * op.in_w + sx) as u32));
                }
            }
            for n in 0..op.batch {
                let shift = (n * image) as u32;
                table.extend(in_image.iter().map(|&o| if o == u32::MAX { o } else { o + shift }));
            }
        }
    }
    table
}

/// The table of [`im2col_batch`], for `[N, Cin, H, W]` images.
fn gather_table<'a>(op: &Geometry, tables: &'a Tables) -> &'a [u32] {
    tables.gather.get_or_init(|| batch_table(op, op.in_channels * op.in_h * op.in_w))
}

/// The table of [`col2im_batch`], for its channel-major `[Cin, N, H, W]` gradient.
fn scatter_table<'a>(op: &Geometry, tables: &'a Tables) -> &'a [u32] {
    tables.scatter.get_or_init(|| batch_table(op, op.in_h * op.in_w))
}

/// im2col of every image of group `g` at once: row `(cg, ky, kx)`, column `(n, oy, ox)`, through
/// [`batch_table`] for `[N, Cin, H, W]` images. The rows are split across threads.
fn im2col_batch(op: &Geometry, x: &[f32], g: usize, table: &[u32], cols: &mut [f32]) {
    let (taps, plane, columns) = (op.kernel_h * op.kernel_w, op.in_h * op.in_w, op.batch * op.out_h * op.out_w);
    parallel::for_blocks([cols], columns, |start, [rows]| {
        for (r, row) in rows.chunks_exact_mut(columns).enumerate() {
            let (cg, tap) = ((start / columns + r) / taps, (start / columns + r) % taps);
            // From channel cg's plane in image 0 on: the table's offsets reach the same plane in image n.
            let src = &x[(g * op.group_in() + cg) * plane..];
            gather_or_zero(src, &table[tap * columns..][..columns], row);
        }
    });
}

/// col2im of every image of group `g` at once, the adjoint of [`im2col_batch`]: each entry of the
/// columns is added to the pixel its tap read. `dxc` is the group's input gradient channel by channel,
/// `[group_in, N, H, W]` (so that each channel is one block and the channels are split across threads), and
/// `table` is [`batch_table`] for that layout. Each input value receives its taps in the same order
/// however many threads there are.
fn col2im_batch(op: &Geometry, cols: &[f32], table: &[u32], dxc: &mut [f32]) {
    let (taps, columns) = (op.kernel_h * op.kernel_w, op.batch * op.out_h * op.out_w);
    let channel = op.batch * op.in_h * op.in_w;
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
pub fn per_image(op: &Geometry) -> bool {
    op.out_h * op.out_w >= 256 || op.in_len() >= u32::MAX as usize
}

/// `y = conv2d(x, w) + b`: im2col and matrix products. Equal to the reference up to rounding (the sums run in
/// another order). `tables` are the op's, kept from one call to the next.
pub fn forward(op: &Geometry, tables: &Tables, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
    let (groups, group_out) = (op.groups, op.out_channels / op.groups);
    let k = op.group_in() * op.kernel_h * op.kernel_w;
    let hw = op.out_h * op.out_w;
    let mut y = if per_image(op) {
        let mut y = vec![0.0; op.out_len()];
        scratch::with_buffers([k * hw], |[cols]| {
            for n in 0..op.batch {
                for g in 0..groups {
                    im2col(op, x, g, n, cols);
                    let out = (n * op.out_channels + g * group_out) * hw;
                    sgemm(group_out, k, hw, 1.0, View::rows(w, g * group_out * k, k), View::rows(cols, 0, hw), 0.0, &mut y, out, hw);
                }
            }
        });
        y
    } else {
        let columns = op.batch * hw;
        scratch::with_buffers([k * columns, op.out_channels * columns], |[cols, product]| {
            for g in 0..groups {
                im2col_batch(op, x, g, gather_table(op, tables), cols);
                let w = View::rows(w, g * group_out * k, k);
                sgemm(group_out, k, columns, 1.0, w, View::rows(cols, 0, columns), 0.0, product, g * group_out * columns, columns);
            }
            // product is [Cout, (n, p)]; y is [n, Cout, p]. (Runs of a few values: copied in a loop, not by a
            // call to memcpy per run.)
            let mut y = Vec::with_capacity(op.out_len());
            for n in 0..op.batch {
                for co in 0..op.out_channels {
                    y.extend(product[co * columns + n * hw..][..hw].iter().copied());
                }
            }
            y
        })
    };
    if let Some(b) = b {
        for (i, plane) in y.chunks_mut(hw).enumerate() {
            let bias = b[i % op.out_channels];
            plane.iter_mut().for_each(|v| *v += bias);
        }
    }
    y
}

/// The gradients `(∂x, ∂w, ∂b)`, `∂x` only when `input` (a model's first layer needs none): `∂w = ∂y·colsᵀ` and
/// `∂cols = wᵀ·∂y` as matrix products, then the columns folded back onto the input (col2im).
pub fn gradients(op: &Geometry, tables: &Tables, x: &[f32], w: &[f32], dy: &[f32], input: bool) -> (Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
    let (groups, group_out) = (op.groups, op.out_channels / op.groups);
    let k = op.group_in() * op.kernel_h * op.kernel_w;
    let (hw, plane) = (op.out_h * op.out_w, op.in_h * op.in_w);
    let mut dw = vec![0.0; op.out_channels * k];
    let db: Vec<f32> = (0..op.out_channels)
        .map(|co| (0..op.batch).map(|n| dy[(n * op.out_channels + co) * hw..][..hw].iter().sum::<f32>()).sum())
        .collect();
    let dx = if per_image(op) {
        let mut dx = input.then(|| vec![0.0; op.in_len()]);
        scratch::with_buffers([k * hw, k * hw], |[cols, dcols]| {
            for n in 0..op.batch {
                for g in 0..groups {
                    im2col(op, x, g, n, cols);
                    // Image n's ∂y for group g is already a [group_out, hw] matrix inside dy.
                    let dy_view = View::rows(dy, (n * op.out_channels + g * group_out) * hw, hw);
                    sgemm(group_out, hw, k, 1.0, dy_view, View::rows(cols, 0, hw).t(), 1.0, &mut dw, g * group_out * k, k);
                    if let Some(dx) = &mut dx {
                        sgemm(k, group_out, hw, 1.0, View::rows(w, g * group_out * k, k).t(), dy_view, 0.0, dcols, 0, hw);
                        col2im(op, dcols, g, n, dx);
                    }
                }
            }
        });
        dx
    } else {
        let columns = op.batch * hw;
        // Only what the input's gradient needs when it is asked for: the channel-major table, ∂cols, ∂x.
        let scatter = input.then(|| scatter_table(op, tables));
        let (dcols, dxc) = if input { (k * columns, op.in_len()) } else { (0, 0) };
        scratch::with_buffers([k * columns, op.out_channels * columns, dcols, dxc], |[cols, dy_matrix, dcols, dxc]| {
            // dy as [Cout, (n, p)], the layout of the forward product.
            for co in 0..op.out_channels {
                for n in 0..op.batch {
                    let src = (n * op.out_channels + co) * hw;
                    let run = dy_matrix[co * columns + n * hw..][..hw].iter_mut().zip(&dy[src..src + hw]);
                    run.for_each(|(d, &v)| *d = v);
                }
            }
            for g in 0..groups {
                im2col_batch(op, x, g, gather_table(op, tables), cols);
                let dy_view = View::rows(dy_matrix, g * group_out * columns, columns);
                sgemm(group_out, columns, k, 1.0, dy_view, View::rows(cols, 0, columns).t(), 0.0, &mut dw, g * group_out * k, k);
                if let Some(scatter) = scatter {
                    sgemm(k, group_out, columns, 1.0, View::rows(w, g * group_out * k, k).t(), dy_view, 0.0, dcols, 0, columns);
                    let group = op.group_in() * op.batch * plane;
                    col2im_batch(op, dcols, scatter, &mut dxc[g * group..][..group]);
                }
            }
            // dxc is [Cin, n, plane]; dx is [n, Cin, plane].
            input.then(|| {
                let mut dx = Vec::with_capacity(op.in_len());
                for n in 0..op.batch {
                    for c in 0..op.in_channels {
                        dx.extend(dxc[(c * op.batch + n) * plane..][..plane].iter().copied());
                    }
                }
                dx
            })
        })
    };
    (dx, dw, db)
}
