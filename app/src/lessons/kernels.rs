//! `/kernels`: a 3x3 kernel slides over a photo. Each output pixel is the window of 9 input pixels around it,
//! multiplied elementwise by the 9 weights of the kernel, summed, plus the bias. The convolution runs on the GPU
//! (WebGPU) when there is one, on the CPU otherwise, with the same numbers. Selecting an output pixel shows its
//! window, the 9 products, their sum and the bias; "play" walks the pixels in raster order.
//!
//! URL parameters: `photo` (a sample's file name), `color` (`grayscale`, `rgb`), `mode` (`zeros`, `border`,
//! `reflection`), `kernel` (a preset's id, or `custom`), `w` (9 weights, with `kernel=custom`), `bias`, `y`, `x`
//! (the selected output pixel), `ch` (its channel, for RGB).

use crate::device::{use_device, with_fallback};
use crate::image::{ColorMode, draw, load_rgb, to_mode};
use crate::query::{self, Params};
use crate::widgets::photo_picker::sample_files;
use crate::widgets::{Cell, CodePanel, Cursor, NumberGrid, PHOTOS, PhotoChoice, PhotoPicker, PhotoSource, LessonPage, ShapeBadge, StepControls, choice_select, format_weight};
use engine::ops::conv2d::{Conv2d, Conv2dTrace};
use engine::ops::{Conv2dParams, PaddingMode};
use engine::{Device, Shape, Tensor};
use leptos::html::Canvas;
use leptos::prelude::*;

/// A named 3x3 kernel.
pub struct Preset {
    /// Stable id, used in URLs and test ids.
    pub id: &'static str,
    /// Name on the button.
    pub name: &'static str,
    /// What it does, in one sentence.
    pub about: &'static str,
    /// Weights, row-major.
    pub weights: [f32; 9],
}

const THIRD: f32 = 5.0 / 3.0;

/// The kernels a learner can pick, from the classic image-kernel set and the lesson.
pub const PRESETS: &[Preset] = &[
    Preset {
        id: "lesson-edge",
        name: "Bottom-right edge (lesson 6)",
        about: "The lesson's hand-made kernel [[0,-5/3,1],[-5/3,-5/3,1],[1,1,1]] / 6: bright where the bottom and \
                right of the window are brighter than the top left, so it lights up bottom and right edges. Its \
                weights sum to 0, so a flat area gives 0 (black).",
        weights: [0.0, -THIRD / 6.0, 1.0 / 6.0, -THIRD / 6.0, -THIRD / 6.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0],
    },
    Preset {
        id: "identity",
        name: "Identity",
        about: "Only the centre weight is 1, so each output pixel is the input pixel itself.",
        weights: [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    },
    Preset {
        id: "blur",
        name: "Blur",
        about: "A small Gaussian: each pixel becomes a weighted average of its neighbourhood. The weights sum to 1, \
                so brightness is kept.",
        weights: [0.0625, 0.125, 0.0625, 0.125, 0.25, 0.125, 0.0625, 0.125, 0.0625],
    },
    Preset {
        id: "sharpen",
        name: "Sharpen",
        about: "The centre counts 5 times, minus its 4 neighbours: differences from the neighbourhood are \
                exaggerated. The weights sum to 1.",
        weights: [0.0, -1.0, 0.0, -1.0, 5.0, -1.0, 0.0, -1.0, 0.0],
    },
    Preset {
        id: "outline",
        name: "Outline",
        about: "8 times the centre minus all 8 neighbours: 0 on flat areas, large wherever the pixel differs from \
                its surroundings.",
        weights: [-1.0, -1.0, -1.0, -1.0, 8.0, -1.0, -1.0, -1.0, -1.0],
    },
    Preset {
        id: "emboss",
        name: "Emboss",
        about: "Bottom-right minus top-left, plus the pixel itself: edges look raised, as if lit from one side.",
        weights: [-2.0, -1.0, 0.0, -1.0, 1.0, 1.0, 0.0, 1.0, 2.0],
    },
    Preset {
        id: "sobel-x",
        name: "Sobel (vertical edges)",
        about: "Right column minus left column, the middle row counted twice: responds to left-to-right changes \
                in brightness.",
        weights: [-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0],
    },
    Preset {
        id: "sobel-y",
        name: "Sobel (horizontal edges)",
        about: "Bottom row minus top row, the middle column counted twice: responds to top-to-bottom changes in \
                brightness.",
        weights: [-1.0, -2.0, -1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1.0],
    },
];

/// The id of a kernel the learner typed in.
const CUSTOM: &str = "custom";

/// What one run of the convolution produced.
#[derive(Clone)]
struct Convolved {
    /// The input as the network sees it: `[1, C, H, W]`.
    input: Tensor,
    /// The output: `[1, C, H, W]` (padding 1 keeps the size).
    output: Tensor,
    /// The convolution that made it (for the trace).
    op: Conv2d,
    /// The weight `[C, 1, 3, 3]` and bias `[C]`.
    weight: Tensor,
    bias: Tensor,
    /// The device that computed it.
    backend: String,
    /// Wall time from upload to readback.
    millis: f64,
    /// Set when the GPU failed and the CPU stood in.
    fallback: Option<String>,
}

fn preset_index(id: &str) -> Option<usize> {
    PRESETS.iter().position(|p| p.id == id)
}

fn color_name(c: ColorMode) -> &'static str {
    match c {
        ColorMode::Gray => "grayscale",
        ColorMode::Rgb => "rgb",
    }
}

