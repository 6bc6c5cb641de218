//! The CPU device's matrix product: `C = alpha·A·B + beta·C` with arbitrary row and column strides. Transposes
//! are stride swaps, so no operand is ever copied to be multiplied.
//!
//! Three implementations, chosen at run time ([`Kernel::best_for`]):
//! - on x86-64 processors with AVX-512, `packed` around an AVX-512 micro-kernel of our own (`avx512`, 8 x 32
//!   tiles: up to 1.25 times the crate's speed on this project's machines), except for products fewer than 16
//!   columns wide, which would leave most of each tile empty;
//! - on other native processors, the `matrixmultiply` crate (packed micro-kernels for AVX2/FMA and NEON chosen
//!   at run time);
//! - in the browser, `packed` around a WebAssembly SIMD micro-kernel of our own (`simd128`): the crate has no
//!   wasm kernel, and its portable one, auto-vectorised, runs about 1.3 times slower in Chromium.
//!
//! Natively, large products give one part of C to each core on the CPU device's one pool of threads
//! ([`super::parallel`]), shared with its element-wise loops: no second pool competes for the cores.

#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(any(test, target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
mod packed;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;
mod view;

pub use view::View;

/// Which implementation runs the products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// `packed` with the WebAssembly SIMD micro-kernel (in the browser).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    Simd128,
    /// `packed` with the AVX-512 micro-kernel (x86-64 processors that have it).
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// The `matrixmultiply` crate.
    MatrixMultiply,
}

impl Kernel {
    /// The fastest implementation this processor runs.
    pub fn best() -> Kernel {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return Kernel::Simd128;
        #[cfg(target_arch = "x86_64")]
        if avx512::Avx512::available() {
            return Kernel::Avx512;
        }
        #[allow(unreachable_code)]
        Kernel::MatrixMultiply
    }

    /// The fastest implementation for a product `n` columns wide: fewer than 16 columns would leave most of
    /// each of the AVX-512 kernel's 32-column tiles empty (a convolution's 9 taps: 0.7 times the crate's speed),
    /// so those go to the crate, whose tiles are 16 wide.
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
    pub fn best_for(n: usize) -> Kernel {
        match Kernel::best() {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 if n < 16 => Kernel::MatrixMultiply,
            best => best,
        }
    }

    /// What the implementation is, in words (the speed page shows it).
    pub fn describe(self) -> &'static str {
        match self {
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128", feature = "relaxed-simd"))]
            Kernel::Simd128 => "WebAssembly SIMD with fused multiply-adds (relaxed SIMD)",
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128", not(feature = "relaxed-simd")))]
            Kernel::Simd128 => "WebAssembly SIMD, a multiply and an add for each multiply-add (no relaxed SIMD)",
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => "AVX-512",
            Kernel::MatrixMultiply => "the matrixmultiply crate",
        }
    }

    /// The implementation's tile of C, rows x columns: threads split C into runs of whole tiles. (The crate's
    /// tiles are at most 16 x 16 and divide 16.)
    fn tile(self) -> (usize, usize) {
        #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
        use packed::MicroKernel;
        match self {
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Kernel::Simd128 => (simd128::Simd128::MR, simd128::Simd128::NR),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => (avx512::Avx512::MR, avx512::Avx512::NR),
            Kernel::MatrixMultiply => (16, 16),
        }
    }
}

/// `c[offset..]` (an `m x n` row-major block with row stride `ldc`) `= alpha·A·B + beta·C`, `A` `m x k`, `B` `k x n`,
/// on every core natively.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(m: usize, k: usize, n: usize, alpha: f32, a: View, b: View, beta: f32, c: &mut [f32], c_offset: usize, ldc: usize) {
    sgemm_with(Kernel::best_for(n), super::parallel::cores(), m, k, n, alpha, a, b, beta, c, c_offset, ldc);
}

/// Below this many multiply-adds a product runs on the calling thread: sharing it out would cost more.
const MIN_PARALLEL_MACS: usize = 1 << 20;

/// Where C lives: a raw pointer, so that threads can each write their own disjoint part of one row-major matrix.
#[derive(Clone, Copy)]
struct Out(*mut f32);

// SAFETY: the threads given an `Out` write disjoint elements (see `sgemm_with`), and the matrix outlives them.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// The element `offset` values on. (A method, so that closures capture the whole `Out`, which is Send, and not
    /// its pointer field, which is not.)
    ///
    /// # Safety
    /// `offset` stays inside the matrix.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        unsafe { self.0.add(offset) }
    }
}

