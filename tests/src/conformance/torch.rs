//! PyTorch ops: the call's arguments as attributes, forward and gradients (for the upstream gradients the case
//! gives), and the tiny-CNN training steps. One table ([`run`]) from the case's op to the engine's.

use super::{ATOL_LOOSE, Case, Computed, Failure, read, run_op};
use engine::nn::{Conv2d as Conv2dLayer, Flatten, Layer, Linear, MaxPool2d as MaxPoolLayer, Model, ReLU, Sequential};
use engine::ops::adaptive_avg_pool2d::AdaptiveAvgPool2d;
use engine::ops::avg_pool2d::AvgPool2d;
use engine::ops::batch_norm::{BatchNorm, BatchNormParams};
use engine::ops::conv2d::{Conv2d, Conv2dParams};
use engine::ops::cross_entropy::{CrossEntropy, Reduction};
use engine::ops::dropout::Dropout;
use engine::ops::embedding::Embedding;
use engine::ops::gemm::Gemm;
use engine::ops::max_pool2d::MaxPool2d;
use engine::ops::mse::Mse;
use engine::padding::PaddingMode;
use engine::ops::pool::Pool2dParams;
use engine::ops::relu::Relu;
use engine::ops::rmspe::Rmspe;
use engine::ops::sigmoid::Sigmoid;
use engine::ops::softmax::Softmax;
use engine::optim::{Optimizer, OptimizerKind};
use engine::rng::Rng;
use engine::{Device, Tensor};

/// Runs a PyTorch case.
pub async fn run(device: &Device, case: &Case) -> Result<Computed, Failure> {
    let computed = match case.op.as_str() {
        "conv2d" | "linear" => {
            let (x, w) = (case.tensor(0)?, case.tensor(1)?);
            let bias = if case.flag("bias").unwrap_or(case.inputs.len() > 2) { Some(case.tensor(2)?) } else { None };
            let b = bias.as_ref().map(Tensor::shape);
            let op: Box<dyn engine::ops::Op> = match case.op.as_str() {
                "conv2d" => Box::new(Conv2d::new(&conv_params(case)?, x.shape(), w.shape(), b)?),
                _ => Box::new(Gemm::linear(x.shape(), w.shape(), b)?),
            };
            let inputs = [x, w].into_iter().chain(bias).collect();
            run_op(device, case, op.as_ref(), inputs, &[0], &["x", "weight", "bias"]).await?
        }
        "avg_pool2d" => {
            let x = case.tensor(0)?;
            let op = AvgPool2d::new(&pool_params(case)?, x.shape(), case.flag("count_include_pad").unwrap_or(true))?;
            run_op(device, case, &op, vec![x], &[0], &["x"]).await?
        }
        "max_pool2d" => {
            let x = case.tensor(0)?;
            let op = MaxPool2d::new(&pool_params(case)?, x.shape())?;
            run_op(device, case, &op, vec![x], &[0], &["x"]).await?
        }
        "adaptive_avg_pool2d" => {
            let x = case.tensor(0)?;
            let size = match case.sizes("output_size").as_deref() {
                Some(&[h, w]) => [h, w],
                Some(&[s]) => [s, s],
                other => return Err(Failure::Run(format!("output_size {other:?} is not 2-D"))),
            };
            let op = AdaptiveAvgPool2d::new(x.shape(), size)?;
            run_op(device, case, &op, vec![x], &[0], &["x"]).await?
        }
        "batch_norm" => {
            let inputs: Vec<Tensor> = (0..5).map(|i| case.tensor(i)).collect::<Result<_, _>>()?;
            let training = case.flag("training").unwrap_or(false);
            let params = BatchNormParams {
                eps: case.float("eps").unwrap_or(1e-5),
                momentum: case.float("momentum").unwrap_or(0.1),
                training,
                unbiased_running_var: true,
            };
            let op = BatchNorm::new(&params, inputs[0].shape(), &[inputs[1].shape(), inputs[2].shape(), inputs[3].shape(), inputs[4].shape()])?;
            // y, and in training the new running mean and variance.
            let pick: &[usize] = if training { &[0, 3, 4] } else { &[0] };
            let computed = run_op(device, case, &op, inputs, pick, &["x", "weight", "bias"]).await?;
            Computed { grad_atol: ATOL_LOOSE, ..computed }
        }
        "dropout" => dropout(device, case).await?,
        "relu" => run_op(device, case, &Relu, vec![case.tensor(0)?], &[0], &["x"]).await?,
        "sigmoid" | "sigmoid_range" => {
            let op = if case.op == "sigmoid" {
                Sigmoid::STANDARD
            } else {
                Sigmoid::range(case.float("low").unwrap_or(0.0), case.float("high").unwrap_or(1.0))?
            };
            run_op(device, case, &op, vec![case.tensor(0)?], &[0], &["x"]).await?
        }
        "softmax" | "log_softmax" => {
            let x = case.tensor(0)?;
            let op = Softmax::new(x.shape(), case.int("dim").unwrap_or(-1) as isize, case.op == "log_softmax")?;
            run_op(device, case, &op, vec![x], &[0], &["x"]).await?
        }
        "embedding" => {
            let (indices, w) = (case.named("indices")?.indices()?, case.named("weight")?.tensor()?);
            let mut op = Embedding::new(w.shape(), 0, &indices)?;
            if let Some(row) = case.int("padding_idx") {
                op = op.with_padding_idx(if row < 0 { row + w.shape().dims()[0] as i64 } else { row } as usize);
            }
            run_op(device, case, &op, vec![w], &[0], &["weight"]).await?
        }
        "cross_entropy" => {
            let logits = case.named("logits")?.tensor()?;
            let weight = case.inputs.iter().find(|t| t.name == "weight").map(|t| t.tensor()).transpose()?;
            let target = case.named("target")?.indices()?;
            let op = CrossEntropy::new(logits.shape(), &target, weight.as_ref().map(Tensor::shape), case.int("ignore_index"), reduction(case)?)?;
            run_op(device, case, &op, [logits].into_iter().chain(weight).collect(), &[0], &["logits", "weight"]).await?
        }
        "mse_loss" => {
            let (input, target) = (case.named("input")?.tensor()?, case.named("target")?.tensor()?);
            let op = Mse::new(input.shape(), target.shape(), reduction(case)?)?;
            run_op(device, case, &op, vec![input, target], &[0], &["input", "target"]).await?
        }
        "rmspe" => {
            let (y, yhat) = (case.named("y")?.tensor()?, case.named("yhat")?.tensor()?);
            let op = Rmspe::new(y.shape(), yhat.shape())?;
            run_op(device, case, &op, vec![y, yhat], &[0], &["y", "yhat"]).await?
        }
        "train_step" => train_step(device, case).await?,
        op => return Err(Failure::Run(format!("op {op} is not supported by the engine"))),
    };
    Ok(computed)
}

