//! Training on another device (the GPU natively, WebGPU in the browser) against the CPU: the same models from the
//! same initial weights, trained for a few steps, must give the same losses and weights.

use crate::compare::all_close;
use engine::data::Targets;
use engine::learner::{Loss, train_step};
use engine::nn::{Model, TabularConfig, TabularInput, TabularModel};
use engine::optim::Optimizer;
use engine::rng::Rng;
use engine::{Device, Indices, Tensor, models};

/// Tolerance for weights after several steps: rounding compounds through the updates.
const ATOL: f32 = 1e-4;
const RTOL: f32 = 1e-3;

/// The losses of `steps` steps and the final weights of a model trained on one batch.
async fn run<M: Model>(model: &mut M, optimizer: &mut Optimizer, input: &M::Input, targets: &Targets, loss: Loss, steps: usize) -> Result<(Vec<f32>, Vec<Tensor>), String> {
    let mut losses = Vec::new();
    for step in 0..steps {
        let value = train_step(model, optimizer, input, targets, loss, 1e-2, 0.9).map_err(|e| e.to_string())?;
        losses.push(value.read().await.map_err(|e| format!("step {step}: {e}"))?.data()[0]);
    }
    let mut weights = Vec::new();
    for p in model.params_mut() {
        weights.push(p.value.read().await.map_err(|e| e.to_string())?);
    }
    Ok((losses, weights))
}

fn compare(what: &str, cpu: (Vec<f32>, Vec<Tensor>), other: (Vec<f32>, Vec<Tensor>)) -> Vec<String> {
    let mut failures = Vec::new();
    if let Err(m) = all_close(&format!("{what} losses"), &other.0, &cpu.0, ATOL, RTOL) {
        failures.push(m.to_string());
    }
    for (i, (c, o)) in cpu.1.iter().zip(&other.1).enumerate() {
        if let Err(m) = all_close(&format!("{what} parameter {i}"), o.data(), c.data(), ATOL, RTOL) {
            failures.push(m.to_string());
        }
    }
    failures
}

/// The digits CNN (convolutions, batch norm, pooling, SGD with momentum) for 3 steps on `device` and on the CPU.
pub async fn digits_cnn_agrees(device: &Device) -> Vec<String> {
    let mut rng = Rng::new(40);
    let x = Tensor::randn([8, 1, 8, 8], &mut rng);
    let t = Targets::Classes(Indices::vector((0..8).map(|i| i % 10).collect()));
    let train = |device: &Device| {
        let mut model = models::digits_cnn(device, &mut Rng::new(41));
        let x = x.to(device);
        let t = t.clone();
        async move { run(&mut model, &mut Optimizer::sgd(0.0), &x, &t, Loss::CrossEntropy, 3).await }
    };
    match (train(&Device::Cpu).await, train(device).await) {
        (Ok(c), Ok(o)) => compare("digits CNN", c, o),
        (Err(e), _) | (_, Err(e)) => vec![e],
    }
}

/// The tabular model (embeddings, embedding dropout, batch norm, dropout, sigmoid range, Adam) for 3 steps, in
/// fastai 2's form: without the hidden Linears' biases. With them, a unit whose ReLU passes on all 6 rows has a bias
/// gradient that is zero in exact arithmetic, so the CPU and the GPU each get rounding noise there, which Adam's
/// first steps turn into a full ±lr step of either sign: the two runs part for a reason no kernel can fix.
pub async fn tabular_model_agrees(device: &Device) -> Vec<String> {
    let mut rng = Rng::new(42);
    let config = TabularConfig { hidden: vec![16, 8], ps: vec![0.2, 0.1], emb_drop: 0.1, hidden_bias: false, ..TabularConfig::rossmann(vec![7, 3, 4], 3, (0.0, 5.0)) };
    let cats = Indices::new([6, 3], (0..18).map(|i| (i * 7 % 3) as i64).collect()).expect("6 rows of 3");
    let conts = Tensor::randn([6, 3], &mut rng);
    let t = Targets::Values(Tensor::uniform([6, 1], 1.0, 4.0, &mut rng));
    let train = |device: &Device| {
        let model = TabularModel::new(device, config.clone(), &mut Rng::new(43));
        let input = TabularInput { cats: cats.clone(), conts: conts.to(device) };
        let t = t.clone();
        async move {
            let mut model = model.map_err(|e| e.to_string())?;
            run(&mut model, &mut Optimizer::adam(), &input, &t, Loss::Mse, 3).await
        }
    };
    match (train(&Device::Cpu).await, train(device).await) {
        (Ok(c), Ok(o)) => compare("tabular model", c, o),
        (Err(e), _) | (_, Err(e)) => vec![e],
    }
}
