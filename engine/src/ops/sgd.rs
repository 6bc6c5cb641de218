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

use crate::backend::gpu::{Gpu, GpuTensor};
use crate::backend::DeviceTensor;
use crate::error::{ErrorKind, OpError, Result};
use crate::tensor::Tensor;

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
            return Err(OpError::new("sgd", ErrorKind::Value, "the optimizer settings are out of range")
                .expected("lr ≥ 0, 0 ≤ momentum ≤ 1, weight_decay ≥ 0")
                .given(format!("lr {}, momentum {}, weight_decay {}", self.lr, self.momentum, self.weight_decay))
                .hint("typical values: lr 0.01 to 0.1, momentum 0.9")
                .into());
        }
        Ok(self)
    }

    /// One step of the CPU reference: the new parameter and momentum buffer (`velocity` is `None` on the first
    /// step).
    pub fn step(&self, param: &Tensor, grad: &Tensor, velocity: Option<&Tensor>) -> (Tensor, Tensor) {
        let n = param.data().len();
        let (mut new_param, mut new_velocity) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let p = param.data()[i];
            let mut g = grad.data()[i] + self.weight_decay * p;
            if self.momentum != 0.0 {
                let v = velocity.map_or(g, |v| self.momentum * v.data()[i] + (1.0 - self.dampening) * g);
                new_velocity.push(v);
                g = if self.nesterov { g + self.momentum * v } else { v };
            } else {
                new_velocity.push(g);
            }
            new_param.push(p - self.lr * g);
        }
        let shape = param.shape().clone();
        (Tensor::new(shape.clone(), new_param).expect("same size"), Tensor::new(shape, new_velocity).expect("same size"))
    }

    /// One step on the GPU (`shaders/sgd.wgsl`).
    pub fn step_gpu(&self, gpu: &Gpu, param: &GpuTensor, grad: &GpuTensor, velocity: Option<&GpuTensor>) -> (GpuTensor, GpuTensor) {
        let (new_param, new_velocity) = (gpu.empty(param.shape().clone()), gpu.empty(param.shape().clone()));
        let u = [
            param.numel() as u32,
            self.lr.to_bits(),
            self.momentum.to_bits(),
            self.dampening.to_bits(),
            self.weight_decay.to_bits(),
            self.nesterov as u32,
            velocity.is_some() as u32,
            0,
        ];
        let velocity = velocity.map_or(gpu.placeholder(), GpuTensor::buffer);
        let bindings = [(1, param.buffer()), (2, grad.buffer()), (3, velocity), (4, new_param.buffer()), (5, new_velocity.buffer())];
        gpu.dispatch("sgd", "step", &u, &bindings, param.numel());
        (new_param, new_velocity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn momentum_accumulates_like_pytorch() {
        let opt = Sgd::new(0.1, 0.9).unwrap();
        let p = Tensor::new([1], vec![1.0]).unwrap();
        let g = Tensor::new([1], vec![1.0]).unwrap();
        let (p1, v1) = opt.step(&p, &g, None);
        assert!((p1.data()[0] - 0.9).abs() < 1e-6 && v1.data()[0] == 1.0);
        let (p2, v2) = opt.step(&p1, &g, Some(&v1));
        assert!((v2.data()[0] - 1.9).abs() < 1e-6 && (p2.data()[0] - 0.71).abs() < 1e-6);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Sgd::new(-0.1, 0.9).is_err());
        assert!(Sgd::new(0.1, 1.5).is_err());
    }
}
