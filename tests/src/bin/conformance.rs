//! `cargo xtask conformance [DIR] [--backend cpu|gpu|all]`: runs every conformance case in DIR (default
//! `tests/conformance`, or `$CONFORMANCE_DIR`) on each device, prints each failure with its case, backend, tensor, worst index and
//! error, and ends with `N passed, M failed` counting case × backend. Exits non-zero when anything failed.

// The runner reads case files: it is native only. In the browser the cases run from tests/tests/browser.rs.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    runner::main()
}

#[cfg(not(target_arch = "wasm32"))]
mod runner {
    use engine::Device;
    use std::process::ExitCode;
    use tests::conformance::{Case, default_dir, read_dir, run_case};

    const USAGE: &str = "usage: conformance [DIR] [--backend cpu|gpu|all]";

    pub fn main() -> ExitCode {
        let mut dir = None;
        let mut backend = "all".to_string();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--backend" => match args.next() {
                    Some(b) if ["cpu", "gpu", "all"].contains(&b.as_str()) => backend = b,
                    _ => return usage(),
                },
                "-h" | "--help" => return usage(),
                _ if dir.is_none() && !arg.starts_with('-') => dir = Some(std::path::PathBuf::from(arg)),
                _ => return usage(),
            }
        }
        let dir = dir.unwrap_or_else(default_dir);
        let files = match read_dir(&dir) {
            Ok(files) if !files.is_empty() => files,
            Ok(_) => {
                eprintln!("error: no .json cases in {}", dir.display());
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let gpu = if backend == "cpu" {
            None
        } else {
            match pollster::block_on(Device::gpu()) {
                Ok(gpu) => {
                    println!("GPU: {}", gpu.label());
                    Some(gpu)
                }
                Err(e) if backend == "gpu" || std::env::var_os("REQUIRE_GPU").is_some() => {
                    eprintln!("error: the GPU backend was asked for but {e}");
                    return ExitCode::FAILURE;
                }
                Err(e) => {
                    println!("no GPU, running the CPU device only: {e}");
                    None
                }
            }
        };
        let (mut passed, mut failed) = (0, 0);
        let mut tally = |name: &str, backend: &str, result: Result<(), String>| match result {
            Ok(()) => passed += 1,
            Err(e) => {
                failed += 1;
                println!("FAIL {name} [{backend}]: {e}");
            }
        };
        for (path, text) in &files {
            let case = match Case::parse(text) {
                Ok(case) => case,
                Err(e) => {
                    tally(path, "-", Err(e));
                    continue;
                }
            };
            if backend != "gpu" {
                tally(&case.name, "cpu", run(&Device::Cpu, &case));
            }
            if let Some(gpu) = &gpu {
                tally(&case.name, "gpu", run(gpu, &case));
            }
        }
        println!("{passed} passed, {failed} failed");
        if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    }

    fn run(device: &Device, case: &Case) -> Result<(), String> {
        pollster::block_on(run_case(device, case)).map_err(|f| f.to_string())
    }

    fn usage() -> ExitCode {
        eprintln!("{USAGE}");
        ExitCode::from(2)
    }
}
