//! Embedding (ONNX `Gather`): look rows up in a table by their index.
//!
//! ```text
//! y[o, p, i] = weight[o, indices[p], i]      (the tensor seen as [outer, rows, inner] around the gathered axis)
//! ```
//!
//! For an embedding layer the axis is 0 and `weight [categories, dims]`: each category's row is its learned
//! vector, and an index tensor `[N, …]` gives `[N, …, dims]`. Negative indices count from the end (ONNX). Backward
//! is a scatter-add: every row collects the gradients of all the positions that read it (a category used twice
//! in a batch gets both gradients), except `padding_idx`, which never learns. The positions reading each row are
//! grouped once on the host, so the GPU sums them without atomics and in the CPU's order.

use crate::backend::gpu::{Gpu, GpuTensor};
use crate::backend::{Backend, DeviceTensor};
use crate::error::{ErrorKind, OpError, Result};
use crate::indices::Indices;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A validated lookup of `indices` along one axis of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Embedding {
    /// The table's shape.
    pub weight_shape: Shape,
    /// The output's shape: the table's with the gathered axis replaced by the indices' shape.
    pub out_shape: Shape,
    /// The indices, made non-negative.
    pub indices: Vec<usize>,
    /// A row that receives no gradient (PyTorch `padding_idx`).
    pub padding_idx: Option<usize>,
    outer: usize,
    rows: usize,
    inner: usize,
    /// `positions[row_starts[r]..row_starts[r + 1]]` are the positions that read row `r`, in order.
    row_starts: Vec<usize>,
    positions: Vec<usize>,
}

/// Validates and runs an embedding lookup (axis 0) on any backend.
pub fn embedding<B: Backend>(backend: &B, weight: &B::Tensor, indices: &Indices) -> Result<B::Tensor> {
    Ok(backend.embedding(&Embedding::new(weight.shape(), 0, indices)?, weight))
}

