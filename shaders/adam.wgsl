// adam.wgsl: one Adam / AdamW step per element, bias-corrected as PyTorch does.
//
// Rust reference: engine/src/ops/adam.rs (`Adam::reference_step`, `Adam::update`); the bias corrections 1 - β^t come from the host.

struct Params {
    total: u32, lr: f32, beta1: f32, beta2: f32,
    eps: f32, weight_decay: f32, decoupled: u32, correction1: f32,
    correction2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;                          // the step and the hyperparameters
@group(0) @binding(1) var<storage, read> param: array<f32>;            // the parameter
@group(0) @binding(2) var<storage, read> grad: array<f32>;             // its gradient
@group(0) @binding(3) var<storage, read> m: array<f32>;                // first moment (a placeholder on the first step)
@group(0) @binding(4) var<storage, read> v: array<f32>;                // second moment (likewise)
@group(0) @binding(5) var<storage, read_write> new_param: array<f32>;  // the parameter after the step
@group(0) @binding(6) var<storage, read_write> new_m: array<f32>;      // the first moment after it
@group(0) @binding(7) var<storage, read_write> new_v: array<f32>;      // the second moment after it

@compute @workgroup_size(WORKGROUP_SIZE)
fn step(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i >= p.total) {
        return;
    }
    var w = param[i];
    var g = grad[i];
    if (p.decoupled == 1u) {
        w *= 1.0 - p.lr * p.weight_decay;
    } else {
        g += p.weight_decay * w;
    }
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    let denom = sqrt(vi) / sqrt(p.correction2) + p.eps;
    new_param[i] = w - p.lr / p.correction1 * mi / denom;
    new_m[i] = mi;
    new_v[i] = vi;
}
