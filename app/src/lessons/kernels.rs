//! `/kernels`: a 3x3 kernel slides over a photo. Each output pixel is the window of 9 input pixels around it,
//! multiplied elementwise by the 9 weights of the kernel and summed. The convolution runs on the GPU (WebGPU) when
//! there is one, on the CPU otherwise, with the same numbers.

use crate::compute::{Compute, use_compute};
use crate::image::{ColorMode, draw, load_rgb, to_mode};
use crate::widgets::{KernelGrid, ShapeBadge};
use engine::ops::conv2d::conv2d;
use engine::ops::{Conv2dParams, PaddingMode};
use engine::{Backend, Cpu, Shape, Tensor};
use leptos::html::Canvas;
use leptos::prelude::*;

/// A named 3x3 kernel.
pub struct Preset {
    /// Stable id, used in test ids (and, later, URLs).
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

/// A sample photo shipped in `public/images` (licences in `public/images/LICENSES.md`).
pub struct Photo {
    /// File name under `/images/`.
    pub file: &'static str,
    /// Name in the picker.
    pub name: &'static str,
}

/// The sample photos.
pub const PHOTOS: &[Photo] = &[
    Photo { file: "camera_small.png", name: "Cameraman (grayscale)" },
    Photo { file: "chelsea_small.png", name: "Chelsea the cat" },
    Photo { file: "astronaut_small.png", name: "Astronaut" },
    Photo { file: "coffee_small.png", name: "Coffee" },
    Photo { file: "rocket_small.png", name: "Rocket" },
];

/// What one run of the convolution produced.
#[derive(Clone)]
struct Convolved {
    /// The input as the network sees it: `[1, C, H, W]`.
    input: Tensor,
    /// The output: `[1, C, H, W]` (padding 1 keeps the size).
    output: Tensor,
    /// The backend that computed it.
    backend: String,
    /// Wall time from upload to readback.
    millis: f64,
    /// Set when the GPU failed and the CPU stood in.
    fallback: Option<String>,
}

/// The page.
#[component]
pub fn Kernels() -> impl IntoView {
    let photo = RwSignal::new(PHOTOS[0].file);
    let preset = RwSignal::new(0usize);
    let color = RwSignal::new(ColorMode::Gray);
    let padding_mode = RwSignal::new(PaddingMode::Zeros);
    let compute = use_compute();

    let image = LocalResource::new(move || {
        let url = format!("/images/{}", photo.get());
        async move { load_rgb(&url).await }
    });
    let result = LocalResource::new(move || {
        let (image, compute) = (image.get(), compute.get());
        let (weights, color, mode) = (PRESETS[preset.get()].weights, color.get(), padding_mode.get());
        async move {
            let (image, compute) = (image?, compute?);
            Some(match image {
                Ok(rgb) => convolve(&compute, to_mode(&rgb, color), weights, mode).await,
                Err(e) => Err(e),
            })
        }
    });
    let done = move || result.get().flatten();

    let input_canvas = NodeRef::<Canvas>::new();
    let output_canvas = NodeRef::<Canvas>::new();
    let draw_error = RwSignal::new(None::<String>);
    // Canvas drawing is outside the reactive system: an effect keeps it in sync.
    Effect::new(move || {
        if let (Some(Ok(run)), Some(input), Some(output)) = (done(), input_canvas.get(), output_canvas.get()) {
            draw_error.set(draw(&input, &run.input).and_then(|()| draw(&output, &run.output)).err());
            // Marks which result the canvas shows, so tests (and curious learners) can tell it is up to date.
            let _ = output.set_attribute("data-sum", &checksum(&run.output));
        }
    });

    let ok = move || done().and_then(Result::ok);
    let input_shape = Signal::derive(move || ok().map(|r| r.input.shape().clone()));
    let output_shape = Signal::derive(move || ok().map(|r| r.output.shape().clone()));
    let weights = Signal::derive(move || PRESETS[preset.get()].weights.to_vec());

    view! {
        <article class="lesson kernels">
            <h1>"Image kernels"</h1>
            <p class="lede">
                "A kernel is a small grid of weights. Slide it over the image: at every position, multiply the 3x3 "
                "window of pixels under it by the 9 weights, one by one, and add the 9 products up. That sum is one "
                "pixel of the output. Doing this at every position is a convolution, the first layer of every "
                "image network."
            </p>

            <div class="controls">
                <label>
                    "Photo "
                    <select
                        data-testid="photo-select"
                        on:change=move |ev| {
                            let file = event_target_value(&ev);
                            if let Some(p) = PHOTOS.iter().find(|p| p.file == file) {
                                photo.set(p.file);
                            }
                        }
                    >
                        {PHOTOS
                            .iter()
                            .map(|p| view! { <option value=p.file selected=move || photo.get() == p.file>{p.name}</option> })
                            .collect_view()}
                    </select>
                </label>
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
                                        data-testid=format!("color-{}", mode.name().to_lowercase())
                                        prop:checked=move || color.get() == mode
                                        on:change=move |_| color.set(mode)
                                    />
                                    {mode.name()}
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <label>
                    "Padding "
                    <select
                        data-testid="padding-mode"
                        on:change=move |ev| {
                            if let Some(mode) = PaddingMode::parse(&event_target_value(&ev)) {
                                padding_mode.set(mode);
                            }
                        }
                    >
                        {PaddingMode::LESSON
                            .into_iter()
                            .map(|m| view! { <option value=m.name() selected=move || padding_mode.get() == m>{m.name()}</option> })
                            .collect_view()}
                    </select>
                </label>
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
                                aria-pressed=move || (preset.get() == i).to_string()
                                on:click=move |_| preset.set(i)
                            >
                                {p.name}
                            </button>
                        }
                    })
                    .collect_view()}
            </fieldset>

            <div class="kernel-view">
                <KernelGrid weights=weights size=3 caption="The kernel's 9 weights"/>
                <p class="about" data-testid="kernel-about">{move || PRESETS[preset.get()].about}</p>
            </div>

            <div class="images">
                <figure>
                    <canvas node_ref=input_canvas data-testid="input-canvas" aria-label="The input image"></canvas>
                    <figcaption>"Input " <ShapeBadge shape=input_shape testid="input-shape"/></figcaption>
                </figure>
                <div class="arrow" aria-hidden="true">"conv2d, padding 1 →"</div>
                <figure>
                    <canvas node_ref=output_canvas data-testid="output-canvas" aria-label="The convolved image"></canvas>
                    <figcaption>"Output " <ShapeBadge shape=output_shape testid="output-shape"/></figcaption>
                </figure>
            </div>

            {move || match done() {
                None => view! { <p class="status" data-testid="status">"Computing…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert" data-testid="error">{e}</p> }.into_any(),
                Some(Ok(run)) => view! { <RunSummary run/> }.into_any(),
            }}
            {move || draw_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </article>
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
async fn convolve(compute: &Compute, x: Tensor, kernel: [f32; 9], mode: PaddingMode) -> Result<Convolved, String> {
    let channels = x.shape().dims()[1];
    let w = Tensor::from_fn(Shape::from([channels, 1, 3, 3]), |i| kernel[i % 9]);
    let params = Conv2dParams::default().padding(1).padding_mode(mode).groups(channels);
    let start = now();
    let (output, backend, fallback) = match compute {
        Compute::Gpu(gpu) => match run(gpu.as_ref(), &x, &w, &params).await {
            Ok(y) => (y, gpu.label(), None),
            Err(e) => {
                let y = run(&Cpu, &x, &w, &params).await.map_err(|e| e.to_string())?;
                (y, Cpu.label(), Some(format!("The GPU failed ({e}), so this result was computed on the CPU.")))
            }
        },
        Compute::Cpu { .. } => (run(&Cpu, &x, &w, &params).await.map_err(|e| e.to_string())?, Cpu.label(), None),
    };
    Ok(Convolved { input: x, output, backend, millis: now() - start, fallback })
}

async fn run<B: Backend>(backend: &B, x: &Tensor, w: &Tensor, params: &Conv2dParams) -> engine::Result<Tensor> {
    let y = conv2d(backend, &backend.upload(x), &backend.upload(w), None, params)?;
    backend.read(&y).await
}

/// The sum of all values, to 6 decimals: a fingerprint of a result that tests compare across backends.
fn checksum(t: &Tensor) -> String {
    format!("{:.6}", t.data().iter().map(|&v| v as f64).sum::<f64>())
}

/// Milliseconds from the page's clock.
fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
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
    fn preset_ids_are_unique() {
        for (i, p) in PRESETS.iter().enumerate() {
            assert!(PRESETS[i + 1..].iter().all(|q| q.id != p.id), "{} appears twice", p.id);
        }
    }
}
