// cross_entropy.wgsl: softmax cross-entropy with class weights, ignore_index and reductions.
//
// Rust reference: engine/src/ops/cross_entropy.rs (`CrossEntropy::reference_forward`, `CrossEntropy::reference_backward`). Logits are
// [N, C, inner]; sample s = n·inner + i. `samples` runs one invocation per sample, `reduce` one workgroup, `backward`
// one invocation per logit.

struct Params {
    batch: u32, classes: u32, inner: u32, weighted: u32,
    has_ignore: u32, ignore_index: i32, reduction: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                             // the sizes and settings above
@group(0) @binding(1) var<storage, read> logits: array<f32>;              // [N, C, inner]
@group(0) @binding(2) var<storage, read> targets: array<i32>;             // the class of each sample
@group(0) @binding(3) var<storage, read> weight: array<f32>;              // class weights [C] (a placeholder when unweighted)
@group(0) @binding(4) var<storage, read_write> log_prob: array<f32>;      // written by `samples`, read by `backward`
@group(0) @binding(5) var<storage, read_write> losses: array<f32>;        // per sample, written by `samples`
@group(0) @binding(6) var<storage, read_write> weights: array<f32>;       // per sample: w[target], 0 when ignored
@group(0) @binding(7) var<storage, read_write> loss: array<f32>;          // [] or [samples]
@group(0) @binding(8) var<storage, read_write> total_weight: array<f32>;  // [], written by `reduce`, read by `backward`
@group(0) @binding(9) var<storage, read> dloss: array<f32>;               // upstream gradient of the loss
@group(0) @binding(10) var<storage, read_write> dlogits: array<f32>;      // gradient of the logits

fn at(s: u32, c: u32) -> u32 {
    return (s / p.inner * p.classes + c) * p.inner + s % p.inner;
}

fn sample_weight(s: u32) -> f32 {
    let t = targets[s];
    if (p.has_ignore == 1u && t == p.ignore_index) {
        return 0.0;
    }
    return select(1.0, weight[u32(t)], p.weighted == 1u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn samples(invocation: Invocation) {
    let s = flat_index(invocation);
    if (s >= p.batch * p.inner) {
        return;
    }
    var m = logits[at(s, 0u)];
    for (var c = 1u; c < p.classes; c++) {
        m = max(m, logits[at(s, c)]);
    }
    var sum = 0.0;
    for (var c = 0u; c < p.classes; c++) {
        sum += exp(logits[at(s, c)] - m);
    }
    for (var c = 0u; c < p.classes; c++) {
        let k = at(s, c);
        log_prob[k] = logits[k] - m - log(sum);
    }
    let w = sample_weight(s);
    weights[s] = w;
    losses[s] = select(0.0, -w * log_prob[at(s, u32(max(targets[s], 0)))], w != 0.0);
}

// One workgroup: the losses and the weights summed (the prelude's `workgroup_sum`).
@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce(@builtin(local_invocation_index) thread: u32) {
    let count = p.batch * p.inner;
    var sum = 0.0;
    var weight_sum = 0.0;
    for (var s = thread; s < count; s += WORKGROUP_SIZE) {
        sum += losses[s];
        weight_sum += weights[s];
        if (p.reduction == NONE) {
            loss[s] = losses[s];
        }
    }
    let total_loss = workgroup_sum(thread, sum);
    let total = workgroup_sum(thread, weight_sum);
    if (thread != 0u) {
        return;
    }
    total_weight[0] = total;
    if (p.reduction == SUM) {
        loss[0] = total_loss;
    } else if (p.reduction == MEAN) {
        loss[0] = total_loss / total;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.batch * p.classes * p.inner) {
        return;
    }
    let i = index % p.inner;
    let c = (index / p.inner) % p.classes;
    let s = index / (p.inner * p.classes) * p.inner + i;
    let w = sample_weight(s);
    var g = dloss[0];
    if (p.reduction == NONE) {
        g = dloss[s];
    } else if (p.reduction == MEAN) {
        g = dloss[0] / total_weight[0];
    }
    let onehot = select(0.0, 1.0, i32(c) == targets[s]);
    dlogits[index] = select(0.0, g * w * (exp(log_prob[index]) - onehot), w != 0.0);
}
