//! Max pooling: each output value is the largest value in one window of its input channel.
//!
//! ```text
//! y[n, c, oy, ox] = max_{taps in the image} x[n, c, row, col]
//! ```
//!
//! The position of that maximum (the argmax, as a flat index `row·W + col` into the channel's plane, stored as
//! f32) is kept: backward sends each `dy` to exactly that pixel, and nothing to the others. Ties go to the first
//! maximum in raster order, as in PyTorch. Window geometry and output size: [`PoolGeometry`].
//!
//! Inputs `[x]` `[N, C, H, W]`, outputs `[y, argmax]` `[N, C, H', W']` (the argmax is kept for backward).

use super::pool::{Pool2dParams, PoolGeometry, PoolTrace};
use super::dispatch::{launch, on_device};
use crate::error::{ErrorKind, OpError, Result};
use crate::kernels;
use crate::tensor::Tensor;

pub use super::pool::PoolUniforms as Uniforms;

/// A validated max pooling.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxPool2d {
    /// The windows.
    pub geometry: PoolGeometry,
}

/// Argmax indices are stored as f32, exact below 2^24.
const MAX_PLANE: usize = 1 << 24;

const OP: &str = "max_pool2d";

impl MaxPool2d {
    /// Checks `params` against `x [N, C, H, W]`.
    pub fn new(params: &Pool2dParams, x: &crate::Shape) -> Result<MaxPool2d> {
        let geometry = PoolGeometry::new(OP, params, x)?;
        if geometry.in_h * geometry.in_w > MAX_PLANE {
            return Err(OpError::new(OP, ErrorKind::Value, "the image is too large to index its pixels exactly")
                .expected(format!("H·W ≤ {MAX_PLANE}"))
                .given(format!("{}x{}", geometry.in_h, geometry.in_w))
                .hint("downscale the image")
                .into());
        }
        Ok(MaxPool2d { geometry })
    }

    /// Window `(oy, ox)` of plane `plane` (`n·C + c`): the pixels it compares, which one wins, and the result.
    pub fn trace(&self, x: &Tensor, plane: usize, oy: usize, ox: usize) -> PoolTrace {
        let g = &self.geometry;
        let values = &x.data()[plane * g.in_h * g.in_w..][..g.in_h * g.in_w];
        let pixels: Vec<(usize, usize, f32)> = g.window(oy, ox).map(|(r, c)| (r, c, values[r * g.in_w + c])).collect();
        // The first strict maximum, as forward picks it.
        let mut best: Option<usize> = None;
        for (i, p) in pixels.iter().enumerate() {
            if best.is_none_or(|b| p.2 > pixels[b].2) {
                best = Some(i);
            }
        }
        PoolTrace { output: best.map_or(0.0, |b| pixels[b].2), argmax: best, pixels, divisor: 1.0 }
    }

