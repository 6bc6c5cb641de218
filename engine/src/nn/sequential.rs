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
        let mut g = dy.clone();
        for (i, layer) in self.layers.iter_mut().enumerate().rev() {
            if let Some(hook) = self.hooks.get_mut(&i) {
                hook.gradient = Some(g.clone());
            }
            g = layer.backward(b, &g);
        }
        g
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
        Sequential::backward(self, b, dy);
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
