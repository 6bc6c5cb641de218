//! The conformance cases (`tests/conformance/README.md`): reference results from ONNX's backend tests and from
//! PyTorch, one JSON file per case, and a runner that computes each case on any [`Device`] and compares outputs
//! and gradients.
//!
//! A case names its op; [`onnx`] and [`torch`] each hold one table from those names to the engine's ops (built
//! from the case's attributes), and [`run_op`] runs any of them through the [`Op`] view every engine op has. A case
//! whose op the tables do not know is a failure, never a skip.

mod onnx;
mod torch;

use crate::compare::{ATOL, Mismatch, RTOL, all_close, reference_atol};
use engine::ops::{Op, Path};
use engine::{Device, Indices, Tensor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Absolute tolerance for batch-norm gradients and training steps.
pub const ATOL_LOOSE: f32 = 1e-4;

/// One test case, as stored.
#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    /// Where the reference came from (`onnx-backend-node-test`, `pytorch-2.15.0+cu132`, …).
    pub source: String,
    /// The case's name.
    pub name: String,
    /// ONNX op type (`Conv`) or torch op id (`conv2d`).
    pub op: String,
    /// The op's attributes (ONNX) or call arguments (torch).
    #[serde(default)]
    pub attrs: Map<String, Value>,
    /// Inputs in node or argument order.
    pub inputs: Vec<CaseTensor>,
    /// Expected outputs.
    pub outputs: Vec<CaseTensor>,
    /// ONNX opset.
    #[serde(default)]
    pub opset: Option<u32>,
    /// ONNX node input names; `""` marks an omitted optional input.
    #[serde(default)]
    pub node_inputs: Option<Vec<String>>,
    /// Torch cases: the upstream gradients and the expected input gradients.
    #[serde(default)]
    pub grads: Option<Grads>,
}

/// Gradients of a torch case.
#[derive(Clone, Debug, Deserialize)]
pub struct Grads {
    /// `dL/d(output)`, named like the outputs.
    pub upstream: Vec<CaseTensor>,
    /// `dL/d(input)`, named like the inputs.
    pub inputs: Vec<CaseTensor>,
}

/// A stored tensor.
#[derive(Clone, Debug, Deserialize)]
pub struct CaseTensor {
    /// Its name.
    pub name: String,
    /// Its shape (`[]` for a scalar).
    pub shape: Vec<usize>,
    /// `f32`, `f64`, `i32`, `i64` or `bool`.
    pub dtype: String,
    /// Flat row-major values (numbers or booleans).
    pub data: Vec<Value>,
}

impl CaseTensor {
    /// The values as f32 (booleans as 0 and 1).
    pub fn values(&self) -> Vec<f32> {
        self.raw().into_iter().map(|v| v as f32).collect()
    }

    /// The values as written (f64).
    pub fn raw(&self) -> Vec<f64> {
        self.data.iter().map(|v| v.as_f64().or_else(|| v.as_bool().map(f64::from)).unwrap_or(f64::NAN)).collect()
    }

    /// As an engine tensor.
    pub fn tensor(&self) -> Result<Tensor, Failure> {
        Tensor::new(self.shape.clone(), self.values()).map_err(|e| Failure::Run(format!("tensor {}: {e}", self.name)))
    }

    /// As integers (indices, targets).
    pub fn indices(&self) -> Result<Indices, Failure> {
        let values = self.data.iter().map(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)).unwrap_or(0)).collect();
        Indices::new(self.shape.clone(), values).map_err(|e| Failure::Run(format!("tensor {}: {e}", self.name)))
    }
}

impl Case {
    /// Parses one case file.
    pub fn parse(json: &str) -> Result<Case, String> {
        serde_json::from_str(json).map_err(|e| format!("not a conformance case: {e}"))
    }

    /// Input `i`, unless the ONNX node omits it (`""`) or there are fewer inputs.
    pub fn input(&self, i: usize) -> Option<&CaseTensor> {
        if let Some(names) = &self.node_inputs {
            let name = names.get(i)?;
            if name.is_empty() {
                return None;
            }
            return self.inputs.iter().find(|t| &t.name == name);
        }
        self.inputs.get(i)
    }

    /// Input `i`, which the op requires.
    pub fn required(&self, i: usize) -> Result<&CaseTensor, Failure> {
        self.input(i).ok_or_else(|| Failure::Run(format!("the case has no input {i}")))
    }

