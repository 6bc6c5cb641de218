//! PyTorch ops: the call's arguments as attributes, forward and gradients (for the upstream gradients the case
//! gives), and the tiny-CNN training steps.

use super::{ATOL_LOOSE, Case, Computed, Failure, read};
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
use engine::ops::padding::PaddingMode;
use engine::ops::pool::Pool2dParams;
use engine::ops::rmspe::Rmspe;
use engine::ops::sigmoid::Sigmoid;
use engine::ops::softmax::Softmax;
use engine::nn::{Conv2d as Conv2dLayer, Flatten, Linear, MaxPool2d as MaxPoolLayer, Model, ReLU, Sequential};
use engine::optim::{Optimizer, OptimizerKind};
use engine::rng::Rng;
use engine::{Backend, DeviceTensor, Shape, Tensor};

/// Runs a PyTorch case.
pub async fn run<B: Backend>(b: &B, case: &Case) -> Result<Computed, Failure> {
    let up = |t: &Tensor| b.upload(t);
    let computed = match case.op.as_str() {
        "conv2d" => {
            let (x, w) = (case.tensor(0)?, case.tensor(1)?);
            let bias = if case.flag("bias").unwrap_or(case.inputs.len() > 2) { Some(case.tensor(2)?) } else { None };
            let op = Conv2d::new(&conv_params(case)?, x.shape(), w.shape(), bias.as_ref().map(Tensor::shape))?;
            let (xd, wd) = (up(&x), up(&w));
            let y = b.conv2d(&op, &xd, &wd, bias.as_ref().map(up).as_ref());
            let grads = b.conv2d_backward(&op, &xd, &wd, &up(&case.upstream("y")?));
            let mut named = vec![("x", read(b, &grads.dx).await?), ("weight", read(b, &grads.dw).await?)];
            if let Some(db) = &grads.db {
                named.push(("bias", read(b, db).await?));
            }
            Computed::outputs(vec![read(b, &y).await?]).with_grads(named)
        }
        "avg_pool2d" => {
            let x = case.tensor(0)?;
            let op = AvgPool2d::new(&pool_params(case)?, x.shape(), case.flag("count_include_pad").unwrap_or(true))?;
            let y = b.avg_pool2d(&op, &up(&x));
            let dx = b.avg_pool2d_backward(&op, &up(&case.upstream("y")?));
            Computed::outputs(vec![read(b, &y).await?]).with_grads(vec![("x", read(b, &dx).await?)])
        }
        "max_pool2d" => {
            let x = case.tensor(0)?;
            let op = MaxPool2d::new(&pool_params(case)?, x.shape())?;
            let (y, argmax) = b.max_pool2d(&op, &up(&x));
            let dx = b.max_pool2d_backward(&op, &up(&case.upstream("y")?), &argmax);
            Computed::outputs(vec![read(b, &y).await?]).with_grads(vec![("x", read(b, &dx).await?)])
        }
        "adaptive_avg_pool2d" => {
            let x = case.tensor(0)?;
            let size = match case.sizes("output_size").as_deref() {
                Some(&[h, w]) => [h, w],
                Some(&[s]) => [s, s],
                other => return Err(Failure::Run(format!("output_size {other:?} is not 2-D"))),
            };
            let op = AdaptiveAvgPool2d::new(x.shape(), size)?;
            let y = b.adaptive_avg_pool2d(&op, &up(&x));
            let dx = b.adaptive_avg_pool2d_backward(&op, &up(&case.upstream("y")?));
            Computed::outputs(vec![read(b, &y).await?]).with_grads(vec![("x", read(b, &dx).await?)])
        }
        "batch_norm" => batch_norm(b, case).await?,
        "dropout" => dropout(b, case).await?,
        "linear" => {
            let (x, w) = (case.tensor(0)?, case.tensor(1)?);
            let bias = if case.flag("bias").unwrap_or(case.inputs.len() > 2) { Some(case.tensor(2)?) } else { None };
            let op = Gemm::linear(x.shape(), w.shape(), bias.as_ref().map(Tensor::shape))?;
            let (xd, wd) = (up(&x), up(&w));
            let y = b.gemm(&op, &xd, &wd, bias.as_ref().map(up).as_ref());
            let grads = b.gemm_backward(&op, &xd, &wd, &up(&case.upstream("y")?));
            let mut named = vec![("x", read(b, &grads.da).await?), ("weight", read(b, &grads.db).await?)];
            if let Some(dc) = &grads.dc {
                named.push(("bias", read(b, dc).await?));
            }
            Computed::outputs(vec![read(b, &y).await?]).with_grads(named)
        }
        "relu" => {
            let x = up(&case.tensor(0)?);
            let (y, dx) = (b.relu(&x), b.relu_backward(&x, &up(&case.upstream("y")?)));
            Computed::outputs(vec![read(b, &y).await?]).with_grads(vec![("x", read(b, &dx).await?)])
        }
        "sigmoid" | "sigmoid_range" => {
            let op = if case.op == "sigmoid" {
                Sigmoid::STANDARD
            } else {
                Sigmoid::range(case.float("low").unwrap_or(0.0), case.float("high").unwrap_or(1.0))?
            };
            let x = up(&case.tensor(0)?);
            let (y, dx) = (b.sigmoid(&op, &x), b.sigmoid_backward(&op, &x, &up(&case.upstream("y")?)));
            Computed::outputs(vec![read(b, &y).await?]).with_grads(vec![("x", read(b, &dx).await?)])
        }
        "softmax" | "log_softmax" => {
            let x = case.tensor(0)?;
            let op = Softmax::new(x.shape(), case.int("dim").unwrap_or(-1) as isize, case.op == "log_softmax")?;
            let y = b.softmax(&op, &up(&x));
            let dx = b.softmax_backward(&op, &y, &up(&case.upstream("y")?));
            Computed::outputs(vec![read(b, &y).await?]).with_grads(vec![("x", read(b, &dx).await?)])
        }
        "embedding" => {
            let (indices, w) = (case.named("indices")?.indices()?, case.named("weight")?.tensor()?);
            let mut op = Embedding::new(w.shape(), 0, &indices)?;
            if let Some(row) = case.int("padding_idx") {
                op = op.with_padding_idx(if row < 0 { row + w.shape().dims()[0] as i64 } else { row } as usize);
            }
            let y = b.embedding(&op, &up(&w));
            let dw = b.embedding_backward(&op, &up(&case.upstream("y")?));
            Computed::outputs(vec![read(b, &y).await?]).with_grads(vec![("weight", read(b, &dw).await?)])
        }
        "cross_entropy" => {
            let logits = case.named("logits")?.tensor()?;
            let weight = case.inputs.iter().find(|t| t.name == "weight").map(|t| t.tensor()).transpose()?;
            let op = CrossEntropy::new(
                logits.shape(),
                &case.named("target")?.indices()?,
                weight.as_ref().map(Tensor::shape),
                case.int("ignore_index"),
                reduction(case)?,
            )?;
            let w = weight.as_ref().map(up);
            let out = b.cross_entropy(&op, &up(&logits), w.as_ref());
            let dlogits = b.cross_entropy_backward(&op, &out, w.as_ref(), &up(&case.upstream("loss")?));
            Computed::outputs(vec![read(b, &out.loss).await?]).with_grads(vec![("logits", read(b, &dlogits).await?)])
        }
        "mse_loss" => {
            let (input, target) = (case.named("input")?.tensor()?, case.named("target")?.tensor()?);
            let op = Mse::new(input.shape(), target.shape(), reduction(case)?)?;
            let (i, t) = (up(&input), up(&target));
            let loss = b.mse(&op, &i, &t);
            let (di, dt) = b.mse_backward(&op, &i, &t, &up(&case.upstream("loss")?));
            Computed::outputs(vec![read(b, &loss).await?]).with_grads(vec![("input", read(b, &di).await?), ("target", read(b, &dt).await?)])
        }
        "rmspe" => {
            let (y, yhat) = (case.named("y")?.tensor()?, case.named("yhat")?.tensor()?);
            let op = Rmspe::new(y.shape(), yhat.shape())?;
            let (yd, hd) = (up(&y), up(&yhat));
            let loss = b.rmspe(&op, &yd, &hd);
            let (dy, dh) = b.rmspe_backward(&op, &yd, &hd, &loss, &up(&case.upstream("loss")?));
            Computed::outputs(vec![read(b, &loss).await?]).with_grads(vec![("y", read(b, &dy).await?), ("yhat", read(b, &dh).await?)])
        }
        "train_step" => train_step(b, case).await?,
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

async fn batch_norm<B: Backend>(b: &B, case: &Case) -> Result<Computed, Failure> {
    let inputs: Vec<Tensor> = (0..5).map(|i| case.tensor(i)).collect::<Result<_, _>>()?;
    let training = case.flag("training").unwrap_or(false);
    let params = BatchNormParams {
        eps: case.float("eps").unwrap_or(1e-5),
        momentum: case.float("momentum").unwrap_or(0.1),
        training,
        unbiased_running_var: true,
    };
    let per_channel = [inputs[1].shape(), inputs[2].shape(), inputs[3].shape(), inputs[4].shape()];
    let op = BatchNorm::new(&params, inputs[0].shape(), &per_channel)?;
    let d: Vec<B::Tensor> = inputs.iter().map(|t| b.upload(t)).collect();
    let out = b.batch_norm(&op, &d[0], &d[1], &d[2], &d[3], &d[4]);
    let grads = b.batch_norm_backward(&op, &d[0], &d[1], &out, &b.upload(&case.upstream("y")?));
    let mut outputs = vec![read(b, &out.y).await?];
    if training {
        outputs.push(read(b, &out.running_mean).await?);
        outputs.push(read(b, &out.running_var).await?);
    }
    let named = vec![("x", read(b, &grads.dx).await?), ("weight", read(b, &grads.dweight).await?), ("bias", read(b, &grads.dbias).await?)];
    Ok(Computed { grad_atol: ATOL_LOOSE, ..Computed::outputs(outputs).with_grads(named) })
}

/// Dropout in training draws PyTorch's random mask, which no other generator reproduces: such cases
/// (`property_test`) are checked for what every valid mask satisfies instead.
async fn dropout<B: Backend>(b: &B, case: &Case) -> Result<Computed, Failure> {
    let x = case.tensor(0)?;
    let p = case.float("p").unwrap_or(0.5);
    let op = Dropout::new(x.shape(), p, case.flag("training").unwrap_or(true), case.int("seed").unwrap_or(0) as u32)?;
    let (y, mask) = b.dropout(&op, &b.upload(&x));
    let dy = case.upstream("y")?;
    let dx = read(b, &b.dropout_backward(&op, &b.upload(&dy), &mask)).await?;
    let y = read(b, &y).await?;
    if !case.flag("property_test").unwrap_or(false) {
        return Ok(Computed::outputs(vec![y]).with_grads(vec![("x", dx)]));
    }
    let mask = read(b, &mask).await?;
    check_dropout_properties(&x, &y, &mask, p)?;
    let scale = 1.0 / (1.0 - p);
    for i in 0..x.data().len() {
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
    for i in 0..x.data().len() {
        let (xi, yi, m) = (x.data()[i], y.data()[i], mask.data()[i]);
        let want = xi * m * scale;
        if !(m == 0.0 || m == 1.0) || (yi - want).abs() > 1e-5 * (1.0 + want.abs()) {
            return Err(Failure::Run(format!("element {i}: x {xi}, mask {m}, y {yi} break the dropout properties")));
        }
    }
    let n = x.data().len() as f32;
    let dropped = mask.data().iter().filter(|&&m| m == 0.0).count() as f32;
    if (dropped - p * n).abs() > 4.0 * (n * p * (1.0 - p)).sqrt() + 1.0 {
        return Err(Failure::Run(format!("{dropped} of {n} values dropped: far from p = {p}")));
    }
    Ok(())
}

/// The tiny CNN of the `train_step` cases, built from the engine's layers and trained with its optimizers for
/// `steps` steps on one fixed batch: conv2d(1→4, 3x3, padding 1) → relu → max_pool2d(2) → flatten → linear(64→3)
/// → cross_entropy(mean).
async fn train_step<B: Backend>(b: &B, case: &Case) -> Result<Computed, Failure> {
    const PARAMS: [&str; 4] = ["conv.weight", "conv.bias", "fc.weight", "fc.bias"];
    let x = case.named("x")?.tensor()?;
    let targets = case.named("y")?.indices()?;
    let initial: Vec<Tensor> = PARAMS.iter().map(|n| case.named(n)?.tensor()).collect::<Result<_, _>>()?;
    let (channels, classes) = (initial[0].shape().dims()[0], initial[2].shape().dims()[0]);
    let mut rng = Rng::new(0);
    let mut model = Sequential::new(vec![
        Box::new(Conv2dLayer::new(b, x.shape().dims()[1], channels, initial[0].shape().dims()[2], Conv2dParams::default().padding(1), true, &mut rng)),
        Box::new(ReLU::default()),
        Box::new(MaxPoolLayer::new(Pool2dParams::new(2))),
        Box::new(Flatten::default()),
        Box::new(Linear::new(b, initial[2].shape().dims()[1], classes, true, &mut rng)),
    ]);
    for (param, value) in Model::params_mut(&mut model).into_iter().zip(&initial) {
        if param.value.shape() != value.shape() {
            return Err(Failure::Run(format!("{} has shape {} but the model's is {}", param.name, value.shape(), param.value.shape())));
        }
        param.value = b.upload(value);
    }
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

    let xd = b.upload(&x);
    let one = b.upload(&Tensor::new(Shape::default(), vec![1.0])?);
    let mut outputs = Vec::new();
    let mut grads = Vec::new();
    let steps = case.int("steps").unwrap_or(3);
    for step in 1..=steps {
        let logits = model.forward(b, &xd)?;
        let loss_op = CrossEntropy::new(logits.shape(), &targets, None, None, Reduction::Mean)?;
        let out = b.cross_entropy(&loss_op, &logits, None);
        if step == 1 {
            outputs.push(read(b, &logits).await?);
        }
        outputs.push(read(b, &out.loss).await?);
        model.backward(b, &b.cross_entropy_backward(&loss_op, &out, None, &one));
        if step == 1 {
            for (name, p) in PARAMS.iter().zip(Model::params_mut(&mut model)) {
                grads.push((*name, read(b, p.grad.as_ref().expect("backward filled every gradient")).await?));
            }
        }
        optimizer.step(b, Model::params_mut(&mut model), lr, momentum)?;
        for p in Model::params_mut(&mut model) {
            outputs.push(read(b, &p.value).await?);
        }
    }
    let logits = model.forward(b, &xd)?;
    let loss_op = CrossEntropy::new(logits.shape(), &targets, None, None, Reduction::Mean)?;
    outputs.push(read(b, &b.cross_entropy(&loss_op, &logits, None).loss).await?);
    Ok(Computed { atol: ATOL_LOOSE, grad_atol: ATOL_LOOSE, ..Computed::outputs(outputs).with_grads(grads) })
}
