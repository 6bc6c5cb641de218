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
//!
//! Inputs `[weight]` (the indices belong to the op), outputs `[y]`.

use super::dispatch::Unary;
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::indices::Indices;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

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

impl Embedding {
    /// Checks every index against the length of `axis` (negative axes and indices count from the end).
    pub fn new(weight: &Shape, axis: isize, indices: &Indices) -> Result<Embedding> {
        let err = |kind, problem: &str| OpError::new(Self::NAME, kind, problem);
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

    fn uniforms(&self) -> Uniforms {
        let padding_idx = self.padding_idx.map_or(u32::MAX, |r| r as u32);
        Uniforms { outer: self.outer as u32, rows: self.rows as u32, inner: self.inner as u32, count: self.indices.len() as u32, padding_idx }
    }
}

/// The table in, the looked-up rows out (`forward(weight)`); `backward(weight, dy)` is the table's gradient.
impl Unary for Embedding {
    const NAME: &'static str = "embedding";

    /// Whole rows of `inner` values copied at a time.
    fn reference_forward(&self, weight: &Tensor) -> Tensor {
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

    /// The gradient of the table. Each row adds up the gradients of the positions that read it, in the positions'
    /// order (so the sums do not depend on anything but the indices).
    fn reference_backward(&self, _: &Tensor, dy: &Tensor) -> Tensor {
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

    /// Uploads the indices with the lookup.
    fn gpu_forward(&self, gpu: &Gpu, weight: &Tensor) -> Tensor {
        let indices = gpu.upload(&words(&self.indices));
        let y = Tensor::empty_on(gpu, self.out_shape.clone());
        gpu.dispatch(&FORWARD, &self.uniforms(), [weight.buffer(), indices.buffer(), y.buffer()], y.numel());
        y
    }

    /// Uploads the positions grouped by row; one invocation per table value sums its positions' gradients.
    fn gpu_backward(&self, gpu: &Gpu, _: &Tensor, dy: &Tensor) -> Tensor {
        let (starts, positions) = (gpu.upload(&words(&self.row_starts)), gpu.upload(&words(&self.positions)));
        let dw = Tensor::empty_on(gpu, self.weight_shape.clone());
        gpu.dispatch(&BACKWARD, &self.uniforms(), [dy.buffer(), starts.buffer(), positions.buffer(), dw.buffer()], dw.numel());
        dw
    }
}

uniforms! {
    /// The `Params` of `shaders/embedding.wgsl`.
    pub struct Uniforms { outer: u32, rows: u32, inner: u32, count: u32, padding_idx: u32 }
}

kernels! {
    shader "embedding", uniforms Uniforms;
    FORWARD = forward(weight: 1, indices: 2, y: 3);
    BACKWARD = backward(dy: 4, row_starts: 5, positions: 6, dw: 7);
}

/// Indices as the u32 words a shader reads.
fn words(v: &[usize]) -> Vec<u32> {
    v.iter().map(|&i| i as u32).collect()
}

/// Lookups along the first, a middle and the last axis, with repeated and negative indices and a padding row.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    use crate::ops::dispatch::Example;
    let mut out = Vec::new();
    for axis in [0, 1, -1] {
        let w = Tensor::randn([5, 4, 3], rng);
        let len = w.shape().dims()[if axis < 0 { 2 } else { axis as usize }] as i64;
        let values: Vec<i64> = (0..6).map(|_| rng.below(2 * len as usize) as i64 - len).collect();
        let op = Embedding::new(w.shape(), axis, &Indices::new([2, 3], values).expect("6 indices")).expect("valid");
        out.push(Example::new(format!("embedding along axis {axis}"), op.clone(), vec![w.clone()]));
        if axis == 0 {
            // The padding row is read but never learns, so finite differences (which see it read) do not apply.
            let example = Example::new("embedding along axis 0 with padding row 1", op.with_padding_idx(1), vec![w]);
            out.push(example.finite_differences(None));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_rows_up_and_counts_negative_indices_from_the_end() {
        let w = Tensor::from_fn([4, 2], |i| i as f32);
        let op = Embedding::new(w.shape(), 0, &Indices::new([3], vec![2, -1, 0]).unwrap()).unwrap();
        assert_eq!(op.forward(&w).unwrap().data(), &[4.0, 5.0, 6.0, 7.0, 0.0, 1.0]);
        assert_eq!(op.out_shape, Shape::from([3, 2]));
    }

    #[test]
    fn a_repeated_index_collects_every_gradient() {
        let w = Tensor::zeros([3, 1]);
        let op = Embedding::new(w.shape(), 0, &Indices::vector(vec![1, 1, 2])).unwrap();
        let dy = Tensor::new([3, 1], vec![1.0, 10.0, 100.0]).unwrap();
        assert_eq!(op.backward(&w, &dy).unwrap().data(), &[0.0, 11.0, 100.0]);
        assert_eq!(op.clone().with_padding_idx(1).backward(&w, &dy).unwrap().data(), &[0.0, 0.0, 100.0]);
    }

    #[test]
    fn an_index_outside_the_table_is_explained() {
        let e = Embedding::new(&Shape::from([5, 3]), 0, &Indices::vector(vec![0, 5])).unwrap_err();
        assert!(matches!(&e, crate::Error::Op(e) if e.kind == ErrorKind::IndexOutOfRange), "{e}");
        assert!(e.to_string().contains("index 5 at position 1"));
    }
}
