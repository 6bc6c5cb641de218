//! The checks every registered op gets from its [`Example`]s: the op on a device (the CPU's tuned path, a GPU's
//! kernels) against its reference loops, forward and backward, and the reference's gradients against finite
//! differences. The engine's unit tests run them on the CPU (for the ops with a CPU path of their own: an op whose
//! CPU path is its reference is not compared with itself); the `tests` crate runs them on the GPU natively and on
//! WebGPU in the browser. Test code: built for tests and under the `check` feature only.

use super::OPS;
use super::dispatch::{CpuPath, Example, Path};
use crate::device::Device;
use crate::rng::Rng;
use crate::tensor::Tensor;
use std::fmt;

pub use super::dispatch::{ATOL, RTOL};

/// Where two tensors disagree most.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// The tensor compared.
    pub tensor: String,
    /// Flat index of the worst element (or `None` for a shape or length mismatch).
    pub index: Option<usize>,
    /// What was computed there.
    pub got: f32,
    /// What was expected there.
    pub want: f32,
    /// `|got − want|`
    pub error: f32,
    /// More detail (shapes, how many elements are off).
    pub detail: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "{}: worst at index {i}: got {} want {} (error {:.3e}); {}", self.tensor, self.got, self.want, self.error, self.detail),
            None => write!(f, "{}: {}", self.tensor, self.detail),
        }
    }
}

/// Checks `|got − want| ≤ atol + rtol·|want|` for every element, like `torch.allclose`.
pub fn all_close(tensor: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) -> Result<(), Mismatch> {
    if got.len() != want.len() {
        let detail = format!("{} values computed, {} expected", got.len(), want.len());
        return Err(Mismatch { tensor: tensor.to_string(), index: None, got: f32::NAN, want: f32::NAN, error: f32::INFINITY, detail });
    }
    let mut worst: Option<(usize, f32)> = None;
    let mut off = 0;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let error = (g - w).abs();
        // A NaN never passes: `!(error <= bound)` is true for NaN, where `error > bound` would be false.
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        let off_by_too_much = !(error <= atol + rtol * w.abs());
        if off_by_too_much {
            off += 1;
            let excess = if error.is_nan() { f32::INFINITY } else { error - rtol * w.abs() };
            if worst.is_none_or(|(_, e)| excess > e) {
                worst = Some((i, excess));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((i, _)) => Err(Mismatch {
            tensor: tensor.to_string(),
            index: Some(i),
            got: got[i],
            want: want[i],
            error: (got[i] - want[i]).abs(),
            detail: format!("{off} of {} elements outside atol {atol:e} + rtol {rtol:e}", got.len()),
        }),
    }
}

/// What a check found: how many tensors it compared, and one line per disagreement.
#[derive(Debug, Default)]
pub struct Report {
    /// Tensors compared.
    pub compared: usize,
    /// One line per disagreement.
    pub failures: Vec<String>,
}

impl Report {
    /// Reads `got` back and compares it with the reference's `want`, to `|got − want| ≤ atol + rtol·|want|`.
    async fn agree(&mut self, what: &str, want: &Tensor, got: &Tensor, (atol, rtol): (f32, f32)) {
        self.compared += 1;
        match got.read().await {
            Err(e) => self.failures.push(format!("{what}: {e}")),
            Ok(got) if got.shape() != want.shape() => self.failures.push(format!("{what}: shape {} vs {}", got.shape(), want.shape())),
            Ok(got) => {
                if let Err(m) = all_close(what, got.data(), want.data(), atol, rtol) {
                    self.failures.push(m.to_string());
                }
            }
        }
    }

    /// Panics with every failure, or when nothing was compared.
    pub fn assert_ok(&self) {
        assert!(self.compared > 0, "nothing was compared");
        assert!(self.failures.is_empty(), "{} disagreements:\n{}", self.failures.len(), self.failures.join("\n"));
    }
}

/// Runs `example` on `device` (forward, then backward for random upstream gradients) and compares every output and
/// gradient with the reference loops.
pub async fn against_reference(example: &Example, device: &Device, report: &mut Report, rng: &mut Rng) {
    let op = &*example.op;
    let name = &example.name;
    let host: Vec<&Tensor> = example.inputs.iter().collect();
    let placed: Vec<Tensor> = example.inputs.iter().map(|t| t.to(device)).collect();
    let placed: Vec<&Tensor> = placed.iter().collect();
    let (want, got) = match (op.outputs(&host, Path::Reference), op.outputs(&placed, Path::Device)) {
        (Ok(want), Ok(got)) => (want, got),
        (Err(e), _) | (_, Err(e)) => {
            report.failures.push(format!("{name}: {e}"));
            return;
        }
    };
    if got.len() != want.len() {
        report.failures.push(format!("{name}: {} outputs on the device, {} in the reference", got.len(), want.len()));
        return;
    }
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        report.agree(&format!("{name} output {i}"), w, g, example.tolerance).await;
    }
    let differentiable = op.differentiable_outputs();
    if differentiable == 0 {
        return;
    }
    let dys: Vec<Tensor> = want[..differentiable].iter().map(|y| Tensor::randn(y.shape().clone(), rng)).collect();
    let want_grads = op.gradients(&host, &want.iter().collect::<Vec<_>>(), &dys.iter().collect::<Vec<_>>(), Path::Reference);
    let placed_dys: Vec<Tensor> = dys.iter().map(|t| t.to(device)).collect();
    let got_grads = op.gradients(&placed, &got.iter().collect::<Vec<_>>(), &placed_dys.iter().collect::<Vec<_>>(), Path::Device);
    let (want_grads, got_grads) = match (want_grads, got_grads) {
        (Ok(want), Ok(got)) => (want, got),
        (Err(e), _) | (_, Err(e)) => {
            report.failures.push(format!("{name} backward: {e}"));
            return;
        }
    };
    if got_grads.len() != example.inputs.len() || want_grads.len() != example.inputs.len() {
        report.failures.push(format!("{name}: backward must give one gradient (or none) per input"));
        return;
    }
    for (i, (w, g)) in want_grads.iter().zip(&got_grads).enumerate() {
        match (w, g) {
            (Some(w), Some(g)) => report.agree(&format!("{name} gradient of input {i}"), w, g, example.tolerance).await,
            (None, None) => {}
            _ => report.failures.push(format!("{name}: input {i} has a gradient on one path only")),
        }
    }
}

