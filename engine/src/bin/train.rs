//! `cargo xtask train --task digits|shapes|rossmann [--backend cpu|gpu] [--epochs N] [--seed S] [--batch B]
//! [--lr X] [--wd X] [--emb-drop X] [--augment on|off] [--train-items N] [--arch BLOCKS] [--save FILE]`: trains one of
//! the lesson's models (or, with `--arch`, a digits or shapes CNN written as `/train` writes its blocks) natively,
//! printing a line per epoch (train loss, validation loss, metric, items/s) with a progress bar while it runs, and
//! as its last line one JSON object: `{"task", "backend", "epochs", "valid_loss", "metric", "value", "items_per_s"}`.
//! `--save` writes a digits or shapes model as a checkpoint (`engine::checkpoint`: safetensors with its classes and
//! channel statistics, and its architecture when `--arch` gave one).

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
    use engine::data::rossmann::{self, RossmannTable};
    use engine::data::augment::{Augmented, Transforms};
    use engine::data::{Dataset, ImageSet, digits, shapes};
    use engine::learner::{EpochReport, FitConfig, Loss, Metric, Trainer};
    use engine::architecture::Architecture;
    use engine::checkpoint::{self, Info};
    use engine::nn::{Model, Sequential, TabularConfig, TabularModel};
    use engine::optim::Optimizer;
    use engine::rng::Rng;
    use engine::{Device, models};
    use std::io::Write;

    const USAGE: &str =
        "usage: train --task digits|shapes|rossmann [--backend cpu|gpu] [--epochs N] [--seed S] [--batch B] [--lr X] [--wd X] [--emb-drop X] [--augment on|off] [--train-items N] [--arch BLOCKS] [--save FILE]\n\
         (--wd: AdamW's weight decay, 0.01 unless given, 0.2 for rossmann; --emb-drop: the Rossmann model's embedding dropout, 0.04 unless given;\n\
         --augment: digits and shapes, fastai's get_transforms() on every training batch, without the flip for digits; --train-items: train on the first N;\n\
         --arch: digits and shapes, the CNN's blocks as /train writes them (conv16k3s1p1-bn-relu-...-gap-flat-lin4) instead of the lesson's model;\n\
         --save: digits and shapes, the trained model as a checkpoint)";

    struct Args {
        task: String,
        backend: String,
        epochs: Option<usize>,
        seed: u64,
        batch: Option<usize>,
        lr: Option<f32>,
        wd: Option<f32>,
        emb_drop: Option<f32>,
        augment: bool,
        train_items: Option<usize>,
        arch: Option<String>,
        save: Option<String>,
    }

    fn parse(args: Vec<String>) -> Result<Args, String> {
        let mut parsed = Args { task: String::new(), backend: "cpu".into(), epochs: None, seed: 42, batch: None, lr: None, wd: None, emb_drop: None, augment: false, train_items: None, arch: None, save: None };
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
            let bad = |what: &str| format!("{flag} needs {what}, not `{value}`\n{USAGE}");
            match flag.as_str() {
                "--task" => parsed.task = value,
                "--backend" => parsed.backend = value,
                "--epochs" => parsed.epochs = Some(value.parse().map_err(|_| bad("a whole number"))?),
                "--seed" => parsed.seed = value.parse().map_err(|_| bad("a whole number"))?,
                "--batch" => parsed.batch = Some(value.parse().map_err(|_| bad("a whole number"))?),
                "--lr" => parsed.lr = Some(value.parse().map_err(|_| bad("a number"))?),
                "--wd" => parsed.wd = Some(value.parse().ok().filter(|w: &f32| w.is_finite() && *w >= 0.0).ok_or_else(|| bad("a number ≥ 0"))?),
                "--augment" => {
                    parsed.augment = match value.as_str() {
                        "on" => true,
                        "off" => false,
                        _ => return Err(bad("on or off")),
                    }
                }
                "--train-items" => parsed.train_items = Some(value.parse().ok().filter(|&n: &usize| n > 0).ok_or_else(|| bad("a whole number ≥ 1"))?),
                "--save" => parsed.save = Some(value),
                "--arch" => parsed.arch = Some(value),
                "--emb-drop" => parsed.emb_drop = Some(value.parse().ok().filter(|p: &f32| (0.0..1.0).contains(p)).ok_or_else(|| bad("a probability in [0, 1)"))?),
                _ => return Err(format!("unknown option {flag}\n{USAGE}")),
            }
        }
        if !["digits", "shapes", "rossmann"].contains(&parsed.task.as_str()) {
            return Err(format!("--task must be digits, shapes or rossmann\n{USAGE}"));
        }
        if !["cpu", "gpu"].contains(&parsed.backend.as_str()) {
            return Err(format!("--backend must be cpu or gpu\n{USAGE}"));
        }
        if (parsed.save.is_some() || parsed.arch.is_some()) && parsed.task == "rossmann" {
            return Err(format!("--save and --arch are for digits and shapes models\n{USAGE}"));
        }
        if parsed.batch == Some(0) || parsed.epochs == Some(0) {
            return Err(format!("--batch and --epochs must be at least 1\n{USAGE}"));
        }
        Ok(parsed)
    }

    pub fn run(args: Vec<String>) -> Result<(), String> {
        let args = parse(args)?;
        let device = match args.backend.as_str() {
            "gpu" => pollster::block_on(Device::gpu()).map_err(|e| e.to_string())?,
            _ => Device::Cpu,
        };
        train(&device, &args)
    }

    fn train(device: &Device, args: &Args) -> Result<(), String> {
        println!("training {} on {}", args.task, device.label());
        let mut rng = Rng::new(args.seed);
        let (reports, metric) = match args.task.as_str() {
            "digits" => {
                let set = digits::parse(include_bytes!("../../../public/data/digits_u8.bin")).map_err(|e| e.to_string())?;
                let (model, arch) = cnn(args, [1, 8, 8], 10, models::digits_cnn, device, &mut rng)?;
                let config = config(args, 10, 64, 1e-2, Loss::CrossEntropy, Metric::Accuracy);
                let classes = (0..10).map(|d| d.to_string()).collect();
                // A flipped digit is another digit (or none): its augmentations leave the flip out.
                (fit_images(device, model, &set, args, config, Transforms { do_flip: false, ..Transforms::default() }, classes, arch)?, Metric::Accuracy)
            }
            "shapes" => {
                let (set, _) = shapes::generate(3000, args.seed);
                let (model, arch) = cnn(args, [3, shapes::SIZE, shapes::SIZE], shapes::CLASSES.len(), models::shapes_cnn, device, &mut rng)?;
                let config = config(args, 8, 64, 1e-2, Loss::CrossEntropy, Metric::Accuracy);
                let classes = shapes::CLASSES.iter().map(|c| c.to_string()).collect();
                (fit_images(device, model, &set, args, config, Transforms::default(), classes, arch)?, Metric::Accuracy)
            }
            _ => {
                let table = RossmannTable::generate(250, 407, args.seed);
                let (train, valid, y_range) = table.tabular_sets();
                println!(
                    "{} training rows, {} validation rows; noise floor RMSPE {:.4} (oracle on these rows {:.4})",
                    train.rows(),
                    valid.rows(),
                    rossmann::noise_floor(),
                    table.oracle_rmspe(&table.valid_rows)
                );
                let lesson = TabularConfig::rossmann(train.cardinalities(), train.cont_names.len(), y_range);
                let shape = TabularConfig { emb_drop: args.emb_drop.unwrap_or(lesson.emb_drop), ..lesson };
                let model = TabularModel::new(device, shape, &mut rng).map_err(|e| e.to_string())?;
                // The lesson's `fit_one_cycle(5, 1e-3, wd=0.2)`, in fastai 1's default batches of 64.
                let config = config(args, 5, 64, 1e-3, Loss::Mse, Metric::Rmspe);
                (fit(device, model, train, valid, config, args.wd.unwrap_or(0.2))?.0, Metric::Rmspe)
            }
        };
        let last = reports.last().ok_or("no epoch ran")?;
        println!(
            "{{\"task\":\"{}\",\"backend\":\"{}\",\"epochs\":{},\"valid_loss\":{},\"metric\":\"{}\",\"value\":{},\"items_per_s\":{:.1}}}",
            args.task,
            args.backend,
            reports.len(),
            last.valid_loss,
            metric.name(),
            last.metric,
            reports.iter().map(|r| r.items_per_s).sum::<f64>() / reports.len() as f64
        );
        Ok(())
    }

    fn config(args: &Args, epochs: usize, batch: usize, lr: f32, loss: Loss, metric: Metric) -> FitConfig {
        FitConfig {
            epochs: args.epochs.unwrap_or(epochs),
            batch_size: args.batch.unwrap_or(batch),
            lr_max: args.lr.unwrap_or(lr),
            seed: args.seed,
            read_every: 10,
            loss,
            metric,
        }
    }

    /// The task's CNN: the blocks `--arch` wrote for `input` and `classes` (kept for the checkpoint), or the lesson's
    /// model.
    fn cnn(args: &Args, input: [usize; 3], classes: usize, lesson: fn(&Device, &mut Rng) -> Sequential, device: &Device, rng: &mut Rng) -> Result<(Sequential, Option<Architecture>), String> {
        match &args.arch {
            Some(code) => {
                let arch = Architecture::parse(input, classes, code).map_err(|e| format!("--arch: {e}"))?;
                Ok((arch.build(device, rng)?, Some(arch)))
            }
            None => Ok((lesson(device, rng), None)),
        }
    }

    /// Fits `model` on `set` split as the lessons split it (a fifth held out, seeded), on the first `--train-items`
    /// training images if given, augmented with `transforms` each time a batch is drawn if `--augment on`; saved as
    /// a checkpoint of `classes` (and `architecture`) if `--save` says where.
    #[allow(clippy::too_many_arguments)]
    fn fit_images(device: &Device, model: Sequential, set: &ImageSet, args: &Args, config: FitConfig, transforms: Transforms, classes: Vec<String>, architecture: Option<Architecture>) -> Result<Vec<EpochReport>, String> {
        let (train, valid) = set.split_raw(0.2, args.seed);
        let train = match args.train_items {
            Some(n) => train.subset(&(0..n.min(train.labels.len())).collect::<Vec<_>>()),
            None => train,
        };
        let stats = train.channel_stats();
        let wd = args.wd.unwrap_or(0.01);
        let (reports, mut model) = if args.augment {
            // The validation images go through the same path with nothing drawn: normalised only.
            let train = Augmented::new(train, stats.clone(), transforms, args.seed).map_err(|e| e.to_string())?;
            let valid = Augmented::new(valid, stats.clone(), Transforms::none(), args.seed).map_err(|e| e.to_string())?;
            fit(device, model, train, valid, config, wd)?
        } else {
            fit(device, model, train.normalized(&stats), valid.normalized(&stats), config, wd)?
        };
        if let Some(path) = &args.save {
            let info = Info { task: args.task.clone(), classes, stats, architecture };
            let bytes = pollster::block_on(checkpoint::save(&mut model, &info)).map_err(|e| e.to_string())?;
            std::fs::write(path, &bytes).map_err(|e| format!("cannot write {path}: {e}"))?;
            println!("saved the model to {path} ({} bytes)", bytes.len());
        }
        Ok(reports)
    }

    /// Trains `model`, returning every epoch's report and the trained model.
    fn fit<M: Model, D: Dataset<Input = M::Input>>(device: &Device, model: M, train: D, valid: D, config: FitConfig, wd: f32) -> Result<(Vec<EpochReport>, M), String> {
        println!("{:>5}  {:>10}  {:>10}  {:>10}  {:>10}", "epoch", "train_loss", "valid_loss", config.metric.name(), "items/s");
        let progress = |step: usize, total: usize| {
            let width = 30;
            let done = width * step / total.max(1);
            eprint!("\r[{}{}] {step}/{total} steps", "#".repeat(done), ".".repeat(width - done));
            let _ = std::io::stderr().flush();
        };
        let on_epoch = |r: &EpochReport| {
            eprint!("\r{}\r", " ".repeat(60));
            println!("{:>5}  {:>10.4}  {:>10.4}  {:>10.4}  {:>10.0}", r.epoch, r.train_loss, r.valid_loss, r.metric, r.items_per_s);
        };
        let mut trainer = Trainer::new(device, model, Optimizer::adamw(wd), train, valid, config);
        let reports = pollster::block_on(trainer.fit(progress, on_epoch)).map_err(|e| e.to_string())?;
        Ok((reports, trainer.model))
    }
}
