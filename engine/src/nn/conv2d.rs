//! The `Conv2d` layer: a convolution ([`crate::ops::conv2d`]) with a learned weight and an optional bias.

use super::{Layer, OpCache, Param, init, saved};
use crate::device::Device;
use crate::error::Result;
use crate::ops::conv2d::{Conv2d as Conv2dOp, Conv2dParams};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// `nn.Conv2d`: `weight [out, in/groups, k, k]`, `bias [out]`.
pub struct Conv2d {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels (kernels).
    pub out_channels: usize,
    /// Kernel size `[kH, kW]`.
    pub kernel: [usize; 2],
    /// Stride, padding, dilation, mode, groups.
    pub params: Conv2dParams,
    /// `[out, in/groups, kH, kW]`
    pub weight: Param,
    /// `[out]`, when the layer has a bias.
    pub bias: Option<Param>,
    op: OpCache<Conv2dOp>,
    input: Option<Tensor>,
}

impl Conv2d {
    /// A `k x k` convolution from `in_channels` to `out_channels` on `device`, initialised as PyTorch does.
    pub fn new(device: &Device, in_channels: usize, out_channels: usize, kernel: usize, params: Conv2dParams, bias: bool, rng: &mut Rng) -> Self {
        let group_in = in_channels / params.groups.max(1);
        let fan_in = group_in * kernel * kernel;
        let weight = init::pytorch_uniform(Shape::from([out_channels, group_in, kernel, kernel]), fan_in, rng);
        let bias = bias.then(|| Param::new("bias", init::pytorch_uniform([out_channels], fan_in, rng).to(device)));
        Conv2d {
            in_channels,
            out_channels,
            kernel: [kernel, kernel],
            params,
            weight: Param::new("weight", weight.to(device)),
            bias,
            op: OpCache::default(),
            input: None,
        }
    }
}

impl Layer for Conv2d {
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

    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let (w, bias) = (&self.weight.value, self.bias.as_ref().map(|p| &p.value));
        let op = self.op.get(x.shape(), || Conv2dOp::new(&self.params, x.shape(), w.shape(), bias.map(Tensor::shape)))?;
        let y = op.forward(x, w, bias)?;
        self.input = Some(x.clone());
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor) -> Result<Tensor> {
        let grads = self.op.last("Conv2d").backward(saved(&self.input, "Conv2d"), &self.weight.value, dy)?;
        self.weight.grad = Some(grads.dw);
        if let Some(bias) = &mut self.bias {
            bias.grad = grads.db;
        }
        Ok(grads.dx)
    }

    fn backward_params(&mut self, dy: &Tensor) -> Result<()> {
        let (dw, db) = self.op.last("Conv2d").param_grads(saved(&self.input, "Conv2d"), &self.weight.value, dy)?;
        self.weight.grad = Some(dw);
        if let Some(bias) = &mut self.bias {
            bias.grad = db;
        }
        Ok(())
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        std::iter::once(&mut self.weight).chain(self.bias.as_mut()).collect()
    }
}
