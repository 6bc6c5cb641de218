//! The engine's modules depend on each other one way (DESIGN.md): `device` at the bottom (buffers, kernels, the
//! CPU's loops over slices and plain geometry), `tensor` on it, `ops` on both, then layers, training and data. This
//! test reads every file under `engine/src` and checks it: no module imports one that imports it back, directly
//! or through others, and nothing under `device/` imports `tensor` or an op.
//!
//! A file is a module. An edge is a path it names that leads to another file: `use crate::…`, `use super::…`,
//! `crate::a::b` in code, a child named in its parent's `use`, and the ops a `register!` list names. A re-export
//! (`pub use conv2d::Conv2d` in `ops/mod.rs`) is not a use of its own: it is followed to where the item is defined
//! (`crate::Tensor` leads to `tensor.rs`, not to `lib.rs`), as are `#[macro_export]` macros. Comments, strings and
//! `mod x;` declarations are not edges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Every file under `engine/src` (but `bin/`) as its module path and its source without comments and strings.
fn modules() -> BTreeMap<Module, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("a readable folder") {
            let path = entry.expect("a readable entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "bin") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).expect("under src").with_extension("");
            let mut module: Module = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            out.insert(module, strip(&std::fs::read_to_string(&path).expect("a readable file")));
        }
    }
    out
}

