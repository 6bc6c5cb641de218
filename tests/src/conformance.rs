//! The conformance cases (`../shared/conformance/README.md`): reference results from ONNX's backend tests and from
//! PyTorch, one JSON file per case, and a runner that computes each case on any [`Backend`] and compares.
//!
//! A case whose op the runner does not know is a failure, never a skip.

use crate::compare::{ATOL, Mismatch, RTOL, all_close};
use engine::ops::conv2d::Conv2dParams;
use engine::ops::padding::PaddingMode;
use engine::{Backend, Tensor};
use serde::Deserialize;
use serde_json::{Map, Value};

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
    /// `f32`, `f64`, `i64` or `bool`.
    pub dtype: String,
    /// Flat row-major values (numbers or booleans).
    pub data: Vec<Value>,
}

impl CaseTensor {
    /// The values as f32 (booleans as 0 and 1).
    pub fn values(&self) -> Vec<f32> {
        self.data.iter().map(|v| v.as_f64().or_else(|| v.as_bool().map(f64::from)).unwrap_or(f64::NAN) as f32).collect()
    }

    /// As an engine tensor.
    pub fn tensor(&self) -> Result<Tensor, String> {
        Tensor::new(self.shape.clone(), self.values()).map_err(|e| format!("tensor {}: {e}", self.name))
    }
}

impl Case {
    /// Parses one case file.
    pub fn parse(json: &str) -> Result<Case, String> {
        serde_json::from_str(json).map_err(|e| format!("not a conformance case: {e}"))
    }

