//! `Sequential`: layers applied in order. Backward calls each layer's backward in reverse order. Hooks capture a
//! layer's output (its activations) and the gradient arriving at that output, as fastai's `hook_output` does for
//! the heatmap lesson.

use super::summary::{Summary, SummaryRow};
use super::{Layer, Model, Param};
use crate::backend::{Backend, DeviceTensor};
use crate::error::Result;
use std::collections::BTreeMap;

/// What a hook captured at one layer's output during the last forward and backward passes.
pub struct Captured<B: Backend> {
    /// The layer's output.
    pub activation: Option<B::Tensor>,
    /// The gradient of the loss at that output.
    pub gradient: Option<B::Tensor>,
}

/// `nn.Sequential`.
pub struct Sequential<B: Backend> {
    /// The layers, first to last.
    pub layers: Vec<Box<dyn Layer<B>>>,
    hooks: BTreeMap<usize, Captured<B>>,
}

impl<B: Backend> Sequential<B> {
    /// A model of these layers.
    pub fn new(layers: Vec<Box<dyn Layer<B>>>) -> Self {
        Sequential { layers, hooks: BTreeMap::new() }
    }

    /// Starts capturing the output of layer `index` and the gradient arriving there.
    pub fn hook(&mut self, index: usize) {
        self.hooks.entry(index).or_insert(Captured { activation: None, gradient: None });
    }

    /// Stops capturing at layer `index`.
    pub fn unhook(&mut self, index: usize) {
        self.hooks.remove(&index);
    }

    /// What the hook on layer `index` captured.
    pub fn captured(&self, index: usize) -> Option<&Captured<B>> {
        self.hooks.get(&index)
    }

    /// Runs the layers in order.
    pub fn forward(&mut self, b: &B, x: &B::Tensor) -> Result<B::Tensor> {
        let mut h = x.clone();
        for (i, layer) in self.layers.iter_mut().enumerate() {
            h = layer.forward(b, &h)?;
            if let Some(hook) = self.hooks.get_mut(&i) {
                hook.activation = Some(h.clone());
            }
        }
        Ok(h)
    }

    /// Runs the layers' backward passes in reverse order; returns the gradient of the input.
    pub fn backward(&mut self, b: &B, dy: &B::Tensor) -> B::Tensor {
        self.backward_through(b, dy, true).expect("the input's gradient was asked for")
    }

    /// [`Sequential::backward`] without the input's gradient: the first layer stores its parameters' gradients
    /// only (see [`Layer::backward_params`]). What training runs.
    pub fn backward_params(&mut self, b: &B, dy: &B::Tensor) {
        self.backward_through(b, dy, false);
    }

    /// The layers' backward passes in reverse order, the first one's with or without its input's gradient.
    fn backward_through(&mut self, b: &B, dy: &B::Tensor, input: bool) -> Option<B::Tensor> {
        let mut g = dy.clone();
        for (i, layer) in self.layers.iter_mut().enumerate().rev() {
            if let Some(hook) = self.hooks.get_mut(&i) {
                hook.gradient = Some(g.clone());
            }
            if i == 0 && !input {
                layer.backward_params(b, &g);
                return None;
            }
            g = layer.backward(b, &g);
        }
        Some(g)
    }

    /// One row per layer, running `x` through them.
    pub fn summary_rows(&mut self, b: &B, x: &B::Tensor) -> Result<Vec<SummaryRow>> {
        let mut rows = Vec::new();
        let mut h = x.clone();
        for layer in &mut self.layers {
            h = layer.forward(b, &h)?;
            let kind = layer.kind().to_string();
            let params = layer.params_mut();
            rows.push(SummaryRow {
                kind,
                output_shape: h.shape().clone(),
                params: params.iter().map(|p| p.numel()).sum(),
                trainable: params.iter().all(|p| p.trainable),
            });
        }
        Ok(rows)
    }
}

impl<B: Backend> Model<B> for Sequential<B> {
    type Input = B::Tensor;

    fn forward(&mut self, b: &B, input: &B::Tensor) -> Result<B::Tensor> {
        Sequential::forward(self, b, input)
    }

    fn backward(&mut self, b: &B, dy: &B::Tensor) {
        self.backward_params(b, dy);
    }

    fn params_mut(&mut self) -> Vec<&mut Param<B>> {
        self.layers.iter_mut().flat_map(|l| l.params_mut()).collect()
    }

    fn set_training(&mut self, training: bool) {
        for layer in &mut self.layers {
            layer.set_training(training);
        }
    }

