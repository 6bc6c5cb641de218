//! The fuzz targets' bodies: each takes any bytes and must neither panic nor break its invariant. The fuzz crate
//! (`fuzz/`, outside the workspace, built with nightly by `cargo fuzz`) calls them from libFuzzer; the native test
//! `tests/tests/fuzz_replay.rs` replays every kept input (`fuzz/corpus/<target>/`, `fuzz/crashers/<target>/`) through
//! them on stable, so a crash found once stays fixed. A violated invariant panics, as libFuzzer needs.

use app::lessons::LESSONS;
use app::query::Query;
use engine::architecture::Architecture;
use engine::device::Device;
use engine::ops::OPS;
use engine::ops::Path;
use engine::rng::Rng;
use engine::tensor::Tensor;

/// Every target, by the name of its folder under `fuzz/corpus/` and its binary under `fuzz/fuzz_targets/`.
pub const TARGETS: &[(&str, fn(&[u8]))] =
    &[("url_state", url_state), ("architecture", architecture), ("model_import", model_import), ("image", image), ("ops", ops)];

/// The bytes as text, as a browser hands a query or a field's value to the page.
fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A URL query, whatever its bytes, read by every lesson's parameters: each value read is one its parameter takes
/// (the default when the query's cannot be used, with a notice), and reading never panics.
pub fn url_state(data: &[u8]) {
    let query = Query::parse(&text(data));
    for lesson in LESSONS {
        for param in lesson.params {
            if let Err(why) = param.read(&query) {
                panic!("/{}: {why}", lesson.path);
            }
        }
    }
    // Every notice is a sentence naming what was not used.
    for notice in query.notices() {
        assert!(notice.contains("was not used"), "{notice}");
    }
}

/// An architecture as a learner types it in /train's field (the first bytes choose the input and classes): it
/// parses and checks, or is refused in words; one that checks builds, and a batch of two goes forward and back.
pub fn architecture(data: &[u8]) {
    let [c, h, w, classes] = match data {
        [a, b, c, d, ..] => [1 + *a as usize % 3, 1 + *b as usize % 12, 1 + *c as usize % 12, 1 + *d as usize % 10],
        _ => return,
    };
    let Ok(arch) = Architecture::parse([c, h, w], classes, &text(&data[4..])) else { return };
    let rows = arch.check().expect("a parsed architecture checks");
    let mut model = arch.build(&Device::Cpu, &mut Rng::new(0)).expect("a checked architecture builds");
    assert!(arch.pytorch().is_ok());
    // A batch of two: batch norm refuses to train on one value per channel (the trainer leaves out a last batch of
    // one item; a training set of one item is refused in words, BAD_INPUTS.md row 42).
    let x = Tensor::randn([2, c, h, w], &mut Rng::new(1));
    let y = model.forward(&x).expect("a checked architecture runs forward");
    assert_eq!(y.shape().dims(), &[2, classes], "{rows:?}");
    model.backward(&Tensor::zeros([2, classes])).expect("and backward");
}

/// A file a learner imports as a trained model (safetensors with its architecture in the metadata): it is refused
/// in words, or opens as a model that scores one image.
pub fn model_import(data: &[u8]) {
    let Ok((mut model, info)) = engine::checkpoint::open(data, &Device::Cpu) else { return };
    let arch = info.architecture.expect("an opened checkpoint has its architecture");
    let [c, h, w] = arch.input;
    let y = model.forward(&Tensor::zeros([1, c, h, w])).expect("an opened model runs forward");
    assert_eq!(y.shape().dims(), &[1, arch.classes]);
}

/// What the page does with an image the browser decoded (a learner's file of any size, or a webcam frame): the
/// size it is scaled to, its RGBA pixels as a tensor, and that tensor in grayscale. The bytes after the first five
/// are the pixels (the browser's decoder itself is the browser's).
pub fn image(data: &[u8]) {
    let [a, b, c, d, e, pixels @ ..] = data else { return };
    // Sizes up to 65,535 on a side (0 for a file with no pixels), and sides from 1 to 256 to fit them in.
    let (w0, h0, max_side) = (u16::from_le_bytes([*a, *b]) as u32, u16::from_le_bytes([*c, *d]) as u32, 1 + *e as u32);
    match app::image::fit(w0, h0, max_side) {
        Ok(fit) => {
            assert!(fit.width >= 1 && fit.height >= 1 && fit.width.max(fit.height) <= max_side, "{w0}x{h0} in {max_side}: {fit:?}");
            assert!(fit.width <= w0 && fit.height <= h0, "{w0}x{h0} in {max_side}: {fit:?}");
            assert_eq!(fit.scaled, w0.max(h0) > max_side, "{w0}x{h0} in {max_side}: {fit:?}");
        }
        Err(why) => assert!(w0 == 0 || h0 == 0, "{w0}x{h0} refused: {why}"),
    }
    let side = (pixels.len() / 4).isqrt();
    if side > 0 {
        let rgb = app::image::rgb_of(&pixels[..4 * side * side], side, side);
        assert!(rgb.data().iter().all(|v| (0.0..=1.0).contains(v)));
        let gray = app::image::to_mode(&rgb, app::image::ColorMode::Gray);
        assert_eq!(gray.shape().dims(), &[1, 1, side, side]);
    }
}

/// Every registered op, on examples drawn from a seed the bytes give, forward and backward on the CPU (its tuned
/// path and its reference loops): finite inputs give the same shapes both ways and no panic. The op's own
/// parameters are fuzzed further by [`architecture`] (convolutions, pools, dropout, linear layers by their codes).
pub fn ops(data: &[u8]) {
    let [which, seed @ ..] = data else { return };
    let op = &OPS[*which as usize % OPS.len()];
    let mut bytes = [0u8; 8];
    for (i, b) in seed.iter().take(8).enumerate() {
        bytes[i] = *b;
    }
    let mut rng = Rng::new(u64::from_le_bytes(bytes));
    let examples = (op.examples)(&mut rng);
    let Some(example) = examples.get(seed.get(8).copied().unwrap_or(0) as usize % examples.len().max(1)) else { return };
    let inputs: Vec<&Tensor> = example.inputs.iter().collect();
    let device = example.op.outputs(&inputs, Path::Device).expect("an example runs on the CPU");
    let reference = example.op.outputs(&inputs, Path::Reference).expect("and in the reference loops");
    let shapes = |t: &[Tensor]| t.iter().map(|t| t.shape().dims().to_vec()).collect::<Vec<_>>();
    assert_eq!(shapes(&device), shapes(&reference), "{}", example.name);
    let n = example.op.differentiable_outputs();
    let dys: Vec<Tensor> = device[..n].iter().map(|y| Tensor::randn(y.shape().clone(), &mut rng)).collect();
    let outputs: Vec<&Tensor> = device.iter().collect();
    let dys: Vec<&Tensor> = dys.iter().collect();
    if n > 0 {
        let grads = example.op.gradients(&inputs, &outputs, &dys, Path::Device).expect("backward runs on the CPU");
        assert_eq!(grads.len(), inputs.len(), "{}", example.name);
    }
}
