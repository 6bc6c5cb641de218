//! Widgets shared by the lessons.

pub mod kernel_grid;
pub mod shape_badge;

pub use kernel_grid::KernelGrid;
pub use shape_badge::ShapeBadge;
