// softmax.wgsl: softmax and log-softmax along one axis of [outer, len, inner], one invocation per row.
//
// Rust reference: engine/src/ops/softmax.rs (`Softmax::reference_forward`, `Softmax::reference_backward`).

struct Params {
    outer: u32, len: u32, inner: u32, log: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                   // the sizes above
@group(0) @binding(1) var<storage, read> x: array<f32>;         // input
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // output
@group(0) @binding(3) var<storage, read> out: array<f32>;       // the forward output, read by `backward`
@group(0) @binding(4) var<storage, read> dy: array<f32>;        // upstream gradient
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;  // input gradient

// Flat index of element j of row `row` (row = o·inner + i).
fn at(row: u32, j: u32) -> u32 {
    return ((row / p.inner) * p.len + j) * p.inner + row % p.inner;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let row = flat_index(invocation);
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

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let row = flat_index(invocation);
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
