//! The benchmark workloads of `BENCHMARKS.md`, on any [`Device`], so that the native command and the browser's speed
//! test run the same code. Each workload first checks its result against the CPU reference (a
//! kernel that disagrees is reported as an error, not timed), runs once to warm up (reported separately: on the
//! GPU it includes compiling the pipelines), then times `runs` runs.

use crate::device::Device;
use crate::error::Result;
use crate::indices::Indices;
use crate::learner::{Loss, train_step};
use crate::models;
use crate::nn::{TabularConfig, TabularInput, TabularModel};
use crate::ops::conv2d::{Conv2d, Conv2dParams};
use crate::ops::gemm::Gemm;
use crate::optim::Optimizer;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::clock::now_ms;
use crate::data::Targets;

/// One workload on one device.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// The workload's name (a JSON key of BENCHMARKS.md).
    pub workload: &'static str,
    /// `cpu`, `gpu`, `wasm-cpu` or `webgpu`.
    pub backend: String,
    /// `images/s`, `rows/s` or `GFLOP/s`.
    pub unit: &'static str,
    /// One rate per timed run.
    pub rates: Vec<f64>,
    /// The warm-up run (pipeline creation and first dispatch on the GPU), in milliseconds.
    pub first_run_ms: f64,
    /// Why it was not timed (its result disagreed with the reference, or it failed).
    pub error: Option<String>,
}

impl Measurement {
    fn sorted(&self) -> Vec<f64> {
        let mut r = self.rates.clone();
        r.sort_by(f64::total_cmp);
        r
    }

    /// The median rate.
    pub fn median(&self) -> f64 {
        let r = self.sorted();
        if r.is_empty() { 0.0 } else { r[r.len() / 2] }
    }

    /// The slowest run.
    pub fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(0.0)
    }

    /// The fastest run.
    pub fn max(&self) -> f64 {
        self.sorted().last().copied().unwrap_or(0.0)
    }

    /// The measurement as a JSON object (BENCHMARKS.md's fields, plus the warm-up and any error).
    pub fn json(&self) -> String {
        self.json_with("")
    }

    /// [`Measurement::json`] with more fields (`extra`: `,"name":value` pairs) at the end.
    pub fn json_with(&self, extra: &str) -> String {
        let error = self.error.as_ref().map_or(String::new(), |e| format!(",\"error\":{}", json_string(e)));
        format!(
            "{{\"workload\":\"{}\",\"backend\":\"{}\",\"unit\":\"{}\",\"median\":{:.3},\"min\":{:.3},\"max\":{:.3},\"runs\":{},\"first_run_ms\":{:.2}{error}{extra}}}",
            self.workload,
            self.backend,
            self.unit,
            self.median(),
            self.min(),
            self.max(),
            self.rates.len(),
            self.first_run_ms
        )
    }
}

/// A JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out + "\""
}

/// What [`interleave`] runs after each timed run, given the workload's name and unit.
type BetweenRuns = Box<dyn FnMut(&'static str, &'static str)>;

thread_local! {
    /// What runs after each timed run on this thread (see [`interleave`]).
    static BETWEEN_RUNS: std::cell::RefCell<Option<BetweenRuns>> = const { std::cell::RefCell::new(None) };
}

/// Calls `between(workload, unit)` after each timed run of every workload on this thread, until [`stop_interleaving`]:
/// a peer library measured run for run with ours (`cargo xtask bench --pytorch`) sees the same spells of a shared,
/// noisy machine, so the ratio of the two medians means something even where each median swings.
pub fn interleave(between: impl FnMut(&'static str, &'static str) + 'static) {
    BETWEEN_RUNS.with(|hook| *hook.borrow_mut() = Some(Box::new(between)));
}

/// Ends [`interleave`].
pub fn stop_interleaving() {
    BETWEEN_RUNS.with(|hook| *hook.borrow_mut() = None);
}

