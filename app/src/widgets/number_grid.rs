//! A grid of numbers, one cell per tensor element, for the step-through lessons: cells can be marked (the window
//! being read, padding, the winner of a max pool) and selected by click or with the arrow keys.

use leptos::prelude::*;

/// One cell's look.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cell {
    /// The number shown (`None`: an empty cell).
    pub value: Option<f32>,
    /// Extra CSS classes (`window`, `pad`, `selected`, `argmax`, …).
    pub class: String,
    /// A second line under the number (a padded cell's source, say).
    pub note: Option<String>,
}

/// A `rows x cols` grid of cells. Cell `(r, c)` has the test id `{testid}-{r}-{c}`; `on_select` makes cells
/// clickable and the grid keyboard-operable (arrow keys move the selection, the grid is one tab stop).
#[component]
pub fn NumberGrid(
    /// The cells, row-major.
    #[prop(into)]
    cells: Signal<Vec<Cell>>,
    /// Columns.
    #[prop(into)]
    cols: Signal<usize>,
    /// The grid's accessible name.
    label: String,
    /// Test-id prefix.
    testid: &'static str,
    /// Decimals shown.
    #[prop(default = 2)]
    decimals: usize,
    /// Called with `(row, col)` when a cell is chosen.
    #[prop(optional)]
    on_select: Option<Callback<(usize, usize)>>,
    /// The selected cell, for keyboard moves.
    #[prop(optional, into)]
    selected: Option<Signal<(usize, usize)>>,
) -> impl IntoView {
    let keydown = move |ev: web_sys::KeyboardEvent| {
        let (Some(select), Some(selected)) = (on_select, selected) else { return };
        let (r, c) = selected.get_untracked();
        let cols = cols.get_untracked().max(1);
        let rows = cells.with_untracked(|v| v.len()).div_ceil(cols);
        let next = match ev.key().as_str() {
            "ArrowUp" => (r.saturating_sub(1), c),
            "ArrowDown" => ((r + 1).min(rows.saturating_sub(1)), c),
            "ArrowLeft" => (r, c.saturating_sub(1)),
            "ArrowRight" => (r, (c + 1).min(cols - 1)),
            _ => return,
        };
        ev.prevent_default();
        select.run(next);
    };
    let interactive = on_select.is_some();
    view! {
        <table
            class="number-grid"
            class:interactive=interactive
            role="grid"
            aria-label=label
            data-testid=testid
            tabindex=if interactive { "0" } else { "-1" }
            on:keydown=keydown
        >
            <tbody>
                {move || {
                    let cols = cols.get().max(1);
                    cells
                        .get()
                        .chunks(cols)
                        .enumerate()
                        .map(|(r, row)| {
                            view! {
                                <tr>
                                    {row
                                        .iter()
                                        .enumerate()
                                        .map(|(c, cell)| {
                                            // `+ 0.0` turns −0 into 0, so a zero never shows as "-0.000".
                                            let text = cell.value.map_or(String::new(), |v| format!("{:.decimals$}", v + 0.0));
                                            let note = cell.note.clone();
                                            view! {
                                                <td
                                                    class=cell.class.clone()
                                                    role="gridcell"
                                                    data-testid=format!("{testid}-{r}-{c}")
                                                    on:click=move |_| {
                                                        if let Some(select) = on_select {
                                                            select.run((r, c));
                                                        }
                                                    }
                                                >
                                                    {text}
                                                    {note.map(|n| view! { <small>{n}</small> })}
                                                </td>
                                            }
                                        })
                                        .collect_view()}
                                </tr>
                            }
                        })
                        .collect_view()
                }}
            </tbody>
        </table>
    }
}

/// A weight with at most four decimals and no trailing zeros: `1`, `-0.278`, `0.0625`.
pub fn format_weight(v: f32) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_string() } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::format_weight;

    #[test]
    fn weights_print_short() {
        assert_eq!(format_weight(1.0), "1");
        assert_eq!(format_weight(-5.0 / 18.0), "-0.2778");
        assert_eq!(format_weight(0.0625), "0.0625");
        assert_eq!(format_weight(-0.00001), "0");
    }
}
