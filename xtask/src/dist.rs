//! `cargo xtask dist`: the site's release build, in two builds of the app. Browsers that have relaxed SIMD get
//! the build whose matrix products use its fused multiply-add (the `relaxed-simd` feature); the others (Safari)
//! the baseline: a WebAssembly module with an instruction the browser lacks does not load at all, so one build
//! cannot serve both. The loader (`loader.js`) picks one with `WebAssembly.validate`.

use crate::{command, execute, root};
use std::path::Path;

/// The loader, with the builds' file names to fill in.
const LOADER: &str = include_str!("loader.js");

/// Builds the site into dist/: trunk's baseline build, then the relaxed build (into target/relaxed-dist/), whose
/// script and wasm join dist/ under names that say so; then dist/index.html gets the loader in place of trunk's.
pub fn build() -> Result<(), String> {
    execute(command("trunk").args(["build", "--release"]))?;
    let relaxed_dist = root().join("target/relaxed-dist");
    execute(command("trunk").args(["build", "--release", "--features", "relaxed-simd", "--dist"]).arg(&relaxed_dist))?;
    let dist = root().join("dist");
    let index = dist.join("index.html");
    let html = read(&index)?;
    let baseline = Build::named_in(&html)?;
    let relaxed = Build::named_in(&read(&relaxed_dist.join("index.html"))?)?;
    let renamed = Build { script: format!("relaxed-{}", relaxed.script), wasm: format!("relaxed-{}", relaxed.wasm) };
    for (from, to) in [(&relaxed.script, &renamed.script), (&relaxed.wasm, &renamed.wasm)] {
        std::fs::copy(relaxed_dist.join(from), dist.join(to)).map_err(|e| format!("cannot copy the relaxed build's {from} into dist/: {e}"))?;
    }
    let loader = LOADER
        .replace("RELAXED_JS", &renamed.script)
        .replace("RELAXED_WASM", &renamed.wasm)
        .replace("BASELINE_JS", &baseline.script)
        .replace("BASELINE_WASM", &baseline.wasm);
    std::fs::write(&index, with_loader(&html, &loader)?).map_err(|e| format!("cannot write {}: {e}", index.display()))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// One build's files, as trunk's page names them (without the leading slash).
#[derive(Debug)]
struct Build {
    script: String,
    wasm: String,
}

impl Build {
    /// The script and wasm that trunk's loader in `html` imports.
    fn named_in(html: &str) -> Result<Build, String> {
        let between = |before: &str, after: &str| {
            let start = html.find(before)? + before.len();
            Some(html[start..][..html[start..].find(after)?].to_string())
        };
        match (between("import init, * as bindings from '/", "'"), between("module_or_path: '/", "'")) {
            (Some(script), Some(wasm)) => Ok(Build { script, wasm }),
            _ => Err("trunk's index.html no longer imports the app as xtask expects: update xtask/src/dist.rs".into()),
        }
    }
}

/// `html` with trunk's module script replaced by `loader`, and its preloads of the baseline's script and wasm
/// dropped (a browser that loads the relaxed build would fetch them for nothing; the loader fetches the wasm
/// while the script loads).
fn with_loader(html: &str, loader: &str) -> Result<String, String> {
    let unexpected = || "trunk's index.html no longer has the module script and preloads xtask expects: update xtask/src/dist.rs".to_string();
    let start = html.find("<script type=\"module\">").ok_or_else(unexpected)?;
    let end = start + html[start..].find("</script>").ok_or_else(unexpected)? + "</script>".len();
    let mut page = format!("{}<script type=\"module\">\n{loader}</script>{}", &html[..start], &html[end..]);
    for tag in ["<link rel=\"modulepreload\"", "<link rel=\"preload\""] {
        let start = page.find(tag).ok_or_else(unexpected)?;
        let end = start + page[start..].find('>').ok_or_else(unexpected)? + 1;
        page.replace_range(start..end, "");
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of trunk 0.21's page (abridged).
    const TRUNK_PAGE: &str = r#"<head>
<script type="module">
import init, * as bindings from '/app-1a.js';
const wasm = await init({ module_or_path: '/app-1a_bg.wasm' });
</script>
<link rel="stylesheet" href="/style.css"/>
<link rel="modulepreload" href="/app-1a.js" crossorigin="anonymous"><link rel="preload" href="/app-1a_bg.wasm" as="fetch" type="application/wasm"></head>"#;

    #[test]
    fn the_loader_replaces_trunks_script_and_preloads() {
        let build = Build::named_in(TRUNK_PAGE).unwrap();
        assert_eq!((build.script.as_str(), build.wasm.as_str()), ("app-1a.js", "app-1a_bg.wasm"));
        let page = with_loader(TRUNK_PAGE, "LOADER\n").unwrap();
        assert_eq!(page, "<head>\n<script type=\"module\">\nLOADER\n</script>\n<link rel=\"stylesheet\" href=\"/style.css\"/>\n</head>");
    }

    #[test]
    fn a_page_of_another_shape_is_a_clear_error() {
        assert!(Build::named_in("<head></head>").unwrap_err().contains("update xtask"));
        assert!(with_loader("<head></head>", "").unwrap_err().contains("update xtask"));
    }

    #[test]
    fn the_loader_names_every_file_it_is_given() {
        for placeholder in ["RELAXED_JS", "RELAXED_WASM", "BASELINE_JS", "BASELINE_WASM"] {
            assert_eq!(LOADER.matches(placeholder).count(), 1, "{placeholder}");
        }
    }
}
