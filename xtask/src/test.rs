//! `cargo xtask test`: every suite there is, each counted, ending with one line `N passed, M failed`.
//!
//! 1. native: `cargo test --workspace` (unit tests and gradient checks, shader validation with naga, every op on
//!    the GPU against the CPU on lavapipe);
//! 2. conformance: every ONNX and PyTorch reference case on the CPU and the GPU, counted case × backend;
//! 3. browser: wasm-bindgen-test in headless Chromium with WebGPU (SwiftShader), conformance included;
//! 4. build: the release build of the site (`cargo xtask dist`: both builds of the app and their loader);
//! 5. e2e: that build served on 127.0.0.1 and driven in headless Chromium by playwright-core.

use crate::{command, root, server, setup};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const SUITES: [&str; 5] = ["native", "conformance", "browser", "build", "e2e"];

/// Passed and failed counts, over all suites.
#[derive(Debug, Default, PartialEq)]
struct Tally {
    passed: usize,
    failed: usize,
}

pub fn run(args: &[String]) -> Result<(), String> {
    let only = match args {
        [] => None,
        [flag, suite] if flag == "--only" && SUITES.contains(&suite.as_str()) => Some(suite.as_str()),
        _ => return Err(format!("usage: cargo xtask test [--only {}]", SUITES.join("|"))),
    };
    let wanted = |suite: &str| only.is_none_or(|o| o == suite);
    setup::ensure()?;

    let mut total = Tally::default();
    let mut failed_suites = Vec::new();
    let mut record = |name: &str, tally: Tally| {
        println!("xtask: {name}: {} passed, {} failed", tally.passed, tally.failed);
        if tally.failed > 0 {
            failed_suites.push(name.to_string());
        }
        total.passed += tally.passed;
        total.failed += tally.failed;
    };

    if wanted("native") {
        let mut cmd = command("cargo");
        cmd.args(["test", "--workspace"]).env("REQUIRE_GPU", "1");
        record("native", counted(&mut cmd, cargo_counts));
    }
    if wanted("conformance") {
        let mut cmd = command("cargo");
        cmd.args(["run", "--quiet", "-p", "tests", "--bin", "conformance"]).env("REQUIRE_GPU", "1");
        record("conformance", counted(&mut cmd, summary_counts));
    }
    if wanted("browser") {
        let mut cmd = command("cargo");
        cmd.args(["test", "-p", "tests", "--target", "wasm32-unknown-unknown", "--test", "browser"])
            .env("REQUIRE_GPU", "1")
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env("WASM_BINDGEN_TEST_TIMEOUT", "900")
            .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", root().join("tests/webdriver.json"));
        record("browser", counted(&mut cmd, cargo_counts));
    }
    let mut built = dist_exists();
    if wanted("build") || wanted("e2e") {
        println!("xtask: building the site (the baseline and the relaxed-SIMD build)");
        built = crate::dist::build().map_err(|e| println!("xtask: the site's build failed: {e}")).is_ok();
        record("build", Tally { passed: usize::from(built), failed: usize::from(!built) });
    }
    if wanted("e2e") {
        record("e2e", if built { e2e() } else { Tally { passed: 0, failed: 1 } });
    }

    println!("{} passed, {} failed", total.passed, total.failed);
    if total.failed > 0 { Err(format!("failing suites: {}", failed_suites.join(", "))) } else { Ok(()) }
}

fn dist_exists() -> bool {
    root().join("dist/index.html").is_file()
}

/// The sub-path the end-to-end tests also serve the site under.
const SUBPATH: &str = "/some/path";

/// Serves dist/ and runs the end-to-end script against it.
fn e2e() -> Tally {
    // The same build twice: at the root of a host that rewrites routes, and under a sub-path of a plain static host
    // that cannot (it answers a deep link with the site's 404.html).
    let served = server::spawn(root().join("dist"), 0, server::Host::Rewriting)
        .and_then(|(port, _)| Ok((port, server::spawn(root().join("dist"), 0, server::Host::Plain { prefix: SUBPATH.into() })?.0)));
    let (port, plain_port) = match served {
        Ok(ports) => ports,
        Err(e) => {
            println!("xtask: cannot serve dist/ for the end-to-end tests: {e}");
            return Tally { passed: 0, failed: 1 };
        }
    };
    // The shipped photos' pixels, decoded natively, for the test that the page computes on the files' own.
    let photos = root().join("target/e2e/photo_pixels");
    let mut decode = command("cargo");
    decode.args(["run", "--quiet", "-p", "app", "--example", "photo_pixels", "--"]).arg(&photos);
    if let Err(e) = crate::execute(&mut decode) {
        println!("xtask: cannot decode the shipped photos for the end-to-end tests: {e}");
        return Tally { passed: 0, failed: 1 };
    }
    let mut cmd = command("node");
    cmd.arg("tests/e2e/run.mjs")
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(root().join("target/screenshots"))
        .env("PLAYWRIGHT_CORE", root().join(".tools/node_modules/playwright-core"))
        .env("SUBPATH_BASE", format!("http://127.0.0.1:{plain_port}{SUBPATH}"))
        .env("PHOTO_PIXELS", &photos);
    counted(&mut cmd, summary_counts)
}

/// Runs a suite with its output passed through, counting with `count` over its stdout. A suite that fails
/// without reporting a failure (it did not build, say) counts as one failure.
fn counted(cmd: &mut Command, count: fn(&str) -> Tally) -> Tally {
    let shown = crate::describe(cmd);
    println!("xtask: running {shown}");
    let mut child = match cmd.stdout(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(e) => {
            println!("xtask: could not start {shown}: {e}");
            return Tally { passed: 0, failed: 1 };
        }
    };
    let mut out = String::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            out.push_str(&line);
            out.push('\n');
        }
    }
    let success = child.wait().is_ok_and(|s| s.success());
    let mut tally = count(&out);
    if !success && tally.failed == 0 {
        println!("xtask: {shown} failed before reporting a failing test");
        tally.failed = 1;
    }
    tally
}

/// Sums cargo's and wasm-bindgen-test's `test result: ok. 5 passed; 1 failed; …` lines.
fn cargo_counts(out: &str) -> Tally {
    let mut tally = Tally::default();
    for line in out.lines().filter(|l| l.starts_with("test result:")) {
        tally.passed += number_before(line, " passed");
        tally.failed += number_before(line, " failed");
    }
    tally
}

/// Reads a summary line `5 passed, 1 failed` (the last one).
fn summary_counts(out: &str) -> Tally {
    match out.lines().rev().find(|l| l.contains(" passed, ") && l.ends_with(" failed")) {
        Some(line) => Tally { passed: number_before(line, " passed"), failed: number_before(line, " failed") },
        None => Tally::default(),
    }
}

/// The number right before `word` in `line` (0 if none).
fn number_before(line: &str, word: &str) -> usize {
    line.find(word)
        .and_then(|end| line[..end].rsplit(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_result_lines_are_summed() {
        let out = "running 2 tests\ntest result: ok. 16 passed; 0 failed; 0 ignored\n\
                   test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured\n";
        assert_eq!(cargo_counts(out), Tally { passed: 19, failed: 2 });
    }

    #[test]
    fn summary_lines_are_read() {
        assert_eq!(summary_counts("ok - a\nnot ok - b\ne2e: 1 passed, 1 failed\n"), Tally { passed: 1, failed: 1 });
        assert_eq!(summary_counts("FAIL x [gpu]: y\n297 passed, 1 failed\n"), Tally { passed: 297, failed: 1 });
        assert_eq!(summary_counts("crashed\n"), Tally::default());
    }
}
