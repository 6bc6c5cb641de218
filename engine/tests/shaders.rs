//! Every shader in `shaders/` belongs to a registered op, validates with naga (the compiler inside wgpu) behind the
//! prelude, names its Rust reference, and declares its uniforms exactly as the op's Rust struct lays them out.
//! Chrome's compiler is stricter still: the browser tests run every shader there too.

use engine::ops::{OPS, PRELUDE, wgsl};
use std::path::Path;

/// `(name, source)` of every `.wgsl` file in `shaders/` but the prelude.
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
        .filter(|(name, _)| name != "prelude")
        .collect();
    files.sort();
    files
}

fn parse(name: &str) -> naga::Module {
    let source = wgsl(name).unwrap_or_else(|| panic!("{name} is not registered"));
    let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| panic!("{name}.wgsl does not parse:\n{}", e.emit_to_string(&source)));
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}.wgsl does not validate:\n{}", e.emit_to_string(&source)));
    module
}

#[test]
fn every_shader_validates_with_naga_behind_the_prelude() {
    let files = shader_files();
    assert!(!files.is_empty(), "no shaders found");
    for (name, _) in files {
        parse(&name);
    }
}

#[test]
fn every_shader_file_is_an_op_s_and_every_op_s_shader_is_a_file() {
    let files = shader_files();
    for (name, source) in &files {
        let op = OPS.iter().find(|op| op.name == name).unwrap_or_else(|| panic!("{name}.wgsl belongs to no registered op"));
        assert_eq!(op.shader, Some(source.as_str()), "{name}.wgsl is not the shader its op registers");
    }
    let with_shaders = OPS.iter().filter(|op| op.shader.is_some()).count();
    assert_eq!(with_shaders, files.len(), "an op registers a shader that is not a file");
    assert!(PRELUDE.contains("fn flat_index") && PRELUDE.contains("fn workgroup_sum"));
}

#[test]
fn every_shader_names_its_rust_reference() {
    for (name, source) in shader_files() {
        assert!(source.contains(&format!("Rust reference: engine/src/ops/{name}.rs")), "{name}.wgsl does not name its Rust reference");
    }
}

/// The uniform struct each shader binds: its members' names and byte offsets, and its size.
fn uniform_layout(module: &naga::Module) -> (Vec<(String, usize)>, usize) {
    let globals: Vec<_> = module.global_variables.iter().filter(|(_, v)| v.space == naga::AddressSpace::Uniform).collect();
    assert_eq!(globals.len(), 1, "one uniform struct per shader");
    let ty = &module.types[globals[0].1.ty];
    let naga::TypeInner::Struct { members, span } = &ty.inner else { panic!("the uniform is not a struct") };
    let members = members.iter().map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize)).collect();
    (members, *span as usize)
}

#[test]
fn every_shader_s_uniforms_match_the_rust_struct_member_for_member() {
    for op in OPS {
        let (Some(_), Some((members, size))) = (op.shader, op.uniforms) else {
            assert!(op.shader.is_none() && op.uniforms.is_none(), "{}: a shader without uniforms, or uniforms without a shader", op.name);
            continue;
        };
        let (wgsl_members, span) = uniform_layout(&parse(op.name));
        let rust: Vec<(String, usize)> = members.iter().map(|(n, o)| (n.to_string(), *o)).collect();
        assert_eq!(rust, wgsl_members, "{}: the Rust uniforms (left) and the shader's Params (right) differ", op.name);
        // The struct ends where its last member does, in both (WGSL rounds a struct up to its alignment, 4 or 16).
        assert_eq!(size.div_ceil(16), span.div_ceil(16), "{}: {size} bytes in Rust, {span} in WGSL", op.name);
        assert!(size <= span, "{}: the Rust struct ({size} bytes) is longer than the shader's ({span})", op.name);
    }
}

/// The value of the prelude's `const NAME: u32 = ...u;`.
fn prelude_constant(name: &str) -> u32 {
    let module = naga::front::wgsl::parse_str(PRELUDE).expect("the prelude parses on its own");
    let (_, constant) = module.constants.iter().find(|(_, c)| c.name.as_deref() == Some(name)).unwrap_or_else(|| panic!("the prelude has no {name}"));
    match module.global_expressions[constant.init] {
        naga::Expression::Literal(naga::Literal::U32(value)) => value,
        ref other => panic!("{name} is not a u32 literal: {other:?}"),
    }
}

#[test]
fn the_prelude_s_constants_are_the_engine_s() {
    use engine::ops::PaddingMode;
    use engine::ops::cross_entropy::Reduction;
    assert_eq!(prelude_constant("WORKGROUP_SIZE") as usize, engine::device::gpu::WORKGROUP_SIZE, "dispatch counts workgroups of this size");
    assert_eq!(prelude_constant("NONE"), Reduction::None as u32);
    assert_eq!(prelude_constant("MEAN"), Reduction::Mean as u32);
    assert_eq!(prelude_constant("SUM"), Reduction::Sum as u32);
    assert_eq!(prelude_constant("ZEROS"), PaddingMode::Zeros.code());
    assert_eq!(prelude_constant("BORDER"), PaddingMode::Border.code());
    assert_eq!(prelude_constant("REFLECTION"), PaddingMode::Reflection.code());
    assert_eq!(prelude_constant("CIRCULAR"), PaddingMode::Circular.code());
}
