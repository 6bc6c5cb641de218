//! The CPU backend: the ops' reference loops, run directly. Also the fallback where a browser has no WebGPU.

use super::{Backend, DeviceTensor};
use crate::error::Result;
use crate::ops::adam::Adam;
use crate::ops::adaptive_avg_pool2d::AdaptiveAvgPool2d;
use crate::ops::avg_pool2d::AvgPool2d;
use crate::ops::batch_norm::{BatchNorm, BatchNormGrads, BatchNormOutput};
use crate::ops::concat::Concat;
use crate::ops::conv2d::{Conv2d, Conv2dGrads};
use crate::ops::cross_entropy::{CrossEntropy, CrossEntropyOutput};
use crate::ops::dropout::Dropout;
use crate::ops::embedding::Embedding;
use crate::ops::gemm::{Gemm, GemmGrads};
use crate::ops::matmul::Matmul;
use crate::ops::max_pool2d::MaxPool2d;
use crate::ops::mse::Mse;
use crate::ops::pad::Pad;
use crate::ops::rmspe::Rmspe;
use crate::ops::sgd::Sgd;
use crate::ops::sigmoid::Sigmoid;
use crate::ops::softmax::Softmax;
use crate::ops::sum_to::SumTo;
use crate::ops::relu;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Asks the C allocator to keep freed memory for the next tensor instead of handing it back to the system. A
/// training step frees and allocates the same few megabyte-sized tensors every time; by default glibc serves
/// these from fresh mappings or gives the top of its heap back, so each step pays for the pages again (page faults
/// and zeroing, up to a tenth of a step natively). With allocations up to 32 MiB kept on the heap and up to
/// 512 MiB of free heap kept, the step reuses warm memory. Process-wide, so the command-line programs call it
/// first thing; elsewhere (other C libraries, the browser) it does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // glibc's <malloc.h>: M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3; 32 MiB is the largest mmap threshold it
        // accepts on 64-bit systems.
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt only changes the allocator's thresholds; any value is safe (invalid ones are refused).
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
            mallopt(M_TRIM_THRESHOLD, 512 << 20);
        }
    }
}

/// Runs every op with its CPU reference.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu;

impl DeviceTensor for Tensor {
    fn shape(&self) -> &Shape {
        Tensor::shape(self)
    }
}

type T = Tensor;

impl Backend for Cpu {
    type Tensor = Tensor;

    fn label(&self) -> String {
        "CPU".to_string()
    }

    fn upload(&self, t: &T) -> T {
        t.clone()
    }

    async fn read(&self, t: &T) -> Result<T> {
        Ok(t.clone())
    }

    fn reshape(&self, t: &T, shape: Shape) -> T {
        t.reshaped(shape).expect("reshape keeps the number of values")
    }

    fn zeros(&self, shape: Shape) -> T {
        Tensor::zeros(shape)
    }

