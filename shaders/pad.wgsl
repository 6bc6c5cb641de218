// pad.wgsl: padding along one axis, and its backward fold. A tensor is seen as [outer, len, inner] around the
// padded axis; padding several axes is one dispatch per axis.
//
// Rust reference: engine/src/ops/pad.rs (`Pad::reference_forward`, `Pad::reference_backward`); the prelude's
// `padded_source` is `PaddingMode::source` (engine/src/ops/padding.rs).

struct Params {
    outer: u32, in_len: u32, out_len: u32, inner: u32,
    begin: i32, mode: u32, value: f32,
}

@group(0) @binding(0) var<uniform> p: Params;                    // the sizes above
@group(0) @binding(1) var<storage, read> src: array<f32>;        // pad_axis: the input [outer, in_len, inner]; fold_axis: the gradient [outer, out_len, inner]
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;  // pad_axis: the output [outer, out_len, inner]; fold_axis: the gradient [outer, in_len, inner]

@compute @workgroup_size(WORKGROUP_SIZE)
fn pad_axis(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.outer * p.out_len * p.inner) {
        return;
    }
    let i = index % p.inner;
    let o = (index / p.inner) % p.out_len;
    let r = index / (p.inner * p.out_len);
    let s = padded_source(i32(o) - p.begin, i32(p.in_len), p.mode);
    if (s < 0) {
        dst[index] = p.value;
    } else {
        dst[index] = src[(r * p.in_len + u32(s)) * p.inner + i];
    }
}

// One invocation per input position t: the sum of the gradients of every output position that read t.
@compute @workgroup_size(WORKGROUP_SIZE)
fn fold_axis(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.outer * p.in_len * p.inner) {
        return;
    }
    let i = index % p.inner;
    let t = i32((index / p.inner) % p.in_len);
    let r = index / (p.inner * p.in_len);
    let base = r * p.out_len * p.inner + i;
    let len = i32(p.in_len);
    let out_len = i32(p.out_len);
    var total = 0.0;
    if (p.mode == CIRCULAR) {
        // Every output position o with o - begin ≡ t (mod len) reads t.
        for (var o = ((t + p.begin) % len + len) % len; o < out_len; o += len) {
            total += src[base + u32(o) * p.inner];
        }
        dst[index] = total;
        return;
    }
    // The output position that reads t directly.
    let direct = t + p.begin;
    if (direct >= 0 && direct < out_len) {
        total += src[base + u32(direct) * p.inner];
    }
    if (p.mode == BORDER) {
        // The first pixel is repeated over the whole begin padding, the last over the end padding.
        if (t == 0) {
            for (var o = 0; o < min(p.begin, out_len); o++) {
                total += src[base + u32(o) * p.inner];
            }
        }
        if (t == len - 1) {
            for (var o = max(len + p.begin, 0); o < out_len; o++) {
                total += src[base + u32(o) * p.inner];
            }
        }
    }
    if (p.mode == REFLECTION) {
        // Mirror images: coordinate -t before the start, 2(len-1) - t after the end.
        let before = p.begin - t;
        if (t >= 1 && before >= 0 && before < out_len) {
            total += src[base + u32(before) * p.inner];
        }
        let after = p.begin + 2 * (len - 1) - t;
        if (t <= len - 2 && after >= 0 && after < out_len) {
            total += src[base + u32(after) * p.inner];
        }
    }
    dst[index] = total;
}
