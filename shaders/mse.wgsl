// mse.wgsl: squared-error loss (mean, sum or none) and its gradients.
//
// Rust reference: engine/src/ops/mse.rs (`Mse::reference_forward`, `Mse::reference_backward`). The mean and the
// sum are one workgroup's sum.

struct Params {
    total: u32, reduction: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                        // the size and the reduction
@group(0) @binding(1) var<storage, read> input: array<f32>;          // the prediction
@group(0) @binding(2) var<storage, read> truth: array<f32>;          // the target (`target` is a reserved word in WGSL)
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;     // [] or the squares
@group(0) @binding(4) var<storage, read> dloss: array<f32>;          // upstream gradient of the loss
@group(0) @binding(5) var<storage, read_write> dinput: array<f32>;   // gradient of the prediction
@group(0) @binding(6) var<storage, read_write> dtarget: array<f32>;  // gradient of the target

// One invocation per value: the squares (no reduction).
@compute @workgroup_size(WORKGROUP_SIZE)
fn squares(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i < p.total) {
        let d = input[i] - truth[i];
        loss[i] = d * d;
    }
}

// One workgroup: the squares summed (the prelude's `workgroup_sum`), or their mean.
@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce(@builtin(local_invocation_index) thread: u32) {
    var sum = 0.0;
    for (var i = thread; i < p.total; i += WORKGROUP_SIZE) {
        let d = input[i] - truth[i];
        sum += d * d;
    }
    let total = workgroup_sum(thread, sum);
    if (thread == 0u) {
        loss[0] = select(total, total / f32(p.total), p.reduction == MEAN);
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i >= p.total) {
        return;
    }
    var g = dloss[0];
    if (p.reduction == NONE) {
        g = dloss[i];
    } else if (p.reduction == MEAN) {
        g = dloss[0] / f32(p.total);
    }
    let d = 2.0 * (input[i] - truth[i]) * g;
    dinput[i] = d;
    dtarget[i] = -d;
}
