//! The CPU device: the tuned loops that the CPU runs instead of an op's reference loops where speed matters
//! (training the lessons' models), over slices and plain geometry. Each is tested against the op's reference
//! loops by the op's own tests and by the shared check of every op with a CPU path of its own (`ops::check`).
//!
//! - [`conv2d`]: im2col (with gather tables for small images) and matrix products;
//! - [`matmul`]: every strided matrix product on [`sgemm`] (our AVX-512 kernel natively where the CPU has it,
//!   `matrixmultiply` elsewhere natively, a WebAssembly SIMD kernel in the browser);
//! - [`batch_norm`]: per-channel sums split by position over every core, element-wise passes row by row;
//! - [`reduce`]: a bias's gradient as whole rows added, global average pooling as one mean per plane;
//! - [`elementwise`]: ReLU, dropout and an optimizer's update as loops on every core.
//!
//! Beneath them: [`parallel`] (the one thread pool), [`vector`] (loops built for AVX2 at run time, im2col's
//! gather) and [`scratch`] (working buffers kept per thread between ops).

pub mod batch_norm;
pub mod conv2d;
pub mod elementwise;
pub mod matmul;
pub mod parallel;
pub mod reduce;
pub mod scratch;
pub mod sgemm;
pub mod vector;

/// Asks the C allocator to keep freed memory for the next tensor instead of handing it back to the system. A
/// training step frees and allocates the same few megabyte-sized tensors every time; by default glibc serves
/// these from fresh mappings or gives the top of its heap back, so each step pays for the pages again (page faults
/// and zeroing, up to a tenth of a step natively). With allocations up to 32 MiB kept on the heap and up to
/// 512 MiB of free heap kept, the step reuses warm memory. Process-wide, so the command-line programs call it
/// first thing; elsewhere (other C libraries, the browser) it does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // glibc's <malloc.h>: M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3; 32 MiB is the largest mmap threshold it
        // accepts on 64-bit systems.
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt only changes the allocator's thresholds; any value is safe (invalid ones are refused).
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
            mallopt(M_TRIM_THRESHOLD, 512 << 20);
        }
    }
}
