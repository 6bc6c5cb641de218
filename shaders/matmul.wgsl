// matmul.wgsl: the strided, batched product out[b] = alpha·A[b]·B[b] + beta·C, one invocation per output value.
// Every matrix op of the engine (matmul, gemm, linear, and their gradients) runs on it: a transpose is a swap of
// an operand's row and column strides, a broadcast batch axis a batch stride of 0.
//
// Rust reference: engine/src/ops/matmul.rs (`StridedMatmul::run`), summing over k in the same order.
//
// Bindings (group 0): 0 params, 1 a (read), 2 b (read), 3 c (read; a placeholder without C), 4 out (write).

struct Params {
    m: u32, n: u32, k: u32, batches: u32,
    a_row_stride: u32, a_col_stride: u32, b_row_stride: u32, b_col_stride: u32,
    has_c: u32, c_row_stride: u32, c_col_stride: u32, _unused0: u32,
    alpha: f32, beta: f32, _unused1: u32, _unused2: u32,
    batch_dims: vec4<u32>,
    a_batch_strides: vec4<u32>,
    b_batch_strides: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// The offset of batch `batch` in an operand with the given batch strides (last batch axis fastest).
fn batch_offset(batch: u32, strides: vec4<u32>) -> u32 {
    var rest = batch;
    var offset = 0u;
    for (var k = 0u; k < 4u; k++) {
        let t = 3u - k;
        offset += rest % p.batch_dims[t] * strides[t];
        rest /= p.batch_dims[t];
    }
    return offset;
}

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = gid.x + gid.y * groups.x * 64u;
    if (index >= p.batches * p.m * p.n) {
        return;
    }
    let j = index % p.n;
    let i = (index / p.n) % p.m;
    let batch = index / (p.n * p.m);
    let a_row = batch_offset(batch, p.a_batch_strides) + i * p.a_row_stride;
    let b_col = batch_offset(batch, p.b_batch_strides) + j * p.b_col_stride;
    var sum = 0.0;
    for (var kk = 0u; kk < p.k; kk++) {
        sum += a[a_row + kk * p.a_col_stride] * b[b_col + kk * p.b_row_stride];
    }
    var bias = 0.0;
    if (p.has_c == 1u) {
        bias = p.beta * c[i * p.c_row_stride + j * p.c_col_stride];
    }
    out[index] = p.alpha * sum + bias;
}
