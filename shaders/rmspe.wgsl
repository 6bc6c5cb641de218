// rmspe.wgsl: root mean square percentage error and its gradients.
//
// Rust reference: engine/src/ops/rmspe.rs (`Rmspe::reference_forward`, `Rmspe::reference_backward`). The forward
// sum is one workgroup's.

struct Params {
    total: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                      // the size
@group(0) @binding(1) var<storage, read> y: array<f32>;            // the truth
@group(0) @binding(2) var<storage, read> yhat: array<f32>;         // the prediction
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;   // []
@group(0) @binding(4) var<storage, read> saved_loss: array<f32>;   // the forward loss, read by `backward`
@group(0) @binding(5) var<storage, read> dloss: array<f32>;        // upstream gradient of the loss
@group(0) @binding(6) var<storage, read_write> dy: array<f32>;     // gradient of the truth
@group(0) @binding(7) var<storage, read_write> dyhat: array<f32>;  // gradient of the prediction

// One workgroup: the squared ratios summed (the prelude's `workgroup_sum`).
@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(@builtin(local_invocation_index) thread: u32) {
    var sum = 0.0;
    for (var i = thread; i < p.total; i += WORKGROUP_SIZE) {
        let r = (y[i] - yhat[i]) / y[i];
        sum += r * r;
    }
    let total = workgroup_sum(thread, sum);
    if (thread == 0u) {
        loss[0] = sqrt(total / f32(p.total));
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i >= p.total) {
        return;
    }
    let l = saved_loss[0];
    let scale = select(dloss[0] / (f32(p.total) * l), 0.0, l == 0.0);
    let r = (y[i] - yhat[i]) / y[i];
    dy[i] = r * yhat[i] / (y[i] * y[i]) * scale;
    dyhat[i] = -r / y[i] * scale;
}
