//! `cargo xtask dist`: the site's release build, in two builds of the app. Browsers that have relaxed SIMD get
//! the build whose matrix products use its fused multiply-add (the `relaxed-simd` feature); the others (Safari)
//! the baseline: a WebAssembly module with an instruction the browser lacks does not load at all, so one build
//! cannot serve both. The loader (`loader.js`) picks one with `WebAssembly.validate`. It is a file of its own
//! (`loader-<hash>.js`), not a script in the page: the page runs under a Content Security Policy ([`CSP`]) that
//! allows no inline script.
//!
//! One build works from the root of a host and from any sub-path (`https://example.org/some/path/`): the page names
//! every file relative to itself (trunk's `public_url = "./"`, the loader's `new URL(file, import.meta.url)`, the
//! app's `data/...`), and every route is one segment (`/pooling`), so a deep link's page sits beside the files. For
//! hosts that cannot rewrite a route to `index.html`, `404.html` is the same page: such a host answers a deep link
//! (`/some/path/pooling?k=3`) with it, and the app reads the route and its settings from the address.

use crate::{command, execute, root};
use std::path::Path;

/// The loader, with the builds' file names to fill in.
const LOADER: &str = include_str!("loader.js");

/// The service worker, with the site's version and files to fill in.
const SERVICE_WORKER: &str = include_str!("../../public/sw.js");

/// The Content Security Policy of the site, as a `<meta>` in its page (a static host may send no headers of its
/// own): everything from the site's own origin, nothing from elsewhere. Scripts only from files of the site, no
/// inline script and no `eval`, but `'wasm-unsafe-eval'` to compile the app's WebAssembly; images also from `blob:`,
/// the learner's own files opened in the page (never uploaded). Inline styles stay allowed: the pages position a
/// few boxes with a `style` attribute.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'";

/// Builds the site into dist/: trunk's baseline build, then the relaxed build (into target/relaxed-dist/), whose
/// script and wasm join dist/ under names that say so; then the loader is written beside them, named after its
/// content, dist/index.html gets it in place of trunk's inline script, with the [`CSP`], and dist/404.html is the
/// same page.
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
    let loader_name = format!("loader-{:016x}.js", fnv1a(loader.as_bytes()));
    std::fs::write(dist.join(&loader_name), &loader).map_err(|e| format!("cannot write dist/{loader_name}: {e}"))?;
    let page = with_loader(&html, &loader_name)?;
    for name in ["index.html", "404.html"] {
        std::fs::write(dist.join(name), &page).map_err(|e| format!("cannot write dist/{name}: {e}"))?;
    }
    let worker = service_worker(&dist, &renamed, &baseline)?;
    std::fs::write(dist.join("sw.js"), worker).map_err(|e| format!("cannot write dist/sw.js: {e}"))
}

/// The service worker for the site in `dist`: every file but the builds' (and 404.html, the same page as
/// index.html), each build's script and wasm, and a version that changes with any file's content.
fn service_worker(dist: &Path, relaxed: &Build, baseline: &Build) -> Result<String, String> {
    let builds = [&relaxed.script, &relaxed.wasm, &baseline.script, &baseline.wasm];
    let mut files = Vec::new();
    site_files(dist, "", &mut files)?;
    files.retain(|f| !builds.contains(&f) && f != "sw.js" && f != "404.html");
    files.sort();
    let mut content = Vec::new();
    for file in files.iter().chain(builds) {
        content.extend_from_slice(file.as_bytes());
        content.extend(std::fs::read(dist.join(file)).map_err(|e| format!("cannot read dist/{file}: {e}"))?);
    }
    let list = |names: &[&String]| format!("[{}]", names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", "));
    let every: Vec<&String> = files.iter().collect();
    Ok(SERVICE_WORKER
        .replace("SITE_VERSION", &format!("{:016x}", fnv1a(&content)))
        .replace("SITE_FILES", &list(&every))
        .replace("SITE_BUILDS", &format!("{{ relaxed: {}, baseline: {} }}", list(&[&relaxed.script, &relaxed.wasm]), list(&[&baseline.script, &baseline.wasm]))))
}

/// The files under `dir` (its path `prefix` in the site), as the site addresses them; trunk's staging folder left
/// out.
fn site_files(dir: &Path, prefix: &str, files: &mut Vec<String>) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = format!("{prefix}{name}");
        if entry.path().is_dir() {
            site_files(&entry.path(), &format!("{path}/"), files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// The 64-bit FNV-1a hash of `bytes`: a file name that changes with the content, so that no cache serves an old
/// loader to a new page.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// One build's files, as trunk's page names them (without the leading `./`).
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
        match (between("import init, * as bindings from './", "'"), between("module_or_path: './", "'")) {
            (Some(script), Some(wasm)) => Ok(Build { script, wasm }),
            _ => Err("trunk's index.html no longer imports the app as xtask expects: update xtask/src/dist.rs".into()),
        }
    }
}

