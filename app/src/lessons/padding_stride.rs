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
use crate::panel::{PanelNumbers, footer};
use crate::query::Params;
use crate::widgets::{Cell, CodePanel, PHOTOS, PhotoSource, Cursor, NumberGrid, LessonPage, ShapeBadge, choice_select, number_select};
use engine::Tensor;
use engine::ops::conv2d::Conv2d;
use engine::ops::{Conv2dParams, PaddingMode};
use leptos::html::Canvas;
use std::ops::RangeInclusive;
use leptos::prelude::*;

/// The input sides offered.
pub const SIZES: RangeInclusive<usize> = 3..=10;
/// The kernel sides offered.
pub const KERNELS: RangeInclusive<usize> = 1..=7;
/// The paddings offered.
pub const PADDINGS: RangeInclusive<usize> = 0..=3;
/// The strides offered.
pub const STRIDES: RangeInclusive<usize> = 1..=3;
/// The dilations offered.
pub const DILATIONS: RangeInclusive<usize> = 1..=3;

/// The lesson's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// The input's side.
    pub size: usize,
    /// The kernel's side.
    pub kernel: usize,
    /// Padding on every side.
    pub padding: usize,
    /// What the padded cells hold.
    pub mode: PaddingMode,
    /// How far the window moves.
    pub stride: usize,
    /// How far apart the kernel's taps are.
    pub dilation: usize,
}

impl Settings {
    fn params(&self) -> Conv2dParams {
        Conv2dParams::default().padding(self.padding).padding_mode(self.mode).stride(self.stride).dilation(self.dilation)
    }

    /// The convolution of the numbered input with a `k x k` kernel of ones, or why it cannot be done.
    pub fn conv(&self) -> Result<Conv2d, String> {
        let x = [1, 1, self.size, self.size];
        Conv2d::new(&self.params(), &x.into(), &[1, 1, self.kernel, self.kernel].into(), None).map_err(|e| e.to_string())
    }

    /// The output: each cell the sum of its window of the numbered input.
    pub fn output(&self, op: &Conv2d) -> Tensor {
        op.reference_forward(&numbered(self.size), &ones(self.kernel), None)
    }

    /// The padded input's cells, with the window of output cell `(oy, ox)` marked; only for settings the
    /// convolution accepts, so that no padded cell is made up from settings it rejected.
    pub fn padded_cells(&self, op: &Conv2d, (oy, ox): (usize, usize)) -> Vec<Cell> {
        let input = numbered(self.size);
        let side = self.size + 2 * self.padding;
        let (stride, d) = (op.params.stride, self.dilation);
        let window: Vec<(usize, usize)> =
            (0..self.kernel).flat_map(|ky| (0..self.kernel).map(move |kx| (oy * stride[0] + ky * d, ox * stride[1] + kx * d))).collect();
        (0..side * side)
            .map(|i| {
                let (r, c) = (i / side, i % side);
                let (sr, sc) = (r as isize - self.padding as isize, c as isize - self.padding as isize);
                let inside = sr >= 0 && sc >= 0 && (sr as usize) < self.size && (sc as usize) < self.size;
                let source = self.mode.source(sr, self.size).zip(self.mode.source(sc, self.size));
                let value = source.map_or(0.0, |(y, x)| input.data()[y * self.size + x]);
                let mut class = if inside { String::new() } else { "pad".to_string() };
                if window.contains(&(r, c)) {
                    class += " window";
                }
                let note = (!inside).then(|| source.map_or("zero".to_string(), |(y, x)| format!("← ({y}, {x})")));
                Cell { value: Some(value), class, note }
            })
            .collect()
    }

    /// What the page shows with output cell `cell` selected, computed by the op's reference loops.
    pub fn numbers(&self, cell: (usize, usize)) -> Result<PanelNumbers, String> {
        PanelNumbers::of_conv(&self.conv()?, &numbered(self.size), &ones(self.kernel), None, cell, 0)
    }

