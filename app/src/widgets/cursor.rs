//! The selected output cell that every step-through lesson has: it stays inside the output whatever changes its
//! size, moves with a click, the mouse, the arrow keys, and walks the cells in raster order with play and step. Each
//! move is announced to screen readers; where the system asks for reduced motion, play is off (step and the arrow
//! keys still move).

use leptos::prelude::*;
use std::time::Duration;

/// A lesson's selected output cell `(row, column)` over an output of `size` `(rows, columns)` (`None` while there
/// is no output), with play and step.
#[derive(Clone, Copy)]
pub struct Cursor {
    /// The selected cell.
    pub cell: RwSignal<(usize, usize)>,
    /// The output's size.
    pub size: Signal<Option<(usize, usize)>>,
    /// Whether play is walking the cells.
    pub playing: RwSignal<bool>,
    /// Cells per second while playing.
    pub speed: RwSignal<u32>,
}

impl Cursor {
    /// A cursor on `cell` (a lesson's URL parameter) over an output of `size`. The cell is clamped into the output
    /// whenever the size changes (a smaller image, a link to a cell that does not exist), and play moves it
    /// `speed` cells a second.
    pub fn new(cell: RwSignal<(usize, usize)>, size: Signal<Option<(usize, usize)>>, speed: u32) -> Cursor {
        let cursor = Cursor { cell, size, playing: RwSignal::new(false), speed: RwSignal::new(speed) };
        Effect::new(move || {
            if let Some((rows, cols)) = size.get()
                && rows > 0
                && cols > 0
            {
                let (y, x) = cell.get_untracked();
                if y >= rows || x >= cols {
                    cell.set((y.min(rows - 1), x.min(cols - 1)));
                }
            }
        });
        Effect::new(move || {
            if !cursor.playing.get() || reduced_motion() {
                return;
            }
            let interval = Duration::from_millis(1000 / cursor.speed.get().max(1) as u64);
            if let Ok(handle) = set_interval_with_handle(move || cursor.step(), interval) {
                on_cleanup(move || handle.clear());
            }
        });
        cursor
    }

    /// Moves to the next cell in raster order (from the last back to the first).
    pub fn step(&self) {
        if let Some((rows, cols)) = self.size.get_untracked().filter(|&(r, c)| r > 0 && c > 0) {
            self.cell.update(|(y, x)| {
                let next = (*y * cols + *x + 1) % (rows * cols);
                (*y, *x) = (next / cols, next % cols);
            });
        }
    }

    /// Selects `(row, column)`, clamped into the output.
    pub fn select(&self, (y, x): (usize, usize)) {
        if let Some((rows, cols)) = self.size.get_untracked().filter(|&(r, c)| r > 0 && c > 0) {
            self.cell.set((y.min(rows - 1), x.min(cols - 1)));
        }
    }

    /// The keyboard: the arrow keys move the selection, the space bar plays or pauses. Returns whether the key was
    /// used (the caller's page should then not scroll).
    pub fn key(&self, ev: &web_sys::KeyboardEvent) -> bool {
        let Some((rows, cols)) = self.size.get_untracked() else { return false };
        let (y, x) = self.cell.get_untracked();
        let next = match ev.key().as_str() {
            " " if !reduced_motion() => {
                self.playing.update(|p| *p = !*p);
                ev.prevent_default();
                return true;
            }
            "ArrowUp" => (y.saturating_sub(1), x),
            "ArrowDown" => ((y + 1).min(rows.saturating_sub(1)), x),
            "ArrowLeft" => (y, x.saturating_sub(1)),
            "ArrowRight" => (y, (x + 1).min(cols.saturating_sub(1))),
            _ => return false,
        };
        ev.prevent_default();
        self.cell.set(next);
        true
    }

    /// The cell of an output drawn on `canvas` under the mouse of `ev`.
    pub fn select_at(&self, canvas: &web_sys::HtmlCanvasElement, ev: &web_sys::MouseEvent) {
        let Some((rows, cols)) = self.size.get_untracked().filter(|&(r, c)| r > 0 && c > 0) else { return };
        let rect = canvas.get_bounding_client_rect();
        let fx = (ev.client_x() as f64 - rect.left()) / rect.width().max(1.0);
        let fy = (ev.client_y() as f64 - rect.top()) / rect.height().max(1.0);
        let at = |f: f64, n: usize| ((f * n as f64).max(0.0) as usize).min(n - 1);
        self.cell.set((at(fy, rows), at(fx, cols)));
    }

    /// Follows the mouse over `canvas` (while nothing is playing and no button is held).
    pub fn hover(&self, canvas: &web_sys::HtmlCanvasElement, ev: &web_sys::MouseEvent) {
        if !self.playing.get_untracked() && ev.buttons() == 0 {
            self.select_at(canvas, ev);
        }
    }
}

/// Whether the learner's system asks for reduced motion (`prefers-reduced-motion: reduce`): then nothing moves by
/// itself.
pub fn reduced_motion() -> bool {
    use wasm_bindgen::JsCast;
    let Some(window) = web_sys::window() else { return false };
    // window.matchMedia(query).matches, through js_sys (web-sys's MediaQueryList would rebuild every crate).
    js_sys::Reflect::get(&window, &"matchMedia".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|match_media| match_media.call1(&window, &"(prefers-reduced-motion: reduce)".into()).ok())
        .and_then(|query| js_sys::Reflect::get(&query, &"matches".into()).ok())
        .and_then(|matches| matches.as_bool())
        .unwrap_or(false)
}

/// Play or pause, step, and (with `speeds`) a choice of speeds, for a [`Cursor`], and the selected cell announced
/// to screen readers as it moves.
#[component]
pub fn StepControls(
    /// The cursor they move.
    cursor: Cursor,
    /// What is walked, for screen readers: `the output pixels`.
    label: &'static str,
    /// Offer these speeds (cells a second); none offers no choice.
    #[prop(optional)]
    speeds: &'static [u32],
) -> impl IntoView {
    let still = reduced_motion();
    view! {
        <div class="step-controls" role="group" aria-label=format!("Step through {label}")>
            <button type="button" data-testid="play" disabled=still on:click=move |_| cursor.playing.update(|p| *p = !*p)
                title=still.then_some("Your system asks for reduced motion, so nothing moves by itself: use Step or the arrow keys.")>
                {move || if cursor.playing.get() { "Pause" } else { "Play" }}
            </button>
            <button type="button" data-testid="step" on:click=move |_| cursor.step()>"Step"</button>
            {(!speeds.is_empty()).then(|| view! {
                <label>
                    "Speed "
                    <select data-testid="speed" on:change=move |ev| cursor.speed.set(event_target_value(&ev).parse().unwrap_or(8))>
                        {speeds.iter().map(|&s| view! {
                            <option value=s.to_string() selected=move || cursor.speed.get() == s>{format!("{s} px/s")}</option>
                        }).collect_view()}
                    </select>
                </label>
            })}
            {still.then(|| view! { <span class="status" data-testid="reduced-motion">"Play is off: your system asks for reduced motion. Step or use the arrow keys."</span> })}
            <span class="visually-hidden" aria-live="polite" data-testid="step-announce">
                {move || cursor.size.get().map(|_| { let (y, x) = cursor.cell.get(); format!("{label}: row {y}, column {x}") })}
            </span>
        </div>
    }
}
