//! Pooling layers: `MaxPool2d`, `AvgPool2d`, and `AdaptiveAvgPool2d` (which with output size 1 is the global
//! average pooling between a CNN's body and its head).

use super::{Layer, OpCache, saved};
use crate::error::Result;
use crate::ops::Unary;
use crate::tensor::Tensor;
use crate::ops::adaptive_avg_pool2d::AdaptiveAvgPool2d as AdaptiveOp;
use crate::ops::avg_pool2d::AvgPool2d as AvgOp;
use crate::ops::max_pool2d::MaxPool2d as MaxOp;
use crate::ops::pool::Pool2dParams;

/// `nn.MaxPool2d`.
pub struct MaxPool2d {
    /// Window, stride, padding.
    pub params: Pool2dParams,
    op: OpCache<MaxOp>,
    argmax: Option<Tensor>,
}

impl MaxPool2d {
    /// Max pooling with these windows.
    pub fn new(params: Pool2dParams) -> Self {
        MaxPool2d { params, op: OpCache::default(), argmax: None }
    }
}

impl Layer for MaxPool2d {
    fn kind(&self) -> &'static str {
        "MaxPool2d"
    }

    fn describe(&self) -> String {
        let p = &self.params;
        format!("MaxPool2d(kernel_size={}, stride={}, padding={})", p.kernel[0], p.stride[0], p.padding[0])
    }

    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let op = self.op.get(x.shape(), || MaxOp::new(&self.params, x.shape()))?;
        let (y, argmax) = op.forward(x)?;
        self.argmax = Some(argmax);
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor) -> Result<Tensor> {
        self.op.last("MaxPool2d").backward(dy, saved(&self.argmax, "MaxPool2d"))
    }
}

/// `nn.AvgPool2d`.
pub struct AvgPool2d {
    /// Window, stride, padding.
    pub params: Pool2dParams,
    /// Whether padding counts in the divisor.
    pub count_include_pad: bool,
    op: OpCache<AvgOp>,
    input: Option<Tensor>,
}

impl AvgPool2d {
    /// Average pooling with these windows (PyTorch counts the padding by default).
    pub fn new(params: Pool2dParams) -> Self {
        AvgPool2d { params, count_include_pad: true, op: OpCache::default(), input: None }
    }
}

impl Layer for AvgPool2d {
    fn kind(&self) -> &'static str {
        "AvgPool2d"
    }

    fn describe(&self) -> String {
        let p = &self.params;
        format!("AvgPool2d(kernel_size={}, stride={}, padding={})", p.kernel[0], p.stride[0], p.padding[0])
    }

    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let op = self.op.get(x.shape(), || AvgOp::new(&self.params, x.shape(), self.count_include_pad))?;
        let y = op.forward(x)?;
        self.input = Some(x.clone());
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor) -> Result<Tensor> {
        self.op.last("AvgPool2d").backward(saved(&self.input, "AvgPool2d"), dy)
    }
}

/// `nn.AdaptiveAvgPool2d(output_size)`.
pub struct AdaptiveAvgPool2d {
    /// `[oh, ow]`
    pub output_size: [usize; 2],
    op: OpCache<AdaptiveOp>,
    input: Option<Tensor>,
}

impl AdaptiveAvgPool2d {
    /// Average pooling to `output_size`; `[1, 1]` is global average pooling.
    pub fn new(output_size: [usize; 2]) -> Self {
        AdaptiveAvgPool2d { output_size, op: OpCache::default(), input: None }
    }
}

impl Layer for AdaptiveAvgPool2d {
    fn kind(&self) -> &'static str {
        "AdaptiveAvgPool2d"
    }

    fn describe(&self) -> String {
        format!("AdaptiveAvgPool2d(output_size=({}, {}))", self.output_size[0], self.output_size[1])
    }

    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let op = self.op.get(x.shape(), || AdaptiveOp::new(x.shape(), self.output_size))?;
        let y = op.forward(x)?;
        self.input = Some(x.clone());
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor) -> Result<Tensor> {
        self.op.last("AdaptiveAvgPool2d").backward(saved(&self.input, "AdaptiveAvgPool2d"), dy)
    }
}