    /// Input `i` as a tensor.
    pub fn tensor(&self, i: usize) -> Result<Tensor, Failure> {
        self.required(i)?.tensor()
    }

    /// The input named `name`.
    pub fn named(&self, name: &str) -> Result<&CaseTensor, Failure> {
        self.inputs.iter().find(|t| t.name == name).ok_or_else(|| Failure::Run(format!("the case has no input {name}")))
    }

    /// The upstream gradient for output `name` (or the only one).
    pub fn upstream(&self, name: &str) -> Result<Tensor, Failure> {
        let grads = self.grads.as_ref().ok_or_else(|| Failure::Run("the case has no gradients".into()))?;
        let t = grads.upstream.iter().find(|t| t.name == name).or(grads.upstream.first());
        t.ok_or_else(|| Failure::Run(format!("no upstream gradient for {name}")))?.tensor()
    }

    /// An integer list attribute.
    pub fn ints(&self, key: &str) -> Option<Vec<i64>> {
        self.attrs.get(key)?.as_array()?.iter().map(Value::as_i64).collect()
    }

    /// A non-negative integer list attribute.
    pub fn sizes(&self, key: &str) -> Option<Vec<usize>> {
        self.ints(key).map(|v| v.into_iter().map(|i| i.max(0) as usize).collect())
    }

    /// An integer attribute (booleans as 0/1).
    pub fn int(&self, key: &str) -> Option<i64> {
        let v = self.attrs.get(key)?;
        v.as_i64().or_else(|| v.as_bool().map(i64::from))
    }

    /// A float attribute.
    pub fn float(&self, key: &str) -> Option<f32> {
        Some(self.attrs.get(key)?.as_f64()? as f32)
    }

    /// A string attribute.
    pub fn string(&self, key: &str) -> Option<&str> {
        self.attrs.get(key)?.as_str()
    }

    /// A boolean attribute (ONNX's 0/1 integers too).
    pub fn flag(&self, key: &str) -> Option<bool> {
        let v = self.attrs.get(key)?;
        v.as_bool().or_else(|| v.as_i64().map(|i| i != 0))
    }

    /// Whether this is an ONNX case.
    pub fn is_onnx(&self) -> bool {
        self.source.starts_with("onnx")
    }
}

/// What went wrong with one case on one backend.
#[derive(Clone, Debug)]
pub enum Failure {
    /// The case could not be run (unknown op, unsupported attribute, engine error).
    Run(String),
    /// It ran, and these tensors disagree with the reference.
    Mismatch(Vec<Mismatch>),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Run(message) => write!(f, "{message}"),
            Failure::Mismatch(ms) => {
                for (i, m) in ms.iter().enumerate() {
                    write!(f, "{}{m}", if i > 0 { "; " } else { "" })?;
                }
                Ok(())
            }
        }
    }
}

impl From<engine::Error> for Failure {
    fn from(e: engine::Error) -> Self {
        Failure::Run(e.to_string())
    }
}

/// What a case computed: its outputs in the case's order, and the gradients by input name.
#[derive(Debug, Default)]
pub struct Computed {
    /// The outputs, in order.
    pub outputs: Vec<Tensor>,
    /// `(input name, gradient)`.
    pub grads: Vec<(String, Tensor)>,
    /// Absolute tolerance (outputs and gradients).
    pub atol: f32,
    /// Absolute tolerance for gradients.
    pub grad_atol: f32,
    /// The case's random outputs were checked for their properties instead of element by element.
    pub property_checked: bool,
}

impl Computed {
    /// Outputs compared at the standard tolerances.
    pub fn outputs(outputs: Vec<Tensor>) -> Computed {
        Computed { outputs, atol: ATOL, grad_atol: ATOL, ..Default::default() }
    }

    /// Adds gradients.
    pub fn with_grads(mut self, grads: Vec<(&str, Tensor)>) -> Computed {
        self.grads = grads.into_iter().map(|(n, t)| (n.to_string(), t)).collect();
        self
    }
}

/// Runs `case` on `device` and compares every output and gradient it states.
pub async fn run_case(device: &Device, case: &Case) -> Result<(), Failure> {
    let computed = if case.is_onnx() { onnx::run(device, case).await? } else { torch::run(device, case).await? };
    compare(case, &computed)
}

