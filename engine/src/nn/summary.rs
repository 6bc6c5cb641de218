//! A model summary like fastai's `learn.summary()`: each layer's type, output shape, parameter count and whether
//! it trains, then the totals.

use crate::shape::Shape;
use std::fmt;

/// One layer of a summary.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// The layer's type (`Conv2d`).
    pub kind: String,
    /// Its output's shape for the summarised input.
    pub output_shape: Shape,
    /// How many parameters it holds.
    pub params: usize,
    /// Whether they train.
    pub trainable: bool,
}

/// A whole model's summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The model's name.
    pub model: String,
    /// The input the shapes are for.
    pub input_shape: Shape,
    /// One row per layer.
    pub rows: Vec<SummaryRow>,
}

impl Summary {
    /// Every parameter.
    pub fn total_params(&self) -> usize {
        self.rows.iter().map(|r| r.params).sum()
    }

    /// The parameters that train.
    pub fn trainable_params(&self) -> usize {
        self.rows.iter().filter(|r| r.trainable).map(|r| r.params).sum()
    }
}

/// `64 x 16 x 8 x 8`, as fastai prints shapes.
fn fastai_shape(shape: &Shape) -> String {
    shape.dims().iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" x ")
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = "=".repeat(72);
        writeln!(f, "{} (Input shape: {})", self.model, fastai_shape(&self.input_shape))?;
        writeln!(f, "{rule}")?;
        writeln!(f, "{:<24}{:<24}{:>12}{:>12}", "Layer (type)", "Output Shape", "Param #", "Trainable")?;
        writeln!(f, "{rule}")?;
        for r in &self.rows {
            let params = if r.params == 0 { String::new() } else { r.params.to_string() };
            let trainable = if r.params == 0 { String::new() } else if r.trainable { "True".into() } else { "False".into() };
            writeln!(f, "{:<24}{:<24}{params:>12}{trainable:>12}", r.kind, fastai_shape(&r.output_shape))?;
        }
        writeln!(f, "{rule}")?;
        writeln!(f, "Total params: {}", self.total_params())?;
        writeln!(f, "Total trainable params: {}", self.trainable_params())?;
        write!(f, "Total non-trainable params: {}", self.total_params() - self.trainable_params())
    }
}