/// The source without comments, string and character literals (their text could look like paths).
fn strip(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if !escaped && c == '"' {
                        break;
                    }
                    escaped = !escaped && c == '\\';
                }
                out.push_str("\"\"");
            }
            // A character literal ('a', '\n', '"'), not a lifetime ('a): its closing quote comes within 3 chars.
            '\'' => {
                let ahead: String = chars.clone().take(3).collect();
                let close = if ahead.starts_with('\\') { ahead.chars().nth(2) == Some('\'') } else { ahead.chars().nth(1) == Some('\'') };
                if close {
                    let skip = if ahead.starts_with('\\') { 3 } else { 2 };
                    for _ in 0..skip {
                        chars.next();
                    }
                    out.push_str("' '");
                } else {
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A path as written, and how many inline modules (`mod tests { … }`) enclose it in its file.
struct Written {
    segments: Vec<String>,
    inline_depth: usize,
    /// Part of a `pub use`: a re-export.
    reexport: bool,
}

/// The paths a file names: `use` trees expanded into one path per leaf, and `crate::`/`super::` paths in code.
fn written_paths(source: &str) -> Vec<Written> {
    let mut out = Vec::new();
    let tokens = tokenize(source);
    let mut depth = 0usize;
    let mut inline_opened: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        match t {
            "{" => depth += 1,
            "}" => {
                if inline_opened.last() == Some(&depth) {
                    inline_opened.pop();
                }
                depth = depth.saturating_sub(1);
            }
            "mod" if tokens.get(i + 2).is_some_and(|t| t == "{") => {
                inline_opened.push(depth + 1);
            }
            "use" => {
                let reexport = i > 0 && (tokens[i - 1] == "pub" || tokens[i - 1] == ")");
                let end = (i..tokens.len()).find(|&j| tokens[j] == ";").unwrap_or(tokens.len());
                for segments in use_tree(&tokens[i + 1..end]) {
                    out.push(Written { segments, inline_depth: inline_opened.len(), reexport });
                }
                i = end;
            }
            // A path after `::` is part of a longer one; after `in` it is a visibility (`pub(in crate::a)`).
            "crate" | "super" if i == 0 || (tokens[i - 1] != "::" && tokens[i - 1] != "in") => {
                let mut segments = vec![t.to_string()];
                let mut j = i + 1;
                while tokens.get(j).is_some_and(|t| t == "::") && tokens.get(j + 1).is_some_and(|t| is_ident(t)) {
                    segments.push(tokens[j + 1].clone());
                    j += 2;
                }
                if segments.len() > 1 {
                    out.push(Written { segments, inline_depth: inline_opened.len(), reexport: false });
                }
                i = j - 1;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Identifiers, `::`, and single punctuation characters.
fn tokenize(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = source.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_alphanumeric() || c == '_' {
            let mut word = String::new();
            while let Some(&c) = chars.peek().filter(|c| c.is_alphanumeric() || **c == '_') {
                word.push(c);
                chars.next();
            }
            out.push(word);
        } else if c == ':' {
            chars.next();
            if chars.peek() == Some(&':') {
                chars.next();
                out.push("::".into());
            } else {
                out.push(":".into());
            }
        } else {
            chars.next();
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        }
    }
    out
}

/// The leaves of a `use` tree (`a::{b, c::{d, e as f}, self}`), each as a full path (`self` and `*` leave the path
/// they end).
fn use_tree(tokens: &[String]) -> Vec<Vec<String>> {
    fn tree(tokens: &[String], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        while let Some(token) = tokens.get(*i) {
            match token.as_str() {
                "::" | "*" | "self" => *i += 1,
                "as" => *i += 2,
                "," | "}" => break,
                "{" => {
                    *i += 1;
                    while tokens.get(*i).is_some_and(|t| t != "}") {
                        tree(tokens, i, &path, out);
                        if tokens.get(*i).is_some_and(|t| t == ",") {
                            *i += 1;
                        }
                    }
                    *i += 1;
                    return;
                }
                word => {
                    path.push(word.to_string());
                    *i += 1;
                }
            }
        }
        out.push(path);
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        tree(tokens, &mut i, &[], &mut out);
        i += 1;
    }
    out
}

/// The module graph: for each file, the files it depends on.
fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let files = modules();
    let declared_children = |module: &Module, name: &str| {
        let mut child = module.clone();
        child.push(name.to_string());
        files.contains_key(&child).then_some(child)
    };
    // Every path, made absolute (from the crate root).
    let mut absolute: BTreeMap<Module, Vec<(Vec<String>, bool)>> = BTreeMap::new();
    let mut macros: BTreeMap<String, Module> = BTreeMap::new();
    for (module, source) in &files {
        let tokens = tokenize(source);
        for w in tokens.windows(4) {
            if w[0] == "macro_rules" && w[1] == "!" {
                macros.insert(w[2].clone(), module.clone());
            }
        }
        let mut paths = Vec::new();
        for w in written_paths(source) {
            let (head, rest) = (w.segments[0].as_str(), &w.segments[1..]);
            let path = match head {
                "crate" => rest.to_vec(),
                "super" => {
                    let ups = w.segments.iter().take_while(|s| *s == "super").count();
                    let Some(up) = ups.checked_sub(w.inline_depth).filter(|&u| u > 0) else { continue };
                    if up > module.len() {
                        continue;
                    }
                    let mut p = module[..module.len() - up].to_vec();
                    p.extend(w.segments[ups..].iter().cloned());
                    p
                }
                child if declared_children(module, child).is_some() && w.inline_depth == 0 => {
                    let mut p = module.clone();
                    p.extend(w.segments.iter().cloned());
                    p
                }
                _ => continue,
            };
            paths.push((path, w.reexport));
        }
        // `register! { adam: cpu tuned, … }`: the registry names each op's module.
        if let Some(start) = tokens.windows(3).position(|w| w[0] == "register" && w[1] == "!" && w[2] == "{") {
            let body = &tokens[start + 3..];
            let end = body.iter().position(|t| t == "}").unwrap_or(body.len());
            for pair in body[..end].windows(2) {
                if pair[1] == ":" && declared_children(module, &pair[0]).is_some() {
                    let mut p = module.clone();
                    p.push(pair[0].clone());
                    paths.push((p, false));
                }
            }
        }
        absolute.insert(module.clone(), paths);
    }
    // Where each path leads: the longest prefix that is a file, then through that file's re-export of the next
    // segment, if it has one, or to the file defining a macro named at the crate root.
    let longest = |path: &[String]| (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|m| files.contains_key(m));
    let reexports: BTreeMap<(Module, String), Vec<String>> = absolute
        .iter()
        .flat_map(|(module, paths)| {
            paths.iter().filter(|(_, re)| *re).filter_map(move |(p, _)| Some(((module.clone(), p.last()?.clone()), p.clone())))
        })
        .collect();
    let resolve = |path: &[String]| -> Option<Module> {
        let mut path = path.to_vec();
        for _ in 0..8 {
            let file = longest(&path)?;
            let Some(item) = path.get(file.len()) else { return Some(file) };
            if file.is_empty()
                && let Some(defined) = macros.get(item)
            {
                return Some(defined.clone());
            }
            match reexports.get(&(file.clone(), item.clone())) {
                Some(target) if target != &path => path = target.iter().chain(&path[file.len() + 1..]).cloned().collect(),
                _ => return Some(file),
            }
        }
        None
    };
    absolute
        .iter()
        .map(|(module, paths)| {
            // A re-export (`pub use child::Item`) is a name handed on, not a use: it leads its readers onward.
            let deps = paths.iter().filter(|(_, re)| !re).filter_map(|(p, _)| resolve(p)).filter(|d| d != module).collect();
            (module.clone(), deps)
        })
        .collect()
}

fn name(m: &Module) -> String {
    if m.is_empty() { "lib".into() } else { m.join("::") }
}

/// A cycle through `start`, if there is one.
fn cycle_from(graph: &BTreeMap<Module, BTreeSet<Module>>, start: &Module) -> Option<Vec<Module>> {
    fn dfs(graph: &BTreeMap<Module, BTreeSet<Module>>, at: &Module, start: &Module, path: &mut Vec<Module>, seen: &mut BTreeSet<Module>) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if dfs(graph, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.clone()];
    dfs(graph, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = graph();
    assert!(graph.len() > 50, "only {} modules found", graph.len());
    assert!(graph[&vec!["ops".to_string(), "relu".to_string()]].contains(&vec!["ops".to_string(), "dispatch".to_string()]), "the reader sees imports");
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle_from(&graph, m))
        .map(|c| c.iter().chain(c.first()).map(name).collect::<Vec<_>>().join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_device_imports_neither_tensors_nor_ops() {
    let graph = graph();
    for (module, deps) in graph.iter().filter(|(m, _)| m.first().is_some_and(|m| m == "device")) {
        for dep in deps {
            let top = dep.first().map(String::as_str);
            assert!(!matches!(top, Some("tensor" | "ops" | "nn" | "learner" | "data" | "models")), "{} imports {}", name(module), name(dep));
        }
    }
}

#[test]
fn the_reader_finds_a_planted_cycle() {
    // The same reading on a made-up pair of files that import each other, so that the test above cannot pass by
    // seeing nothing.
    let a = written_paths(&strip("use crate::b::Thing; // use crate::c::Hidden;\nfn f() { let s = \"crate::d::Quoted\"; }"));
    let paths: Vec<String> = a.iter().map(|w| w.segments.join("::")).collect();
    assert_eq!(paths, ["crate::b::Thing"]);
    let tree = use_tree(&tokenize("crate::device::cpu::{self, batch_norm::Layout}, crate::x"));
    assert_eq!(tree, [vec!["crate", "device", "cpu"], vec!["crate", "device", "cpu", "batch_norm", "Layout"], vec!["crate", "x"]]);
    let graph: BTreeMap<Module, BTreeSet<Module>> =
        [(vec!["a".into()], BTreeSet::from([vec!["b".into()]])), (vec!["b".into()], BTreeSet::from([vec!["a".into()]]))].into();
    assert!(cycle_from(&graph, &vec!["a".into()]).is_some());
}
