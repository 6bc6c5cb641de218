// relu.wgsl: y = max(x, 0), and its gradient dx = dy where x > 0.
//
// Rust reference: engine/src/ops/relu.rs (`Relu::reference_forward`, `Relu::reference_backward`).

struct Params {
    total: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                   // how many values
@group(0) @binding(1) var<storage, read> x: array<f32>;         // input
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // output
@group(0) @binding(3) var<storage, read> dy: array<f32>;        // upstream gradient
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;  // input gradient

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i < p.total) {
        y[i] = max(x[i], 0.0);
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i < p.total) {
        dx[i] = select(0.0, dy[i], x[i] > 0.0);
    }
}