/// Runs `op` on `device` with `inputs` (the case's float inputs, in the op's order) and reads back the op's outputs
/// numbered `pick`, in that order. When the case states gradients, backward runs too, from the case's upstream
/// gradient of each differentiable output, and each input's gradient is kept under its name in `names` (an input
/// without a name takes none).
pub(crate) async fn run_op(device: &Device, case: &Case, op: &dyn Op, inputs: Vec<Tensor>, pick: &[usize], names: &[&str]) -> Result<Computed, Failure> {
    let placed: Vec<Tensor> = inputs.iter().map(|t| t.to(device)).collect();
    let placed: Vec<&Tensor> = placed.iter().collect();
    let outputs = op.outputs(&placed, Path::Device)?;
    let mut read_outputs = Vec::new();
    for &i in pick {
        let output = outputs.get(i).ok_or_else(|| Failure::Run(format!("the op has no output {i}")))?;
        read_outputs.push(read(output).await?);
    }
    let mut computed = Computed::outputs(read_outputs);
    if case.grads.is_some() {
        // The upstream gradient of the op's output k, named like the case's output that output k became.
        let name = |k: usize| pick.iter().position(|&p| p == k).and_then(|j| case.outputs.get(j)).map_or("", |t| t.name.as_str());
        let dys: Vec<Tensor> = (0..op.differentiable_outputs()).map(|k| case.upstream(name(k))).collect::<Result<_, _>>()?;
        let dys: Vec<Tensor> = dys.iter().map(|t| t.to(device)).collect();
        let grads = op.gradients(&placed, &outputs.iter().collect::<Vec<_>>(), &dys.iter().collect::<Vec<_>>(), Path::Device)?;
        for (name, grad) in names.iter().zip(grads) {
            if let Some(grad) = grad {
                computed.grads.push((name.to_string(), read(&grad).await?));
            }
        }
    }
    Ok(computed)
}

fn compare(case: &Case, computed: &Computed) -> Result<(), Failure> {
    if computed.outputs.len() < case.outputs.len() {
        return Err(Failure::Run(format!("{} outputs computed, {} expected", computed.outputs.len(), case.outputs.len())));
    }
    for (want, got) in case.outputs.iter().zip(&computed.outputs) {
        if got.shape().dims() != want.shape.as_slice() {
            return Err(Failure::Run(format!("{}: computed shape {} but expected {:?}", want.name, got.shape(), want.shape)));
        }
    }
    let mut mismatches = Vec::new();
    if !computed.property_checked {
        for (want, got) in case.outputs.iter().zip(&computed.outputs) {
            let atol = reference_atol(&want.raw(), computed.atol);
            if let Err(m) = all_close(&want.name, got.data(), &want.values(), atol, RTOL) {
                mismatches.push(m);
            }
        }
        for want in case.grads.iter().flat_map(|g| &g.inputs) {
            let Some((_, got)) = computed.grads.iter().find(|(n, _)| n == &want.name) else {
                return Err(Failure::Run(format!("the gradient of {} was not computed", want.name)));
            };
            if let Err(m) = all_close(&format!("d{}", want.name), got.data(), &want.values(), computed.grad_atol, RTOL) {
                mismatches.push(m);
            }
        }
    }
    if mismatches.is_empty() { Ok(()) } else { Err(Failure::Mismatch(mismatches)) }
}

/// Reads a tensor back, turning an engine error into a failure.
pub(crate) async fn read(t: &Tensor) -> Result<Tensor, Failure> {
    Ok(t.read().await?)
}

/// Where the cases are: `$CONFORMANCE_DIR`, else the project's own `tests/conformance`.
#[cfg(not(target_arch = "wasm32"))]
pub fn default_dir() -> std::path::PathBuf {
    match std::env::var_os("CONFORMANCE_DIR") {
        Some(dir) => dir.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance"),
    }
}

/// Every `.json` case under `dir` (recursively, `index.json` excepted), sorted by path, as `(path, text)`.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_dir(dir: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "json") && path.file_name().is_some_and(|n| n != "index.json") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut paths = Vec::new();
    walk(dir, &mut paths).map_err(|e| format!("cannot read the conformance cases in {}: {e}", dir.display()))?;
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            let name = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
            Ok((name, text))
        })
        .collect()
}
