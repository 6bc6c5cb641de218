//! `/pooling`: average and max pooling stepped window by window on a real handwritten digit, then the head of a
//! CNN: the body's feature map `[C, h, w]` averaged to `[C]`, a linear layer to one score per class, and softmax,
//! down to the dot product behind one score. The head runs on a shapes CNN the engine trains here (or untrained
//! weights, labelled as such, until it is trained).
//!
//! URL parameters: `pool` (`max`, `avg`), `k` (window, 1–4), `s` (stride, 1–3), `p` (padding, 0–1), `digit`
//! (which of the dataset's digits, 0–1796), `y`, `x` (the selected window), `class` (the score shown as a dot
//! product), `image` (which shapes image, 0–99).

use crate::speed::yield_to_browser;
use crate::compute::{Compute, use_compute};
use crate::image::draw;
use crate::query::{self, Query};
use crate::widgets::{Cell, CodePanel, NumberGrid, QueryNotices, ShapeBadge, number_select};
use engine::data::{Dataset, ImageSet, digits, shapes};
use engine::learner::{Loss, one, train_step};
use engine::nn::{Model, Sequential};
use engine::ops::avg_pool2d::AvgPool2d;
use engine::ops::max_pool2d::MaxPool2d;
use engine::ops::pool::{Pool2dParams, PoolTrace};
use engine::ops::softmax::Softmax;
use engine::optim::{OneCycle, Optimizer};
use engine::rng::Rng;
use engine::{Backend, Cpu, Gpu, Shape, Tensor, models};
use leptos::html::Canvas;
use leptos::prelude::*;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Max,
    Avg,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Max => "max",
            Kind::Avg => "avg",
        }
    }
}

/// The window settings.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Settings {
    kind: Kind,
    kernel: usize,
    stride: usize,
    padding: usize,
}

impl Settings {
    fn params(&self) -> Pool2dParams {
        Pool2dParams::new(self.kernel).stride(self.stride).padding(self.padding)
    }

    /// The pooled output and a tracer for one window, or why these windows do not fit.
    fn pool(&self, x: &Tensor) -> Result<(Tensor, Box<dyn Fn(usize, usize) -> PoolTrace>), String> {
        match self.kind {
            Kind::Max => {
                let op = MaxPool2d::new(&self.params(), x.shape()).map_err(|e| e.to_string())?;
                let (y, _) = op.forward(x);
                let x = x.clone();
                Ok((y, Box::new(move |oy, ox| op.trace(&x, 0, oy, ox))))
            }
            Kind::Avg => {
                let op = AvgPool2d::new(&self.params(), x.shape(), true).map_err(|e| e.to_string())?;
                let y = op.forward(x);
                let x = x.clone();
                Ok((y, Box::new(move |oy, ox| op.trace(&x, 0, oy, ox))))
            }
        }
    }
}

/// Loads the digits shipped with the page.
async fn load_digits() -> Result<ImageSet, String> {
    let failed = "The digits could not be loaded. Reload the page.".to_string();
    let window = web_sys::window().ok_or(failed.clone())?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str("/data/digits_u8.bin")).await.map_err(|_| failed.clone())?;
    let response: web_sys::Response = wasm_bindgen::JsCast::dyn_into(response).map_err(|_| failed.clone())?;
    let buffer = wasm_bindgen_futures::JsFuture::from(response.array_buffer().map_err(|_| failed.clone())?).await.map_err(|_| failed.clone())?;
    digits::parse(&js_sys::Uint8Array::new(&buffer).to_vec()).map_err(|e| e.to_string())
}

