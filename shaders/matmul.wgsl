// matmul.wgsl: the strided, batched product out[b] = alpha·A[b]·B[b] + beta·C, tiled.
// Every matrix op of the engine (matmul, gemm, linear, and their gradients) runs on it: a transpose is a swap of
// an operand's row and column strides, a broadcast batch axis a batch stride of 0.
//
// With sum_batches = 1 the batches' products add up into one matrix (a convolution's weight gradient sums over
// the images this way). Keep each output's sum under about 50,000 terms: Mesa's lavapipe (the Vulkan driver of
// machines without a GPU) stops an invocation's loops after 65,535 iterations in all, silently.
//
// Rust reference: engine/src/ops/matmul.rs (`StridedMatmul::reference`). Each output value is still the sum
// over (batch and) k in order 0, 1, 2, …, so the GPU adds in the same order as the reference.
//
// Why tiles: a naive kernel reads 2·k values from memory for each output. Here a workgroup of 16x16 threads owns a
// 64x64 block of the output; for each slice of 16 k values it copies the 64x16 strip of A and the 16x64 strip of B
// into fast workgroup memory once, and each thread then computes a 4x4 patch of outputs from those copies, so every
// value read from memory is used 64 times instead of once.

struct Params {
    m: u32, n: u32, k: u32, batches: u32,
    a_row_stride: u32, a_col_stride: u32, b_row_stride: u32, b_col_stride: u32,
    has_c: u32, c_row_stride: u32, c_col_stride: u32, sum_batches: u32,
    alpha: f32, beta: f32, _unused1: u32, _unused2: u32,
    batch_dims: vec4<u32>,
    a_batch_strides: vec4<u32>,
    b_batch_strides: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;                    // the sizes, strides and scalars above
@group(0) @binding(1) var<storage, read> a: array<f32>;          // A
@group(0) @binding(2) var<storage, read> b: array<f32>;          // B
@group(0) @binding(3) var<storage, read> c: array<f32>;          // C (a placeholder without C)
@group(0) @binding(4) var<storage, read_write> out: array<f32>;  // alpha·A·B + beta·C

const TILE: u32 = 64u;   // output rows and columns per workgroup
const DEPTH: u32 = 16u;  // k values per step
const THREADS: u32 = 256u;

// The strips of A (tile_a[kk·TILE + row]) and B (tile_b[kk·TILE + col]) for the current k slice.
var<workgroup> tile_a: array<f32, 1024>;
var<workgroup> tile_b: array<f32, 1024>;

// How many matrices the output holds: one per batch, or one in all when the batches are summed.
fn out_batches() -> u32 {
    return select(p.batches, 1u, p.sum_batches == 1u);
}

// The batches whose products add up to output matrix `batch`: [first, end).
fn sources(batch: u32) -> vec2<u32> {
    return select(vec2<u32>(batch, batch + 1u), vec2<u32>(0u, p.batches), p.sum_batches == 1u);
}

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

// Thread (tx, ty) computes rows ty + 16·i and columns tx + 16·j of its workgroup's block, for i, j in 0..4,
// as four vec4 sums so the compiler keeps all 16 in registers.
// Grids longer than the device allows wrap around: each workgroup loops over the blocks it is given.
@compute @workgroup_size(16, 16)
fn forward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) thread: u32,
) {
    for (var batch = group.z; batch < out_batches(); batch += groups.z) {
        for (var row0 = group.y * TILE; row0 < p.m; row0 += groups.y * TILE) {
            for (var col0 = group.x * TILE; col0 < p.n; col0 += groups.x * TILE) {
                block(batch, row0, col0, local.x, local.y, thread);
            }
        }
    }
}

fn block(batch: u32, row0: u32, col0: u32, tx: u32, ty: u32, thread: u32) {
    // acc_i.j is the running sum of output (row0 + ty + 16·i, col0 + tx + 16·j).
    var acc_0 = vec4<f32>(0.0);
    var acc_1 = vec4<f32>(0.0);
    var acc_2 = vec4<f32>(0.0);
    var acc_3 = vec4<f32>(0.0);
    let span = sources(batch);
    for (var source = span.x; source < span.y; source++) {
        let a_base = batch_offset(source, p.a_batch_strides);
        let b_base = batch_offset(source, p.b_batch_strides);
        for (var k0 = 0u; k0 < p.k; k0 += DEPTH) {
            let depth = min(DEPTH, p.k - k0);
            // Each thread copies 4 values of each strip; values past the matrix edge are never read below.
            for (var r = 0u; r < 4u; r++) {
                let f = thread + r * THREADS;
                let a_row = row0 + f / DEPTH;
                let a_k = f % DEPTH;
                if (a_row < p.m && a_k < depth) {
                    tile_a[a_k * TILE + f / DEPTH] = a[a_base + a_row * p.a_row_stride + (k0 + a_k) * p.a_col_stride];
                }
                let b_k = f / TILE;
                let b_col = col0 + f % TILE;
                if (b_col < p.n && b_k < depth) {
                    tile_b[f] = b[b_base + (k0 + b_k) * p.b_row_stride + b_col * p.b_col_stride];
                }
            }
            workgroupBarrier();
            for (var kk = 0u; kk < depth; kk++) {
                let at = kk * TILE;
                let a_values = vec4<f32>(tile_a[at + ty], tile_a[at + ty + 16u], tile_a[at + ty + 32u], tile_a[at + ty + 48u]);
                let b_values = vec4<f32>(tile_b[at + tx], tile_b[at + tx + 16u], tile_b[at + tx + 32u], tile_b[at + tx + 48u]);
                acc_0 += a_values.x * b_values;
                acc_1 += a_values.y * b_values;
                acc_2 += a_values.z * b_values;
                acc_3 += a_values.w * b_values;
            }
            workgroupBarrier();
        }
    }
    store(batch, row0 + ty, col0 + tx, 16u, acc_0);
    store(batch, row0 + ty + 16u, col0 + tx, 16u, acc_1);
    store(batch, row0 + ty + 32u, col0 + tx, 16u, acc_2);
    store(batch, row0 + ty + 48u, col0 + tx, 16u, acc_3);
}

