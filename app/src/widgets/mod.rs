//! Widgets shared by the lessons: what every step-through lesson repeats (the page's frame, the selected cell
//! with play and step, drop-downs, the photo picker, grids of numbers, shape badges, the PyTorch panel, the notice
//! for unusable link values) and what every training lesson needs (the training runner and its plots).

pub mod code_panel;
pub mod cursor;
pub mod inputs;
pub mod lesson_page;
pub mod notices;
pub mod number_grid;
pub mod photo_picker;
pub mod plot;
pub mod shape_badge;
pub mod training;

pub use code_panel::CodePanel;
pub use cursor::{Cursor, StepControls};
pub use inputs::{choice_select, mode_name, mode_radios, number_input, number_select};
pub use lesson_page::LessonPage;
pub use notices::QueryNotices;
pub use number_grid::{Cell, NumberGrid, format_weight};
pub use photo_picker::{PHOTOS, PhotoChoice, PhotoPicker, PhotoSource};
pub use shape_badge::ShapeBadge;