/// The page.
#[component]
pub fn Pooling() -> impl IntoView {
    let q = Query::from_location();
    let settings = RwSignal::new(Settings {
        kind: q.choice("pool", Kind::Max, |v| [Kind::Max, Kind::Avg].into_iter().find(|k| k.name() == v), Kind::name),
        kernel: q.number("k", 2, 1..=4),
        stride: q.number("s", 2, 1..=3),
        padding: q.number("p", 0, 0..=1),
    });
    let digit = RwSignal::new(q.number("digit", 3usize, 0..=1796));
    let selected = RwSignal::new((q.number("y", 0usize, 0..=8), q.number("x", 0usize, 0..=8)));
    let class = RwSignal::new(q.number("class", 0usize, 0..=3));
    let image_index = RwSignal::new(q.number("image", 0usize, 0..=99));
    let notices = q.notices();

    Effect::new(move || {
        let s = settings.get();
        let (y, x) = selected.get();
        query::write(&[
            ("pool", s.kind.name().to_string()),
            ("k", s.kernel.to_string()),
            ("s", s.stride.to_string()),
            ("p", s.padding.to_string()),
            ("digit", digit.get().to_string()),
            ("y", y.to_string()),
            ("x", x.to_string()),
            ("class", class.get().to_string()),
            ("image", image_index.get().to_string()),
        ]);
    });

    let digits = LocalResource::new(load_digits);
    let input = Memo::new(move |_| {
        let set = digits.get()?.ok()?;
        let i = digit.get().min(set.labels.len() - 1);
        // The digit's pixels, 0..16 as in the file.
        Some((Tensor::from_fn([1, 1, 8, 8], |p| (set.images.data()[i * 64 + p] * 16.0).round()), set.labels[i]))
    });
    let pooled = Memo::new(move |_| {
        let (x, _) = input.get()?;
        Some(settings.get().pool(&x).map(|(y, _)| y))
    });
    Effect::new(move || {
        if let Some(Ok(y)) = pooled.get() {
            let d = y.shape().dims();
            let (sy, sx) = selected.get_untracked();
            if sy >= d[2] || sx >= d[3] {
                selected.set((sy.min(d[2] - 1), sx.min(d[3] - 1)));
            }
        }
    });
    let trace = Memo::new(move |_| {
        let (x, _) = input.get()?;
        let (y, tracer) = settings.get().pool(&x).ok()?;
        let (oy, ox) = selected.get();
        let d = y.shape().dims();
        (oy < d[2] && ox < d[3]).then(|| (tracer(oy, ox), y.data()[oy * d[3] + ox]))
    });
    let input_cells = Signal::derive(move || {
        let Some((x, _)) = input.get() else { return Vec::new() };
        let t = trace.get();
        x.data()
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let (r, c) = (i / 8, i % 8);
                let class = match &t {
                    Some((t, _)) => match t.pixels.iter().position(|p| (p.0, p.1) == (r, c)) {
                        Some(j) if t.argmax == Some(j) => "window argmax",
                        Some(_) => "window",
                        None => "",
                    },
                    None => "",
                };
                Cell { value: Some(v), class: class.into(), note: None }
            })
            .collect::<Vec<_>>()
    });
    let output_cells = Signal::derive(move || match pooled.get() {
        Some(Ok(y)) => {
            let w = y.shape().dims()[3];
            let sel = selected.get();
            y.data().iter().enumerate().map(|(i, &v)| Cell { value: Some(v), class: if (i / w, i % w) == sel { "selected".into() } else { String::new() }, note: None }).collect()
        }
        _ => Vec::new(),
    });
    let output_cols = Signal::derive(move || match pooled.get() {
        Some(Ok(y)) => y.shape().dims()[3],
        _ => 1,
    });
    let output_shape = Signal::derive(move || match pooled.get() {
        Some(Ok(y)) => Some(y.shape().clone()),
        _ => None,
    });

    // Stepping through the windows.
    let playing = RwSignal::new(false);
    let step = move || {
        if let Some(Ok(y)) = pooled.get() {
            let (h, w) = (y.shape().dims()[2], y.shape().dims()[3]);
            selected.update(|(r, c)| {
                let next = (*r * w + *c + 1) % (h * w);
                (*r, *c) = (next / w, next % w);
            });
        }
    };
    Effect::new(move || {
        if playing.get()
            && let Ok(handle) = set_interval_with_handle(step, std::time::Duration::from_millis(700))
        {
            on_cleanup(move || handle.clear());
        }
    });

    let code = Signal::derive(move || {
        let s = settings.get();
        let f = if s.kind == Kind::Max { "max_pool2d" } else { "avg_pool2d" };
        format!(
            "import torch\nimport torch.nn.functional as F\nfrom sklearn.datasets import load_digits\n\n\
             x = torch.tensor(load_digits().images[{}], dtype=torch.float32)[None, None]  # [1, 1, 8, 8]\n\
             F.{f}(x, kernel_size={}, stride={}, padding={})\n\n\
             # The head of a CNN: average each feature map to one number, then a linear layer scores each class.\n\
             feats = body(images)            # [N, C, h, w]\n\
             pooled = feats.mean((2, 3))     # [N, C], like nn.AdaptiveAvgPool2d(1) then Flatten\n\
             scores = head(pooled)           # nn.Linear(C, classes): [N, classes]\n\
             probs = scores.softmax(dim=1)\n",
            digit.get(),
            s.kernel,
            s.stride,
            s.padding
        )
    });

    let choose = move |label, testid, range, get, set| number_select(settings, label, testid, range, get, set);

    view! {
        <article class="lesson pooling" on:keydown=move |ev: web_sys::KeyboardEvent| {
            if ev.key() == " " {
                ev.prevent_default();
                playing.update(|p| *p = !*p);
            }
        }>
            <h1>"Pooling, and the head of a CNN"</h1>
            <p class="lede">
                "Pooling shrinks a feature map by summarising each window: max pooling keeps the largest value, "
                "average pooling the mean. Here the input is a real 8x8 handwritten digit (pixel values 0–16). "
                "Choose an output cell, or step through the windows, to see what each one keeps."
            </p>
            <QueryNotices notices/>
            <div class="controls">
                <fieldset class="choice">
                    <legend>"Pooling"</legend>
                    {[Kind::Max, Kind::Avg].into_iter().map(|k| view! {
                        <label>
                            <input type="radio" name="pool" data-testid=format!("pool-{}", k.name()) prop:checked=move || settings.get().kind == k on:change=move |_| settings.update(|s| s.kind = k)/>
                            {if k == Kind::Max { "max" } else { "average" }}
                        </label>
                    }).collect_view()}
                </fieldset>
                {choose("Window ", "pool-kernel", 1..=4, |s| s.kernel, |s, v| s.kernel = v)}
                {choose("Stride ", "pool-stride", 1..=3, |s| s.stride, |s, v| s.stride = v)}
                {choose("Padding ", "pool-padding", 0..=1, |s| s.padding, |s, v| s.padding = v)}
                <label>
                    "Digit #"
                    <input type="number" min="0" max="1796" data-testid="digit" prop:value=move || digit.get().to_string()
                        on:change=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<usize>() {
                                digit.set(v.min(1796));
                            }
                        }/>
                </label>
                <span>{move || input.get().map(|(_, label)| format!("(a handwritten {label})"))}</span>
            </div>

            <div class="grids">
                <figure>
                    <NumberGrid cells=input_cells cols=8usize label="The digit's pixels".to_string() testid="pool-input" decimals=0/>
                    <figcaption>"input [1, 1, 8, 8] (the window is outlined; the maximum is marked)"</figcaption>
                </figure>
                <div class="arrow" aria-hidden="true">"→"</div>
                <figure>
                    <NumberGrid cells=output_cells cols=output_cols label="The pooled output: choose a cell".to_string() testid="pool-output"
                        decimals=2 on_select=Callback::new(move |c| selected.set(c)) selected=Signal::derive(move || selected.get())/>
                    <figcaption>"output " <ShapeBadge shape=output_shape testid="pool-output-shape"/></figcaption>
                </figure>
            </div>
            <div class="step-controls" role="group" aria-label="Step through the windows">
                <button type="button" data-testid="play" on:click=move |_| playing.update(|p| *p = !*p)>{move || if playing.get() { "Pause" } else { "Play" }}</button>
                <button type="button" data-testid="step" on:click=move |_| step()>"Step"</button>
            </div>
            {move || match pooled.get() {
                Some(Err(e)) => Some(view! { <p class="error" role="alert" data-testid="error">{e}</p> }.into_any()),
                _ => trace.get().map(|(t, value)| view! { <PoolExplanation trace=t value kind=settings.get().kind/> }.into_any()),
            }}

            <Head class image_index/>
            <CodePanel code/>
        </article>
    }
}

