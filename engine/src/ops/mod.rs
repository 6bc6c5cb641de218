//! The ops, one file each: the math in a `//!` header, the params validated at construction (a learner-readable
//! error otherwise), the CPU reference `forward` and `backward`, and the GPU encoding of `shaders/<op>.wgsl`.
//! Each file also has a free function that validates and runs the op on any backend.

pub mod adam;
pub mod adaptive_avg_pool2d;
pub mod avg_pool2d;
pub mod batch_norm;
pub mod concat;
pub mod conv2d;
pub mod cross_entropy;
pub mod dropout;
pub mod embedding;
pub mod gemm;
pub mod matmul;
pub mod max_pool2d;
pub mod mse;
pub mod pad;
pub mod padding;
pub mod pool;
pub mod relu;
pub mod rmspe;
pub mod sgd;
pub mod sigmoid;
pub mod softmax;
pub mod sum_to;
#[cfg(test)]
mod testing;

pub use conv2d::{Conv2d, Conv2dParams};
pub use padding::PaddingMode;
pub use pool::Pool2dParams;
