//! Replays every input the fuzzers kept (`fuzz/corpus/<target>/`) and every crash they found
//! (`fuzz/crashers/<target>/`, each fixed since) through the targets' bodies ([`tests::fuzz`]), on stable and
//! in a few seconds: what was found once stays fixed. The fuzzing itself is `cargo +nightly fuzz run <target>`
//! (see `fuzz/README.md`).

#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;
use tests::fuzz::TARGETS;

/// The files of `fuzz/<kind>/<target>/`, sorted (none when the folder is missing).
fn inputs(kind: &str, target: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz").join(kind).join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_kept_fuzz_input_and_crasher_replays_without_a_panic() {
    for (target, run) in TARGETS {
        let corpus = inputs("corpus", target);
        assert!(corpus.len() >= 10, "fuzz/corpus/{target}/ holds {} inputs: run the fuzzer (fuzz/README.md) and keep its corpus", corpus.len());
        for file in corpus.iter().chain(&inputs("crashers", target)) {
            let bytes = std::fs::read(file).unwrap();
            if std::panic::catch_unwind(|| run(&bytes)).is_err() {
                panic!("fuzz target {target} panics on {}", file.display());
            }
        }
    }
}

#[test]
fn the_seed_inputs_reach_past_the_parsers() {
    // Valid inputs, so that a replay exercises more than the refusals: the shipped model opens and an architecture
    // of the lesson's default trains a step.
    let model = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/data/shapes_cnn.safetensors")).unwrap();
    tests::fuzz::model_import(&model);
    tests::fuzz::architecture(b"\x00\x07\x07\x09conv8k3s2p1-bn-relu-gap-flat-lin10");
    tests::fuzz::url_state(b"k=3&mode=reflection&pool=avg&p=0.5&lr=1e9&arch=gap&&&=&%ZZ&k=");
}
