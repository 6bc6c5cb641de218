//! Every shader in `shaders/` belongs to a registered op, validates with naga (the compiler inside wgpu) behind the
//! prelude, and names its Rust reference; every kernel an op declares ([`engine::kernels!`]) is checked against
//! its shader here, natively and with no GPU: the entry point exists, it binds exactly the declared storage
//! buffers under the declared names and numbers, and its uniforms are laid out exactly as the Rust struct. Chrome's
//! compiler is stricter still: the browser tests run every shader there too.

use engine::device::gpu::{Declaration, PRELUDE, Shader};
use engine::ops::OPS;
use std::collections::BTreeSet;
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

/// Every kernel every op declares.
fn declarations() -> Vec<Declaration> {
    OPS.iter().flat_map(|op| (op.kernels)()).collect()
}

/// The shader parsed and validated behind the prelude, with what the validator learned about its functions.
fn compile(shader: &Shader) -> Result<(naga::Module, naga::valid::ModuleInfo), String> {
    let source = shader.full_source();
    let module = naga::front::wgsl::parse_str(&source).map_err(|e| format!("{}.wgsl does not parse:\n{}", shader.name, e.emit_to_string(&source)))?;
    let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
        .validate(&module)
        .map_err(|e| format!("{}.wgsl does not validate:\n{}", shader.name, e.emit_to_string(&source)))?;
    Ok((module, info))
}

/// A kernel's declaration against its shader: the compute entry point exists; the storage buffers it uses are
/// exactly the declared `(name, binding)` pairs (group 0); it uses one uniform, at binding 0; and that uniform's
/// struct has the Rust struct's members, in order, at the same offsets.
fn check(kernel: &Declaration) -> Result<(), String> {
    let what = format!("{}.wgsl `{}`", kernel.shader.name, kernel.entry);
    let (module, info) = compile(kernel.shader)?;
    let (index, _) = module
        .entry_points
        .iter()
        .enumerate()
        .find(|(_, e)| e.name == kernel.entry && e.stage == naga::ShaderStage::Compute)
        .ok_or_else(|| format!("{what}: the shader has no compute entry point of that name"))?;
    let uses = info.get_entry_point(index);
    let mut storage = BTreeSet::new();
    let mut uniforms = Vec::new();
    for (handle, global) in module.global_variables.iter() {
        if uses[handle].is_empty() {
            continue;
        }
        let Some(binding) = &global.binding else { continue };
        let name = global.name.clone().unwrap_or_default();
        if binding.group != 0 {
            return Err(format!("{what}: `{name}` is in bind group {}, the engine binds group 0 only", binding.group));
        }
        match global.space {
            naga::AddressSpace::Uniform => uniforms.push((binding.binding, global.ty)),
            naga::AddressSpace::Storage { .. } => {
                storage.insert((name, binding.binding));
            }
            _ => return Err(format!("{what}: `{name}` is neither a uniform nor a storage buffer")),
        }
    }
    let declared: BTreeSet<(String, u32)> = kernel.bindings.iter().map(|&(n, b)| (n.to_string(), b)).collect();
    if declared.len() != kernel.bindings.len() {
        return Err(format!("{what}: a binding is declared twice: {:?}", kernel.bindings));
    }
    if declared != storage {
        return Err(format!("{what}: declared bindings {declared:?}, but the entry point uses {storage:?}"));
    }
    let [(0, ty)] = uniforms[..] else {
        return Err(format!("{what}: expected one uniform at binding 0, found {uniforms:?}"));
    };
    let naga::TypeInner::Struct { members, span } = &module.types[ty].inner else {
        return Err(format!("{what}: the uniform is not a struct"));
    };
    let wgsl: Vec<(String, usize)> = members.iter().map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize)).collect();
    let rust: Vec<(String, usize)> = kernel.uniform_members.iter().map(|(n, o)| (n.to_string(), *o)).collect();
    if rust != wgsl {
        return Err(format!("{what}: the Rust uniforms {rust:?} and the shader's {wgsl:?} differ"));
    }
    // The struct ends where its last member does, in both (WGSL rounds a struct up to its alignment, 4 or 16).
    let (size, span) = (kernel.uniform_size, *span as usize);
    if size.div_ceil(16) != span.div_ceil(16) || size > span {
        return Err(format!("{what}: the uniforms are {size} bytes in Rust, {span} in WGSL"));
    }
    Ok(())
}

#[test]
fn every_shader_validates_with_naga_behind_the_prelude() {
    let files = shader_files();
    assert!(!files.is_empty(), "no shaders found");
    for (name, source) in files {
        let shader = Shader { name: Box::leak(name.into_boxed_str()), source: Box::leak(source.into_boxed_str()) };
        compile(&shader).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn every_declared_kernel_matches_its_shader() {
    let kernels = declarations();
    assert!(kernels.len() >= OPS.len(), "{} kernels declared for {} ops", kernels.len(), OPS.len());
    let failures: Vec<String> = kernels.iter().filter_map(|k| check(k).err()).collect();
    assert!(failures.is_empty(), "{} kernels disagree with their shaders:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_kernel_declared_wrongly_is_caught() {
    // The check must fail for each mistake a declaration can make: take a real one and break it.
    let good = declarations().into_iter().find(|k| k.shader.name == "relu" && k.entry == "backward").expect("ReLU's backward is declared");
    check(&good).expect("the real declaration passes");
    let wrong = [
        Declaration { entry: "backwards", ..good },
        Declaration { bindings: &[("x", 1), ("dy", 3), ("dx", 5)], ..good },
        Declaration { bindings: &[("x", 1), ("grad", 3), ("dx", 4)], ..good },
        Declaration { bindings: &[("x", 1), ("dy", 3)], ..good },
        Declaration { bindings: &[("x", 1), ("dy", 3), ("dx", 4), ("y", 2)], ..good },
        Declaration { uniform_members: &[("count", 0)], ..good },
        Declaration { uniform_size: 32, ..good },
    ];
    for declaration in wrong {
        assert!(check(&declaration).is_err(), "{declaration:?} passed the check");
    }
}

#[test]
fn every_shader_file_is_an_op_s_and_every_op_s_shader_is_a_file() {
    let files = shader_files();
    let declared: BTreeSet<&str> = declarations().iter().map(|k| k.shader.name).collect();
    for (name, source) in &files {
        assert!(declared.contains(name.as_str()), "{name}.wgsl belongs to no op's kernels");
        let kernel = declarations().into_iter().find(|k| k.shader.name == name).expect("declared");
        assert_eq!(kernel.shader.source, source.as_str(), "{name}.wgsl is not the shader its op compiles");
        assert!(OPS.iter().any(|op| op.name == name), "{name}.wgsl is named after no registered op");
    }
    assert_eq!(declared.len(), files.len(), "an op declares a shader that is not a file");
    assert!(PRELUDE.contains("fn flat_index") && PRELUDE.contains("fn workgroup_sum"));
}

#[test]
fn every_shader_names_its_rust_reference() {
    for (name, source) in shader_files() {
        assert!(source.contains(&format!("Rust reference: engine/src/ops/{name}.rs")), "{name}.wgsl does not name its Rust reference");
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
