//! Stochastic gradient descent with momentum and weight decay, exactly as `torch.optim.SGD` steps:
//!
//! ```text
//! g = grad + weight_decay · param
//! v = g                                  on the first step
//! v = momentum · v + (1 − dampening) · g  afterwards
//! g = g + momentum · v  (Nesterov)  or  v
//! param = param − lr · g
//! ```
//!
//! Momentum keeps a running direction, so steps speed up along consistent gradients and damp oscillations.
//!
//! As an [`Op`]: inputs `[param, grad]` on the first step, `[param, grad, velocity]` after it; outputs
//! `[param, velocity]`.

use super::dispatch::common_device;
use crate::device::Device;
use crate::device::gpu::Gpu;
use crate::error::{ErrorKind, OpError, Result};
use crate::tensor::Tensor;
use crate::{kernels, uniforms};

const OP: &str = "sgd";

/// SGD settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f32,
    /// Momentum (0: plain SGD).
    pub momentum: f32,
    /// Dampening of new gradients in the momentum buffer.
    pub dampening: f32,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl Sgd {
    /// SGD with learning rate `lr` and `momentum`, no dampening or weight decay.
    pub fn new(lr: f32, momentum: f32) -> Result<Sgd> {
        Sgd { lr, momentum, dampening: 0.0, weight_decay: 0.0, nesterov: false }.validated()
    }

    /// Checks the settings.
    pub fn validated(self) -> Result<Sgd> {
        let ok = self.lr.is_finite() && self.lr >= 0.0 && (0.0..=1.0).contains(&self.momentum) && self.weight_decay >= 0.0;
        if !ok {
            return Err(OpError::new(OP, ErrorKind::Value, "the optimizer settings are out of range")
                .expected("lr ≥ 0, 0 ≤ momentum ≤ 1, weight_decay ≥ 0")
                .given(format!("lr {}, momentum {}, weight_decay {}", self.lr, self.momentum, self.weight_decay))
                .hint("typical values: lr 0.01 to 0.1, momentum 0.9")
                .into());
        }
        Ok(self)
    }

    /// One step on the parameter's device: updates the parameter and its momentum buffer (`velocity` is `None`
    /// before the first step and holds the buffer after it). On a GPU, like [`crate::ops::adam::Adam::step`],
    /// fresh buffers replace the old ones. The CPU runs the reference.
    pub fn step(&self, param: &mut Tensor, grad: &Tensor, velocity: &mut Option<Tensor>) -> Result<()> {
        match common_device(OP, [&*param, grad].into_iter().chain(velocity.as_ref()))? {
            Device::Cpu => self.reference_step(param, grad, velocity),
            Device::Gpu(gpu) => self.step_gpu(&gpu, param, grad, velocity),
        }
        Ok(())
    }

    /// The reference: one step, in place.
    pub fn reference_step(&self, param: &mut Tensor, grad: &Tensor, velocity: &mut Option<Tensor>) {
        let first = velocity.is_none();
        let velocity = velocity.get_or_insert_with(|| Tensor::zeros(param.shape().clone()));
        for ((p, &g), v) in param.data_mut().iter_mut().zip(grad.data()).zip(velocity.data_mut()) {
            let mut g = g + self.weight_decay * *p;
            if self.momentum != 0.0 {
                *v = if first { g } else { self.momentum * *v + (1.0 - self.dampening) * g };
                g = if self.nesterov { g + self.momentum * *v } else { *v };
            } else {
                *v = g;
            }
            *p -= self.lr * g;
        }
    }
}

uniforms! {
    /// The `Params` of `shaders/sgd.wgsl`.
    pub struct Uniforms {
        total: u32, lr: f32, momentum: f32, dampening: f32,
        weight_decay: f32, nesterov: u32, has_velocity: u32,
    }
}

kernels! {
    shader "sgd", uniforms Uniforms;
    STEP = step(param: 1, grad: 2, velocity: 3, new_param: 4, new_velocity: 5);
}

impl Sgd {
    fn step_gpu(&self, gpu: &Gpu, param: &mut Tensor, grad: &Tensor, velocity: &mut Option<Tensor>) {
        let (new_param, new_velocity) = (Tensor::empty_on(gpu, param.shape().clone()), Tensor::empty_on(gpu, param.shape().clone()));
        let u = Uniforms {
            total: param.numel() as u32,
            lr: self.lr,
            momentum: self.momentum,
            dampening: self.dampening,
            weight_decay: self.weight_decay,
            nesterov: self.nesterov as u32,
            has_velocity: velocity.is_some() as u32,
        };
        let old_velocity = velocity.as_ref().map_or(gpu.placeholder(), Tensor::buffer);
        let buffers = [param.buffer(), grad.buffer(), old_velocity, new_param.buffer(), new_velocity.buffer()];
        gpu.dispatch(&STEP, &u, buffers, param.numel());
        (*param, *velocity) = (new_param, Some(new_velocity));
    }
}

#[cfg(any(test, feature = "check"))]
impl crate::ops::dispatch::Op for Sgd {
    fn differentiable_outputs(&self) -> usize {
        0
    }

    fn outputs(&self, x: &[&Tensor], path: crate::ops::dispatch::Path) -> Result<Vec<Tensor>> {
        let (mut param, mut velocity) = (x[0].clone(), x.get(2).map(|v| (*v).clone()));
        match path {
            crate::ops::dispatch::Path::Reference => self.reference_step(&mut param, x[1], &mut velocity),
            crate::ops::dispatch::Path::Device => self.step(&mut param, x[1], &mut velocity)?,
        }
        Ok(vec![param, velocity.expect("a step leaves a velocity")])
    }

    fn gradients(&self, x: &[&Tensor], _: &[&Tensor], _: &[&Tensor], _: crate::ops::dispatch::Path) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![None; x.len()])
    }
}

/// Momentum, Nesterov with dampening and weight decay, and plain SGD, on a first and a later step.
#[cfg(any(test, feature = "check"))]
pub fn examples(rng: &mut crate::rng::Rng) -> Vec<crate::ops::dispatch::Example> {
    let mut out = Vec::new();
    for sgd in [
        Sgd::new(0.1, 0.9).expect("valid"),
        Sgd { lr: 0.05, momentum: 0.8, dampening: 0.1, weight_decay: 0.01, nesterov: true },
        Sgd::new(0.1, 0.0).expect("valid"),
    ] {
        for first in [true, false] {
            let mut inputs = vec![Tensor::randn([3, 5], rng), Tensor::randn([3, 5], rng)];
            if !first {
                inputs.push(Tensor::randn([3, 5], rng));
            }
            out.push(crate::ops::dispatch::Example::new(format!("{sgd:?}, first step {first}"), sgd.clone(), inputs).finite_differences(None));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn momentum_accumulates_like_pytorch() {
        let opt = Sgd::new(0.1, 0.9).unwrap();
        let (mut p, mut v) = (Tensor::new([1], vec![1.0]).unwrap(), None);
        let g = Tensor::new([1], vec![1.0]).unwrap();
        opt.step(&mut p, &g, &mut v).unwrap();
        assert!((p.data()[0] - 0.9).abs() < 1e-6 && v.as_ref().unwrap().data()[0] == 1.0);
        opt.step(&mut p, &g, &mut v).unwrap();
        assert!((v.unwrap().data()[0] - 1.9).abs() < 1e-6 && (p.data()[0] - 0.71).abs() < 1e-6);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Sgd::new(-0.1, 0.9).is_err());
        assert!(Sgd::new(0.1, 1.5).is_err());
    }
}