/// Every registered op's examples (drawn from `seed`) on `device` against the reference loops. On the CPU, only
/// the ops whose CPU path is their own (`cpu tuned`): the others would compare the reference with itself.
pub async fn every_op_against_reference(device: &Device, seed: u64) -> Report {
    let mut report = Report::default();
    for registered in OPS.iter().filter(|op| *device != Device::Cpu || op.cpu == CpuPath::Tuned) {
        let mut rng = Rng::new(seed);
        for example in (registered.examples)(&mut rng) {
            against_reference(&example, device, &mut report, &mut rng).await;
        }
    }
    report
}

/// The most elements of one input whose gradient is estimated by finite differences (spread evenly over the input).
const PROBED: usize = 48;

/// The reference backward of `example` against central differences of its reference forward: with
/// `L = Σ_k Σ y_k·dy_k` over the differentiable outputs, each probed `∂L/∂x[i]` estimated as
/// `(L(x + ε) − L(x − ε)) / 2ε` must match the gradient backward gives, to `1e-2·(1 + |∂L/∂x[i]|)`.
pub fn gradients(example: &Example, rng: &mut Rng) -> Vec<String> {
    let Some(eps) = example.finite_differences else { return Vec::new() };
    let op = &*example.op;
    let inputs: Vec<&Tensor> = example.inputs.iter().collect();
    let reference = |inputs: &[&Tensor]| op.outputs(inputs, Path::Reference).expect("the reference runs on CPU tensors");
    let outputs = reference(&inputs);
    let k = op.differentiable_outputs();
    let dys: Vec<Tensor> = outputs[..k].iter().map(|y| Tensor::randn(y.shape().clone(), rng)).collect();
    let loss = |inputs: &[&Tensor]| -> f64 {
        let outputs = reference(inputs);
        outputs[..k].iter().zip(&dys).map(|(y, dy)| y.data().iter().zip(dy.data()).map(|(a, g)| *a as f64 * *g as f64).sum::<f64>()).sum()
    };
    let grads = op.gradients(&inputs, &outputs.iter().collect::<Vec<_>>(), &dys.iter().collect::<Vec<_>>(), Path::Reference);
    let grads = grads.expect("the reference runs on CPU tensors");
    let mut failures = Vec::new();
    for (which, grad) in grads.iter().enumerate() {
        let Some(grad) = grad else { continue };
        if grad.shape() != inputs[which].shape() {
            failures.push(format!("{}: the gradient of input {which} has shape {}, the input {}", example.name, grad.shape(), inputs[which].shape()));
            continue;
        }
        let n = grad.numel();
        for i in (0..n).step_by(n.div_ceil(PROBED).max(1)) {
            let nudged = |e: f32| {
                let mut moved = inputs[which].clone();
                moved.data_mut()[i] += e;
                let mut with: Vec<&Tensor> = inputs.clone();
                with[which] = &moved;
                loss(&with)
            };
            let numeric = (nudged(eps) - nudged(-eps)) / (2.0 * eps as f64);
            let analytic = grad.data()[i] as f64;
            if (numeric - analytic).abs() >= 1e-2 * (1.0 + analytic.abs()) {
                failures.push(format!("{}: input {which} element {i}: backward gives {analytic}, finite differences {numeric}", example.name));
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_values_pass_and_the_worst_offender_is_named() {
        assert!(all_close("y", &[1.0, 2.0], &[1.0, 2.00001], ATOL, RTOL).is_ok());
        let m = all_close("y", &[1.0, 2.5, 3.1], &[1.0, 2.0, 3.0], ATOL, RTOL).unwrap_err();
        assert_eq!(m.index, Some(1));
        assert!(m.to_string().contains("2 of 3"), "{m}");
        assert!(all_close("y", &[f32::NAN], &[0.0], ATOL, RTOL).is_err());
        assert!(all_close("y", &[0.0], &[0.0, 1.0], ATOL, RTOL).is_err());
    }

    #[test]
    fn every_op_with_a_cpu_path_of_its_own_matches_its_reference_loops() {
        // The CPU's tuned paths: im2col, the tuned products, the vectorised batch norm, the threaded loops.
        let report = pollster::block_on(every_op_against_reference(&Device::Cpu, 1));
        report.assert_ok();
        let tuned = OPS.iter().filter(|op| op.cpu == CpuPath::Tuned).count();
        assert!(report.compared >= tuned, "{} comparisons for {tuned} ops with a tuned CPU path", report.compared);
    }

    #[test]
    fn each_op_s_registration_says_what_its_cpu_runs() {
        // An op with a tuned path calls into the CPU device (`cpu::`), or runs on the strided product (`.run(`),
        // which does; an op registered as running its reference must not, or its fast path would go unchecked.
        for op in OPS {
            let calls_the_cpu_device = op.source.contains("cpu::");
            match op.cpu {
                CpuPath::Tuned => assert!(calls_the_cpu_device || op.source.contains(".run("), "{} is registered `cpu tuned` but has no CPU path of its own", op.name),
                CpuPath::Reference => assert!(!calls_the_cpu_device, "{} has a CPU path of its own: register it `cpu tuned`", op.name),
            }
        }
    }


    #[test]
    fn every_op_s_reference_gradients_match_finite_differences() {
        let mut failures = Vec::new();
        let mut checked = 0;
        for registered in OPS {
            let mut rng = Rng::new(2);
            for example in (registered.examples)(&mut rng) {
                checked += example.finite_differences.is_some() as usize;
                failures.extend(gradients(&example, &mut rng));
            }
        }
        assert!(checked > 0, "no example was checked");
        assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    }

    #[test]
    fn every_registered_op_has_examples() {
        for registered in OPS {
            assert!(!(registered.examples)(&mut Rng::new(3)).is_empty(), "{} has no examples", registered.name);
        }
    }
}
