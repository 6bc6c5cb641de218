//! `cargo xtask <command>`: everything a newcomer needs, from a fresh machine to a served site and a test run.
//! Uses only the standard library, so it builds in seconds before anything is installed.

mod dist;
mod server;
mod setup;
mod test;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command>

  setup                 install what is missing (wasm target, trunk, wasm-bindgen, wasm-opt, playwright-core,
                        Chromium and lavapipe); idempotent, also run by serve, dist and test
  serve [--port N]      build the site (release) and serve it on http://127.0.0.1:N/ (default 8080)
  dist                  build the site (release) into dist/, which works from the root of a host or any sub-path
  test [--only SUITE]   run every test (native, conformance, browser, build, e2e) and print
                        `N passed, M failed`; SUITE limits the run to one of them
  conformance [DIR] [--backend cpu|gpu|all]
                        run the ONNX and PyTorch reference cases in DIR (default tests/conformance)
  train --task digits|shapes|rossmann [--backend cpu|gpu] [--epochs N] [--seed S] [--batch B] [--lr X] [--wd X] [--emb-drop X]
        [--augment on|off] [--train-items N] [--arch BLOCKS] [--save FILE]
                        train a lesson's model natively; the last line is a JSON summary
  bench [--json FILE] [--runs N] [--backend cpu|gpu] [--workload NAME] [--pytorch PYTHON]
                        the benchmark workloads of BENCHMARKS.md on the native CPU and GPU; with --pytorch,
                        PyTorch in that Python runs each workload after each CPU run, and the ratios are printed
  panels --python PY    run each lesson's PyTorch panel, for a table of states, in PY (a Python with torch,
                        torchvision and pillow) and compare what it prints with the page's numbers;
                        --only /LESSON runs only that lesson's states
  export-check --python PY
                        train /train's digits CNN natively, export it as the page does (model.safetensors and
                        model.py), load it in PY (a Python with torch and numpy) and compare its predictions on the
                        validation images with the engine's
  bench --browser [--json FILE]
                        the same workloads in headless Chromium (wasm CPU and WebGPU), with the page's size
                        and load time
  soak [--steps N] [--backend gpu|cpu] [--batch B]
                        train the digits CNN natively for N steps (10,000) and check that the GPU's buffers and the
                        process's memory stay flat
  soak --browser [--steps N]
                        the same on /train on WebGPU in headless Chromium (1,000 steps): the page's GPU buffers,
                        JavaScript heap and wasm memory";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::run(),
        Some("serve") => serve(rest),
        Some("dist") if rest.iter().any(|a| a.starts_with("--public-url")) => Err("dist/ needs no --public-url: the same build works at the root of a host and under any sub-path (every file is named relative to the page). Copy dist/ to the sub-path on your host; README.md says how deep links work there.".into()),
        Some("dist") if !rest.is_empty() => Err(format!("`dist` takes no arguments (given: {})\n\n{USAGE}", rest.join(" "))),
        Some("dist") => setup::ensure().and_then(|()| dist()),
        Some("test") => test::run(rest),
        Some("conformance") => execute(command("cargo").args(["run", "--quiet", "-p", "tests", "--bin", "conformance", "--"]).args(rest)),
        Some("soak") if rest.iter().any(|a| a == "--browser") => browser_soak(rest),
        Some("soak") => execute(command("cargo").args(["run", "--quiet", "--release", "-p", "engine", "--bin", "soak", "--"]).args(rest)),
        Some("train") => execute(command("cargo").args(["run", "--quiet", "--release", "-p", "engine", "--bin", "train", "--"]).args(rest)),
        Some("panels") => execute(command("cargo").args(["run", "--quiet", "-p", "app", "--example", "panels", "--"]).args(rest)),
        Some("export-check") => execute(command("cargo").args(["run", "--quiet", "-p", "app", "--example", "export_check", "--"]).args(rest)),
        Some("bench") if rest.iter().any(|a| a == "--browser") => browser_bench(rest),
        Some("bench") => execute(command("cargo").args(["run", "--quiet", "--release", "-p", "engine", "--bin", "bench", "--"]).args(rest)),
        None | Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask/ sits in the repository root").to_path_buf()
}

