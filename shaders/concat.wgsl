// concat.wgsl: concatenation along one axis ([outer, len, inner] pieces of an [outer, total, inner] output) and
// its backward, one dispatch per piece.
//
// Rust reference: engine/src/ops/concat.rs (`Concat::reference_forward`, `Concat::reference_backward`).

struct Params {
    outer: u32, len: u32, inner: u32, total: u32,
    start: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                       // where the piece goes
@group(0) @binding(1) var<storage, read> piece: array<f32>;         // one input
@group(0) @binding(2) var<storage, read_write> out: array<f32>;     // the output
@group(0) @binding(3) var<storage, read> dy: array<f32>;            // upstream gradient of the output
@group(0) @binding(4) var<storage, read_write> dpiece: array<f32>;  // the piece's gradient

// Where element `index` of the piece lives in the concatenated tensor.
fn position_in_output(index: u32) -> u32 {
    let i = index % p.inner;
    let j = (index / p.inner) % p.len;
    let o = index / (p.inner * p.len);
    return (o * p.total + p.start + j) * p.inner + i;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn place(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index < p.outer * p.len * p.inner) {
        out[position_in_output(index)] = piece[index];
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn take(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index < p.outer * p.len * p.inner) {
        dpiece[index] = dy[position_in_output(index)];
    }
}
