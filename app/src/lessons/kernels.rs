//! `/kernels`: a 3x3 kernel slides over a photo. Each output pixel is the window of 9 input pixels around it,
//! multiplied elementwise by the 9 weights of the kernel, summed, plus the bias. The convolution runs on the GPU
//! (WebGPU) when there is one, on the CPU otherwise, with the same numbers. Selecting an output pixel shows its
//! window, the 9 products, their sum and the bias; "play" walks the pixels in raster order.
//!
//! URL parameters ([`PARAMS`]): `photo` (a sample's file name), `color` (`grayscale`, `rgb`: each channel on its
//! own, `rgb-summed`: the lesson's, the channels' sums added into one output), `mode` (`none`, `zeros`, `border`,
//! `reflection`), `kernel` (a preset's id, or `custom`), `w` (9 weights from −100 to 100, with `kernel=custom`),
//! `bias` (−10 to 10), `y`, `x` (the selected output pixel), `ch` (its channel, for RGB).

use crate::device::use_device;
use crate::image::{ColorMode, draw, load_rgb, to_mode};
use crate::panel::{PanelNumbers, exact, footer};
#[cfg(not(target_arch = "wasm32"))]
use crate::panel::{Assets, Case, url};
use crate::query::{AnyParam, Param, Params, join};
use crate::widgets::{CodePanel, ConvRun, ConvTrace, Cursor, LessonPage, PHOTOS, Photo, PhotoChoice, PhotoPicker, ShapeBadge, StepControls, number_input, photo_param, select, typed_notice};
use engine::ops::conv2d::Conv2d;
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
    /// The kernel as PyTorch source, as the lesson writes it (fractions as fractions).
    pub python: &'static str,
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
        python: "torch.tensor([[0., -5/3, 1], [-5/3, -5/3, 1], [1., 1, 1]], dtype=torch.float32) / 6",
    },
    Preset {
        id: "identity",
        name: "Identity",
        about: "Only the centre weight is 1, so each output pixel is the input pixel itself.",
        weights: [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        python: "torch.tensor([[0., 0, 0], [0, 1, 0], [0, 0, 0]], dtype=torch.float32)",
    },
    Preset {
        id: "blur",
        name: "Blur",
        about: "A small Gaussian: each pixel becomes a weighted average of its neighbourhood. The weights sum to 1, \
                so brightness is kept.",
        weights: [0.0625, 0.125, 0.0625, 0.125, 0.25, 0.125, 0.0625, 0.125, 0.0625],
        python: "torch.tensor([[1., 2, 1], [2, 4, 2], [1, 2, 1]], dtype=torch.float32) / 16",
    },
    Preset {
        id: "sharpen",
        name: "Sharpen",
        about: "The centre counts 5 times, minus its 4 neighbours: differences from the neighbourhood are \
                exaggerated. The weights sum to 1.",
        weights: [0.0, -1.0, 0.0, -1.0, 5.0, -1.0, 0.0, -1.0, 0.0],
        python: "torch.tensor([[0., -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=torch.float32)",
    },
    Preset {
        id: "outline",
        name: "Outline",
        about: "8 times the centre minus all 8 neighbours: 0 on flat areas, large wherever the pixel differs from \
                its surroundings.",
        weights: [-1.0, -1.0, -1.0, -1.0, 8.0, -1.0, -1.0, -1.0, -1.0],
        python: "torch.tensor([[-1., -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=torch.float32)",
    },
    Preset {
        id: "emboss",
        name: "Emboss",
        about: "Bottom-right minus top-left, plus the pixel itself: edges look raised, as if lit from one side.",
        weights: [-2.0, -1.0, 0.0, -1.0, 1.0, 1.0, 0.0, 1.0, 2.0],
        python: "torch.tensor([[-2., -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=torch.float32)",
    },
    Preset {
        id: "sobel-x",
        name: "Sobel (vertical edges)",
        about: "Right column minus left column, the middle row counted twice: responds to left-to-right changes \
                in brightness.",
        weights: [-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0],
        python: "torch.tensor([[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float32)",
    },
    Preset {
        id: "sobel-y",
        name: "Sobel (horizontal edges)",
        about: "Bottom row minus top row, the middle column counted twice: responds to top-to-bottom changes in \
                brightness.",
        weights: [-1.0, -2.0, -1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1.0],
        python: "torch.tensor([[-1., -2, -1], [0, 0, 0], [1, 2, 1]], dtype=torch.float32)",
    },
];