/// `html` with trunk's inline module script replaced by the file `loader` and the [`CSP`] first in its head, and
/// trunk's preloads of the baseline's script and wasm dropped (a browser that loads the relaxed build would fetch
/// them for nothing; the loader fetches the wasm while the script loads).
fn with_loader(html: &str, loader: &str) -> Result<String, String> {
    let unexpected = || "trunk's index.html no longer has the head, module script and preloads xtask expects: update xtask/src/dist.rs".to_string();
    let start = html.find("<script type=\"module\">").ok_or_else(unexpected)?;
    let end = start + html[start..].find("</script>").ok_or_else(unexpected)? + "</script>".len();
    let mut page = format!("{}<script type=\"module\" src=\"./{loader}\"></script>{}", &html[..start], &html[end..]);
    let head = page.find("<head>").ok_or_else(unexpected)? + "<head>".len();
    page.insert_str(head, &format!("\n<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"));
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

    /// The shape of trunk 0.21's page with `public_url = "./"` (abridged).
    const TRUNK_PAGE: &str = r#"<head>
<script type="module">
import init, * as bindings from './app-1a.js';
const wasm = await init({ module_or_path: './app-1a_bg.wasm' });
</script>
<link rel="stylesheet" href="./style.css"/>
<link rel="modulepreload" href="./app-1a.js" crossorigin="anonymous"><link rel="preload" href="./app-1a_bg.wasm" as="fetch" type="application/wasm"></head>"#;

    #[test]
    fn the_loader_replaces_trunks_script_and_preloads() {
        let build = Build::named_in(TRUNK_PAGE).unwrap();
        assert_eq!((build.script.as_str(), build.wasm.as_str()), ("app-1a.js", "app-1a_bg.wasm"));
        let page = with_loader(TRUNK_PAGE, "loader-12.js").unwrap();
        assert_eq!(
            page,
            format!("<head>\n<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n<script type=\"module\" src=\"./loader-12.js\"></script>\n<link rel=\"stylesheet\" href=\"./style.css\"/>\n</head>")
        );
        assert!(!page.contains("<script type=\"module\">"), "no inline script is left for the policy to refuse");
    }

    #[test]
    fn a_page_of_another_shape_is_a_clear_error() {
        assert!(Build::named_in("<head></head>").unwrap_err().contains("update xtask"));
        assert!(with_loader("<head></head>", "").unwrap_err().contains("update xtask"));
    }

    #[test]
    fn the_policy_allows_the_sites_own_files_and_wasm_and_nothing_from_elsewhere() {
        let directives: Vec<&str> = CSP.split("; ").collect();
        assert_eq!(directives[0], "default-src 'self'");
        assert!(directives.contains(&"script-src 'self' 'wasm-unsafe-eval'"), "no inline script, no eval");
        assert!(!CSP.contains("http") && !CSP.contains('*') && !CSP.contains("data:"), "no other origin: {CSP}");
        assert!(!CSP.contains('"'), "the policy sits in an attribute");
    }

    #[test]
    fn a_loader_s_name_follows_its_content() {
        assert_ne!(fnv1a(b"/app-1a.js"), fnv1a(b"/app-1b.js"));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c, "FNV-1a's published value");
    }

    #[test]
    fn the_service_worker_keeps_every_file_and_one_build_and_its_version_follows_the_content() {
        let dist = std::env::temp_dir().join(format!("xtask-sw-test-{}", std::process::id()));
        std::fs::create_dir_all(dist.join("data")).unwrap();
        std::fs::create_dir_all(dist.join(".stage")).unwrap();
        for file in ["index.html", "404.html", "sw.js", "data/d.bin", ".stage/x", "app-1.js", "app-1_bg.wasm", "relaxed-app-2.js", "relaxed-app-2_bg.wasm"] {
            std::fs::write(dist.join(file), file).unwrap();
        }
        let relaxed = Build { script: "relaxed-app-2.js".into(), wasm: "relaxed-app-2_bg.wasm".into() };
        let baseline = Build { script: "app-1.js".into(), wasm: "app-1_bg.wasm".into() };
        let worker = service_worker(&dist, &relaxed, &baseline).unwrap();
        assert!(worker.contains("const FILES = ['data/d.bin', 'index.html'];"), "{worker}");
        assert!(worker.contains("const BUILDS = { relaxed: ['relaxed-app-2.js', 'relaxed-app-2_bg.wasm'], baseline: ['app-1.js', 'app-1_bg.wasm'] };"), "{worker}");
        std::fs::write(dist.join("data/d.bin"), "retrained").unwrap();
        let version = |w: &str| w.lines().find(|l| l.starts_with("const VERSION")).unwrap().to_string();
        assert_ne!(version(&worker), version(&service_worker(&dist, &relaxed, &baseline).unwrap()), "a changed file is a new version");
        std::fs::remove_dir_all(dist).unwrap();
    }

    #[test]
    fn the_loader_names_every_file_it_is_given() {
        for placeholder in ["RELAXED_JS", "RELAXED_WASM", "BASELINE_JS", "BASELINE_WASM"] {
            assert_eq!(LOADER.matches(placeholder).count(), 1, "{placeholder}");
        }
    }
}
