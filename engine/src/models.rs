//! The models the lessons and the benchmarks train, built from the layers in [`crate::nn`].

use crate::backend::Backend;
use crate::nn::{AdaptiveAvgPool2d, BatchNorm, Conv2d, Flatten, Layer, Linear, ReLU, Sequential};
use crate::ops::conv2d::Conv2dParams;
use crate::rng::Rng;

/// fastai's `ConvLayer`: a 3x3 convolution (no bias: the batch norm's β plays its part), batch norm, ReLU.
pub fn conv_layer<B: Backend>(b: &B, in_channels: usize, out_channels: usize, stride: usize, rng: &mut Rng) -> Vec<Box<dyn Layer<B>>> {
    vec![
        Box::new(Conv2d::new(b, in_channels, out_channels, 3, Conv2dParams::default().padding(1).stride(stride), false, rng)),
        Box::new(BatchNorm::new(b, out_channels, 2)),
        Box::new(ReLU::default()),
    ]
}

/// A CNN of `ConvLayer`s (the first at stride 1, the rest at stride 2, each halving the image), then global
/// average pooling, flattening and a linear head: the shape of the lesson's models.
pub fn simple_cnn<B: Backend>(b: &B, in_channels: usize, widths: &[usize], classes: usize, rng: &mut Rng) -> Sequential<B> {
    let mut layers = Vec::new();
    let mut channels = in_channels;
    for (i, &width) in widths.iter().enumerate() {
        layers.extend(conv_layer(b, channels, width, if i == 0 { 1 } else { 2 }, rng));
        channels = width;
    }
    layers.push(Box::new(AdaptiveAvgPool2d::new([1, 1])) as Box<dyn Layer<B>>);
    layers.push(Box::new(Flatten::default()));
    layers.push(Box::new(Linear::new(b, channels, classes, true, rng)));
    Sequential::new(layers)
}

/// The digits CNN of the `digits_cnn_train` benchmark: 1→16 (8x8), 16→32 (4x4), 32→64 (2x2), pool, 64→10.
pub fn digits_cnn<B: Backend>(b: &B, rng: &mut Rng) -> Sequential<B> {
    simple_cnn(b, 1, &[16, 32, 64], 10, rng)
}

/// The shapes CNN: 3→16 (32x32), 16→32 (16x16), 32→64 (8x8), 64→128 (4x4), pool, 128→4. Its last convolution
/// (layer 9, the ReLU of the fourth block) is the "body" whose 4x4 activations the heatmap lesson shows.
pub fn shapes_cnn<B: Backend>(b: &B, rng: &mut Rng) -> Sequential<B> {
    simple_cnn(b, 3, &[16, 32, 64, 128], 4, rng)
}