/// The id of a kernel the learner typed in.
const CUSTOM: &str = "custom";

/// Every kernel choice: each preset (by its index in [`PRESETS`]), then the learner's own (`None`).
const KERNEL_CHOICES: [Option<usize>; PRESETS.len() + 1] = {
    let mut out = [None; PRESETS.len() + 1];
    let mut i = 0;
    while i < PRESETS.len() {
        out[i] = Some(i);
        i += 1;
    }
    out
};

/// A kernel choice's name in URLs: the preset's id, or `custom`.
fn kernel_name(choice: Option<usize>) -> &'static str {
    choice.map_or(CUSTOM, |i| PRESETS[i].id)
}

/// How the photo's channels meet the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channels {
    /// The photo's brightness, one channel: weight `[1, 1, 3, 3]`, one output channel.
    Gray,
    /// Red, green and blue each convolved on its own (a depthwise convolution, `groups=3`): weight `[3, 1, 3, 3]`,
    /// three output channels.
    Each,
    /// The lesson's: one kernel with the same 3x3 slice for each channel, whose three channel sums add up into one
    /// output channel: weight `[1, 3, 3, 3]`, `k.expand(1, 3, 3, 3)`.
    Summed,
}

impl Channels {
    /// The choices, in the order the page offers them.
    pub const ALL: [Channels; 3] = [Channels::Gray, Channels::Each, Channels::Summed];

    /// The name in URLs and test ids.
    pub fn name(self) -> &'static str {
        match self {
            Channels::Gray => "grayscale",
            Channels::Each => "rgb",
            Channels::Summed => "rgb-summed",
        }
    }

    /// The label on the page.
    fn label(self) -> &'static str {
        match self {
            Channels::Gray => "grayscale",
            Channels::Each => "RGB, each channel on its own",
            Channels::Summed => "RGB, channels summed (the lesson's)",
        }
    }

    /// The photo's channels as the convolution takes them.
    pub fn color(self) -> ColorMode {
        match self {
            Channels::Gray => ColorMode::Gray,
            Channels::Each | Channels::Summed => ColorMode::Rgb,
        }
    }

    /// How many output channels there are.
    pub fn outputs(self) -> usize {
        match self {
            Channels::Each => 3,
            Channels::Gray | Channels::Summed => 1,
        }
    }
}

/// The border choices: no padding (the output loses a pixel on each side), or padding 1 in one of the modes.
pub const BORDERS: [Option<PaddingMode>; 4] = [None, Some(PaddingMode::Zeros), Some(PaddingMode::Border), Some(PaddingMode::Reflection)];

/// A border choice's name in URLs and on the page.
pub fn border_name(border: Option<PaddingMode>) -> &'static str {
    border.map_or("none", PaddingMode::name)
}

/// Longest side of an image the learner brings: larger ones are scaled down in the browser.
const MAX_SIDE: u32 = 256;

/// The sample photo.
pub const PHOTO: Param<Photo> = photo_param(PHOTOS[0]);
/// How the photo's channels meet the kernel.
pub const COLOR: Param<Channels> = Param::choices("color", Channels::Gray, &Channels::ALL, Channels::name);
/// No padding, or padding 1 in one of the lesson's modes.
pub const MODE: Param<Option<PaddingMode>> = Param::choices("mode", Some(PaddingMode::Zeros), &BORDERS, border_name);
/// A preset, or the learner's own weights.
pub const KERNEL: Param<Option<usize>> = Param::choices("kernel", Some(0), &KERNEL_CHOICES, kernel_name);
/// One of the learner's own 9 weights (the list `w`, written only for `kernel=custom`).
pub const WEIGHT: Param<f32> = Param::range("w", 0.0, -100.0, 100.0);
/// The bias.
pub const BIAS: Param<f32> = Param::range("bias", 0.0, -10.0, 10.0);
/// The selected output pixel's row (clamped into the output on the page).
pub const Y: Param<usize> = Param::range("y", 0, 0, 4096);
/// Its column.
pub const X: Param<usize> = Param::range("x", 0, 0, 4096);
/// Its output channel (RGB, each channel on its own).
pub const CHANNEL: Param<usize> = Param::range("ch", 0, 0, 2);
/// Every parameter, in the URL's order.
pub const PARAMS: &[&dyn AnyParam] = &[&PHOTO, &COLOR, &MODE, &KERNEL, &WEIGHT, &BIAS, &Y, &X, &CHANNEL];

