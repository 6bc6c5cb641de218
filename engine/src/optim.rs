//! Optimizers over a model's parameters, and the one-cycle schedule of learning rate and momentum.
//!
//! The update rules themselves are ops ([`crate::ops::sgd`], [`crate::ops::adam`]) so that they run on the GPU with
//! the rest of the training step; this module keeps their per-parameter state and the step count.

use crate::error::Result;
use crate::nn::Param;
use crate::ops::adam::Adam;
use crate::ops::sgd::Sgd;
use crate::tensor::Tensor;
use std::f32::consts::PI;

/// Which update rule, with its fixed settings.
#[derive(Clone, Debug, PartialEq)]
pub enum OptimizerKind {
    /// SGD with momentum.
    Sgd {
        /// Dampening of new gradients in the momentum buffer.
        dampening: f32,
        /// L2 penalty.
        weight_decay: f32,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// Adam, or AdamW with `decoupled` weight decay.
    Adam {
        /// Decay of the second moment.
        beta2: f32,
        /// Added to the denominator.
        eps: f32,
        /// Weight decay.
        weight_decay: f32,
        /// AdamW.
        decoupled: bool,
    },
}

/// An optimizer: the rule and how many steps it has taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer {
    /// The rule.
    pub kind: OptimizerKind,
    /// Steps taken so far.
    pub steps: u32,
}

impl Optimizer {
    /// SGD (its momentum comes with each step, from the schedule).
    pub fn sgd(weight_decay: f32) -> Self {
        Optimizer { kind: OptimizerKind::Sgd { dampening: 0.0, weight_decay, nesterov: false }, steps: 0 }
    }

    /// Adam with PyTorch's β2 and ε.
    pub fn adam() -> Self {
        Optimizer { kind: OptimizerKind::Adam { beta2: 0.999, eps: 1e-8, weight_decay: 0.0, decoupled: false }, steps: 0 }
    }

    /// AdamW with decoupled weight decay (fastai's default optimizer uses 0.01).
    pub fn adamw(weight_decay: f32) -> Self {
        Optimizer { kind: OptimizerKind::Adam { beta2: 0.999, eps: 1e-8, weight_decay, decoupled: true }, steps: 0 }
    }

    /// Updates every trainable parameter that has a gradient, with learning rate `lr` and `momentum` (SGD's
    /// momentum, Adam's β1), in place; nothing is read back.
    pub fn step(&mut self, params: Vec<&mut Param>, lr: f32, momentum: f32) -> Result<()> {
        self.steps += 1;
        for p in params {
            let (true, Some(grad)) = (p.trainable, p.grad.take()) else { continue };
            match &self.kind {
                OptimizerKind::Sgd { dampening, weight_decay, nesterov } => {
                    let op = Sgd { lr, momentum, dampening: *dampening, weight_decay: *weight_decay, nesterov: *nesterov }.validated()?;
                    // SGD keeps one buffer; anything else (nothing yet, or another optimizer's state) starts afresh.
                    let mut velocity = if p.state.len() == 1 { p.state.pop() } else { None };
                    op.step(&mut p.value, &grad, &mut velocity)?;
                    p.state = velocity.into_iter().collect();
                }
                OptimizerKind::Adam { beta2, eps, weight_decay, decoupled } => {
                    let op = Adam { lr, beta1: momentum, beta2: *beta2, eps: *eps, weight_decay: *weight_decay, decoupled: *decoupled }.validated()?;
                    if p.state.len() != 2 {
                        let device = p.value.device();
                        p.state = vec![Tensor::zeros_on(&device, p.value.shape().clone()), Tensor::zeros_on(&device, p.value.shape().clone())];
                    }
                    let [m, v] = &mut p.state[..] else { unreachable!("Adam keeps two moments") };
                    op.step(self.steps, &mut p.value, &grad, m, v)?;
                }
            }
        }
        Ok(())
    }
}

/// fastai's one-cycle schedule: the learning rate warms up from `lr_max/div` to `lr_max` over the first
/// `pct_start` of training, then anneals to `lr_max/div_final`, both along a half cosine; momentum moves the
/// other way (0.95 → 0.85 → 0.95). A high learning rate in the middle explores; the low end settles.
#[derive(Clone, Debug, PartialEq)]
pub struct OneCycle {
    /// The peak learning rate.
    pub lr_max: f32,
    /// Steps in the whole run.
    pub total_steps: usize,
    /// The share of the run spent warming up.
    pub pct_start: f32,
    /// Start at `lr_max / div`.
    pub div: f32,
    /// End at `lr_max / div_final`.
    pub div_final: f32,
    /// Momentum at the start, the peak learning rate, and the end.
    pub moms: (f32, f32, f32),
}

