//! ONNX ops: attributes as ONNX defines them (an absent attribute takes ONNX's default), forward only. One table
//! ([`run_2d`]) from the case's op to the engine's.

use super::{Case, Computed, Failure, read, run_op};
use engine::ops::adaptive_avg_pool2d::AdaptiveAvgPool2d;
use engine::ops::avg_pool2d::AvgPool2d;
use engine::ops::batch_norm::{BatchNorm, BatchNormParams};
use engine::ops::conv2d::{Conv2d, Conv2dParams};
use engine::ops::cross_entropy::{CrossEntropy, Reduction};
use engine::ops::dropout::Dropout;
use engine::ops::embedding::Embedding;
use engine::ops::gemm::Gemm;
use engine::ops::matmul::Matmul;
use engine::ops::max_pool2d::MaxPool2d;
use engine::ops::pad::Pad;
use engine::padding::PaddingMode;
use engine::ops::pool::Pool2dParams;
use engine::ops::sigmoid::Sigmoid;
use engine::ops::relu::Relu;
use engine::ops::softmax::Softmax;
use engine::{Device, Tensor};

/// Runs an ONNX case.
pub async fn run(device: &Device, case: &Case) -> Result<Computed, Failure> {
    let Some(lifted) = lift_1d(case) else { return run_2d(device, case).await };
    let mut computed = run_2d(device, &lifted).await?;
    // Back to the case's own 1-D shapes.
    for (out, want) in computed.outputs.iter_mut().zip(&case.outputs) {
        if out.shape().numel() == want.shape.iter().product::<usize>() {
            *out = Tensor::new(want.shape.clone(), out.data().to_vec())?;
        }
    }
    Ok(computed)
}

/// A 1-D convolution or pooling (`[N, C, L]`) as the 2-D one it is: height 1, and every spatial attribute given a
/// leading height entry (`pads [b, e]` becomes `[0, b, 0, e]`). Expected outputs get the same height axis.
fn lift_1d(case: &Case) -> Option<Case> {
    let spatial_ops = ["Conv", "AveragePool", "MaxPool", "GlobalAveragePool"];
    if !spatial_ops.contains(&case.op.as_str()) || case.input(0)?.shape.len() != 3 {
        return None;
    }
    let mut lifted = case.clone();
    let with_height = |shape: &mut Vec<usize>| {
        if shape.len() == 3 {
            shape.insert(2, 1);
        }
    };
    for t in lifted.inputs.iter_mut().chain(lifted.outputs.iter_mut()) {
        with_height(&mut t.shape);
    }
    for (key, fill) in [("kernel_shape", 1), ("strides", 1), ("dilations", 1)] {
        if let Some(v) = case.ints(key) {
            lifted.attrs.insert(key.into(), serde_json::json!([fill, v[0]]));
        }
    }
    if let Some(pads) = case.ints("pads") {
        lifted.attrs.insert("pads".into(), serde_json::json!([0, pads[0], 0, pads[1]]));
    }
    Some(lifted)
}

