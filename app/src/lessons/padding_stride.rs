//! `/padding-stride`: how padding, stride and dilation decide where a kernel's windows fall and how big the output
//! is. A small numbered input shows every padded cell (and, for border and reflection padding, which input cell
//! it copies); choosing an output cell lights up the input cells its window reads. The output size formula is
//! worked out with the current numbers, and a photo is convolved with zeros and with reflection padding side by
//! side.
//!
//! URL parameters ([`PARAMS`]): `size` (input side, 3–10), `k` (kernel side, 1–7), `p` (padding, 0–3), `mode`
//! (`zeros`, `border`, `reflection`), `s` (stride, 1–3), `d` (dilation, 1–3), `y`, `x` (the selected output cell).

use crate::device::{use_device, with_fallback};
use crate::image::{ColorMode, draw, load_rgb, to_mode};
use crate::panel::{PanelNumbers, footer};
#[cfg(not(target_arch = "wasm32"))]
use crate::panel::{Assets, Case, url};
use crate::query::{AnyParam, Param, Params};
use crate::widgets::{Cell, CodePanel, Cursor, LessonPage, NumberGrid, PHOTOS, PhotoSource, ShapeBadge, select};
use engine::Tensor;
use engine::ops::conv2d::Conv2d;
use engine::ops::{Conv2dParams, PaddingMode};
use leptos::html::Canvas;
use leptos::prelude::*;