/// The page.
#[component]
pub fn Kernels() -> impl IntoView {
    // The state, from the URL; every parameter is written back as it changes.
    let mut params = Params::from_location();
    let photo = PhotoChoice::new(params.get(&PHOTO), MAX_SIDE);
    let (color, padding_mode, preset) = (params.get(&COLOR), params.get(&MODE), params.get(&KERNEL));
    let weights = RwSignal::new(match preset.get_untracked() {
        Some(i) => PRESETS[i].weights.to_vec(),
        None => params.query().list(&WEIGHT, 9, &PRESETS[0].weights),
    });
    params.write(WEIGHT.key, move || preset.get().is_none().then(|| join(&WEIGHT, &weights.get())));
    let bias = params.get(&BIAS);
    let cell = params.cell((&Y, &X));
    let channel = params.get(&CHANNEL);
    let notices = params.notices();
    params.sync();
    let device = use_device();

    let image = LocalResource::new(move || {
        let url = photo.source.get().url(MAX_SIDE);
        async move { load_rgb(&url, MAX_SIDE).await }
    });
    // What the convolution depends on (the selected pixel is not).
    let conv_state = move || State {
        file: photo.source.get().file_name(MAX_SIDE),
        color: color.get(),
        preset: preset.get(),
        weights: weights.get(),
        bias: bias.get(),
        mode: padding_mode.get(),
        cell: (0, 0),
        channel: 0,
    };
    let result = LocalResource::new(move || {
        let (image, page, state) = (image.get(), device.get(), conv_state());
        async move {
            let (image, page) = (image?, page?);
            Some(match image {
                Ok(rgb) => run(&page.device, to_mode(&rgb, state.color.color()), &state).await,
                Err(e) => Err(e),
            })
        }
    });
    let done = move || result.get().flatten();
    let ok = Signal::derive(move || done().and_then(Result::ok));
    let cursor = Cursor::new(cell, Signal::derive(move || ok.get().map(|run| (run.op.out_h, run.op.out_w))), 8);
    // The channel stays one the output has.
    Effect::new(move || {
        if let Some(run) = ok.get()
            && channel.get_untracked() >= run.op.out_channels
        {
            channel.set(0);
        }
    });
    let trace = Memo::new(move |_| ok.get()?.trace(cell.get(), channel.get()));
    let code = Signal::derive(move || State { cell: cell.get(), channel: channel.get(), ..conv_state() }.pytorch());

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
                    {Channels::ALL.into_iter().map(|mode| view! {
                        <label>
                            <input type="radio" name="color" data-testid=format!("color-{}", mode.name())
                                prop:checked=move || color.get() == mode on:change=move |_| color.set(mode)/>
                            {mode.label()}
                        </label>
                    }).collect_view()}
                </fieldset>
                {select(&MODE, padding_mode, "Padding ", "padding-mode")}
            </div>
            <KernelEditor preset weights bias/>
            <Images ok photo cursor padded=Signal::derive(move || padding_mode.get().is_some())/>

            <div class="step-row">
                <StepControls cursor label="the output pixels" speeds=&[1, 4, 8, 30, 120]/>
                {move || (color.get() == Channels::Each).then(|| view! {
                    <label>
                        "Channel "
                        <select data-testid="channel" on:change=move |ev| channel.set(CHANNEL.parse(&event_target_value(&ev)).unwrap_or(0))>
                            {["red", "green", "blue"].into_iter().enumerate().map(|(i, n)| view! { <option value=i.to_string() selected=move || channel.get() == i>{n}</option> }).collect_view()}
                        </select>
                    </label>
                })}
            </div>

            {move || trace.get().map(|(t, engine_value)| {
                let heading = format!("Output pixel (row {}, column {})", t.oy, t.ox);
                let several = color.get() == Channels::Summed;
                view! {
                    <ConvTrace trace=t engine_value heading/>
                    <p class="hint">
                        {if several { "The three channels' products all add up into this one output pixel, as the lesson's kernel does. " } else { "" }}
                        "Padding cells (outside the image) are marked; with zeros padding they are 0. Without padding, every window \
                         lies inside the image, so the output is 2 pixels smaller each way."
                    </p>
                }
            })}

            {move || match done() {
                None => view! { <p class="status" data-testid="status">"Computing…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert" data-testid="error">{e}</p> }.into_any(),
                Some(Ok(run)) => view! { <RunSummary run/> }.into_any(),
            }}
            <CodePanel code/>
        </LessonPage>
    }
}

