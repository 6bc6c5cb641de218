//! Finite-difference gradient checks shared by the ops' unit tests.

use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Checks `backward` against central differences of `forward` at `x`, for a random upstream gradient `dy`:
/// with `L = Σ forward(x)·dy`, every `∂L/∂x[i]` estimated as `(L(x + ε) − L(x − ε)) / 2ε` must match
/// `backward(dy)[i]`. Uses ε = 1e-2 (smooth ops); see [`check_gradient_eps`] for ops with kinks.
pub fn check_gradient(x: &Tensor, out: &Shape, forward: impl Fn(&Tensor) -> Tensor, backward: impl Fn(&Tensor) -> Tensor, rng: &mut Rng) {
    check_gradient_eps(x, out, forward, backward, rng, 1e-2);
}

/// [`check_gradient`] with a chosen ε.
pub fn check_gradient_eps(
    x: &Tensor,
    out: &Shape,
    forward: impl Fn(&Tensor) -> Tensor,
    backward: impl Fn(&Tensor) -> Tensor,
    rng: &mut Rng,
    eps: f32,
) {
    let dy = Tensor::randn(out.clone(), rng);
    let loss = |x: &Tensor| -> f64 { forward(x).data().iter().zip(dy.data()).map(|(a, g)| *a as f64 * *g as f64).sum() };
    let analytic = backward(&dy);
    assert_eq!(analytic.shape(), x.shape(), "the gradient has the input's shape");
    for i in 0..x.data().len() {
        let nudged = |e: f32| {
            let mut x = x.clone();
            x.data_mut()[i] += e;
            loss(&x)
        };
        let numeric = (nudged(eps) - nudged(-eps)) / (2.0 * eps as f64);
        let a = analytic.data()[i] as f64;
        assert!((numeric - a).abs() < 1e-2 * (1.0 + a.abs()), "element {i}: backward gives {a}, finite differences {numeric}");
    }
}