/// Runs `work(1)` once to warm up and `runs` times timed; each run processes `amount` units (images, rows, FLOP)
/// per repetition. With `repeat`, a fast kernel is repeated within a run (up to 20 times, about 0.2 s) so that
/// reading its result back does not dominate the time.
async fn time<F, Fut>(workload: &'static str, backend: &str, unit: &'static str, amount: f64, runs: usize, repeat: bool, mut work: F) -> Measurement
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut m = Measurement { workload, backend: backend.to_string(), unit, rates: Vec::new(), first_run_ms: 0.0, error: None };
    let start = now_ms();
    if let Err(e) = work(1).await {
        m.error = Some(e.to_string());
        return m;
    }
    m.first_run_ms = now_ms() - start;
    let mut reps = 1;
    if repeat {
        let start = now_ms();
        if let Err(e) = work(1).await {
            m.error = Some(e.to_string());
            return m;
        }
        reps = (200.0 / (now_ms() - start).max(0.01)).clamp(1.0, 20.0) as usize;
    }
    for _ in 0..runs {
        let start = now_ms();
        if let Err(e) = work(reps).await {
            m.error = Some(e.to_string());
            return m;
        }
        m.rates.push(amount * reps as f64 / ((now_ms() - start) / 1000.0).max(1e-9));
        BETWEEN_RUNS.with(|hook| {
            if let Some(between) = hook.borrow_mut().as_mut() {
                between(workload, unit);
            }
        });
    }
    m
}

/// `None` when `got` matches `want` (atol 1e-3 + rtol 1e-3: sums of thousands of products), else what differs.
pub fn disagreement(got: &Tensor, want: &Tensor) -> Option<String> {
    if got.shape() != want.shape() {
        return Some(format!("shape {} instead of {}", got.shape(), want.shape()));
    }
    let worst = got.data().iter().zip(want.data()).enumerate().map(|(i, (g, w))| (i, (g - w).abs() - 1e-3 * w.abs())).fold((0, f32::MIN), |a, b| if b.1 > a.1 { b } else { a });
    (worst.1 > 1e-3 || got.data().iter().any(|v| !v.is_finite())).then(|| format!("disagrees with the CPU reference at index {} by {}", worst.0, worst.1))
}

/// The inputs of `gemm_512`, `conv_fwd` and `conv_bwd`, with their reference results.
pub struct KernelInputs {
    a: Tensor,
    b: Tensor,
    x: Tensor,
    w: Tensor,
    dy: Tensor,
    conv: Conv2d,
    gemm: Gemm,
    /// The reference results: `A·B`, the convolution, and its `dx`, `dw`.
    pub reference: Option<(Tensor, Tensor, Tensor, Tensor)>,
}

impl KernelInputs {
    /// The expected results from the CPU's fast paths instead of the reference loops (which take minutes in a
    /// browser): for checking another device against the CPU where the loops are too slow to run.
    pub fn expect_from_cpu(&mut self) {
        let product = self.gemm.forward(&self.a, &self.b, None).expect("CPU tensors, on one device");
        let y = self.conv.forward(&self.x, &self.w, None).expect("CPU tensors, on one device");
        let grads = self.conv.backward(&self.x, &self.w, &self.dy).expect("CPU tensors, on one device");
        self.reference = Some((product, y, grads.dx, grads.dw));
    }

    /// Random inputs; `with_reference` computes the reference results with the plain loops (seconds).
    pub fn new(with_reference: bool) -> KernelInputs {
        let mut rng = Rng::new(1);
        let (a, b) = (Tensor::randn([512, 512], &mut rng), Tensor::randn([512, 512], &mut rng));
        let x = Tensor::randn([16, 64, 32, 32], &mut rng);
        let w = Tensor::uniform([64, 64, 3, 3], -0.05, 0.05, &mut rng);
        let conv = Conv2d::new(&Conv2dParams::default().padding(1), x.shape(), w.shape(), None).expect("a valid convolution");
        let dy = Tensor::randn(conv.out_shape(), &mut rng);
        let gemm = Gemm::new(a.shape(), b.shape(), None, false, false, 1.0, 0.0).expect("a valid product");
        let reference = with_reference.then(|| {
            let product = gemm.reference_forward(&a, &b, None);
            let y = conv.reference_forward(&x, &w, None);
            let grads = conv.reference_backward(&x, &w, &dy);
            (product, y, grads.dx, grads.dw)
        });
        KernelInputs { a, b, x, w, dy, conv, gemm, reference }
    }
}

