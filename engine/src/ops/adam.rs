//! Adam and AdamW, exactly as `torch.optim.Adam` / `AdamW` step (bias-corrected, ε added after the square root):
//!
//! ```text
//! Adam:  g = grad + weight_decay · param          AdamW:  param = param · (1 − lr · weight_decay),  g = grad
//! m = β1·m + (1 − β1)·g          v = β2·v + (1 − β2)·g²
//! param = param − lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
//! ```
//!
//! `m` follows the gradient's direction, `v` its size: each parameter gets its own step size.
//!
//! As an [`Op`]: inputs `[param, grad, m, v]`, outputs `[param, m, v]` after step `t`.

use super::dispatch::common_device;
use crate::device::gpu::Gpu;
use crate::device::{Device, cpu};
use crate::error::{ErrorKind, OpError, Result};
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

const OP: &str = "adam";

/// Adam settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first moment.
    pub beta1: f32,
    /// Decay of the second moment.
    pub beta2: f32,
    /// Added to the denominator.
    pub eps: f32,
    /// Weight decay: an L2 penalty (Adam) or decoupled (AdamW).
    pub weight_decay: f32,
    /// AdamW's decoupled weight decay.
    pub decoupled: bool,
}

impl Adam {
    /// Adam with PyTorch's defaults (β 0.9, 0.999; ε 1e-8) and learning rate `lr`.
    pub fn new(lr: f32) -> Result<Adam> {
        Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, decoupled: false }.validated()
    }

    /// Checks the settings.
    pub fn validated(self) -> Result<Adam> {
        let ok = self.lr.is_finite()
            && self.lr >= 0.0
            && (0.0..1.0).contains(&self.beta1)
            && (0.0..1.0).contains(&self.beta2)
            && self.eps > 0.0
            && self.weight_decay >= 0.0;
        if !ok {
            return Err(OpError::new(OP, ErrorKind::Value, "the optimizer settings are out of range")
                .expected("lr ≥ 0, 0 ≤ β1, β2 < 1, ε > 0, weight_decay ≥ 0")
                .given(format!("lr {}, betas ({}, {}), eps {}, weight_decay {}", self.lr, self.beta1, self.beta2, self.eps, self.weight_decay))
                .hint("PyTorch's defaults are lr 1e-3, betas (0.9, 0.999), eps 1e-8")
                .into());
        }
        Ok(self)
    }

    /// Step `step` (from 1) on the parameter's device: updates the parameter and its first and second moments.
    /// On a GPU the new values go to fresh buffers, which then replace the old ones (a tensor that shares the old
    /// buffer, such as a lesson's snapshot of the weights, keeps its values). The CPU splits the parameter
    /// between its cores ([`cpu::elementwise::update_in_place`]), each value updated by [`Adam::update`].
    pub fn step(&self, step: u32, param: &mut Tensor, grad: &Tensor, m: &mut Tensor, v: &mut Tensor) -> Result<()> {
        match common_device(OP, [&*param, grad, &*m, &*v])? {
            Device::Cpu => {
                let (step_size, root_bc2) = self.step_constants(step);
                // The settings copied into the loop's closure (`move`), so that the loop vectorises.
                let adam = *self;
                let update = move |p, g, m, v| adam.update(p, g, m, v, step_size, root_bc2);
                cpu::elementwise::update_in_place(param.data_mut(), grad.data(), m.data_mut(), v.data_mut(), update);
            }
            Device::Gpu(gpu) => self.step_gpu(&gpu, step, param, grad, m, v),
        }
        Ok(())
    }

    /// `(1 − β1^t, 1 − β2^t)` for step `t` (from 1), computed in f64.
    fn corrections(&self, step: u32) -> (f32, f32) {
        let t = step.max(1) as i32;
        ((1.0 - (self.beta1 as f64).powi(t)) as f32, (1.0 - (self.beta2 as f64).powi(t)) as f32)
    }

    /// The per-step constants of [`Adam::update`]: `(lr / (1 − β1^t), √(1 − β2^t))`.
    pub fn step_constants(&self, step: u32) -> (f32, f32) {
        let (bc1, bc2) = self.corrections(step);
        (self.lr / bc1, bc2.sqrt())
    }

    /// One parameter's update: `(param, m, v)` after the step, from its gradient `g`.
    #[inline]
    pub fn update(&self, mut p: f32, mut g: f32, m: f32, v: f32, step_size: f32, root_bc2: f32) -> (f32, f32, f32) {
        if self.decoupled {
            p *= 1.0 - self.lr * self.weight_decay;
        } else {
            g += self.weight_decay * p;
        }
        let m = self.beta1 * m + (1.0 - self.beta1) * g;
        let v = self.beta2 * v + (1.0 - self.beta2) * g * g;
        let denom = v.sqrt() / root_bc2 + self.eps;
        (p - step_size * m / denom, m, v)
    }

    /// The reference: one step, in place.
    pub fn reference_step(&self, step: u32, param: &mut Tensor, grad: &Tensor, m: &mut Tensor, v: &mut Tensor) {
        let (step_size, root_bc2) = self.step_constants(step);
        let (p, m, v) = (param.data_mut(), m.data_mut(), v.data_mut());
        for i in 0..p.len() {
            (p[i], m[i], v[i]) = self.update(p[i], grad.data()[i], m[i], v[i], step_size, root_bc2);
        }
    }
}

