//! Every file in `shaders/` parses and validates with naga (the compiler inside wgpu), and is registered with the
//! engine. Chrome's compiler is stricter still: the browser tests run every shader there too.

use std::path::Path;

fn shader_files() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shaders");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("the shaders/ folder is readable")
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "wgsl"))
        .map(|path| {
            let name = path.file_stem().expect("a file name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("a readable shader"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_shader_validates_with_naga() {
    let files = shader_files();
    assert!(!files.is_empty(), "no shaders found");
    for (name, source) in files {
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{name}.wgsl does not parse:\n{}", e.emit_to_string(&source)));
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}.wgsl does not validate:\n{}", e.emit_to_string(&source)));
    }
}

#[test]
fn every_shader_is_registered_under_its_file_name() {
    let files = shader_files();
    for (name, source) in &files {
        assert_eq!(engine::backend::shaders::source(name), Some(source.as_str()), "{name}.wgsl is not in SHADERS");
    }
    assert_eq!(engine::backend::shaders::SHADERS.len(), files.len(), "SHADERS lists a file that does not exist");
}

#[test]
fn every_shader_names_its_rust_reference() {
    for (name, source) in shader_files() {
        assert!(source.contains("Rust reference: engine/src/ops/"), "{name}.wgsl does not name its Rust reference");
    }
}