impl OneCycle {
    /// fastai's defaults: `pct_start` 0.25, `div` 25, `div_final` 1e5, momentum (0.95, 0.85, 0.95).
    pub fn new(lr_max: f32, total_steps: usize) -> Self {
        OneCycle { lr_max, total_steps: total_steps.max(1), pct_start: 0.25, div: 25.0, div_final: 1e5, moms: (0.95, 0.85, 0.95) }
    }

    /// No schedule: `lr` and momentum 0.9 at every step (fastai's `learn.fit(epochs, lr)`, Adam's default β₁).
    pub fn constant(lr: f32, total_steps: usize) -> Self {
        OneCycle { lr_max: lr, total_steps: total_steps.max(1), pct_start: 0.25, div: 1.0, div_final: 1.0, moms: (0.9, 0.9, 0.9) }
    }

    /// `end + (start − end)/2 · (1 + cos(π·pct))`: from `start` at 0 to `end` at 1.
    fn cosine(start: f32, end: f32, pct: f32) -> f32 {
        end + (start - end) / 2.0 * (1.0 + (PI * pct.clamp(0.0, 1.0)).cos())
    }

    /// Where step `step` falls: (warming up?, progress within that phase).
    fn phase(&self, step: usize) -> (bool, f32) {
        let pct = step as f32 / self.total_steps as f32;
        if pct < self.pct_start { (true, pct / self.pct_start) } else { (false, (pct - self.pct_start) / (1.0 - self.pct_start)) }
    }

    /// The learning rate at `step`.
    pub fn lr(&self, step: usize) -> f32 {
        match self.phase(step) {
            (true, t) => Self::cosine(self.lr_max / self.div, self.lr_max, t),
            (false, t) => Self::cosine(self.lr_max, self.lr_max / self.div_final, t),
        }
    }

    /// The momentum at `step`.
    pub fn momentum(&self, step: usize) -> f32 {
        let (start, low, end) = self.moms;
        match self.phase(step) {
            (true, t) => Self::cosine(start, low, t),
            (false, t) => Self::cosine(low, end, t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    #[test]
    fn a_constant_schedule_keeps_the_rate_and_momentum() {
        let s = OneCycle::constant(0.01, 50);
        for step in [0, 10, 25, 49] {
            assert!((s.lr(step) - 0.01).abs() < 1e-9 && (s.momentum(step) - 0.9).abs() < 1e-7);
        }
    }

    #[test]
    fn one_cycle_warms_up_then_anneals() {
        let s = OneCycle::new(0.1, 100);
        assert!((s.lr(0) - 0.004).abs() < 1e-6);
        assert!((s.lr(25) - 0.1).abs() < 1e-6);
        assert!(s.lr(99) < 1e-4);
        assert!((s.momentum(0) - 0.95).abs() < 1e-6 && (s.momentum(25) - 0.85).abs() < 1e-6);
        assert!(s.lr(10) < s.lr(20) && s.lr(60) > s.lr(80));
    }

    #[test]
    fn switching_optimizers_starts_the_new_state_afresh_and_updates_in_place() {
        let mut p = Param::new("weight", Tensor::new([2], vec![1.0, 2.0]).unwrap());
        let grad = || Some(Tensor::new([2], vec![0.5, -1.0]).unwrap());
        p.grad = grad();
        Optimizer::adam().step(vec![&mut p], 0.1, 0.9).unwrap();
        assert_eq!(p.state.len(), 2, "Adam's two moments");
        // SGD after Adam: a fresh momentum buffer, so the first step is plain gradient descent.
        let before = p.value.clone();
        p.grad = grad();
        Optimizer::sgd(0.0).step(vec![&mut p], 0.1, 0.9).unwrap();
        assert_eq!(p.state.len(), 1, "SGD's one buffer");
        assert_eq!(p.state[0].data(), &[0.5, -1.0]);
        assert!((p.value.data()[0] - (before.data()[0] - 0.05)).abs() < 1e-6 && (p.value.data()[1] - (before.data()[1] + 0.1)).abs() < 1e-6);
        // The parameter is updated in place; the snapshot taken before keeps its values.
        assert_ne!(before.data(), p.value.data());
    }
}
