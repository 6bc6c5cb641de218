//! Element-wise loops on every core ([`parallel`]): ReLU, dropout's mask and its scaling, and an optimizer's
//! in-place update of a parameter and its state. Each value is computed from its own index alone, so the results
//! equal the reference loops' whatever the number of threads.

use super::parallel;
use crate::rng::CounterUniform;

/// `max(x, 0)` for every value, written as a comparison and a choice, which vectorise to two instructions on every
/// processor; `v.max(0.0)` gives the same values (NaN becomes 0 in both), but its NaN rule costs several
/// instructions in WebAssembly SIMD without relaxed SIMD.
pub fn relu(x: &[f32]) -> Vec<f32> {
    parallel::map(x, |v| if v > 0.0 { v } else { 0.0 })
}

/// ReLU's gradient: `dy` where `x > 0`, else 0.
pub fn relu_backward(x: &[f32], dy: &[f32]) -> Vec<f32> {
    parallel::map2(x, dy, |v, g| if v > 0.0 { g } else { 0.0 })
}

/// Dropout's mask over `len` values: 1 where the counter generator's draw for `(seed, i)` is at least `p`, else 0.
/// Each element's draw depends only on its index, so the chunks are drawn on separate threads.
pub fn dropout_mask(len: usize, seed: u32, p: f32) -> Vec<f32> {
    let keeps = CounterUniform::new(seed).at_least_p(p);
    parallel::from_fn(len, move |i| if keeps.at(i as u32) { 1.0 } else { 0.0 })
}

/// `value · mask · scale` for every value.
pub fn masked(values: &[f32], mask: &[f32], scale: f32) -> Vec<f32> {
    parallel::map2(values, mask, move |v, keep| v * keep * scale)
}

/// `(p[i], m[i], v[i]) = update(p[i], g[i], m[i], v[i])` for every index, in place, the values split between
/// threads: an optimizer's step over a parameter, its gradient and two slices of state. Pass `update` as a
/// `move` closure holding its settings by value: read through references, they would be reloaded after every
/// store (the compiler cannot tell that the slices do not overlap them) and the loop would not vectorise.
pub fn update_in_place(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], update: impl Fn(f32, f32, f32, f32) -> (f32, f32, f32) + Sync) {
    assert_eq!(p.len(), g.len(), "a gradient per parameter");
    parallel::for_chunks([p, m, v], move |start, [p, m, v]| {
        for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(&g[start..]) {
            (*p, *m, *v) = update(*p, g, *m, *v);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::uniform_at;

    #[test]
    fn a_large_mask_drawn_on_several_threads_is_the_counter_generator_s() {
        let len = 200_003;
        let mask = dropout_mask(len, 7, 0.25);
        let y = masked(&(0..len).map(|i| i as f32).collect::<Vec<_>>(), &mask, 4.0 / 3.0);
        for i in 0..len {
            let keep = uniform_at(7, i as u32) >= 0.25;
            assert_eq!(mask[i], if keep { 1.0 } else { 0.0 }, "mask at {i}");
            assert_eq!(y[i], if keep { i as f32 * (4.0 / 3.0) } else { 0.0 }, "value at {i}");
        }
    }
}
