//! `cargo xtask setup`: installs what a fresh Debian machine lacks, one line of progress per step, nothing redone
//! when present. Versions are pinned here.

use crate::{command, execute, root};
use std::process::Command;

/// trunk: 0.22 needs a newer rustc than this project's.
const TRUNK: &str = "0.21.14";
/// wasm-opt from npm; Debian's binaryen 108 produces a wasm that crashes at run time.
const BINARYEN: &str = "132.0.0";
/// Drives Debian's Chromium in the end-to-end tests (it never downloads a browser).
const PLAYWRIGHT_CORE: &str = "1.64.1";
/// The accessibility checks the end-to-end tests run on every route.
const AXE_CORE: &str = "4.11.0";
/// Chromium and its WebDriver for the browser tests; Mesa's lavapipe for Vulkan (and so wgpu) on the CPU.
const APT_PACKAGES: &[&str] = &["chromium", "chromium-driver", "mesa-vulkan-drivers", "libvulkan1"];

/// Runs every step.
pub fn ensure() -> Result<(), String> {
    step("wasm32 target", has_wasm_target, || execute(command("rustup").args(["target", "add", "wasm32-unknown-unknown"])))?;
    step(&format!("trunk {TRUNK} (about 7 minutes to build)"), || output_of("trunk", &["--version"]).contains(TRUNK), || {
        execute(command("cargo").args(["install", "trunk", "--version", TRUNK, "--locked"]))
    })?;
    let bindgen = wasm_bindgen_version()?;
    let has_bindgen = || {
        output_of("wasm-bindgen", &["--version"]).contains(&bindgen)
            && output_of("wasm-bindgen-test-runner", &["--version"]).contains(&bindgen)
    };
    // No --locked: the registry mirror lacks a version its lock file names (see xtask/TOOLCHAIN.md).
    step(&format!("wasm-bindgen-cli {bindgen} (about 4 minutes to build)"), has_bindgen, || {
        execute(command("cargo").args(["install", "wasm-bindgen-cli", "--version", &bindgen]))
    })?;
    step(&format!("wasm-opt {BINARYEN}, playwright-core {PLAYWRIGHT_CORE} and axe-core {AXE_CORE} from npm into .tools/"), has_npm_tools, || {
        std::fs::create_dir_all(root().join(".tools")).map_err(|e| format!("cannot create .tools/: {e}"))?;
        execute(command("npm").args(["install", "--prefix", ".tools", "--no-audit", "--no-fund", "--no-save"]).args([
            format!("binaryen@{BINARYEN}"),
            format!("playwright-core@{PLAYWRIGHT_CORE}"),
            format!("axe-core@{AXE_CORE}"),
        ]))
    })?;
    step(&format!("system packages: {}", APT_PACKAGES.join(" ")), || missing_packages().is_empty(), install_packages)?;
    Ok(())
}

/// `cargo xtask setup`.
pub fn run() -> Result<(), String> {
    ensure().map(|()| println!("setup: everything is in place"))
}

/// One step: checks, and installs only when the check fails.
fn step(what: &str, present: impl Fn() -> bool, install: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    if present() {
        println!("setup: {what}: present");
        return Ok(());
    }
    println!("setup: {what}: installing…");
    install()?;
    if !present() {
        return Err(format!("{what} still looks missing after installing it"));
    }
    println!("setup: {what}: installed");
    Ok(())
}

/// Stdout and stderr of a command, or "" if it cannot run.
fn output_of(program: &str, args: &[&str]) -> String {
    match command(program).args(args).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        Err(_) => String::new(),
    }
}

fn has_wasm_target() -> bool {
    output_of("rustup", &["target", "list", "--installed"]).lines().any(|l| l.trim() == "wasm32-unknown-unknown")
}

/// The wasm-bindgen version in Cargo.lock: the CLI must match it exactly.
fn wasm_bindgen_version() -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_string());
        }
    }
    Err("Cargo.lock names no wasm-bindgen version".into())
}

fn has_npm_tools() -> bool {
    let tools = root().join(".tools/node_modules");
    let version = |package: &str| std::fs::read_to_string(tools.join(package).join("package.json")).unwrap_or_default();
    version("binaryen").contains(&format!("\"version\": \"{BINARYEN}\""))
        && version("playwright-core").contains(&format!("\"version\": \"{PLAYWRIGHT_CORE}\""))
        && version("axe-core").contains(&format!("\"version\": \"{AXE_CORE}\""))
        && output_of("wasm-opt", &["--version"]).contains("version 132")
}

fn missing_packages() -> Vec<&'static str> {
    APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| !output_of("dpkg-query", &["-W", "-f=${Status}", p]).contains("install ok installed"))
        .collect()
}

fn install_packages() -> Result<(), String> {
    let missing = missing_packages();
    let is_root = output_of("id", &["-u"]).trim() == "0";
    if !is_root {
        return Err(format!(
            "these system packages are missing: {}. Install them with\n\n    sudo apt-get install -y {}\n\nthen run the command again.",
            missing.join(" "),
            missing.join(" ")
        ));
    }
    execute(Command::new("apt-get").args(["update", "-q"]))?;
    execute(Command::new("apt-get").args(["install", "-y", "-q"]).args(&missing).env("DEBIAN_FRONTEND", "noninteractive"))
}
