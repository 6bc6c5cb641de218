//! The `Flatten` layer: `[N, C, H, W]` → `[N, C·H·W]`, row-major, so a linear layer can read a feature map.
//! Nothing moves in memory; backward gives the gradient its input's shape back.

use super::{Layer, saved};
use crate::backend::{Backend, DeviceTensor};
use crate::error::Result;
use crate::shape::Shape;

/// `nn.Flatten()`.
#[derive(Default)]
pub struct Flatten {
    input_shape: Option<Shape>,
}

impl<B: Backend> Layer<B> for Flatten {
    fn kind(&self) -> &'static str {
        "Flatten"
    }

    fn describe(&self) -> String {
        "Flatten(start_dim=1, end_dim=-1)".into()
    }

    fn forward(&mut self, b: &B, x: &B::Tensor) -> Result<B::Tensor> {
        let dims = x.shape().dims();
        let batch = dims.first().copied().unwrap_or(1);
        self.input_shape = Some(x.shape().clone());
        Ok(b.reshape(x, Shape::from([batch, dims.iter().skip(1).product()])))
    }

    fn backward(&mut self, b: &B, dy: &B::Tensor) -> B::Tensor {
        b.reshape(dy, saved(&self.input_shape, "Flatten").clone())
    }
}
