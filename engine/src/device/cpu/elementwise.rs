//! Element-wise ops on every core ([`parallel`]): ReLU, dropout's mask, Adam's update. Each value is computed
//! from its own index alone, so the results equal the reference loops' whatever the number of threads.

use super::parallel;
use crate::ops::adam::Adam;
use crate::ops::dropout::Dropout;
use crate::rng::CounterUniform;
use crate::tensor::Tensor;

/// [`crate::ops::relu::Relu::forward`]. Written as a comparison and a choice, which vectorise to two
/// instructions on every processor; `v.max(0.0)` gives the same values (NaN becomes 0 in both), but its NaN rule
/// costs several instructions in WebAssembly SIMD without relaxed SIMD.
pub fn relu(x: &Tensor) -> Tensor {
    Tensor::new(x.shape().clone(), parallel::map(x.data(), |v| if v > 0.0 { v } else { 0.0 })).expect("same size")
}

/// [`crate::ops::relu::Relu::backward`].
pub fn relu_backward(x: &Tensor, dy: &Tensor) -> Tensor {
    let dx = parallel::map2(x.data(), dy.data(), |v, g| if v > 0.0 { g } else { 0.0 });
    Tensor::new(x.shape().clone(), dx).expect("same size")
}

/// [`Dropout::forward`]: the output and the mask. Each element's draw depends only on its index, so the chunks
/// are drawn on separate threads.
pub fn dropout(op: &Dropout, x: &Tensor) -> (Tensor, Tensor) {
    if !op.training {
        return (x.clone(), Tensor::from_fn(op.shape.clone(), |_| 1.0));
    }
    let keeps = CounterUniform::new(op.seed).at_least_p(op.p);
    let mask = parallel::from_fn(x.numel(), move |i| if keeps.at(i as u32) { 1.0 } else { 0.0 });
    let y = masked(op, x.data(), &mask);
    (Tensor::new(op.shape.clone(), y).expect("same size"), Tensor::new(op.shape.clone(), mask).expect("same size"))
}

/// [`Dropout::backward`]: `dy · mask · scale`.
pub fn dropout_backward(op: &Dropout, dy: &Tensor, mask: &Tensor) -> Tensor {
    Tensor::new(op.shape.clone(), masked(op, dy.data(), mask.data())).expect("same size")
}

/// `value · mask · scale` for every value.
fn masked(op: &Dropout, values: &[f32], mask: &[f32]) -> Vec<f32> {
    let scale = op.scale();
    parallel::map2(values, mask, move |v, keep| v * keep * scale)
}

/// [`Adam::step`], in place, the parameters split between threads.
pub fn adam(op: &Adam, step: u32, param: &mut Tensor, grad: &Tensor, m: &mut Tensor, v: &mut Tensor) {
    let (step_size, root_bc2) = op.step_constants(step);
    let g = grad.data();
    // The settings copied into the loop's closure (`move`): read through references, they would be reloaded
    // after every store (the compiler cannot tell that the tensors do not overlap them) and the loop would not
    // vectorise.
    let op = *op;
    parallel::for_chunks([param.data_mut(), m.data_mut(), v.data_mut()], move |start, [p, m, v]| {
        for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(&g[start..]) {
            (*p, *m, *v) = op.update(*p, g, *m, *v, step_size, root_bc2);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::uniform_at;

    #[test]
    fn a_large_mask_drawn_on_several_threads_is_the_counter_generator_s() {
        let x = Tensor::from_fn([200_003], |i| i as f32);
        let op = Dropout::new(x.shape(), 0.25, true, 7).unwrap();
        let (y, mask) = dropout(&op, &x);
        for i in 0..x.numel() {
            let keep = uniform_at(7, i as u32) >= 0.25;
            assert_eq!(mask.data()[i], if keep { 1.0 } else { 0.0 }, "mask at {i}");
            assert_eq!(y.data()[i], if keep { i as f32 * op.scale() } else { 0.0 }, "value at {i}");
        }
    }
}