/// What one window kept, and how.
#[component]
fn PoolExplanation(trace: PoolTrace, value: f32, kind: Kind) -> impl IntoView {
    let values = trace.pixels.iter().map(|p| format!("{}", p.2)).collect::<Vec<_>>();
    let text = match kind {
        Kind::Max => format!("max({}) = ", values.join(", ")),
        Kind::Avg => format!("({}) / {} = ", values.join(" + "), trace.divisor),
    };
    view! {
        <p class="sum" data-testid="pool-trace" aria-live="polite">
            {text}<strong data-testid="pool-trace-output">{format!("{:.4}", trace.output)}</strong>
            "; the pooled output holds " <strong data-testid="pool-output-value">{format!("{value:.4}")}</strong> "."
            {(kind == Kind::Avg).then(|| " (Padding counts in the divisor, as PyTorch's count_include_pad does by default.)")}
        </p>
    }
}

/// The shapes model's state: untrained, training, or trained.
#[derive(Clone)]
struct ShapesModel {
    /// The model on its backend.
    model: Arc<std::sync::Mutex<AnyModel>>,
    /// Whether it has been trained.
    trained: bool,
}

/// The shapes CNN on whichever backend the page uses.
enum AnyModel {
    Gpu(Arc<Gpu>, Sequential<Gpu>),
    Cpu(Sequential<Cpu>),
}

