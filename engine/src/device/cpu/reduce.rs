//! Sums over whole rows and planes: a bias's gradient (the rows of a batch added up) and global average pooling
//! (one mean per plane, and its gradient spread back evenly).

/// The rows of `x` (each `row` values long) added up in order, then scaled: `Σ_r x[r, j] · scale`.
pub fn sum_rows(x: &[f32], row: usize, scale: f32) -> Vec<f32> {
    let mut y = vec![0.0; row];
    for r in x.chunks(row) {
        for (acc, v) in y.iter_mut().zip(r) {
            *acc += v;
        }
    }
    for v in &mut y {
        *v *= scale;
    }
    y
}

/// Each plane's mean (planes of `plane` values), summed in order.
pub fn plane_means(x: &[f32], plane: usize) -> Vec<f32> {
    x.chunks(plane).map(|values| values.iter().sum::<f32>() / plane as f32).collect()
}

/// [`plane_means`]' gradient: every value of plane `i` gets `dy[i] / plane` (added to zero, as a reference loop
/// that accumulates does).
pub fn spread_over_planes(dy: &[f32], plane: usize) -> Vec<f32> {
    let mut dx = Vec::with_capacity(dy.len() * plane);
    for &g in dy {
        dx.extend(std::iter::repeat_n(0.0 + g / plane as f32, plane));
    }
    dx
}
