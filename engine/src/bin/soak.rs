//! `cargo xtask soak [--steps N] [--backend gpu|cpu] [--batch B]`: trains the digits CNN for N steps (10,000 unless
//! given) on one device (the GPU unless given: Vulkan, lavapipe on a machine without one), evaluating after every
//! epoch as the lessons do, and reports every tenth of the run: the step, the GPU's storage buffers created so far
//! and waiting in its pool, the process's resident memory, and the steps per second. A leak shows as a count that
//! keeps growing; the last line is one JSON object with the figures at the first report and at the end, and the run
//! fails if the buffers created or the memory grew after the first tenth (beyond 16 MB for the memory).

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
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
    use engine::data::digits;
    use engine::learner::{FitConfig, Loss, Metric, Trainer};
    use engine::optim::Optimizer;
    use engine::rng::Rng;
    use engine::{Device, models};

    /// The process's resident memory in bytes (Linux), or 0 where it cannot be read.
    fn resident_bytes() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kb = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
        kb.unwrap_or(0) * 1024
    }

    /// One report: `(step, buffers created, buffers pooled, resident bytes, steps per second)`.
    type Report = (usize, usize, usize, u64, f64);

    pub fn run(args: Vec<String>) -> Result<(), String> {
        let (mut steps, mut gpu, mut batch) = (10_000usize, true, 16usize);
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--steps" => steps = value.parse().map_err(|_| "--steps takes a whole number")?,
                "--batch" => batch = value.parse().map_err(|_| "--batch takes a whole number")?,
                "--backend" => gpu = value == "gpu",
                _ => return Err(format!("unknown flag {flag}: soak [--steps N] [--backend gpu|cpu] [--batch B]")),
            }
        }
        let device = if gpu { pollster::block_on(Device::gpu()).map_err(|e| e.to_string())? } else { Device::Cpu };
        let (train, valid) = digits::parse(include_bytes!("../../../public/data/digits_u8.bin")).map_err(|e| e.to_string())?.split(0.2, 1);
        let per_epoch = train.labels.len().div_ceil(batch);
        let config = FitConfig { epochs: steps.div_ceil(per_epoch), batch_size: batch, lr_max: 1e-3, seed: 1, read_every: 10, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
        let model = models::digits_cnn(&device, &mut Rng::new(1));
        let mut trainer = Trainer::new(&device, model, Optimizer::adamw(0.01), train, valid, config).without_one_cycle();
        let counts = || match &device {
            Device::Gpu(g) => (g.created_buffers(), g.pooled_buffers()),
            Device::Cpu => (0, 0),
        };
        println!("soak: {steps} steps of the digits CNN in batches of {batch} on {}", device.label());
        let mut reports: Vec<Report> = Vec::new();
        let (mut last_step, mut last_ms) = (0, engine::clock::now_ms());
        let mut accuracy = 0.0;
        while trainer.steps_done() < steps {
            let report = pollster::block_on(trainer.step()).map_err(|e| e.to_string())?;
            if report.epoch_done {
                accuracy = pollster::block_on(trainer.end_epoch()).map_err(|e| e.to_string())?.metric;
            }
            let done = trainer.steps_done();
            if done % (steps / 10).max(1) == 0 || done == steps {
                let now = engine::clock::now_ms();
                let (created, pooled) = counts();
                let rate = (done - last_step) as f64 / ((now - last_ms) / 1000.0).max(1e-9);
                println!("step {done:>6}: buffers created {created:>4}, pooled {pooled:>4}, resident {:>6.1} MB, {rate:>7.1} steps/s, accuracy {accuracy:.4}", resident_bytes() as f64 / 1_048_576.0);
                reports.push((done, created, pooled, resident_bytes(), rate));
                (last_step, last_ms) = (done, now);
            }
        }
        let (first, last) = (reports.first().ok_or("no step ran")?, reports.last().ok_or("no step ran")?);
        println!(
            "{{\"soak\": \"native\", \"device\": {:?}, \"steps\": {steps}, \"batch\": {batch}, \"buffers_created\": [{}, {}], \"resident_mb\": [{:.1}, {:.1}], \"steps_per_s_median\": {:.1}, \"accuracy\": {accuracy:.4}}}",
            device.label(),
            first.1,
            last.1,
            first.3 as f64 / 1_048_576.0,
            last.3 as f64 / 1_048_576.0,
            median(reports.iter().map(|r| r.4).collect()),
        );
        if last.1 > first.1 {
            return Err(format!("the GPU created {} more buffers after step {}: its pool leaks", last.1 - first.1, first.0));
        }
        if last.3 > first.3 + 16 * 1_048_576 {
            return Err(format!("resident memory grew by {:.1} MB after step {}", (last.3 - first.3) as f64 / 1_048_576.0, first.0));
        }
        Ok(())
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    }
}
