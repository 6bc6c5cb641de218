//! Integer tensors: class targets and embedding (gather) indices. They stay on the host, where ops check their
//! range when they are built; a GPU op uploads them with its dispatch.

use crate::error::{ErrorKind, OpError, Result};
use crate::shape::Shape;

/// A tensor of integers, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indices {
    shape: Shape,
    values: Vec<i64>,
}

impl Indices {
    /// Integers with a shape; the count must match.
    pub fn new(shape: impl Into<Shape>, values: Vec<i64>) -> Result<Indices> {
        let shape = shape.into();
        if shape.numel() != values.len() {
            return Err(OpError::new("indices", ErrorKind::Length, "the values do not fill the shape")
                .expected(format!("{} values for shape {shape}", shape.numel()))
                .given(format!("{} values", values.len()))
                .hint("check the shape, or pass one index per element")
                .into());
        }
        Ok(Indices { shape, values })
    }

    /// A 1-D list of indices.
    pub fn vector(values: Vec<i64>) -> Indices {
        Indices { shape: Shape::from([values.len()]), values }
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The values, row-major.
    pub fn values(&self) -> &[i64] {
        &self.values
    }
}
