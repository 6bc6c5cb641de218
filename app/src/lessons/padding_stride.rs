//! `/padding-stride`: how padding, stride and dilation decide where a kernel's windows fall and how big the output
//! is. A small numbered input shows every padded cell (and, for border and reflection padding, which input cell
//! it copies); choosing an output cell lights up the input cells its window reads. The output size formula is
//! worked out with the current numbers, and a photo is convolved with zeros and with reflection padding side by
//! side.
//!
//! URL parameters: `size` (input side, 3–10), `k` (kernel side, 1–7), `p` (padding, 0–3), `mode` (`zeros`,
//! `border`, `reflection`), `s` (stride, 1–3), `d` (dilation, 1–3), `y`, `x` (the selected output cell).

use crate::compute::use_compute;
use crate::image::{ColorMode, draw, load_rgb, to_mode};
use crate::query::{self, Query};
use crate::widgets::{Cell, CodePanel, NumberGrid, QueryNotices, ShapeBadge, number_select};
use engine::ops::conv2d::Conv2d;
use engine::ops::{Conv2dParams, PaddingMode};
use engine::Tensor;
use leptos::html::Canvas;
use leptos::prelude::*;

/// The lesson's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Settings {
    size: usize,
    kernel: usize,
    padding: usize,
    mode: PaddingMode,
    stride: usize,
    dilation: usize,
}

impl Settings {
    fn params(&self) -> Conv2dParams {
        Conv2dParams::default().padding(self.padding).padding_mode(self.mode).stride(self.stride).dilation(self.dilation)
    }

    /// The convolution of the numbered input with a `k x k` kernel of ones, or why it cannot be done.
    fn conv(&self) -> Result<Conv2d, String> {
        let x = [1, 1, self.size, self.size];
        Conv2d::new(&self.params(), &x.into(), &[1, 1, self.kernel, self.kernel].into(), None).map_err(|e| e.to_string())
    }

    /// `⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1` with the numbers filled in.
    fn formula(&self) -> String {
        let (h, p, d, k, s) = (self.size as i64, self.padding as i64, self.dilation as i64, self.kernel as i64, self.stride as i64);
        let top = h + 2 * p - d * (k - 1) - 1;
        let out = if top < 0 { "no window fits".to_string() } else { (top / s + 1).to_string() };
        format!("H' = ⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1 = ⌊({h} + 2·{p} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = ⌊{top} / {s}⌋ + 1 = {out}")
    }
}

/// The numbered input: cell `(r, c)` holds `r·size + c + 1`, so a copied cell is easy to recognise.
fn numbered(size: usize) -> Tensor {
    Tensor::from_fn([1, 1, size, size], |i| (i + 1) as f32)
}