impl Embedding {
    /// Checks every index against the length of `axis` (negative axes and indices count from the end).
    pub fn new(weight: &Shape, axis: isize, indices: &Indices) -> Result<Embedding> {
        let err = |kind, problem: &str| OpError::new("embedding", kind, problem);
        let rank = weight.rank() as isize;
        let a = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&a) || weight.numel() == 0 {
            return Err(err(ErrorKind::Shape, "the axis is not one of the table's")
                .expected(format!("an axis in -{rank}..{rank} of a non-empty table"))
                .given(format!("axis {axis} of {weight}"))
                .hint("an embedding table [categories, dims] is looked up along axis 0")
                .into());
        }
        let a = a as usize;
        let dims = weight.dims();
        let rows = dims[a];
        let mut normalised = Vec::with_capacity(indices.values().len());
        for (p, &i) in indices.values().iter().enumerate() {
            let r = if i < 0 { i + rows as i64 } else { i };
            if !(0..rows as i64).contains(&r) {
                return Err(err(ErrorKind::IndexOutOfRange, "an index is outside the table")
                    .expected(format!("indices in -{rows}..{rows}"))
                    .given(format!("index {i} at position {p}"))
                    .hint("build the vocabulary from the training data and map unseen categories to #na# (index 0)")
                    .into());
            }
            normalised.push(r as usize);
        }
        let mut out = dims[..a].to_vec();
        out.extend_from_slice(indices.shape().dims());
        out.extend_from_slice(&dims[a + 1..]);
        // Group the positions by the row they read (a counting sort keeps each row's positions in order).
        let mut row_starts = vec![0; rows + 1];
        for &r in &normalised {
            row_starts[r + 1] += 1;
        }
        for r in 0..rows {
            row_starts[r + 1] += row_starts[r];
        }
        let mut fill = row_starts.clone();
        let mut positions = vec![0; normalised.len()];
        for (p, &r) in normalised.iter().enumerate() {
            positions[fill[r]] = p;
            fill[r] += 1;
        }
        Ok(Embedding {
            weight_shape: weight.clone(),
            out_shape: Shape::from(out),
            indices: normalised,
            padding_idx: None,
            outer: dims[..a].iter().product(),
            rows,
            inner: dims[a + 1..].iter().product(),
            row_starts,
            positions,
        })
    }

    /// Stops row `row` from learning (its gradient stays 0), as PyTorch's `padding_idx`.
    pub fn with_padding_idx(mut self, row: usize) -> Self {
        self.padding_idx = Some(row);
        self
    }

    /// The CPU reference: whole rows of `inner` values copied at a time.
    pub fn forward(&self, weight: &Tensor) -> Tensor {
        let (count, inner) = (self.indices.len(), self.inner);
        let mut y = vec![0.0; self.out_shape.numel()];
        if !y.is_empty() {
            for (o, out) in y.chunks_exact_mut(count * inner).enumerate() {
                let table = &weight.data()[o * self.rows * inner..(o + 1) * self.rows * inner];
                for (out, &r) in out.chunks_exact_mut(inner).zip(&self.indices) {
                    out.copy_from_slice(&table[r * inner..(r + 1) * inner]);
                }
            }
        }
        Tensor::new(self.out_shape.clone(), y).expect("the lookups fill the output")
    }

    /// The CPU reference backward: the gradient of the table. Each row adds up the gradients of the positions that
    /// read it, in the positions' order (so the sums do not depend on anything but the indices).
    pub fn backward(&self, dy: &Tensor) -> Tensor {
        let (count, inner) = (self.indices.len(), self.inner);
        let mut dw = vec![0.0; self.weight_shape.numel()];
        if !dw.is_empty() {
            for (o, table) in dw.chunks_exact_mut(self.rows * inner).enumerate() {
                let dy = &dy.data()[o * count * inner..(o + 1) * count * inner];
                for (r, row) in table.chunks_exact_mut(inner).enumerate() {
                    if self.padding_idx == Some(r) {
                        continue;
                    }
                    for &p in &self.positions[self.row_starts[r]..self.row_starts[r + 1]] {
                        for (acc, &g) in row.iter_mut().zip(&dy[p * inner..(p + 1) * inner]) {
                            *acc += g;
                        }
                    }
                }
            }
        }
        Tensor::new(self.weight_shape.clone(), dw).expect("one gradient per table value")
    }

    fn uniforms(&self) -> [u32; 6] {
        let padding = self.padding_idx.map_or(u32::MAX, |r| r as u32);
        [self.outer as u32, self.rows as u32, self.inner as u32, self.indices.len() as u32, padding, 0]
    }

    /// Records the forward pass on the GPU (`shaders/embedding.wgsl`), uploading the indices.
    pub fn forward_gpu(&self, gpu: &Gpu, weight: &GpuTensor) -> GpuTensor {
        let indices = gpu.upload_words(Shape::from([self.indices.len()]), &self.indices.iter().map(|&i| i as u32).collect::<Vec<_>>());
        let y = gpu.empty(self.out_shape.clone());
        gpu.dispatch("embedding", "forward", &self.uniforms(), &[(1, weight.buffer()), (2, indices.buffer()), (3, y.buffer())], y.numel());
        y
    }

    /// Records the backward pass on the GPU, uploading the positions grouped by row.
    pub fn backward_gpu(&self, gpu: &Gpu, dy: &GpuTensor) -> GpuTensor {
        let words = |v: &[usize]| v.iter().map(|&i| i as u32).collect::<Vec<_>>();
        let starts = gpu.upload_words(Shape::from([self.row_starts.len()]), &words(&self.row_starts));
        let positions = gpu.upload_words(Shape::from([self.positions.len()]), &words(&self.positions));
        let dw = gpu.empty(self.weight_shape.clone());
        let bindings = [(4, dy.buffer()), (5, starts.buffer()), (6, positions.buffer()), (7, dw.buffer())];
        gpu.dispatch("embedding", "backward", &self.uniforms(), &bindings, dw.numel());
        dw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::check_gradient;
    use crate::rng::Rng;

    #[test]
    fn looks_rows_up_and_counts_negative_indices_from_the_end() {
        let w = Tensor::from_fn([4, 2], |i| i as f32);
        let op = Embedding::new(w.shape(), 0, &Indices::new([3], vec![2, -1, 0]).unwrap()).unwrap();
        assert_eq!(op.forward(&w).data(), &[4.0, 5.0, 6.0, 7.0, 0.0, 1.0]);
        assert_eq!(op.out_shape, Shape::from([3, 2]));
    }

    #[test]
    fn a_repeated_index_collects_every_gradient() {
        let w = Tensor::zeros([3, 1]);
        let op = Embedding::new(w.shape(), 0, &Indices::vector(vec![1, 1, 2])).unwrap();
        let dw = op.backward(&Tensor::new([3, 1], vec![1.0, 10.0, 100.0]).unwrap());
        assert_eq!(dw.data(), &[0.0, 11.0, 100.0]);
        assert_eq!(op.clone().with_padding_idx(1).backward(&Tensor::new([3, 1], vec![1.0, 10.0, 100.0]).unwrap()).data(), &[0.0, 0.0, 100.0]);
    }

    #[test]
    fn backward_matches_finite_differences_on_any_axis() {
        let mut rng = Rng::new(13);
        let w = Tensor::randn([3, 4, 2], &mut rng);
        let idx = Indices::new([2, 3], vec![0, 3, 3, 1, -1, 0]).unwrap();
        let op = Embedding::new(w.shape(), 1, &idx).unwrap();
        assert_eq!(op.out_shape, Shape::from([3, 2, 3, 2]));
        check_gradient(&w, &op.out_shape, |w| op.forward(w), |dy| op.backward(dy), &mut rng);
    }

    #[test]
    fn an_index_outside_the_table_is_explained() {
        let e = Embedding::new(&Shape::from([5, 3]), 0, &Indices::vector(vec![0, 5])).unwrap_err();
        assert!(matches!(&e, crate::Error::Op(e) if e.kind == ErrorKind::IndexOutOfRange), "{e}");
        assert!(e.to_string().contains("index 5 at position 1"));
    }
}