/// `gemm_512`: `C = A·B`, 512x512x512, read back at the end of each run.
pub async fn gemm_512(device: &Device, name: &str, inputs: &KernelInputs, runs: usize, repeat: bool) -> Measurement {
    let (a, m) = (inputs.a.to(device), inputs.b.to(device));
    let flop = 2.0 * 512f64.powi(3);
    if let Some((want, ..)) = &inputs.reference {
        match async { inputs.gemm.forward(&a, &m, None)?.read().await }.await {
            Ok(got) => {
                if let Some(e) = disagreement(&got, want) {
                    return failed("gemm_512", name, "GFLOP/s", e);
                }
            }
            Err(e) => return failed("gemm_512", name, "GFLOP/s", e.to_string()),
        }
    }
    let (a, m) = (&a, &m);
    time("gemm_512", name, "GFLOP/s", flop / 1e9, runs, repeat, |reps| async move {
        let mut c = inputs.gemm.forward(a, m, None)?;
        for _ in 1..reps {
            c = inputs.gemm.forward(a, m, None)?;
        }
        c.read().await.map(|_| ())
    })
    .await
}

/// `conv_fwd`: conv2d 3x3 padding 1, N 16, 64→64 channels, 32x32.
pub async fn conv_fwd(device: &Device, name: &str, inputs: &KernelInputs, runs: usize, repeat: bool) -> Measurement {
    let (x, w) = (inputs.x.to(device), inputs.w.to(device));
    let flop = 2.0 * 16.0 * 64.0 * 32.0 * 32.0 * 64.0 * 9.0;
    if let Some((_, want, ..)) = &inputs.reference {
        match async { inputs.conv.forward(&x, &w, None)?.read().await }.await {
            Ok(got) => {
                if let Some(e) = disagreement(&got, want) {
                    return failed("conv_fwd", name, "GFLOP/s", e);
                }
            }
            Err(e) => return failed("conv_fwd", name, "GFLOP/s", e.to_string()),
        }
    }
    let (x, w) = (&x, &w);
    time("conv_fwd", name, "GFLOP/s", flop / 1e9, runs, repeat, |reps| async move {
        let mut y = inputs.conv.forward(x, w, None)?;
        for _ in 1..reps {
            y = inputs.conv.forward(x, w, None)?;
        }
        y.read().await.map(|_| ())
    })
    .await
}

/// `conv_bwd`: the input and weight gradients of `conv_fwd` (twice its FLOP).
pub async fn conv_bwd(device: &Device, name: &str, inputs: &KernelInputs, runs: usize, repeat: bool) -> Measurement {
    let (x, w, dy) = (inputs.x.to(device), inputs.w.to(device), inputs.dy.to(device));
    let flop = 4.0 * 16.0 * 64.0 * 32.0 * 32.0 * 64.0 * 9.0;
    if let Some((_, _, want_dx, want_dw)) = &inputs.reference {
        let grads = match inputs.conv.backward(&x, &w, &dy) {
            Ok(grads) => grads,
            Err(e) => return failed("conv_bwd", name, "GFLOP/s", e.to_string()),
        };
        match (grads.dx.read().await, grads.dw.read().await) {
            (Ok(dx), Ok(dw)) => {
                if let Some(e) = disagreement(&dx, want_dx).or_else(|| disagreement(&dw, want_dw)) {
                    return failed("conv_bwd", name, "GFLOP/s", e);
                }
            }
            (Err(e), _) | (_, Err(e)) => return failed("conv_bwd", name, "GFLOP/s", e.to_string()),
        }
    }
    let (x, w, dy) = (&x, &w, &dy);
    time("conv_bwd", name, "GFLOP/s", flop / 1e9, runs, repeat, |reps| async move {
        let mut g = inputs.conv.backward(x, w, dy)?;
        for _ in 1..reps {
            g = inputs.conv.backward(x, w, dy)?;
        }
        g.dw.read().await?;
        g.dx.read().await.map(|_| ())
    })
    .await
}

