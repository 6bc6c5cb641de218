//! `/channels`: an RGB image is three planes, so a kernel for it has a 3x3 slice per channel (rank 3), and every
//! slice's 9 products of every channel add up into one output pixel, plus the bias. Stacking K such kernels gives a
//! rank-4 weight `[K, 3, 3, 3]` and K output channels. The shapes are tracked from `[3, H, W]` through `t[None]`
//! to `[1, K, H', W']`. Last, a convolution written as the matrix product it is: a mostly-zero matrix whose
//! non-zero weights are tied, times the flattened input.
//!
//! URL parameters ([`PARAMS`]): `photo`, `kernels` (K, 1–4), `kernel` (the one traced), `s` (stride, 1–2), `y`,
//! `x`, `bias` (−10 to 10), `mpad` (the matrix view's padding, 0–1).

use crate::device::use_device;
use crate::image::{draw, load_rgb};
use crate::panel::{PanelNumbers, exact, footer};
#[cfg(not(target_arch = "wasm32"))]
use crate::panel::{Assets, Case, url};
use crate::query::{AnyParam, Param, Params};
use crate::widgets::conv_trace::CHANNEL_NAMES;
use crate::widgets::{Cell, CodePanel, ConvRun, ConvTrace, Cursor, LessonPage, NumberGrid, PHOTOS, Photo, PhotoChoice, PhotoPicker, ShapeBadge, format_weight, number_input, photo_param, select};
use engine::ops::Conv2dParams;
use engine::ops::conv2d::Conv2d;
use engine::{Device, Shape, Tensor};
use leptos::html::Canvas;
use leptos::prelude::*;

/// The sample photo.
pub const PHOTO: Param<Photo> = photo_param(PHOTOS[1]);
/// How many kernels are stacked (K).
pub const COUNT: Param<usize> = Param::range("kernels", 2, 1, 4);
/// The kernel traced (its output channel).
pub const KERNEL: Param<usize> = Param::range("kernel", 0, 0, 3);
/// The stride.
pub const STRIDE: Param<usize> = Param::range("s", 1, 1, 2);
/// The selected output pixel's row (clamped into the output on the page).
pub const Y: Param<usize> = Param::range("y", 40, 0, 512);
/// Its column.
pub const X: Param<usize> = Param::range("x", 60, 0, 512);
/// The bias of every output channel.
pub const BIAS: Param<f32> = Param::range("bias", 0.0, -10.0, 10.0);
/// The matrix view's padding.
pub const MATRIX_PADDING: Param<usize> = Param::range("mpad", 0, 0, 1);
/// Every parameter, in the URL's order.
pub const PARAMS: &[&dyn AnyParam] = &[&PHOTO, &COUNT, &KERNEL, &STRIDE, &Y, &X, &BIAS, &MATRIX_PADDING];

/// A rank-3 kernel: a name, and a 3x3 slice for each of red, green and blue.
struct StackedKernel {
    name: &'static str,
    slices: [[f32; 9]; 3],
}

const T: f32 = 5.0 / 3.0;
/// The lesson's bottom-right edge kernel, before `/ 6`.
const EDGE: [f32; 9] = [0.0, -T, 1.0, -T, -T, 1.0, 1.0, 1.0, 1.0];

fn scaled(k: [f32; 9], by: f32) -> [f32; 9] {
    k.map(|v| v / by)
}

fn rotated(k: [f32; 9]) -> [f32; 9] {
    let mut r = k;
    r.reverse();
    r
}

/// The kernels stacked into the rank-4 weight, in order.
fn stacked_kernels() -> [StackedKernel; 4] {
    let sobel = [-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0];
    let centre = |v: f32| [0.0, 0.0, 0.0, 0.0, v, 0.0, 0.0, 0.0, 0.0];
    [
        StackedKernel { name: "bottom-right edges: the lesson's kernel, expand(1, 3, 3, 3) / 6", slices: [scaled(EDGE, 6.0); 3] },
        StackedKernel { name: "top-left edges: the same kernel turned round", slices: [scaled(rotated(EDGE), 6.0); 3] },
        StackedKernel { name: "vertical edges: Sobel on every channel / 8", slices: [scaled(sobel, 8.0); 3] },
        StackedKernel { name: "red minus blue: +1 on red, −1 on blue, nothing on green", slices: [centre(1.0), centre(0.0), centre(-1.0)] },
    ]
}