async fn run_2d(device: &Device, case: &Case) -> Result<Computed, Failure> {
    let computed = match case.op.as_str() {
        "Conv" => {
            let (x, w) = (case.tensor(0)?, case.tensor(1)?);
            let bias = case.input(2).map(|t| t.tensor()).transpose()?;
            let op = Conv2d::new(&conv_params(case, &x, &w)?, x.shape(), w.shape(), bias.as_ref().map(Tensor::shape))?;
            run_op(device, case, &op, [x, w].into_iter().chain(bias).collect(), &[0], &[]).await?
        }
        "AveragePool" => {
            let x = case.tensor(0)?;
            let op = AvgPool2d::new(&pool_params(case, &x)?, x.shape(), case.flag("count_include_pad").unwrap_or(false))?;
            run_op(device, case, &op, vec![x], &[0], &[]).await?
        }
        "MaxPool" => {
            let x = case.tensor(0)?;
            let op = MaxPool2d::new(&pool_params(case, &x)?, x.shape())?;
            let (y, argmax) = op.forward(&x.to(device))?;
            let argmax = read(&argmax).await?;
            Computed::outputs(vec![read(&y).await?, onnx_indices(&op, &argmax, case.int("storage_order").unwrap_or(0) == 1)])
        }
        "GlobalAveragePool" => {
            let x = case.tensor(0)?;
            run_op(device, case, &AdaptiveAvgPool2d::global(x.shape())?, vec![x], &[0], &[]).await?
        }
        "BatchNormalization" => {
            let inputs: Vec<Tensor> = (0..5).map(|i| case.tensor(i)).collect::<Result<_, _>>()?;
            // Training: opset 14's training_mode, or the legacy is_test = 0 with the statistics as outputs.
            let training = case.flag("training_mode").unwrap_or(false) || (case.flag("is_test") == Some(false) && case.outputs.len() > 1);
            let params = BatchNormParams {
                eps: case.float("epsilon").unwrap_or(1e-5),
                // ONNX: running = momentum·running + (1 − momentum)·batch, the other way round from PyTorch.
                momentum: 1.0 - case.float("momentum").unwrap_or(0.9),
                training,
                unbiased_running_var: false,
            };
            let op = BatchNorm::new(&params, inputs[0].shape(), &[inputs[1].shape(), inputs[2].shape(), inputs[3].shape(), inputs[4].shape()])?;
            run_op(device, case, &op, inputs, &[0, 3, 4], &[]).await?
        }
        "Gemm" => {
            let (a, bm) = (case.tensor(0)?, case.tensor(1)?);
            let c = case.input(2).map(|t| t.tensor()).transpose()?;
            let trans = |key| case.flag(key).unwrap_or(false);
            let (alpha, beta) = (case.float("alpha").unwrap_or(1.0), case.float("beta").unwrap_or(1.0));
            let op = Gemm::new(a.shape(), bm.shape(), c.as_ref().map(Tensor::shape), trans("transA"), trans("transB"), alpha, beta)?;
            run_op(device, case, &op, [a, bm].into_iter().chain(c).collect(), &[0], &[]).await?
        }
        "MatMul" => {
            let (a, bm) = (case.tensor(0)?, case.tensor(1)?);
            run_op(device, case, &Matmul::new(a.shape(), bm.shape())?, vec![a, bm], &[0], &[]).await?
        }
        "Relu" => run_op(device, case, &Relu, vec![case.tensor(0)?], &[0], &[]).await?,
        "Sigmoid" => run_op(device, case, &Sigmoid::STANDARD, vec![case.tensor(0)?], &[0], &[]).await?,
        "Softmax" | "LogSoftmax" => {
            let x = case.tensor(0)?;
            let log = case.op == "LogSoftmax";
            // Opset 13 made softmax per-axis with default axis -1; before, it flattened at axis (default 1).
            let op = if case.opset.unwrap_or(13) >= 13 {
                Softmax::new(x.shape(), case.int("axis").unwrap_or(-1) as isize, log)?
            } else {
                Softmax::flattened(x.shape(), case.int("axis").unwrap_or(1) as isize, log)?
            };
            run_op(device, case, &op, vec![x], &[0], &[]).await?
        }
        "Gather" => {
            let data = case.tensor(0)?;
            let op = Embedding::new(data.shape(), case.int("axis").unwrap_or(0) as isize, &case.required(1)?.indices()?)?;
            run_op(device, case, &op, vec![data], &[0], &[]).await?
        }
        "Pad" => {
            let x = case.tensor(0)?;
            run_op(device, case, &pad(case, &x)?, vec![x], &[0], &[]).await?
        }
        "Dropout" => dropout(device, case).await?,
        "SoftmaxCrossEntropyLoss" => {
            let scores = case.tensor(0)?;
            let weight = case.input(2).map(|t| t.tensor()).transpose()?;
            let reduction = reduction(case)?;
            let op = CrossEntropy::new(scores.shape(), &case.required(1)?.indices()?, weight.as_ref().map(Tensor::shape), case.int("ignore_index"), reduction)?;
            // The loss, and the log-probabilities.
            run_op(device, case, &op, [scores].into_iter().chain(weight).collect(), &[0, 1], &[]).await?
        }
        op => return Err(Failure::Run(format!("op {op} is not supported by the engine"))),
    };
    Ok(computed)
}

/// A 2-D attribute pair (`strides`, `dilations`), defaulting to 1.
fn pair(case: &Case, key: &str) -> Result<[usize; 2], Failure> {
    match case.sizes(key).as_deref() {
        None => Ok([1, 1]),
        Some(&[a, b]) => Ok([a, b]),
        Some(other) => Err(Failure::Run(format!("{key} {other:?} is not 2-D"))),
    }
}

/// `pads` `[top, left, bottom, right]`, or the padding `auto_pad` asks for: SAME_* pads so that the output is
/// `⌈input / stride⌉`, the odd pixel going to the end (SAME_UPPER) or the beginning (SAME_LOWER).
fn padding(case: &Case, input: [usize; 2], kernel: [usize; 2], stride: [usize; 2], dilation: [usize; 2]) -> Result<[usize; 4], Failure> {
    match case.string("auto_pad").unwrap_or("NOTSET") {
        "NOTSET" => match case.sizes("pads").as_deref() {
            None => Ok([0; 4]),
            Some(&[t, l, b, r]) => Ok([t, l, b, r]),
            Some(other) => Err(Failure::Run(format!("pads {other:?} is not 2-D"))),
        },
        "VALID" => Ok([0; 4]),
        mode @ ("SAME_UPPER" | "SAME_LOWER") => {
            let mut pads = [0; 4];
            for axis in 0..2 {
                let out = input[axis].div_ceil(stride[axis]);
                let span = dilation[axis] * (kernel[axis] - 1) + 1;
                let total = ((out - 1) * stride[axis] + span).saturating_sub(input[axis]);
                let (small, large) = (total / 2, total - total / 2);
                (pads[axis], pads[axis + 2]) = if mode == "SAME_UPPER" { (small, large) } else { (large, small) };
            }
            Ok(pads)
        }
        other => Err(Failure::Run(format!("auto_pad {other} is not an ONNX mode"))),
    }
}

