//! For the browser tests (wasm32), embeds the conformance cases into the test binary: a browser cannot read files.
//! Natively the tests read them from disk instead, so nothing is embedded.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=CONFORMANCE_DIR");
    let dir = match std::env::var_os("CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("conformance"),
    };
    let mut files = Vec::new();
    if std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "wasm32") {
        println!("cargo:rerun-if-changed={}", dir.display());
        collect(&dir, &mut files);
        files.sort();
    }
    let mut code = String::from("/// The conformance cases, as `(path, JSON text)`.\npub const EMBEDDED_CASES: &[(&str, &str)] = &[\n");
    for path in &files {
        let name = path.strip_prefix(&dir).unwrap_or(path).display().to_string();
        code += &format!("    ({name:?}, include_str!({:?})),\n", path.display().to_string());
    }
    code += "];\n";
    code += &format!("/// Where they came from.\npub const EMBEDDED_FROM: &str = {:?};\n", dir.display().to_string());
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_cases.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") && path.file_name().is_some_and(|n| n != "index.json") {
            out.push(path.canonicalize().unwrap_or(path));
        }
    }
}
