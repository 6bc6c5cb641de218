//! The GPU natively (Vulkan; lavapipe on CPU-only machines): every registered op against its reference loops on
//! the op's own examples, large dispatches, training against the CPU, and the device's hygiene (pipelines compiled
//! once, buffers pooled, one submission per chain of ops). The conformance cases run separately:
//! `cargo xtask conformance`. Under `REQUIRE_GPU` (as `cargo xtask test` sets it) a missing GPU fails every test
//! here; without it, they say so and pass.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use engine::data::Targets;
use engine::learner::{Loss, train_step};
use engine::ops::check::{Report, against_reference, all_close, every_op_against_reference};
use engine::ops::conv2d::conv2d;
use engine::ops::max_pool2d::MaxPool2d;
use engine::ops::pool::Pool2dParams;
use engine::ops::relu::Relu;
use engine::ops::{Conv2dParams, OPS, Unary};
use engine::optim::Optimizer;
use engine::rng::Rng;
use engine::{Device, Indices, Tensor, models};

#[test]
fn every_registered_op_on_the_gpu_matches_its_reference_loops() {
    let Some(gpu) = common::gpu() else { return };
    let report = pollster::block_on(every_op_against_reference(gpu, 11));
    report.assert_ok();
    // Every op was checked: at least one comparison per registered op.
    assert!(report.compared >= OPS.len(), "{} comparisons for {} ops", report.compared, OPS.len());
}