/// A command run from the repository root, with the project's tools first on PATH and a private
/// XDG_RUNTIME_DIR (Mesa's lavapipe complains without one).
pub fn command(program: &str) -> Command {
    let root = root();
    let mut path = vec![root.join(".tools/node_modules/.bin")];
    // Where `cargo install` puts trunk and wasm-bindgen.
    match std::env::var_os("CARGO_HOME") {
        Some(cargo_home) => path.push(Path::new(&cargo_home).join("bin")),
        None => path.extend(std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo/bin"))),
    }
    path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    let mut cmd = Command::new(program);
    cmd.current_dir(&root).env("PATH", std::env::join_paths(path).unwrap_or_default());
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join(format!("xtask-runtime-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_ok() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            }
            cmd.env("XDG_RUNTIME_DIR", dir);
        }
    }
    cmd
}

/// `program arg arg…`, for messages.
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program()).chain(cmd.get_args()).map(|s| s.to_string_lossy()).collect::<Vec<_>>().join(" ")
}

/// Runs a command to completion, passing its output through; an error names it.
pub fn execute(cmd: &mut Command) -> Result<(), String> {
    let shown = describe(cmd);
    let status = cmd.status().map_err(|e| format!("could not start {shown}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{shown} failed ({status})")) }
}

/// The release build of the site into dist/.
fn dist() -> Result<(), String> {
    dist::build()
}

fn serve(args: &[String]) -> Result<(), String> {
    let port = match args {
        [] => 8080,
        [flag, n] if flag == "--port" => n.parse().map_err(|_| format!("--port needs a number, not `{n}`"))?,
        _ => return Err("usage: cargo xtask serve [--port N]".into()),
    };
    setup::ensure()?;
    dist()?;
    let (port, handle) = server::spawn(root().join("dist"), port, server::Host::Rewriting)
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port} ({e}); pick another with --port N"))?;
    println!("Serving the site at http://127.0.0.1:{port}/ (first lesson: http://127.0.0.1:{port}/kernels). Ctrl-C stops.");
    handle.join().map_err(|_| "the server stopped unexpectedly".to_string())
}

/// `cargo xtask bench --browser [--json FILE]`: builds the site, serves it, and runs its speed test page in
/// headless Chromium (tests/e2e/bench.mjs), which also measures the release build's size and load time.
/// `soak --browser [--steps N]`: the release build, served, and `tests/e2e/soak.mjs` training /train's digits on
/// WebGPU in headless Chromium for N steps (1,000 unless given).
fn browser_soak(args: &[String]) -> Result<(), String> {
    let steps = match args.iter().position(|a| a == "--steps") {
        Some(i) => args.get(i + 1).ok_or("--steps needs a number")?.clone(),
        None => "1000".into(),
    };
    setup::ensure()?;
    dist()?;
    let (port, _) = server::spawn(root().join("dist"), 0, server::Host::Rewriting).map_err(|e| format!("cannot serve dist/: {e}"))?;
    execute(
        command("node")
            .arg("tests/e2e/soak.mjs")
            .arg(format!("http://127.0.0.1:{port}"))
            .arg(steps)
            .env("PLAYWRIGHT_CORE", root().join(".tools/node_modules/playwright-core")),
    )
}

fn browser_bench(args: &[String]) -> Result<(), String> {
    let json = match args.iter().position(|a| a == "--json") {
        Some(i) => Some(args.get(i + 1).ok_or("--json needs a file name")?.clone()),
        None => None,
    };
    setup::ensure()?;
    dist()?;
    let (port, _) = server::spawn(root().join("dist"), 0, server::Host::Rewriting).map_err(|e| format!("cannot serve dist/: {e}"))?;
    let mut cmd = command("node");
    cmd.arg("tests/e2e/bench.mjs")
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(root().join("dist"))
        .env("PLAYWRIGHT_CORE", root().join(".tools/node_modules/playwright-core"));
    if let Some(file) = json {
        cmd.arg(file);
    }
    execute(&mut cmd)
}
