//! The ops, one file each: math header, validated params, CPU reference, GPU encoding, step-through trace.

pub mod conv2d;
pub mod padding;

pub use conv2d::{Conv2d, Conv2dParams};
pub use padding::PaddingMode;
