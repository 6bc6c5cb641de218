// adam.wgsl: one Adam / AdamW step per element, bias-corrected as PyTorch does.
//
// Rust reference: engine/src/ops/adam.rs (`Adam::reference_step`, `Adam::update`); the bias corrections 1 - β^t come from the host.
//
// Bindings (group 0): 0 params, 1 param (read), 2 grad (read), 3 m (read), 4 v (read), 5 new_param (write),
// 6 new_m (write), 7 new_v (write).

struct Params {
    total: u32, lr: f32, beta1: f32, beta2: f32,
    eps: f32, weight_decay: f32, decoupled: u32, correction1: f32,
    correction2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> m: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> new_param: array<f32>;
@group(0) @binding(6) var<storage, read_write> new_m: array<f32>;
@group(0) @binding(7) var<storage, read_write> new_v: array<f32>;

@compute @workgroup_size(64)
fn step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
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