/// [`sgemm`] on a given implementation and number of threads (to compare them). Threads take runs of whole tiles
/// of whichever side of C has more (so a product with few rows, a convolution's, still uses them all), and each
/// element of C is summed in the same order however many there are: results do not depend on the thread count.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_with(kernel: Kernel, threads: usize, m: usize, k: usize, n: usize, alpha: f32, a: View, b: View, beta: f32, c: &mut [f32], c_offset: usize, ldc: usize) {
    if m == 0 || n == 0 {
        return;
    }
    a.check(m, k);
    b.check(k, n);
    assert!(c_offset + (m - 1) * ldc + n <= c.len(), "the {m}x{n} result does not fit its slice");
    if m == 1 || n == 1 {
        thin(m, k, n, alpha, a, b, beta, &mut c[c_offset..], ldc);
        return;
    }
    let threads = if m * k * n < MIN_PARALLEL_MACS { 1 } else { threads.max(1) };
    let split_rows = m > n;
    let (extent, tile) = if split_rows { (m, kernel.tile().0) } else { (n, kernel.tile().1) };
    let tiles = extent.div_ceil(tile);
    let per_thread = tiles.div_ceil(threads.min(tiles)) * tile;
    let out = Out(c[c_offset..].as_mut_ptr());
    let part = |start: usize| {
        let len = per_thread.min(extent - start);
        // SAFETY: the parts [start, start + len) are disjoint, lie inside the checked operands, and C does not
        // overlap A or B (C is the only mutable borrow).
        unsafe {
            if split_rows {
                let a = View { offset: a.offset + start * a.row_stride, ..a };
                product(kernel, len, k, n, alpha, a, b, beta, out.at(start * ldc), ldc);
            } else {
                let b = View { offset: b.offset + start * b.col_stride, ..b };
                product(kernel, m, k, len, alpha, a, b, beta, out.at(start), ldc);
            }
        }
    };
    super::parallel::for_each((0..extent).step_by(per_thread).collect(), part);
}

/// A product with a single row or column (a layer with one output, and its weight's gradient): packing panels for
/// a micro-kernel would cost more than the product itself, so plain loops. Each sum runs over `k` in lanes of 8
/// (dot products) or along B's rows (m = 1), always in the same order.
#[allow(clippy::too_many_arguments)]
fn thin(m: usize, k: usize, n: usize, alpha: f32, a: View, b: View, beta: f32, c: &mut [f32], ldc: usize) {
    // β = 0 never reads C (it may hold anything), as in BLAS.
    let store = |c: &mut f32, sum: f32| *c = if beta == 0.0 { alpha * sum } else { alpha * sum + beta * *c };
    if n == 1 {
        for i in 0..m {
            let sum = if a.col_stride == 1 && b.row_stride == 1 {
                let row = &a.data[a.offset + i * a.row_stride..][..k];
                dot(row, &b.data[b.offset..][..k])
            } else {
                (0..k).map(|p| a.get(i, p) * b.get(p, 0)).sum()
            };
            store(&mut c[i * ldc], sum);
        }
    } else {
        // m = 1: the row of A weights the rows of B.
        let mut sums = vec![0.0; n];
        for p in 0..k {
            let scale = a.get(0, p);
            if b.col_stride == 1 {
                let row = &b.data[b.offset + p * b.row_stride..][..n];
                sums.iter_mut().zip(row).for_each(|(s, &v)| *s += scale * v);
            } else {
                sums.iter_mut().enumerate().for_each(|(j, s)| *s += scale * b.get(p, j));
            }
        }
        sums.iter().enumerate().for_each(|(j, &sum)| store(&mut c[j], sum));
    }
}

