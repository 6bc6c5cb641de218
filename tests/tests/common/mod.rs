//! Helpers for the native tests: one shared GPU device (lavapipe on CPU-only machines).

use engine::Device;
use std::sync::OnceLock;

/// The shared GPU device, or `None` (with a message) when the machine has none and `REQUIRE_GPU` is not set.
/// `cargo xtask test` sets `REQUIRE_GPU=1`, so there a missing adapter fails the tests instead of skipping them.
pub fn gpu() -> Option<&'static Device> {
    static GPU: OnceLock<Option<Device>> = OnceLock::new();
    GPU.get_or_init(|| match pollster::block_on(Device::gpu()) {
        Ok(gpu) => Some(gpu),
        Err(e) if std::env::var_os("REQUIRE_GPU").is_some() => panic!("REQUIRE_GPU is set but {e}"),
        Err(e) => {
            eprintln!("skipping GPU checks: {e} (install mesa-vulkan-drivers for lavapipe)");
            None
        }
    })
    .as_ref()
}

/// A GPU device of the test's own (its work and its counters apart from other tests'), or `None` as [`gpu`].
pub fn own_gpu() -> Option<engine::device::gpu::Gpu> {
    match pollster::block_on(engine::device::gpu::Gpu::new()) {
        Ok(gpu) => Some(gpu),
        Err(e) if std::env::var_os("REQUIRE_GPU").is_some() => panic!("REQUIRE_GPU is set but {e}"),
        Err(e) => {
            eprintln!("skipping GPU checks: {e}");
            None
        }
    }
}