    fn summary(&mut self, b: &B, input: &B::Tensor) -> Result<Summary> {
        Ok(Summary { model: "Sequential".into(), input_shape: input.shape().clone(), rows: self.summary_rows(b, input)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cpu;
    use crate::models::simple_cnn;
    use crate::nn::{Flatten, Linear, MaxPool2d, ReLU};
    use crate::ops::cross_entropy::{CrossEntropy, Reduction};
    use crate::ops::pool::Pool2dParams;
    use crate::rng::Rng;
    use crate::tensor::Tensor;
    use crate::Indices;

    /// The loss of `model` on `x` with targets `t`, and the gradient of every parameter from backward.
    fn loss_and_grads(model: &mut Sequential<Cpu>, x: &Tensor, t: &Indices) -> (f64, Vec<Tensor>) {
        let out = model.forward(&Cpu, x).unwrap();
        let op = CrossEntropy::new(out.shape(), t, None, None, Reduction::Mean).unwrap();
        let saved = op.forward(&out, None);
        let dout = op.backward(&saved, None, &Tensor::new(crate::Shape::default(), vec![1.0]).unwrap());
        model.backward(&Cpu, &dout);
        let grads = Model::params_mut(model).iter().map(|p| p.grad.clone().unwrap()).collect();
        (saved.loss.data()[0] as f64, grads)
    }

    #[test]
    fn backward_through_every_layer_matches_finite_differences() {
        let mut rng = Rng::new(30);
        let mut model = simple_cnn(&Cpu, 2, &[3, 4], 3, &mut rng);
        model.layers.insert(3, Box::new(MaxPool2d::new(Pool2dParams::new(2).stride(1))));
        Model::set_training(&mut model, false);
        let x = Tensor::randn([2, 2, 6, 6], &mut rng);
        let t = Indices::vector(vec![0, 2]);
        let (_, grads) = loss_and_grads(&mut model, &x, &t);
        let eps = 1e-2;
        for (p, grad) in grads.iter().enumerate() {
            for i in (0..grad.data().len()).step_by(3) {
                let nudged = |model: &mut Sequential<Cpu>, e: f32| {
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
    fn hooks_capture_activations_and_gradients() {
        let mut rng = Rng::new(31);
        let mut model = Sequential::new(vec![Box::new(Linear::new(&Cpu, 3, 4, true, &mut rng)), Box::new(ReLU::default()), Box::new(Flatten::default())]);
        model.hook(1);
        let x = Tensor::randn([2, 3], &mut rng);
        let y = model.forward(&Cpu, &x).unwrap();
        let dy = Tensor::randn([2, 4], &mut rng);
        model.backward(&Cpu, &dy);
        let captured = model.captured(1).unwrap();
        assert_eq!(captured.activation.as_ref().unwrap(), &y);
        assert_eq!(captured.gradient.as_ref().unwrap(), &dy, "Flatten passes the gradient through unchanged");
        model.unhook(1);
        assert!(model.captured(1).is_none());
    }

    #[test]
    fn training_without_the_input_gradient_gives_the_same_parameter_gradients() {
        let mut rng = Rng::new(33);
        let mut model = crate::models::digits_cnn(&Cpu, &mut rng);
        let (x, dy) = (Tensor::randn([4, 1, 8, 8], &mut rng), Tensor::randn([4, 10], &mut rng));
        let grads = |model: &mut Sequential<Cpu>| -> Vec<Tensor> { model.params_mut().iter().map(|p| p.grad.clone().unwrap()).collect() };
        model.forward(&Cpu, &x).unwrap();
        let dx = model.backward(&Cpu, &dy);
        assert_eq!(dx.shape(), x.shape());
        let with_dx = grads(&mut model);
        model.forward(&Cpu, &x).unwrap();
        model.backward_params(&Cpu, &dy);
        assert_eq!(grads(&mut model), with_dx);
    }

    #[test]
    fn the_summary_lists_every_layer_like_fastai() {
        let mut model = crate::models::digits_cnn(&Cpu, &mut Rng::new(32));
        let summary = Model::summary(&mut model, &Cpu, &Tensor::zeros([64, 1, 8, 8])).unwrap();
        assert_eq!(summary.rows.len(), 12);
        assert_eq!(summary.rows[0].output_shape, crate::Shape::from([64, 16, 8, 8]));
        assert_eq!(summary.rows[0].params, 16 * 9);
        // conv 144 + bn 32 + conv 4608 + bn 64 + conv 18432 + bn 128 + linear 650.
        assert_eq!(summary.total_params(), 144 + 32 + 4608 + 64 + 18432 + 128 + 650);
        let text = summary.to_string();
        assert!(text.contains("Conv2d") && text.contains("64 x 16 x 8 x 8") && text.contains("Total params: 24058"), "{text}");
    }
}
