// conv2d.wgsl: 2-D convolution, one invocation per output value.
//
// Rust reference: engine/src/ops/conv2d.rs (`Conv2d::forward`); `source` below is `PaddingMode::source`
// (engine/src/ops/padding.rs), and the taps are summed in the same order: input channel, kernel row, kernel column.
//
// Bindings (group 0):
//   0  params  uniform  the sizes below
//   1  x       read     input  [N, Cin, H, W]
//   2  w       read     weight [Cout, Cin/groups, kH, kW]
//   3  b       read     bias   [Cout] (a placeholder when has_bias = 0)
//   4  y       write    output [N, Cout, H', W']

struct Params {
    batch: u32, in_channels: u32, in_h: u32, in_w: u32,
    out_channels: u32, kernel_h: u32, kernel_w: u32, out_h: u32,
    out_w: u32, stride_y: u32, stride_x: u32, dilation_y: u32,
    dilation_x: u32, pad_top: u32, pad_left: u32, groups: u32,
    padding_mode: u32, has_bias: u32, total: u32, _unused: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const ZEROS: u32 = 0u;
const BORDER: u32 = 1u;
const REFLECTION: u32 = 2u;

// The input index that padded coordinate `i` (counted from the first pixel) reads along an axis of length `len`;
// -1 stands for a zero of the padding.
fn source(i: i32, len: i32) -> i32 {
    if (i >= 0 && i < len) {
        return i;
    }
    switch p.padding_mode {
        case BORDER: { return clamp(i, 0, len - 1); }              // repeat the edge pixel
        case REFLECTION: { return select(2 * (len - 1) - i, -i, i < 0); } // mirror, edge not repeated
        default: { return -1; }                                     // zeros
    }
}

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    // Large outputs are dispatched as a 2-D grid of workgroups (at most 65535 per dimension).
    let index = gid.x + gid.y * groups.x * 64u;
    if (index >= p.total) {
        return;
    }
    // index = ((n·Cout + co)·H' + oy)·W' + ox
    let ox = index % p.out_w;
    let oy = (index / p.out_w) % p.out_h;
    let co = (index / (p.out_w * p.out_h)) % p.out_channels;
    let n = index / (p.out_w * p.out_h * p.out_channels);

    let group_in = p.in_channels / p.groups;
    let first_channel = co / (p.out_channels / p.groups) * group_in;
    var sum = 0.0;
    for (var cg = 0u; cg < group_in; cg++) {
        let plane = (n * p.in_channels + first_channel + cg) * p.in_h;
        for (var ky = 0u; ky < p.kernel_h; ky++) {
            let sy = source(i32(oy * p.stride_y + ky * p.dilation_y) - i32(p.pad_top), i32(p.in_h));
            if (sy < 0) {
                continue;
            }
            for (var kx = 0u; kx < p.kernel_w; kx++) {
                let sx = source(i32(ox * p.stride_x + kx * p.dilation_x) - i32(p.pad_left), i32(p.in_w));
                if (sx < 0) {
                    continue;
                }
                let x_index = (plane + u32(sy)) * p.in_w + u32(sx);
                let w_index = ((co * group_in + cg) * p.kernel_h + ky) * p.kernel_w + kx;
                sum += x[x_index] * w[w_index];
            }
        }
    }
    if (p.has_bias == 1u) {
        sum += b[co];
    }
    y[index] = sum;
}