    /// Input `i`, unless the ONNX node omits it (`""`) or there are fewer inputs.
    fn input(&self, i: usize) -> Option<&CaseTensor> {
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
    fn required(&self, i: usize) -> Result<Tensor, String> {
        self.input(i).ok_or_else(|| format!("the case has no input {i}"))?.tensor()
    }

    fn ints(&self, key: &str) -> Option<Vec<usize>> {
        self.attrs.get(key)?.as_array()?.iter().map(|v| v.as_u64().map(|u| u as usize)).collect()
    }

    fn int(&self, key: &str) -> Option<i64> {
        self.attrs.get(key)?.as_i64()
    }

    fn string(&self, key: &str) -> Option<&str> {
        self.attrs.get(key)?.as_str()
    }

    fn flag(&self, key: &str) -> Option<bool> {
        self.attrs.get(key)?.as_bool()
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

/// Runs `case` on `backend` and compares every output it states.
pub async fn run_case<B: Backend>(backend: &B, case: &Case) -> Result<(), Failure> {
    let computed = match case.op.as_str() {
        "Conv" => {
            let x = case.required(0).map_err(Failure::Run)?;
            let w = case.required(1).map_err(Failure::Run)?;
            let b = case.input(2).map(CaseTensor::tensor).transpose().map_err(Failure::Run)?;
            let params = onnx_conv_params(case, &x, &w).map_err(Failure::Run)?;
            conv2d(backend, &x, &w, b.as_ref(), &params).await?
        }
        "conv2d" => {
            let x = case.required(0).map_err(Failure::Run)?;
            let w = case.required(1).map_err(Failure::Run)?;
            let b = if case.flag("bias").unwrap_or(case.inputs.len() > 2) { Some(case.required(2).map_err(Failure::Run)?) } else { None };
            let params = torch_conv_params(case).map_err(Failure::Run)?;
            conv2d(backend, &x, &w, b.as_ref(), &params).await?
        }
        op => return Err(Failure::Run(format!("op {op} is not supported by the engine"))),
    };
    compare_outputs(case, &[computed])
}

/// Compares computed outputs with the case's, in order.
fn compare_outputs(case: &Case, computed: &[Tensor]) -> Result<(), Failure> {
    let mut mismatches = Vec::new();
    for (want, got) in case.outputs.iter().zip(computed) {
        if got.shape().dims() != want.shape.as_slice() {
            return Err(Failure::Run(format!("{}: computed shape {} but expected {:?}", want.name, got.shape(), want.shape)));
        }
        if let Err(m) = all_close(&want.name, got.data(), &want.values(), ATOL, RTOL) {
            mismatches.push(m);
        }
    }
    if computed.len() < case.outputs.len() {
        return Err(Failure::Run(format!("{} outputs computed, {} expected", computed.len(), case.outputs.len())));
    }
    if mismatches.is_empty() { Ok(()) } else { Err(Failure::Mismatch(mismatches)) }
}

async fn conv2d<B: Backend>(
    backend: &B,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    params: &Conv2dParams,
) -> Result<Tensor, Failure> {
    let (xd, wd, bd) = (backend.upload(x), backend.upload(w), b.map(|b| backend.upload(b)));
    let y = backend.conv2d(&xd, &wd, bd.as_ref(), params).map_err(|e| Failure::Run(e.to_string()))?;
    backend.read(&y).await.map_err(|e| Failure::Run(e.to_string()))
}

/// ONNX `Conv` attributes: `strides`, `dilations`, `pads` `[top, left, bottom, right]`, `group`, and `auto_pad`
/// (`NOTSET`, `VALID`, `SAME_UPPER`, `SAME_LOWER`).
fn onnx_conv_params(case: &Case, x: &Tensor, w: &Tensor) -> Result<Conv2dParams, String> {
    let pair = |key: &str| -> Result<[usize; 2], String> {
        match case.ints(key).as_deref() {
            None => Ok([1, 1]),
            Some(&[a, b]) => Ok([a, b]),
            Some(other) => Err(format!("{key} {other:?} is not 2-D")),
        }
    };
    let stride = pair("strides")?;
    let dilation = pair("dilations")?;
    let groups = case.int("group").unwrap_or(1) as usize;
    let padding = match case.string("auto_pad").unwrap_or("NOTSET") {
        "NOTSET" => match case.ints("pads").as_deref() {
            None => [0; 4],
            Some(&[t, l, b, r]) => [t, l, b, r],
            Some(other) => return Err(format!("pads {other:?} is not 2-D")),
        },
        "VALID" => [0; 4],
        mode @ ("SAME_UPPER" | "SAME_LOWER") => {
            // Output = ⌈input / stride⌉; the padding needed for that is split, the odd pixel going to the end
            // (SAME_UPPER) or the beginning (SAME_LOWER).
            let (x, w) = (x.shape().dims(), w.shape().dims());
            let mut pads = [0; 4];
            for axis in 0..2 {
                let (input, kernel) = (x[2 + axis], w[2 + axis]);
                let out = input.div_ceil(stride[axis]);
                let span = dilation[axis] * (kernel - 1) + 1;
                let total = ((out - 1) * stride[axis] + span).saturating_sub(input);
                let (small, large) = (total / 2, total - total / 2);
                (pads[axis], pads[axis + 2]) = if mode == "SAME_UPPER" { (small, large) } else { (large, small) };
            }
            pads
        }
        other => return Err(format!("auto_pad {other} is not an ONNX mode")),
    };
    Ok(Conv2dParams { stride, dilation, padding, padding_mode: PaddingMode::Zeros, groups })
}

/// Torch `conv2d` arguments: `stride`, `padding`, `dilation` (pairs), `groups`, `padding_mode`.
fn torch_conv_params(case: &Case) -> Result<Conv2dParams, String> {
    let pair = |key: &str, default: usize| -> Result<[usize; 2], String> {
        match case.ints(key).as_deref() {
            None => Ok([default; 2]),
            Some(&[a]) => Ok([a, a]),
            Some(&[a, b]) => Ok([a, b]),
            Some(other) => Err(format!("{key} {other:?} is not 2-D")),
        }
    };
    let [ph, pw] = pair("padding", 0)?;
    let mode = case.string("padding_mode").unwrap_or("zeros");
    Ok(Conv2dParams {
        stride: pair("stride", 1)?,
        dilation: pair("dilation", 1)?,
        padding: [ph, pw, ph, pw],
        padding_mode: PaddingMode::parse(mode).ok_or_else(|| format!("padding_mode {mode} is unknown"))?,
        groups: case.int("groups").unwrap_or(1) as usize,
    })
}

/// Where the stored cases are: `$CONFORMANCE_DIR`, else `../shared/conformance` beside the repository.
#[cfg(not(target_arch = "wasm32"))]
pub fn default_dir() -> std::path::PathBuf {
    match std::env::var_os("CONFORMANCE_DIR") {
        Some(dir) => dir.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"),
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