/// What the head computes for one image.
#[derive(Clone, PartialEq)]
struct HeadValues {
    features: Tensor,
    pooled: Vec<f32>,
    weight: Tensor,
    bias: Vec<f32>,
    scores: Vec<f32>,
    probs: Vec<f32>,
}

/// The body's last activations and the head, on `b`.
async fn head_values<B: Backend>(b: &B, model: &mut Sequential<B>, image: &Tensor) -> Result<HeadValues, String> {
    Model::set_training(model, false);
    // Layers: 4 blocks of (conv, batch norm, relu), then pool (12), flatten (13), linear (14).
    model.hook(11);
    model.hook(13);
    let scores = model.forward(b, &b.upload(image)).map_err(|e| e.to_string())?;
    let features = model.captured(11).and_then(|c| c.activation.clone()).ok_or("no activations were captured")?;
    let pooled = model.captured(13).and_then(|c| c.activation.clone()).ok_or("no pooled features were captured")?;
    let head = Model::params_mut(model);
    let (weight, bias) = (head[head.len() - 2].value.clone(), head[head.len() - 1].value.clone());
    let read = |t| async move { b.read(&t).await.map_err(|e| e.to_string()) };
    let scores = read(scores).await?;
    let probs = Softmax::new(scores.shape(), -1, false).map_err(|e| e.to_string())?.forward(&scores);
    Ok(HeadValues {
        features: read(features).await?,
        pooled: read(pooled).await?.into_data(),
        weight: read(weight).await?,
        bias: read(bias).await?.into_data(),
        scores: scores.into_data(),
        probs: probs.into_data(),
    })
}

/// Trains the shapes CNN here for two short epochs, one step between frames, reporting progress.
async fn train_shapes<B: Backend>(b: &B, model: &mut Sequential<B>, progress: impl Fn(usize, usize)) -> Result<(), String> {
    let (set, _) = shapes::generate(960, 7);
    let (train, _) = set.split(0.0, 7);
    let batch = 32;
    let steps = 2 * train.labels.len() / batch;
    let schedule = OneCycle::new(1e-2, steps);
    let mut optimizer = Optimizer::adamw(0.01);
    let one = one(b);
    Model::set_training(model, true);
    for step in 0..steps {
        let items: Vec<usize> = (0..batch).map(|i| (step * batch + i) % train.labels.len()).collect();
        let (x, t) = train.batch(b, &items);
        let loss = train_step(b, model, &mut optimizer, &x, &t, Loss::CrossEntropy, schedule.lr(step), schedule.momentum(step), &one).map_err(|e| e.to_string())?;
        if step % 5 == 4 {
            b.read(&loss).await.map_err(|e| e.to_string())?;
        }
        progress(step + 1, steps);
        yield_to_browser().await;
    }
    Model::set_training(model, false);
    Ok(())
}

