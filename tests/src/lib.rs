//! Shared test machinery: the conformance case format and runner, tolerant comparison, and training on one device
//! against the CPU. Used by the native tests, the browser tests (wasm-bindgen-test) and `cargo xtask conformance`.
//! The ops' own checks (each device against the reference loops) live with the ops: [`engine::ops::check`].

pub mod compare;
pub mod conformance;
#[cfg(not(target_arch = "wasm32"))]
pub mod fuzz;
pub mod training;
