// avg_pool2d.wgsl: average pooling, forward (one invocation per output) and backward (one per input pixel).
//
// Rust reference: engine/src/ops/avg_pool2d.rs (`AvgPool2d::reference_forward`, `AvgPool2d::reference_backward`); window geometry in
// engine/src/ops/pool.rs (`PoolGeometry`).

@group(0) @binding(0) var<uniform> p: PoolParams;               // the window geometry (the prelude's `PoolParams`)
@group(0) @binding(1) var<storage, read> x: array<f32>;         // input [N, C, H, W]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // output [N, C, H', W']
@group(0) @binding(3) var<storage, read> dy: array<f32>;        // upstream gradient [N, C, H', W']
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;  // input gradient [N, C, H, W]

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

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.batch * p.channels * p.out_h * p.out_w) {
        return;
    }
    let o = pixel_at(index, p.channels, p.out_h, p.out_w);
    let plane = o.plane * p.in_h * p.in_w;
    var sum = 0.0;
    for (var ky = 0u; ky < p.kernel_h; ky++) {
        for (var kx = 0u; kx < p.kernel_w; kx++) {
            let at = pool_tap(p, o.row, o.col, ky, kx);
            if (at >= 0) {
                sum += x[plane + u32(at)];
            }
        }
    }
    y[index] = sum / divisor(o.row, o.col);
}

// One invocation per input pixel: Σ dy / divisor over the windows with a tap on it.
@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.batch * p.channels * p.in_h * p.in_w) {
        return;
    }
    let i = pixel_at(index, p.channels, p.in_h, p.in_w);
    let plane = i.plane * p.out_h * p.out_w;
    var sum = 0.0;
    for (var ky = 0u; ky < p.kernel_h; ky++) {
        for (var kx = 0u; kx < p.kernel_w; kx++) {
            let window = pool_window(p, i.row, i.col, ky, kx);
            if (window >= 0) {
                let o = u32(window);
                sum += dy[plane + o] / divisor(o / p.out_w, o % p.out_w);
            }
        }
    }
    dx[index] = sum;
}