/// The head of a CNN on the shapes model: feature maps, average pooling, the linear layer, softmax.
#[component]
fn Head(class: RwSignal<usize>, image_index: RwSignal<usize>) -> impl IntoView {
    let compute = use_compute();
    let model = RwSignal::new_local(None::<ShapesModel>);
    Effect::new(move || {
        if model.with_untracked(Option::is_some) {
            return;
        }
        let Some(compute) = compute.get() else { return };
        let mut rng = Rng::new(1);
        let any = match compute {
            Compute::Gpu(gpu) => {
                let m = models::shapes_cnn(gpu.as_ref(), &mut rng);
                AnyModel::Gpu(gpu, m)
            }
            Compute::Cpu { .. } => AnyModel::Cpu(models::shapes_cnn(&Cpu, &mut rng)),
        };
        model.set(Some(ShapesModel { model: Arc::new(std::sync::Mutex::new(any)), trained: false }));
    });
    let (set, _) = shapes::generate(100, 99);
    let stats = set.split(0.0, 99).0.channel_stats();
    let set = set.normalized(&stats);
    let raw = shapes::generate(100, 99).0;
    let image = Signal::derive(move || {
        let i = image_index.get().min(99);
        (engine::data::gather_rows(&set.images, &[i]), engine::data::gather_rows(&raw.images, &[i]), set.labels[i] as usize)
    });
    let values = LocalResource::new(move || {
        let (m, (x, _, _)) = (model.get(), image.get());
        async move {
            let m = m?;
            // While the model trains it is busy; the values come once it is done.
            let mut guard = m.model.try_lock().ok()?;
            Some(match &mut *guard {
                AnyModel::Gpu(gpu, seq) => head_values(gpu.as_ref(), seq, &x).await,
                AnyModel::Cpu(seq) => head_values(&Cpu, seq, &x).await,
            })
        }
    });
    let training = RwSignal::new(None::<(usize, usize)>);
    let train_error = RwSignal::new(None::<String>);
    let train = move |_| {
        let Some(m) = model.get_untracked() else { return };
        if training.get_untracked().is_some() {
            return;
        }
        training.set(Some((0, 1)));
        wasm_bindgen_futures::spawn_local(async move {
            let progress = |done, total| training.set(Some((done, total)));
            let result = match m.model.lock() {
                Ok(mut guard) => match &mut *guard {
                    AnyModel::Gpu(gpu, seq) => train_shapes(gpu.as_ref(), seq, progress).await,
                    AnyModel::Cpu(seq) => train_shapes(&Cpu, seq, progress).await,
                },
                Err(_) => Err("the model is busy".into()),
            };
            training.set(None);
            match result {
                Ok(()) => model.set(Some(ShapesModel { trained: true, ..m })),
                Err(e) => train_error.set(Some(format!("Training failed ({e}); the untrained weights are kept. Try again."))),
            }
        });
    };
    let image_canvas = NodeRef::<Canvas>::new();
    Effect::new(move || {
        if let Some(c) = image_canvas.get() {
            let _ = draw(&c, &image.get().1);
        }
    });

    view! {
        <section class="head-section">
            <h2>"The head of a CNN"</h2>
            <p>
                "A CNN's body turns an image into a stack of small feature maps. The head averages each map to a single "
                "number (average pooling over the whole map), so the stack becomes a vector, and a linear layer turns "
                "that vector into one score per class; softmax makes the scores probabilities. In the lesson's pet "
                "classifier: " <code>"[512, 11, 11] → average pool → [512] → linear 512 x 37 → 37 scores"</code>
                ". Here, a shapes classifier: " <code>"[128, 4, 4] → [128] → linear 128 x 4 → 4 scores"</code> "."
            </p>
            <div class="controls">
                <label>
                    "Image #"
                    <input type="number" min="0" max="99" data-testid="shape-image" prop:value=move || image_index.get().to_string()
                        on:change=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<usize>() {
                                image_index.set(v.min(99));
                            }
                        }/>
                </label>
                <button type="button" data-testid="train-shapes" on:click=train disabled=move || training.get().is_some() || model.get().is_none_or(|m| m.trained)>
                    {move || match (training.get(), model.get().is_some_and(|m| m.trained)) {
                        (Some((done, total)), _) => format!("Training… step {done} of {total}"),
                        (None, true) => "Trained".to_string(),
                        (None, false) => "Train the model here (two short epochs)".to_string(),
                    }}
                </button>
                <span class="weights-state" data-testid="weights-state">
                    {move || if model.get().is_some_and(|m| m.trained) { "trained weights" } else { "untrained weights (random, as PyTorch initialises them)" }}
                </span>
            </div>
            {move || train_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="head-flow">
                <figure><canvas node_ref=image_canvas data-testid="shape-canvas" aria-label="The shapes image"></canvas>
                    <figcaption>{move || format!("a {}", shapes::CLASSES[image.get().2])}</figcaption></figure>
                {move || values.get().flatten().map(|v| match v {
                    Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                    Ok(v) => view! { <HeadView values=v class/> }.into_any(),
                })}
            </div>
        </section>
    }
}

