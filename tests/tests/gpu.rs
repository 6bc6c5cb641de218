//! The GPU backend natively (Vulkan; lavapipe on CPU-only machines): every op against the CPU reference on random
//! inputs, large dispatches, and the backend's hygiene (pipelines compiled once, buffers pooled, one submission
//! per chain of ops). The conformance cases run separately: `cargo xtask conformance`.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use engine::ops::conv2d::conv2d;
use engine::ops::pool::Pool2dParams;
use engine::ops::{Conv2dParams, max_pool2d::max_pool2d};
use engine::rng::Rng;
use engine::{Backend, Cpu, Tensor};
use tests::compare::{ATOL, RTOL, all_close};
use tests::properties::Checker;

/// Runs one family of property checks on the shared GPU and fails with every disagreement.
macro_rules! family {
    ($test:ident, $method:ident) => {
        #[test]
        fn $test() {
            let Some(gpu) = common::gpu() else { return };
            let mut checker = Checker::new(gpu);
            pollster::block_on(checker.$method(11));
            assert!(checker.compared > 0, "nothing was compared");
            assert!(checker.failures.is_empty(), "{} disagreements:\n{}", checker.failures.len(), checker.failures.join("\n"));
        }
    };
}

family!(conv2d_gpu_matches_cpu_reference, conv2d);
family!(pad_gpu_matches_cpu_reference, pad);
family!(pools_gpu_match_cpu_reference, pools);
family!(dropout_gpu_matches_cpu_reference, dropout);
family!(batch_norm_gpu_matches_cpu_reference, batch_norm);
family!(matrix_products_gpu_match_cpu_reference, matrix_products);
family!(activations_gpu_match_cpu_reference, activations);
family!(embedding_gpu_matches_cpu_reference, embedding);
family!(losses_gpu_match_cpu_reference, losses);
family!(optimizers_gpu_match_cpu_reference, optimizers);

#[test]
fn both_matrix_product_kernels_match_the_cpu_reference() {
    // A device of its own, whichever kernel its adapter would choose: the products (and the convolutions built on
    // them) once through workgroup memory and once read directly.
    let Ok(gpu) = pollster::block_on(engine::Gpu::new()) else { return };
    for tiled in [true, false] {
        gpu.set_tiled_products(tiled);
        let mut checker = Checker::new(&gpu);
        pollster::block_on(checker.matrix_products(12));
        pollster::block_on(checker.conv2d(13));
        assert!(checker.compared > 0, "nothing was compared");
        assert!(checker.failures.is_empty(), "tiled {tiled}: {} disagreements:\n{}", checker.failures.len(), checker.failures.join("\n"));
    }
}

#[test]
fn large_outputs_are_split_over_a_2d_grid_of_workgroups() {
    let Some(gpu) = common::gpu() else { return };
    // 1 x 1 x 2049 x 2049 outputs = 65,601 workgroups of 64: more than one grid dimension allows.
    let mut rng = Rng::new(5);
    let x = Tensor::randn([1, 1, 2049, 2049], &mut rng);
    let w = Tensor::randn([1, 1, 1, 1], &mut rng);
    let params = Conv2dParams::default();
    let want = conv2d(&Cpu, &x, &w, None, &params).unwrap();
    let y = conv2d(gpu, &gpu.upload(&x), &gpu.upload(&w), None, &params).unwrap();
    let got = pollster::block_on(gpu.read(&y)).unwrap();
    all_close("y", got.data(), want.data(), ATOL, RTOL).unwrap();
}