fn spatial(t: &Tensor) -> Result<[usize; 2], Failure> {
    match t.shape().dims() {
        &[_, _, h, w] => Ok([h, w]),
        other => Err(Failure::Run(format!("expected a 4-D input, got {other:?}"))),
    }
}

fn conv_params(case: &Case, x: &Tensor, w: &Tensor) -> Result<Conv2dParams, Failure> {
    let (stride, dilation) = (pair(case, "strides")?, pair(case, "dilations")?);
    let kernel = spatial(w)?;
    Ok(Conv2dParams {
        stride,
        dilation,
        padding: padding(case, spatial(x)?, kernel, stride, dilation)?,
        padding_mode: PaddingMode::Zeros,
        groups: case.int("group").unwrap_or(1) as usize,
    })
}

fn pool_params(case: &Case, x: &Tensor) -> Result<Pool2dParams, Failure> {
    let kernel = match case.sizes("kernel_shape").as_deref() {
        Some(&[h, w]) => [h, w],
        other => return Err(Failure::Run(format!("kernel_shape {other:?} is not 2-D"))),
    };
    let (stride, dilation) = (pair(case, "strides")?, pair(case, "dilations")?);
    Ok(Pool2dParams {
        kernel,
        stride,
        padding: padding(case, spatial(x)?, kernel, stride, dilation)?,
        dilation,
        ceil_mode: case.flag("ceil_mode").unwrap_or(false),
    })
}

/// ONNX's MaxPool `Indices`: flat indices into the whole input, row-major or (storage_order 1) column-major
/// within each plane.
fn onnx_indices(op: &MaxPool2d, argmax: &Tensor, column_major: bool) -> Tensor {
    let g = &op.geometry;
    let (plane_in, plane_out) = (g.in_h * g.in_w, g.out_h * g.out_w);
    Tensor::from_fn(argmax.shape().clone(), |o| {
        let at = argmax.data()[o] as usize;
        let within = if column_major { (at % g.in_w) * g.in_h + at / g.in_w } else { at };
        (o / plane_out * plane_in + within) as f32
    })
}

fn pad(case: &Case, x: &Tensor) -> Result<Pad, Failure> {
    let rank = x.shape().rank();
    // Opset 11 moved pads (and the constant) from attributes to inputs; opset 18 added axes.
    let (pads, value) = match case.input(1) {
        Some(pads) => (pads.indices()?.values().to_vec(), case.input(2).map(|v| v.values()[0]).unwrap_or(0.0)),
        None => (case.ints("pads").unwrap_or_default(), case.float("value").unwrap_or(0.0)),
    };
    let axes: Vec<usize> = match case.input(3) {
        Some(axes) => axes.indices()?.values().iter().map(|&a| if a < 0 { a + rank as i64 } else { a } as usize).collect(),
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() || axes.iter().any(|&a| a >= rank) {
        return Err(Failure::Run(format!("pads {pads:?} do not match axes {axes:?} of a rank-{rank} input")));
    }
    let mut per_axis = vec![(0, 0); rank];
    for (i, &a) in axes.iter().enumerate() {
        per_axis[a] = (pads[i] as isize, pads[i + axes.len()] as isize);
    }
    let mode = match case.string("mode").unwrap_or("constant") {
        "constant" => PaddingMode::Zeros,
        "edge" => PaddingMode::Border,
        "reflect" => PaddingMode::Reflection,
        "wrap" => PaddingMode::Circular,
        other => return Err(Failure::Run(format!("pad mode {other} is not supported"))),
    };
    Ok(Pad::new(x.shape(), &per_axis, mode, value)?)
}

/// Dropout. Inference and ratio 0 compare element by element; training with a ratio draws ONNX's random mask,
/// which no other generator reproduces, so there the engine's own output is checked for what every valid dropout
/// satisfies.
async fn dropout(device: &Device, case: &Case) -> Result<Computed, Failure> {
    let x = case.tensor(0)?;
    // Opset 12 moved ratio and training_mode to inputs; older opsets only run inference.
    let ratio = case.input(1).map(|r| r.values()[0]).or(case.float("ratio")).unwrap_or(0.5);
    let training = case.input(2).is_some_and(|t| t.values()[0] != 0.0);
    let op = Dropout::new(x.shape(), ratio, training, case.int("seed").unwrap_or(0) as u32)?;
    let (y, mask) = op.forward(&x.to(device))?;
    let (y, mask) = (read(&y).await?, read(&mask).await?);
    if training && ratio > 0.0 {
        super::torch::check_dropout_properties(&x, &y, &mask, ratio)?;
        return Ok(Computed { property_checked: true, ..Computed::outputs(vec![y, mask]) });
    }
    Ok(Computed::outputs(vec![y, mask]))
}

fn reduction(case: &Case) -> Result<Reduction, Failure> {
    let name = case.string("reduction").unwrap_or("mean");
    Reduction::parse(name).ok_or_else(|| Failure::Run(format!("reduction {name} is unknown")))
}
