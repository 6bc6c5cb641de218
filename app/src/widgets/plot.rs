//! A small line plot in SVG: training curves (loss by step, a metric by epoch).

use leptos::prelude::*;

/// One line of a plot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Its name in the legend.
    pub name: &'static str,
    /// Its CSS class (the colour).
    pub class: &'static str,
    /// `(x, y)` points, in order of x.
    pub points: Vec<(f64, f64)>,
}

/// The plot's drawing area inside its 400 x 200 view box.
const LEFT: f64 = 48.0;
const RIGHT: f64 = 392.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 172.0;

/// A number for an axis label: 3 significant digits.
fn tick(v: f64) -> String {
    if v == 0.0 || (v.abs() >= 0.01 && v.abs() < 10_000.0) { format!("{:.3}", v).trim_end_matches('0').trim_end_matches('.').to_string() } else { format!("{v:.2e}") }
}

/// The lines of `series` on shared axes: x from 0 to `x_max` (or the largest x), y from the smallest to the
/// largest value. Points are drawn as dots too when a line has few of them (one per epoch, say).
#[component]
pub fn LinePlot(
    /// The lines.
    #[prop(into)]
    series: Signal<Vec<Series>>,
    /// The x axis ends here (the run's length), so that a curve grows from the left.
    #[prop(into)]
    x_max: Signal<f64>,
    /// What x counts.
    x_label: &'static str,
    /// What y is.
    y_label: &'static str,
    /// Test id.
    testid: &'static str,
) -> impl IntoView {
    let layout = move || {
        let lines = series.get();
        let ys = lines.iter().flat_map(|s| s.points.iter().map(|p| p.1)).filter(|y| y.is_finite());
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
        let (lo, hi) = if lo > hi { (0.0, 1.0) } else if hi - lo < 1e-9 { (lo - 0.5, hi + 0.5) } else { (lo, hi) };
        let x_top = lines.iter().flat_map(|s| s.points.iter().map(|p| p.0)).fold(x_max.get(), f64::max).max(1e-9);
        (lines, lo, hi, x_top)
    };
    let described = move || {
        let (lines, ..) = layout();
        let last: Vec<String> = lines.iter().filter_map(|s| s.points.last().map(|p| format!("{} {} at {x_label} {}", s.name, tick(p.1), tick(p.0)))).collect();
        if last.is_empty() { format!("{y_label} by {x_label}: nothing yet") } else { format!("{y_label} by {x_label}: {}", last.join("; ")) }
    };
    view! {
        <figure class="plot" data-testid=testid>
            <svg viewBox="0 0 400 200" role="img" aria-label=described>
                {move || {
                    let (lines, lo, hi, x_top) = layout();
                    let sx = move |x: f64| LEFT + (x / x_top) * (RIGHT - LEFT);
                    let sy = move |y: f64| BOTTOM - (y - lo) / (hi - lo) * (BOTTOM - TOP);
                    let axes = view! {
                        <line class="axis" x1=LEFT y1=BOTTOM x2=RIGHT y2=BOTTOM/>
                        <line class="axis" x1=LEFT y1=TOP x2=LEFT y2=BOTTOM/>
                        <text class="tick" x=LEFT - 4.0 y=TOP + 4.0 text-anchor="end">{tick(hi)}</text>
                        <text class="tick" x=LEFT - 4.0 y=BOTTOM text-anchor="end">{tick(lo)}</text>
                        <text class="tick" x=LEFT y=BOTTOM + 14.0 text-anchor="start">"0"</text>
                        <text class="tick" x=RIGHT y=BOTTOM + 14.0 text-anchor="end">{tick(x_top)}</text>
                        <text class="label" x=(LEFT + RIGHT) / 2.0 y=BOTTOM + 24.0 text-anchor="middle">{x_label}</text>
                    };
                    let curves = lines
                        .into_iter()
                        .map(|s| {
                            let points: String = s.points.iter().map(|&(x, y)| format!("{:.1},{:.1} ", sx(x), sy(y))).collect();
                            let dots = (s.points.len() <= 30).then(|| {
                                s.points.iter().map(|&(x, y)| view! { <circle class=s.class cx=sx(x) cy=sy(y) r="2.5"/> }).collect_view()
                            });
                            // The first and last values, for tests and for the curious.
                            let (first, last) = (s.points.first().map_or(String::new(), |p| p.1.to_string()), s.points.last().map_or(String::new(), |p| p.1.to_string()));
                            view! {
                                <polyline class=format!("line {}", s.class) points=points data-series=s.name data-count=s.points.len() data-first=first data-last=last/>
                                {dots}
                            }
                        })
                        .collect_view();
                    view! { {axes} {curves} }
                }}
            </svg>
            <figcaption>
                {y_label} ": "
                {move || series.get().into_iter().map(|s| view! { <span class=format!("legend {}", s.class)>{s.name}</span> }).collect_view()}
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::tick;

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(1.25), "1.25");
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(0.000123), "1.23e-4");
    }
}
