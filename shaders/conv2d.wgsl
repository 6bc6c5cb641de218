// conv2d.wgsl: 2-D convolution.
//
// Rust reference: engine/src/ops/conv2d.rs (`Conv2d::reference_forward`, `Conv2d::reference_backward`); the
// prelude's `padded_source` is `PaddingMode::source` (engine/src/ops/padding.rs), and the taps are summed in the
// same order: input channel, kernel row, kernel column.
//
// Two ways to run it (`Conv2d::forward_gpu` picks):
// - `columns` lays every window out as one column of a matrix (im2col), so the convolution becomes the tiled
//   matrix product of matmul.wgsl: weight [Cout, Cin·kH·kW] times columns [Cin·kH·kW, H'·W'] per image.
//   The backward pass is two more products and `grad_input_from_columns`, which folds the column gradient back.
// - `forward`, `grad_input_padded`, `grad_weight`: one invocation per value, for grouped convolutions and for
//   inputs whose columns would not fit in one buffer.
//
// Backward: the input gradient is gathered on the padded input and folded back onto the image by pad.wgsl's
// `fold_axis` (see `Conv2d::gradients_gpu`).

struct Params {
    batch: u32, in_channels: u32, in_h: u32, in_w: u32,
    out_channels: u32, kernel_h: u32, kernel_w: u32, out_h: u32,
    out_w: u32, stride_y: u32, stride_x: u32, dilation_y: u32,
    dilation_x: u32, pad_top: u32, pad_left: u32, groups: u32,
    padding_mode: u32, has_bias: u32, total: u32, pad_bottom: u32,
    pad_right: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                          // the sizes above
@group(0) @binding(1) var<storage, read> x: array<f32>;                // input [N, Cin, H, W]
@group(0) @binding(2) var<storage, read> w: array<f32>;                // weight [Cout, Cin/groups, kH, kW]
@group(0) @binding(3) var<storage, read> b: array<f32>;                // bias [Cout] (a placeholder when has_bias = 0)
@group(0) @binding(4) var<storage, read_write> y: array<f32>;          // output [N, Cout, H', W']
@group(0) @binding(5) var<storage, read> dy: array<f32>;               // upstream gradient [N, Cout, H', W']
@group(0) @binding(6) var<storage, read_write> dx_padded: array<f32>;  // gradient of the padded input [N, Cin, H + pads, W + pads]
@group(0) @binding(7) var<storage, read_write> dw: array<f32>;         // weight gradient [Cout, Cin/groups, kH, kW]
@group(0) @binding(8) var<storage, read_write> db: array<f32>;         // bias gradient [Cout]
@group(0) @binding(9) var<storage, read_write> cols: array<f32>;       // columns [N, Cin·kH·kW, H'·W'], or their gradient

// The input row that kernel row ky of output row oy reads, through the padding mode; -1 for a zero.
fn source_row(oy: u32, ky: u32) -> i32 {
    return padded_source(tap_coordinate(oy, ky, p.stride_y, p.dilation_y, p.pad_top), i32(p.in_h), p.padding_mode);
}

// The input column that kernel column kx of output column ox reads, through the padding mode; -1 for a zero.
fn source_col(ox: u32, kx: u32) -> i32 {
    return padded_source(tap_coordinate(ox, kx, p.stride_x, p.dilation_x, p.pad_left), i32(p.in_w), p.padding_mode);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.total) {
        return;
    }
    let o = pixel_at(index, p.out_channels, p.out_h, p.out_w);
    let group_in = p.in_channels / p.groups;
    let first_channel = o.c / (p.out_channels / p.groups) * group_in;
    var sum = 0.0;
    for (var cg = 0u; cg < group_in; cg++) {
        let plane = (o.n * p.in_channels + first_channel + cg) * p.in_h;
        for (var ky = 0u; ky < p.kernel_h; ky++) {
            let sy = source_row(o.row, ky);
            if (sy < 0) {
                continue;
            }
            for (var kx = 0u; kx < p.kernel_w; kx++) {
                let sx = source_col(o.col, kx);
                if (sx >= 0) {
                    let w_index = ((o.c * group_in + cg) * p.kernel_h + ky) * p.kernel_w + kx;
                    sum += x[(plane + u32(sy)) * p.in_w + u32(sx)] * w[w_index];
                }
            }
        }
    }
    if (p.has_bias == 1u) {
        sum += b[o.c];
    }
    y[index] = sum;
}

// Where invocation `index` stands in the padded input [N, Cin, H + pads, W + pads] that the backward passes write.
fn padded_pixel(index: u32) -> Pixel {
    return pixel_at(index, p.in_channels, p.in_h + p.pad_top + p.pad_bottom, p.in_w + p.pad_left + p.pad_right);
}

