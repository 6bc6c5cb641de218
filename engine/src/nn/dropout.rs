//! The `Dropout` layer ([`crate::ops::dropout`]): a new mask every forward pass while training, nothing at test
//! time. The masks follow from the layer's seed, so a run is reproducible.

use super::{Layer, saved};
use crate::error::Result;
use crate::ops::dropout::Dropout as DropoutOp;
use crate::tensor::Tensor;

/// `nn.Dropout(p)`.
pub struct Dropout {
    /// Probability of dropping each value.
    pub p: f32,
    /// Whether it drops (training) or passes everything (evaluation).
    pub training: bool,
    /// The seed of the next mask; it moves on after every forward pass.
    pub seed: u32,
    saved: Option<(DropoutOp, Tensor)>,
}

impl Dropout {
    /// Dropout with probability `p`, its masks drawn from `seed` on.
    pub fn new(p: f32, seed: u32) -> Self {
        Dropout { p, training: true, seed, saved: None }
    }

    /// The mask of the last forward pass (1 kept, 0 dropped).
    pub fn last_mask(&self) -> Option<&Tensor> {
        self.saved.as_ref().map(|(_, m)| m)
    }
}

impl Layer for Dropout {
    fn kind(&self) -> &'static str {
        "Dropout"
    }

    fn describe(&self) -> String {
        format!("Dropout(p={})", self.p)
    }

    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let op = DropoutOp::new(x.shape(), self.p, self.training, self.seed)?;
        self.seed = self.seed.wrapping_add(0x9E37_79B9);
        let (y, mask) = op.forward(x)?;
        self.saved = Some((op, mask));
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor) -> Result<Tensor> {
        let (op, mask) = saved(&self.saved, "Dropout");
        op.backward(dy, mask)
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}
