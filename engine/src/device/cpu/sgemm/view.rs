//! A matrix read out of a slice through strides: the operands of every product.

/// A matrix in a slice: element `(i, j)` is `data[offset + i·row_stride + j·col_stride]`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    /// The storage.
    pub data: &'a [f32],
    /// Where element (0, 0) is.
    pub offset: usize,
    /// Step between rows.
    pub row_stride: usize,
    /// Step between columns.
    pub col_stride: usize,
}

impl<'a> View<'a> {
    /// A row-major `rows x cols` matrix starting at `offset`.
    pub fn rows(data: &'a [f32], offset: usize, cols: usize) -> View<'a> {
        View { data, offset, row_stride: cols, col_stride: 1 }
    }

    /// The same matrix read transposed.
    pub fn t(self) -> View<'a> {
        View { row_stride: self.col_stride, col_stride: self.row_stride, ..self }
    }

    /// Element `(i, j)`.
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.data[self.offset + i * self.row_stride + j * self.col_stride]
    }

    /// The last element a `rows x cols` read touches must be inside the slice.
    pub(super) fn check(&self, rows: usize, cols: usize) {
        if rows > 0 && cols > 0 {
            let last = self.offset + (rows - 1) * self.row_stride + (cols - 1) * self.col_stride;
            assert!(last < self.data.len(), "a {rows}x{cols} view reads past its {} values", self.data.len());
        }
    }
}