    /// The PyTorch code that computes the same output and prints the numbers the page shows for `cell`.
    pub fn pytorch(&self, (oy, ox): (usize, usize)) -> String {
        let (p, s, d, k) = (self.padding, self.stride, self.dilation, self.kernel);
        let pad = match self.mode {
            PaddingMode::Zeros => format!("F.pad(x, ({p}, {p}, {p}, {p}))  # zeros all round (as padding={p} in conv2d)"),
            other => format!("F.pad(x, ({p}, {p}, {p}, {p}), mode=\"{}\")", other.pytorch_name()),
        };
        let (oh, ow) = self.conv().map_or(("?".to_string(), "?".to_string()), |op| (op.out_h.to_string(), op.out_w.to_string()));
        let span = d * (k - 1) + 1;
        format!(
            "import torch\nimport torch.nn.functional as F\n\n\
             x = torch.arange(1, {n} + 1, dtype=torch.float32).reshape(1, 1, {h}, {h})  # the numbered input\n\
             w = torch.ones(1, 1, {k}, {k}, dtype=torch.float32)  # each output is the sum of its window\n\
             xp = {pad}\n\
             out = F.conv2d(xp, w, stride={s}, dilation={d})  # [1, 1, {oh}, {ow}]\n\n\
             oy, ox = {oy}, {ox}  # the selected output cell\n\
             window = xp[0, 0, oy * {s}:oy * {s} + {span}:{d}, ox * {s}:ox * {s} + {span}:{d}]  # the cells it reads\n\
             products = window * w[0, 0]\n\
             value = out[0, 0, oy, ox]\n{footer}",
            n = self.size * self.size,
            h = self.size,
            footer = footer("out", "products", "value"),
        )
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

/// A `k x k` kernel of ones: each output is the plain sum of its window.
fn ones(k: usize) -> Tensor {
    Tensor::from_fn([1, 1, k, k], |_| 1.0)
}

/// The page.
#[component]
pub fn PaddingStride() -> impl IntoView {
    let mut params = Params::from_location();
    let size = params.number("size", 6usize, SIZES);
    let kernel = params.number("k", 3usize, KERNELS);
    let padding = params.number("p", 1usize, PADDINGS);
    let mode = params.choice("mode", PaddingMode::Zeros, PaddingMode::LESSON, PaddingMode::name);
    let stride = params.number("s", 1usize, STRIDES);
    let dilation = params.number("d", 1usize, DILATIONS);
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
    let output = Memo::new(move |_| conv.get().ok().map(|op| settings.get().output(&op)));

    // The padded input: what the window slides over (nothing when the settings are rejected: the error says why).
    let padded_cells = Signal::derive(move || conv.get().map(|op| settings.get().padded_cells(&op, cell.get())).unwrap_or_default());
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
    let image = LocalResource::new(|| async { load_rgb(&PhotoSource::Sample(PHOTOS[0].file).url(128), 128).await });
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
                        async move { y?.read().await }
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

    let code = Signal::derive(move || settings.get().pytorch(cell.get()));

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
                {number_select(size, "Input size ", "size", SIZES)}
                {number_select(kernel, "Kernel ", "kernel", KERNELS)}
                {number_select(padding, "Padding ", "padding", PADDINGS)}
                {choice_select(mode, "Padding mode ", "padding-mode", PaddingMode::LESSON, |m| m.name().to_string())}
                {number_select(stride, "Stride ", "stride", STRIDES)}
                {number_select(dilation, "Dilation ", "dilation", DILATIONS)}
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

    #[test]
    fn no_setting_of_the_controls_panics_and_a_rejected_one_draws_nothing() {
        let mut accepted = 0;
        for size in SIZES {
            for kernel in KERNELS {
                for padding in PADDINGS {
                    for mode in PaddingMode::LESSON {
                        for stride in STRIDES {
                            for dilation in DILATIONS {
                                let s = Settings { size, kernel, padding, mode, stride, dilation };
                                assert!(s.formula().starts_with("H' = "));
                                assert!(s.pytorch((0, 0)).contains("print(\"checksum:\""));
                                match s.conv() {
                                    Ok(op) => {
                                        accepted += 1;
                                        assert_eq!(s.output(&op).shape().dims(), &[1, 1, op.out_h, op.out_w]);
                                        for cell in [(0, 0), (op.out_h - 1, op.out_w - 1)] {
                                            assert_eq!(s.padded_cells(&op, cell).len(), (size + 2 * padding).pow(2));
                                            let numbers = s.numbers(cell).unwrap();
                                            // Each output is the sum of its window: the numbered cells it reads.
                                            assert_eq!(numbers.window_sum, numbers.output, "{s:?} {cell:?}");
                                        }
                                        assert!(s.numbers((op.out_h, 0)).is_err());
                                    }
                                    Err(e) => {
                                        assert!(!e.is_empty());
                                        assert!(s.numbers((0, 0)).is_err());
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Both kinds occur: the drop-downs reach settings the engine rejects (such as reflection wider than the input).
        let rejected = Settings { size: 3, kernel: 3, padding: 3, mode: PaddingMode::Reflection, stride: 1, dilation: 1 };
        assert!(rejected.conv().is_err());
        assert!(accepted > 1000, "{accepted}");
    }
}