/// The input's side.
pub const SIZE: Param<usize> = Param::range("size", 6, 3, 10);
/// The kernel's side.
pub const KERNEL: Param<usize> = Param::range("k", 3, 1, 7);
/// Padding on every side.
pub const PADDING: Param<usize> = Param::range("p", 1, 0, 3);
/// What the padded cells hold.
pub const MODE: Param<PaddingMode> = Param::choices("mode", PaddingMode::Zeros, &PaddingMode::LESSON, PaddingMode::name);
/// How far the window moves.
pub const STRIDE: Param<usize> = Param::range("s", 1, 1, 3);
/// How far apart the kernel's taps are.
pub const DILATION: Param<usize> = Param::range("d", 1, 1, 3);
/// The selected output cell's row (clamped into the output on the page).
pub const Y: Param<usize> = Param::range("y", 0, 0, 20);
/// Its column.
pub const X: Param<usize> = Param::range("x", 0, 0, 20);
/// Every parameter, in the URL's order.
pub const PARAMS: &[&dyn AnyParam] = &[&SIZE, &KERNEL, &PADDING, &MODE, &STRIDE, &DILATION, &Y, &X];

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
    /// Every combination of the controls' values.
    pub fn every() -> Vec<Settings> {
        let mut out = Vec::new();
        for size in SIZE.samples() {
            for kernel in KERNEL.samples() {
                for padding in PADDING.samples() {
                    for mode in MODE.samples() {
                        for stride in STRIDE.samples() {
                            for dilation in DILATION.samples() {
                                out.push(Settings { size, kernel, padding, mode, stride, dilation });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The settings and the selected cell as the URL writes them.
    pub fn query(&self, (y, x): (usize, usize)) -> Vec<(&'static str, String)> {
        vec![
            (SIZE.key, SIZE.to_url(self.size)),
            (KERNEL.key, KERNEL.to_url(self.kernel)),
            (PADDING.key, PADDING.to_url(self.padding)),
            (MODE.key, MODE.to_url(self.mode)),
            (STRIDE.key, STRIDE.to_url(self.stride)),
            (DILATION.key, DILATION.to_url(self.dilation)),
            (Y.key, Y.to_url(y)),
            (X.key, X.to_url(x)),
        ]
    }

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

    /// The output's cells, with `selected` marked.
    pub fn output_cells(&self, op: &Conv2d, selected: (usize, usize)) -> Vec<Cell> {
        let out = self.output(op);
        let cell = |(i, &v): (usize, &f32)| {
            let class = if (i / op.out_w, i % op.out_w) == selected { "selected" } else { "" };
            Cell { value: Some(v), class: class.into(), note: None }
        };
        out.data().iter().enumerate().map(cell).collect()
    }

    /// The sentence under the formula: the output's size against the input's.
    pub fn output_size(op: &Conv2d) -> String {
        format!("The output is {} x {} (the input {} x {}).", op.out_h, op.out_w, op.in_h, op.in_w)
    }

    /// The photo's convolution under `mode`: a `k x k` average with these settings, for the photo `x`.
    pub fn average(&self, mode: PaddingMode, x: &Tensor) -> Result<(Conv2d, Tensor), String> {
        let k = self.kernel;
        let average = Tensor::from_fn([1, 1, k, k], |_| 1.0 / (k * k) as f32);
        let op = Conv2d::new(&Settings { mode, ..*self }.params(), x.shape(), average.shape(), None).map_err(|e| e.to_string())?;
        Ok((op, average))
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

/// The states `cargo xtask panels` checks: padding, stride and dilation in every mode, with the last cell (whose
/// window reaches furthest into the padding) selected.
#[cfg(not(target_arch = "wasm32"))]
pub fn cases(_: &dyn Assets) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for (size, kernel, padding, stride, dilation) in [
        (6, 3, 1, 1, 1),
        (6, 3, 1, 2, 1),
        (7, 3, 0, 1, 1),
        (5, 1, 0, 1, 1),
        (8, 5, 2, 3, 1),
        (10, 3, 3, 2, 2),
        (9, 7, 3, 1, 1),
        (4, 2, 1, 2, 3),
        (10, 4, 2, 3, 2),
        (3, 3, 2, 1, 1),
    ] {
        for mode in MODE.samples() {
            let settings = Settings { size, kernel, padding, mode, stride, dilation };
            let Ok(op) = settings.conv() else { continue };
            let cell = (op.out_h - 1, op.out_w - 1);
            cases.push(Case { url: url("padding-stride", &settings.query(cell)), code: settings.pytorch(cell), page: settings.numbers(cell) });
        }
    }
    Ok(cases)
}

/// The page.
#[component]
pub fn PaddingStride() -> impl IntoView {
    let mut params = Params::from_location();
    let (size, kernel, padding, mode) = (params.get(&SIZE), params.get(&KERNEL), params.get(&PADDING), params.get(&MODE));
    let (stride, dilation) = (params.get(&STRIDE), params.get(&DILATION));
    let cell = params.cell((&Y, &X));
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

    let conv = Memo::new(move |_| settings.get().conv());
    let cursor = Cursor::new(cell, Signal::derive(move || conv.get().ok().map(|op| (op.out_h, op.out_w))), 2);
    // The padded input: what the window slides over (nothing when the settings are rejected: the error says why).
    let padded_cells = Signal::derive(move || conv.get().map(|op| settings.get().padded_cells(&op, cell.get())).unwrap_or_default());
    let padded_cols = Signal::derive(move || settings.get().size + 2 * settings.get().padding);
    let output_cells = Signal::derive(move || conv.get().map(|op| settings.get().output_cells(&op, cell.get())).unwrap_or_default());
    let output_cols = Signal::derive(move || conv.get().map_or(1, |op| op.out_w));
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
                {select(&SIZE, size, "Input size ", "size")}
                {select(&KERNEL, kernel, "Kernel ", "kernel")}
                {select(&PADDING, padding, "Padding ", "padding")}
                {select(&MODE, mode, "Padding mode ", "padding-mode")}
                {select(&STRIDE, stride, "Stride ", "stride")}
                {select(&DILATION, dilation, "Dilation ", "dilation")}
            </div>

            <p class="formula" data-testid="formula">{move || settings.get().formula()}</p>
            {move || match conv.get() {
                Ok(op) => view! { <p data-testid="output-size">{Settings::output_size(&op)}</p> }.into_any(),
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

            <PhotoAverages settings/>
            <CodePanel code/>
        </LessonPage>
    }
}

/// A photo averaged by the settings' windows with zeros and with reflection padding, side by side.
#[component]
fn PhotoAverages(settings: Signal<Settings>) -> impl IntoView {
    let device = use_device();
    let image = LocalResource::new(|| async { load_rgb(&PhotoSource::Sample(PHOTOS[0].file).url(128), 128).await });
    let canvases = [NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new()];
    let shapes = RwSignal::new([None, None]);
    let error = RwSignal::new(None::<String>);
    let photos = LocalResource::new(move || {
        let (image, page, s) = (image.get(), device.get(), settings.get());
        async move {
            let x = to_mode(&image?.ok()?, ColorMode::Gray);
            let page = page?;
            let mut results = Vec::new();
            for mode in [PaddingMode::Zeros, PaddingMode::Reflection] {
                let run = match s.average(mode, &x) {
                    Ok((op, average)) => with_fallback(&page.device, |d| {
                        let y = op.forward(&x.to(&d), &average.to(&d), None);
                        async move { y?.read().await }
                    })
                    .await
                    .map(|r| r.value),
                    Err(e) => Err(e),
                };
                results.push(run);
            }
            Some(results)
        }
    });
    // Canvas drawing is outside the reactive system: an effect keeps it in sync.
    Effect::new(move || {
        let Some(Some(results)) = photos.get() else { return };
        let mut drawn = [None, None];
        let mut failed = None;
        for (i, (result, canvas)) in results.iter().zip(canvases).enumerate() {
            match (result, canvas.get()) {
                (Ok(y), Some(canvas)) => {
                    drawn[i] = Some(y.shape().clone());
                    failed = draw(&canvas, y).err().or(failed);
                }
                (Err(e), _) => failed = Some(e.clone()),
                _ => {}
            }
        }
        shapes.set(drawn);
        error.set(failed);
    });
    let shape = move |i: usize| Signal::derive(move || shapes.get()[i].clone());
    view! {
        <h2>"On a photo"</h2>
        <p>"The same windows averaging a photo: zeros padding darkens the border (it averages in black), reflection padding does not."</p>
        <div class="images">
            <figure>
                <canvas node_ref=canvases[0] data-testid="zeros-canvas" aria-label="The photo averaged with zeros padding"></canvas>
                <figcaption>"zeros " <ShapeBadge shape=shape(0) testid="zeros-shape"/></figcaption>
            </figure>
            <figure>
                <canvas node_ref=canvases[1] data-testid="reflection-canvas" aria-label="The photo averaged with reflection padding"></canvas>
                <figcaption>"reflection " <ShapeBadge shape=shape(1) testid="reflection-shape"/></figcaption>
            </figure>
        </div>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
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
        let photo = Tensor::from_fn([1, 1, 12, 10], |i| (i % 7) as f32 / 6.0);
        for s in Settings::every() {
            assert!(s.formula().starts_with("H' = "));
            assert!(s.pytorch((0, 0)).contains("print(\"checksum:\""));
            match s.conv() {
                Ok(op) => {
                    accepted += 1;
                    assert_eq!(s.output(&op).shape().dims(), &[1, 1, op.out_h, op.out_w]);
                    assert!(Settings::output_size(&op).starts_with(&format!("The output is {} x {}", op.out_h, op.out_w)));
                    for cell in [(0, 0), (op.out_h - 1, op.out_w - 1)] {
                        assert_eq!(s.padded_cells(&op, cell).len(), (s.size + 2 * s.padding).pow(2));
                        let selected: Vec<usize> = s.output_cells(&op, cell).iter().enumerate().filter(|(_, c)| c.class == "selected").map(|(i, _)| i).collect();
                        assert_eq!(selected, [cell.0 * op.out_w + cell.1]);
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
            // The photo beside it: both modes give the same size, or the engine's reason.
            if let (Ok((zeros, _)), Ok((reflection, _))) = (s.average(PaddingMode::Zeros, &photo), s.average(PaddingMode::Reflection, &photo)) {
                assert_eq!(zeros.out_shape(), reflection.out_shape());
            }
        }
        // Both kinds occur: the drop-downs reach settings the engine rejects (such as reflection wider than the input).
        let rejected = Settings { size: 3, kernel: 3, padding: 3, mode: PaddingMode::Reflection, stride: 1, dilation: 1 };
        assert!(rejected.conv().is_err());
        assert!(accepted > 1000, "{accepted}");
    }

    #[test]
    fn every_case_s_link_reads_back_as_its_state() {
        let link = url("padding-stride", &Settings { size: 9, kernel: 2, padding: 3, mode: PaddingMode::Border, stride: 2, dilation: 3 }.query((4, 1)));
        let query = crate::query::Query::parse(link.split_once('?').unwrap().1);
        let read = Settings { size: query.value(&SIZE), kernel: query.value(&KERNEL), padding: query.value(&PADDING), mode: query.value(&MODE), stride: query.value(&STRIDE), dilation: query.value(&DILATION) };
        assert_eq!(read, Settings { size: 9, kernel: 2, padding: 3, mode: PaddingMode::Border, stride: 2, dilation: 3 });
        assert_eq!((query.value(&Y), query.value(&X)), (4, 1));
        assert!(query.notices().is_empty());
    }
}
