// max_pool2d.wgsl: max pooling with argmax, forward (one invocation per output) and backward (one per input).
//
// Rust reference: engine/src/ops/max_pool2d.rs (`MaxPool2d::reference_forward`, `MaxPool2d::reference_backward`); window geometry in
// engine/src/ops/pool.rs (`PoolGeometry`). The argmax is a flat index row·W + col into the plane, stored as f32.
//
// Bindings (group 0):
//   0  p       uniform  the window geometry (the prelude's `PoolParams`)
//   1  x       read     input [N, C, H, W]
//   2  y       write    output [N, C, H', W']
//   3  argmax  read (backward) / write (forward)  [N, C, H', W']
//   4  dy      read     upstream gradient [N, C, H', W']
//   5  dx      write    input gradient [N, C, H, W]

@group(0) @binding(0) var<uniform> p: PoolParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(gid, groups);
    if (index >= p.batch * p.channels * p.out_h * p.out_w) {
        return;
    }
    let ox = index % p.out_w;
    let oy = (index / p.out_w) % p.out_h;
    let plane = index / (p.out_w * p.out_h) * p.in_h * p.in_w;
    var best = 0.0;
    var best_at = 0u;
    var found = false;
    for (var ky = 0u; ky < p.kernel_h; ky++) {
        let r = tap_coordinate(oy, ky, p.stride_y, p.dilation_y, p.pad_top);
        if (r < 0 || r >= i32(p.in_h)) {
            continue;
        }
        for (var kx = 0u; kx < p.kernel_w; kx++) {
            let c = tap_coordinate(ox, kx, p.stride_x, p.dilation_x, p.pad_left);
            if (c < 0 || c >= i32(p.in_w)) {
                continue;
            }
            let at = u32(r) * p.in_w + u32(c);
            let v = x[plane + at];
            // Strictly greater: ties keep the first maximum in raster order.
            if (!found || v > best) {
                best = v;
                best_at = at;
                found = true;
            }
        }
    }
    y[index] = best;
    argmax[index] = f32(best_at);
}

// One invocation per input pixel: Σ dy over the windows whose argmax is this pixel.
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(gid, groups);
    if (index >= p.batch * p.channels * p.in_h * p.in_w) {
        return;
    }
    let ix = index % p.in_w;
    let iy = (index / p.in_w) % p.in_h;
    let here = f32(iy * p.in_w + ix);
    let plane = index / (p.in_w * p.in_h) * p.out_h * p.out_w;
    var sum = 0.0;
    for (var ky = 0u; ky < p.kernel_h; ky++) {
        let wy = window_reading(iy + p.pad_top, ky, p.stride_y, p.dilation_y, p.out_h);
        if (wy < 0) {
            continue;
        }
        let oy = u32(wy);
        for (var kx = 0u; kx < p.kernel_w; kx++) {
            let wx = window_reading(ix + p.pad_left, kx, p.stride_x, p.dilation_x, p.out_w);
            if (wx < 0) {
                continue;
            }
            let o = plane + oy * p.out_w + u32(wx);
            if (argmax[o] == here) {
                sum += dy[o];
            }
        }
    }
    dx[index] = sum;
}