/// `Σ x·y` in 8 interleaved partial sums (so the additions do not wait on each other and vectorise), then the
/// partial sums and the tail.
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (xs, ys) = (x.chunks_exact(8), y.chunks_exact(8));
    let tail: f32 = xs.remainder().iter().zip(ys.remainder()).map(|(a, b)| a * b).sum();
    for (xs, ys) in xs.zip(ys) {
        for ((lane, a), b) in lanes.iter_mut().zip(xs).zip(ys) {
            *lane += a * b;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// One thread's product into the `m x n` block at `c`.
///
/// # Safety
/// The views hold `m x k` and `k x n` matrices, and only this call writes the block at `c` (row stride `ldc`).
#[allow(clippy::too_many_arguments)]
unsafe fn product(kernel: Kernel, m: usize, k: usize, n: usize, alpha: f32, a: View, b: View, beta: f32, c: *mut f32, ldc: usize) {
    match kernel {
        // SAFETY: the caller's guarantees, and this target has WebAssembly SIMD.
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Kernel::Simd128 => unsafe {
            let c = std::slice::from_raw_parts_mut(c, (m - 1) * ldc + n);
            packed::sgemm::<simd128::Simd128>(m, k, n, alpha, a, b, beta, c, ldc)
        },
        // SAFETY: the caller's guarantees, and `Kernel::best` chose this kernel because the processor has AVX-512.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe {
            let c = std::slice::from_raw_parts_mut(c, (m - 1) * ldc + n);
            packed::sgemm::<avx512::Avx512>(m, k, n, alpha, a, b, beta, c, ldc)
        },
        // SAFETY: the caller's guarantees.
        Kernel::MatrixMultiply => unsafe {
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
                c,
                ldc as isize,
                1,
            );
        },
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

    /// `len` standard-normal values.
    fn randn(len: usize, rng: &mut crate::rng::Rng) -> Vec<f32> {
        (0..len).map(|_| rng.normal()).collect()
    }

    #[test]
    fn threads_split_either_side_and_give_the_same_bits() {
        let mut rng = crate::rng::Rng::new(5);
        // Wide (split by columns, with a ragged last part) and tall (split by rows), both past MIN_PARALLEL_MACS.
        for (m, k, n) in [(40, 300, 1000), (1000, 300, 37)] {
            assert!(m * k * n >= MIN_PARALLEL_MACS);
            let a = randn(m * k, &mut rng);
            let b = randn(n * k, &mut rng);
            let ldc = n + 1;
            let c0 = randn(m * ldc, &mut rng);
            let product = |threads| {
                let mut c = c0.clone();
                sgemm_with(Kernel::best(), threads, m, k, n, 0.5, View::rows(&a, 0, k), View::rows(&b, 0, k).t(), 2.0, &mut c, 0, ldc);
                c
            };
            let one = product(1);
            for threads in [2, 3, 7] {
                assert_eq!(product(threads), one, "{m}x{k}x{n} on {threads} threads");
            }
            // And it is the product: spot-check a few elements against the definition.
            for (i, j) in [(0, 0), (m - 1, n - 1), (m / 2, n / 3)] {
                let sum: f32 = (0..k).map(|kk| a[i * k + kk] * b[j * k + kk]).sum();
                let want = 0.5 * sum + 2.0 * c0[i * ldc + j];
                assert!((one[i * ldc + j] - want).abs() < 1e-3 * (1.0 + want.abs()), "({i}, {j})");
            }
            assert!((0..m).all(|i| one[i * ldc + n] == c0[i * ldc + n]), "the column past n is left alone");
        }
    }

    #[test]
    fn thin_products_match_the_definition_for_every_layout() {
        let mut rng = crate::rng::Rng::new(6);
        // One column (n = 1, long enough for the 8-lane dot and its tail), one row, and for contrast an outer
        // product (k = 1), which takes the packed path.
        for (m, k, n) in [(7, 21, 1), (1, 13, 9), (5, 1, 6), (1, 1, 1)] {
            let (a, b) = (randn(m * k, &mut rng), randn(k * n, &mut rng));
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let av = if ta { View::rows(&a, 0, m).t() } else { View::rows(&a, 0, k) };
                let bv = if tb { View::rows(&b, 0, k).t() } else { View::rows(&b, 0, n) };
                let ldc = n + 2;
                let want = |i: usize, j: usize| (0..k).map(|p| av.get(i, p) * bv.get(p, j)).sum::<f32>();
                // β = 0 must not read C: NaN there would show.
                let mut c = vec![f32::NAN; m * ldc];
                sgemm(m, k, n, 2.0, av, bv, 0.0, &mut c, 0, ldc);
                let mut d = vec![1.0; m * ldc];
                sgemm(m, k, n, 2.0, av, bv, 0.5, &mut d, 0, ldc);
                for i in 0..m {
                    for j in 0..n {
                        let w = 2.0 * want(i, j);
                        assert!((c[i * ldc + j] - w).abs() < 1e-4 * (1.0 + w.abs()), "{m}x{k}x{n} {ta} {tb} β 0 ({i}, {j})");
                        assert!((d[i * ldc + j] - w - 0.5).abs() < 1e-4 * (1.0 + w.abs()), "{m}x{k}x{n} {ta} {tb} β 0.5 ({i}, {j})");
                    }
                    assert!(c[i * ldc + n].is_nan() && d[i * ldc + n] == 1.0, "the columns past n are left alone");
                }
            }
        }
    }
}
