//! Shared test machinery: the conformance case format and runner, tolerant comparison, and random op inputs.
//! Used by the native tests, the browser tests (wasm-bindgen-test) and `cargo xtask conformance`.

pub mod compare;
pub mod conformance;
pub mod properties;
pub mod random;
pub mod training;