/// The weight `[K, 3, 3, 3]` of the first `k` kernels.
fn weight(k: usize) -> Tensor {
    let kernels = stacked_kernels();
    Tensor::from_fn([k, 3, 3, 3], |i| kernels[i / 27].slices[i / 9 % 3][i % 9])
}

/// Output channel `k` of a run as an image `[1, 1, H', W']`, and the sum of its values.
fn output_channel(run: &ConvRun, k: usize) -> (Tensor, f64) {
    let plane = run.op.out_h * run.op.out_w;
    let t = Tensor::new([1, 1, run.op.out_h, run.op.out_w], run.output.data()[k * plane..(k + 1) * plane].to_vec()).expect("one channel");
    let sum = t.data().iter().map(|&v| v as f64).sum();
    (t, sum)
}

/// The input's colour plane `ch` as an image `[1, 1, H, W]`.
fn plane(input: &Tensor, ch: usize) -> Tensor {
    let d = input.shape().dims();
    let plane = d[2] * d[3];
    Tensor::new([1, 1, d[2], d[3]], input.data()[ch * plane..(ch + 1) * plane].to_vec()).expect("one plane")
}

/// What the divide-by-6 note says about this photo: how far kernel 0 reaches, and how many outputs exceed 1.
fn six_note(output: &Tensor, plane: usize) -> String {
    let max = output.data()[..plane].iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let clipped = output.data()[..plane].iter().filter(|&&v| v > 1.0).count();
    format!(" On this photo kernel 0 reaches {max:.3}, and {clipped} of its {plane} outputs are above 1.")
}

/// The states `cargo xtask panels` checks: one to four kernels, both strides, a sample for each.
#[cfg(not(target_arch = "wasm32"))]
pub fn cases(assets: &dyn Assets) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for kernels in COUNT.samples() {
        for stride in STRIDE.samples() {
            let photo = PHOTOS[(kernels + stride) % PHOTOS.len()];
            let state = State {
                file: crate::widgets::PhotoSource::Sample(photo.file).file_name(SIDE),
                kernels,
                stride,
                bias: if stride == 1 { 0.0 } else { -0.125 },
                cell: if stride == 1 { (40, 60) } else { (0, 31) },
                kernel: kernels - 1,
            };
            let x = assets.photo(&state.file)?;
            cases.push(Case { url: url("channels", &state.query(photo)), page: state.numbers(&x), code: state.pytorch() });
        }
    }
    Ok(cases)
}

