//! The `Flatten` layer: `[N, C, H, W]` → `[N, C·H·W]`, row-major, so a linear layer can read a feature map.
//! Nothing moves in memory; backward gives the gradient its input's shape back.

use super::{Layer, saved};
use crate::error::Result;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// `nn.Flatten()`.
#[derive(Default)]
pub struct Flatten {
    input_shape: Option<Shape>,
}

impl Layer for Flatten {
    fn kind(&self) -> &'static str {
        "Flatten"
    }

    fn describe(&self) -> String {
        "Flatten(start_dim=1, end_dim=-1)".into()
    }

    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let dims = x.shape().dims();
        let batch = dims.first().copied().unwrap_or(1);
        self.input_shape = Some(x.shape().clone());
        x.reshaped([batch, dims.iter().skip(1).product()])
    }

    fn backward(&mut self, dy: &Tensor) -> Result<Tensor> {
        dy.reshaped(saved(&self.input_shape, "Flatten").clone())
    }
}
