// sgd.wgsl: one SGD step with momentum, dampening, weight decay and Nesterov, per element.
//
// Rust reference: engine/src/ops/sgd.rs (`Sgd::reference_step`).

struct Params {
    total: u32, lr: f32, momentum: f32, dampening: f32,
    weight_decay: f32, nesterov: u32, has_velocity: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                             // the hyperparameters
@group(0) @binding(1) var<storage, read> param: array<f32>;               // the parameter
@group(0) @binding(2) var<storage, read> grad: array<f32>;                // its gradient
@group(0) @binding(3) var<storage, read> velocity: array<f32>;            // the momentum buffer (a placeholder on the first step)
@group(0) @binding(4) var<storage, read_write> new_param: array<f32>;     // the parameter after the step
@group(0) @binding(5) var<storage, read_write> new_velocity: array<f32>;  // the momentum buffer after it

@compute @workgroup_size(WORKGROUP_SIZE)
fn step(invocation: Invocation) {
    let i = flat_index(invocation);
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
