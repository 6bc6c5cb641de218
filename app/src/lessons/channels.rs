//! `/channels`: an RGB image is three planes, so a kernel for it has a 3x3 slice per channel (rank 3), and every
//! slice's 9 products of every channel add up into one output pixel, plus the bias. Stacking K such kernels gives a
//! rank-4 weight `[K, 3, 3, 3]` and K output channels. The shapes are tracked from `[3, H, W]` through `t[None]`
//! to `[1, K, H', W']`. Last, a convolution written as the matrix product it is: a mostly-zero matrix whose
//! non-zero weights are tied, times the flattened input.
//!
//! URL parameters: `photo`, `kernels` (K, 1–4), `kernel` (the one traced), `s` (stride, 1–2), `y`, `x`, `bias`,
//! `mpad` (the matrix view's padding, 0–1).

use crate::device::{use_device, with_fallback};
use crate::image::{draw, load_rgb};
use crate::panel::{PanelNumbers, exact, footer};
use crate::query::Params;
use crate::widgets::photo_picker::sample_files;
use crate::widgets::{Cell, CodePanel, Cursor, NumberGrid, PHOTOS, PhotoChoice, PhotoPicker, LessonPage, ShapeBadge, format_weight, number_select};
use engine::ops::Conv2dParams;
use engine::ops::conv2d::{Conv2d, Conv2dTrace};
use engine::{Device, Shape, Tensor};
use leptos::html::Canvas;
use std::ops::RangeInclusive;
use leptos::prelude::*;

/// How many kernels may be stacked.
pub const KERNEL_COUNTS: RangeInclusive<usize> = 1..=4;
/// The strides offered.
pub const STRIDES: RangeInclusive<usize> = 1..=2;
/// The matrix view's paddings.
pub const MATRIX_PADDINGS: RangeInclusive<usize> = 0..=1;

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

/// What one run produced.
#[derive(Clone)]
struct Run {
    input: Tensor,
    output: Tensor,
    op: Conv2d,
    weight: Tensor,
    bias: Tensor,
    backend: String,
}

