// sgd.wgsl: one SGD step with momentum, dampening, weight decay and Nesterov, per element.
//
// Rust reference: engine/src/ops/sgd.rs (`Sgd::reference_step`).
//
// Bindings (group 0): 0 params, 1 param (read), 2 grad (read), 3 velocity (read; a placeholder on the first
// step), 4 new_param (write), 5 new_velocity (write).

struct Params {
    total: u32, lr: f32, momentum: f32, dampening: f32,
    weight_decay: f32, nesterov: u32, has_velocity: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> velocity: array<f32>;
@group(0) @binding(4) var<storage, read_write> new_param: array<f32>;
@group(0) @binding(5) var<storage, read_write> new_velocity: array<f32>;

@compute @workgroup_size(64)
fn step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i >= p.total) {
        return;
    }
    var g = grad[i] + p.weight_decay * param[i];
    if (p.momentum != 0.0) {
        var v = g;
        if (p.has_velocity == 1u) {
            v = p.momentum * velocity[i] + (1.0 - p.dampening) * g;
        }
        new_velocity[i] = v;
        g = select(v, g + p.momentum * v, p.nesterov == 1u);
    } else {
        new_velocity[i] = g;
    }
    new_param[i] = param[i] - p.lr * g;
}