/// The preset buttons, the 3x3 grid of weights the learner can type into, and the bias.
#[component]
fn KernelEditor(preset: RwSignal<Option<usize>>, weights: RwSignal<Vec<f32>>, bias: RwSignal<f32>) -> impl IntoView {
    // What the grid said about the last text typed into a cell.
    let message = RwSignal::new(None::<String>);
    let cell = move |r: usize, c: usize| {
        let i = r * 3 + c;
        view! {
            <td>
                <input type="number" step="0.1" min=WEIGHT.to_url(WEIGHT.bounds().0) max=WEIGHT.to_url(WEIGHT.bounds().1)
                    aria-label=format!("weight at row {}, column {}", r + 1, c + 1) data-testid=format!("kernel-cell-{r}-{c}")
                    prop:value=move || WEIGHT.to_url(weights.get()[i])
                    on:change=move |ev| {
                        let typed = event_target_value(&ev);
                        let (stored, said) = WEIGHT.typed(&typed, weights.get_untracked()[i]);
                        message.set(said.map(|m| format!("Row {}, column {}: {m}", r + 1, c + 1)));
                        if stored != weights.get_untracked()[i] {
                            weights.update(|w| w[i] = stored);
                            preset.set(None);
                        } else {
                            // Not a number, or the same: the cell shows the stored weight again.
                            weights.notify();
                        }
                    }/>
            </td>
        }
    };
    view! {
        <fieldset class="presets">
            <legend>"Kernel"</legend>
            {PRESETS.iter().enumerate().map(|(i, p)| view! {
                <button type="button" data-testid=format!("preset-{}", p.id) aria-pressed=move || (preset.get() == Some(i)).to_string()
                    on:click=move |_| {
                        preset.set(Some(i));
                        weights.set(PRESETS[i].weights.to_vec());
                    }>
                    {p.name}
                </button>
            }).collect_view()}
        </fieldset>
        <div class="kernel-view">
            <table class="kernel-grid editable" data-testid="kernel-grid">
                <caption>"The kernel's 9 weights: type to change them"</caption>
                <tbody>{(0..3).map(|r| view! { <tr>{(0..3).map(|c| cell(r, c)).collect_view()}</tr> }).collect_view()}</tbody>
            </table>
            {typed_notice(message, "kernel-cell-notice".to_string())}
            <div class="about">
                <p data-testid="kernel-about">{move || about(preset.get())}</p>
                {number_input(&BIAS, bias, "Bias ", "bias")}
            </div>
        </div>
    }
}

/// The input with the selected pixel's window outlined, and the output, whose pixels choose the cell.
#[component]
fn Images(ok: Signal<Option<ConvRun>>, photo: PhotoChoice, cursor: Cursor, padded: Signal<bool>) -> impl IntoView {
    let input_canvas = NodeRef::<Canvas>::new();
    let output_canvas = NodeRef::<Canvas>::new();
    let draw_error = RwSignal::new(None::<String>);
    // Canvas drawing is outside the reactive system: an effect keeps it in sync.
    Effect::new(move || {
        if let (Some(run), Some(input), Some(output)) = (ok.get(), input_canvas.get(), output_canvas.get()) {
            draw_error.set(draw(&input, &run.input).and_then(|()| draw(&output, &run.output)).err());
            // Marks which result the canvas shows, so tests (and curious learners) can tell it is up to date.
            let _ = output.set_attribute("data-sum", &checksum(&run.output));
        }
    });
    let window_box = move || ok.get().map(|r| window_box(&r.op, cursor.cell.get())).unwrap_or_default();
    let pixel_box = move || ok.get().map(|r| pixel_box(&r.op, cursor.cell.get())).unwrap_or_default();
    let input_shape = Signal::derive(move || ok.get().map(|r| r.input.shape().clone()));
    let output_shape = Signal::derive(move || ok.get().map(|r| r.output.shape().clone()));
    view! {
        <div class="images">
            <figure on:dragover=|ev: web_sys::DragEvent| ev.prevent_default() on:drop=move |ev| photo.dropped(ev)>
                <div class="canvas-box">
                    <canvas node_ref=input_canvas data-testid="input-canvas" aria-label="The input image (drop an image here to use your own)"></canvas>
                    <div class="window-box" aria-hidden="true" style=window_box></div>
                </div>
                <figcaption>"Input " <ShapeBadge shape=input_shape testid="input-shape"/> " (drop an image here)"</figcaption>
            </figure>
            <div class="arrow" aria-hidden="true">{move || if padded.get() { "conv2d, padding 1 →" } else { "conv2d, no padding →" }}</div>
            <figure>
                <div class="canvas-box">
                    <canvas node_ref=output_canvas data-testid="output-canvas" tabindex="0"
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
                        }></canvas>
                    <div class="pixel-box" aria-hidden="true" style=pixel_box></div>
                </div>
                <figcaption>"Output " <ShapeBadge shape=output_shape testid="output-shape"/></figcaption>
            </figure>
        </div>
        {move || draw_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
}

/// The numbers about one run: where it ran, how long it took, and the output's range.
#[component]
fn RunSummary(run: ConvRun) -> impl IntoView {
    view! {
        <p class="stats" data-testid="output-stats" data-sum=checksum(&run.output) data-backend=run.backend.clone()>
            {summary(&run.output, &run.backend, run.millis)}
        </p>
        {run.fallback.map(|note| view! { <p class="notice" role="status">{note}</p> })}
    }
}

/// What the page says of a preset (or of the learner's own kernel).
pub fn about(preset: Option<usize>) -> &'static str {
    preset.map_or("Your own kernel: each output pixel is the sum of the window times these weights.", |i| PRESETS[i].about)
}

