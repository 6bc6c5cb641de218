// embedding.wgsl: table lookup (ONNX Gather) and its scatter-add gradient, gathered row by row.
//
// Rust reference: engine/src/ops/embedding.rs (`Embedding::reference_forward`, `Embedding::reference_backward`). The table is seen as
// [outer, rows, inner] around the looked-up axis; the output as [outer, count, inner].

struct Params {
    outer: u32, rows: u32, inner: u32, count: u32,
    padding_idx: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                     // the sizes above
@group(0) @binding(1) var<storage, read> weight: array<f32>;      // the table
@group(0) @binding(2) var<storage, read> indices: array<u32>;     // count of them, each < rows
@group(0) @binding(3) var<storage, read_write> y: array<f32>;     // output [outer, count, inner]
@group(0) @binding(4) var<storage, read> dy: array<f32>;          // upstream gradient [outer, count, inner]
@group(0) @binding(5) var<storage, read> row_starts: array<u32>;  // rows + 1: positions[row_starts[r] .. row_starts[r + 1]] read row r
@group(0) @binding(6) var<storage, read> positions: array<u32>;   // count
@group(0) @binding(7) var<storage, read_write> dw: array<f32>;    // table gradient

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.outer * p.count * p.inner) {
        return;
    }
    let i = index % p.inner;
    let position = (index / p.inner) % p.count;
    let outer = index / (p.inner * p.count);
    y[index] = weight[(outer * p.rows + indices[position]) * p.inner + i];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.outer * p.rows * p.inner) {
        return;
    }
    let i = index % p.inner;
    let row = (index / p.inner) % p.rows;
    let outer = index / (p.inner * p.rows);
    var sum = 0.0;
    if (row != p.padding_idx) {
        for (var k = row_starts[row]; k < row_starts[row + 1u]; k++) {
            sum += dy[(outer * p.count + positions[k]) * p.inner + i];
        }
    }
    dw[index] = sum;
}
