// batch_norm.wgsl: batch normalization, forward (statistics, then normalize) and backward (per-channel sums,
// then input gradients). Each channel's sums are one workgroup (the prelude's `workgroup_sum`).
//
// Rust reference: engine/src/ops/batch_norm.rs (`BatchNorm::reference_forward`, `BatchNorm::reference_backward`).

struct Params {
    batch: u32, channels: u32, spatial: u32, eps: f32,
    momentum: f32, training: u32, unbiased: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                         // the sizes and settings above
@group(0) @binding(1) var<storage, read> x: array<f32>;               // input [N, C, S]: S positions per channel
@group(0) @binding(2) var<storage, read> running_mean: array<f32>;    // [C], read
@group(0) @binding(3) var<storage, read> running_var: array<f32>;     // [C], read
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;      // [C], written by `statistics`, read after
@group(0) @binding(5) var<storage, read_write> invstd: array<f32>;    // [C], 1/√(var + eps), likewise
@group(0) @binding(6) var<storage, read_write> new_mean: array<f32>;  // [C], the running mean after this batch
@group(0) @binding(7) var<storage, read_write> new_var: array<f32>;   // [C], the running variance after it
@group(0) @binding(8) var<storage, read> weight: array<f32>;          // γ [C]
@group(0) @binding(9) var<storage, read> bias: array<f32>;            // β [C]
@group(0) @binding(10) var<storage, read_write> y: array<f32>;        // output [N, C, S]
@group(0) @binding(11) var<storage, read> dy: array<f32>;             // upstream gradient [N, C, S]
@group(0) @binding(12) var<storage, read_write> dweight: array<f32>;  // ∂γ [C], written by `grad_params`, read after
@group(0) @binding(13) var<storage, read_write> dbias: array<f32>;    // ∂β [C], likewise
@group(0) @binding(14) var<storage, read_write> dx: array<f32>;       // input gradient [N, C, S]

// Flat index of the i-th value (0 ≤ i < N·S) of channel c.
fn at(c: u32, i: u32) -> u32 {
    return ((i / p.spatial) * p.channels + c) * p.spatial + i % p.spatial;
}

// One workgroup per channel: the statistics to normalise with, and the running statistics after this batch.
@compute @workgroup_size(WORKGROUP_SIZE)
fn statistics(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) thread: u32,
) {
    for (var c = group.x; c < p.channels; c += groups.x) {
        channel_statistics(c, thread);
    }
}

fn channel_statistics(c: u32, thread: u32) {
    if (p.training == 0u) {
        if (thread == 0u) {
            mean[c] = running_mean[c];
            invstd[c] = 1.0 / sqrt(running_var[c] + p.eps);
            new_mean[c] = running_mean[c];
            new_var[c] = running_var[c];
        }
        return;
    }
    let count = p.batch * p.spatial;
    let n = f32(count);
    var sum = 0.0;
    for (var i = thread; i < count; i += WORKGROUP_SIZE) {
        sum += x[at(c, i)];
    }
    let mu = workgroup_sum(thread, sum) / n;
    var squares = 0.0;
    for (var i = thread; i < count; i += WORKGROUP_SIZE) {
        let d = x[at(c, i)] - mu;
        squares += d * d;
    }
    let variance = workgroup_sum(thread, squares) / n;
    if (thread == 0u) {
        mean[c] = mu;
        invstd[c] = 1.0 / sqrt(variance + p.eps);
        let batch_var = select(variance, variance * n / (n - 1.0), p.unbiased == 1u);
        new_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * mu;
        new_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * batch_var;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn normalize(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.batch * p.channels * p.spatial) {
        return;
    }
    let c = (index / p.spatial) % p.channels;
    y[index] = (x[index] - mean[c]) * invstd[c] * weight[c] + bias[c];   // `BatchNorm::normalize`
}

// One workgroup per channel: ∂β = Σ dy and ∂γ = Σ dy·x̂.
@compute @workgroup_size(WORKGROUP_SIZE)
fn grad_params(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) thread: u32,
) {
    for (var c = group.x; c < p.channels; c += groups.x) {
        var sum_dy = 0.0;
        var sum_dy_xhat = 0.0;
        for (var i = thread; i < p.batch * p.spatial; i += WORKGROUP_SIZE) {
            let j = at(c, i);
            sum_dy += dy[j];
            sum_dy_xhat += dy[j] * (x[j] - mean[c]) * invstd[c];
        }
        let total_dy = workgroup_sum(thread, sum_dy);
        let total_dy_xhat = workgroup_sum(thread, sum_dy_xhat);
        if (thread == 0u) {
            dbias[c] = total_dy;
            dweight[c] = total_dy_xhat;
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn grad_input(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.batch * p.channels * p.spatial) {
        return;
    }
    let c = (index / p.spatial) % p.channels;
    if (p.training == 0u) {
        dx[index] = dy[index] * weight[c] * invstd[c];
        return;
    }
    let n = f32(p.batch * p.spatial);
    let xhat = (x[index] - mean[c]) * invstd[c];
    dx[index] = weight[c] * invstd[c] / n * (n * dy[index] - dbias[c] - xhat * dweight[c]);
}
