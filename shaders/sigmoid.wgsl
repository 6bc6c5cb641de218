// sigmoid.wgsl: y = low + (high - low)·σ(x), and dx = dy·(high - low)·σ(x)(1 - σ(x)).
//
// Rust reference: engine/src/ops/sigmoid.rs (`Sigmoid::reference_forward`, `Sigmoid::reference_backward`).

struct Params {
    total: u32, low: f32, high: f32,
}

@group(0) @binding(0) var<uniform> p: Params;                   // how many values
@group(0) @binding(1) var<storage, read> x: array<f32>;         // input
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // output
@group(0) @binding(3) var<storage, read> dy: array<f32>;        // upstream gradient
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;  // input gradient

fn sigma(v: f32) -> f32 {
    return 1.0 / (1.0 + exp(-v));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i < p.total) {
        y[i] = p.low + (p.high - p.low) * sigma(x[i]);
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i < p.total) {
        let s = sigma(x[i]);
        dx[i] = dy[i] * (p.high - p.low) * s * (1.0 - s);
    }
}
