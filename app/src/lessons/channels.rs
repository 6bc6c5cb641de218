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
use crate::query::Params;
use crate::widgets::photo_picker::sample_files;
use crate::widgets::{Cell, CodePanel, Cursor, NumberGrid, PHOTOS, PhotoChoice, PhotoPicker, LessonPage, ShapeBadge, format_weight, number_select};
use engine::ops::Conv2dParams;
use engine::ops::conv2d::{Conv2d, Conv2dTrace};
use engine::{Device, Shape, Tensor};
use leptos::html::Canvas;
use leptos::prelude::*;

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
    let count = params.number("kernels", 2usize, 1..=4);
    let traced = params.number("kernel", 0usize, 0..=3);
    let stride = params.number("s", 1usize, 1..=2);
    let cell = params.cell(("y", "x"), (40, 60), 512);
    let bias = params.weight("bias", 0.0, -10.0..=10.0);
    let matrix_padding = params.number("mpad", 0usize, 0..=1);
    let notices = params.notices();
    params.sync();
    let device = use_device();

    Effect::new(move || {
        if traced.get() >= count.get() {
            traced.set(count.get() - 1);
        }
    });

    let image = LocalResource::new(move || {
        let url = photo.source.get().url();
        async move { load_rgb(&url, 128).await }
    });
    let result = LocalResource::new(move || {
        let (image, page, k, s, b) = (image.get(), device.get(), count.get(), stride.get(), bias.get());
        async move {
            let (x, page) = (image?, page?);
            Some(match x {
                Ok(x) => convolve(&page.device, x, k, s, b).await,
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
    let code = Signal::derive(move || {
        let (k, s, b) = (count.get(), stride.get(), bias.get());
        format!(
            "import torch\nimport torch.nn.functional as F\nfrom PIL import Image\nimport torchvision.transforms.functional as TF\n\n\
             t = TF.to_tensor(Image.open(\"{}\"))  # [3, H, W]: one plane per colour\n\
             edge = torch.tensor([[0., -5/3, 1], [-5/3, -5/3, 1], [1., 1, 1]])\n\
             k0 = edge.expand(3, 3, 3) / 6  # a rank-3 kernel: one 3x3 slice per channel\n\
             k1 = edge.flip(0, 1).expand(3, 3, 3) / 6\n\
             sobel = torch.tensor([[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]])\n\
             k2 = sobel.expand(3, 3, 3) / 8\n\
             k3 = torch.zeros(3, 3, 3); k3[0, 1, 1] = 1; k3[2, 1, 1] = -1\n\
             w = torch.stack([k0, k1, k2, k3][:{k}])  # rank 4: [{k}, 3, 3, 3]\n\
             out = F.conv2d(t[None], w, torch.full(({k},), {}), padding=1, stride={s})  # t[None]: [1, 3, H, W]\n\
             out.shape  # [1, {k}, H', W']\n",
            photo.source.get().file_name(),
            format_weight(b),
        )
    });

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
                {number_select(count, "Kernels stacked (K) ", "kernel-count", 1..=4)}
                {number_select(stride, "Stride ", "stride", 1..=2)}
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
                "Why divide by 6? Only to keep the outputs in a range that shows well: the kernel's positive weights add "
                "up to 5 and its negative ones to −5, and three channels add three such sums, so a strong edge would "
                "reach far past 1 and be clipped to white. Any positive scale finds the same edges, brighter or dimmer."
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

/// A convolution as a matrix product, on a 4x4 input and the lesson's 3x3 kernel.
#[component]
fn MatrixView(padding: RwSignal<usize>) -> impl IntoView {
    let x = Tensor::from_fn([1, 1, MATRIX_SIDE, MATRIX_SIDE], |i| ((i * 7) % 10) as f32);
    let w = Tensor::new([1, 1, 3, 3], EDGE.to_vec()).expect("3x3");
    let view = move || {
        let op = Conv2d::new(&Conv2dParams::default().padding(padding.get()), x.shape(), w.shape(), None).expect("a 3x3 kernel fits 4x4 with padding 0 or 1");
        let matrix = op.as_matrix(0);
        let conv = op.reference_forward(&x, &w, None);
        let weight_of = |taps: &[(usize, usize, usize)]| taps.iter().map(|&(_, ky, kx)| w.data()[ky * 3 + kx]).sum::<f32>();
        let product: Vec<f32> = matrix.iter().map(|row| row.iter().zip(x.data()).map(|(taps, v)| weight_of(taps) * v).sum()).collect();
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
    };
    view! {
        <section class="matrix-section">
            <h2>"A convolution is a matrix product"</h2>
            <p>
                "Flatten a 4x4 input into 16 numbers. Each output pixel is then one row of a matrix times that column: "
                "the row holds the kernel's weights at the input pixels its window covers, and zeros everywhere else. "
                "Most of the matrix is zeros, and every row holds the same 9 weights (coloured by their place in the "
                "kernel): the weights are tied."
            </p>
            {number_select(padding, "Padding ", "matrix-padding", 0..=1)}
            {view}
        </section>
    }
}

async fn convolve(device: &Device, x: Tensor, k: usize, stride: usize, bias: f32) -> Result<Run, String> {
    let weight = weight(k);
    let bias = Tensor::from_fn([k], |_| bias);
    let params = Conv2dParams::default().padding(1).stride(stride);
    let op = Conv2d::new(&params, x.shape(), weight.shape(), Some(bias.shape())).map_err(|e| e.to_string())?;
    let run = with_fallback(device, |d| {
        let y = op.forward(&x.to(&d), &weight.to(&d), Some(&bias.to(&d)));
        async move { y.read().await }
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
}
