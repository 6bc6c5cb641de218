//! The `BatchNorm1d` / `BatchNorm2d` layer ([`crate::ops::batch_norm`]): learned `weight` (γ) and `bias` (β), and
//! running statistics that follow the training batches and are used in evaluation.

use super::{Layer, OpCache, Param, saved};
use crate::device::Device;
use crate::error::Result;
use crate::ops::batch_norm::{BatchNorm as BatchNormOp, BatchNormOutput, BatchNormParams};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// `nn.BatchNorm1d(num_features)` (input `[N, C]` or `[N, C, L]`) or `nn.BatchNorm2d` (`[N, C, H, W]`).
pub struct BatchNorm {
    /// `C`
    pub num_features: usize,
    /// eps, momentum, training.
    pub params: BatchNormParams,
    /// γ, `[C]`, starting at 1.
    pub weight: Param,
    /// β, `[C]`, starting at 0.
    pub bias: Param,
    /// The running mean, `[C]`, starting at 0.
    pub running_mean: Tensor,
    /// The running variance, `[C]`, starting at 1.
    pub running_var: Tensor,
    dims: usize,
    op: OpCache<BatchNormOp>,
    saved: Option<(Tensor, BatchNormOutput)>,
}

impl BatchNorm {
    /// A batch norm over `num_features` channels on `device`; `dims` is 1 or 2 (for its name only).
    pub fn new(device: &Device, num_features: usize, dims: usize) -> Self {
        let c = Shape::from([num_features]);
        let ones = Tensor::from_fn(c.clone(), |_| 1.0).to(device);
        BatchNorm {
            num_features,
            params: BatchNormParams::default(),
            weight: Param::new("weight", ones.clone()),
            bias: Param::new("bias", Tensor::zeros_on(device, c.clone())),
            running_mean: Tensor::zeros_on(device, c),
            running_var: ones,
            dims,
            op: OpCache::default(),
            saved: None,
        }
    }
}

impl Layer for BatchNorm {
    fn kind(&self) -> &'static str {
        if self.dims == 2 { "BatchNorm2d" } else { "BatchNorm1d" }
    }

    fn describe(&self) -> String {
        format!("{}({}, eps={:e}, momentum={})", self.kind(), self.num_features, self.params.eps, self.params.momentum)
    }

    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let c = Shape::from([self.num_features]);
        let op = self.op.get(x.shape(), || BatchNormOp::new(&self.params, x.shape(), &[&c, &c, &c, &c]))?;
        let out = op.forward(x, &self.weight.value, &self.bias.value, &self.running_mean, &self.running_var)?;
        if self.params.training {
            self.running_mean = out.running_mean.clone();
            self.running_var = out.running_var.clone();
        }
        let y = out.y.clone();
        self.saved = Some((x.clone(), out));
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor) -> Result<Tensor> {
        let (x, out) = saved(&self.saved, self.kind());
        let grads = self.op.last(self.kind()).backward(x, &self.weight.value, out, dy)?;
        self.weight.grad = Some(grads.dweight);
        self.bias.grad = Some(grads.dbias);
        Ok(grads.dx)
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.weight, &mut self.bias]
    }

    fn state_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        vec![("weight", &mut self.weight.value), ("bias", &mut self.bias.value), ("running_mean", &mut self.running_mean), ("running_var", &mut self.running_var)]
    }

    fn set_training(&mut self, training: bool) {
        if self.params.training != training {
            self.params.training = training;
            self.op = OpCache::default();
        }
    }
}
