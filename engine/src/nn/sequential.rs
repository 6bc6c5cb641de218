//! `Sequential`: layers applied in order. Backward calls each layer's backward in reverse order. Every layer has a
//! name (its position, `"0"`, `"1"`, …, as PyTorch numbers them, unless the model names it), and hooks capture a
//! named layer's output (its activations) and the gradient arriving at that output, as fastai's `hook_output`
//! does for the heatmap lesson.

use super::summary::{Summary, SummaryRow};
use super::{Layer, Model, Param};
use crate::error::{ErrorKind, OpError, Result};
use crate::tensor::Tensor;
use std::collections::BTreeMap;

/// What a hook captured at one layer's output during the last forward and backward passes.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    /// The layer's output.
    pub activation: Option<Tensor>,
    /// The gradient of the loss at that output.
    pub gradient: Option<Tensor>,
}

/// `nn.Sequential`.
pub struct Sequential {
    /// The layers, first to last.
    pub layers: Vec<Box<dyn Layer>>,
    /// Each layer's name, in the same order.
    names: Vec<String>,
    /// Captures by layer position.
    hooks: BTreeMap<usize, Captured>,
}

impl Sequential {
    /// A model of these layers, named by their positions.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Self {
        let names = (0..layers.len()).map(|i| i.to_string()).collect();
        Sequential { layers, names, hooks: BTreeMap::new() }
    }

    /// Names layer `index` (PyTorch's `nn.Sequential(OrderedDict(...))`), so hooks can find it by that name.
    pub fn named(mut self, index: usize, name: &str) -> Self {
        self.names[index] = name.to_string();
        self
    }

    /// Each layer's name, first to last.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The position of the layer called `name`.
    fn position(&self, name: &str) -> Result<usize> {
        self.names.iter().position(|n| n == name).ok_or_else(|| {
            OpError::new("Sequential", ErrorKind::Value, "no layer has this name")
                .expected(format!("one of {}", self.names.join(", ")))
                .given(name)
                .hint("name layers with Sequential::named")
                .into()
        })
    }

    /// Starts capturing the output of the layer called `name` and the gradient arriving there.
    pub fn hook(&mut self, name: &str) -> Result<()> {
        let at = self.position(name)?;
        self.hooks.entry(at).or_default();
        Ok(())
    }

    /// Stops capturing at the layer called `name`.
    pub fn unhook(&mut self, name: &str) {
        if let Ok(at) = self.position(name) {
            self.hooks.remove(&at);
        }
    }

    /// What the hook on the layer called `name` captured.
    pub fn captured(&self, name: &str) -> Option<&Captured> {
        self.hooks.get(&self.position(name).ok()?)
    }

    /// Runs the layers in order.
    pub fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, layer) in self.layers.iter_mut().enumerate() {
            h = layer.forward(&h)?;
            if let Some(hook) = self.hooks.get_mut(&i) {
                hook.activation = Some(h.clone());
            }
        }
        Ok(h)
    }

    /// Runs the layers' backward passes in reverse order; returns the gradient of the input.
    pub fn backward(&mut self, dy: &Tensor) -> Result<Tensor> {
        Ok(self.backward_through(dy, true)?.expect("the input's gradient was asked for"))
    }

    /// [`Sequential::backward`] without the input's gradient: the first layer stores its parameters' gradients
    /// only (see [`Layer::backward_params`]). What training runs.
    pub fn backward_params(&mut self, dy: &Tensor) -> Result<()> {
        self.backward_through(dy, false).map(drop)
    }

    /// The layers' backward passes in reverse order, the first one's with or without its input's gradient.
    fn backward_through(&mut self, dy: &Tensor, input: bool) -> Result<Option<Tensor>> {
        let mut g = dy.clone();
        for (i, layer) in self.layers.iter_mut().enumerate().rev() {
            if let Some(hook) = self.hooks.get_mut(&i) {
                hook.gradient = Some(g.clone());
            }
            if i == 0 && !input {
                layer.backward_params(&g)?;
                return Ok(None);
            }
            g = layer.backward(&g)?;
        }
        Ok(Some(g))
    }

    /// Every parameter and buffer as `(name, tensor)`, named as PyTorch's `state_dict()` names them for this
    /// `nn.Sequential` (`0.weight`, `body.running_mean`), in the layers' order: what an export writes.
    pub fn state_mut(&mut self) -> Vec<(String, &mut Tensor)> {
        let mut out = Vec::new();
        for (layer, name) in self.layers.iter_mut().zip(&self.names) {
            out.extend(layer.state_mut().into_iter().map(|(n, t)| (format!("{name}.{n}"), t)));
        }
        out
    }

    /// Reads every parameter and buffer back to the CPU ([`super::read_state`]).
    pub async fn state(&mut self) -> Result<Vec<(String, Tensor)>> {
        super::read_state(self).await
    }

    /// Sets every parameter and buffer from `values` ([`super::load_state`]).
    pub fn load_state(&mut self, values: &[(String, Tensor)]) -> Result<()> {
        super::load_state(self, values)
    }

    /// One row per layer, running `x` through them.
    pub fn summary_rows(&mut self, x: &Tensor) -> Result<Vec<SummaryRow>> {
        let mut rows = Vec::new();
        let mut h = x.clone();
        for layer in &mut self.layers {
            h = layer.forward(&h)?;
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

impl Model for Sequential {
    type Input = Tensor;

    fn forward(&mut self, input: &Tensor) -> Result<Tensor> {
        Sequential::forward(self, input)
    }

    fn backward(&mut self, dy: &Tensor) -> Result<()> {
        self.backward_params(dy)
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers.iter_mut().flat_map(|l| l.params_mut()).collect()
    }

    fn set_training(&mut self, training: bool) {
        for layer in &mut self.layers {
            layer.set_training(training);
        }
    }

    fn summary(&mut self, input: &Tensor) -> Result<Summary> {
        Ok(Summary { model: "Sequential".into(), input_shape: input.shape().clone(), rows: self.summary_rows(input)? })
    }

    fn state_mut(&mut self) -> Vec<(String, &mut Tensor)> {
        Sequential::state_mut(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Device;
    use crate::nn::{Flatten, Linear, ReLU};
    use crate::rng::Rng;

    #[test]
    fn hooks_capture_activations_and_gradients_by_name() {
        let mut rng = Rng::new(31);
        let cpu = Device::Cpu;
        let mut model = Sequential::new(vec![Box::new(Linear::new(&cpu, 3, 4, true, &mut rng)), Box::new(ReLU::default()), Box::new(Flatten::default())])
            .named(1, "act");
        model.hook("act").unwrap();
        assert!(model.hook("missing").is_err(), "a name no layer has is explained");
        let x = Tensor::randn([2, 3], &mut rng);
        let y = model.forward(&x).unwrap();
        let dy = Tensor::randn([2, 4], &mut rng);
        model.backward(&dy).unwrap();
        let captured = model.captured("act").unwrap();
        assert_eq!(captured.activation.as_ref().unwrap(), &y);
        assert_eq!(captured.gradient.as_ref().unwrap(), &dy, "Flatten passes the gradient through unchanged");
        assert_eq!(model.names(), ["0", "act", "2"]);
        model.unhook("act");
        assert!(model.captured("act").is_none());
    }

}