/// The page.
#[component]
pub fn Channels() -> impl IntoView {
    let mut params = Params::from_location();
    let photo = PhotoChoice::new(params.choice("photo", PHOTOS[1].file, sample_files(), |f| f));
    let count = params.number("kernels", 2usize, KERNEL_COUNTS);
    let traced = params.number("kernel", 0usize, 0..=*KERNEL_COUNTS.end() - 1);
    let stride = params.number("s", 1usize, STRIDES);
    let cell = params.cell(("y", "x"), (40, 60), 512);
    let bias = params.weight("bias", 0.0, -10.0..=10.0);
    let matrix_padding = params.number("mpad", 0usize, MATRIX_PADDINGS);
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
                Ok(x) => convolve(&page.device, x, &state).await,
                Err(e) => Err(e),
            })
        }
    });
    let ok = move || result.get().flatten().and_then(Result::ok);
    let cursor = Cursor::new(cell, Signal::derive(move || ok().map(|run| (run.op.out_h, run.op.out_w))), 8);

    // The input, its three planes, and the K output channels.
    let input_canvas = NodeRef::<Canvas>::new();
    let plane_canvases = [NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new()];
    let output_canvases = [NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new()];
    Effect::new(move || {
        let Some(run) = ok() else { return };
        if let Some(c) = input_canvas.get() {
            let _ = draw(&c, &run.input);
        }
        let dims = run.input.shape().dims();
        let plane = dims[2] * dims[3];
        for (ch, canvas) in plane_canvases.iter().enumerate() {
            if let Some(c) = canvas.get() {
                let t = Tensor::new([1, 1, dims[2], dims[3]], run.input.data()[ch * plane..(ch + 1) * plane].to_vec()).expect("one plane");
                let _ = draw(&c, &t);
            }
        }
        let out_plane = run.op.out_h * run.op.out_w;
        for (k, canvas) in output_canvases.iter().enumerate().take(run.op.out_channels) {
            if let Some(c) = canvas.get() {
                let t = Tensor::new([1, 1, run.op.out_h, run.op.out_w], run.output.data()[k * out_plane..(k + 1) * out_plane].to_vec()).expect("one channel");
                let _ = draw(&c, &t);
                let sum: f64 = t.data().iter().map(|&v| v as f64).sum();
                let _ = c.set_attribute("data-sum", &format!("{sum:.6}"));
            }
        }
    });

    let trace = Memo::new(move |_| {
        let run = ok()?;
        let (y, x) = cell.get();
        let k = traced.get().min(run.op.out_channels - 1);
        (y < run.op.out_h && x < run.op.out_w).then(|| {
            let t = run.op.trace(&run.input, &run.weight, Some(&run.bias), 0, k, y, x);
            (t, run.output.data()[(k * run.op.out_h + y) * run.op.out_w + x])
        })
    });

    let select_on = move |canvas: NodeRef<Canvas>, k: usize| {
        move |ev: web_sys::MouseEvent| {
            if let Some(c) = canvas.get() {
                cursor.select_at(&c, &ev);
                traced.set(k);
            }
        }
    };

    let shapes = move || {
        ok().map(|r| {
            let d = r.input.shape().dims();
            (
                Shape::from([3, d[2], d[3]]),
                r.input.shape().clone(),
                r.weight.shape().clone(),
                r.output.shape().clone(),
                r.backend.clone(),
            )
        })
    };
    let badge = move |i: usize| {
        Signal::derive(move || {
            shapes().map(|(a, b, c, d, _)| match i {
                0 => a,
                1 => b,
                2 => c,
                _ => d,
            })
        })
    };
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
                {number_select(count, "Kernels stacked (K) ", "kernel-count", KERNEL_COUNTS)}
                {number_select(stride, "Stride ", "stride", STRIDES)}
                <label>
                    "Bias "
                    <input type="number" step="0.1" data-testid="bias" prop:value=move || format_weight(bias.get())
                        on:change=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<f32>() && v.is_finite() {
                                bias.set(v);
                            }
                        }/>
                </label>
            </div>

            <div class="shape-chain" data-testid="shape-chain">
                <ShapeBadge shape=badge(0) testid="shape-image"/>
                <span>" → t[None] → "</span>
                <ShapeBadge shape=badge(1) testid="shape-batch"/>
                <span>" → conv2d with weight "</span>
                <ShapeBadge shape=badge(2) testid="shape-weight"/>
                <span>" → "</span>
                <ShapeBadge shape=badge(3) testid="shape-output"/>
                <span class="backend-used">{move || shapes().map(|s| format!(" (computed on {})", s.4))}</span>
            </div>

            <div class="images planes">
                <figure><canvas node_ref=input_canvas data-testid="input-canvas" aria-label="The colour image"></canvas><figcaption>"the image"</figcaption></figure>
                {["red", "green", "blue"].into_iter().enumerate().map(|(ch, name)| view! {
                    <figure><canvas node_ref=plane_canvases[ch] class=format!("plane {name}") data-testid=format!("plane-{ch}") aria-label=format!("The {name} plane")></canvas><figcaption>{format!("{name} plane [{ch}]")}</figcaption></figure>
                }).collect_view()}
            </div>

            <h2>"The kernels: " <ShapeBadge shape=badge(2) testid="weight-shape"/></h2>
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
                                            <NumberGrid cells={kernel.slices[ch].iter().map(|&v| Cell { value: Some(v), ..Default::default() }).collect::<Vec<_>>()} cols=3usize label={format!("kernel {k}, {} slice", ["red", "green", "blue"][ch])} testid="kernel-slice" decimals=3/>
                                            <figcaption>{["red", "green", "blue"][ch]}</figcaption>
                                        </figure>
                                    }).collect_view()}
                                </div>
                            </div>
                        }
                    }).collect_view()
                }}
            </div>
            <p class="note" data-testid="six-note">
                "Why divide by 6? To scale the outputs down, nothing more: the kernel's positive weights add up to 5 "
                "and its negative ones to −5, so without it one channel's window could give 5 and three channels 15. "
                "Divided by 6, the largest possible output is 3 × 5/6 = 2.5, still above 1, so the strongest edges "
                "still show as white (outputs are drawn clamped to 0…1, as plt.imshow does). Any positive scale finds "
                "the same edges, brighter or dimmer."
                {move || ok().map(|run| {
                    let plane = run.op.out_h * run.op.out_w;
                    let max = run.output.data()[..plane].iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    let clipped = run.output.data()[..plane].iter().filter(|&&v| v > 1.0).count();
                    format!(" On this photo kernel 0 reaches {max:.3}, and {clipped} of its {plane} outputs are above 1.")
                })}
            </p>

            <h2>"The output channels: " <ShapeBadge shape=badge(3) testid="output-shape"/></h2>
            <div class="images outputs">
                {move || (0..count.get()).map(|k| view! {
                    <figure>
                        <canvas node_ref=output_canvases[k] data-testid=format!("output-canvas-{k}") tabindex="0"
                            aria-label=format!("Output channel {k}: choose a pixel to see its sums")
                            on:click=select_on(output_canvases[k], k)></canvas>
                        <figcaption>{format!("channel {k}")}</figcaption>
                    </figure>
                }).collect_view()}
            </div>

            {move || trace.get().map(|(t, engine_value)| view! { <ChannelTrace trace=t engine_value/> })}
            <MatrixView padding=matrix_padding/>
            <CodePanel code/>
        </LessonPage>
    }
}