/// A torch size argument: one number for both axes, or a pair.
fn pair(case: &Case, key: &str, default: usize) -> Result<[usize; 2], Failure> {
    match case.sizes(key).as_deref() {
        None | Some(&[]) => Ok([default; 2]),
        Some(&[a]) => Ok([a, a]),
        Some(&[a, b]) => Ok([a, b]),
        Some(other) => Err(Failure::Run(format!("{key} {other:?} is not 2-D"))),
    }
}

fn conv_params(case: &Case) -> Result<Conv2dParams, Failure> {
    let [ph, pw] = pair(case, "padding", 0)?;
    let mode = case.string("padding_mode").unwrap_or("zeros");
    Ok(Conv2dParams {
        stride: pair(case, "stride", 1)?,
        dilation: pair(case, "dilation", 1)?,
        padding: [ph, pw, ph, pw],
        padding_mode: PaddingMode::parse(mode).ok_or_else(|| Failure::Run(format!("padding_mode {mode} is unknown")))?,
        groups: case.int("groups").unwrap_or(1) as usize,
    })
}

fn pool_params(case: &Case) -> Result<Pool2dParams, Failure> {
    let kernel = pair(case, "kernel_size", 1)?;
    let [ph, pw] = pair(case, "padding", 0)?;
    Ok(Pool2dParams {
        kernel,
        // PyTorch's stride defaults to the kernel size.
        stride: case.sizes("stride").filter(|s| !s.is_empty()).map_or(Ok(kernel), |_| pair(case, "stride", 1))?,
        padding: [ph, pw, ph, pw],
        dilation: pair(case, "dilation", 1)?,
        ceil_mode: case.flag("ceil_mode").unwrap_or(false),
    })
}

