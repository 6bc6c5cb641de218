// dropout.wgsl: dropout with the engine's counter-based random numbers, forward and backward.
//
// Rust reference: engine/src/ops/dropout.rs (`Dropout::reference_forward`, `Dropout::reference_backward`); `pcg_hash` and
// `uniform_at` are engine/src/rng.rs's, bit for bit, so the GPU draws exactly the CPU's mask.

struct Params {
    total: u32, p: f32, training: u32, seed: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                     // the sizes and settings above
@group(0) @binding(1) var<storage, read> x: array<f32>;           // input
@group(0) @binding(2) var<storage, read_write> y: array<f32>;     // output
@group(0) @binding(3) var<storage, read_write> mask: array<f32>;  // 1 kept, 0 dropped
@group(0) @binding(4) var<storage, read> kept: array<f32>;        // the forward mask, read by `backward`
@group(0) @binding(5) var<storage, read> dy: array<f32>;          // upstream gradient
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;    // input gradient

fn pcg_hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

fn uniform_at(seed: u32, index: u32) -> f32 {
    return f32(pcg_hash(index ^ pcg_hash(seed)) >> 8u) / 16777216.0;
}

fn scale() -> f32 {
    return select(1.0, 1.0 / (1.0 - p.p), p.training == 1u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.total) {
        return;
    }
    let keep = p.training == 0u || uniform_at(p.seed, index) >= p.p;
    let m = select(0.0, 1.0, keep);
    mask[index] = m;
    y[index] = x[index] * m * scale();
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.total) {
        return;
    }
    dx[index] = dy[index] * kept[index] * scale();
}
