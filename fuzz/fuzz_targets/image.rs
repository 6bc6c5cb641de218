//! Fuzz target `image`: its body is `tests::fuzz::image` (replayed on stable by `tests/tests/fuzz_replay.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tests::fuzz::image(data));