    fn conv2d(&self, op: &Conv2d, x: &T, w: &T, b: Option<&T>) -> T {
        op.forward_fast(x, w, b)
    }
    fn conv2d_backward(&self, op: &Conv2d, x: &T, w: &T, dy: &T) -> Conv2dGrads<T> {
        op.backward_fast(x, w, dy)
    }
    fn conv2d_param_grads(&self, op: &Conv2d, x: &T, w: &T, dy: &T) -> (T, Option<T>) {
        op.param_grads_fast(x, w, dy)
    }
    fn pad(&self, op: &Pad, x: &T) -> T {
        op.forward(x)
    }
    fn pad_backward(&self, op: &Pad, dy: &T) -> T {
        op.backward(dy)
    }
    fn avg_pool2d(&self, op: &AvgPool2d, x: &T) -> T {
        op.forward(x)
    }
    fn avg_pool2d_backward(&self, op: &AvgPool2d, dy: &T) -> T {
        op.backward(dy)
    }
    fn max_pool2d(&self, op: &MaxPool2d, x: &T) -> (T, T) {
        op.forward(x)
    }
    fn max_pool2d_backward(&self, op: &MaxPool2d, dy: &T, argmax: &T) -> T {
        op.backward(dy, argmax)
    }
    fn adaptive_avg_pool2d(&self, op: &AdaptiveAvgPool2d, x: &T) -> T {
        op.forward(x)
    }
    fn adaptive_avg_pool2d_backward(&self, op: &AdaptiveAvgPool2d, dy: &T) -> T {
        op.backward(dy)
    }
    fn dropout(&self, op: &Dropout, x: &T) -> (T, T) {
        op.forward(x)
    }
    fn dropout_backward(&self, op: &Dropout, dy: &T, mask: &T) -> T {
        op.backward(dy, mask)
    }
    fn batch_norm(&self, op: &BatchNorm, x: &T, weight: &T, bias: &T, running_mean: &T, running_var: &T) -> BatchNormOutput<T> {
        op.forward(x, weight, bias, running_mean, running_var)
    }
    fn batch_norm_backward(&self, op: &BatchNorm, x: &T, weight: &T, saved: &BatchNormOutput<T>, dy: &T) -> BatchNormGrads<T> {
        op.backward(x, weight, saved, dy)
    }
    fn gemm(&self, op: &Gemm, a: &T, b: &T, c: Option<&T>) -> T {
        op.forward(a, b, c)
    }
    fn gemm_backward(&self, op: &Gemm, a: &T, b: &T, dy: &T) -> GemmGrads<T> {
        op.backward(a, b, dy)
    }
    fn matmul(&self, op: &Matmul, a: &T, b: &T) -> T {
        op.forward(a, b)
    }
    fn matmul_backward(&self, op: &Matmul, a: &T, b: &T, dy: &T) -> (T, T) {
        op.backward(a, b, dy)
    }
    fn concat(&self, op: &Concat, xs: &[&T]) -> T {
        op.forward(xs)
    }
    fn concat_backward(&self, op: &Concat, dy: &T) -> Vec<T> {
        op.backward(dy)
    }
    fn sum_to(&self, op: &SumTo, x: &T) -> T {
        op.forward(x)
    }
    fn relu(&self, x: &T) -> T {
        relu::forward(x)
    }
    fn relu_backward(&self, x: &T, dy: &T) -> T {
        relu::backward(x, dy)
    }
    fn sigmoid(&self, op: &Sigmoid, x: &T) -> T {
        op.forward(x)
    }
    fn sigmoid_backward(&self, op: &Sigmoid, x: &T, dy: &T) -> T {
        op.backward(x, dy)
    }
    fn softmax(&self, op: &Softmax, x: &T) -> T {
        op.forward(x)
    }
    fn softmax_backward(&self, op: &Softmax, y: &T, dy: &T) -> T {
        op.backward(y, dy)
    }
    fn embedding(&self, op: &Embedding, weight: &T) -> T {
        op.forward(weight)
    }
    fn embedding_backward(&self, op: &Embedding, dy: &T) -> T {
        op.backward(dy)
    }
    fn cross_entropy(&self, op: &CrossEntropy, logits: &T, weight: Option<&T>) -> CrossEntropyOutput<T> {
        op.forward(logits, weight)
    }
    fn cross_entropy_backward(&self, op: &CrossEntropy, saved: &CrossEntropyOutput<T>, weight: Option<&T>, dloss: &T) -> T {
        op.backward(saved, weight, dloss)
    }
    fn mse(&self, op: &Mse, input: &T, target: &T) -> T {
        op.forward(input, target)
    }
    fn mse_backward(&self, op: &Mse, input: &T, target: &T, dloss: &T) -> (T, T) {
        op.backward(input, target, dloss)
    }
    fn rmspe(&self, op: &Rmspe, y: &T, yhat: &T) -> T {
        op.forward(y, yhat)
    }
    fn rmspe_backward(&self, op: &Rmspe, y: &T, yhat: &T, loss: &T, dloss: &T) -> (T, T) {
        op.backward(y, yhat, loss, dloss)
    }
    fn sgd(&self, op: &Sgd, param: &mut T, grad: &T, velocity: &mut Option<T>) {
        op.step(param, grad, velocity)
    }
    fn adam(&self, op: &Adam, step: u32, param: &mut T, grad: &T, m: &mut T, v: &mut T) {
        op.step(step, param, grad, m, v)
    }
}
