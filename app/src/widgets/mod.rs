//! Widgets shared by the lessons.

pub mod code_panel;
pub mod kernel_grid;
pub mod notices;
pub mod number_grid;
pub mod number_select;
pub mod shape_badge;

pub use code_panel::CodePanel;
pub use kernel_grid::KernelGrid;
pub use notices::QueryNotices;
pub use number_grid::{Cell, NumberGrid};
pub use number_select::number_select;
pub use shape_badge::ShapeBadge;
