//! `cargo xtask bench [--json FILE]`: the workloads of `../shared/BENCH.md` on the native CPU backend and, when an
//! adapter is found, the GPU backend; medians of timed runs after a warm-up, with min and max, as a table and
//! optionally as JSON. A kernel whose result disagrees with the CPU reference is reported as an error.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    engine::backend::cpu::keep_freed_memory();
    match native::run(std::env::args().skip(1).collect()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use engine::bench::{KernelInputs, Measurement, WORKLOADS, json_string, run_all};
    use engine::{Backend, Cpu, Gpu};

    pub fn run(args: Vec<String>) -> Result<(), String> {
        let (mut json, mut runs, mut only, mut workloads) = (None, 5, None, Vec::new());
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            match (flag.as_str(), it.next()) {
                ("--json", Some(file)) => json = Some(file),
                ("--runs", Some(n)) => runs = n.parse().map_err(|_| format!("--runs needs a number, not {n}"))?,
                ("--backend", Some(b)) if b == "cpu" || b == "gpu" => only = Some(b),
                ("--workload", Some(w)) if WORKLOADS.contains(&w.as_str()) => workloads.push(w),
                _ => return Err(format!("usage: bench [--json FILE] [--runs N] [--backend cpu|gpu] [--workload {}]", WORKLOADS.join("|"))),
            }
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!("checking every kernel against the CPU reference first (plain loops: a few seconds)…");
        let kernels = workloads.is_empty() || workloads.iter().any(|w| w.starts_with("gemm") || w.starts_with("conv"));
        let inputs = KernelInputs::new(kernels);
        let workloads: Vec<&str> = workloads.iter().map(String::as_str).collect();
        let mut results: Vec<Measurement> = Vec::new();
        if only.as_deref() != Some("gpu") {
            results.extend(pollster::block_on(run_all(&Cpu, "cpu", &inputs, runs, false, &workloads)));
        }
        let mut adapter = "null".to_string();
        if only.as_deref() != Some("cpu") {
            match pollster::block_on(Gpu::new()) {
                Ok(gpu) => {
                    let info = gpu.adapter_info();
                    adapter = format!(
                        "{{\"name\":{},\"backend\":\"{:?}\",\"device_type\":\"{:?}\"}}",
                        json_string(&info.name),
                        info.backend,
                        info.device_type
                    );
                    println!("GPU: {}", gpu.label());
                    results.extend(pollster::block_on(run_all(&gpu, "gpu", &inputs, runs, true, &workloads)));
                }
                Err(e) => println!("no GPU ({e}): the GPU backend is not measured"),
            }
        }
        println!("{:<18}{:<9}{:>14}{:>14}{:>14}{:>12}  unit", "workload", "backend", "median", "min", "max", "warm-up ms");
        for m in &results {
            match &m.error {
                Some(e) => println!("{:<18}{:<9}ERROR: {e}", m.workload, m.backend),
                None => println!("{:<18}{:<9}{:>14.1}{:>14.1}{:>14.1}{:>12.1}  {}", m.workload, m.backend, m.median(), m.min(), m.max(), m.first_run_ms, m.unit),
            }
        }
        if let Some(file) = json {
            let body = results.iter().map(Measurement::json).collect::<Vec<_>>().join(",\n   ");
            let text = format!("{{\"machine\": {{\"threads\": {threads}, \"adapter\": {adapter}}},\n \"results\": [\n   {body}\n ]}}\n");
            std::fs::write(&file, text).map_err(|e| format!("cannot write {file}: {e}"))?;
            println!("wrote {file}");
        }
        if results.iter().any(|m| m.error.is_some()) { Err("some workloads failed".into()) } else { Ok(()) }
    }
}
