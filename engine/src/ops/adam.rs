//! Adam and AdamW, exactly as `torch.optim.Adam` / `AdamW` step (bias-corrected, ε added after the square root):
//!
//! ```text
//! Adam:  g = grad + weight_decay · param          AdamW:  param = param · (1 − lr · weight_decay),  g = grad
//! m = β1·m + (1 − β1)·g          v = β2·v + (1 − β2)·g²
//! param = param − lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
//! ```
//!
//! `m` follows the gradient's direction, `v` its size: each parameter gets its own step size.

use crate::backend::gpu::{Gpu, GpuTensor};
use crate::backend::parallel;
use crate::backend::DeviceTensor;
use crate::error::{ErrorKind, OpError, Result};
use crate::tensor::Tensor;

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
            return Err(OpError::new("adam", ErrorKind::Value, "the optimizer settings are out of range")
                .expected("lr ≥ 0, 0 ≤ β1, β2 < 1, ε > 0, weight_decay ≥ 0")
                .given(format!("lr {}, betas ({}, {}), eps {}, weight_decay {}", self.lr, self.beta1, self.beta2, self.eps, self.weight_decay))
                .hint("PyTorch's defaults are lr 1e-3, betas (0.9, 0.999), eps 1e-8")
                .into());
        }
        Ok(self)
    }

    /// `(1 − β1^t, 1 − β2^t)` for step `t` (from 1), computed in f64.
    fn corrections(&self, step: u32) -> (f32, f32) {
        let t = step.max(1) as i32;
        ((1.0 - (self.beta1 as f64).powi(t)) as f32, (1.0 - (self.beta2 as f64).powi(t)) as f32)
    }

    /// One step of the CPU reference: updates the parameter and its first and second moments in place.
    pub fn step(&self, step: u32, param: &mut Tensor, grad: &Tensor, m: &mut Tensor, v: &mut Tensor) {
        let (bc1, bc2) = self.corrections(step);
        // Per-step constants, computed once (the GPU computes the same values per element).
        let (step_size, root_bc2) = (self.lr / bc1, bc2.sqrt());
        let g = grad.data();
        // The settings copied into the loop's closure (`move`): read through references, they would be reloaded
        // after every store (the compiler cannot tell that the tensors do not overlap them) and the loop would not
        // vectorise.
        let Adam { lr, beta1, beta2, eps, weight_decay, decoupled } = *self;
        parallel::for_chunks([param.data_mut(), m.data_mut(), v.data_mut()], move |start, [p, m, v]| {
            for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(&g[start..]) {
                let g = if decoupled {
                    *p *= 1.0 - lr * weight_decay;
                    g
                } else {
                    g + weight_decay * *p
                };
                *m = beta1 * *m + (1.0 - beta1) * g;
                *v = beta2 * *v + (1.0 - beta2) * g * g;
                let denom = v.sqrt() / root_bc2 + eps;
                *p -= step_size * *m / denom;
            }
        });
    }

    /// One step on the GPU (`shaders/adam.wgsl`): the new values go to fresh buffers, which then replace the old
    /// ones (a tensor that shares the old buffer, such as a lesson's snapshot of the weights, keeps its values).
    pub fn step_gpu(&self, gpu: &Gpu, step: u32, param: &mut GpuTensor, grad: &GpuTensor, m: &mut GpuTensor, v: &mut GpuTensor) {
        let (bc1, bc2) = self.corrections(step);
        let shape = param.shape().clone();
        let (p2, m2, v2) = (gpu.empty(shape.clone()), gpu.empty(shape.clone()), gpu.empty(shape));
        let u = [
            param.numel() as u32,
            self.lr.to_bits(),
            self.beta1.to_bits(),
            self.beta2.to_bits(),
            self.eps.to_bits(),
            self.weight_decay.to_bits(),
            self.decoupled as u32,
            bc1.to_bits(),
            bc2.to_bits(),
        ];
        let bindings = [
            (1, param.buffer()),
            (2, grad.buffer()),
            (3, m.buffer()),
            (4, v.buffer()),
            (5, p2.buffer()),
            (6, m2.buffer()),
            (7, v2.buffer()),
        ];
        gpu.dispatch("adam", "step", &u, &bindings, param.numel());
        (*param, *m, *v) = (p2, m2, v2);
    }
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
        opt.step(1, &mut p, &g, &mut Tensor::zeros([2]), &mut Tensor::zeros([2]));
        assert!((p.data()[0] - 0.99).abs() < 1e-5 && (p.data()[1] - 1.01).abs() < 1e-5, "{p:?}");
    }

    #[test]
    fn adamw_decays_the_weights_themselves() {
        let opt = Adam { weight_decay: 0.1, decoupled: true, ..Adam::new(0.1).unwrap() };
        let mut p = Tensor::new([1], vec![2.0]).unwrap();
        opt.step(1, &mut p, &Tensor::zeros([1]), &mut Tensor::zeros([1]), &mut Tensor::zeros([1]));
        assert!((p.data()[0] - 2.0 * 0.99).abs() < 1e-6);
    }
}
