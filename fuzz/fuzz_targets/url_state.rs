//! Fuzz target `url_state`: its body is `tests::fuzz::url_state` (replayed on stable by `tests/tests/fuzz_replay.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tests::fuzz::url_state(data));
