//! Activation layers: `ReLU`, and `SigmoidRange`, the head that squashes a regression into `y_range`.

use super::{Layer, saved};
use crate::error::Result;
use crate::ops::Unary;
use crate::ops::relu::Relu;
use crate::ops::sigmoid::Sigmoid;
use crate::tensor::Tensor;

/// `nn.ReLU()`.
#[derive(Default)]
pub struct ReLU {
    input: Option<Tensor>,
}

impl Layer for ReLU {
    fn kind(&self) -> &'static str {
        "ReLU"
    }

    fn describe(&self) -> String {
        "ReLU()".into()
    }

    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        self.input = Some(x.clone());
        Relu.forward(x)
    }

    fn backward(&mut self, dy: &Tensor) -> Result<Tensor> {
        Relu.backward(saved(&self.input, "ReLU"), dy)
    }
}

/// fastai's `SigmoidRange(low, high)`: `low + (high − low)·σ(x)`.
pub struct SigmoidRange {
    /// The range.
    pub op: Sigmoid,
    input: Option<Tensor>,
}

impl SigmoidRange {
    /// A sigmoid into `(low, high)`.
    pub fn new(low: f32, high: f32) -> Result<Self> {
        Ok(SigmoidRange { op: Sigmoid::range(low, high)?, input: None })
    }
}

impl Layer for SigmoidRange {
    fn kind(&self) -> &'static str {
        "SigmoidRange"
    }

    fn describe(&self) -> String {
        format!("SigmoidRange(low={}, high={})", self.op.low, self.op.high)
    }

    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        self.input = Some(x.clone());
        self.op.forward(x)
    }

    fn backward(&mut self, dy: &Tensor) -> Result<Tensor> {
        self.op.backward(saved(&self.input, "SigmoidRange"), dy)
    }
}