/// The 3x3 window that output pixel `(y, x)` reads, as a CSS box over the input: it starts `padding` pixels up and
/// left of the pixel.
pub fn window_box(op: &Conv2d, (y, x): (usize, usize)) -> String {
    let pad = op.params.padding[0] as f64;
    let (h, w) = (op.in_h as f64, op.in_w as f64);
    format!("top:{:.3}%;left:{:.3}%;height:{:.3}%;width:{:.3}%", (y as f64 - pad) * 100.0 / h, (x as f64 - pad) * 100.0 / w, 300.0 / h, 300.0 / w)
}

/// Output pixel `(y, x)` as a CSS box over the output.
pub fn pixel_box(op: &Conv2d, (y, x): (usize, usize)) -> String {
    let (h, w) = (op.out_h as f64, op.out_w as f64);
    format!("top:{:.3}%;left:{:.3}%;height:{:.3}%;width:{:.3}%", y as f64 * 100.0 / h, x as f64 * 100.0 / w, 100.0 / h, 100.0 / w)
}

/// The output's range and mean, where it was computed and how long it took.
pub fn summary(output: &Tensor, backend: &str, millis: f64) -> String {
    let values = output.data();
    let (min, max) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len().max(1) as f64;
    format!("Output values from {min:.3} to {max:.3}, mean {mean:.4} (shown clamped to 0…1). Computed on {backend} in {millis:.1} ms.")
}

/// The states `cargo xtask panels` checks: every preset in every colour mode, padding mode and sample, and the
/// learner's own weights (fractions, whole numbers) in every padding mode, with biases and cells at the borders and
/// inside.
#[cfg(not(target_arch = "wasm32"))]
pub fn cases(assets: &dyn Assets) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    let borders = MODE.samples();
    let mut add = |state: State, photo: Photo| -> Result<(), String> {
        let rgb = assets.photo(&state.file)?;
        cases.push(Case { url: url("kernels", &state.query(photo)), page: state.numbers(&rgb), code: state.pytorch() });
        Ok(())
    };
    for (i, preset) in PRESETS.iter().enumerate() {
        for (j, color) in Channels::ALL.into_iter().enumerate() {
            let photo = PHOTOS[(i + j) % PHOTOS.len()];
            let state = State {
                file: photo.file.to_string(),
                color,
                preset: Some(i),
                weights: preset.weights.to_vec(),
                bias: if j == 0 { 0.0 } else { 0.25 },
                mode: borders[(i + j) % borders.len()],
                cell: [(0, 0), (17, 200), (100, 37)][(i + j) % 3],
                channel: i % color.outputs(),
            };
            add(state, photo)?;
        }
    }
    let custom = [
        vec![1.0, -2.0, 1.0, 0.0, 3.0, 0.0, -1.0, 0.0, -2.0],
        vec![0.1, 0.2, 0.3, -0.4, 0.5, -0.6, 0.7, 0.8, -0.9],
        vec![-0.3333, 2.5, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.1429],
    ];
    for (i, weights) in custom.into_iter().enumerate() {
        for &mode in &borders {
            let color = Channels::ALL[i];
            let state = State {
                file: PHOTOS[i + 1].file.to_string(),
                color,
                preset: None,
                weights: weights.clone(),
                bias: [-0.5, 1.0, 0.3][i],
                mode,
                cell: (84, 0),
                channel: i % 3 % color.outputs(),
            };
            add(state, PHOTOS[i + 1])?;
        }
    }
    Ok(cases)
}

