//! The WGSL sources in `shaders/`, compiled into the engine. Adding an op's shader adds one line here.

macro_rules! shaders {
    ($($name:literal),* $(,)?) => {
        /// Every shader, by the name of its op.
        pub const SHADERS: &[(&str, &str)] = &[$(($name, include_str!(concat!("../../../shaders/", $name, ".wgsl")))),*];
    };
}

shaders!(
    "adam",
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "concat",
    "conv2d",
    "cross_entropy",
    "dropout",
    "embedding",
    "matmul",
    "max_pool2d",
    "mse",
    "pad",
    "relu",
    "rmspe",
    "sgd",
    "sigmoid",
    "softmax",
    "sum_to",
);

/// The WGSL source of the shader named `name`.
pub fn source(name: &str) -> Option<&'static str> {
    SHADERS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}
