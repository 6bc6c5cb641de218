//! Random, valid op inputs within small bounds, for CPU-versus-GPU property tests (native and in the browser).

use engine::ops::conv2d::{Conv2d, Conv2dParams};
use engine::ops::padding::PaddingMode;
use engine::rng::Rng;
use engine::{Shape, Tensor};

/// One random convolution: its parameters and inputs.
#[derive(Clone, Debug)]
pub struct Conv2dCase {
    /// The parameters.
    pub params: Conv2dParams,
    /// Input `[N, Cin, H, W]`.
    pub x: Tensor,
    /// Weight `[Cout, Cin/G, kH, kW]`.
    pub w: Tensor,
    /// Bias `[Cout]`, or none.
    pub b: Option<Tensor>,
}

/// `count` random valid convolutions covering strides, dilations, asymmetric padding, every padding mode, groups
/// and missing biases. Invalid draws (a kernel larger than the padded input, say) are redrawn.
pub fn conv2d_cases(seed: u64, count: usize) -> Vec<Conv2dCase> {
    let mut rng = Rng::new(seed);
    let mut cases = Vec::new();
    while cases.len() < count {
        let groups = 1 + rng.below(3);
        let in_channels = groups * (1 + rng.below(3));
        let out_channels = groups * (1 + rng.below(3));
        let x_shape = Shape::from([1 + rng.below(2), in_channels, 1 + rng.below(9), 1 + rng.below(9)]);
        let w_shape = Shape::from([out_channels, in_channels / groups, 1 + rng.below(4), 1 + rng.below(4)]);
        let params = Conv2dParams {
            stride: [1 + rng.below(3), 1 + rng.below(3)],
            dilation: [1 + rng.below(3), 1 + rng.below(3)],
            padding: [rng.below(4), rng.below(4), rng.below(4), rng.below(4)],
            padding_mode: PaddingMode::ALL[rng.below(4)],
            groups,
        };
        let with_bias = rng.below(4) != 0;
        let b_shape = Shape::from([out_channels]);
        if Conv2d::new(&params, &x_shape, &w_shape, with_bias.then_some(&b_shape)).is_err() {
            continue;
        }
        cases.push(Conv2dCase {
            params,
            x: Tensor::randn(x_shape, &mut rng),
            w: Tensor::randn(w_shape, &mut rng),
            b: with_bias.then(|| Tensor::randn(b_shape, &mut rng)),
        });
    }
    cases
}
