//! `/padding-stride`: how padding, stride and dilation decide where a kernel's windows fall and how big the output
//! is. A small numbered input shows every padded cell (and, for border and reflection padding, which input cell
//! it copies); choosing an output cell lights up the input cells its window reads. The output size formula is
//! worked out with the current numbers, and a photo is convolved with zeros and with reflection padding side by
//! side.
//!
//! URL parameters: `size` (input side, 3–10), `k` (kernel side, 1–7), `p` (padding, 0–3), `mode` (`zeros`,
//! `border`, `reflection`), `s` (stride, 1–3), `d` (dilation, 1–3), `y`, `x` (the selected output cell).

use crate::device::{use_device, with_fallback};
use crate::image::{ColorMode, draw, load_rgb, to_mode};
use crate::query::Params;
use crate::widgets::{Cell, CodePanel, Cursor, NumberGrid, LessonPage, ShapeBadge, choice_select, number_select};
use engine::Tensor;
use engine::ops::conv2d::Conv2d;
use engine::ops::{Conv2dParams, PaddingMode};
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
    let mut params = Params::from_location();
    let size = params.number("size", 6usize, 3..=10);
    let kernel = params.number("k", 3usize, 1..=7);
    let padding = params.number("p", 1usize, 0..=3);
    let mode = params.choice("mode", PaddingMode::Zeros, PaddingMode::LESSON, PaddingMode::name);
    let stride = params.number("s", 1usize, 1..=3);
    let dilation = params.number("d", 1usize, 1..=3);
    let cell = params.cell(("y", "x"), (0, 0), 20);
    let notices = params.notices();
    params.sync();
    let settings = Signal::derive(move || Settings {
        size: size.get(),
        kernel: kernel.get(),
        padding: padding.get(),
        mode: mode.get(),
        stride: stride.get(),
        dilation: dilation.get(),
    });
    let device = use_device();

    let conv = Memo::new(move |_| settings.get().conv());
    let cursor = Cursor::new(cell, Signal::derive(move || conv.get().ok().map(|op| (op.out_h, op.out_w))), 2);
    let output = Memo::new(move |_| {
        let op = conv.get().ok()?;
        let s = settings.get();
        let ones = Tensor::from_fn([1, 1, s.kernel, s.kernel], |_| 1.0);
        Some(op.reference_forward(&numbered(s.size), &ones, None))
    });

    // The padded input: what the window slides over.
    let padded_cells = Signal::derive(move || {
        let s = settings.get();
        let input = numbered(s.size);
        let side = s.size + 2 * s.padding;
        let window: Vec<(usize, usize)> = match conv.get() {
            Ok(op) => {
                let (oy, ox) = cell.get();
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
        let sel = cell.get();
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
        let (image, page, s) = (image.get(), device.get(), settings.get());
        async move {
            let x = to_mode(&image?.ok()?, ColorMode::Gray);
            let page = page?;
            let average = Tensor::from_fn([1, 1, s.kernel, s.kernel], |_| 1.0 / (s.kernel * s.kernel) as f32);
            let mut results = Vec::new();
            for mode in [PaddingMode::Zeros, PaddingMode::Reflection] {
                let op = Conv2d::new(&Settings { mode, ..s }.params(), x.shape(), average.shape(), None);
                let run = match op {
                    Ok(op) => with_fallback(&page.device, |d| {
                        let y = op.forward(&x.to(&d), &average.to(&d), None);
                        async move { y.read().await }
                    })
                    .await
                    .map(|r| r.value),
                    Err(e) => Err(e.to_string()),
                };
                results.push(run);
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

    view! {
        <LessonPage
            class="padding-stride"
            title="Padding, stride and dilation"
            lede="A kernel's window can only sit where it fits. Padding adds a border around the input so that windows \
                  can be centred on the edge pixels too; stride moves the window more than one pixel at a time, so \
                  stride 2 halves the height and width; dilation spreads the kernel's taps apart. Pick an output cell \
                  to light up the input cells its window reads (each output here is the sum of its window)."
            notices
        >
            <div class="controls">
                {number_select(size, "Input size ", "size", 3..=10)}
                {number_select(kernel, "Kernel ", "kernel", 1..=7)}
                {number_select(padding, "Padding ", "padding", 0..=3)}
                {choice_select(mode, "Padding mode ", "padding-mode", PaddingMode::LESSON, |m| m.name().to_string())}
                {number_select(stride, "Stride ", "stride", 1..=3)}
                {number_select(dilation, "Dilation ", "dilation", 1..=3)}
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
                        on_select=Callback::new(move |c| cursor.select(c))
                        selected=Signal::derive(move || cell.get())
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
        </LessonPage>
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