/// The per-channel products and sums behind one output pixel.
#[component]
fn ChannelTrace(trace: Conv2dTrace, engine_value: f32) -> impl IntoView {
    let per_channel: Vec<(usize, Vec<&engine::ops::conv2d::Tap>)> = (0..3).map(|ch| (ch, trace.taps.iter().filter(|t| t.ci == ch).collect())).collect();
    let sums: Vec<f32> = per_channel.iter().map(|(_, taps)| taps.iter().filter(|t| t.pixel.is_some()).map(|t| t.product).sum()).collect();
    view! {
        <section class="trace" aria-live="polite" data-testid="trace">
            <h2>{format!("Output channel {}, pixel (row {}, column {})", trace.co, trace.oy, trace.ox)}</h2>
            <div class="channel-rows">
                {per_channel.into_iter().map(|(ch, taps)| {
                    let name = ["red", "green", "blue"][ch];
                    let cells = |f: &dyn Fn(&engine::ops::conv2d::Tap) -> f32| taps.iter().map(|t| Cell { value: Some(f(t)), class: if t.pixel.is_none() { "pad".into() } else { String::new() }, note: None }).collect::<Vec<_>>();
                    view! {
                        <div class="channel-row">
                            <span class="channel-name">{name}</span>
                            <NumberGrid cells={cells(&|t| t.input)} cols=3usize label={format!("{name} window")} testid="trace-input" decimals=3/>
                            <span class="op">"×"</span>
                            <NumberGrid cells={cells(&|t| t.weight)} cols=3usize label={format!("{name} slice")} testid="trace-weight" decimals=3/>
                            <span class="op">"="</span>
                            <NumberGrid cells={cells(&|t| t.product)} cols=3usize label={format!("{name} products")} testid={["trace-product-0", "trace-product-1", "trace-product-2"][ch]} decimals=3/>
                            <span class="op">"sum"</span>
                            <strong data-testid=format!("channel-sum-{ch}")>{format!("{:.4}", sums[ch])}</strong>
                        </div>
                    }
                }).collect_view()}
            </div>
            <p class="sum">
                {format!("{:.4} + {:.4} + {:.4}", sums[0], sums[1], sums[2])} " = " <strong data-testid="trace-sum">{format!("{:.4}", trace.sum)}</strong>
                "; plus the bias " <strong data-testid="trace-bias">{format!("{:.4}", trace.bias)}</strong>
                " gives " <strong data-testid="trace-output">{format!("{:.4}", trace.output)}</strong>
                "; the engine computed " <strong data-testid="output-value">{format!("{engine_value:.4}")}</strong> "."
            </p>
        </section>
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
            <div class="matrix-view">
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
            {number_select(padding, "Padding ", "matrix-padding", MATRIX_PADDINGS)}
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
async fn convolve(device: &Device, x: Tensor, state: &State) -> Result<Run, String> {
    let (op, weight, bias) = state.conv(x.shape())?;
    let run = with_fallback(device, |d| {
        let y = op.forward(&x.to(&d), &weight.to(&d), Some(&bias.to(&d)));
        async move { y?.read().await }
    })
    .await?;
    Ok(Run { input: x, output: run.value, op, weight, bias, backend: run.label })
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
        for kernels in KERNEL_COUNTS {
            for stride in STRIDES {
                for kernel in 0..kernels {
                    let state = State { file: "128/camera_small.png".into(), kernels, stride, bias: 0.5, cell: (0, 0), kernel };
                    let numbers = state.numbers(&photo).unwrap();
                    assert_eq!(numbers.shape, vec![1, kernels, (7 - 1) / stride + 1, (9 - 1) / stride + 1]);
                    assert!((numbers.output - numbers.window_sum - 0.5).abs() < 1e-5);
                    let last = (numbers.shape[2] - 1, numbers.shape[3] - 1);
                    assert!(State { cell: last, ..state.clone() }.numbers(&photo).is_ok());
                    assert!(State { cell: (last.0 + 1, 0), ..state.clone() }.numbers(&photo).is_err());
                    assert!(state.pytorch().contains(&format!("[:{kernels}]")) && state.pytorch().contains("edge.expand(1, 3, 3, 3) / 6"));
                }
            }
        }
        for padding in MATRIX_PADDINGS {
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