/// The feature maps, the pooled vector, the scores, and one score's dot product.
#[component]
fn HeadView(values: HeadValues, class: RwSignal<usize>) -> impl IntoView {
    let dims = values.features.shape().dims().to_vec();
    let (channels, h, w) = (dims[1], dims[2], dims[3]);
    let shown = channels.min(8);
    let maps: Vec<Vec<Cell>> = (0..shown)
        .map(|c| values.features.data()[c * h * w..(c + 1) * h * w].iter().map(|&v| Cell { value: Some(v), ..Default::default() }).collect())
        .collect();
    let values = Arc::new(values);
    let v2 = values.clone();
    let dot = move || {
        let v = &v2;
        let k = class.get().min(v.scores.len() - 1);
        let row = &v.weight.data()[k * channels..(k + 1) * channels];
        let mut terms: Vec<(usize, f32)> = v.pooled.iter().zip(row).map(|(p, w)| p * w).enumerate().collect();
        let total: f32 = terms.iter().map(|t| t.1).sum::<f32>() + v.bias[k];
        terms.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        view! {
            <div class="dot" data-testid="dot-product" aria-live="polite">
                <p>{format!("score of {}: Σ pooled[c] · weight[{k}, c] over the {channels} channels, plus the bias {:.4}", shapes::CLASSES[k], v.bias[k])}</p>
                <ol class="terms">
                    {terms.iter().take(6).map(|(c, t)| view! { <li>{format!("channel {c}: {:.4} × {:.4} = {t:.4}", v.pooled[*c], row[*c])}</li> }).collect_view()}
                    <li>{format!("… and {} smaller terms", channels.saturating_sub(6))}</li>
                </ol>
                <p>"Sum with the bias: " <strong data-testid="dot-total">{format!("{total:.4}")}</strong>
                   "; the linear layer computed " <strong data-testid="dot-score">{format!("{:.4}", v.scores[k])}</strong> "."</p>
            </div>
        }
    };
    view! {
        <div class="head-values">
            <div class="feature-maps">
                <h3>"Feature maps " <ShapeBadge shape=Signal::derive(move || Some(Shape::from([channels, h, w]))) testid="features-shape"/></h3>
                <div class="maps">
                    {maps.into_iter().enumerate().map(|(c, cells)| view! {
                        <figure><NumberGrid cells=cells cols=w label=format!("feature map {c}") testid="feature-map" decimals=2/><figcaption>{format!("#{c} → {:.2}", values.pooled[c])}</figcaption></figure>
                    }).collect_view()}
                </div>
                <p>{format!("The first {shown} of {channels} maps; each averages to one number of the pooled vector.")}</p>
            </div>
            <div class="scores">
                <h3>"Scores and probabilities"</h3>
                <table data-testid="scores">
                    <thead><tr><th>"class"</th><th>"score"</th><th>"probability"</th></tr></thead>
                    <tbody>
                        {values.scores.iter().zip(&values.probs).enumerate().map(|(k, (s, p))| view! {
                            <tr class:chosen=move || class.get() == k>
                                <td><button type="button" data-testid=format!("class-{k}") on:click=move |_| class.set(k)>{shapes::CLASSES[k]}</button></td>
                                <td>{format!("{s:.4}")}</td>
                                <td>{format!("{:.1}%", p * 100.0)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {dot}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_and_average_pooling_halve_a_digit() {
        let x = Tensor::from_fn([1, 1, 8, 8], |i| i as f32);
        for kind in [Kind::Max, Kind::Avg] {
            let (y, trace) = Settings { kind, kernel: 2, stride: 2, padding: 0 }.pool(&x).unwrap();
            assert_eq!(y.shape().dims(), &[1, 1, 4, 4]);
            assert_eq!(trace(1, 2).output, y.data()[6]);
        }
        assert!(Settings { kind: Kind::Max, kernel: 1, stride: 1, padding: 1 }.pool(&x).is_err());
    }
}
