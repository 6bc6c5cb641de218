//! Where ops run: the [`Backend`] trait, and its two implementations [`cpu::Cpu`] and [`gpu::Gpu`].
//!
//! # Design
//!
//! A backend owns its tensors (`Backend::Tensor`): plain [`Tensor`]s on the CPU, GPU buffers on the GPU. Ops are
//! recorded without waiting; only [`Backend::read`], which brings values back to the CPU, is async. On the GPU
//! that means a chain of ops (a whole training step) is recorded into one command buffer and submitted once, when
//! something is read.
//!
//! Every op method takes the op's validated description (`Conv2d`, `Pad`, …, built by the op's `new`, which is
//! where a learner's mistake becomes a readable error) and cannot fail. Passing tensors whose shapes differ from
//! the ones the op was built for is a programming error and panics. Each op file also has a free function (such
//! as [`crate::ops::conv2d::conv2d`]) that validates and runs in one call.
//!
//! Code that should run on either backend is written once, generic over `B: Backend`; the app picks the backend
//! at start-up (WebGPU when the browser has it, the CPU otherwise) and calls that code with it.
//!
//! Adding an op adds its methods here and one line per method to each implementation: the op's file holds its
//! CPU reference and its GPU encoding.

pub mod cpu;
pub mod gpu;
pub mod parallel;
pub mod scratch;
pub mod sgemm;
pub mod vector;
pub mod shaders;

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
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::future::Future;

/// A tensor that lives on a backend.
pub trait DeviceTensor: Clone + 'static {
    /// Its shape.
    fn shape(&self) -> &Shape;
}

