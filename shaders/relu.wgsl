// relu.wgsl: y = max(x, 0), and its gradient dx = dy where x > 0.
//
// Rust reference: engine/src/ops/relu.rs (`Relu::reference_forward`, `Relu::reference_backward`).
//
// Bindings (group 0): 0 params (uniform: total), 1 x (read), 2 y (write), 3 dy (read), 4 dx (write).

struct Params {
    total: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i < p.total) {
        y[i] = max(x[i], 0.0);
    }
}

@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i < p.total) {
        dx[i] = select(0.0, dy[i], x[i] > 0.0);
    }
}
