//! Layers that hold their parameters and gradients, models built from them, and what training needs around them.
//!
//! A [`Layer`] keeps what its backward needs from its last forward (its input, a mask, an argmax); its backward
//! stores the parameter gradients on the layer and returns the gradient of its input. A [`Sequential`] model's
//! backward calls each layer's backward in reverse order: there is no autograd tape. Layers validate their op
//! against the input shape on the first forward (and again when the shape changes, for the last, smaller batch).

pub mod activation;
pub mod batch_norm;
pub mod conv2d;
pub mod dropout;
pub mod flatten;
pub mod init;
pub mod linear;
pub mod pool;
pub mod sequential;
pub mod summary;
pub mod tabular;

pub use activation::{ReLU, SigmoidRange};
pub use batch_norm::BatchNorm;
pub use conv2d::Conv2d;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use linear::Linear;
pub use pool::{AdaptiveAvgPool2d, AvgPool2d, MaxPool2d};
pub use sequential::{Captured, Sequential};
pub use summary::{Summary, SummaryRow};
pub use tabular::{TabularConfig, TabularInput, TabularModel};

use crate::error::Result;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A learnable tensor with its gradient and its optimizer state, on the device its layer was made on.
pub struct Param {
    /// Its name in its layer (`weight`, `bias`).
    pub name: &'static str,
    /// The current value.
    pub value: Tensor,
    /// The gradient from the last backward pass.
    pub grad: Option<Tensor>,
    /// Whether the optimizer updates it.
    pub trainable: bool,
    /// The optimizer's per-parameter state (SGD's momentum buffer; Adam's two moments).
    pub state: Vec<Tensor>,
}

impl Param {
    /// A trainable parameter.
    pub fn new(name: &'static str, value: Tensor) -> Self {
        Param { name, value, grad: None, trainable: true, state: Vec::new() }
    }

    /// How many numbers it holds.
    pub fn numel(&self) -> usize {
        self.value.shape().numel()
    }
}

/// One layer of a model. Its parameters live on the device it was made on; its inputs must live there too.
pub trait Layer {
    /// The layer's type, as PyTorch names it (`Conv2d`).
    fn kind(&self) -> &'static str;

    /// The layer as PyTorch prints it (`Conv2d(1, 16, kernel_size=(3, 3), padding=(1, 1), bias=False)`).
    fn describe(&self) -> String;

    /// Computes the output, keeping what backward needs.
    fn forward(&mut self, x: &Tensor) -> Result<Tensor>;

    /// Stores the parameters' gradients and returns the input's, for the gradient `dy` of the last output.
    fn backward(&mut self, dy: &Tensor) -> Result<Tensor>;

    /// [`Layer::backward`] for the first layer of a model, whose input (the images) takes no gradient: stores the
    /// parameters' gradients only. A layer whose input gradient costs real work (a convolution) skips it.
    fn backward_params(&mut self, dy: &Tensor) -> Result<()> {
        self.backward(dy).map(drop)
    }

    /// The layer's parameters.
    fn params_mut(&mut self) -> Vec<&mut Param> {
        Vec::new()
    }

    /// Everything the layer keeps between runs, by PyTorch's `state_dict` names: its parameters' values, then its
    /// buffers (state that gradients do not train, such as batch norm's running mean and variance).
    fn state_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        self.params_mut().into_iter().map(|p| (p.name, &mut p.value)).collect()
    }

    /// Training (dropout drops, batch norm uses and updates batch statistics) or evaluation.
    fn set_training(&mut self, _training: bool) {}
}

/// A model: layers between an input and an output, trained as one.
pub trait Model {
    /// What the model reads: an image batch, or a table's categorical and continuous columns.
    type Input;

    /// Computes the output, keeping what backward needs.
    fn forward(&mut self, input: &Self::Input) -> Result<Tensor>;

    /// Backpropagates the gradient of the output, storing every parameter's gradient.
    fn backward(&mut self, dy: &Tensor) -> Result<()>;

