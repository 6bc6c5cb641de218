// avg_pool2d.wgsl: average pooling, forward (one invocation per output) and backward (one per input pixel).
//
// Rust reference: engine/src/ops/avg_pool2d.rs (`AvgPool2d::reference_forward`, `AvgPool2d::reference_backward`); window geometry in
// engine/src/ops/pool.rs (`PoolGeometry`).
//
// Bindings (group 0):
//   0  p       uniform  the window geometry (the prelude's `PoolParams`)
//   1  x       read     input [N, C, H, W]
//   2  y       write    output [N, C, H', W']
//   3  dy      read     upstream gradient [N, C, H', W']
//   4  dx      write    input gradient [N, C, H, W]

@group(0) @binding(0) var<uniform> p: PoolParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

// How many of a window's taps along one axis land in [lo, hi): the image, or the padded image.
fn taps_within(start: i32, kernel: u32, dilation: u32, lo: i32, hi: i32) -> u32 {
    var count = 0u;
    for (var k = 0u; k < kernel; k++) {
        let c = start + i32(k * dilation);
        if (c >= lo && c < hi) {
            count++;
        }
    }
    return count;
}

// The divisor of window (oy, ox): taps in the image, or in the padded image with count_include_pad.
fn divisor(oy: u32, ox: u32) -> f32 {
    let top = tap_coordinate(oy, 0u, p.stride_y, p.dilation_y, p.pad_top);
    let left = tap_coordinate(ox, 0u, p.stride_x, p.dilation_x, p.pad_left);
    var rows: u32;
    var cols: u32;
    if (p.count_include_pad == 1u) {
        rows = taps_within(top, p.kernel_h, p.dilation_y, -i32(p.pad_top), i32(p.in_h + p.pad_bottom));
        cols = taps_within(left, p.kernel_w, p.dilation_x, -i32(p.pad_left), i32(p.in_w + p.pad_right));
    } else {
        rows = taps_within(top, p.kernel_h, p.dilation_y, 0, i32(p.in_h));
        cols = taps_within(left, p.kernel_w, p.dilation_x, 0, i32(p.in_w));
    }
    return f32(max(rows * cols, 1u));
}

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(gid, groups);
    if (index >= p.batch * p.channels * p.out_h * p.out_w) {
        return;
    }
    let ox = index % p.out_w;
    let oy = (index / p.out_w) % p.out_h;
    let plane = index / (p.out_w * p.out_h) * p.in_h * p.in_w;
    var sum = 0.0;
    for (var ky = 0u; ky < p.kernel_h; ky++) {
        let r = tap_coordinate(oy, ky, p.stride_y, p.dilation_y, p.pad_top);
        if (r < 0 || r >= i32(p.in_h)) {
            continue;
        }
        for (var kx = 0u; kx < p.kernel_w; kx++) {
            let c = tap_coordinate(ox, kx, p.stride_x, p.dilation_x, p.pad_left);
            if (c >= 0 && c < i32(p.in_w)) {
                sum += x[plane + u32(r) * p.in_w + u32(c)];
            }
        }
    }
    y[index] = sum / divisor(oy, ox);
}

// One invocation per input pixel: Σ dy / divisor over the windows with a tap on it.
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(gid, groups);
    if (index >= p.batch * p.channels * p.in_h * p.in_w) {
        return;
    }
    let ix = index % p.in_w;
    let iy = (index / p.in_w) % p.in_h;
    let plane = index / (p.in_w * p.in_h) * p.out_h * p.out_w;
    var sum = 0.0;
    for (var ky = 0u; ky < p.kernel_h; ky++) {
        let wy = window_reading(iy + p.pad_top, ky, p.stride_y, p.dilation_y, p.out_h);
        if (wy < 0) {
            continue;
        }
        let oy = u32(wy);
        for (var kx = 0u; kx < p.kernel_w; kx++) {
            let wx = window_reading(ix + p.pad_left, kx, p.stride_x, p.dilation_x, p.out_w);
            if (wx < 0) {
                continue;
            }
            let ox = u32(wx);
            sum += dy[plane + oy * p.out_w + ox] / divisor(oy, ox);
        }
    }
    dx[index] = sum;
}