fn reduction(case: &Case) -> Result<Reduction, Failure> {
    let name = case.string("reduction").unwrap_or("mean");
    Reduction::parse(name).ok_or_else(|| Failure::Run(format!("reduction {name} is unknown")))
}

/// Dropout in training draws PyTorch's random mask, which no other generator reproduces: such cases
/// (`property_test`) are checked for what every valid mask satisfies instead.
async fn dropout(device: &Device, case: &Case) -> Result<Computed, Failure> {
    let x = case.tensor(0)?;
    let p = case.float("p").unwrap_or(0.5);
    let op = Dropout::new(x.shape(), p, case.flag("training").unwrap_or(true), case.int("seed").unwrap_or(0) as u32)?;
    if !case.flag("property_test").unwrap_or(false) {
        return run_op(device, case, &op, vec![x], &[0], &["x"]).await;
    }
    let (y, mask) = op.forward(&x.to(device))?;
    let dy = case.upstream("y")?;
    let dx = read(&op.backward(&dy.to(device), &mask)?).await?;
    let (y, mask) = (read(&y).await?, read(&mask).await?);
    check_dropout_properties(&x, &y, &mask, p)?;
    let scale = 1.0 / (1.0 - p);
    for i in 0..x.numel() {
        let want_dx = dy.data()[i] * mask.data()[i] * scale;
        if (dx.data()[i] - want_dx).abs() > 1e-5 * (1.0 + want_dx.abs()) {
            return Err(Failure::Run(format!("element {i}: dx {} is not dy · mask / (1 − p) = {want_dx}", dx.data()[i])));
        }
    }
    Ok(Computed { property_checked: true, ..Computed::outputs(vec![y]) })
}

/// What every training-mode dropout output satisfies: the mask is 0 or 1, each `y` is `x / (1 − p)` where kept and 0
/// where dropped, and about `p` of the values are dropped (within 4 standard deviations).
pub(super) fn check_dropout_properties(x: &Tensor, y: &Tensor, mask: &Tensor, p: f32) -> Result<(), Failure> {
    let scale = 1.0 / (1.0 - p);
    for i in 0..x.numel() {
        let (xi, yi, m) = (x.data()[i], y.data()[i], mask.data()[i]);
        let want = xi * m * scale;
        if !(m == 0.0 || m == 1.0) || (yi - want).abs() > 1e-5 * (1.0 + want.abs()) {
            return Err(Failure::Run(format!("element {i}: x {xi}, mask {m}, y {yi} break the dropout properties")));
        }
    }
    let n = x.numel() as f32;
    let dropped = mask.data().iter().filter(|&&m| m == 0.0).count() as f32;
    if (dropped - p * n).abs() > 4.0 * (n * p * (1.0 - p)).sqrt() + 1.0 {
        return Err(Failure::Run(format!("{dropped} of {n} values dropped: far from p = {p}")));
    }
    Ok(())
}