    /// Every parameter.
    fn params_mut(&mut self) -> Vec<&mut Param>;

    /// Training or evaluation mode for every layer.
    fn set_training(&mut self, training: bool);

    /// The layers with their output shapes and parameter counts, for an input like `input`.
    fn summary(&mut self, input: &Self::Input) -> Result<Summary>;

    /// Every parameter and buffer as `(name, tensor)`, named as PyTorch's `state_dict()` names them: what a
    /// checkpoint holds, and what a run trained off the page's thread sends back to it.
    fn state_mut(&mut self) -> Vec<(String, &mut Tensor)>;
}

/// Reads every parameter and buffer of `model` back to the CPU, named as [`Model::state_mut`] names them.
pub async fn read_state<M: Model + ?Sized>(model: &mut M) -> Result<Vec<(String, Tensor)>> {
    let mut out = Vec::new();
    for (name, t) in model.state_mut() {
        out.push((name, t.read().await?));
    }
    Ok(out)
}

/// Sets every parameter and buffer of `model` from `values` (as [`read_state`] gives them), each moved to the
/// device it lives on, and clears the gradients and the optimizer's state. The names must be exactly the model's
/// and each shape the same: anything else is refused, naming the first difference, and the model is left as it was.
pub fn load_state<M: Model + ?Sized>(model: &mut M, values: &[(String, Tensor)]) -> Result<()> {
    use crate::error::{ErrorKind, OpError};
    let refuse = |problem: &str, given: String| -> crate::error::Error {
        OpError::new("model", ErrorKind::Shape, problem)
            .expected("this model's tensors, each name and shape as its state_dict has them")
            .given(given)
            .hint("load weights saved from a model of the same architecture")
            .into()
    };
    {
        let state = model.state_mut();
        for (name, t) in &state {
            let Some((_, v)) = values.iter().find(|(n, _)| n == name) else {
                return Err(refuse("the weights lack a tensor this model has", name.clone()));
            };
            if v.shape() != t.shape() {
                return Err(refuse("a tensor has another shape than this model's", format!("{name}: {} where the model has {}", v.shape(), t.shape())));
            }
        }
        if let Some((extra, _)) = values.iter().find(|(n, _)| !state.iter().any(|(m, _)| m == n)) {
            return Err(refuse("the weights hold a tensor this model does not have", extra.clone()));
        }
    }
    for (name, t) in model.state_mut() {
        let device = t.device();
        let (_, v) = values.iter().find(|(n, _)| *n == name).expect("checked above");
        *t = v.to(&device);
    }
    for p in model.params_mut() {
        p.grad = None;
        p.state.clear();
    }
    Ok(())
}

/// The shape a layer was last validated for, and the op built for it: rebuilt when the input shape changes.
pub(crate) struct OpCache<Op> {
    cached: Option<(Shape, Op)>,
}

impl<Op> Default for OpCache<Op> {
    fn default() -> Self {
        OpCache { cached: None }
    }
}

impl<Op> OpCache<Op> {
    /// The op for input shape `shape`, building it with `build` when the shape is new.
    pub(crate) fn get(&mut self, shape: &Shape, build: impl FnOnce() -> Result<Op>) -> Result<&Op> {
        if self.cached.as_ref().is_none_or(|(s, _)| s != shape) {
            self.cached = Some((shape.clone(), build()?));
        }
        Ok(&self.cached.as_ref().expect("just built").1)
    }

    /// The op of the last forward (backward runs after a forward).
    pub(crate) fn last(&self, layer: &str) -> &Op {
        &self.cached.as_ref().unwrap_or_else(|| panic!("{layer}: backward was called before any forward")).1
    }
}

/// The value a layer saved in its forward for its backward.
pub(crate) fn saved<'a, T>(value: &'a Option<T>, layer: &str) -> &'a T {
    value.as_ref().unwrap_or_else(|| panic!("{layer}: backward was called before any forward"))
}
