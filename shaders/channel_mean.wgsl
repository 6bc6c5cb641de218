// channel_mean.wgsl: the mean over the channel axis (the heatmap's `acts.mean(0)`), and its backward.
//
// Rust reference: engine/src/ops/channel_mean.rs (`ChannelMean::reference_forward`,
// `ChannelMean::reference_backward`). The channels are summed in order, as the reference does; one invocation
// loops over every channel, so keep C under 65,536 (a CNN's body has hundreds).

struct Params {
    batch: u32, channels: u32, positions: u32,
}

@group(0) @binding(0) var<uniform> p: Params;                   // the sizes above
@group(0) @binding(1) var<storage, read> x: array<f32>;         // input [N, C, H·W]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // output [N, H·W]
@group(0) @binding(3) var<storage, read> dy: array<f32>;        // upstream gradient [N, H·W]
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;  // input gradient [N, C, H·W]

// One invocation per output value (n, position).
@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i >= p.batch * p.positions) {
        return;
    }
    let n = i / p.positions;
    let at = i % p.positions;
    var sum = 0.0;
    for (var c = 0u; c < p.channels; c++) {
        sum += x[(n * p.channels + c) * p.positions + at];
    }
    y[i] = sum / f32(p.channels);
}

// One invocation per input value: its share of the gradient of the mean it went into.
@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let i = flat_index(invocation);
    if (i >= p.batch * p.channels * p.positions) {
        return;
    }
    dx[i] = dy[i / (p.channels * p.positions) * p.positions + i % p.positions] / f32(p.channels);
}