#[test]
fn both_matrix_product_kernels_match_the_reference_loops() {
    // A device of its own, whichever kernel its adapter would choose: the products (and the convolutions built on
    // them) once through workgroup memory and once read directly.
    let Some(gpu) = common::own_gpu() else { return };
    for tiled in [true, false] {
        gpu.set_tiled_products(tiled);
        let device = Device::Gpu(gpu.clone());
        let mut report = Report::default();
        for name in ["matmul", "gemm", "conv2d"] {
            let op = OPS.iter().find(|op| op.name == name).expect("registered");
            let mut rng = Rng::new(12);
            for example in (op.examples)(&mut rng) {
                pollster::block_on(against_reference(&example, &device, &mut report, &mut rng));
            }
        }
        assert!(report.failures.is_empty(), "tiled {tiled}: {}", report.failures.join("\n"));
        assert!(report.compared > 0);
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
    let want = conv2d(&x, &w, None, &params).unwrap();
    let got = pollster::block_on(conv2d(&x.to(gpu), &w.to(gpu), None, &params).unwrap().read()).unwrap();
    all_close("y", got.data(), want.data(), 1e-5, 1e-4).unwrap();
}

#[test]
fn a_chain_of_ops_is_one_submission_with_pipelines_compiled_once_and_buffers_reused() {
    // A device of its own, so that other tests' work does not count.
    let Some(gpu) = common::own_gpu() else { return };
    let device = Device::Gpu(gpu.clone());
    let mut rng = Rng::new(6);
    let x = Tensor::randn([2, 3, 8, 8], &mut rng).to(&device);
    let w = Tensor::randn([4, 3, 3, 3], &mut rng).to(&device);
    let chain = || {
        let h = conv2d(&x, &w, None, &Conv2dParams::default().padding(1)).unwrap();
        let r = Relu.forward(&h).unwrap();
        MaxPool2d::new(&Pool2dParams::new(2), r.shape()).unwrap().forward(&r).unwrap().0
    };
    let first = chain();
    assert_eq!(gpu.submissions(), 0, "recording ops must not submit");
    pollster::block_on(first.read()).unwrap();
    assert_eq!(gpu.submissions(), 1, "one read, one submission for the whole chain");
    let pipelines = gpu.compiled_pipelines();
    drop(first);
    let pooled = gpu.pooled_buffers();
    assert!(pooled > 0, "dropped tensors return their buffers to the pool");
    let second = chain();
    assert_eq!(gpu.compiled_pipelines(), pipelines, "pipelines are compiled once");
    assert!(gpu.pooled_buffers() < pooled, "the second chain reuses pooled buffers");
    pollster::block_on(second.read()).unwrap();
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
    let Some(gpu) = common::own_gpu() else { return };
    let device = Device::Gpu(gpu.clone());
    let mut rng = Rng::new(7);
    let mut model = models::digits_cnn(&device, &mut rng);
    let x = Tensor::randn([16, 1, 8, 8], &mut rng).to(&device);
    let t = Targets::Classes(Indices::vector((0..16).map(|i| i % 10).collect()));
    let mut optimizer = Optimizer::sgd(0.0);
    let mut step = || train_step(&mut model, &mut optimizer, &x, &t, Loss::CrossEntropy, 0.01, 0.9).unwrap();
    pollster::block_on(step().read()).unwrap();
    let before = gpu.submissions();
    // Ten steps recorded, the loss read once: one submission for all of it.
    let mut loss = step();
    for _ in 0..9 {
        loss = step();
    }
    assert_eq!(gpu.submissions(), before, "recording steps must not submit");
    pollster::block_on(loss.read()).unwrap();
    assert_eq!(gpu.submissions(), before + 1);
}

/// The shapes CNN (RGB 32x32, four conv blocks) trains the same on both devices: the same initial weights and
/// batch give the same losses step after step. Catches any op whose GPU gradient differs at these sizes.
#[test]
fn the_shapes_cnn_trains_the_same_on_cpu_and_gpu() {
    let Some(gpu) = common::gpu() else { return };
    let cpu = shapes_losses(&Device::Cpu);
    let on_gpu = shapes_losses(gpu);
    for (step, (c, g)) in cpu.iter().zip(&on_gpu).enumerate() {
        assert!((c - g).abs() <= 1e-3 * (1.0 + c.abs()), "step {step}: CPU loss {c}, GPU loss {g} (all: {cpu:?} vs {on_gpu:?})");
    }
}

fn shapes_losses(device: &Device) -> Vec<f32> {
    let mut rng = Rng::new(5);
    let mut model = models::shapes_cnn(device, &mut rng);
    let x = Tensor::randn([64, 3, 32, 32], &mut rng).to(device);
    let t = Targets::Classes(Indices::vector((0..64).map(|i| i % 4).collect()));
    let mut optimizer = Optimizer::sgd(0.0);
    (0..4)
        .map(|_| {
            let loss = train_step(&mut model, &mut optimizer, &x, &t, Loss::CrossEntropy, 0.1, 0.9).unwrap();
            pollster::block_on(loss.read()).unwrap().data()[0]
        })
        .collect()
}

#[test]
fn inputs_on_different_devices_are_refused_with_an_error_not_a_panic() {
    let Some(gpu) = common::gpu() else { return };
    let other = Device::Gpu(common::own_gpu().expect("a second device on the same adapter"));
    let mut rng = Rng::new(8);
    let (x, dy) = (Tensor::randn([2, 3], &mut rng), Tensor::randn([2, 3], &mut rng));
    let kind = |result: engine::Result<Tensor>| match result {
        Err(engine::Error::Op(e)) => (e.kind, e.op, e.hint),
        other => panic!("expected an OpError, got {other:?}"),
    };
    // A GPU input beside a CPU one, and inputs on two different GPU devices: each op names itself and says what
    // to do.
    let (k, op, hint) = kind(Relu.backward(&x.to(gpu), &dy));
    assert_eq!((k, op), (engine::ErrorKind::Device, "relu"));
    assert!(hint.contains("tensor.to(&device)"), "{hint}");
    let (x4, w) = (Tensor::randn([1, 2, 5, 5], &mut rng), Tensor::randn([3, 2, 3, 3], &mut rng));
    let (k, op, _) = kind(conv2d(&x4.to(gpu), &w.to(&other), None, &Conv2dParams::default()));
    assert_eq!((k, op), (engine::ErrorKind::Device, "conv2d"));
}

#[test]
fn heatmaps_on_the_gpu_match_the_cpu() {
    // The shapes CNN, seeded, and one image: the body's mean, the channel weights and Grad-CAM on both devices.
    let Some(gpu) = common::gpu() else { return };
    let image = Tensor::randn([1, 3, 32, 32], &mut Rng::new(8));
    let maps = |device: &Device| {
        let mut model = models::shapes_cnn(device, &mut Rng::new(6));
        pollster::block_on(engine::heatmap::heatmaps(&mut model, models::BODY, &image.to(device), 2)).unwrap()
    };
    let (cpu, on_gpu) = (maps(&Device::Cpu), maps(gpu));
    assert_eq!(on_gpu.mean.shape().dims(), &[4, 4], "the shapes CNN's body is 4x4");
    let close = |name: &str, got: &[f32], want: &[f32], atol: f32| all_close(name, got, want, atol, 1e-3).unwrap_or_else(|m| panic!("{m:?}"));
    close("activations", on_gpu.activations.data(), cpu.activations.data(), 1e-4);
    close("mean", on_gpu.mean.data(), cpu.mean.data(), 1e-4);
    close("grad_cam", on_gpu.grad_cam.data(), cpu.grad_cam.data(), 1e-4);
    close("channel weights", &on_gpu.channel_weights, &cpu.channel_weights, 1e-5);
    close("lesson_mult", on_gpu.lesson_mult.data(), cpu.lesson_mult.data(), 1e-5);
    assert!(cpu.lesson_mult.data().iter().any(|&v| v != 0.0), "a map with something in it");
}

#[test]
fn a_run_whose_gpu_is_lost_resumes_on_a_new_device_from_its_last_epoch_and_learns() {
    use engine::learner::{FitConfig, Metric, Trainer};
    let Some(first) = common::own_gpu() else { return };
    let (train, valid) = engine::data::digits::parse(include_bytes!("../../public/data/digits_u8.bin")).unwrap().split(0.2, 2);
    let (train, valid) = (train.subset(&(0..512).collect::<Vec<_>>()), valid.subset(&(0..128).collect::<Vec<_>>()));
    let config = FitConfig { epochs: 3, batch_size: 64, lr_max: 1e-2, seed: 3, read_every: 1, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
    let run = |device: &Device| Trainer::new(device, models::digits_cnn(device, &mut Rng::new(4)), Optimizer::adamw(0.01), train.clone(), valid.clone(), config.clone());
    let device = Device::Gpu(first.clone());
    let mut trainer = run(&device);
    // The first epoch, then three steps of the second, then the device is lost.
    while !pollster::block_on(trainer.step()).unwrap().epoch_done {}
    pollster::block_on(trainer.end_epoch()).unwrap();
    for _ in 0..3 {
        pollster::block_on(trainer.step()).unwrap();
    }
    first.destroy();
    let e = pollster::block_on(trainer.step()).unwrap_err().to_string();
    assert!(device.is_lost() && e.contains("the GPU device was lost"), "{e}");
    let checkpoint = trainer.checkpoint().expect("a checkpoint after the first epoch");
    assert_eq!(checkpoint.epochs, 1);
    // A new device, the run rebuilt on it and resumed: two more epochs, and it learns.
    let Some(second) = common::own_gpu() else { return };
    let mut resumed = run(&Device::Gpu(second));
    resumed.resume(&checkpoint).unwrap();
    assert_eq!(resumed.steps_done(), resumed.steps_per_epoch());
    let reports = pollster::block_on(resumed.fit(|_, _| {}, |_| {})).unwrap();
    assert_eq!(reports.len(), 2, "the resumed run trains the two epochs left");
    assert!(reports[1].metric > 0.85, "accuracy {} after resuming", reports[1].metric);
}
