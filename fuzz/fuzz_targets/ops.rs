//! Fuzz target `ops`: its body is `tests::fuzz::ops` (replayed on stable by `tests/tests/fuzz_replay.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tests::fuzz::ops(data));