/// The page.
#[component]
pub fn Channels() -> impl IntoView {
    let mut params = Params::from_location();
    let photo = PhotoChoice::new(params.get(&PHOTO), SIDE);
    let (count, traced, stride) = (params.get(&COUNT), params.get(&KERNEL), params.get(&STRIDE));
    let cell = params.cell((&Y, &X));
    let (bias, matrix_padding) = (params.get(&BIAS), params.get(&MATRIX_PADDING));
    let notices = params.notices();
    params.sync();
    let device = use_device();

    Effect::new(move || {
        if traced.get() >= count.get() {
            traced.set(count.get() - 1);
        }
    });
    let image = LocalResource::new(move || {
        let url = photo.source.get().url(SIDE);
        async move { load_rgb(&url, SIDE).await }
    });
    // What the convolution depends on (the selected pixel is not).
    let conv_state = move || State { file: photo.source.get().file_name(SIDE), kernels: count.get(), stride: stride.get(), bias: bias.get(), cell: (0, 0), kernel: 0 };
    let result = LocalResource::new(move || {
        let (image, page, state) = (image.get(), device.get(), conv_state());
        async move {
            let (x, page) = (image?, page?);
            Some(match x {
                Ok(x) => run(&page.device, x, &state).await,
                Err(e) => Err(e),
            })
        }
    });
    let ok = Signal::derive(move || result.get().flatten().and_then(Result::ok));
    let cursor = Cursor::new(cell, Signal::derive(move || ok.get().map(|run| (run.op.out_h, run.op.out_w))), 8);
    let trace = Memo::new(move |_| ok.get()?.trace(cell.get(), traced.get()));
    let shape = move |f: fn(&ConvRun) -> Shape| Signal::derive(move || ok.get().map(|r| f(&r)));
    let code = Signal::derive(move || State { cell: cell.get(), kernel: traced.get(), ..conv_state() }.pytorch());

    view! {
        <LessonPage
            class="channels"
            title="Channels: rank-3 kernels, rank-4 weights"
            lede="A colour image is three planes of numbers: red, green and blue. A kernel for it has a 3x3 slice for \
                  each plane; each slice multiplies its own plane's window, and all 27 products are summed, with the \
                  bias, into one output pixel. Several such kernels stacked make a rank-4 weight and as many output \
                  channels. Choose a pixel in any output channel to see its sums."
            notices
            cursor
        >
            <div class="controls">
                <PhotoPicker choice=photo own_files=false/>
                {select(&COUNT, count, "Kernels stacked (K) ", "kernel-count")}
                {select(&STRIDE, stride, "Stride ", "stride")}
                {number_input(&BIAS, bias, "Bias ", "bias")}
            </div>

            <div class="shape-chain" data-testid="shape-chain">
                <ShapeBadge shape=shape(|r| { let d = r.input.shape().dims(); Shape::from([3, d[2], d[3]]) }) testid="shape-image"/>
                <span>" → t[None] → "</span>
                <ShapeBadge shape=shape(|r| r.input.shape().clone()) testid="shape-batch"/>
                <span>" → conv2d with weight "</span>
                <ShapeBadge shape=shape(|r| r.weight.shape().clone()) testid="shape-weight"/>
                <span>" → "</span>
                <ShapeBadge shape=shape(|r| r.output.shape().clone()) testid="shape-output"/>
                <span class="backend-used">{move || ok.get().map(|r| format!(" (computed on {})", r.backend))}</span>
            </div>

            <Planes ok/>
            <h2>"The kernels: " <ShapeBadge shape=shape(|r| r.weight.shape().clone()) testid="weight-shape"/></h2>
            <StackedKernels count traced/>
            <p class="note" data-testid="six-note">
                "Why divide by 6? To scale the outputs down, nothing more: the kernel's positive weights add up to 5 "
                "and its negative ones to −5, so without it one channel's window could give 5 and three channels 15. "
                "Divided by 6, the largest possible output is 3 × 5/6 = 2.5, still above 1, so the strongest edges "
                "still show as white (outputs are drawn clamped to 0…1, as plt.imshow does). Any positive scale finds "
                "the same edges, brighter or dimmer."
                {move || ok.get().map(|run| six_note(&run.output, run.op.out_h * run.op.out_w))}
            </p>

            <h2>"The output channels: " <ShapeBadge shape=shape(|r| r.output.shape().clone()) testid="output-shape"/></h2>
            <OutputChannels ok count cursor traced/>
            {move || trace.get().map(|(t, engine_value)| {
                let heading = format!("Output channel {}, pixel (row {}, column {})", t.co, t.oy, t.ox);
                view! { <ConvTrace trace=t engine_value heading/> }
            })}
            <MatrixView padding=matrix_padding/>
            <CodePanel code/>
        </LessonPage>
    }
}