    /// The output and the argmax (a flat index into each input plane), on `x`'s device (the CPU runs the
    /// reference; the GPU one invocation per output).
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        on_device(OP, [x], || self.reference_forward(x), |gpu| {
            let shape = self.geometry.out_shape();
            let (y, argmax) = (Tensor::empty_on(gpu, shape.clone()), Tensor::empty_on(gpu, shape));
            gpu.dispatch(&FORWARD, &self.geometry.uniforms(false), [x.buffer(), y.buffer(), argmax.buffer()], y.numel());
            (y, argmax)
        })
    }

    /// The input's gradient: each `dy` goes to its window's argmax (on the GPU, one invocation per input pixel,
    /// gathering from the windows that cover it).
    pub fn backward(&self, dy: &Tensor, argmax: &Tensor) -> Result<Tensor> {
        let gpu = |gpu: &_| launch(gpu, &BACKWARD, &self.geometry.uniforms(false), [argmax, dy], self.geometry.in_shape());
        on_device(OP, [dy, argmax], || self.reference_backward(dy, argmax), gpu)
    }

    /// The reference forward.
    pub fn reference_forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        let g = &self.geometry;
        let mut y = Tensor::zeros(g.out_shape());
        let mut argmax = Tensor::zeros(g.out_shape());
        let mut slots = y.data_mut().iter_mut().zip(argmax.data_mut().iter_mut());
        for plane in x.data().chunks(g.in_h * g.in_w) {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    let mut best: Option<(f32, usize)> = None;
                    for (r, c) in g.window(oy, ox) {
                        let v = plane[r * g.in_w + c];
                        if best.is_none_or(|(m, _)| v > m) {
                            best = Some((v, r * g.in_w + c));
                        }
                    }
                    if let Some((slot, arg)) = slots.next() {
                        // A window with no pixel (only possible with extreme dilation) pools to 0.
                        let (v, i) = best.unwrap_or((0.0, 0));
                        (*slot, *arg) = (v, i as f32);
                    }
                }
            }
        }
        (y, argmax)
    }

    /// The reference backward.
    pub fn reference_backward(&self, dy: &Tensor, argmax: &Tensor) -> Tensor {
        let g = &self.geometry;
        let mut dx = Tensor::zeros(g.in_shape());
        let (plane_in, plane_out) = (g.in_h * g.in_w, g.out_h * g.out_w);
        let out = dx.data_mut();
        for (o, (&grad, &arg)) in dy.data().iter().zip(argmax.data()).enumerate() {
            out[o / plane_out * plane_in + arg as usize] += grad;
        }
        dx
    }
}

kernels! {
    shader "max_pool2d", uniforms super::pool::PoolUniforms;
    FORWARD = forward(x: 1, y: 2, argmax: 3);
    BACKWARD = backward(argmax: 3, dy: 4, dx: 5);
}

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for MaxPool2d {
    fn outputs(&self, x: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        let (y, argmax) = path.run(|| self.reference_forward(x[0]), || self.forward(x[0]))?;
        Ok(vec![y, argmax])
    }

    fn gradients(&self, _: &[&Tensor], out: &[&Tensor], dy: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(path.run(|| self.reference_backward(dy[0], out[1]), || self.backward(dy[0], out[1]))?)])
    }
}

/// Random windows (random values: ties, where the gradient jumps, do not happen; finite differences take small
/// steps).
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    super::pool::random_windows(rng, 10)
        .into_iter()
        .map(|(params, x)| {
            let op = MaxPool2d::new(&params, &x).expect("accepted");
            crate::ops::dispatch::Example::new(format!("max_pool2d {params:?} of {x}"), op, vec![Tensor::randn(x, rng)]).finite_differences(Some(1e-3))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_maximum_and_remembers_where() {
        let x = Tensor::from_fn([1, 1, 4, 4], |i| ((i * 7) % 16) as f32);
        let (y, arg) = MaxPool2d::new(&Pool2dParams::new(2), x.shape()).unwrap().forward(&x).unwrap();
        // Windows of [0 7 14 5 / 12 3 10 1 / 8 15 6 13 / 4 11 2 9].
        assert_eq!(y.data(), &[12.0, 14.0, 15.0, 13.0]);
        assert_eq!(arg.data(), &[4.0, 2.0, 9.0, 11.0]);
    }

    #[test]
    fn the_trace_picks_what_forward_picks() {
        let x = Tensor::randn([1, 1, 6, 6], &mut crate::rng::Rng::new(25));
        let op = MaxPool2d::new(&Pool2dParams::new(3).stride(2).padding(1), x.shape()).unwrap();
        let (y, arg) = op.forward(&x).unwrap();
        for (oy, ox) in [(0, 0), (1, 2), (2, 2)] {
            let t = op.trace(&x, 0, oy, ox);
            let (r, c, _) = t.pixels[t.argmax.unwrap()];
            assert_eq!(t.output, y.data()[oy * 3 + ox]);
            assert_eq!((r * 6 + c) as f32, arg.data()[oy * 3 + ox]);
        }
    }
}
