//! `cargo xtask panels --python PY`: every lesson's "PyTorch" panel, for a table of states, run in PY and compared
//! with the page's numbers.
//!
//! For each state the panel's code comes from the function the page calls, the page's numbers from the lesson's
//! own state computation (the op's reference loops, on the sample files decoded here), and PY runs the code in a
//! folder holding the files the page ships, as a learner would after downloading them. A panel passes when it
//! runs and prints the page's shape, window sum, output and checksum to within `panel::TOLERANCE` (relative).

use app::lessons::{batchnorm, channels, dropout, kernels, padding_stride, pooling, tabular};
use app::panel::{PanelNumbers, TOLERANCE};
use app::widgets::{PHOTOS, PhotoSource};
use engine::ops::PaddingMode;
use engine::{Tensor, data::digits};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Mutex;

#[path = "common/png_photo.rs"]
mod png_photo;

/// One state of one lesson: where it is, the panel's code, and the page's numbers.
struct Case {
    /// The lesson's URL with the state's query, so a failure can be opened in the browser.
    url: String,
    code: String,
    page: Result<PanelNumbers, String>,
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
    let cases: Vec<Case> = cases(&root)?.into_iter().filter(|c| c.url.starts_with(only)).collect();
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

/// Copies what the page ships and the panels open (the photos at both sizes, the digits) into `folder`.
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
    copy(root.join("public/data/digits_u8.bin"), folder.join("digits_u8.bin"))
}

/// A shipped photo as the page reads it: `[1, 3, H, W]`, values 0..1.
fn photo(root: &Path, file: &str) -> Result<Tensor, String> {
    let (w, h, rgb) = png_photo::decode(&root.join("public/images").join(file))?;
    let plane = w * h;
    Tensor::new([1, 3, h, w], (0..3 * plane).map(|i| rgb[(i % plane) * 3 + i / plane] as f32 / 255.0).collect()).map_err(|e| e.to_string())
}