// The same product for small matrices (fewer than 64 rows or columns), where most of a 64x64 block would idle:
// workgroups of 8x8 threads own 32x32 blocks, each thread still a 4x4 patch (rows ty + 8·i, columns tx + 8·j),
// read straight from memory without the workgroup copies and their barriers.
@compute @workgroup_size(8, 8)
fn small(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
) {
    for (var batch = group.z; batch < out_batches(); batch += groups.z) {
        for (var row0 = group.y * 32u; row0 < p.m; row0 += groups.y * 32u) {
            for (var col0 = group.x * 32u; col0 < p.n; col0 += groups.x * 32u) {
                four_by_four(batch, row0 + local.y, col0 + local.x, 8u, 8u);
            }
        }
    }
}

// The same for products only a few columns wide (a convolution's per-image product over a 4x4 or 2x2 output),
// where a 32x32 block would be mostly columns past the edge: workgroups of 64 threads own 256x4 blocks, thread t
// the 4 rows from 4·t on and the block's 4 columns.
@compute @workgroup_size(WORKGROUP_SIZE)
fn narrow(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) thread: u32,
) {
    for (var batch = group.z; batch < out_batches(); batch += groups.z) {
        for (var row0 = group.y * 256u; row0 < p.m; row0 += groups.y * 256u) {
            for (var col0 = group.x * 4u; col0 < p.n; col0 += groups.x * 4u) {
                four_by_four(batch, row0 + 4u * thread, col0, 1u, 1u);
            }
        }
    }
}

// The 4x4 patch of rows row + row_step·i and columns col + col_step·j (i, j in 0..4), read straight from memory.
fn four_by_four(batch: u32, row: u32, col: u32, row_step: u32, col_step: u32) {
    // A thread whose patch lies wholly past the edge has nothing to do. Other rows and columns past the edge read
    // the last one (in bounds) and are not stored.
    if (row >= p.m || col >= p.n) {
        return;
    }
    let steps = vec4<u32>(0u, 1u, 2u, 3u);
    let rows = min(row + row_step * steps, vec4<u32>(p.m - 1u));
    let cols = min(col + col_step * steps, vec4<u32>(p.n - 1u));
    var acc_0 = vec4<f32>(0.0);
    var acc_1 = vec4<f32>(0.0);
    var acc_2 = vec4<f32>(0.0);
    var acc_3 = vec4<f32>(0.0);
    let span = sources(batch);
    for (var source = span.x; source < span.y; source++) {
        let a_at = batch_offset(source, p.a_batch_strides) + rows * p.a_row_stride;
        let b_at = batch_offset(source, p.b_batch_strides) + cols * p.b_col_stride;
        for (var kk = 0u; kk < p.k; kk++) {
            let a_k = kk * p.a_col_stride;
            let b_k = kk * p.b_row_stride;
            let a_values = vec4<f32>(a[a_at.x + a_k], a[a_at.y + a_k], a[a_at.z + a_k], a[a_at.w + a_k]);
            let b_values = vec4<f32>(b[b_at.x + b_k], b[b_at.y + b_k], b[b_at.z + b_k], b[b_at.w + b_k]);
            acc_0 += a_values.x * b_values;
            acc_1 += a_values.y * b_values;
            acc_2 += a_values.z * b_values;
            acc_3 += a_values.w * b_values;
        }
    }
    store(batch, row, col, col_step, acc_0);
    store(batch, row + row_step, col, col_step, acc_1);
    store(batch, row + 2u * row_step, col, col_step, acc_2);
    store(batch, row + 3u * row_step, col, col_step, acc_3);
}

// Writes alpha·sums + beta·C for columns col + step·j (j = 0..4) of one output row.
fn store(batch: u32, row: u32, col: u32, step: u32, sums: vec4<f32>) {
    if (row >= p.m) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let column = col + step * j;
        if (column < p.n) {
            var bias = 0.0;
            if (p.has_c == 1u) {
                bias = p.beta * c[row * p.c_row_stride + column * p.c_col_stride];
            }
            out[(batch * p.m + row) * p.n + column] = p.alpha * sums[j] + bias;
        }
    }
}