/// The page.
#[component]
pub fn PaddingStride() -> impl IntoView {
    let q = Query::from_location();
    let settings = RwSignal::new(Settings {
        size: q.number("size", 6, 3..=10),
        kernel: q.number("k", 3, 1..=7),
        padding: q.number("p", 1, 0..=3),
        mode: q.choice("mode", PaddingMode::Zeros, |v| PaddingMode::LESSON.into_iter().find(|m| m.name() == v), PaddingMode::name),
        stride: q.number("s", 1, 1..=3),
        dilation: q.number("d", 1, 1..=3),
    });
    let selected = RwSignal::new((q.number("y", 0usize, 0..=20), q.number("x", 0usize, 0..=20)));
    let notices = q.notices();
    let compute = use_compute();

    Effect::new(move || {
        let s = settings.get();
        let (y, x) = selected.get();
        query::write(&[
            ("size", s.size.to_string()),
            ("k", s.kernel.to_string()),
            ("p", s.padding.to_string()),
            ("mode", s.mode.name().to_string()),
            ("s", s.stride.to_string()),
            ("d", s.dilation.to_string()),
            ("y", y.to_string()),
            ("x", x.to_string()),
        ]);
    });

    let conv = Memo::new(move |_| settings.get().conv());
    // Keep the selection inside the output.
    Effect::new(move || {
        if let Ok(op) = conv.get() {
            let (y, x) = selected.get_untracked();
            if y >= op.out_h || x >= op.out_w {
                selected.set((y.min(op.out_h - 1), x.min(op.out_w - 1)));
            }
        }
    });
    let output = Memo::new(move |_| {
        let op = conv.get().ok()?;
        let s = settings.get();
        let ones = Tensor::from_fn([1, 1, s.kernel, s.kernel], |_| 1.0);
        Some(op.forward(&numbered(s.size), &ones, None))
    });

    // The padded input: what the window slides over.
    let padded_cells = Signal::derive(move || {
        let s = settings.get();
        let input = numbered(s.size);
        let side = s.size + 2 * s.padding;
        let window: Vec<(usize, usize)> = match conv.get() {
            Ok(op) => {
                let (oy, ox) = selected.get();
                (0..s.kernel).flat_map(|ky| (0..s.kernel).map(move |kx| (ky, kx))).map(|(ky, kx)| (oy * op.params.stride[0] + ky * s.dilation, ox * op.params.stride[1] + kx * s.dilation)).collect()
            }
            Err(_) => Vec::new(),
        };
        (0..side * side)
            .map(|i| {
                let (r, c) = (i / side, i % side);
                let (sr, sc) = (r as isize - s.padding as isize, c as isize - s.padding as isize);
                let inside = sr >= 0 && sc >= 0 && (sr as usize) < s.size && (sc as usize) < s.size;
                let source = s.mode.source(sr, s.size).zip(s.mode.source(sc, s.size));
                let value = source.map_or(0.0, |(y, x)| input.data()[y * s.size + x]);
                let mut class = if inside { String::new() } else { "pad".to_string() };
                if window.contains(&(r, c)) {
                    class += " window";
                }
                let note = (!inside).then(|| source.map_or("zero".to_string(), |(y, x)| format!("← ({y}, {x})")));
                Cell { value: Some(value), class, note }
            })
            .collect::<Vec<_>>()
    });
    let padded_cols = Signal::derive(move || {
        let s = settings.get();
        s.size + 2 * s.padding
    });
    let output_cells = Signal::derive(move || {
        let (Some(out), Ok(op)) = (output.get(), conv.get()) else { return Vec::new() };
        let sel = selected.get();
        out.data()
            .iter()
            .enumerate()
            .map(|(i, &v)| Cell { value: Some(v), class: if (i / op.out_w, i % op.out_w) == sel { "selected".into() } else { String::new() }, note: None })
            .collect::<Vec<_>>()
    });
    let output_cols = Signal::derive(move || conv.get().map_or(1, |op| op.out_w));

    // The photo, convolved with a k x k average under zeros and reflection padding.
    let image = LocalResource::new(|| async { load_rgb("/images/camera_small.png", 128).await });
    let zeros_canvas = NodeRef::<Canvas>::new();
    let reflection_canvas = NodeRef::<Canvas>::new();
    let photo_shapes = RwSignal::new((None, None));
    let photo_error = RwSignal::new(None::<String>);
    let photos = LocalResource::new(move || {
        let (image, compute, s) = (image.get(), compute.get(), settings.get());
        async move {
            let x = to_mode(&image?.ok()?, ColorMode::Gray);
            let compute = compute?;
            let average = Tensor::from_fn([1, 1, s.kernel, s.kernel], |_| 1.0 / (s.kernel * s.kernel) as f32);
            let mut results = Vec::new();
            for mode in [PaddingMode::Zeros, PaddingMode::Reflection] {
                let params = Settings { mode, ..s }.params();
                results.push(compute.conv2d(&x, &average, None, &params).await.map(|r| r.output));
            }
            Some(results)
        }
    });
    Effect::new(move || {
        let Some(Some(results)) = photos.get() else { return };
        let mut shapes = Vec::new();
        let mut error = None;
        for (result, canvas) in results.iter().zip([zeros_canvas.get(), reflection_canvas.get()]) {
            match (result, canvas) {
                (Ok(y), Some(canvas)) => {
                    shapes.push(Some(y.shape().clone()));
                    if let Err(e) = draw(&canvas, y) {
                        error = Some(e);
                    }
                }
                (Err(e), _) => {
                    shapes.push(None);
                    error = Some(e.clone());
                }
                _ => shapes.push(None),
            }
        }
        photo_shapes.set((shapes.first().cloned().flatten(), shapes.get(1).cloned().flatten()));
        photo_error.set(error);
    });
    let zeros_shape = Signal::derive(move || photo_shapes.get().0);
    let reflection_shape = Signal::derive(move || photo_shapes.get().1);

    let code = Signal::derive(move || {
        let s = settings.get();
        let x = if s.mode == PaddingMode::Zeros {
            format!("F.conv2d(x, w, padding={}, stride={}, dilation={})", s.padding, s.stride, s.dilation)
        } else {
            let p = s.padding;
            format!("F.conv2d(F.pad(x, ({p}, {p}, {p}, {p}), mode=\"{}\"), w, stride={}, dilation={})", s.mode.pytorch_name(), s.stride, s.dilation)
        };
        format!(
            "import torch\nimport torch.nn.functional as F\n\n\
             x = torch.arange(1., {n} + 1).reshape(1, 1, {h}, {h})  # the numbered input\n\
             w = torch.ones(1, 1, {k}, {k})  # each output is the sum of its window\n\
             out = {x}\n\
             out.shape  # torch.Size([1, 1, {oh}, {oh}])\n",
            n = s.size * s.size,
            h = s.size,
            k = s.kernel,
            oh = conv.get().map_or("–".to_string(), |op| op.out_h.to_string()),
        )
    });

    let number = move |label, testid, range, get, set| number_select(settings, label, testid, range, get, set);

    view! {
        <article class="lesson padding-stride">
            <h1>"Padding, stride and dilation"</h1>
            <p class="lede">
                "A kernel's window can only sit where it fits. Padding adds a border around the input so that windows "
                "can be centred on the edge pixels too; stride moves the window more than one pixel at a time, so "
                "stride 2 halves the height and width; dilation spreads the kernel's taps apart. Pick an output cell "
                "to light up the input cells its window reads (each output here is the sum of its window)."
            </p>
            <QueryNotices notices/>
            <div class="controls">
                {number("Input size ", "size", 3..=10, |s| s.size, |s, v| s.size = v)}
                {number("Kernel ", "kernel", 1..=7, |s| s.kernel, |s, v| s.kernel = v)}
                {number("Padding ", "padding", 0..=3, |s| s.padding, |s, v| s.padding = v)}
                <label>
                    "Padding mode "
                    <select
                        data-testid="padding-mode"
                        on:change=move |ev| {
                            if let Some(mode) = PaddingMode::parse(&event_target_value(&ev)) {
                                settings.update(|s| s.mode = mode);
                            }
                        }
                    >
                        {PaddingMode::LESSON
                            .into_iter()
                            .map(|m| view! { <option value=m.name() selected=move || settings.get().mode == m>{m.name()}</option> })
                            .collect_view()}
                    </select>
                </label>
                {number("Stride ", "stride", 1..=3, |s| s.stride, |s, v| s.stride = v)}
                {number("Dilation ", "dilation", 1..=3, |s| s.dilation, |s, v| s.dilation = v)}
            </div>

            <p class="formula" data-testid="formula">{move || settings.get().formula()}</p>
            {move || match conv.get() {
                Ok(op) => view! {
                    <p data-testid="output-size">{format!("The output is {} x {} (the input {} x {}).", op.out_h, op.out_w, op.in_h, op.in_w)}</p>
                }
                .into_any(),
                Err(e) => view! { <p class="error" role="alert" data-testid="error">{e}</p> }.into_any(),
            }}

            <div class="grids">
                <figure>
                    <NumberGrid cells=padded_cells cols=padded_cols label="The padded input".to_string() testid="padded" decimals=0/>
                    <figcaption>"Input with its padding (padded cells are shaded; each says which cell it copies)"</figcaption>
                </figure>
                <div class="arrow" aria-hidden="true">"→"</div>
                <figure>
                    <NumberGrid
                        cells=output_cells
                        cols=output_cols
                        label="The output: choose a cell to see its window".to_string()
                        testid="output"
                        decimals=0
                        on_select=Callback::new(move |cell| selected.set(cell))
                        selected=Signal::derive(move || selected.get())
                    />
                    <figcaption>"Output (choose a cell, or use the arrow keys)"</figcaption>
                </figure>
            </div>

            <h2>"On a photo"</h2>
            <p>"The same windows averaging a photo: zeros padding darkens the border (it averages in black), reflection padding does not."</p>
            <div class="images">
                <figure>
                    <canvas node_ref=zeros_canvas data-testid="zeros-canvas" aria-label="The photo averaged with zeros padding"></canvas>
                    <figcaption>"zeros " <ShapeBadge shape=zeros_shape testid="zeros-shape"/></figcaption>
                </figure>
                <figure>
                    <canvas node_ref=reflection_canvas data-testid="reflection-canvas" aria-label="The photo averaged with reflection padding"></canvas>
                    <figcaption>"reflection " <ShapeBadge shape=reflection_shape testid="reflection-shape"/></figcaption>
                </figure>
            </div>
            {move || photo_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <CodePanel code/>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_formula_agrees_with_the_engine() {
        for size in 3..=10 {
            for kernel in 1..=7 {
                for (padding, stride, dilation) in [(0, 1, 1), (1, 2, 1), (3, 3, 2), (2, 1, 3)] {
                    let s = Settings { size, kernel, padding, mode: PaddingMode::Zeros, stride, dilation };
                    let text = s.formula();
                    match s.conv() {
                        Ok(op) => assert!(text.ends_with(&format!("= {}", op.out_h)), "{text}"),
                        Err(_) => assert!(text.ends_with("no window fits"), "{text}"),
                    }
                }
            }
        }
    }

    #[test]
    fn stride_two_halves_the_output() {
        let s = Settings { size: 8, kernel: 3, padding: 1, mode: PaddingMode::Reflection, stride: 2, dilation: 1 };
        assert_eq!(s.conv().unwrap().out_h, 4);
    }
}