/// The colour image and its three planes.
#[component]
fn Planes(ok: Signal<Option<ConvRun>>) -> impl IntoView {
    let input_canvas = NodeRef::<Canvas>::new();
    let plane_canvases = [NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new()];
    // Canvas drawing is outside the reactive system: an effect keeps it in sync.
    Effect::new(move || {
        let Some(run) = ok.get() else { return };
        if let Some(c) = input_canvas.get() {
            let _ = draw(&c, &run.input);
        }
        for (ch, canvas) in plane_canvases.iter().enumerate() {
            if let Some(c) = canvas.get() {
                let _ = draw(&c, &plane(&run.input, ch));
            }
        }
    });
    view! {
        <div class="images planes">
            <figure><canvas node_ref=input_canvas data-testid="input-canvas" aria-label="The colour image"></canvas><figcaption>"the image"</figcaption></figure>
            {CHANNEL_NAMES.into_iter().enumerate().map(|(ch, name)| view! {
                <figure><canvas node_ref=plane_canvases[ch] class=format!("plane {name}") data-testid=format!("plane-{ch}") aria-label=format!("The {name} plane")></canvas><figcaption>{format!("{name} plane [{ch}]")}</figcaption></figure>
            }).collect_view()}
        </div>
    }
}

/// The first K stacked kernels, each as its three slices; the traced one marked.
#[component]
fn StackedKernels(count: RwSignal<usize>, traced: RwSignal<usize>) -> impl IntoView {
    view! {
        <div class="stacked-kernels">
            {move || {
                let kernels = stacked_kernels();
                (0..count.get()).map(|k| {
                    let kernel = &kernels[k];
                    view! {
                        <div class="stacked" class:traced=move || traced.get() == k>
                            <h3>{format!("kernel {k}: {}", kernel.name)}</h3>
                            <div class="slices">
                                {(0..3).map(|ch| view! {
                                    <figure>
                                        <NumberGrid cells={kernel.slices[ch].iter().map(|&v| Cell { value: Some(v), ..Default::default() }).collect::<Vec<_>>()} cols=3usize label={format!("kernel {k}, {} slice", CHANNEL_NAMES[ch])} testid="kernel-slice" decimals=3/>
                                        <figcaption>{CHANNEL_NAMES[ch]}</figcaption>
                                    </figure>
                                }).collect_view()}
                            </div>
                        </div>
                    }
                }).collect_view()
            }}
        </div>
    }
}

/// The K output channels, each clickable to choose the traced kernel and pixel.
#[component]
fn OutputChannels(ok: Signal<Option<ConvRun>>, count: RwSignal<usize>, cursor: Cursor, traced: RwSignal<usize>) -> impl IntoView {
    let canvases = [NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new()];
    Effect::new(move || {
        let Some(run) = ok.get() else { return };
        for (k, canvas) in canvases.iter().enumerate().take(run.op.out_channels) {
            if let Some(c) = canvas.get() {
                let (t, sum) = output_channel(&run, k);
                let _ = draw(&c, &t);
                let _ = c.set_attribute("data-sum", &format!("{sum:.6}"));
            }
        }
    });
    let select_on = move |k: usize| {
        move |ev: web_sys::MouseEvent| {
            if let Some(c) = canvases[k].get() {
                cursor.select_at(&c, &ev);
                traced.set(k);
            }
        }
    };
    view! {
        <div class="images outputs">
            {move || (0..count.get()).map(|k| view! {
                <figure>
                    <canvas node_ref=canvases[k] data-testid=format!("output-canvas-{k}") tabindex="0"
                        aria-label=format!("Output channel {k}: choose a pixel to see its sums")
                        on:click=select_on(k)></canvas>
                    <figcaption>{format!("channel {k}")}</figcaption>
                </figure>
            }).collect_view()}
        </div>
    }
}

/// The size of the matrix view's input.
const MATRIX_SIDE: usize = 4;

/// A convolution of a 4x4 input by the lesson's kernel, as a matrix times the flattened input, beside conv2d.
pub struct Matrix {
    /// The input `[1, 1, 4, 4]`.
    pub x: Tensor,
    /// The kernel `[1, 1, 3, 3]`.
    pub w: Tensor,
    /// One row per output pixel, one column per input pixel: the kernel taps `(ci, ky, kx)` that meet there.
    pub matrix: Vec<Vec<Vec<(usize, usize, usize)>>>,
    /// The matrix times the flattened input.
    pub product: Vec<f32>,
    /// conv2d's output, to compare.
    pub conv: Tensor,
}

