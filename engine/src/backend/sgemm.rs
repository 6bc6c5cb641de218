//! The CPU backend's matrix product: `C = alpha·A·B + beta·C` with arbitrary row and column strides, on the
//! `matrixmultiply` crate (packed micro-kernels for AVX-512, AVX2/FMA and NEON chosen at run time, several threads
//! natively for large products). Transposes are stride swaps, so no operand is ever copied to be multiplied.

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

    /// The last element a `rows x cols` read touches must be inside the slice.
    fn check(&self, rows: usize, cols: usize) {
        if rows > 0 && cols > 0 {
            let last = self.offset + (rows - 1) * self.row_stride + (cols - 1) * self.col_stride;
            assert!(last < self.data.len(), "a {rows}x{cols} view reads past its {} values", self.data.len());
        }
    }
}

/// Lets the matrix products use exactly the cores this process may run on. `matrixmultiply` otherwise sizes its
/// thread pool from the machine's physical cores, which oversubscribes a process given fewer (twice as slow on a
/// 2-core share of a larger machine). It reads `MATMUL_NUM_THREADS` once, on its first product, so a program calls
/// this first thing in `main`, before any other thread exists; an explicit setting is kept.
#[cfg(not(target_arch = "wasm32"))]
pub fn use_all_cores() {
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: called at the start of `main`, before any thread that could read the environment is started.
        unsafe { std::env::set_var("MATMUL_NUM_THREADS", cores.to_string()) };
    }
}

/// `c[offset..]` (an `m x n` row-major block with row stride `ldc`) `= alpha·A·B + beta·c`, `A` `m x k`, `B` `k x n`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(m: usize, k: usize, n: usize, alpha: f32, a: View, b: View, beta: f32, c: &mut [f32], c_offset: usize, ldc: usize) {
    if m == 0 || n == 0 {
        return;
    }
    a.check(m, k);
    b.check(k, n);
    assert!(c_offset + (m - 1) * ldc + n <= c.len(), "the {m}x{n} result does not fit its slice");
    // SAFETY: every element read from A and B and written to C lies inside its slice (checked above), and C does not
    // overlap A or B (C is the only mutable borrow).
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr().add(a.offset),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr().add(b.offset),
            b.row_stride as isize,
            b.col_stride as isize,
            beta,
            c.as_mut_ptr().add(c_offset),
            ldc as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposed_views_multiply_like_the_definition() {
        // A = [[1 2 3] [4 5 6]] stored transposed; B = [[1 0] [0 1] [1 1]].
        let a_t = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut c = [1.0; 4];
        sgemm(2, 3, 2, 1.0, View::rows(&a_t, 0, 2).t(), View::rows(&b, 0, 2), 0.5, &mut c, 0, 2);
        assert_eq!(c, [4.5, 5.5, 10.5, 11.5]);
    }
}
