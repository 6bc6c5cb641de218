// sum_to.wgsl: sum a broadcast tensor down to the shape it came from, times a scale. One invocation per output
// value loops over the values that broadcast from it.
//
// Rust reference: engine/src/ops/sum_to.rs (`SumTo::reference_forward`, `SumTo::reference_backward`). Both shapes
// are padded to 8 axes with leading 1s.

struct Params {
    total: u32, scale: f32, _unused0: u32, _unused1: u32,
    from_dims: array<vec4<u32>, 2>,
    to_dims: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;                   // the sizes above
@group(0) @binding(1) var<storage, read> x: array<f32>;         // the large tensor
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // the small one
@group(0) @binding(3) var<storage, read> dy: array<f32>;        // the small one's gradient
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;  // broadcast back to the large shape

fn from_dim(axis: u32) -> u32 {
    return p.from_dims[axis / 4u][axis % 4u];
}

fn to_dim(axis: u32) -> u32 {
    return p.to_dims[axis / 4u][axis % 4u];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(invocation: Invocation) {
    let j = flat_index(invocation);
    if (j >= p.total) {
        return;
    }
    // How many large-tensor values fold onto one small-tensor value.
    var repeats = 1u;
    for (var axis = 0u; axis < 8u; axis++) {
        if (to_dim(axis) == 1u) {
            repeats *= from_dim(axis);
        }
    }
    var sum = 0.0;
    for (var r = 0u; r < repeats; r++) {
        // Build the large index from j's coordinates on the kept axes and r's on the summed ones, last axis first.
        var rest_j = j;
        var rest_r = r;
        var index = 0u;
        var stride = 1u;
        for (var k = 0u; k < 8u; k++) {
            let axis = 7u - k;
            var coord: u32;
            if (to_dim(axis) == 1u) {
                coord = rest_r % from_dim(axis);
                rest_r /= from_dim(axis);
            } else {
                coord = rest_j % to_dim(axis);
                rest_j /= to_dim(axis);
            }
            index += coord * stride;
            stride *= from_dim(axis);
        }
        sum += x[index];
    }
    y[j] = sum * p.scale;
}

// The backward, one invocation per value of the large tensor: the value of the small one it was broadcast from,
// times the scale.
@compute @workgroup_size(WORKGROUP_SIZE)
fn broadcast(invocation: Invocation) {
    let i = flat_index(invocation);
    var total = 1u;
    for (var axis = 0u; axis < 8u; axis++) {
        total *= from_dim(axis);
    }
    if (i >= total) {
        return;
    }
    // `SumTo::target`: i's coordinates, last axis first, kept where the small shape keeps the axis.
    var rest = i;
    var j = 0u;
    var stride = 1u;
    for (var k = 0u; k < 8u; k++) {
        let axis = 7u - k;
        let coord = rest % from_dim(axis);
        rest /= from_dim(axis);
        if (to_dim(axis) != 1u) {
            j += coord * stride;
        }
        stride *= to_dim(axis);
    }
    dx[i] = dy[j] * p.scale;
}
