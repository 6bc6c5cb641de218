//! The `Conv2d` layer: a convolution ([`crate::ops::conv2d`]) with a learned weight and an optional bias.

use super::{Layer, OpCache, Param, init, saved};
use crate::backend::{Backend, DeviceTensor};
use crate::error::Result;
use crate::ops::conv2d::{Conv2d as Conv2dOp, Conv2dParams};
use crate::rng::Rng;
use crate::shape::Shape;

/// `nn.Conv2d`: `weight [out, in/groups, k, k]`, `bias [out]`.
pub struct Conv2d<B: Backend> {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels (kernels).
    pub out_channels: usize,
    /// Kernel size `[kH, kW]`.
    pub kernel: [usize; 2],
    /// Stride, padding, dilation, mode, groups.
    pub params: Conv2dParams,
    /// `[out, in/groups, kH, kW]`
    pub weight: Param<B>,
    /// `[out]`, when the layer has a bias.
    pub bias: Option<Param<B>>,
    op: OpCache<Conv2dOp>,
    input: Option<B::Tensor>,
}

impl<B: Backend> Conv2d<B> {
    /// A `k x k` convolution from `in_channels` to `out_channels`, initialised as PyTorch does.
    pub fn new(b: &B, in_channels: usize, out_channels: usize, kernel: usize, params: Conv2dParams, bias: bool, rng: &mut Rng) -> Self {
        let group_in = in_channels / params.groups.max(1);
        let fan_in = group_in * kernel * kernel;
        let weight = init::pytorch_uniform(Shape::from([out_channels, group_in, kernel, kernel]), fan_in, rng);
        let bias = bias.then(|| Param::new("bias", b.upload(&init::pytorch_uniform([out_channels], fan_in, rng))));
        Conv2d {
            in_channels,
            out_channels,
            kernel: [kernel, kernel],
            params,
            weight: Param::new("weight", b.upload(&weight)),
            bias,
            op: OpCache::default(),
            input: None,
        }
    }
}

impl<B: Backend> Layer<B> for Conv2d<B> {
    fn kind(&self) -> &'static str {
        "Conv2d"
    }

    fn describe(&self) -> String {
        let p = &self.params;
        let mut s = format!("Conv2d({}, {}, kernel_size=({}, {}), stride=({}, {})", self.in_channels, self.out_channels, self.kernel[0], self.kernel[1], p.stride[0], p.stride[1]);
        if p.padding != [0; 4] {
            s += &format!(", padding=({}, {})", p.padding[0], p.padding[1]);
        }
        if p.dilation != [1, 1] {
            s += &format!(", dilation=({}, {})", p.dilation[0], p.dilation[1]);
        }
        if p.groups != 1 {
            s += &format!(", groups={}", p.groups);
        }
        if self.bias.is_none() {
            s += ", bias=False";
        }
        if p.padding_mode != crate::ops::PaddingMode::Zeros {
            s += &format!(", padding_mode='{}'", p.padding_mode.pytorch_name());
        }
        s + ")"
    }

    fn forward(&mut self, b: &B, x: &B::Tensor) -> Result<B::Tensor> {
        let (w, bias) = (&self.weight.value, self.bias.as_ref().map(|p| &p.value));
        let op = self.op.get(x.shape(), || Conv2dOp::new(&self.params, x.shape(), w.shape(), bias.map(|b| b.shape())))?;
        let y = b.conv2d(op, x, w, bias);
        self.input = Some(x.clone());
        Ok(y)
    }

    fn backward(&mut self, b: &B, dy: &B::Tensor) -> B::Tensor {
        let grads = b.conv2d_backward(self.op.last("Conv2d"), saved(&self.input, "Conv2d"), &self.weight.value, dy);
        self.weight.grad = Some(grads.dw);
        if let Some(bias) = &mut self.bias {
            bias.grad = grads.db;
        }
        grads.dx
    }

    fn backward_params(&mut self, b: &B, dy: &B::Tensor) {
        let (dw, db) = b.conv2d_param_grads(self.op.last("Conv2d"), saved(&self.input, "Conv2d"), &self.weight.value, dy);
        self.weight.grad = Some(dw);
        if let Some(bias) = &mut self.bias {
            bias.grad = db;
        }
    }

    fn params_mut(&mut self) -> Vec<&mut Param<B>> {
        std::iter::once(&mut self.weight).chain(self.bias.as_mut()).collect()
    }
}
