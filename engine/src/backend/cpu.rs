//! The CPU backend: the ops' reference loops, run directly. Also the fallback where a browser has no WebGPU.

use super::{Backend, DeviceTensor};
use crate::error::Result;
use crate::ops::conv2d::{Conv2d, Conv2dParams};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Runs every op with its CPU reference.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu;

impl DeviceTensor for Tensor {
    fn shape(&self) -> &Shape {
        Tensor::shape(self)
    }
}

impl Backend for Cpu {
    type Tensor = Tensor;

    fn label(&self) -> String {
        "CPU".to_string()
    }

    fn upload(&self, t: &Tensor) -> Tensor {
        t.clone()
    }

    async fn read(&self, t: &Tensor) -> Result<Tensor> {
        Ok(t.clone())
    }

    fn conv2d(&self, x: &Tensor, w: &Tensor, b: Option<&Tensor>, params: &Conv2dParams) -> Result<Tensor> {
        Ok(Conv2d::new(params, x.shape(), w.shape(), b.map(Tensor::shape))?.forward(x, w, b))
    }
}