/// The lesson's state as the URL holds it, less the photo's pixels: what the convolution and its PyTorch code are
/// made of.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// The photo, as the PyTorch code opens it.
    pub file: String,
    /// How the photo's channels meet the kernel.
    pub color: Channels,
    /// The preset in use (its index in [`PRESETS`]), or `None` for the learner's own weights.
    pub preset: Option<usize>,
    /// The 9 weights, row-major.
    pub weights: Vec<f32>,
    /// The bias.
    pub bias: f32,
    /// Padding 1 in this mode, or `None` for no padding.
    pub mode: Option<PaddingMode>,
    /// The selected output pixel `(y, x)`.
    pub cell: (usize, usize),
    /// The selected pixel's output channel.
    pub channel: usize,
}

impl State {
    /// The state as the URL writes it, for the sample `photo`.
    pub fn query(&self, photo: Photo) -> Vec<(&'static str, String)> {
        let (y, x) = self.cell;
        let mut pairs = vec![(PHOTO.key, PHOTO.to_url(photo)), (COLOR.key, COLOR.to_url(self.color)), (MODE.key, MODE.to_url(self.mode)), (KERNEL.key, KERNEL.to_url(self.preset))];
        if self.preset.is_none() {
            pairs.push((WEIGHT.key, join(&WEIGHT, &self.weights)));
        }
        pairs.extend([(BIAS.key, BIAS.to_url(self.bias)), (Y.key, Y.to_url(y)), (X.key, X.to_url(x)), (CHANNEL.key, CHANNEL.to_url(self.channel))]);
        pairs
    }

    /// The convolution of an input `[1, C, H, W]` by the kernel as [`Channels`] says (the same kernel for every
    /// channel), padded by 1 or not at all; with its weight and bias, or the engine's reason why not.
    pub fn conv(&self, input: &Shape) -> Result<(Conv2d, Tensor, Tensor), String> {
        let channels = input.dims()[1];
        let kernel = &self.weights;
        // Depthwise: one output per channel, `groups = C`. Summed: one output, each channel a slice of one kernel.
        let (weight_shape, groups) = match self.color {
            Channels::Summed => ([1, channels, 3, 3], 1),
            Channels::Gray | Channels::Each => ([channels, 1, 3, 3], channels),
        };
        let weight = Tensor::from_fn(Shape::from(weight_shape), |i| kernel[i % 9]);
        let bias = Tensor::from_fn([weight_shape[0]], |_| self.bias);
        let params = match self.mode {
            Some(mode) => Conv2dParams::default().padding(1).padding_mode(mode),
            None => Conv2dParams::default(),
        };
        let op = Conv2d::new(&params.groups(groups), input, weight.shape(), Some(bias.shape())).map_err(|e| e.to_string())?;
        Ok((op, weight, bias))
    }

    /// What the page shows for the photo `rgb` (`[1, 3, H, W]`), computed by the op's reference loops.
    pub fn numbers(&self, rgb: &Tensor) -> Result<PanelNumbers, String> {
        let x = to_mode(rgb, self.color.color());
        let (op, weight, bias) = self.conv(x.shape())?;
        PanelNumbers::of_conv(&op, &x, &weight, Some(&bias), self.cell, self.channel)
    }

