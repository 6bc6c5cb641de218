// max_pool2d.wgsl: max pooling with argmax, forward (one invocation per output) and backward (one per input).
//
// Rust reference: engine/src/ops/max_pool2d.rs (`MaxPool2d::reference_forward`, `MaxPool2d::reference_backward`); window geometry in
// engine/src/ops/pool.rs (`PoolGeometry`). The argmax is a flat index row·W + col into the plane, stored as f32.

@group(0) @binding(0) var<uniform> p: PoolParams;                   // the window geometry (the prelude's `PoolParams`)
@group(0) @binding(1) var<storage, read> x: array<f32>;             // input [N, C, H, W]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;       // output [N, C, H', W']
@group(0) @binding(3) var<storage, read_write> argmax: array<f32>;  // [N, C, H', W'], written forward, read backward
@group(0) @binding(4) var<storage, read> dy: array<f32>;            // upstream gradient [N, C, H', W']
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;      // input gradient [N, C, H, W]

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.batch * p.channels * p.out_h * p.out_w) {
        return;
    }
    let o = pixel_at(index, p.channels, p.out_h, p.out_w);
    let plane = o.plane * p.in_h * p.in_w;
    var best = 0.0;
    var best_at = -1;
    for (var ky = 0u; ky < p.kernel_h; ky++) {
        for (var kx = 0u; kx < p.kernel_w; kx++) {
            let at = pool_tap(p, o.row, o.col, ky, kx);
            // Strictly greater: ties keep the first maximum in raster order.
            if (at >= 0 && (best_at < 0 || x[plane + u32(at)] > best)) {
                best = x[plane + u32(at)];
                best_at = at;
            }
        }
    }
    y[index] = best;
    argmax[index] = f32(max(best_at, 0));
}

// One invocation per input pixel: Σ dy over the windows whose argmax is this pixel.
@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(invocation: Invocation) {
    let index = flat_index(invocation);
    if (index >= p.batch * p.channels * p.in_h * p.in_w) {
        return;
    }
    let i = pixel_at(index, p.channels, p.in_h, p.in_w);
    let here = f32(i.row * p.in_w + i.col);
    let plane = i.plane * p.out_h * p.out_w;
    var sum = 0.0;
    for (var ky = 0u; ky < p.kernel_h; ky++) {
        for (var kx = 0u; kx < p.kernel_w; kx++) {
            let window = pool_window(p, i.row, i.col, ky, kx);
            if (window >= 0 && argmax[plane + u32(window)] == here) {
                sum += dy[plane + u32(window)];
            }
        }
    }
    dx[index] = sum;
}