fn failed(workload: &'static str, backend: &str, unit: &'static str, error: String) -> Measurement {
    Measurement { workload, backend: backend.into(), unit, rates: Vec::new(), first_run_ms: 0.0, error: Some(error) }
}

/// Steps per timed run of the training workloads (the loss is read back every 10 steps, as BENCHMARKS.md says).
const STEPS: usize = 20;

/// `digits_cnn_train`: training steps of the digits CNN on batches of 64 (SGD, momentum 0.9).
pub async fn digits_cnn_train(device: &Device, name: &str, runs: usize) -> Measurement {
    let mut rng = Rng::new(2);
    let mut model = models::digits_cnn(device, &mut rng);
    let x = Tensor::randn([64, 1, 8, 8], &mut rng).to(device);
    let targets = Targets::Classes(Indices::vector((0..64).map(|_| rng.below(10) as i64).collect()));
    let mut optimizer = Optimizer::sgd(0.0);
    let mut run = || {
        let mut last = None;
        for step in 0..STEPS {
            match train_step(&mut model, &mut optimizer, &x, &targets, Loss::CrossEntropy, 0.01, 0.9) {
                Ok(loss) if (step + 1) % 10 == 0 => last = Some(loss),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(last)
    };
    time("digits_cnn_train", name, "images/s", (STEPS * 64) as f64, runs, false, |_| {
        let result = run();
        async move {
            if let Some(loss) = result? {
                let value = loss.read().await?.data()[0];
                if !value.is_finite() {
                    return Err(crate::Error::Gpu(format!("the loss became {value}")));
                }
            }
            Ok(())
        }
    })
    .await
}

/// The tabular workload's batch: 8 categorical columns of BENCHMARKS.md's cardinalities and 16 continuous ones.
fn tabular_batch(device: &Device, rng: &mut Rng) -> (TabularInput, Targets, TabularConfig) {
    let cardinalities = vec![1115, 7, 31, 12, 3, 4, 4, 2];
    let cats = (0..512).flat_map(|_| cardinalities.iter().map(|&n| rng.below(n) as i64).collect::<Vec<_>>()).collect();
    let conts = Tensor::randn([512, 16], rng);
    let y = Tensor::uniform([512, 1], 7.0, 10.0, rng);
    let config = TabularConfig::rossmann(cardinalities, 16, (0.0, 48000f32.ln()));
    (TabularInput { cats: Indices::new([512, 8], cats).expect("512 rows of 8"), conts: conts.to(device) }, Targets::Values(y), config)
}

/// `tabular_train`: training steps of the Rossmann model on batches of 512 (Adam, lr 1e-3, MSE).
pub async fn tabular_train(device: &Device, name: &str, runs: usize) -> Measurement {
    let mut rng = Rng::new(3);
    let (input, targets, config) = tabular_batch(device, &mut rng);
    let mut model = match TabularModel::new(device, config, &mut rng) {
        Ok(m) => m,
        Err(e) => return failed("tabular_train", name, "rows/s", e.to_string()),
    };
    let mut optimizer = Optimizer::adam();
    time("tabular_train", name, "rows/s", (STEPS * 512) as f64 / 2.0, runs, false, |_| {
        let mut result = Ok(None);
        for step in 0..STEPS / 2 {
            match train_step(&mut model, &mut optimizer, &input, &targets, Loss::Mse, 1e-3, 0.9) {
                Ok(loss) if step + 1 == STEPS / 2 => result = Ok(Some(loss)),
                Ok(_) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        async move {
            if let Some(loss) = result? {
                loss.read().await?;
            }
            Ok(())
        }
    })
    .await
}

/// Checks that one training step of each model gives the same loss on `device` as on the CPU; `None` when it does.
pub async fn check_training(device: &Device) -> Option<String> {
    let cpu = Device::Cpu;
    let first_loss = |backend_loss: Result<Tensor>, cpu_loss: Result<Tensor>, what: &str| -> Option<String> {
        match (backend_loss, cpu_loss) {
            (Ok(g), Ok(c)) => disagreement(&g, &c).map(|e| format!("{what}: the first step's loss {e}")),
            (Err(e), _) | (_, Err(e)) => Some(format!("{what}: {e}")),
        }
    };
    async fn digits_loss(device: &Device) -> Result<Tensor> {
        let mut rng = Rng::new(2);
        let mut model = models::digits_cnn(device, &mut rng);
        let x = Tensor::randn([64, 1, 8, 8], &mut rng).to(device);
        let targets = Targets::Classes(Indices::vector((0..64).map(|_| rng.below(10) as i64).collect()));
        train_step(&mut model, &mut Optimizer::sgd(0.0), &x, &targets, Loss::CrossEntropy, 0.01, 0.9)?.read().await
    }
    async fn tabular_loss(device: &Device) -> Result<Tensor> {
        let mut rng = Rng::new(3);
        let (input, targets, config) = tabular_batch(device, &mut rng);
        let mut model = TabularModel::new(device, config, &mut rng)?;
        train_step(&mut model, &mut Optimizer::adam(), &input, &targets, Loss::Mse, 1e-3, 0.9)?.read().await
    }
    if let Some(e) = first_loss(digits_loss(device).await, digits_loss(&cpu).await, "digits_cnn_train") {
        return Some(e);
    }
    first_loss(tabular_loss(device).await, tabular_loss(&cpu).await, "tabular_train")
}

/// The workloads, in BENCHMARKS.md's order.
pub const WORKLOADS: [&str; 5] = ["digits_cnn_train", "tabular_train", "gemm_512", "conv_fwd", "conv_bwd"];

/// The workloads named in `only` (all of them when empty) on `device`, as `backend` (`cpu`, `gpu`, `wasm-cpu`,
/// `webgpu`); `runs` timed runs each. With `repeat` (a native GPU), a fast kernel is repeated within a run to
/// outweigh the readback.
pub async fn run_all(device: &Device, backend: &str, inputs: &KernelInputs, runs: usize, repeat: bool, only: &[&str]) -> Vec<Measurement> {
    let wanted = |w: &str| only.is_empty() || only.contains(&w);
    let mut results = Vec::new();
    if wanted("digits_cnn_train") || wanted("tabular_train") {
        let error = check_training(device).await;
        if wanted("digits_cnn_train") {
            results.push(match &error {
                Some(e) => failed("digits_cnn_train", backend, "images/s", e.clone()),
                None => digits_cnn_train(device, backend, runs).await,
            });
        }
        if wanted("tabular_train") {
            results.push(match &error {
                Some(e) => failed("tabular_train", backend, "rows/s", e.clone()),
                None => tabular_train(device, backend, runs).await,
            });
        }
    }
    if wanted("gemm_512") {
        results.push(gemm_512(device, backend, inputs, runs, repeat).await);
    }
    if wanted("conv_fwd") {
        results.push(conv_fwd(device, backend, inputs, runs, repeat).await);
    }
    if wanted("conv_bwd") {
        results.push(conv_bwd(device, backend, inputs, runs, repeat).await);
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interleaved_peer_runs_once_after_each_timed_run_until_stopped() {
        let calls = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let seen = std::rc::Rc::clone(&calls);
        interleave(move |workload, unit| seen.borrow_mut().push((workload, unit)));
        let inputs = KernelInputs::new(false);
        let m = pollster::block_on(gemm_512(&Device::Cpu, "cpu", &inputs, 3, false));
        assert_eq!(m.rates.len(), 3);
        // Not after the warm-up: the peer warms up on its own.
        assert_eq!(*calls.borrow(), vec![("gemm_512", "GFLOP/s"); 3]);
        stop_interleaving();
        pollster::block_on(gemm_512(&Device::Cpu, "cpu", &inputs, 2, false));
        assert_eq!(calls.borrow().len(), 3, "no calls once stopped");
    }
}
