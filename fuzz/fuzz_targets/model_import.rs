//! Fuzz target `model_import`: its body is `tests::fuzz::model_import` (replayed on stable by `tests/tests/fuzz_replay.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tests::fuzz::model_import(data));