#[test]
fn a_chain_of_ops_is_one_submission_with_pipelines_compiled_once_and_buffers_reused() {
    // A device of its own, so that other tests' work does not count.
    let Ok(gpu) = pollster::block_on(engine::Gpu::new()) else { return };
    let mut rng = Rng::new(6);
    let x = gpu.upload(&Tensor::randn([2, 3, 8, 8], &mut rng));
    let w = gpu.upload(&Tensor::randn([4, 3, 3, 3], &mut rng));
    let chain = || {
        let h = conv2d(&gpu, &x, &w, None, &Conv2dParams::default().padding(1)).unwrap();
        let r = gpu.relu(&h);
        let (p, _) = max_pool2d(&gpu, &r, &Pool2dParams::new(2)).unwrap();
        p
    };
    let first = chain();
    assert_eq!(gpu.submissions(), 0, "recording ops must not submit");
    pollster::block_on(gpu.read(&first)).unwrap();
    assert_eq!(gpu.submissions(), 1, "one read, one submission for the whole chain");
    let pipelines = gpu.compiled_pipelines();
    drop(first);
    let pooled = gpu.pooled_buffers();
    assert!(pooled > 0, "dropped tensors return their buffers to the pool");
    let second = chain();
    assert_eq!(gpu.compiled_pipelines(), pipelines, "pipelines are compiled once");
    assert!(gpu.pooled_buffers() < pooled, "the second chain reuses pooled buffers");
    pollster::block_on(gpu.read(&second)).unwrap();
    assert_eq!(gpu.submissions(), 2);
}

#[test]
fn training_on_the_gpu_follows_the_cpu_step_for_step() {
    let Some(gpu) = common::gpu() else { return };
    let mut failures = pollster::block_on(tests::training::digits_cnn_agrees(gpu));
    failures.extend(pollster::block_on(tests::training::tabular_model_agrees(gpu)));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_training_step_is_one_submission() {
    let Ok(gpu) = pollster::block_on(engine::Gpu::new()) else { return };
    let mut rng = Rng::new(7);
    let mut model = engine::models::digits_cnn(&gpu, &mut rng);
    let x = gpu.upload(&Tensor::randn([16, 1, 8, 8], &mut rng));
    let t = engine::data::Targets::Classes(engine::Indices::vector((0..16).map(|i| i % 10).collect()));
    let mut optimizer = engine::optim::Optimizer::sgd(0.0);
    let one = engine::learner::one(&gpu);
    let step = |model: &mut engine::nn::Sequential<engine::Gpu>, optimizer: &mut engine::optim::Optimizer| {
        engine::learner::train_step(&gpu, model, optimizer, &x, &t, engine::learner::Loss::CrossEntropy, 0.01, 0.9, &one).unwrap()
    };
    pollster::block_on(gpu.read(&step(&mut model, &mut optimizer))).unwrap();
    let before = gpu.submissions();
    // Ten steps recorded, the loss read once: one submission for all of it.
    let mut loss = step(&mut model, &mut optimizer);
    for _ in 0..9 {
        loss = step(&mut model, &mut optimizer);
    }
    assert_eq!(gpu.submissions(), before, "recording steps must not submit");
    pollster::block_on(gpu.read(&loss)).unwrap();
    assert_eq!(gpu.submissions(), before + 1);
}

/// The shapes CNN (RGB 32x32, four conv blocks) trains the same on both backends: the same initial weights and
/// batch give the same losses step after step. Catches any op whose GPU gradient differs at these sizes.
#[test]
fn the_shapes_cnn_trains_the_same_on_cpu_and_gpu() {
    let Some(gpu) = common::gpu() else { return };
    let losses = |b: &dyn Fn(&mut Rng) -> Vec<f32>| b(&mut Rng::new(5));
    let cpu = losses(&|rng| shapes_losses(&Cpu, rng));
    let gpu = losses(&|rng| shapes_losses(gpu, rng));
    for (step, (c, g)) in cpu.iter().zip(&gpu).enumerate() {
        assert!((c - g).abs() <= 1e-3 * (1.0 + c.abs()), "step {step}: CPU loss {c}, GPU loss {g} (all: {cpu:?} vs {gpu:?})");
    }
}

fn shapes_losses<B: Backend>(b: &B, rng: &mut Rng) -> Vec<f32> {
    let mut model = engine::models::shapes_cnn(b, rng);
    let x = b.upload(&Tensor::randn([64, 3, 32, 32], rng));
    let t = engine::data::Targets::Classes(engine::Indices::vector((0..64).map(|i| i % 4).collect()));
    let mut optimizer = engine::optim::Optimizer::sgd(0.0);
    let one = engine::learner::one(b);
    (0..4)
        .map(|_| {
            let loss = engine::learner::train_step(b, &mut model, &mut optimizer, &x, &t, engine::learner::Loss::CrossEntropy, 0.1, 0.9, &one).unwrap();
            pollster::block_on(b.read(&loss)).unwrap().data()[0]
        })
        .collect()
}