uniforms! {
    /// The `Params` of `shaders/adam.wgsl`.
    pub struct Uniforms {
        total: u32, lr: f32, beta1: f32, beta2: f32,
        eps: f32, weight_decay: f32, decoupled: u32, correction1: f32,
        correction2: f32,
    }
}

kernels! {
    shader "adam", uniforms Uniforms;
    STEP = step(param: 1, grad: 2, m: 3, v: 4, new_param: 5, new_m: 6, new_v: 7);
}

impl Adam {
    fn step_gpu(&self, gpu: &Gpu, step: u32, param: &mut Tensor, grad: &Tensor, m: &mut Tensor, v: &mut Tensor) {
        let (correction1, correction2) = self.corrections(step);
        let shape = param.shape().clone();
        let (p2, m2, v2) = (Tensor::empty_on(gpu, shape.clone()), Tensor::empty_on(gpu, shape.clone()), Tensor::empty_on(gpu, shape));
        let u = Uniforms {
            total: param.numel() as u32,
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
            decoupled: self.decoupled as u32,
            correction1,
            correction2,
        };
        let buffers = [param.buffer(), grad.buffer(), m.buffer(), v.buffer(), p2.buffer(), m2.buffer(), v2.buffer()];
        gpu.dispatch(&STEP, &u, buffers, param.numel());
        (*param, *m, *v) = (p2, m2, v2);
    }
}

/// Step `t` of an Adam, as an [`crate::ops::Op`].
#[cfg(any(test, feature = "check"))]
struct AdamStep(Adam, u32);

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for AdamStep {
    fn differentiable_outputs(&self) -> usize {
        0
    }

    fn outputs(&self, x: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        let (mut param, mut m, mut v) = (x[0].clone(), x[2].clone(), x[3].clone());
        match path {
            crate::ops::dispatch::Path::Reference => self.0.reference_step(self.1, &mut param, x[1], &mut m, &mut v),
            crate::ops::dispatch::Path::Device => self.0.step(self.1, &mut param, x[1], &mut m, &mut v)?,
        }
        Ok(vec![param, m, v])
    }

    fn gradients(&self, _: &[&Tensor], _: &[&Tensor], _: &[&Tensor], _: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![None; 4])
    }
}

/// Adam and AdamW, on a first and a later step, and a parameter large enough to be split between threads.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    use crate::ops::dispatch::Example;
    let mut out = Vec::new();
    let adamw = Adam { weight_decay: 0.01, decoupled: true, ..Adam::new(1e-2).expect("valid") };
    let adam_l2 = Adam { weight_decay: 0.1, ..Adam::new(1e-3).expect("valid") };
    for (name, adam) in [("adam", adam_l2), ("adamw", adamw)] {
        for (step, len) in [(1, 15), (7, 15), (3, 70_000)] {
            let inputs = vec![Tensor::randn([len], rng), Tensor::randn([len], rng), Tensor::randn([len], rng), Tensor::uniform([len], 0.0, 1.0, rng)];
            out.push(Example::new(format!("{name} step {step} of {len} values"), AdamStep(adam, step), inputs).finite_differences(None));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_step_moves_each_parameter_by_about_lr() {
        // With bias correction, m̂ = g and v̂ = g² on step 1: the step is lr · g/|g|.
        let opt = Adam::new(0.01).unwrap();
        let mut p = Tensor::new([2], vec![1.0, 1.0]).unwrap();
        let g = Tensor::new([2], vec![0.5, -3.0]).unwrap();
        opt.step(1, &mut p, &g, &mut Tensor::zeros([2]), &mut Tensor::zeros([2])).unwrap();
        assert!((p.data()[0] - 0.99).abs() < 1e-5 && (p.data()[1] - 1.01).abs() < 1e-5, "{p:?}");
    }

    #[test]
    fn adamw_decays_the_weights_themselves() {
        let opt = Adam { weight_decay: 0.1, decoupled: true, ..Adam::new(0.1).unwrap() };
        let mut p = Tensor::new([1], vec![2.0]).unwrap();
        opt.reference_step(1, &mut p, &Tensor::zeros([1]), &mut Tensor::zeros([1]), &mut Tensor::zeros([1]));
        assert!((p.data()[0] - 2.0 * 0.99).abs() < 1e-6);
    }
}
