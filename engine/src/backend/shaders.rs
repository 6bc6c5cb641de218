//! The WGSL sources in `shaders/`, compiled into the engine. Adding an op's shader adds one line here.

/// Every shader, by the name of its op.
pub const SHADERS: &[(&str, &str)] = &[("conv2d", include_str!("../../../shaders/conv2d.wgsl"))];

/// The WGSL source of the shader named `name`.
pub fn source(name: &str) -> Option<&'static str> {
    SHADERS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}
