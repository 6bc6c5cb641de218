// softmax.wgsl: softmax and log-softmax along one axis of [outer, len, inner], one invocation per row.
//
// Rust reference: engine/src/ops/softmax.rs (`Softmax::reference_forward`, `Softmax::reference_backward`).
//
// Bindings (group 0): 0 params (uniform), 1 x (read), 2 y (write), 3 out (read: the forward output),
// 4 dy (read), 5 dx (write).

struct Params {
    outer: u32, len: u32, inner: u32, log: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> out: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

// Flat index of element j of row `row` (row = o·inner + i).
fn at(row: u32, j: u32) -> u32 {
    return ((row / p.inner) * p.len + j) * p.inner + row % p.inner;
}

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = flat_index(gid, groups);
    if (row >= p.outer * p.inner) {
        return;
    }
    var m = x[at(row, 0u)];
    for (var j = 1u; j < p.len; j++) {
        m = max(m, x[at(row, j)]);
    }
    var sum = 0.0;
    for (var j = 0u; j < p.len; j++) {
        sum += exp(x[at(row, j)] - m);
    }
    for (var j = 0u; j < p.len; j++) {
        let k = at(row, j);
        if (p.log == 1u) {
            y[k] = x[k] - m - log(sum);
        } else {
            y[k] = exp(x[k] - m) / sum;
        }
    }
}

@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = flat_index(gid, groups);
    if (row >= p.outer * p.inner) {
        return;
    }
    var sum = 0.0;
    for (var j = 0u; j < p.len; j++) {
        let k = at(row, j);
        sum += select(dy[k] * out[k], dy[k], p.log == 1u);
    }
    for (var j = 0u; j < p.len; j++) {
        let k = at(row, j);
        if (p.log == 1u) {
            dx[k] = dy[k] - exp(out[k]) * sum;
        } else {
            dx[k] = out[k] * (dy[k] - sum);
        }
    }
}
