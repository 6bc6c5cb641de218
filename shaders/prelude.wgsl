// prelude.wgsl: what the kernels share. The engine compiles every shader with this file in front of it
// (engine/src/ops/mod.rs, `wgsl`), so nothing here declares a binding, and the names here are taken in every shader.

// Invocations per workgroup in every kernel (engine/src/device/gpu.rs, `WORKGROUP_SIZE`).
const WORKGROUP_SIZE: u32 = 64u;

// What an element-wise kernel knows of itself: its global id, and the dispatch's workgroup count. `Gpu::dispatch`
// lays a long dispatch out as a 2-D grid of workgroups, `groups.x` workgroups to a row (at most 65,535 per
// dimension). A kernel that calls `workgroup_sum` (or any barrier) takes its built-ins as separate parameters
// instead: Chrome's compiler cannot tell that a struct's `workgroup_id` is uniform across the workgroup, and
// rejects a barrier in a loop that depends on it (naga does not check this; the browser tests do).
struct Invocation {
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
}

// The flat index of an invocation: which value of the dispatch it computes.
fn flat_index(invocation: Invocation) -> u32 {
    return invocation.id.x + invocation.id.y * invocation.groups.x * WORKGROUP_SIZE;
}

// Where value `index` of an [N, C, H, W] tensor stands: image n, channel c, row and col, and plane = n·C + c.
struct Pixel {
    n: u32, c: u32, row: u32, col: u32, plane: u32,
}

fn pixel_at(index: u32, channels: u32, height: u32, width: u32) -> Pixel {
    let plane = index / (height * width);
    return Pixel(plane / channels, plane % channels, index / width % height, index % width, plane);
}

// The codes of a loss's reduction: `Reduction as u32` (engine/src/ops/cross_entropy.rs).
const NONE: u32 = 0u;
const MEAN: u32 = 1u;
const SUM: u32 = 2u;

// ---------------------------------------------------------------------------------------------------------------
// Padding (engine/src/padding.rs): the codes of `PaddingMode::code`, and `PaddingMode::source`.

const ZEROS: u32 = 0u;
const BORDER: u32 = 1u;
const REFLECTION: u32 = 2u;
const CIRCULAR: u32 = 3u;

// The input index that coordinate `i` (counted from the first pixel, negative in the start padding) reads along
// an axis of length `len`, or -1 for a zero (a constant) of the padding.
fn padded_source(i: i32, len: i32, mode: u32) -> i32 {
    if (i >= 0 && i < len) {
        return i;
    }
    switch mode {
        case BORDER: { return clamp(i, 0, len - 1); }                       // repeat the edge pixel
        case REFLECTION: { return select(2 * (len - 1) - i, -i, i < 0); }   // mirror, edge not repeated
        case CIRCULAR: { return ((i % len) + len) % len; }                  // wrap around
        default: { return -1; }                                             // zeros (or a constant)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Sliding windows (convolutions and pools; engine/src/ops/pool.rs, `PoolGeometry`): output position o's tap k
// along one axis.

// The coordinate that tap `k` of window `o` reads, counted from the first pixel (negative in the start padding).
fn tap_coordinate(o: u32, k: u32, stride: u32, dilation: u32, pad: u32) -> i32 {
    return i32(o * stride + k * dilation) - i32(pad);
}

// The window whose tap `k` reads coordinate `padded` (counted from the start of the padding): the o with
// o·stride + k·dilation = padded, or -1 when none of the `out_len` windows does. Backward passes gather with it.
fn window_reading(padded: u32, k: u32, stride: u32, dilation: u32, out_len: u32) -> i32 {
    let t = i32(padded) - i32(k * dilation);
    if (t < 0 || t % i32(stride) != 0 || u32(t) / stride >= out_len) {
        return -1;
    }
    return t / i32(stride);
}

// The window geometry of avg_pool2d.wgsl and max_pool2d.wgsl (engine/src/ops/pool.rs, `PoolUniforms`).
struct PoolParams {
    batch: u32, channels: u32, in_h: u32, in_w: u32,
    out_h: u32, out_w: u32, kernel_h: u32, kernel_w: u32,
    stride_y: u32, stride_x: u32, dilation_y: u32, dilation_x: u32,
    pad_top: u32, pad_left: u32, pad_bottom: u32, pad_right: u32,
    count_include_pad: u32,
}

// The pixel (row·W + col of the input plane) that tap (ky, kx) of window (oy, ox) reads, or -1 in the padding.
fn pool_tap(p: PoolParams, oy: u32, ox: u32, ky: u32, kx: u32) -> i32 {
    let row = tap_coordinate(oy, ky, p.stride_y, p.dilation_y, p.pad_top);
    let col = tap_coordinate(ox, kx, p.stride_x, p.dilation_x, p.pad_left);
    if (row < 0 || row >= i32(p.in_h) || col < 0 || col >= i32(p.in_w)) {
        return -1;
    }
    return row * i32(p.in_w) + col;
}

// The window (oy·W' + ox of the output plane) whose tap (ky, kx) reads input pixel (iy, ix), or -1 when none does.
// A backward pass gathers over the taps with it: one invocation per input pixel, no two writing one place.
fn pool_window(p: PoolParams, iy: u32, ix: u32, ky: u32, kx: u32) -> i32 {
    let oy = window_reading(iy + p.pad_top, ky, p.stride_y, p.dilation_y, p.out_h);
    let ox = window_reading(ix + p.pad_left, kx, p.stride_x, p.dilation_x, p.out_w);
    if (oy < 0 || ox < 0) {
        return -1;
    }
    return oy * i32(p.out_w) + ox;
}

// ---------------------------------------------------------------------------------------------------------------
// Workgroup sums: a sum over many values runs in one workgroup, each of its 64 threads adding every 64th value,
// then the 64 partial sums added pairwise. This keeps every thread's loop short: a real GPU runs the threads at
// once, and Mesa's lavapipe stops an invocation's loops after 65,535 iterations in all.

var<workgroup> partial: array<f32, 64>;

// The sum of `value` over the workgroup's threads (`thread` is the local invocation index), returned to every
// thread: 32 pairwise additions, then 16, …, 1.
fn workgroup_sum(thread: u32, value: f32) -> f32 {
    partial[thread] = value;
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half /= 2u) {
        if (thread < half) {
            partial[thread] += partial[thread + half];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}
