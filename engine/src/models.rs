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

/// The shapes CNN: 3→16 (32x32), 16→32 (16x16), 32→64 (8x8), 64→128 (4x4), pool, 128→4, the model `/pooling`'s head
/// and `/augment`'s comparison train. Its [`BODY`] (layer 11, the ReLU of the fourth block) gives 4x4x128
/// activations. (The heatmap lesson ships a model that keeps 8x8, built from its blocks.)
pub fn shapes_cnn(device: &Device, rng: &mut Rng) -> Sequential {
    simple_cnn(device, 3, &[16, 32, 64, 128], 4, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{MaxPool2d, Model};
    use crate::{Indices, Tensor};
    use crate::ops::cross_entropy::{CrossEntropy, Reduction};
    use crate::ops::pool::Pool2dParams;
    /// The loss of `model` on `x` with targets `t`, and the gradient of every parameter from backward.
    fn loss_and_grads(model: &mut Sequential, x: &Tensor, t: &Indices) -> (f64, Vec<Tensor>) {
        let out = model.forward(x).unwrap();
        let op = CrossEntropy::new(out.shape(), t, None, None, Reduction::Mean).unwrap();
        let saved = op.forward(&out, None).unwrap();
        let dout = op.backward(&saved, None, &Tensor::scalar(1.0)).unwrap();
        Model::backward(model, &dout).unwrap();
        let grads = Model::params_mut(model).iter().map(|p| p.grad.clone().unwrap()).collect();
        (saved.loss.data()[0] as f64, grads)
    }

    #[test]
    fn the_state_is_named_as_pytorch_s_state_dict_and_loads_back_or_is_refused_in_words() {
        let mut a = shapes_cnn(&Device::Cpu, &mut Rng::new(1));
        let mut b = shapes_cnn(&Device::Cpu, &mut Rng::new(2));
        let state = pollster::block_on(a.state()).unwrap();
        let names: Vec<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
        // nn.Sequential(OrderedDict(...)).state_dict() of the same model, less num_batches_tracked.
        assert_eq!(&names[..6], ["0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var", "3.weight"]);
        assert!(names.contains(&"head.weight") && names.contains(&"head.bias") && names.len() == 4 + 4 * 4 + 2, "{names:?}");
        b.load_state(&state).unwrap();
        let x = Tensor::from_fn([2, 3, 32, 32], |i| (i as f32 * 0.01).sin());
        a.set_training(false);
        b.set_training(false);
        assert_eq!(a.forward(&x).unwrap().data(), b.forward(&x).unwrap().data(), "the same weights give the same outputs");
        let mut missing = state.clone();
        missing.remove(3);
        assert!(b.load_state(&missing).unwrap_err().to_string().contains("lack a tensor this model has (expected this model's tensors, each name and shape as its state_dict has them, given 1.running_mean)"));
        let mut reshaped = state.clone();
        reshaped[0].1 = Tensor::zeros([1]);
        assert!(b.load_state(&reshaped).unwrap_err().to_string().contains("another shape"));
        let mut extra = state;
        extra.push(("2.weight".into(), Tensor::zeros([1])));
        assert!(b.load_state(&extra).unwrap_err().to_string().contains("given 2.weight"));
    }

    #[test]
    fn backward_through_every_layer_matches_finite_differences() {
        let mut rng = Rng::new(30);
        let mut layers = simple_cnn(&Device::Cpu, 2, &[3, 4], 3, &mut rng).layers;
        layers.insert(3, Box::new(MaxPool2d::new(Pool2dParams::new(2).stride(1))));
        let mut model = Sequential::new(layers);
        Model::set_training(&mut model, false);
        let x = Tensor::randn([2, 2, 6, 6], &mut rng);
        let t = Indices::vector(vec![0, 2]);
        let (_, grads) = loss_and_grads(&mut model, &x, &t);
        let eps = 1e-2;
        for (p, grad) in grads.iter().enumerate() {
            for i in (0..grad.numel()).step_by(3) {
                let nudged = |model: &mut Sequential, e: f32| {
                    let param = &mut Model::params_mut(model)[p];
                    param.value.data_mut()[i] += e;
                    let loss = loss_and_grads(model, &x, &t).0;
                    Model::params_mut(model)[p].value.data_mut()[i] -= e;
                    loss
                };
                let numeric = (nudged(&mut model, eps) - nudged(&mut model, -eps)) / (2.0 * eps as f64);
                let analytic = grad.data()[i] as f64;
                assert!((numeric - analytic).abs() < 2e-2 * (1.0 + analytic.abs()), "param {p} element {i}: {analytic} vs {numeric}");
            }
        }
    }
    #[test]
    fn training_without_the_input_gradient_gives_the_same_parameter_gradients() {
        let mut rng = Rng::new(33);
        let mut model = digits_cnn(&Device::Cpu, &mut rng);
        let (x, dy) = (Tensor::randn([4, 1, 8, 8], &mut rng), Tensor::randn([4, 10], &mut rng));
        let grads = |model: &mut Sequential| -> Vec<Tensor> { model.params_mut().iter().map(|p| p.grad.clone().unwrap()).collect() };
        model.forward(&x).unwrap();
        let dx = model.backward(&dy).unwrap();
        assert_eq!(dx.shape(), x.shape());
        let with_dx = grads(&mut model);
        model.forward(&x).unwrap();
        model.backward_params(&dy).unwrap();
        assert_eq!(grads(&mut model), with_dx);
    }
    #[test]
    fn the_summary_lists_every_layer_like_fastai() {
        let mut model = digits_cnn(&Device::Cpu, &mut Rng::new(32));
        let summary = Model::summary(&mut model, &Tensor::zeros([64, 1, 8, 8])).unwrap();
        assert_eq!(summary.rows.len(), 12);
        assert_eq!(summary.rows[0].output_shape, crate::Shape::from([64, 16, 8, 8]));
        assert_eq!(summary.rows[0].params, 16 * 9);
        // conv 144 + bn 32 + conv 4608 + bn 64 + conv 18432 + bn 128 + linear 650.
        assert_eq!(summary.total_params(), 144 + 32 + 4608 + 64 + 18432 + 128 + 650);
        let text = summary.to_string();
        assert!(text.contains("Conv2d") && text.contains("64 x 16 x 8 x 8") && text.contains("Total params: 24058"), "{text}");
    }

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
