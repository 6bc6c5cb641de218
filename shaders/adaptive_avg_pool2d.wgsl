// adaptive_avg_pool2d.wgsl: adaptive (and global) average pooling, forward and backward.
//
// Rust reference: engine/src/ops/adaptive_avg_pool2d.rs (`AdaptiveAvgPool2d::reference_forward`,
// `::reference_backward`, `::range`).

struct Params {
    batch: u32, channels: u32, in_h: u32, in_w: u32,
    out_h: u32, out_w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                   // the sizes above
@group(0) @binding(1) var<storage, read> x: array<f32>;         // input [N, C, H, W]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // output [N, C, oh, ow]
@group(0) @binding(3) var<storage, read> dy: array<f32>;        // upstream gradient [N, C, oh, ow]
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;  // input gradient [N, C, H, W]

// The inputs [start, end) that output position o of `out` averages along an axis of `len`:
// [⌊o·len/out⌋, ⌈(o+1)·len/out⌉) (`AdaptiveAvgPool2d::range`).
fn window(o: u32, out: u32, len: u32) -> vec2<u32> {
    return vec2<u32>(o * len / out, ((o + 1u) * len + out - 1u) / out);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.batch * p.channels * p.out_h * p.out_w) {
        return;
    }
    let o = pixel_at(index, p.channels, p.out_h, p.out_w);
    let rows = window(o.row, p.out_h, p.in_h);
    let cols = window(o.col, p.out_w, p.in_w);
    var sum = 0.0;
    for (var r = rows.x; r < rows.y; r++) {
        for (var c = cols.x; c < cols.y; c++) {
            sum += x[(o.plane * p.in_h + r) * p.in_w + c];
        }
    }
    y[index] = sum / f32((rows.y - rows.x) * (cols.y - cols.x));
}

// One invocation per input pixel: Σ dy / window size over the windows that contain it.
@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.batch * p.channels * p.in_h * p.in_w) {
        return;
    }
    let i = pixel_at(index, p.channels, p.in_h, p.in_w);
    var sum = 0.0;
    for (var oy = 0u; oy < p.out_h; oy++) {
        let rows = window(oy, p.out_h, p.in_h);
        for (var ox = 0u; ox < p.out_w; ox++) {
            let cols = window(ox, p.out_w, p.in_w);
            if (i.row >= rows.x && i.row < rows.y && i.col >= cols.x && i.col < cols.y) {
                sum += dy[(i.plane * p.out_h + oy) * p.out_w + ox] / f32((rows.y - rows.x) * (cols.y - cols.x));
            }
        }
    }
    dx[index] = sum;
}
