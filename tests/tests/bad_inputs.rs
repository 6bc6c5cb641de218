//! The bad inputs of `tests/BAD_INPUTS.md`, each run through the code a learner's input reaches, natively: every
//! row marked `native` there has its case here, and the message the row quotes is what that code says. Rows
//! marked `e2e` are checked by `tests/e2e/run.mjs` (`badInput(n)` reads the row's message from the same table);
//! a test here checks that each is.

#![cfg(not(target_arch = "wasm32"))]

use app::lessons::{kernels, padding_stride, pooling, tabular, train};
use app::query::{AnyParam, Param, Query};
use engine::architecture::Architecture;
use engine::device::Device;
use engine::indices::Indices;
use engine::learner::{FitConfig, Loss, Metric, Trainer};
use engine::ops::batch_norm::{BatchNorm, BatchNormParams};
use engine::ops::conv2d::{Conv2d, Conv2dParams};
use engine::ops::cross_entropy::{CrossEntropy, Reduction};
use engine::ops::dropout::Dropout;
use engine::ops::embedding::Embedding;
use engine::ops::max_pool2d::MaxPool2d;
use engine::ops::{PaddingMode, Pool2dParams};
use engine::optim::Optimizer;
use engine::rng::Rng;
use engine::safetensors::{Entry, File};
use engine::{Shape, Tensor};
use std::path::Path;

/// The table's file.
fn table_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("BAD_INPUTS.md")).unwrap()
}

/// The table's rows: `(number, what the learner sees, test)`.
fn rows() -> Vec<(usize, String, String)> {
    table_text()
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.strip_prefix("| ")?.strip_suffix(" |")?.split(" | ").collect();
            let n: usize = cells.first()?.parse().ok()?;
            assert_eq!(cells.len(), 5, "row {n} of BAD_INPUTS.md needs 5 cells: {line}");
            Some((n, unquote(cells[3]), cells[4].to_string()))
        })
        .collect()
}

/// A table cell's message without its markdown: the text between its backticks, or the cell itself.
fn unquote(cell: &str) -> String {
    cell.trim().trim_start_matches('`').trim_end_matches('`').to_string()
}

/// What a lesson's query notices say once it has read `params` from `query`.
fn notices(query: &str, params: &[&dyn AnyParam]) -> String {
    let query = Query::parse(query);
    for p in params {
        p.read(&query).unwrap();
    }
    query.unknown();
    query.notices().join(" ")
}

/// What a field of `param` says when `raw` is typed into it while it holds `current`.
fn typed<T: app::query::Number>(param: &Param<T>, raw: &str, current: T) -> String {
    param.typed(raw, current).1.unwrap_or_default()
}

/// /train's summary of an architecture typed into its editor (digits: 8x8 gray, 10 classes).
fn arch(code: &str) -> String {
    let blocks = match train::blocks_of(code) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let arch = Architecture { input: train::Task::Digits.input(), blocks: train::with_head(&blocks, 10), classes: 10 };
    train::summary(&arch, 64).err().unwrap_or_default()
}

fn err<T>(r: engine::Result<T>) -> String {
    r.err().map(|e| e.to_string()).unwrap_or_default()
}

/// A small checkpoint as `/train` exports one: a Linear on 2x2 gray images, two classes.
fn checkpoint(architecture: &str, weight_shape: [usize; 2], metadata: bool) -> Vec<u8> {
    let entries = vec![
        Entry { name: "1.weight".into(), tensor: Tensor::zeros(weight_shape), integer: false },
        Entry { name: "1.bias".into(), tensor: Tensor::zeros([2]), integer: false },
    ];
    let meta = [("task", "shapes"), ("classes", "a,b"), ("stats", "0.5 0.25"), ("input", "1,2,2"), ("architecture", architecture)];
    let metadata = if metadata { meta.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() } else { Vec::new() };
    File { entries, metadata }.to_bytes()
}

fn import(bytes: &[u8]) -> String {
    err(engine::checkpoint::open(bytes, &Device::Cpu))
}

