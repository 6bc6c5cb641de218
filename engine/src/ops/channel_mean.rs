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

use super::{Example, Op, Path};
use crate::device::Device;
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::uniforms;

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
            return Err(OpError::new("channel_mean", ErrorKind::Shape, "the input must have 4 dimensions")
                .expected("[N, C, H, W]")
                .given(x)
                .hint("a single image's activations [C, H, W] need a batch axis: acts[None]")
                .into());
        };
        if x.numel() == 0 {
            return Err(OpError::new("channel_mean", ErrorKind::ZeroSize, "the input is empty")
                .expected("every dimension at least 1")
                .given(x)
                .hint("average the activations of at least one channel")
                .into());
        }
        Ok(ChannelMean { batch, channels, positions: h * w, in_shape: x.clone(), out_shape: Shape::from([batch, h, w]) })
    }

    /// The mean over the channels, on `x`'s device.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        match x.device() {
            Device::Cpu => self.reference_forward(x),
            Device::Gpu(gpu) => self.forward_gpu(&gpu, x),
        }
    }

    /// The input's gradient.
    pub fn backward(&self, dy: &Tensor) -> Tensor {
        match dy.device() {
            Device::Cpu => self.reference_backward(dy),
            Device::Gpu(gpu) => self.backward_gpu(&gpu, dy),
        }
    }

    /// The reference forward: each position's values summed channel by channel, then divided by `C`.
    pub fn reference_forward(&self, x: &Tensor) -> Tensor {
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

    /// The reference backward.
    pub fn reference_backward(&self, dy: &Tensor) -> Tensor {
        let (c, p) = (self.channels, self.positions);
        Tensor::from_fn(self.in_shape.clone(), |i| dy.data()[i / (c * p) * p + i % p] / c as f32)
    }
}

uniforms! {
    /// The `Params` of `shaders/channel_mean.wgsl`.
    pub struct Uniforms { batch: u32, channels: u32, positions: u32 }
}

impl ChannelMean {
    fn uniforms(&self) -> Uniforms {
        Uniforms { batch: self.batch as u32, channels: self.channels as u32, positions: self.positions as u32 }
    }

    /// One invocation per output value, summing its channels.
    fn forward_gpu(&self, gpu: &Gpu, x: &Tensor) -> Tensor {
        let y = gpu.empty(self.out_shape.clone());
        gpu.dispatch("channel_mean", "forward", &self.uniforms(), &[(1, x.buffer()), (2, y.buffer())], y.numel());
        y
    }

    /// One invocation per input value.
    fn backward_gpu(&self, gpu: &Gpu, dy: &Tensor) -> Tensor {
        let dx = gpu.empty(self.in_shape.clone());
        gpu.dispatch("channel_mean", "backward", &self.uniforms(), &[(3, dy.buffer()), (4, dx.buffer())], dx.numel());
        dx
    }
}

impl Op for ChannelMean {
    fn outputs(&self, x: &[&Tensor], path: Path) -> Vec<Tensor> {
        vec![match path {
            Path::Device => self.forward(x[0]),
            Path::Reference => self.reference_forward(x[0]),
        }]
    }

    fn gradients(&self, _: &[&Tensor], _: &[&Tensor], dy: &[&Tensor], path: Path) -> Vec<Option<Tensor>> {
        vec![Some(match path {
            Path::Device => self.backward(dy[0]),
            Path::Reference => self.reference_backward(dy[0]),
        })]
    }
}

/// One channel, a few, and the shapes model's body (128 channels of 4x4, a batch of 2).
pub fn examples(rng: &mut Rng) -> Vec<Example> {
    [[1, 1, 3, 4], [2, 5, 3, 3], [2, 128, 4, 4]]
        .into_iter()
        .map(|dims| {
            let x = Tensor::randn(dims, rng);
            Example::new(format!("channel_mean of {}", x.shape()), ChannelMean::new(x.shape()).expect("valid"), vec![x])
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
        assert_eq!(op.forward(&x).data(), &[2.0, 4.0]);
        assert_eq!(op.out_shape, Shape::from([1, 1, 2]));
        assert_eq!(op.backward(&Tensor::new([1, 1, 2], vec![1.0, 4.0]).unwrap()).data(), &[0.5, 2.0, 0.5, 2.0]);
        assert!(ChannelMean::new(&Shape::from([3, 4, 4])).is_err());
    }
}