impl Matrix {
    /// The matrix view with `padding`, or the engine's reason why the kernel does not fit.
    pub fn new(padding: usize) -> Result<Matrix, String> {
        let x = Tensor::from_fn([1, 1, MATRIX_SIDE, MATRIX_SIDE], |i| ((i * 7) % 10) as f32);
        let w = Tensor::new([1, 1, 3, 3], EDGE.to_vec()).map_err(|e| e.to_string())?;
        let op = Conv2d::new(&Conv2dParams::default().padding(padding), x.shape(), w.shape(), None).map_err(|e| e.to_string())?;
        let matrix = op.as_matrix(0);
        let conv = op.reference_forward(&x, &w, None);
        let weight_of = |taps: &[(usize, usize, usize)]| taps.iter().map(|&(_, ky, kx)| w.data()[ky * 3 + kx]).sum::<f32>();
        let product = matrix.iter().map(|row| row.iter().zip(x.data()).map(|(taps, v)| weight_of(taps) * v).sum()).collect();
        Ok(Matrix { x, w, matrix, product, conv })
    }
}

/// A convolution as a matrix product, on a 4x4 input and the lesson's 3x3 kernel.
#[component]
fn MatrixView(padding: RwSignal<usize>) -> impl IntoView {
    let view = move || {
        let m = match Matrix::new(padding.get()) {
            Ok(m) => m,
            Err(e) => return view! { <p class="error" role="alert">{e}</p> }.into_any(),
        };
        let Matrix { x, w, matrix, product, conv } = m;
        let weight_of = move |taps: &[(usize, usize, usize)]| taps.iter().map(|&(_, ky, kx)| w.data()[ky * 3 + kx]).sum::<f32>();
        view! {
            <div class="matrix-view" tabindex="0" role="group" aria-label="The convolution as a matrix product">
                <table class="matrix" data-testid="conv-matrix" aria-label="The convolution's matrix: one row per output pixel, one column per input pixel">
                    <tbody>
                        {matrix.iter().map(|row| view! {
                            <tr>{row.iter().map(|taps| match taps.first() {
                                None => view! { <td class="zero">"0"</td> }.into_any(),
                                Some(&(_, ky, kx)) => view! {
                                    <td class=format!("tap tap-{}", ky * 3 + kx) title=format!("kernel weight ({ky}, {kx})")>{format_weight(weight_of(taps))}</td>
                                }.into_any(),
                            }).collect_view()}</tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <span class="op">"×"</span>
                <table class="vector" aria-label="The input, flattened"><tbody>
                    {x.data().iter().map(|v| view! { <tr><td>{format!("{v}")}</td></tr> }).collect_view()}
                </tbody></table>
                <span class="op">"="</span>
                <table class="vector" aria-label="The product"><tbody>
                    {product.iter().enumerate().map(|(i, v)| view! { <tr><td data-testid=format!("matrix-product-{i}")>{format!("{v:.3}")}</td></tr> }).collect_view()}
                </tbody></table>
                <span class="op">"and conv2d gives"</span>
                <table class="vector" aria-label="The convolution's output, flattened"><tbody>
                    {conv.data().iter().enumerate().map(|(i, v)| view! { <tr><td data-testid=format!("conv-output-{i}")>{format!("{v:.3}")}</td></tr> }).collect_view()}
                </tbody></table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="matrix-section">
            <h2>"A convolution is a matrix product"</h2>
            <p>
                "Flatten a 4x4 input into 16 numbers. Each output pixel is then one row of a matrix times that column: "
                "the row holds the kernel's weights at the input pixels its window covers, and zeros everywhere else. "
                "Most of the matrix is zeros, and the non-zero entries are the same kernel weights again and again "
                "(coloured by their place in the kernel): the weights are tied. With padding 0 every row holds all 9; "
                "with padding 1 a row at the border holds only the 6 (edge) or 4 (corner) taps that land on the input, "
                "since the others multiply padding zeros, which are not in the input vector."
            </p>
            {select(&MATRIX_PADDING, padding, "Padding ", "matrix-padding")}
            {view}
        </section>
    }
}

/// The lesson's state as the URL holds it, less the photo's pixels: what the convolution and its PyTorch code are
/// made of.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// The photo, as the PyTorch code opens it.
    pub file: String,
    /// How many kernels are stacked (K).
    pub kernels: usize,
    /// The stride.
    pub stride: usize,
    /// The bias of every output channel.
    pub bias: f32,
    /// The selected output pixel `(y, x)`.
    pub cell: (usize, usize),
    /// Its output channel: the kernel traced.
    pub kernel: usize,
}

impl State {
    /// The state as the URL writes it, for the sample `photo`.
    pub fn query(&self, photo: Photo) -> Vec<(&'static str, String)> {
        let (y, x) = self.cell;
        vec![
            (PHOTO.key, PHOTO.to_url(photo)),
            (COUNT.key, COUNT.to_url(self.kernels)),
            (KERNEL.key, KERNEL.to_url(self.kernel)),
            (STRIDE.key, STRIDE.to_url(self.stride)),
            (Y.key, Y.to_url(y)),
            (X.key, X.to_url(x)),
            (BIAS.key, BIAS.to_url(self.bias)),
        ]
    }

    /// The convolution of an image `[1, 3, H, W]` with the first K stacked kernels, padding 1; with its weight and
    /// bias, or the engine's reason why not.
    pub fn conv(&self, input: &Shape) -> Result<(Conv2d, Tensor, Tensor), String> {
        let weight = weight(self.kernels);
        let bias = Tensor::from_fn([self.kernels], |_| self.bias);
        let params = Conv2dParams::default().padding(1).stride(self.stride);
        let op = Conv2d::new(&params, input, weight.shape(), Some(bias.shape())).map_err(|e| e.to_string())?;
        Ok((op, weight, bias))
    }

    /// What the page shows for the photo `x` (`[1, 3, H, W]`), computed by the op's reference loops.
    pub fn numbers(&self, x: &Tensor) -> Result<PanelNumbers, String> {
        let (op, weight, bias) = self.conv(x.shape())?;
        PanelNumbers::of_conv(&op, x, &weight, Some(&bias), self.cell, self.kernel)
    }

    /// The PyTorch code that computes the same output and prints the numbers the page shows.
    pub fn pytorch(&self) -> String {
        let (k, s) = (self.kernels, self.stride);
        let ((y, x), traced) = (self.cell, self.kernel);
        format!(
            "import torch\nimport torch.nn.functional as F\nfrom PIL import Image\nimport torchvision.transforms.functional as TF\n\n\
             t = TF.to_tensor(Image.open(\"{file}\").convert(\"RGB\"))  # [3, H, W]: one plane per colour\n\
             edge = torch.tensor([[0., -5/3, 1], [-5/3, -5/3, 1], [1., 1, 1]], dtype=torch.float32)\n\
             k0 = edge.expand(1, 3, 3, 3) / 6  # the lesson's: one kernel [1, 3, 3, 3], a 3x3 slice per channel\n\
             k1 = edge.flip(0, 1).expand(1, 3, 3, 3) / 6\n\
             sobel = torch.tensor([[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float32)\n\
             k2 = sobel.expand(1, 3, 3, 3) / 8\n\
             k3 = torch.zeros(1, 3, 3, 3); k3[0, 0, 1, 1] = 1; k3[0, 2, 1, 1] = -1\n\
             w = torch.cat([k0, k1, k2, k3][:{k}])  # {k} kernels stacked, rank 4: [{k}, 3, 3, 3]\n\
             b = torch.full(({k},), {bias}, dtype=torch.float32)\n\
             out = F.conv2d(t[None], w, b, padding=1, stride={s})  # t[None]: [1, 3, H, W]; out: [1, {k}, H', W']\n\n\
             y, x, k = {y}, {x}, {traced}  # the selected output pixel, in output channel k\n\
             xp = F.pad(t[None], (1, 1, 1, 1))  # the zeros that padding=1 adds\n\
             products = xp[0, :, y * {s}:y * {s} + 3, x * {s}:x * {s} + 3] * w[k]  # 3 channels x 9 products\n\
             value = out[0, k, y, x]  # their sum plus the bias\n{footer}",
            file = self.file,
            bias = exact(self.bias),
            footer = footer("out", "products", "value"),
        )
    }
}

/// The size the lesson works at: the photo's longest side.
const SIDE: u32 = 128;

/// Runs the state's convolution of `x` on the page's device.
async fn run(device: &Device, x: Tensor, state: &State) -> Result<ConvRun, String> {
    let (op, weight, bias) = state.conv(x.shape())?;
    ConvRun::new(device, op, x, weight, bias).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stacked_weight_is_rank_4_with_the_lesson_kernel_first() {
        let w = weight(4);
        assert_eq!(w.shape().dims(), &[4, 3, 3, 3]);
        for ch in 0..3 {
            assert_eq!(&w.data()[ch * 9..ch * 9 + 9], &scaled(EDGE, 6.0));
        }
    }

    #[test]
    fn no_setting_of_the_controls_panics() {
        let photo = Tensor::from_fn([1, 3, 7, 9], |i| (i % 11) as f32 / 10.0);
        for kernels in COUNT.samples() {
            for stride in STRIDE.samples() {
                for kernel in 0..kernels {
                    let state = State { file: "128/camera_small.png".into(), kernels, stride, bias: 0.5, cell: (0, 0), kernel };
                    let numbers = state.numbers(&photo).unwrap();
                    assert_eq!(numbers.shape, vec![1, kernels, (7 - 1) / stride + 1, (9 - 1) / stride + 1]);
                    assert!((numbers.output - numbers.window_sum - 0.5).abs() < 1e-5);
                    let last = (numbers.shape[2] - 1, numbers.shape[3] - 1);
                    assert!(State { cell: last, ..state.clone() }.numbers(&photo).is_ok());
                    assert!(State { cell: (last.0 + 1, 0), ..state.clone() }.numbers(&photo).is_err());
                    assert!(state.pytorch().contains(&format!("[:{kernels}]")) && state.pytorch().contains("edge.expand(1, 3, 3, 3) / 6"));
                    // What the page draws and says of the run.
                    let (op, weight, bias) = state.conv(photo.shape()).unwrap();
                    let run = ConvRun { input: photo.clone(), output: op.reference_forward(&photo, &weight, Some(&bias)), op, weight, bias, backend: "CPU".into(), millis: 0.0, fallback: None };
                    let plane_len = run.op.out_h * run.op.out_w;
                    for k in 0..kernels {
                        let (t, sum) = output_channel(&run, k);
                        assert_eq!(t.numel(), plane_len);
                        assert!((sum - run.output.data()[k * plane_len..(k + 1) * plane_len].iter().map(|&v| v as f64).sum::<f64>()).abs() < 1e-9);
                    }
                    assert!(six_note(&run.output, plane_len).ends_with(&format!("of its {plane_len} outputs are above 1.")));
                }
            }
        }
        assert_eq!(plane(&photo, 2).data(), &photo.data()[2 * 63..]);
        for padding in MATRIX_PADDING.samples() {
            let m = Matrix::new(padding).unwrap();
            for (a, b) in m.product.iter().zip(m.conv.data()) {
                assert!((a - b).abs() < 1e-4, "the matrix product {a} is conv2d's {b}");
            }
            // With padding, a corner row holds only the 4 taps that land on the input.
            let taps = |row: &Vec<Vec<(usize, usize, usize)>>| row.iter().filter(|t| !t.is_empty()).count();
            assert_eq!(taps(&m.matrix[0]), if padding == 0 { 9 } else { 4 });
        }
    }
}
