//! The heatmap lesson's computations, as its notebook makes them with fastai's hooks: run one image through a CNN
//! with a hook on its body (`hook_output(m[0])`), keep the body's activations `A [C, h, w]` (the lesson's
//! `11x11x512`), and
//!
//! ```text
//! avg_acts[y, x] = (1/C) · Σ_c A[c, y, x]                        how activated was that area, over all channels
//! grad_chan[c]   = (1/(h·w)) · Σ_{y,x} ∂score_class / ∂A[c, y, x]   Grad-CAM: how much each channel matters to
//! grad_cam[y, x] = ReLU( Σ_c grad_chan[c] · A[c, y, x] )            the class, and the channels weighed by it
//! ```
//!
//! with `score_class` the model's raw output for the class (before the softmax): Grad-CAM as Selvaraju et al. (2017)
//! define it. The lesson's notebook takes the mean over the channels instead of the sum and no ReLU,
//! `mult = (acts*grad_chan[...,None,None]).mean(0)`, kept here as [`Heatmaps::lesson_mult`]: the same map before
//! the ReLU, divided by `C`, negative where the channels speak against the class. Every map is `h x w`, small;
//! [`upsample`] stretches one over the image with the `resize_bilinear` op.

use crate::error::{ErrorKind, OpError, Result};
use crate::nn::{Model, Sequential};
use crate::ops::Unary;
use crate::ops::channel_mean::ChannelMean;
use crate::ops::resize_bilinear::ResizeBilinear;
use crate::tensor::Tensor;

/// What the heatmap lesson shows of one image.
#[derive(Clone, Debug)]
pub struct Heatmaps {
    /// The hooked layer's output for the image, `[C, h, w]`.
    pub activations: Tensor,
    /// Their mean over the channels, `[h, w]` (`avg_acts`).
    pub mean: Tensor,
    /// The class score's gradient at the hooked layer, averaged over each channel's positions (`grad_chan`).
    pub channel_weights: Vec<f32>,
    /// Grad-CAM, `[h, w]`: the channels weighed by `channel_weights`, summed, ReLU.
    pub grad_cam: Tensor,
    /// The lesson notebook's `mult`, `[h, w]`: the channels weighed by `channel_weights`, averaged, no ReLU.
    pub lesson_mult: Tensor,
    /// The model's raw outputs for the image, one per class.
    pub scores: Vec<f32>,
}

/// [`Heatmaps`] of `image [1, C, H, W]` under `model` (in evaluation mode), with the hook on the layer called
/// `layer` and Grad-CAM for `class`. The model's gradients are left as this backward pass set them, and the hook
/// is removed again.
pub async fn heatmaps(model: &mut Sequential, layer: &str, image: &Tensor, class: usize) -> Result<Heatmaps> {
    if image.shape().dims().first() != Some(&1) {
        return Err(OpError::new("heatmaps", ErrorKind::Shape, "a heatmap is of one image")
            .expected("[1, C, H, W]")
            .given(image.shape())
            .hint("take one image of the batch: x[i][None]")
            .into());
    }
    model.hook(layer)?;
    let result = hooked(model, layer, image, class).await;
    model.unhook(layer);
    result
}

async fn hooked(model: &mut Sequential, layer: &str, image: &Tensor, class: usize) -> Result<Heatmaps> {
    model.set_training(false);
    let out = model.forward(image)?;
    let classes = out.shape().numel();
    if class >= classes {
        return Err(OpError::new("heatmaps", ErrorKind::Value, "there is no such class")
            .expected(format!("a class below {classes}"))
            .given(class)
            .hint("pick one of the model's classes")
            .into());
    }
    // The gradient of score[class] alone: one at that output, zero elsewhere.
    let mut one_hot = vec![0.0; classes];
    one_hot[class] = 1.0;
    Model::backward(model, &Tensor::new(out.shape().clone(), one_hot)?.to(&out.device()))?;
    let captured = model.captured(layer).expect("hooked above");
    let (Some(activation), Some(gradient)) = (captured.activation.clone(), captured.gradient.clone()) else {
        return Err(OpError::new("heatmaps", ErrorKind::Value, "the hook captured nothing").hint("hook a layer the image passes through").into());
    };
    let mean = ChannelMean::new(activation.shape())?.forward(&activation)?;
    let (activation, gradient, mean, scores) = (activation.read().await?, gradient.read().await?, mean.read().await?, out.read().await?);
    let dims = activation.shape().dims().to_vec();
    let [_, channels, h, w] = dims[..] else {
        return Err(OpError::new("heatmaps", ErrorKind::Shape, "the hooked layer's output is not a stack of maps")
            .expected("[1, C, h, w]")
            .given(activation.shape())
            .hint("hook a convolutional layer of the body")
            .into());
    };
    let plane = h * w;
    let channel_weights: Vec<f32> = gradient.data().chunks(plane).map(|g| g.iter().sum::<f32>() / plane as f32).collect();
    let weighted: Vec<f32> = (0..plane).map(|at| (0..channels).map(|c| channel_weights[c] * activation.data()[c * plane + at]).sum()).collect();
    Ok(Heatmaps {
        activations: activation.reshaped([channels, h, w])?,
        mean: mean.reshaped([h, w])?,
        channel_weights,
        grad_cam: Tensor::new([h, w], weighted.iter().map(|&v| v.max(0.0)).collect())?,
        lesson_mult: Tensor::new([h, w], weighted.iter().map(|&v| v / channels as f32).collect())?,
        scores: scores.data().to_vec(),
    })
}