/// Longest side of an image the learner brings: larger ones are scaled down in the browser.
const MAX_SIDE: u32 = 256;

/// The page.
#[component]
pub fn Kernels() -> impl IntoView {
    // The state, from the URL; every parameter is written back as it changes.
    let mut params = Params::from_location();
    let photo = PhotoChoice::new(params.choice("photo", PHOTOS[0].file, sample_files(), |f| f));
    let color = params.choice("color", ColorMode::Gray, [ColorMode::Gray, ColorMode::Rgb], color_name);
    let padding_mode = params.choice("mode", PaddingMode::Zeros, PaddingMode::LESSON, PaddingMode::name);
    let q = params.query();
    let kernel_id = q.choice("kernel", PRESETS[0].id, |v| if v == CUSTOM { Some(CUSTOM) } else { preset_index(v).map(|i| PRESETS[i].id) }, |id| id);
    let weights = RwSignal::new(match preset_index(kernel_id) {
        Some(i) => PRESETS[i].weights.to_vec(),
        None => q.numbers("w", &PRESETS[0].weights, 9),
    });
    let preset = RwSignal::new(preset_index(kernel_id));
    params.write("kernel", move || Some(preset.get().map_or(CUSTOM, |i| PRESETS[i].id).to_string()));
    params.write("w", move || preset.get().is_none().then(|| query::join_numbers(&weights.get())));
    let bias = params.weight("bias", 0.0, -10.0..=10.0);
    let cell = params.cell(("y", "x"), (0, 0), 4096);
    let channel = params.number("ch", 0usize, 0..=2);
    let notices = params.notices();
    params.sync();
    let device = use_device();

    let image = LocalResource::new(move || {
        let url = photo.source.get().url();
        async move { load_rgb(&url, MAX_SIDE).await }
    });
    let result = LocalResource::new(move || {
        let (image, page) = (image.get(), device.get());
        let (w, b, color, mode) = (weights.get(), bias.get(), color.get(), padding_mode.get());
        async move {
            let (image, page) = (image?, page?);
            Some(match image {
                Ok(rgb) => convolve(&page.device, to_mode(&rgb, color), &w, b, mode).await,
                Err(e) => Err(e),
            })
        }
    });
    let done = move || result.get().flatten();
    let ok = move || done().and_then(Result::ok);
    let cursor = Cursor::new(cell, Signal::derive(move || ok().map(|run| (run.op.out_h, run.op.out_w))), 8);
    // The channel stays one the output has.
    Effect::new(move || {
        if let Some(run) = ok()
            && channel.get_untracked() >= run.op.out_channels
        {
            channel.set(0);
        }
    });

    let input_canvas = NodeRef::<Canvas>::new();
    let output_canvas = NodeRef::<Canvas>::new();
    let draw_error = RwSignal::new(None::<String>);
    // Canvas drawing is outside the reactive system: an effect keeps it in sync.
    Effect::new(move || {
        if let (Some(run), Some(input), Some(output)) = (ok(), input_canvas.get(), output_canvas.get()) {
            draw_error.set(draw(&input, &run.input).and_then(|()| draw(&output, &run.output)).err());
            // Marks which result the canvas shows, so tests (and curious learners) can tell it is up to date.
            let _ = output.set_attribute("data-sum", &checksum(&run.output));
        }
    });

    let trace = Memo::new(move |_| {
        let run = ok()?;
        let (y, x) = cell.get();
        let co = channel.get().min(run.op.out_channels - 1);
        (y < run.op.out_h && x < run.op.out_w).then(|| {
            let t = run.op.trace(&run.input, &run.weight, Some(&run.bias), 0, co, y, x);
            let engine_value = run.output.data()[(co * run.op.out_h + y) * run.op.out_w + x];
            (t, engine_value)
        })
    });

    let input_shape = Signal::derive(move || ok().map(|r| r.input.shape().clone()));
    let output_shape = Signal::derive(move || ok().map(|r| r.output.shape().clone()));
    let code = Signal::derive(move || pytorch(&photo.source.get(), color.get(), &weights.get(), bias.get(), padding_mode.get()));
    let box_style = move |canvas_h: usize, canvas_w: usize| {
        let (y, x) = cell.get();
        // The 3x3 window around (y, x), as a share of the image (padding 1 keeps the size).
        format!(
            "top:{:.3}%;left:{:.3}%;height:{:.3}%;width:{:.3}%",
            (y as f64 - 1.0) * 100.0 / canvas_h as f64,
            (x as f64 - 1.0) * 100.0 / canvas_w as f64,
            300.0 / canvas_h as f64,
            300.0 / canvas_w as f64
        )
    };
    let window_box = move || ok().map(|r| box_style(r.op.out_h, r.op.out_w)).unwrap_or_default();
    let pixel_box = move || {
        ok().map(|r| {
            let (y, x) = cell.get();
            format!(
                "top:{:.3}%;left:{:.3}%;height:{:.3}%;width:{:.3}%",
                y as f64 * 100.0 / r.op.out_h as f64,
                x as f64 * 100.0 / r.op.out_w as f64,
                100.0 / r.op.out_h as f64,
                100.0 / r.op.out_w as f64
            )
        })
    };

    view! {
        <LessonPage
            class="kernels"
            title="Image kernels"
            lede="A kernel is a small grid of weights. Slide it over the image: at every position, multiply the 3x3 \
                  window of pixels under it by the 9 weights, one by one, add the 9 products up, and add the bias. \
                  That sum is one pixel of the output. Doing this at every position is a convolution, the first \
                  layer of every image network. Pick a pixel of the output to see its sum."
            notices
            cursor
        >

            <div class="controls">
                <PhotoPicker choice=photo/>
                <fieldset class="choice">
                    <legend>"Channels"</legend>
                    {[ColorMode::Gray, ColorMode::Rgb]
                        .into_iter()
                        .map(|mode| {
                            view! {
                                <label>
                                    <input
                                        type="radio"
                                        name="color"
                                        data-testid=format!("color-{}", color_name(mode))
                                        prop:checked=move || color.get() == mode
                                        on:change=move |_| color.set(mode)
                                    />
                                    {mode.name()}
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                {choice_select(padding_mode, "Padding ", "padding-mode", PaddingMode::LESSON, |m| m.name().to_string())}
            </div>

            <fieldset class="presets">
                <legend>"Kernel"</legend>
                {PRESETS
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        view! {
                            <button
                                type="button"
                                data-testid=format!("preset-{}", p.id)
                                aria-pressed=move || (preset.get() == Some(i)).to_string()
                                on:click=move |_| {
                                    preset.set(Some(i));
                                    weights.set(PRESETS[i].weights.to_vec());
                                }
                            >
                                {p.name}
                            </button>
                        }
                    })
                    .collect_view()}
            </fieldset>

            <div class="kernel-view">
                <table class="kernel-grid editable" data-testid="kernel-grid">
                    <caption>"The kernel's 9 weights: type to change them"</caption>
                    <tbody>
                        {(0..3)
                            .map(|r| {
                                view! {
                                    <tr>
                                        {(0..3)
                                            .map(|c| {
                                                let i = r * 3 + c;
                                                view! {
                                                    <td>
                                                        <input
                                                            type="number"
                                                            step="0.1"
                                                            aria-label=format!("weight at row {}, column {}", r + 1, c + 1)
                                                            data-testid=format!("kernel-cell-{r}-{c}")
                                                            prop:value=move || format_weight(weights.get()[i])
                                                            on:change=move |ev| {
                                                                if let Ok(v) = event_target_value(&ev).parse::<f32>()
                                                                    && v.is_finite()
                                                                {
                                                                    weights.update(|w| w[i] = v);
                                                                    preset.set(None);
                                                                }
                                                            }
                                                        />
                                                    </td>
                                                }
                                            })
                                            .collect_view()}
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
                <div class="about">
                    <p data-testid="kernel-about">
                        {move || preset.get().map_or("Your own kernel: each output pixel is the sum of the window times these weights.", |i| PRESETS[i].about)}
                    </p>
                    <label>
                        "Bias "
                        <input
                            type="number"
                            step="0.1"
                            data-testid="bias"
                            prop:value=move || format_weight(bias.get())
                            on:change=move |ev| {
                                if let Ok(v) = event_target_value(&ev).parse::<f32>()
                                    && v.is_finite()
                                {
                                    bias.set(v);
                                }
                            }
                        />
                    </label>
                </div>
            </div>

            <div class="images">
                <figure on:dragover=|ev: web_sys::DragEvent| ev.prevent_default() on:drop=move |ev| photo.dropped(ev)>
                    <div class="canvas-box">
                        <canvas node_ref=input_canvas data-testid="input-canvas" aria-label="The input image (drop an image here to use your own)"></canvas>
                        <div class="window-box" aria-hidden="true" style=window_box></div>
                    </div>
                    <figcaption>"Input " <ShapeBadge shape=input_shape testid="input-shape"/> " (drop an image here)"</figcaption>
                </figure>
                <div class="arrow" aria-hidden="true">"conv2d, padding 1 →"</div>
                <figure>
                    <div class="canvas-box">
                        <canvas
                            node_ref=output_canvas
                            data-testid="output-canvas"
                            tabindex="0"
                            aria-label="The convolved image: click a pixel, or use the arrow keys, to see how it was computed"
                            on:click=move |ev| {
                                if let Some(canvas) = output_canvas.get() {
                                    cursor.select_at(&canvas, &ev);
                                }
                            }
                            on:mousemove=move |ev| {
                                if let Some(canvas) = output_canvas.get() {
                                    cursor.hover(&canvas, &ev);
                                }
                            }
                        ></canvas>
                        <div class="pixel-box" aria-hidden="true" style=pixel_box></div>
                    </div>
                    <figcaption>"Output " <ShapeBadge shape=output_shape testid="output-shape"/></figcaption>
                </figure>
            </div>

            <div class="step-row">
                <StepControls cursor label="the output pixels" speeds=&[1, 4, 8, 30, 120]/>
                {move || (color.get() == ColorMode::Rgb).then(|| view! {
                    <label>
                        "Channel "
                        <select data-testid="channel" on:change=move |ev| channel.set(event_target_value(&ev).parse().unwrap_or(0))>
                            {["red", "green", "blue"].into_iter().enumerate().map(|(i, n)| view! { <option value=i.to_string() selected=move || channel.get() == i>{n}</option> }).collect_view()}
                        </select>
                    </label>
                })}
            </div>

            {move || trace.get().map(|(t, engine_value)| view! { <TraceView trace=t engine_value/> })}

            {move || match done() {
                None => view! { <p class="status" data-testid="status">"Computing…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert" data-testid="error">{e}</p> }.into_any(),
                Some(Ok(run)) => view! { <RunSummary run/> }.into_any(),
            }}
            {move || draw_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <CodePanel code/>
        </LessonPage>
    }
}

/// How the selected output pixel was computed: the window, the kernel, the 9 products, their sum and the bias.
#[component]
fn TraceView(trace: Conv2dTrace, engine_value: f32) -> impl IntoView {
    let window: Vec<Cell> = trace
        .taps
        .iter()
        .map(|t| Cell { value: Some(t.input), class: if t.pixel.is_none() { "pad".into() } else { String::new() }, note: None })
        .collect();
    let kernel: Vec<Cell> = trace.taps.iter().map(|t| Cell { value: Some(t.weight), ..Default::default() }).collect();
    let products: Vec<Cell> = trace.taps.iter().map(|t| Cell { value: Some(t.product), ..Default::default() }).collect();
    let terms = trace.taps.iter().map(|t| format!("{:.3}", t.product + 0.0)).collect::<Vec<_>>().join(" + ");
    view! {
        <section class="trace" aria-live="polite" data-testid="trace">
            <h2>{format!("Output pixel (row {}, column {})", trace.oy, trace.ox)}</h2>
            <div class="trace-grids">
                <figure><NumberGrid cells=window cols=3usize label="The input window".to_string() testid="trace-input" decimals=3/><figcaption>"input window"</figcaption></figure>
                <div class="op" aria-hidden="true">"×"</div>
                <figure><NumberGrid cells=kernel cols=3usize label="The kernel".to_string() testid="trace-weight" decimals=3/><figcaption>"kernel"</figcaption></figure>
                <div class="op" aria-hidden="true">"="</div>
                <figure><NumberGrid cells=products cols=3usize label="The 9 products".to_string() testid="trace-product" decimals=3/><figcaption>"products"</figcaption></figure>
            </div>
            <p class="sum">
                {terms} " = " <strong data-testid="trace-sum">{format!("{:.4}", trace.sum)}</strong>
                "; plus the bias " <strong data-testid="trace-bias">{format!("{:.4}", trace.bias)}</strong>
                " gives " <strong data-testid="trace-output">{format!("{:.4}", trace.output)}</strong>
                ", the output pixel, which the engine computed as " <strong data-testid="output-value">{format!("{engine_value:.4}")}</strong> "."
            </p>
            <p class="hint">"Padding cells (outside the image) are marked; with zeros padding they are 0."</p>
        </section>
    }
}

/// The numbers about one run: where it ran, how long it took, and the output's range.
#[component]
fn RunSummary(run: Convolved) -> impl IntoView {
    let values = run.output.data();
    let (min, max) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len().max(1) as f64;
    view! {
        <p class="stats" data-testid="output-stats" data-sum=checksum(&run.output) data-backend=run.backend.clone()>
            {format!(
                "Output values from {min:.3} to {max:.3}, mean {mean:.4} (shown clamped to 0…1). Computed on {} in {:.1} ms.",
                run.backend, run.millis
            )}
        </p>
        {run.fallback.map(|note| view! { <p class="notice" role="status">{note}</p> })}
    }
}

/// Convolves `x [1, C, H, W]` with the same 3x3 kernel on every channel (a depthwise convolution: weight
/// `[C, 1, 3, 3]`, `groups = C`), padding 1 so the output keeps the input's size.
async fn convolve(device: &Device, x: Tensor, kernel: &[f32], bias: f32, mode: PaddingMode) -> Result<Convolved, String> {
    let channels = x.shape().dims()[1];
    let weight = Tensor::from_fn(Shape::from([channels, 1, 3, 3]), |i| kernel[i % 9]);
    let bias = Tensor::from_fn([channels], |_| bias);
    let params = Conv2dParams::default().padding(1).padding_mode(mode).groups(channels);
    let op = Conv2d::new(&params, x.shape(), weight.shape(), Some(bias.shape())).map_err(|e| e.to_string())?;
    let start = now();
    let run = with_fallback(device, |d| {
        let y = op.forward(&x.to(&d), &weight.to(&d), Some(&bias.to(&d)));
        async move { y.read().await }
    })
    .await?;
    Ok(Convolved { input: x, output: run.value, op, weight, bias, backend: run.label, millis: now() - start, fallback: run.fallback })
}

/// The PyTorch code for the current state.
fn pytorch(source: &PhotoSource, color: ColorMode, w: &[f32], bias: f32, mode: PaddingMode) -> String {
    let file = source.file_name();
    let rows: Vec<String> = w.chunks(3).map(|r| format!("[{}]", r.iter().map(|v| format_weight(*v)).collect::<Vec<_>>().join(", "))).collect();
    let (convert, channels) = match color {
        ColorMode::Gray => ("\"L\"", 1),
        ColorMode::Rgb => ("\"RGB\"", 3),
    };
    let call = match mode {
        PaddingMode::Zeros => format!("F.conv2d(t[None], w, b, padding=1, groups={channels})"),
        other => format!("F.conv2d(F.pad(t[None], (1, 1, 1, 1), mode=\"{}\"), w, b, groups={channels})", other.pytorch_name()),
    };
    format!(
        "import torch\nimport torch.nn.functional as F\nfrom PIL import Image\nimport torchvision.transforms.functional as TF\n\n\
         t = TF.to_tensor(Image.open(\"{file}\").convert({convert}))  # [{channels}, H, W], values 0..1\n\
         k = torch.tensor([{}])\n\
         w = k.expand({channels}, 1, 3, 3)  # the same kernel for every channel\n\
         b = torch.full(({channels},), {})\n\
         out = {call}  # [1, {channels}, H, W]\n",
        rows.join(", "),
        format_weight(bias)
    )
}

/// The sum of all values, to 6 decimals: a fingerprint of a result that tests compare across backends.
fn checksum(t: &Tensor) -> String {
    format!("{:.6}", t.data().iter().map(|&v| v as f64).sum::<f64>())
}

/// Milliseconds from the page's clock.
fn now() -> f64 {
    engine::clock::now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset(id: &str) -> &'static Preset {
        PRESETS.iter().find(|p| p.id == id).expect("a preset with this id")
    }

    #[test]
    fn the_weight_sums_the_explanations_promise_hold() {
        let sum = |id| preset(id).weights.iter().sum::<f32>();
        // "Its weights sum to 0, so a flat area gives 0 (black)."
        assert!(sum("lesson-edge").abs() < 1e-6);
        assert!(sum("outline").abs() < 1e-6);
        // "The weights sum to 1, so brightness is kept."
        assert!((sum("blur") - 1.0).abs() < 1e-6);
        assert!((sum("sharpen") - 1.0).abs() < 1e-6);
        assert_eq!(sum("identity"), 1.0);
    }

    #[test]
    fn the_lesson_kernel_is_the_one_in_the_lesson() {
        // tensor([[0,-5/3,1],[-5/3,-5/3,1],[1,1,1]]) / 6
        let expected = [0.0, -5.0 / 3.0, 1.0, -5.0 / 3.0, -5.0 / 3.0, 1.0, 1.0, 1.0, 1.0].map(|v: f32| v / 6.0);
        assert_eq!(preset("lesson-edge").weights, expected);
    }

    #[test]
    fn preset_ids_are_unique_and_not_custom() {
        for (i, p) in PRESETS.iter().enumerate() {
            assert!(PRESETS[i + 1..].iter().all(|q| q.id != p.id), "{} appears twice", p.id);
            assert_ne!(p.id, CUSTOM);
        }
    }

    #[test]
    fn the_pytorch_code_names_the_mode_as_pytorch_does() {
        let code = pytorch(&PhotoSource::Sample("camera_small.png"), ColorMode::Rgb, &PRESETS[1].weights, 0.5, PaddingMode::Reflection);
        assert!(code.contains("mode=\"reflect\"") && code.contains("groups=3") && code.contains("torch.full((3,), 0.5)"), "{code}");
        let code = pytorch(&PhotoSource::Sample("camera_small.png"), ColorMode::Gray, &PRESETS[1].weights, 0.0, PaddingMode::Zeros);
        assert!(code.contains("padding=1, groups=1"), "{code}");
    }
}
