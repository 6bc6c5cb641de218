//! The `Linear` layer: `y = x · Wᵀ + b` ([`crate::ops::gemm`]), a learned weight `[out, in]` and bias `[out]`.

use super::{Layer, OpCache, Param, init, saved};
use crate::device::Device;
use crate::error::Result;
use crate::ops::gemm::Gemm;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// `nn.Linear(in_features, out_features)`.
pub struct Linear {
    /// Inputs per sample.
    pub in_features: usize,
    /// Outputs per sample.
    pub out_features: usize,
    /// `[out, in]`
    pub weight: Param,
    /// `[out]`, when the layer has a bias.
    pub bias: Option<Param>,
    op: OpCache<Gemm>,
    input: Option<Tensor>,
}

impl Linear {
    /// A linear layer on `device`, initialised as PyTorch does.
    pub fn new(device: &Device, in_features: usize, out_features: usize, bias: bool, rng: &mut Rng) -> Self {
        let weight = init::pytorch_uniform([out_features, in_features], in_features, rng);
        let bias = bias.then(|| Param::new("bias", init::pytorch_uniform([out_features], in_features, rng).to(device)));
        Linear { in_features, out_features, weight: Param::new("weight", weight.to(device)), bias, op: OpCache::default(), input: None }
    }
}

impl Layer for Linear {
    fn kind(&self) -> &'static str {
        "Linear"
    }

    fn describe(&self) -> String {
        format!("Linear(in_features={}, out_features={}, bias={})", self.in_features, self.out_features, if self.bias.is_some() { "True" } else { "False" })
    }

    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let (w, bias) = (&self.weight.value, self.bias.as_ref().map(|p| &p.value));
        let op = self.op.get(x.shape(), || Gemm::linear(x.shape(), w.shape(), bias.map(Tensor::shape)))?;
        let y = op.forward(x, w, bias)?;
        self.input = Some(x.clone());
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor) -> Result<Tensor> {
        let grads = self.op.last("Linear").backward(saved(&self.input, "Linear"), &self.weight.value, dy)?;
        self.weight.grad = Some(grads.db);
        if let Some(bias) = &mut self.bias {
            bias.grad = grads.dc;
        }
        Ok(grads.da)
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        std::iter::once(&mut self.weight).chain(self.bias.as_mut()).collect()
    }
}
