// resize_bilinear.wgsl: bilinear resizing of [N, C, H, W] planes to [oh, ow] (F.interpolate, mode="bilinear"), and
// its backward.
//
// Rust reference: engine/src/ops/resize_bilinear.rs (`ResizeBilinear::reference_forward`,
// `ResizeBilinear::reference_backward`, and `source`, the indexing function both use). The backward gathers where
// the reference scatters: each input pixel sums what the output pixels that read it send back, so its sum runs in
// another order (equal up to rounding).

struct Params {
    planes: u32, in_h: u32, in_w: u32, out_h: u32, out_w: u32, align_corners: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                   // the sizes above
@group(0) @binding(1) var<storage, read> x: array<f32>;         // input [N·C, H, W]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // output [N·C, oh, ow]
@group(0) @binding(3) var<storage, read> dy: array<f32>;        // upstream gradient [N·C, oh, ow]
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;  // input gradient [N·C, H, W]

// Where output index `dst` reads along an axis of `input` values resized to `output`: (low, high, weight of high).
struct Source {
    low: u32, high: u32, weight: f32,
}

fn source(dst: u32, input: u32, output: u32) -> Source {
    var src = 0.0;
    if (p.align_corners != 0u) {
        if (output > 1u) {
            src = f32(dst) * f32(input - 1u) / f32(output - 1u);
        }
    } else {
        src = max((f32(dst) + 0.5) * f32(input) / f32(output) - 0.5, 0.0);
    }
    let low = min(u32(src), input - 1u);
    return Source(low, min(low + 1u, input - 1u), src - f32(low));
}

// The weight with which output index `dst` reads input index `at` along an axis (0 when it does not read it).
fn weight_of(at: u32, dst: u32, input: u32, output: u32) -> f32 {
    let s = source(dst, input, output);
    var w = 0.0;
    if (s.low == at) {
        w += 1.0 - s.weight;
    }
    if (s.high == at) {
        w += s.weight;
    }
    return w;
}

// One invocation per output pixel: its four neighbours, weighted.
@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i >= p.planes * p.out_h * p.out_w) {
        return;
    }
    let plane = i / (p.out_h * p.out_w);
    let r = source(i / p.out_w % p.out_h, p.in_h, p.out_h);
    let c = source(i % p.out_w, p.in_w, p.out_w);
    let base = plane * p.in_h * p.in_w;
    let top = (1.0 - c.weight) * x[base + r.low * p.in_w + c.low] + c.weight * x[base + r.low * p.in_w + c.high];
    let bottom = (1.0 - c.weight) * x[base + r.high * p.in_w + c.low] + c.weight * x[base + r.high * p.in_w + c.high];
    y[i] = (1.0 - r.weight) * top + r.weight * bottom;
}

// One invocation per input pixel: the sum over the output rows that read its row and the output columns that read
// its column of (row weight) · (column weight) · dy. Rows that do not read it are skipped at once.
@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i >= p.planes * p.in_h * p.in_w) {
        return;
    }
    let plane = i / (p.in_h * p.in_w);
    let row = i / p.in_w % p.in_h;
    let col = i % p.in_w;
    var sum = 0.0;
    for (var oi = 0u; oi < p.out_h; oi++) {
        let wr = weight_of(row, oi, p.in_h, p.out_h);
        if (wr == 0.0) {
            continue;
        }
        for (var oj = 0u; oj < p.out_w; oj++) {
            let wc = weight_of(col, oj, p.in_w, p.out_w);
            if (wc != 0.0) {
                sum += wr * wc * dy[(plane * p.out_h + oi) * p.out_w + oj];
            }
        }
    }
    dx[i] = sum;
}
