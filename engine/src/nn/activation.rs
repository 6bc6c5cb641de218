//! Activation layers: `ReLU`, and `SigmoidRange`, the head that squashes a regression into `y_range`.

use super::{Layer, saved};
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::sigmoid::Sigmoid;

/// `nn.ReLU()`.
pub struct ReLU<B: Backend> {
    input: Option<B::Tensor>,
}

impl<B: Backend> Default for ReLU<B> {
    fn default() -> Self {
        ReLU { input: None }
    }
}

impl<B: Backend> Layer<B> for ReLU<B> {
    fn kind(&self) -> &'static str {
        "ReLU"
    }

    fn describe(&self) -> String {
        "ReLU()".into()
    }

    fn forward(&mut self, b: &B, x: &B::Tensor) -> Result<B::Tensor> {
        self.input = Some(x.clone());
        Ok(b.relu(x))
    }

    fn backward(&mut self, b: &B, dy: &B::Tensor) -> B::Tensor {
        b.relu_backward(saved(&self.input, "ReLU"), dy)
    }
}

/// fastai's `SigmoidRange(low, high)`: `low + (high − low)·σ(x)`.
pub struct SigmoidRange<B: Backend> {
    /// The range.
    pub op: Sigmoid,
    input: Option<B::Tensor>,
}

impl<B: Backend> SigmoidRange<B> {
    /// A sigmoid into `(low, high)`.
    pub fn new(low: f32, high: f32) -> Result<Self> {
        Ok(SigmoidRange { op: Sigmoid::range(low, high)?, input: None })
    }
}

impl<B: Backend> Layer<B> for SigmoidRange<B> {
    fn kind(&self) -> &'static str {
        "SigmoidRange"
    }

    fn describe(&self) -> String {
        format!("SigmoidRange(low={}, high={})", self.op.low, self.op.high)
    }

    fn forward(&mut self, b: &B, x: &B::Tensor) -> Result<B::Tensor> {
        self.input = Some(x.clone());
        Ok(b.sigmoid(&self.op, x))
    }

    fn backward(&mut self, b: &B, dy: &B::Tensor) -> B::Tensor {
        b.sigmoid_backward(&self.op, saved(&self.input, "SigmoidRange"), dy)
    }
}