// One invocation per pixel (py, px) of the padded input: Σ dy[n, co, oy, ox] · w[co, cg, ky, kx] over the windows
// whose tap (ky, kx) lands on it, i.e. oy·stride + ky·dilation = py.
@compute @workgroup_size(WORKGROUP_SIZE)
fn grad_input_padded(invocation: Invocation) {
    let index = flat_index(invocation);
    let i = padded_pixel(index);
    if (i.n >= p.batch) {
        return;
    }
    let group_in = p.in_channels / p.groups;
    let group_out = p.out_channels / p.groups;
    let g = i.c / group_in;
    let cg = i.c % group_in;
    var sum = 0.0;
    for (var co = g * group_out; co < (g + 1u) * group_out; co++) {
        for (var ky = 0u; ky < p.kernel_h; ky++) {
            let oy = window_reading(i.row, ky, p.stride_y, p.dilation_y, p.out_h);
            if (oy < 0) {
                continue;
            }
            for (var kx = 0u; kx < p.kernel_w; kx++) {
                let ox = window_reading(i.col, kx, p.stride_x, p.dilation_x, p.out_w);
                if (ox >= 0) {
                    sum += dy[((i.n * p.out_channels + co) * p.out_h + u32(oy)) * p.out_w + u32(ox)]
                         * w[((co * group_in + cg) * p.kernel_h + ky) * p.kernel_w + kx];
                }
            }
        }
    }
    dx_padded[index] = sum;
}

// One invocation per weight: Σ over every window position of dy · (the input value that weight multiplied).
@compute @workgroup_size(WORKGROUP_SIZE)
fn grad_weight(invocation: Invocation) {
    let index = flat_index(invocation);
    let group_in = p.in_channels / p.groups;
    if (index >= p.out_channels * group_in * p.kernel_h * p.kernel_w) {
        return;
    }
    // The weight [co, cg, ky, kx] as a pixel of a [Cout, Cin/groups, kH, kW] tensor.
    let k = pixel_at(index, group_in, p.kernel_h, p.kernel_w);
    let ci = k.n / (p.out_channels / p.groups) * group_in + k.c;
    var sum = 0.0;
    for (var n = 0u; n < p.batch; n++) {
        for (var oy = 0u; oy < p.out_h; oy++) {
            let sy = source_row(oy, k.row);
            if (sy < 0) {
                continue;
            }
            for (var ox = 0u; ox < p.out_w; ox++) {
                let sx = source_col(ox, k.col);
                if (sx >= 0) {
                    sum += dy[((n * p.out_channels + k.n) * p.out_h + oy) * p.out_w + ox]
                         * x[((n * p.in_channels + ci) * p.in_h + u32(sy)) * p.in_w + u32(sx)];
                }
            }
        }
    }
    dw[index] = sum;
}

// One workgroup per output channel: Σ dy over the batch and every position (the prelude's `workgroup_sum`).
@compute @workgroup_size(WORKGROUP_SIZE)
fn grad_bias(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) thread: u32,
) {
    let positions = p.out_h * p.out_w;
    for (var co = group.x; co < p.out_channels; co += groups.x) {
        var sum = 0.0;
        for (var i = thread; i < p.batch * positions; i += WORKGROUP_SIZE) {
            sum += dy[((i / positions) * p.out_channels + co) * positions + i % positions];
        }
        let total = workgroup_sum(thread, sum);
        if (thread == 0u) {
            db[co] = total;
        }
    }
}

// One invocation per column entry: cols[n, (ci·kH + ky)·kW + kx, oy·W' + ox] = the input value that tap (ky, kx)
// of window (oy, ox) reads from channel ci, or 0 for a zero of the padding (groups = 1 only).
@compute @workgroup_size(WORKGROUP_SIZE)
fn columns(invocation: Invocation) {
    let index = flat_index(invocation);
    let positions = p.out_h * p.out_w;
    let taps = p.in_channels * p.kernel_h * p.kernel_w;
    if (index >= p.batch * taps * positions) {
        return;
    }
    let position = index % positions;
    let tap = (index / positions) % taps;
    let n = index / (positions * taps);
    let ci = tap / (p.kernel_w * p.kernel_h);
    let sy = source_row(position / p.out_w, tap / p.kernel_w % p.kernel_h);
    let sx = source_col(position % p.out_w, tap % p.kernel_w);
    var value = 0.0;
    if (sy >= 0 && sx >= 0) {
        value = x[((n * p.in_channels + ci) * p.in_h + u32(sy)) * p.in_w + u32(sx)];
    }
    cols[index] = value;
}

// The inverse gather of `columns`: one invocation per pixel of the padded input, summing the column-gradient
// entries of every tap that read it (groups = 1 only).
@compute @workgroup_size(WORKGROUP_SIZE)
fn grad_input_from_columns(invocation: Invocation) {
    let index = flat_index(invocation);
    let i = padded_pixel(index);
    if (i.n >= p.batch) {
        return;
    }
    let positions = p.out_h * p.out_w;
    let taps = p.in_channels * p.kernel_h * p.kernel_w;
    var sum = 0.0;
    for (var ky = 0u; ky < p.kernel_h; ky++) {
        let oy = window_reading(i.row, ky, p.stride_y, p.dilation_y, p.out_h);
        if (oy < 0) {
            continue;
        }
        for (var kx = 0u; kx < p.kernel_w; kx++) {
            let ox = window_reading(i.col, kx, p.stride_x, p.dilation_x, p.out_w);
            if (ox >= 0) {
                let tap = (i.c * p.kernel_h + ky) * p.kernel_w + kx;
                sum += cols[(i.n * taps + tap) * positions + u32(oy) * p.out_w + u32(ox)];
            }
        }
    }
    dx_padded[index] = sum;
}
