//! The `Linear` layer: `y = x · Wᵀ + b` ([`crate::ops::gemm`]), a learned weight `[out, in]` and bias `[out]`.

use super::{Layer, OpCache, Param, init, saved};
use crate::backend::{Backend, DeviceTensor};
use crate::error::Result;
use crate::ops::gemm::Gemm;
use crate::rng::Rng;

/// `nn.Linear(in_features, out_features)`.
pub struct Linear<B: Backend> {
    /// Inputs per sample.
    pub in_features: usize,
    /// Outputs per sample.
    pub out_features: usize,
    /// `[out, in]`
    pub weight: Param<B>,
    /// `[out]`, when the layer has a bias.
    pub bias: Option<Param<B>>,
    op: OpCache<Gemm>,
    input: Option<B::Tensor>,
}

impl<B: Backend> Linear<B> {
    /// A linear layer initialised as PyTorch does.
    pub fn new(b: &B, in_features: usize, out_features: usize, bias: bool, rng: &mut Rng) -> Self {
        let weight = init::pytorch_uniform([out_features, in_features], in_features, rng);
        let bias = bias.then(|| Param::new("bias", b.upload(&init::pytorch_uniform([out_features], in_features, rng))));
        Linear { in_features, out_features, weight: Param::new("weight", b.upload(&weight)), bias, op: OpCache::default(), input: None }
    }
}

impl<B: Backend> Layer<B> for Linear<B> {
    fn kind(&self) -> &'static str {
        "Linear"
    }

    fn describe(&self) -> String {
        format!("Linear(in_features={}, out_features={}, bias={})", self.in_features, self.out_features, if self.bias.is_some() { "True" } else { "False" })
    }

    fn forward(&mut self, b: &B, x: &B::Tensor) -> Result<B::Tensor> {
        let (w, bias) = (&self.weight.value, self.bias.as_ref().map(|p| &p.value));
        let op = self.op.get(x.shape(), || Gemm::linear(x.shape(), w.shape(), bias.map(|b| b.shape())))?;
        let y = b.gemm(op, x, w, bias);
        self.input = Some(x.clone());
        Ok(y)
    }

    fn backward(&mut self, b: &B, dy: &B::Tensor) -> B::Tensor {
        let grads = b.gemm_backward(self.op.last("Linear"), saved(&self.input, "Linear"), &self.weight.value, dy);
        self.weight.grad = Some(grads.db);
        if let Some(bias) = &mut self.bias {
            bias.grad = grads.dc;
        }
        grads.da
    }

    fn params_mut(&mut self) -> Vec<&mut Param<B>> {
        std::iter::once(&mut self.weight).chain(self.bias.as_mut()).collect()
    }
}
