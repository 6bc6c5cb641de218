//! A small square kernel shown as a grid of its weights, each cell shaded by sign and size.

use leptos::prelude::*;

/// The weights of a `size x size` kernel, row-major, as a table a screen reader can read.
#[component]
pub fn KernelGrid(
    /// The weights, row-major.
    #[prop(into)]
    weights: Signal<Vec<f32>>,
    /// The kernel's side length.
    size: usize,
    /// The table's caption.
    caption: &'static str,
) -> impl IntoView {
    let cell = move |v: f32, largest: f32| {
        // Positive weights shade orange, negative blue; the strongest weight is fully saturated.
        let alpha = if largest > 0.0 { (v.abs() / largest).min(1.0) * 0.6 } else { 0.0 };
        let color = if v >= 0.0 { format!("rgba(230, 126, 34, {alpha:.2})") } else { format!("rgba(52, 120, 219, {alpha:.2})") };
        view! { <td style:background-color=color>{format_weight(v)}</td> }
    };
    view! {
        <table class="kernel-grid" data-testid="kernel-grid">
            <caption>{caption}</caption>
            <tbody>
                {move || {
                    let w = weights.get();
                    let largest = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                    w.chunks(size)
                        .map(|row| view! { <tr>{row.iter().map(|&v| cell(v, largest)).collect_view()}</tr> })
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
