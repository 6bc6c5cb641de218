//! `cargo xtask bench [--json FILE]`: the workloads of `BENCHMARKS.md` on the native CPU device and, when an
//! adapter is found, the GPU backend; medians of timed runs after a warm-up, with min and max, as a table and
//! optionally as JSON. A kernel whose result disagrees with the CPU reference is reported as an error.
//!
//! With `--pytorch PYTHON`, PyTorch (in that Python) runs the same workloads on the same number of threads, one run
//! after each of the CPU device's (`pytorch_peer.py`), and the table ends with the ratio of the two medians: on a
//! shared machine whose speed swings from one second to the next, only figures measured in the same spells compare.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    engine::device::cpu::keep_freed_memory();
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
    use engine::Device;
    use engine::device::gpu::Gpu;
    use std::cell::RefCell;
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
    use std::rc::Rc;

    /// A peer library's side of the bench: a process that, for each workload named on its input, prints the rate
    /// of one timed run (`pytorch_peer.py` speaks this way).
    pub(crate) struct Peer {
        /// What it is (`PyTorch 2.15.0`).
        pub name: String,
        child: Child,
        input: ChildStdin,
        output: BufReader<ChildStdout>,
        /// The rates (or the first error) of each workload asked for so far.
        pub results: Vec<Measurement>,
    }

    impl Peer {
        /// Starts `program args`, which must first print `ready <version> <threads>`.
        pub fn start(label: &str, program: &str, args: &[&str]) -> Result<Peer, String> {
            let mut child = Command::new(program)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot run {program}: {e}"))?;
            let (input, output) = (child.stdin.take().expect("piped"), BufReader::new(child.stdout.take().expect("piped")));
            let mut peer = Peer { name: label.to_string(), child, input, output, results: Vec::new() };
            let first = peer.line()?;
            match first.strip_prefix("ready ") {
                Some(rest) => {
                    let version = rest.split_whitespace().next().unwrap_or("?");
                    peer.name = format!("{label} {version}");
                    Ok(peer)
                }
                None => Err(first.strip_prefix("error: ").unwrap_or(&first).to_string()),
            }
        }

        fn line(&mut self) -> Result<String, String> {
            let mut line = String::new();
            match self.output.read_line(&mut line) {
                Ok(0) => Err(format!("{} stopped answering", self.name)),
                Ok(_) => Ok(line.trim().to_string()),
                Err(e) => Err(format!("cannot read from {}: {e}", self.name)),
            }
        }

        /// One timed run of `workload`, added to its results (after an error, that workload is not asked again).
        pub fn run(&mut self, workload: &'static str, unit: &'static str) {
            let index = match self.results.iter().position(|m| m.workload == workload) {
                Some(i) => i,
                None => {
                    self.results.push(Measurement { workload, backend: "pytorch".into(), unit, rates: Vec::new(), first_run_ms: 0.0, error: None });
                    self.results.len() - 1
                }
            };
            if self.results[index].error.is_some() {
                return;
            }
            // Each library's idle threads spin for a while after a run before they sleep (OpenMP's for up to
            // milliseconds): a run that started at once would share its cores with them. Let both settle.
            std::thread::sleep(SETTLE);
            let answer = writeln!(self.input, "{workload}").map_err(|e| format!("cannot write to {}: {e}", self.name)).and_then(|()| self.line());
            let result = &mut self.results[index];
            match answer.map(|line| line.parse::<f64>().map_err(|_| line.strip_prefix("error: ").unwrap_or(&line).to_string())) {
                Ok(Ok(rate)) => result.rates.push(rate),
                Ok(Err(e)) | Err(e) => result.error = Some(e),
            }
            std::thread::sleep(SETTLE);
        }

        /// Its measurement of `workload`, if it was asked for.
        pub fn result(&self, workload: &str) -> Option<&Measurement> {
            self.results.iter().find(|m| m.workload == workload)
        }
    }

    impl Drop for Peer {
        fn drop(&mut self) {
            // No peer process outlives the bench.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// The pause before and after a peer's run, long enough for idle threads to stop spinning.
    const SETTLE: std::time::Duration = std::time::Duration::from_millis(20);

    /// How to give the bench a Python with PyTorch, for the error that says it has none.
    const INSTALL_PYTORCH: &str = "install PyTorch in a virtual environment (python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch==2.15.0, about 3 GB) and pass --pytorch /tmp/torch/bin/python";

    pub fn run(args: Vec<String>) -> Result<(), String> {
        let (mut json, mut runs, mut only, mut workloads, mut python) = (None, 5, None, Vec::new(), None);
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            match (flag.as_str(), it.next()) {
                ("--json", Some(file)) => json = Some(file),
                ("--runs", Some(n)) => runs = n.parse().map_err(|_| format!("--runs needs a number, not {n}"))?,
                ("--backend", Some(b)) if b == "cpu" || b == "gpu" => only = Some(b),
                ("--workload", Some(w)) if WORKLOADS.contains(&w.as_str()) => workloads.push(w),
                ("--pytorch", Some(p)) => python = Some(p),
                _ => return Err(format!("usage: bench [--json FILE] [--runs N] [--backend cpu|gpu] [--workload {}] [--pytorch PYTHON]", WORKLOADS.join("|"))),
            }
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let peer = match &python {
            Some(_) if only.as_deref() == Some("gpu") => return Err("--pytorch compares PyTorch with the CPU device: leave out --backend gpu".into()),
            Some(python) => {
                let script = include_str!("pytorch_peer.py");
                let peer = Peer::start("PyTorch", python, &["-c", script, &threads.to_string()]).map_err(|e| format!("--pytorch {python}: {e}; {INSTALL_PYTORCH}"))?;
                println!("{} runs each workload after each run of the CPU device, on {threads} threads", peer.name);
                Some(Rc::new(RefCell::new(peer)))
            }
            None => None,
        };
        println!("checking every kernel against the CPU reference first (plain loops: a few seconds)…");
        let kernels = workloads.is_empty() || workloads.iter().any(|w| w.starts_with("gemm") || w.starts_with("conv"));
        let inputs = KernelInputs::new(kernels);
        let workloads: Vec<&str> = workloads.iter().map(String::as_str).collect();
        let mut results: Vec<Measurement> = Vec::new();
        if only.as_deref() != Some("gpu") {
            if let Some(peer) = &peer {
                let peer = Rc::clone(peer);
                engine::bench::interleave(move |workload, unit| peer.borrow_mut().run(workload, unit));
            }
            results.extend(pollster::block_on(run_all(&Device::Cpu, "cpu", &inputs, runs, false, &workloads)));
            engine::bench::stop_interleaving();
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
                    results.extend(pollster::block_on(run_all(&Device::Gpu(gpu), "gpu", &inputs, runs, true, &workloads)));
                }
                Err(e) => println!("no GPU ({e}): the GPU backend is not measured"),
            }
        }
        println!("{:<18}{:<9}{:>14}{:>14}{:>14}{:>12}  unit", "workload", "backend", "median", "min", "max", "warm-up ms");
        let row = |m: &Measurement| match &m.error {
            Some(e) => println!("{:<18}{:<9}ERROR: {e}", m.workload, m.backend),
            None => println!("{:<18}{:<9}{:>14.1}{:>14.1}{:>14.1}{:>12.1}  {}", m.workload, m.backend, m.median(), m.min(), m.max(), m.first_run_ms, m.unit),
        };
        let peer = peer.map(|p| Rc::try_unwrap(p).ok().expect("the bench holds the only handle now").into_inner());
        // The peer's figure beside each of the CPU device's, with the ratio of the medians.
        let against = |m: &Measurement| peer.as_ref().filter(|_| m.backend == "cpu").and_then(|p| p.result(m.workload).map(|r| (p, r)));
        let ratio = |ours: &Measurement, theirs: &Measurement| (ours.error.is_none() && theirs.error.is_none() && theirs.median() > 0.0).then(|| ours.median() / theirs.median());
        for m in &results {
            row(m);
            if let Some((_, theirs)) = against(m) {
                row(theirs);
            }
        }
        if let Some(peer) = &peer {
            println!("\nthe CPU device against {} on {threads} threads, measured run for run (ratio of medians):", peer.name);
            for m in &results {
                if let Some(r) = against(m).and_then(|(_, theirs)| ratio(m, theirs)) {
                    println!("  {:<18}{r:>6.2}x", m.workload);
                }
            }
        }
        if let Some(file) = json {
            let entry = |m: &Measurement| match against(m) {
                Some((p, theirs)) => {
                    let vs = ratio(m, theirs).map_or(String::new(), |r| format!(",\"vs_pytorch\":{r:.3}"));
                    m.json_with(&format!(",\"pytorch\":{},\"peer\":{}{vs}", theirs.json(), json_string(&p.name)))
                }
                None => m.json(),
            };
            let body = results.iter().map(entry).collect::<Vec<_>>().join(",\n   ");
            let text = format!("{{\"machine\": {{\"threads\": {threads}, \"adapter\": {adapter}}},\n \"results\": [\n   {body}\n ]}}\n");
            std::fs::write(&file, text).map_err(|e| format!("cannot write {file}: {e}"))?;
            println!("wrote {file}");
        }
        if results.iter().any(|m| m.error.is_some()) {
            return Err("some workloads failed".into());
        }
        match peer.iter().flat_map(|p| &p.results).find_map(|m| m.error.as_ref().map(|e| (m.workload, e))) {
            Some((workload, e)) => Err(format!("PyTorch could not run {workload}: {e}")),
            None => Ok(()),
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::native::Peer;

    /// A stand-in peer (a shell loop) that answers like `pytorch_peer.py`: `rates` for `gemm_512`, an error for
    /// anything else.
    fn fake(first: &str) -> Result<Peer, String> {
        let script = format!("echo '{first}'; n=0; while read w; do n=$((n+1)); if [ \"$w\" = gemm_512 ]; then echo \"$n.5\"; else echo 'error: no such kernel'; fi; done");
        Peer::start("Fake", "sh", &["-c", &script])
    }

    #[test]
    fn a_peer_answers_one_run_at_a_time_and_its_errors_are_kept() {
        let mut peer = fake("ready 1.2.3 2").expect("the fake peer starts");
        assert_eq!(peer.name, "Fake 1.2.3");
        for _ in 0..3 {
            peer.run("gemm_512", "GFLOP/s");
        }
        let gemm = peer.result("gemm_512").expect("asked for");
        assert_eq!((gemm.rates.clone(), gemm.error.clone()), (vec![1.5, 2.5, 3.5], None), "one rate per run, in order");
        assert_eq!(gemm.median(), 2.5);
        peer.run("conv_fwd", "GFLOP/s");
        peer.run("conv_fwd", "GFLOP/s");
        let conv = peer.result("conv_fwd").expect("asked for");
        assert_eq!(conv.error.as_deref(), Some("no such kernel"), "the peer's words, without the prefix");
        assert!(conv.rates.is_empty());
        // After an error the workload is not asked again: the next gemm run is the fourth line the peer reads.
        peer.run("gemm_512", "GFLOP/s");
        assert_eq!(peer.result("gemm_512").map(|m| m.rates.last().copied()), Some(Some(5.5)));
        assert!(peer.result("tabular_train").is_none());
    }

    #[test]
    fn a_peer_that_cannot_start_says_why() {
        let error = fake("error: this Python cannot import torch").err().expect("refused");
        assert_eq!(error, "this Python cannot import torch");
        let error = Peer::start("Fake", "/nonexistent/python", &[]).err().expect("refused");
        assert!(error.contains("cannot run /nonexistent/python"), "{error}");
        let error = Peer::start("Fake", "sh", &["-c", "exit 0"]).err().expect("refused");
        assert!(error.contains("stopped answering"), "{error}");
    }
}