/// The network a `train_step` case describes in its `model` attribute, such as `conv2d(1->4,k3,s1,p1,bias) -> relu
/// -> max_pool2d(k2,s2) -> flatten(C,H,W row-major) -> linear(64->3,bias) -> cross_entropy(mean)`: the engine's
/// layers, with the loss (which must be the last stage, a mean cross-entropy) left to the caller. A stage the
/// engine does not know, or a setting it does not read, is an error.
pub fn network(description: &str, device: &Device) -> Result<Sequential, Failure> {
    let mut stages: Vec<&str> = description.split("->").map(str::trim).collect();
    // Stage names contain `->` themselves (`conv2d(1->4,…)`): join the pieces back inside each parenthesis.
    let mut joined: Vec<String> = Vec::new();
    for piece in stages.drain(..) {
        match joined.last_mut() {
            Some(last) if last.matches('(').count() > last.matches(')').count() => *last = format!("{last}->{piece}"),
            _ => joined.push(piece.to_string()),
        }
    }
    let (Some(loss), layers) = (joined.pop(), joined) else { return Err(Failure::Run("the model has no stages".into())) };
    if loss != "cross_entropy(mean)" {
        return Err(Failure::Run(format!("the model's last stage `{loss}` is not cross_entropy(mean)")));
    }
    let mut rng = Rng::new(0);
    let mut built: Vec<Box<dyn Layer>> = Vec::new();
    for stage in &layers {
        let (name, args) = stage.split_once('(').map_or((stage.as_str(), ""), |(n, a)| (n, a.trim_end_matches(')')));
        let args: Vec<&str> = args.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
        let unknown = |arg: &str| Failure::Run(format!("`{arg}` in `{stage}` is not understood"));
        let number = |arg: &str, prefix: &str| arg.strip_prefix(prefix).and_then(|v| v.parse::<usize>().ok()).ok_or_else(|| unknown(arg));
        let channels = |arg: &str| -> Result<(usize, usize), Failure> {
            let (a, b) = arg.split_once("->").ok_or_else(|| unknown(arg))?;
            Ok((a.parse().map_err(|_| unknown(arg))?, b.parse().map_err(|_| unknown(arg))?))
        };
        let layer: Box<dyn Layer> = match name {
            "conv2d" => {
                let (input, output) = channels(args.first().copied().unwrap_or(""))?;
                let (mut kernel, mut params, mut bias) = (1, Conv2dParams::default(), false);
                for &arg in &args[1..] {
                    match arg {
                        "bias" => bias = true,
                        a if a.starts_with('k') => kernel = number(a, "k")?,
                        a if a.starts_with('s') => params = params.stride(number(a, "s")?),
                        a if a.starts_with('p') => params = params.padding(number(a, "p")?),
                        a => return Err(unknown(a)),
                    }
                }
                Box::new(Conv2dLayer::new(device, input, output, kernel, params, bias, &mut rng))
            }
            "linear" => {
                let (input, output) = channels(args.first().copied().unwrap_or(""))?;
                let bias = match &args[1..] {
                    [] => false,
                    ["bias"] => true,
                    [a, ..] => return Err(unknown(a)),
                };
                Box::new(Linear::new(device, input, output, bias, &mut rng))
            }
            "max_pool2d" => {
                let (mut kernel, mut stride) = (None, None);
                for &arg in &args {
                    match arg {
                        a if a.starts_with('k') => kernel = Some(number(a, "k")?),
                        a if a.starts_with('s') => stride = Some(number(a, "s")?),
                        a => return Err(unknown(a)),
                    }
                }
                let kernel = kernel.ok_or_else(|| unknown(stage))?;
                Box::new(MaxPoolLayer::new(Pool2dParams::new(kernel).stride(stride.unwrap_or(kernel))))
            }
            "relu" if args.is_empty() => Box::new(ReLU::default()),
            // The engine flattens [N, C, H, W] row-major, as the case says.
            "flatten" if args.is_empty() || args == ["C", "H", "W row-major"] => Box::new(Flatten::default()),
            _ => return Err(Failure::Run(format!("the model stage `{stage}` is not one the engine builds"))),
        };
        built.push(layer);
    }
    Ok(Sequential::new(built))
}

