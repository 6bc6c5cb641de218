//! Widgets shared by the lessons: what every step-through lesson repeats (the page's frame, the selected cell
//! with play and step, drop-downs, the photo picker, grids of numbers, shape badges, the PyTorch panel, the notice
//! for unusable link values) and what every training lesson needs (the training runner and its plots).

pub mod code_panel;
pub mod conv_trace;
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
pub use conv_trace::{ConvRun, ConvTrace};
pub use cursor::{Cursor, StepControls};
pub use inputs::{MODE, mode_name, mode_radios, number_input, select, typed_notice};
pub use lesson_page::LessonPage;
pub use notices::QueryNotices;
pub use number_grid::{Cell, NumberGrid, format_weight};
pub use photo_picker::{PHOTOS, Photo, PhotoChoice, PhotoPicker, PhotoSource, photo_param};
pub use shape_badge::ShapeBadge;