/// A safetensors file whose header is `header`.
fn with_header(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// A training run of the digits CNN with `lr` and `batch` on `items` training digits, and what it says.
fn fit(lr: f32, batch: usize, items: usize) -> (String, Option<String>) {
    let (train, valid) = engine::data::digits::parse(include_bytes!("../../public/data/digits_u8.bin")).unwrap().split(0.2, 2);
    let (train, valid) = (train.subset(&(0..items).collect::<Vec<_>>()), valid.subset(&(0..16).collect::<Vec<_>>()));
    let config = FitConfig { epochs: 2, batch_size: batch, lr_max: lr, seed: 3, read_every: 1, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
    let model = engine::models::digits_cnn(&Device::Cpu, &mut Rng::new(4));
    let mut trainer = Trainer::new(&Device::Cpu, model, Optimizer::sgd(0.0), train, valid, config).without_one_cycle();
    let note = trainer.batch_note();
    (err(pollster::block_on(trainer.fit(|_, _| {}, |_| {}))), note)
}

/// The message each `native` row's input gets.
fn case(n: usize) -> Option<String> {
    let ps = padding_stride::PARAMS;
    let image = |dims: [usize; 4]| Shape::from(dims);
    let table = || tabular::page_table();
    Some(match n {
        // Links.
        1 => notices("?k=abc", ps),
        2 => notices("?s=0", ps),
        3 => notices("?p=-1", ps),
        4 => notices("?mode=wrap", ps),
        5 => notices("?size=99999999999999999999999", ps),
        6 => notices("?lr=1e9", train::PARAMS),
        7 => notices("?bs=0", train::PARAMS),
        8 => notices("?epochs=NaN", train::PARAMS),
        9 => notices("?bias=1e40", kernels::PARAMS),
        10 => {
            let q = Query::parse("?w=1,2,3");
            q.list(&kernels::WEIGHT, 9, &[0.0; 9]);
            q.notices().join(" ")
        }
        11 => {
            let q = Query::parse("?w=1,2,3,4,5,6,7,8,x");
            q.list(&kernels::WEIGHT, 9, &[0.0; 9]);
            q.notices().join(" ")
        }
        12 => notices("?%E0%A4%A&&==&zzz=1", pooling::PARAMS),
        13 => notices(&format!("?y={}", "9".repeat(5000)), kernels::PARAMS),
        14 => tabular::roles_from(&table(), &Query::parse("?cat=Store&cont=Store")).1.unwrap_or_default(),
        15 => tabular::roles_from(&table(), &Query::parse("?cont=Sales")).1.into_iter().chain(notices_of_roles("?cont=Sales")).collect(),
        16 => notices_of_roles("?cat=Nope").unwrap_or_default(),
        // Architectures typed into /train's editor, or in its link.
        17 => arch(""),
        18 => arch("conv8k3s1p1-bn-relu"),
        19 => arch("conv100000k3s1p1-gap-flat-lin10"),
        20 => arch("conv64k3s1p1-conv64k3s1p1-flat-lin100000-lin10"),
        21 => arch("lin10"),
        22 => arch("conv8k9s1p0-flat-lin10"),
        23 => arch("drop1.5-flat-lin10"),
        24 => arch("conv8k3s0p1-flat-lin10"),
        25 => arch("foo-flat-lin10"),
        // Numbers typed into a field.
        26 => typed(&kernels::WEIGHT, "", 1.0),
        27 => typed(&kernels::WEIGHT, "abc", 1.0),
        28 => typed(&kernels::WEIGHT, "NaN", 1.0),
        29 => typed(&kernels::WEIGHT, "1e40", 1.0),
        30 => typed(&kernels::BIAS, "11", 0.0),
        31 => typed(&pooling::DIGIT, "-3", 5),
        32 => typed(&pooling::DIGIT, "2.5", 5),
        // The ops, as a lesson's settings reach them.
        33 => err(Conv2d::new(&Conv2dParams::default().stride(0), &image([1, 1, 6, 6]), &image([1, 1, 3, 3]), None)),
        34 => err(Conv2d::new(&Conv2dParams::default(), &image([1, 1, 4, 4]), &image([1, 1, 7, 7]), None)),
        35 => err(Conv2d::new(&Conv2dParams::default().padding(4).padding_mode(PaddingMode::Reflection), &image([1, 1, 4, 4]), &image([1, 1, 3, 3]), None)),
        36 => err(Conv2d::new(&Conv2dParams::default().groups(2), &image([1, 3, 6, 6]), &image([2, 1, 3, 3]), None)),
        37 => err(Dropout::new(&Shape::from([4, 4]), 1.0, true, 0)),
        38 => err(MaxPool2d::new(&Pool2dParams::new(5), &image([1, 1, 4, 4]))),
        39 => err(Embedding::new(&Shape::from([5, 3]), 0, &Indices::vector(vec![7]))),
        40 => err(CrossEntropy::new(&Shape::from([2, 4]), &Indices::vector(vec![1, 4]), None, None, Reduction::Mean)),
        41 => err(Conv2d::new(&Conv2dParams::default(), &image([1, 1, 0, 5]), &image([1, 1, 3, 3]), None)),
        42 => {
            let c = Shape::from([3]);
            err(BatchNorm::new(&BatchNormParams { training: true, ..Default::default() }, &Shape::from([1, 3]), &[&c, &c, &c, &c]))
        }
        43 => err(Tensor::new([2, 3], vec![0.0; 5])),
        // Training.
        44 => fit(1e9, 32, 256).0,
        45 => fit(1e-2, 64, 20).1.unwrap_or_default(),
        46 => train::Data::files(&[("cats".into(), vec![Tensor::zeros([1, 3, 32, 32]); 3]), ("dogs".into(), Vec::new())]).err().unwrap_or_default(),
        47 => train::Data::files(&[("cats".into(), vec![Tensor::zeros([1, 3, 32, 32]); 3])]).err().unwrap_or_default(),
        // Model files imported, or kept in the browser.
        48 => import(&[]),
        49 => import(&with_header("{}", &[])[..4]),
        50 => {
            let mut bytes = checkpoint("flat-lin2", [2, 4], true);
            bytes[..8].copy_from_slice(&1_000_000u64.to_le_bytes());
            import(&bytes)
        }
        51 => import(&with_header("{\"a\": [1, 2", &[])),
        52 => import(&with_header(&format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)), &[])),
        53 => import(&with_header(r#"{"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 64]}}"#, &[0; 16])),
        54 => import(&with_header(r#"{"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}"#, &[0; 4])),
        55 => import(&checkpoint("flat-lin2", [2, 4], false)),
        56 => import(&checkpoint("flat-lin2", [2, 9], true)),
        57 => import(&checkpoint("foo", [2, 4], true)),
        58 => {
            let bytes = checkpoint("flat-lin2", [2, 4], true);
            import(&bytes[..bytes.len() - 7])
        }
        // Images.
        59 => app::image::fit(0, 0, 256).err().unwrap_or_default(),
        71 => arch("conv7k63s1p212-flat-lin10"),
        _ => return None,
    })
}

/// /tabular's notices for a link's columns.
fn notices_of_roles(query: &str) -> Option<String> {
    let query = Query::parse(query);
    tabular::roles_from(&tabular::page_table(), &query);
    let notices = query.notices();
    (!notices.is_empty()).then(|| notices.join(" "))
}

#[test]
fn every_native_row_gets_its_message() {
    let rows = rows();
    assert!(rows.len() >= 50, "BAD_INPUTS.md lists {} bad inputs; the issue asks for at least 50", rows.len());
    let mut wrong = Vec::new();
    for (n, message, test) in &rows {
        if test != "native" {
            continue;
        }
        match case(*n) {
            None => wrong.push(format!("row {n} is marked native but has no case in bad_inputs.rs")),
            Some(got) if message.is_empty() || !got.contains(message.as_str()) => {
                wrong.push(format!("row {n}: the table says\n    {message}\n  the code says\n    {got}"))
            }
            Some(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_e2e_row_is_checked_end_to_end_and_the_numbers_run_in_order() {
    let rows = rows();
    let numbers: Vec<usize> = rows.iter().map(|r| r.0).collect();
    assert_eq!(numbers, (1..=rows.len()).collect::<Vec<_>>(), "the rows are numbered 1, 2, 3, … in order");
    let e2e = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/run.mjs")).unwrap();
    for (n, _, test) in &rows {
        match test.as_str() {
            "native" => {}
            "e2e" => assert!(e2e.contains(&format!("badInput({n})")), "row {n} is marked e2e but run.mjs never checks badInput({n})"),
            named => {
                // A native test of its own, by name: it exists, and its file quotes the row's message.
                let name = named.trim_matches('`');
                let message = &rows.iter().find(|r| r.0 == *n).unwrap().1;
                let quoted = native_sources().into_iter().any(|source| source.contains(&format!("fn {name}(")) && source.contains(message.as_str()));
                assert!(quoted, "row {n}: no native test `{name}` whose file quotes “{message}” (write native, e2e or a test's name)");
            }
        }
    }
}

/// The text of every Rust file of the engine and the tests.
fn native_sources() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for dir in ["engine/src", "tests/tests", "tests/src"] {
        walk(&root.join(dir), &mut out);
    }
    out
}