/// The table of states: every preset, padding mode, colour mode and sample on `/kernels`; padding, stride and
/// dilation on `/padding-stride`; one to four kernels, both strides and the grayscale sample on `/channels`; both
/// pools with their sizes on `/pooling`; every p in training and evaluation on `/dropout`; every batch size and momentum, early and late steps, in
/// training and evaluation on `/batchnorm`; the lesson's columns and three other choices on `/tabular`; with cells at the borders and inside, custom and whole-number weights and
/// non-zero biases.
fn cases(root: &Path) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();

    // /kernels
    let modes = PaddingMode::LESSON;
    let borders = kernels::BORDERS;
    for (i, preset) in kernels::PRESETS.iter().enumerate() {
        for (j, color) in kernels::Channels::ALL.into_iter().enumerate() {
            let photo_file = PHOTOS[(i + j) % PHOTOS.len()].file;
            let state = kernels::State {
                file: photo_file.to_string(),
                color,
                preset: Some(i),
                weights: preset.weights.to_vec(),
                bias: if j == 0 { 0.0 } else { 0.25 },
                mode: borders[(i + j) % borders.len()],
                cell: [(0, 0), (17, 200), (100, 37)][(i + j) % 3],
                channel: i % color.outputs(),
            };
            cases.push(kernels_case(root, state)?);
        }
    }
    let custom = [
        vec![1.0, -2.0, 1.0, 0.0, 3.0, 0.0, -1.0, 0.0, -2.0],
        vec![0.1, 0.2, 0.3, -0.4, 0.5, -0.6, 0.7, 0.8, -0.9],
        vec![-1.0 / 3.0, 2.5, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0 / 7.0],
    ];
    for (i, weights) in custom.into_iter().enumerate() {
        for mode in borders {
            let state = kernels::State {
                file: PHOTOS[i + 1].file.to_string(),
                color: kernels::Channels::ALL[i],
                preset: None,
                weights: weights.clone(),
                bias: [-0.5, 1.0, 0.3][i],
                mode,
                cell: (84, 0),
                channel: i % 3 % kernels::Channels::ALL[i].outputs(),
            };
            cases.push(kernels_case(root, state)?);
        }
    }

    // /padding-stride
    for (size, kernel, padding, stride, dilation) in [
        (6, 3, 1, 1, 1),
        (6, 3, 1, 2, 1),
        (7, 3, 0, 1, 1),
        (5, 1, 0, 1, 1),
        (8, 5, 2, 3, 1),
        (10, 3, 3, 2, 2),
        (9, 7, 3, 1, 1),
        (4, 2, 1, 2, 3),
        (10, 4, 2, 3, 2),
        (3, 3, 2, 1, 1),
    ] {
        for mode in modes {
            let settings = padding_stride::Settings { size, kernel, padding, mode, stride, dilation };
            let Ok(op) = settings.conv() else { continue };
            // The last cell, whose window reaches furthest into the padding.
            let cell = (op.out_h - 1, op.out_w - 1);
            cases.push(Case {
                url: format!(
                    "/padding-stride?size={size}&k={kernel}&p={padding}&mode={}&s={stride}&d={dilation}&y={}&x={}",
                    mode.name(),
                    cell.0,
                    cell.1
                ),
                code: settings.pytorch(cell),
                page: settings.numbers(cell),
            });
        }
    }

    // /channels
    for kernels in 1..=4 {
        for stride in 1..=2 {
            let photo_file = PHOTOS[(kernels + stride) % PHOTOS.len()].file;
            let state = channels::State {
                file: PhotoSource::Sample(photo_file).file_name(128),
                kernels,
                stride,
                bias: if stride == 1 { 0.0 } else { -0.125 },
                cell: if stride == 1 { (40, 60) } else { (0, 31) },
                kernel: kernels - 1,
            };
            let x = photo(root, &state.file)?;
            cases.push(Case {
                url: format!("/channels?photo={photo_file}&kernels={kernels}&kernel={}&s={stride}&y={}&x={}&bias={}", state.kernel, state.cell.0, state.cell.1, state.bias),
                page: state.numbers(&x),
                code: state.pytorch(),
            });
        }
    }

    // /pooling
    let set = digits::parse(&std::fs::read(root.join("public/data/digits_u8.bin")).map_err(|e| format!("cannot read the digits: {e}"))?)
        .map_err(|e| e.to_string())?;
    for kind in pooling::Kind::ALL {
        for (kernel, stride, padding) in [(2, 2, 0), (1, 1, 0), (3, 1, 1), (3, 2, 1), (4, 3, 1), (2, 3, 1), (4, 2, 0), (3, 3, 0)] {
            let digit = kernel * 100 + stride * 10 + padding;
            let x = Tensor::from_fn([1, 1, 8, 8], |p| (set.images.data()[digit * 64 + p] * 16.0).round());
            let settings = pooling::Settings { kind, kernel, stride, padding };
            let Ok((y, _)) = settings.pool(&x) else { continue };
            let cell = (y.shape().dims()[2] - 1, y.shape().dims()[3] / 2);
            cases.push(Case {
                url: format!("/pooling?pool={}&k={kernel}&s={stride}&p={padding}&digit={digit}&y={}&x={}", kind.name(), cell.0, cell.1),
                code: settings.pytorch(digit, cell),
                page: settings.numbers(&x, cell),
            });
        }
    }
    // /dropout
    for (i, p) in dropout::PS.into_iter().enumerate() {
        for training in [true, false] {
            let state = dropout::State { p, seed: (i * 37) as u32, training, cell: (i, 7 - i) };
            cases.push(Case {
                url: format!("/dropout?p={p}&seed={}&mode={}&y={}&x={}", state.seed, if training { "train" } else { "eval" }, state.cell.0, state.cell.1),
                code: state.pytorch(),
                page: state.numbers(),
            });
        }
    }
    // /batchnorm
    for (i, rows) in batchnorm::BATCHES.into_iter().enumerate() {
        for (j, momentum) in batchnorm::MOMENTA.into_iter().enumerate() {
            let training = (i + j) % 2 == 0;
            let steps = [1, 7, 30, 60][j];
            let state = batchnorm::State {
                rows,
                momentum,
                steps,
                gamma: vec![1.0, 0.5 * i as f32 + 0.25, -1.5],
                beta: vec![0.0, -2.0, 0.1 * j as f32],
                training,
                cell: (rows - 1 - i.min(rows - 1), j % batchnorm::FEATURES),
            };
            cases.push(Case {
                url: format!(
                    "/batchnorm?n={rows}&momentum={momentum}&k={steps}&mode={}&gamma={}&beta={}&y={}&x={}",
                    if training { "train" } else { "eval" },
                    app::query::join_numbers(&state.gamma),
                    app::query::join_numbers(&state.beta),
                    state.cell.0,
                    state.cell.1
                ),
                code: state.pytorch(),
                page: state.numbers(),
            });
        }
    }
    // /tabular
    let table = tabular::page_table();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let lesson = tabular::State::default();
    let as_numbers = tabular::State::as_numbers();
    for state in [
        lesson.clone(),
        as_numbers,
        tabular::State { cats: lesson.cats.clone(), conts: vec![] },
        tabular::State { cats: names(&["Month"]), conts: names(&["CompetitionDistance", "MaxTemperature"]) },
    ] {
        cases.push(Case {
            url: format!("/tabular?cat={}&cont={}", state.cats.join(","), state.conts.join(",")),
            code: state.pytorch(&table),
            page: state.numbers(&table),
        });
    }
    Ok(cases)
}

fn kernels_case(root: &Path, state: kernels::State) -> Result<Case, String> {
    let rgb = photo(root, &state.file)?;
    let kernel = match state.preset {
        Some(i) => kernels::PRESETS[i].id.to_string(),
        None => format!("custom&w={}", state.weights.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(",")),
    };
    Ok(Case {
        url: format!(
            "/kernels?photo={}&color={}&mode={}&kernel={kernel}&bias={}&y={}&x={}&ch={}",
            state.file,
            state.color.name(),
            kernels::border_name(state.mode),
            state.bias,
            state.cell.0,
            state.cell.1,
            state.channel
        ),
        page: state.numbers(&rgb),
        code: state.pytorch(),
    })
}
