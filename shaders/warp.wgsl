// warp.wgsl: a projective warp with bilinear sampling (F.grid_sample on an affine or a homography's grid), and its
// backward.
//
// Rust reference: engine/src/ops/warp.rs (`Warp::reference_forward`, `Warp::reference_backward`, and `Warp::trace`
// with `source`, the indexing both use). The backward gathers where the reference scatters: each input pixel looks
// through every output pixel of its plane for those that read it (oh·ow steps: the lessons' images are small, and a
// warp is not learned).

struct Params {
    batch: u32, channels: u32, in_h: u32, in_w: u32, out_h: u32, out_w: u32, padding: u32, align_corners: u32,
    matrices: array<vec4<f32>, 96>,   // 32 images × 3 rows (x, y, 1 → u, v, w), each row padded to a vec4
}

@group(0) @binding(0) var<uniform> p: Params;                   // the sizes above
@group(0) @binding(1) var<storage, read> x: array<f32>;         // input [N, C, H, W]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // output [N, C, oh, ow]
@group(0) @binding(3) var<storage, read> dy: array<f32>;        // upstream gradient [N, C, oh, ow]
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;  // input gradient [N, C, H, W]

// Output index `dst` of `len` along an axis, in coordinates from -1 to 1.
fn normalized(dst: u32, len: u32) -> f32 {
    if (p.align_corners != 0u) {
        if (len > 1u) {
            return 2.0 * f32(dst) / f32(len - 1u) - 1.0;
        }
        return -1.0;
    }
    return f32(2u * dst + 1u) / f32(len) - 1.0;
}

// A coordinate from -1 to 1 as a pixel position along an axis of `len` pixels, with the padding applied.
fn source(coordinate: f32, len: u32) -> f32 {
    let size = f32(len);
    var px = ((coordinate + 1.0) * size - 1.0) / 2.0;
    var low = -0.5;
    var high = size - 0.5;
    if (p.align_corners != 0u) {
        px = (coordinate + 1.0) / 2.0 * (size - 1.0);
        low = 0.0;
        high = size - 1.0;
    }
    if (p.padding == BORDER) {
        return clamp(px, 0.0, size - 1.0);
    }
    if (p.padding == REFLECTION) {
        let span = high - low;
        if (span <= 0.0) {
            return 0.0;
        }
        let d = abs(px - low);
        let flips = floor(d / span);
        let extra = d - flips * span;
        var mirrored = high - extra;
        if (u32(flips) % 2u == 0u) {
            mirrored = low + extra;
        }
        return clamp(mirrored, 0.0, size - 1.0);
    }
    return px;
}

// Where output pixel (i, j) of image n reads, in input pixels (row, col).
fn sample_point(n: u32, i: u32, j: u32) -> vec2<f32> {
    let point = vec4<f32>(normalized(j, p.out_w), normalized(i, p.out_h), 1.0, 0.0);
    let u = dot(p.matrices[3u * n], point);
    let v = dot(p.matrices[3u * n + 1u], point);
    let w = dot(p.matrices[3u * n + 2u], point);
    return vec2<f32>(source(v / w, p.in_h), source(u / w, p.in_w));
}

// The value of pixel (row, col) of a plane starting at `base`, or 0 outside the image.
fn pixel_value(base: u32, row: f32, col: f32) -> f32 {
    if (row < 0.0 || col < 0.0 || row >= f32(p.in_h) || col >= f32(p.in_w)) {
        return 0.0;
    }
    return x[base + u32(row) * p.in_w + u32(col)];
}

// One invocation per output pixel: its four neighbours, weighted (those outside the image read 0).
@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i >= p.batch * p.channels * p.out_h * p.out_w) {
        return;
    }
    let plane = i / (p.out_h * p.out_w);
    let at = sample_point(plane / p.channels, i / p.out_w % p.out_h, i % p.out_w);
    let r0 = floor(at.x);
    let c0 = floor(at.y);
    let a = at.x - r0;
    let b = at.y - c0;
    let base = plane * p.in_h * p.in_w;
    y[i] = (1.0 - a) * ((1.0 - b) * pixel_value(base, r0, c0) + b * pixel_value(base, r0, c0 + 1.0))
         + a * ((1.0 - b) * pixel_value(base, r0 + 1.0, c0) + b * pixel_value(base, r0 + 1.0, c0 + 1.0));
}

// The weight with which a sample at `at` (one axis) reads pixel `pixel`: 1 − fraction for the one below, the
// fraction for the one above, 0 for any other.
fn tap_weight(at: f32, pixel: u32) -> f32 {
    let low = floor(at);
    if (low == f32(pixel)) {
        return 1.0 - (at - low);
    }
    if (low + 1.0 == f32(pixel)) {
        return at - low;
    }
    return 0.0;
}

// One invocation per input pixel: the sum of (row weight) · (column weight) · dy over the output pixels of its
// plane that read it.
@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i >= p.batch * p.channels * p.in_h * p.in_w) {
        return;
    }
    let plane = i / (p.in_h * p.in_w);
    let row = i / p.in_w % p.in_h;
    let col = i % p.in_w;
    var sum = 0.0;
    for (var oi = 0u; oi < p.out_h; oi++) {
        for (var oj = 0u; oj < p.out_w; oj++) {
            let at = sample_point(plane / p.channels, oi, oj);
            let w = tap_weight(at.x, row) * tap_weight(at.y, col);
            if (w != 0.0) {
                sum += w * dy[(plane * p.out_h + oi) * p.out_w + oj];
            }
        }
    }
    dx[i] = sum;
}
