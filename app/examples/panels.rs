//! `cargo xtask panels --python PY`: every lesson's "PyTorch" panel, for a table of states, run in PY and compared
//! with the page's numbers.
//!
//! The states come from each lesson's own `cases` (reached through `LESSONS`); for each, the panel's code comes
//! from the function the page calls, the page's numbers from the lesson's own state computation (the op's
//! reference loops, on the sample files decoded here), and PY runs the code in a folder holding the files the page
//! ships, as a learner would after downloading them. A panel passes when it runs and prints the page's shape,
//! window sum, output and checksum to within `panel::TOLERANCE` (relative).

use app::lessons::LESSONS;
use app::panel::{Assets, Case, PanelNumbers, TOLERANCE};
use app::widgets::{PHOTOS, PhotoSource};
use engine::data::{ImageSet, digits};
use engine::Tensor;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Mutex;

#[path = "common/png_photo.rs"]
mod png_photo;

/// The files in `public/`, decoded natively.
struct Shipped {
    root: PathBuf,
}

impl Assets for Shipped {
    fn photo(&self, file: &str) -> Result<Tensor, String> {
        let (w, h, rgb) = png_photo::decode(&self.root.join("public/images").join(file))?;
        let plane = w * h;
        Tensor::new([1, 3, h, w], (0..3 * plane).map(|i| rgb[(i % plane) * 3 + i / plane] as f32 / 255.0).collect()).map_err(|e| e.to_string())
    }

    fn digits(&self) -> Result<ImageSet, String> {
        let bytes = std::fs::read(self.root.join("public/data/digits_u8.bin")).map_err(|e| format!("cannot read the digits: {e}"))?;
        digits::parse(&bytes).map_err(|e| e.to_string())
    }
}

const HOW_TO_GET_PYTHON: &str = "make one outside the repository: `python3 -m venv /tmp/torch && /tmp/torch/bin/pip install \
     torch torchvision pillow numpy` (about 3 GB from PyPI), then run `cargo xtask panels --python /tmp/torch/bin/python`";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(python) = args.iter().position(|a| a == "--python").and_then(|i| args.get(i + 1)) else {
        eprintln!("error: name a Python with PyTorch: `cargo xtask panels --python PY`; to get one, {HOW_TO_GET_PYTHON}");
        return ExitCode::FAILURE;
    };
    // `--only /tabular`: the states of the lessons whose URL starts so.
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).cloned().unwrap_or_default();
    match run(python, &only) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(python: &str, only: &str) -> Result<bool, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("app/ sits in the repository").to_path_buf();
    let check = Command::new(python).args(["-c", "import torch, torchvision, PIL; print(torch.__version__)"]).output();
    let version = match check {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Ok(out) => return Err(format!("{python} cannot import torch, torchvision and PIL ({}); {HOW_TO_GET_PYTHON}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or(""))),
        Err(e) => return Err(format!("cannot run {python} ({e}); {HOW_TO_GET_PYTHON}")),
    };
    let folder = root.join("target/panels");
    ship(&root, &folder)?;
    let assets = Shipped { root: root.clone() };
    let mut cases: Vec<Case> = Vec::new();
    for lesson in LESSONS.iter().filter(|l| format!("/{}", l.path).starts_with(only) || only.starts_with(&format!("/{}", l.path))) {
        cases.extend((lesson.cases)(&assets).map_err(|e| format!("/{}: {e}", lesson.path))?);
    }
    let mut lessons: Vec<(&str, usize)> = Vec::new();
    for case in &cases {
        let lesson = case.url.split('?').next().unwrap_or_default();
        match lessons.iter_mut().find(|(l, _)| *l == lesson) {
            Some((_, n)) => *n += 1,
            None => lessons.push((lesson, 1)),
        }
    }
    let per_lesson: Vec<String> = lessons.iter().map(|(l, n)| format!("{l} {n}")).collect();
    println!("running {} panels ({}) in PyTorch {version}, in {}", cases.len(), per_lesson.join(", "), folder.display());

    // Two Pythons at a time: each spends most of its second importing torch.
    let next = Mutex::new(0usize);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut next = next.lock().unwrap();
                        *next += 1;
                        *next - 1
                    };
                    let Some(case) = cases.get(i) else { break };
                    let result = check_case(python, &folder, i, case);
                    results.lock().unwrap().push((i, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let (mut passed, mut failed, mut worst) = (0, 0, (0.0f64, String::new()));
    for (i, result) in results {
        match result {
            Ok(diff) => {
                passed += 1;
                if diff > worst.0 {
                    worst = (diff, cases[i].url.clone());
                }
            }
            Err(e) => {
                failed += 1;
                println!("FAILED {}: {e}", cases[i].url);
            }
        }
    }
    println!("largest relative difference {:.1e} (tolerance {TOLERANCE:.0e}), at {}", worst.0, worst.1);
    println!("{passed} passed, {failed} failed");
    Ok(failed == 0)
}

/// Runs one panel and compares what it prints with the page's numbers.
fn check_case(python: &str, folder: &Path, i: usize, case: &Case) -> Result<f64, String> {
    let page = case.page.as_ref().map_err(|e| format!("the page rejects this state ({e})"))?;
    let file = format!("panel_{i}.py");
    std::fs::write(folder.join(&file), &case.code).map_err(|e| format!("cannot write {file}: {e}"))?;
    let out = Command::new(python).arg(&file).current_dir(folder).output().map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("the panel does not run ({}); its code is in {}", stderr.trim().lines().last().unwrap_or("no message"), folder.join(file).display()));
    }
    let printed = PanelNumbers::parse(&String::from_utf8_lossy(&out.stdout))?;
    page.compare(&printed)
}

/// Copies what the page ships and the panels open (the photos at both sizes, the digits, the heatmap lesson's model)
/// into `folder`.
fn ship(root: &Path, folder: &Path) -> Result<(), String> {
    let copy = |from: PathBuf, to: PathBuf| -> Result<(), String> {
        std::fs::create_dir_all(to.parent().expect("a file in a folder")).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
        std::fs::copy(&from, &to).map(|_| ()).map_err(|e| format!("cannot copy {}: {e}", from.display()))
    };
    for photo in PHOTOS {
        for side in app::widgets::photo_picker::SAMPLE_SIDES {
            let name = PhotoSource::Sample(photo.file).file_name(side);
            copy(root.join("public/images").join(&name), folder.join(&name))?;
        }
    }
    for data in ["digits_u8.bin", app::lessons::heatmap::CHECKPOINT] {
        copy(root.join("public/data").join(data), folder.join(data))?;
    }
    Ok(())
}
