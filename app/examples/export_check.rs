//! `cargo xtask export-check --python PY`: what `/train`'s export promises, checked end to end. Two digits CNNs of
//! `/train` (its default architecture, and one whose body is a batch norm; its settings, 3 epochs each) are trained
//! natively; the page's own code exports each
//! (the checkpoint's `model.safetensors` and `train::pytorch_script`'s `model.py`); PY (a Python with torch and
//! numpy) imports each `model.py` as a learner would and classifies the validation images, and its probabilities are
//! compared with the engine's. It passes when every prediction agrees and no probability differs by more than
//! 1e-4.

use app::lessons::train::{Data, Settings, Task, blocks_of, evaluate, pytorch_script};
use engine::Device;
use engine::checkpoint::{self, Info};
use engine::data::augment::{Augmented, Transforms};
use engine::data::digits;
use engine::safetensors::{Entry, File};
use engine::ops::softmax::Softmax;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(python) = args.iter().position(|a| a == "--python").and_then(|i| args.get(i + 1)) else {
        eprintln!("error: name a Python with torch and numpy: `cargo xtask export-check --python PY` (see `cargo xtask panels` for one way to make it)");
        return ExitCode::FAILURE;
    };
    match run(python) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(python: &str) -> Result<(), String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("the app crate is not in the workspace")?.to_path_buf();
    let set = digits::parse(&std::fs::read(root.join("public/data/digits_u8.bin")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let data = Data::digits(&set);
    // The page's default CNN, and one whose body (the layer before the pool) is a batch norm with weights of its own
    // and whose first kernel is 5x5: its `body.weight` must load into PyTorch's module under the same name.
    let variants = [("default", Task::Digits.default_architecture(10).blocks), ("bn-body", blocks_of("conv16k5s1p2-bn-relu-conv32k3s2p1-bn-gap-flat-lin10")?)];
    for (name, blocks) in variants {
        let settings = Settings { task: Task::Digits, blocks, lr: 1e-2, batch: 64, epochs: 3, one_cycle: true, wd: 0.01, augment: false };
        check(python, &root.join("target/export-check").join(name), &data, &settings)?;
    }
    println!("export-check passed: PyTorch rebuilds each exported model and predicts as the engine does");
    Ok(())
}

/// Trains `settings` on `data`, exports the model into `folder` and has PY classify the validation images with it.
fn check(python: &str, folder: &std::path::Path, data: &Data, settings: &Settings) -> Result<(), String> {
    let mut trainer = settings.trainer(&Device::Cpu, data)?;
    let reports = pollster::block_on(trainer.fit(|_, _| {}, |_| {})).map_err(|e| e.to_string())?;
    println!(
        "trained {} natively: validation accuracy {:.4} after {} epochs",
        settings.architecture(10).code(),
        reports.last().map_or(0.0, |r| r.metric),
        reports.len()
    );

    let stats = data.train.channel_stats();
    let valid = Augmented::new(data.valid.clone(), stats.clone(), Transforms::none(), 1).map_err(|e| e.to_string())?;
    let results = pollster::block_on(evaluate(&mut trainer.model, &Device::Cpu, &valid, &data.valid.labels, 10)).map_err(|e| e.to_string())?;
    // The engine's probabilities, image by image, from the same forward pass the page runs.
    let n = data.valid.labels.len();
    let (x, _) = engine::data::Dataset::batch(&valid, &Device::Cpu, &(0..n).collect::<Vec<_>>());
    let scores = trainer.model.forward(&x).map_err(|e| e.to_string())?;
    let probs = Softmax::new(scores.shape(), -1, false).map_err(|e| e.to_string())?.reference_forward(&scores);

    let info = Info { task: "digits".into(), classes: data.classes.clone(), stats, architecture: Some(settings.architecture(10)) };
    std::fs::create_dir_all(folder).map_err(|e| e.to_string())?;
    let bytes = pollster::block_on(checkpoint::save(&mut trainer.model, &info)).map_err(|e| e.to_string())?;
    std::fs::write(folder.join("model.safetensors"), &bytes).map_err(|e| e.to_string())?;
    std::fs::write(folder.join("model.py"), pytorch_script(&info, "model.safetensors")?).map_err(|e| e.to_string())?;
    let check = File {
        entries: vec![
            Entry { name: "images".into(), tensor: data.valid.images.clone(), integer: false },
            Entry { name: "probs".into(), tensor: probs, integer: false },
        ],
        metadata: vec![],
    };
    std::fs::write(folder.join("check.safetensors"), check.to_bytes()).map_err(|e| e.to_string())?;
    std::fs::write(
        folder.join("check.py"),
        "import model\n\
         images, _ = model.load_safetensors(\"check.safetensors\")\n\
         probs = model.classify(images[\"images\"])\n\
         engine = images[\"probs\"]\n\
         agree = int((probs.argmax(1) == engine.argmax(1)).sum())\n\
         print(f\"predictions agree on {agree} of {len(engine)}; largest probability difference {float((probs - engine).abs().max()):.2e}\")\n\
         assert agree == len(engine) and float((probs - engine).abs().max()) <= 1e-4\n",
    )
    .map_err(|e| e.to_string())?;
    println!("exported to {} (model.safetensors, model.py); engine accuracy on the {n} validation images {:.4}", folder.display(), results.accuracy());
    let out = Command::new(python).arg("check.py").current_dir(folder).output().map_err(|e| format!("cannot run {python}: {e}"))?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        return Err(format!("PyTorch disagrees with the engine:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}