    /// The PyTorch code that computes the same output and prints the numbers the page shows.
    pub fn pytorch(&self) -> String {
        let kernel = match self.preset {
            Some(i) => PRESETS[i].python.to_string(),
            None => {
                let rows: Vec<String> = self.weights.chunks(3).map(|r| format!("[{}]", r.iter().map(|&v| exact(v)).collect::<Vec<_>>().join(", "))).collect();
                format!("torch.tensor([{}], dtype=torch.float32)", rows.join(", "))
            }
        };
        let (convert, channels, weight, outputs, groups, window, products) = match self.color {
            Channels::Gray => ("L", 1, "k.expand(1, 1, 3, 3)  # [1, 1, 3, 3]", 1, 1, "xp[0, ch, y:y + 3, x:x + 3]", "its window times the kernel"),
            Channels::Each => (
                "RGB",
                3,
                "k.expand(3, 1, 3, 3)  # [3, 1, 3, 3]: the same kernel for each channel, on its own (groups=3)",
                3,
                3,
                "xp[0, ch, y:y + 3, x:x + 3]",
                "its window times the kernel",
            ),
            Channels::Summed => (
                "RGB",
                3,
                "k.expand(1, 3, 3, 3)  # [1, 3, 3, 3]: one kernel, a slice per channel, as the lesson builds it",
                1,
                1,
                "xp[0, :, y:y + 3, x:x + 3]",
                "3 channels x 9 products, all summed",
            ),
        };
        let (pad, padded) = match self.mode {
            None => ("t[None]  # no padding: each side loses a pixel".to_string(), "H - 2, W - 2"),
            Some(PaddingMode::Zeros) => ("F.pad(t[None], (1, 1, 1, 1))  # zeros all round".to_string(), "H, W"),
            Some(other) => (format!("F.pad(t[None], (1, 1, 1, 1), mode=\"{}\")", other.pytorch_name()), "H, W"),
        };
        let ((y, x), ch) = (self.cell, self.channel);
        format!(
            "import torch\nimport torch.nn.functional as F\nfrom PIL import Image\nimport torchvision.transforms.functional as TF\n\n\
             t = TF.to_tensor(Image.open(\"{file}\").convert(\"{convert}\"))  # [{channels}, H, W], values 0..1\n\
             k = {kernel}\n\
             w = {weight}\n\
             b = torch.full(({outputs},), {bias}, dtype=torch.float32)\n\
             xp = {pad}\n\
             out = F.conv2d(xp, w, b, groups={groups})  # [1, {outputs}, {padded}]\n\n\
             y, x, ch = {y}, {x}, {ch}  # the selected output pixel\n\
             products = {window} * k  # {products}\n\
             value = out[0, ch, y, x]  # their sum plus the bias\n{footer}",
            file = self.file,
            bias = exact(self.bias),
            footer = footer("out", "products", "value"),
        )
    }
}

/// Runs the state's convolution of `x` on the page's device.
async fn run(device: &Device, x: Tensor, state: &State) -> Result<ConvRun, String> {
    let (op, weight, bias) = state.conv(x.shape())?;
    ConvRun::new(device, op, x, weight, bias).await
}

