//! The mean over the channel axis: how the heatmap lesson turns a CNN body's activations (`[512, 11, 11]` for one
//! image) into one map of "how activated was that area" (`[11, 11]`), fastai's `acts.mean(0)`.
//!
//! ```text
//! y[n, h, w] = (1/C) · Σ_c x[n, c, h, w]          (PyTorch: x.mean(1))
//! ```
//!
//! Backward spreads each `dy[n, h, w]` evenly over the `C` channels: `dx[n, c, h, w] = dy[n, h, w] / C`.
//!
//! Inputs `[x]` `[N, C, H, W]`, outputs `[y]` `[N, H, W]`.

use super::dispatch::{Unary, launch};
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

/// A validated channel mean of an `[N, C, H, W]` input.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelMean {
    /// `N`
    pub batch: usize,
    /// `C`, the channels averaged.
    pub channels: usize,
    /// `H·W`, the positions kept.
    pub positions: usize,
    /// The input's shape.
    pub in_shape: Shape,
    /// `[N, H, W]`
    pub out_shape: Shape,
}

impl ChannelMean {
    /// Checks that `x` is a non-empty `[N, C, H, W]`.
    pub fn new(x: &Shape) -> Result<ChannelMean> {
        let &[batch, channels, h, w] = x.dims() else {
            return Err(OpError::new(Self::NAME, ErrorKind::Shape, "the input must have 4 dimensions")
                .expected("[N, C, H, W]")
                .given(x)
                .hint("a single image's activations [C, H, W] need a batch axis: acts[None]")
                .into());
        };
        if x.numel() == 0 {
            return Err(OpError::new(Self::NAME, ErrorKind::ZeroSize, "the input is empty")
                .expected("every dimension at least 1")
                .given(x)
                .hint("average the activations of at least one channel")
                .into());
        }
        Ok(ChannelMean { batch, channels, positions: h * w, in_shape: x.clone(), out_shape: Shape::from([batch, h, w]) })
    }

    fn uniforms(&self) -> Uniforms {
        Uniforms { batch: self.batch as u32, channels: self.channels as u32, positions: self.positions as u32 }
    }
}

impl Unary for ChannelMean {
    const NAME: &'static str = "channel_mean";

    /// Each position's values summed channel by channel, then divided by `C`.
    fn reference_forward(&self, x: &Tensor) -> Tensor {
        let (c, p) = (self.channels, self.positions);
        Tensor::from_fn(self.out_shape.clone(), |i| {
            let (n, at) = (i / p, i % p);
            let mut sum = 0.0;
            for ch in 0..c {
                sum += x.data()[(n * c + ch) * p + at];
            }
            sum / c as f32
        })
    }

    /// Each `dy` spread evenly over the channels.
    fn reference_backward(&self, _: &Tensor, dy: &Tensor) -> Tensor {
        let (c, p) = (self.channels, self.positions);
        Tensor::from_fn(self.in_shape.clone(), |i| dy.data()[i / (c * p) * p + i % p] / c as f32)
    }

    /// One invocation per output value, summing its channels.
    fn gpu_forward(&self, gpu: &Gpu, x: &Tensor) -> Tensor {
        launch(gpu, &FORWARD, &self.uniforms(), [x], self.out_shape.clone())
    }

    fn gpu_backward(&self, gpu: &Gpu, _: &Tensor, dy: &Tensor) -> Tensor {
        launch(gpu, &BACKWARD, &self.uniforms(), [dy], self.in_shape.clone())
    }
}

uniforms! {
    /// The `Params` of `shaders/channel_mean.wgsl`.
    pub struct Uniforms { batch: u32, channels: u32, positions: u32 }
}

kernels! {
    shader "channel_mean", uniforms Uniforms;
    FORWARD = forward(x: 1, y: 2);
    BACKWARD = backward(dy: 3, dx: 4);
}

/// One channel, a few, and the shapes model's body (128 channels of 4x4, a batch of 2).
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    [[1, 1, 3, 4], [2, 5, 3, 3], [2, 128, 4, 4]]
        .into_iter()
        .map(|dims| {
            let x = Tensor::randn(dims, rng);
            crate::ops::dispatch::Example::new(format!("channel_mean of {}", x.shape()), ChannelMean::new(x.shape()).expect("valid"), vec![x])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_position_becomes_the_mean_of_its_channels() {
        // Two channels of a 1x2 map: [1, 2] and [3, 6] average to [2, 4].
        let x = Tensor::new([1, 2, 1, 2], vec![1.0, 2.0, 3.0, 6.0]).unwrap();
        let op = ChannelMean::new(x.shape()).unwrap();
        assert_eq!(op.forward(&x).unwrap().data(), &[2.0, 4.0]);
        assert_eq!(op.out_shape, Shape::from([1, 1, 2]));
        assert_eq!(op.backward(&x, &Tensor::new([1, 1, 2], vec![1.0, 4.0]).unwrap()).unwrap().data(), &[0.5, 2.0, 0.5, 2.0]);
        assert!(ChannelMean::new(&Shape::from([3, 4, 4])).is_err());
    }
}
