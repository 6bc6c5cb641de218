//! The models the lessons and the benchmarks train, built from the layers in [`crate::nn`].

use crate::device::Device;
use crate::nn::{AdaptiveAvgPool2d, BatchNorm, Conv2d, Flatten, Layer, Linear, ReLU, Sequential};
use crate::ops::conv2d::Conv2dParams;
use crate::rng::Rng;

/// fastai's `ConvLayer`: a 3x3 convolution (no bias: the batch norm's β plays its part), batch norm, ReLU.
pub fn conv_layer(device: &Device, in_channels: usize, out_channels: usize, stride: usize, rng: &mut Rng) -> Vec<Box<dyn Layer>> {
    vec![
        Box::new(Conv2d::new(device, in_channels, out_channels, 3, Conv2dParams::default().padding(1).stride(stride), false, rng)),
        Box::new(BatchNorm::new(device, out_channels, 2)),
        Box::new(ReLU::default()),
    ]
}

/// The name of a [`simple_cnn`]'s last body layer (the ReLU of its last block): the activations a heatmap hooks,
/// fastai's `learn.model[0]`.
pub const BODY: &str = "body";

/// The name of a [`simple_cnn`]'s global average pooling, which turns the body's feature maps into one number per
/// channel for the head.
pub const POOL: &str = "pool";

/// The name of a [`simple_cnn`]'s linear head.
pub const HEAD: &str = "head";

/// A CNN of `ConvLayer`s (the first at stride 1, the rest at stride 2, each halving the image), then global
/// average pooling, flattening and a linear head: the shape of the lesson's models. The body's last layer, the
/// pooling and the head are named [`BODY`], [`POOL`] and [`HEAD`].
pub fn simple_cnn(device: &Device, in_channels: usize, widths: &[usize], classes: usize, rng: &mut Rng) -> Sequential {
    let mut layers = Vec::new();
    let mut channels = in_channels;
    for (i, &width) in widths.iter().enumerate() {
        layers.extend(conv_layer(device, channels, width, if i == 0 { 1 } else { 2 }, rng));
        channels = width;
    }
    let body = layers.len() - 1;
    layers.push(Box::new(AdaptiveAvgPool2d::new([1, 1])) as Box<dyn Layer>);
    layers.push(Box::new(Flatten::default()));
    layers.push(Box::new(Linear::new(device, channels, classes, true, rng)));
    let head = layers.len() - 1;
    Sequential::new(layers).named(body, BODY).named(body + 1, POOL).named(head, HEAD)
}

/// The digits CNN of the `digits_cnn_train` benchmark: 1→16 (8x8), 16→32 (4x4), 32→64 (2x2), pool, 64→10.
pub fn digits_cnn(device: &Device, rng: &mut Rng) -> Sequential {
    simple_cnn(device, 1, &[16, 32, 64], 10, rng)
}

/// The shapes CNN: 3→16 (32x32), 16→32 (16x16), 32→64 (8x8), 64→128 (4x4), pool, 128→4. Its [`BODY`] (layer 11,
/// the ReLU of the fourth block) gives the 4x4 activations that the heatmap lesson shows.
pub fn shapes_cnn(device: &Device, rng: &mut Rng) -> Sequential {
    simple_cnn(device, 3, &[16, 32, 64, 128], 4, rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_layers_are_where_their_names_say() {
        let model = shapes_cnn(&Device::Cpu, &mut Rng::new(1));
        let names = model.names();
        assert_eq!(model.layers[11].kind(), "ReLU");
        assert_eq!(names[11], BODY, "the fourth block's ReLU");
        assert_eq!((names[12].as_str(), model.layers[12].kind()), (POOL, "AdaptiveAvgPool2d"));
        assert_eq!((names[14].as_str(), model.layers[14].kind()), (HEAD, "Linear"));
    }
}