/// The sum of all values, to 6 decimals: a fingerprint of a result that tests compare across backends.
fn checksum(t: &Tensor) -> String {
    format!("{:.6}", t.data().iter().map(|&v| v as f64).sum::<f64>())
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
    fn the_kernel_choices_are_every_preset_and_custom() {
        assert_eq!(KERNEL.samples().len(), PRESETS.len() + 1);
        assert_eq!(KERNEL.parse("custom"), Ok(None));
        assert_eq!(KERNEL.parse("blur"), Ok(Some(2)));
        assert_eq!(about(None), "Your own kernel: each output pixel is the sum of the window times these weights.");
        // A custom kernel's weights are written in its link, and read back the same.
        let s = State { preset: None, weights: vec![0.5, -2.0, 0.1, 0.0, 1.0, 0.0, 0.0, 0.0, -0.3333], ..state(Channels::Gray, None, None) };
        let link = url("kernels", &s.query(PHOTOS[0]));
        let query = crate::query::Query::parse(link.split_once('?').unwrap().1);
        assert_eq!(query.list(&WEIGHT, 9, &[0.0; 9]), s.weights);
        assert!(query.notices().is_empty());
    }

    #[test]
    fn preset_ids_are_unique_and_not_custom() {
        for (i, p) in PRESETS.iter().enumerate() {
            assert!(PRESETS[i + 1..].iter().all(|q| q.id != p.id), "{} appears twice", p.id);
            assert_ne!(p.id, CUSTOM);
        }
    }

    fn state(color: Channels, preset: Option<usize>, mode: Option<PaddingMode>) -> State {
        State { file: "camera_small.png".into(), color, preset, weights: PRESETS[preset.unwrap_or(1)].weights.to_vec(), bias: 0.5, mode, cell: (3, 4), channel: 0 }
    }

    #[test]
    fn the_pytorch_code_pads_as_pytorch_names_it_and_keeps_floats() {
        let code = state(Channels::Each, Some(1), Some(PaddingMode::Reflection)).pytorch();
        assert!(code.contains("mode=\"reflect\"") && code.contains("groups=3") && code.contains("torch.full((3,), 0.5, dtype=torch.float32)"), "{code}");
        let code = state(Channels::Gray, Some(0), Some(PaddingMode::Zeros)).pytorch();
        assert!(code.contains("F.pad(t[None], (1, 1, 1, 1))") && code.contains("groups=1") && code.contains("-5/3"), "{code}");
        // The lesson's own computation: one kernel over the three channels, one output.
        let code = state(Channels::Summed, Some(0), None).pytorch();
        assert!(code.contains("k.expand(1, 3, 3, 3)") && code.contains("torch.full((1,),") && code.contains("xp = t[None]  # no padding"), "{code}");
        // The learner's weights, whole numbers included, print as floats that read back exactly.
        let mut custom = state(Channels::Gray, None, Some(PaddingMode::Border));
        custom.weights = vec![1.0, -2.0, 0.1, 0.0, 3.0, 0.0, 0.0, 0.0, -1.0 / 3.0];
        let code = custom.pytorch();
        assert!(code.contains("[[1.0, -2.0, 0.1], [0.0, 3.0, 0.0], [0.0, 0.0, -0.33333334]], dtype=torch.float32") && code.contains("\"replicate\""), "{code}");
    }

    #[test]
    fn summing_the_channels_adds_the_three_depthwise_outputs() {
        let photo = Tensor::from_fn([1, 3, 4, 5], |i| ((i * 7) % 13) as f32 / 12.0);
        let run = |color| {
            let s = State { bias: 0.0, ..state(color, Some(0), Some(PaddingMode::Zeros)) };
            let x = to_mode(&photo, color.color());
            let (op, w, b) = s.conv(x.shape()).unwrap();
            op.reference_forward(&x, &w, Some(&b))
        };
        let (each, summed) = (run(Channels::Each), run(Channels::Summed));
        assert_eq!(summed.shape().dims(), &[1, 1, 4, 5]);
        for p in 0..20 {
            let total: f32 = (0..3).map(|c| each.data()[c * 20 + p]).sum();
            assert!((summed.data()[p] - total).abs() < 1e-5);
        }
    }

    #[test]
    fn every_preset_s_python_source_holds_its_weights() {
        // Each preset's source, read as Python would read it (a list of numbers, then the division).
        for p in PRESETS {
            let (list, divisor) = p.python.trim_start_matches("torch.tensor(").split_once(", dtype=torch.float32)").unwrap();
            let divisor: f32 = divisor.trim_start_matches(" / ").parse().unwrap_or(1.0);
            let values: Vec<f32> = list
                .split(|c| "[], ".contains(c))
                .filter(|t| !t.is_empty())
                .map(|t| match t.split_once('/') {
                    Some((a, b)) => (a.parse::<f64>().unwrap() / b.parse::<f64>().unwrap()) as f32,
                    None => t.parse::<f64>().unwrap() as f32,
                })
                .collect();
            let weights: Vec<f32> = values.iter().map(|v| v / divisor).collect();
            assert_eq!(weights, p.weights, "{}", p.id);
        }
    }

    #[test]
    fn no_setting_of_the_controls_panics() {
        let photo = Tensor::from_fn([1, 3, 5, 6], |i| (i % 7) as f32 / 6.0);
        for color in COLOR.samples() {
            for mode in MODE.samples() {
                for preset in KERNEL.samples() {
                    let lost = if mode.is_some() { 0 } else { 2 };
                    for channel in 0..color.outputs() {
                        for cell in [(0, 0), (2, 3), (4 - lost, 5 - lost)] {
                            let s = State { cell, channel, ..state(color, preset, mode) };
                            let numbers = s.numbers(&photo).unwrap();
                            assert_eq!(numbers.shape, vec![1, color.outputs(), 5 - lost, 6 - lost]);
                            assert!((numbers.output - numbers.window_sum - 0.5).abs() < 1e-5);
                            assert!(s.pytorch().contains("print(\"checksum:\""));
                            let x = to_mode(&photo, color.color());
                            let (op, w, b) = s.conv(x.shape()).unwrap();
                            assert!(pixel_box(&op, cell).starts_with("top:") && window_box(&op, cell).contains("height:"));
                            assert!(summary(&op.reference_forward(&x, &w, Some(&b)), "CPU", 1.0).ends_with("Computed on CPU in 1.0 ms."));
                        }
                    }
                    assert!(State { cell: (5 - lost, 0), ..state(color, preset, mode) }.numbers(&photo).is_err());
                    assert!(State { channel: color.outputs(), ..state(color, preset, mode) }.numbers(&photo).is_err());
                }
            }
        }
    }
}