/// A place where ops run. See the module docs for the design.
pub trait Backend: 'static {
    /// This backend's tensors.
    type Tensor: DeviceTensor;

    /// A short label for people, such as `CPU` or `WebGPU: SwiftShader Device`.
    fn label(&self) -> String;

    /// Copies a CPU tensor onto the backend.
    fn upload(&self, t: &Tensor) -> Self::Tensor;

    /// Copies a tensor back to the CPU; on the GPU this submits the recorded work and waits for it.
    fn read(&self, t: &Self::Tensor) -> impl Future<Output = Result<Tensor>>;

    /// The same values with another shape of the same size (no copy on either backend).
    fn reshape(&self, t: &Self::Tensor, shape: Shape) -> Self::Tensor;

    /// A tensor of zeros.
    fn zeros(&self, shape: Shape) -> Self::Tensor;

    /// [`crate::ops::conv2d`]
    fn conv2d(&self, op: &Conv2d, x: &Self::Tensor, w: &Self::Tensor, b: Option<&Self::Tensor>) -> Self::Tensor;
    /// Gradients of [`Backend::conv2d`] for upstream `dy`.
    fn conv2d_backward(&self, op: &Conv2d, x: &Self::Tensor, w: &Self::Tensor, dy: &Self::Tensor) -> Conv2dGrads<Self::Tensor>;
    /// The weight's and the bias's gradients of [`Backend::conv2d`] (no input gradient: a model's first layer).
    fn conv2d_param_grads(&self, op: &Conv2d, x: &Self::Tensor, w: &Self::Tensor, dy: &Self::Tensor) -> (Self::Tensor, Option<Self::Tensor>) {
        let grads = self.conv2d_backward(op, x, w, dy);
        (grads.dw, grads.db)
    }

    /// [`crate::ops::pad`]
    fn pad(&self, op: &Pad, x: &Self::Tensor) -> Self::Tensor;
    /// Gradient of [`Backend::pad`].
    fn pad_backward(&self, op: &Pad, dy: &Self::Tensor) -> Self::Tensor;

    /// [`crate::ops::avg_pool2d`]
    fn avg_pool2d(&self, op: &AvgPool2d, x: &Self::Tensor) -> Self::Tensor;
    /// Gradient of [`Backend::avg_pool2d`].
    fn avg_pool2d_backward(&self, op: &AvgPool2d, dy: &Self::Tensor) -> Self::Tensor;

    /// [`crate::ops::max_pool2d`]: the output, and each window's argmax (a flat index into its input plane).
    fn max_pool2d(&self, op: &MaxPool2d, x: &Self::Tensor) -> (Self::Tensor, Self::Tensor);
    /// Gradient of [`Backend::max_pool2d`], routed through the argmax.
    fn max_pool2d_backward(&self, op: &MaxPool2d, dy: &Self::Tensor, argmax: &Self::Tensor) -> Self::Tensor;

    /// [`crate::ops::adaptive_avg_pool2d`] (and global average pooling).
    fn adaptive_avg_pool2d(&self, op: &AdaptiveAvgPool2d, x: &Self::Tensor) -> Self::Tensor;
    /// Gradient of [`Backend::adaptive_avg_pool2d`].
    fn adaptive_avg_pool2d_backward(&self, op: &AdaptiveAvgPool2d, dy: &Self::Tensor) -> Self::Tensor;

    /// [`crate::ops::dropout`]: the output and the mask (1 kept, 0 dropped).
    fn dropout(&self, op: &Dropout, x: &Self::Tensor) -> (Self::Tensor, Self::Tensor);
    /// Gradient of [`Backend::dropout`].
    fn dropout_backward(&self, op: &Dropout, dy: &Self::Tensor, mask: &Self::Tensor) -> Self::Tensor;

    /// [`crate::ops::batch_norm`]
    fn batch_norm(
        &self,
        op: &BatchNorm,
        x: &Self::Tensor,
        weight: &Self::Tensor,
        bias: &Self::Tensor,
        running_mean: &Self::Tensor,
        running_var: &Self::Tensor,
    ) -> BatchNormOutput<Self::Tensor>;
    /// Gradients of [`Backend::batch_norm`], from its saved statistics.
    fn batch_norm_backward(
        &self,
        op: &BatchNorm,
        x: &Self::Tensor,
        weight: &Self::Tensor,
        saved: &BatchNormOutput<Self::Tensor>,
        dy: &Self::Tensor,
    ) -> BatchNormGrads<Self::Tensor>;

    /// [`crate::ops::gemm`] (and `linear`).
    fn gemm(&self, op: &Gemm, a: &Self::Tensor, b: &Self::Tensor, c: Option<&Self::Tensor>) -> Self::Tensor;
    /// Gradients of [`Backend::gemm`].
    fn gemm_backward(&self, op: &Gemm, a: &Self::Tensor, b: &Self::Tensor, dy: &Self::Tensor) -> GemmGrads<Self::Tensor>;

    /// [`crate::ops::matmul`]
    fn matmul(&self, op: &Matmul, a: &Self::Tensor, b: &Self::Tensor) -> Self::Tensor;
    /// Gradients of [`Backend::matmul`]: `(da, db)`.
    fn matmul_backward(&self, op: &Matmul, a: &Self::Tensor, b: &Self::Tensor, dy: &Self::Tensor) -> (Self::Tensor, Self::Tensor);

    /// [`crate::ops::concat`]: joins tensors along an axis.
    fn concat(&self, op: &Concat, xs: &[&Self::Tensor]) -> Self::Tensor;
    /// Gradient of [`Backend::concat`]: each input's slice.
    fn concat_backward(&self, op: &Concat, dy: &Self::Tensor) -> Vec<Self::Tensor>;

    /// [`crate::ops::sum_to`]: sums a broadcast tensor back down to a smaller shape.
    fn sum_to(&self, op: &SumTo, x: &Self::Tensor) -> Self::Tensor;

    /// [`crate::ops::relu`]
    fn relu(&self, x: &Self::Tensor) -> Self::Tensor;
    /// Gradient of [`Backend::relu`].
    fn relu_backward(&self, x: &Self::Tensor, dy: &Self::Tensor) -> Self::Tensor;

    /// [`crate::ops::sigmoid`] (and `sigmoid_range`).
    fn sigmoid(&self, op: &Sigmoid, x: &Self::Tensor) -> Self::Tensor;
    /// Gradient of [`Backend::sigmoid`].
    fn sigmoid_backward(&self, op: &Sigmoid, x: &Self::Tensor, dy: &Self::Tensor) -> Self::Tensor;

    /// [`crate::ops::softmax`] (and `log_softmax`).
    fn softmax(&self, op: &Softmax, x: &Self::Tensor) -> Self::Tensor;
    /// Gradient of [`Backend::softmax`], from its output `y`.
    fn softmax_backward(&self, op: &Softmax, y: &Self::Tensor, dy: &Self::Tensor) -> Self::Tensor;

    /// [`crate::ops::embedding`] (ONNX `Gather`).
    fn embedding(&self, op: &Embedding, weight: &Self::Tensor) -> Self::Tensor;
    /// Gradient of [`Backend::embedding`] with respect to the weight.
    fn embedding_backward(&self, op: &Embedding, dy: &Self::Tensor) -> Self::Tensor;

    /// [`crate::ops::cross_entropy`]
    fn cross_entropy(&self, op: &CrossEntropy, logits: &Self::Tensor, weight: Option<&Self::Tensor>) -> CrossEntropyOutput<Self::Tensor>;
    /// Gradient of [`Backend::cross_entropy`] with respect to the logits.
    fn cross_entropy_backward(
        &self,
        op: &CrossEntropy,
        saved: &CrossEntropyOutput<Self::Tensor>,
        weight: Option<&Self::Tensor>,
        dloss: &Self::Tensor,
    ) -> Self::Tensor;

    /// [`crate::ops::mse`]
    fn mse(&self, op: &Mse, input: &Self::Tensor, target: &Self::Tensor) -> Self::Tensor;
    /// Gradients of [`Backend::mse`]: `(dinput, dtarget)`.
    fn mse_backward(&self, op: &Mse, input: &Self::Tensor, target: &Self::Tensor, dloss: &Self::Tensor) -> (Self::Tensor, Self::Tensor);

    /// [`crate::ops::rmspe`]
    fn rmspe(&self, op: &Rmspe, y: &Self::Tensor, yhat: &Self::Tensor) -> Self::Tensor;
    /// Gradients of [`Backend::rmspe`]: `(dy, dyhat)`.
    fn rmspe_backward(
        &self,
        op: &Rmspe,
        y: &Self::Tensor,
        yhat: &Self::Tensor,
        loss: &Self::Tensor,
        dloss: &Self::Tensor,
    ) -> (Self::Tensor, Self::Tensor);

    /// [`crate::ops::sgd`]: one update of `param` and its momentum buffer, in place (`velocity` is `None` before
    /// the first step and holds the buffer after it).
    fn sgd(&self, op: &Sgd, param: &mut Self::Tensor, grad: &Self::Tensor, velocity: &mut Option<Self::Tensor>);

    /// [`crate::ops::adam`]: update number `step` (from 1) of `param` and its moments `m` and `v`, in place.
    fn adam(&self, op: &Adam, step: u32, param: &mut Self::Tensor, grad: &Self::Tensor, m: &mut Self::Tensor, v: &mut Self::Tensor);
}
