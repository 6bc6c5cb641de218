// adaptive_avg_pool2d.wgsl: adaptive (and global) average pooling, forward and backward.
//
// Rust reference: engine/src/ops/adaptive_avg_pool2d.rs (`AdaptiveAvgPool2d::reference_forward`,
// `::reference_backward`, `::range`).
//
// Bindings (group 0):
//   0  p       uniform  the window geometry (the prelude's `PoolParams`)
//   1  x       read     input [N, C, H, W]
//   2  y       write    output [N, C, oh, ow]
//   3  dy      read     upstream gradient [N, C, oh, ow]
//   4  dx      write    input gradient [N, C, H, W]

struct Params {
    batch: u32, channels: u32, in_h: u32, in_w: u32,
    out_h: u32, out_w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

// Output position o of `out` averages inputs [⌊o·len/out⌋, ⌈(o+1)·len/out⌉).
fn range_start(o: u32, out: u32, len: u32) -> u32 {
    return o * len / out;
}

fn range_end(o: u32, out: u32, len: u32) -> u32 {
    return ((o + 1u) * len + out - 1u) / out;
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
    let r0 = range_start(oy, p.out_h, p.in_h);
    let r1 = range_end(oy, p.out_h, p.in_h);
    let c0 = range_start(ox, p.out_w, p.in_w);
    let c1 = range_end(ox, p.out_w, p.in_w);
    var sum = 0.0;
    for (var r = r0; r < r1; r++) {
        for (var c = c0; c < c1; c++) {
            sum += x[plane + r * p.in_w + c];
        }
    }
    y[index] = sum / f32((r1 - r0) * (c1 - c0));
}

// One invocation per input pixel: Σ dy / window size over the windows that contain it.
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
    for (var oy = 0u; oy < p.out_h; oy++) {
        let r0 = range_start(oy, p.out_h, p.in_h);
        let r1 = range_end(oy, p.out_h, p.in_h);
        if (iy < r0 || iy >= r1) {
            continue;
        }
        for (var ox = 0u; ox < p.out_w; ox++) {
            let c0 = range_start(ox, p.out_w, p.in_w);
            let c1 = range_end(ox, p.out_w, p.in_w);
            if (ix >= c0 && ix < c1) {
                sum += dy[plane + oy * p.out_w + ox] / f32((r1 - r0) * (c1 - c0));
            }
        }
    }
    dx[index] = sum;
}