/// A map `[h, w]` stretched to `size` with bilinear interpolation (`F.interpolate(..., mode="bilinear",
/// align_corners=False)`), to lay over the image.
pub fn upsample(map: &Tensor, size: [usize; 2]) -> Result<Tensor> {
    let &[h, w] = map.shape().dims() else {
        return Err(OpError::new("upsample", ErrorKind::Shape, "a heatmap is one map").expected("[h, w]").given(map.shape()).hint("average the channels first").into());
    };
    let x = map.reshaped([1, 1, h, w])?;
    ResizeBilinear::new(x.shape(), size, false)?.forward(&x)?.reshaped(size)
}

/// Where a map stretched over an image of `size` (with [`upsample`]) is largest: `(row, column)`, the first such
/// pixel in raster order.
pub fn peak(map: &Tensor, size: [usize; 2]) -> Result<(usize, usize)> {
    let stretched = upsample(map, size)?;
    let at = stretched.data().iter().enumerate().fold(0, |best, (i, &v)| if v > stretched.data()[best] { i } else { best });
    Ok((at / size[1], at % size[1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Device;
    use crate::models::simple_cnn;
    use crate::rng::Rng;

    /// A small `simple_cnn` (1→2 at stride 1, 2→3 at stride 2, pool, 3→2) with every parameter set to
    /// `sin(0.7·i + 1.3·k + 0.1) + 0.3` (parameter `k` in PyTorch's order, value `i` in it) and the image
    /// `cos(0.5·i)`, 6x6.
    fn fixed_model() -> (Sequential, Tensor) {
        let mut model = simple_cnn(&Device::Cpu, 1, &[2, 3], 2, &mut Rng::new(1));
        for (k, param) in Model::params_mut(&mut model).into_iter().enumerate() {
            let shape = param.value.shape().clone();
            param.value = Tensor::from_fn(shape, |i| (0.7 * i as f32 + 1.3 * k as f32 + 0.1).sin() + 0.3);
        }
        (model, Tensor::from_fn([1, 1, 6, 6], |i| (0.5 * i as f32).cos()))
    }

    /// The same model and image in PyTorch 2.15, hooked at the body's ReLU (forward and full backward hooks), the
    /// lesson's `avg_acts`, `grad_chan` and Grad-CAM for class 0 (for class 1 every weighted sum is negative).
    #[test]
    fn heatmaps_match_pytorch_s_hooks() {
        let (mut model, image) = fixed_model();
        let maps = pollster::block_on(heatmaps(&mut model, crate::models::BODY, &image, 0)).unwrap();
        let close = |a: &[f32], b: &[f32], tol: f32| a.len() == b.len() && a.iter().zip(b).all(|(p, q)| (p - q).abs() <= tol * (1.0 + q.abs()));
        assert!(close(&maps.scores, &[4.940006, -5.454656], 1e-5), "{:?}", maps.scores);
        assert_eq!(maps.activations.shape().dims(), &[3, 3, 3]);
        let mean = [4.537489, 3.61154, 1.119298, 1.676871, 3.366235, 2.208838, 1.606384, 4.553683, 2.766304];
        assert!(close(maps.mean.data(), &mean, 1e-5), "{:?}", maps.mean.data());
        assert!(close(&maps.channel_weights, &[0.144327, 0.114933, 0.047162], 1e-5), "{:?}", maps.channel_weights);
        let cam = [0.741306, 0.604441, 0.250196, 0.32031, 0.568631, 0.398086, 0.310193, 0.743765, 0.480189];
        assert!(close(maps.grad_cam.data(), &cam, 1e-5), "{:?}", maps.grad_cam.data());
        let other = pollster::block_on(heatmaps(&mut model, crate::models::BODY, &image, 1)).unwrap();
        assert!(close(&other.channel_weights, &[-0.027113, -0.072959, -0.068814], 1e-4), "{:?}", other.channel_weights);
        assert!(other.grad_cam.data().iter().all(|&v| v == 0.0), "ReLU keeps no negative evidence");
        let mult = [-0.314269, -0.250431, -0.076857, -0.117086, -0.233528, -0.153744, -0.112233, -0.315387, -0.192172];
        assert!(close(other.lesson_mult.data(), &mult, 1e-4), "the notebook's mult keeps it: {:?}", other.lesson_mult.data());
        assert!(maps.lesson_mult.data().iter().zip(maps.grad_cam.data()).all(|(m, c)| (m * 3.0 - c).abs() < 1e-5), "C·mult = Grad-CAM where positive");
        assert!(model.captured(crate::models::BODY).is_none(), "the hook is removed");
    }

    #[test]
    fn the_map_stretches_over_the_image_and_mistakes_are_explained() {
        let (mut model, image) = fixed_model();
        let maps = pollster::block_on(heatmaps(&mut model, crate::models::BODY, &image, 0)).unwrap();
        let big = upsample(&maps.mean, [6, 6]).unwrap();
        assert_eq!(big.shape().dims(), &[6, 6]);
        // Bilinear: the stretched map stays within the small map's range.
        let (low, high) = maps.mean.data().iter().fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(big.data().iter().all(|&v| v >= low - 1e-5 && v <= high + 1e-5));
        assert!(pollster::block_on(heatmaps(&mut model, crate::models::BODY, &image, 2)).is_err(), "two classes");
        assert!(pollster::block_on(heatmaps(&mut model, "nope", &image, 0)).is_err());
        let two = Tensor::from_fn([2, 1, 6, 6], |i| i as f32);
        assert!(pollster::block_on(heatmaps(&mut model, crate::models::BODY, &two, 0)).is_err(), "one image");
        assert!(upsample(&two, [4, 4]).is_err());
    }
}