/// The `train_step` cases: the network the case describes, from its initial parameters, trained with the
/// engine's optimizers for `steps` steps on one fixed batch.
async fn train_step(device: &Device, case: &Case) -> Result<Computed, Failure> {
    let description = case.string("model").ok_or_else(|| Failure::Run("the case does not describe its model".into()))?;
    let mut model = network(description, device)?;
    let x = case.named("x")?.tensor()?;
    let targets = case.named("y")?.indices()?;
    // The initial parameters are the inputs after x and y, in the model's order (`conv.weight`, `conv.bias`, …).
    let initial: Vec<_> = case.inputs.iter().filter(|t| t.name != "x" && t.name != "y").collect();
    let params = Model::params_mut(&mut model);
    if params.len() != initial.len() {
        return Err(Failure::Run(format!("the model has {} parameters, the case {}", params.len(), initial.len())));
    }
    for (param, value) in params.into_iter().zip(&initial) {
        let value = value.tensor()?;
        if param.value.shape() != value.shape() {
            return Err(Failure::Run(format!("{} has shape {} but the model's is {}", param.name, value.shape(), param.value.shape())));
        }
        param.value = value.to(device);
    }
    let names: Vec<&str> = initial.iter().map(|t| t.name.as_str()).collect();
    let lr = case.float("lr").unwrap_or(0.1);
    let (mut optimizer, momentum) = match case.string("optimizer").unwrap_or("sgd") {
        "sgd" => {
            let kind = OptimizerKind::Sgd {
                dampening: case.float("dampening").unwrap_or(0.0),
                weight_decay: case.float("weight_decay").unwrap_or(0.0),
                nesterov: case.flag("nesterov").unwrap_or(false),
            };
            (Optimizer { kind, steps: 0 }, case.float("momentum").unwrap_or(0.0))
        }
        name @ ("adam" | "adamw") => {
            let betas = case.attrs.get("betas").and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|v| v.as_f64()).collect::<Vec<_>>());
            let (beta1, beta2) = match betas.as_deref() {
                Some(&[b1, b2]) => (b1 as f32, b2 as f32),
                _ => (0.9, 0.999),
            };
            // AdamW's default weight decay is 0.01, Adam's 0.
            let weight_decay = case.float("weight_decay").unwrap_or(if name == "adamw" { 0.01 } else { 0.0 });
            let kind = OptimizerKind::Adam { beta2, eps: case.float("eps").unwrap_or(1e-8), weight_decay, decoupled: name == "adamw" };
            (Optimizer { kind, steps: 0 }, beta1)
        }
        other => return Err(Failure::Run(format!("optimizer {other} is not supported"))),
    };

    let x = x.to(device);
    let one = Tensor::scalar(1.0).to(device);
    let mut outputs = Vec::new();
    let mut grads = Vec::new();
    let steps = case.int("steps").unwrap_or(3);
    for step in 1..=steps {
        let logits = model.forward(&x)?;
        let loss = CrossEntropy::new(logits.shape(), &targets, None, None, Reduction::Mean)?;
        let out = loss.forward(&logits, None)?;
        if step == 1 {
            outputs.push(read(&logits).await?);
        }
        outputs.push(read(&out.loss).await?);
        Model::backward(&mut model, &loss.backward(&out, None, &one)?)?;
        if step == 1 {
            for (name, p) in names.iter().zip(Model::params_mut(&mut model)) {
                grads.push((*name, read(p.grad.as_ref().expect("backward filled every gradient")).await?));
            }
        }
        optimizer.step(Model::params_mut(&mut model), lr, momentum)?;
        for p in Model::params_mut(&mut model) {
            outputs.push(read(&p.value).await?);
        }
    }
    let logits = model.forward(&x)?;
    let loss = CrossEntropy::new(logits.shape(), &targets, None, None, Reduction::Mean)?;
    outputs.push(read(&loss.forward(&logits, None)?.loss).await?);
    Ok(Computed { atol: ATOL_LOOSE, grad_atol: ATOL_LOOSE, ..Computed::outputs(outputs).with_grads(grads) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_a_case_describes_is_built_layer_by_layer() {
        let description = "conv2d(1->4,k3,s1,p1,bias) -> relu -> max_pool2d(k2,s2) -> flatten(C,H,W row-major) -> linear(64->3,bias) -> cross_entropy(mean)";
        let mut model = network(description, &Device::Cpu).unwrap();
        let kinds: Vec<&str> = model.layers.iter().map(|l| l.kind()).collect();
        assert_eq!(kinds, ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]);
        assert_eq!(model.layers[0].describe(), "Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
        let shapes: Vec<String> = Model::params_mut(&mut model).iter().map(|p| p.value.shape().to_string()).collect();
        assert_eq!(shapes, ["[4, 1, 3, 3]", "[4]", "[3, 64]", "[3]"]);
        // Another network is built as described, not as the usual one.
        let other = network("conv2d(3->2,k5,s2,p2) -> relu -> flatten -> linear(8->2) -> cross_entropy(mean)", &Device::Cpu).unwrap();
        assert_eq!(other.layers[0].describe(), "Conv2d(3, 2, kernel_size=(5, 5), stride=(2, 2), padding=(2, 2), bias=False)");
        // What the engine cannot build is a failure, not a guess.
        assert!(network("conv2d(1->4,k3,groups2) -> cross_entropy(mean)", &Device::Cpu).is_err());
        assert!(network("conv2d(1->4,k3) -> gelu -> cross_entropy(mean)", &Device::Cpu).is_err());
        assert!(network("conv2d(1->4,k3) -> mse(mean)", &Device::Cpu).is_err());
    }
}
