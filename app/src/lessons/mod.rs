//! The lessons, one file each: the lesson's state (its URL parameters, what every number and sentence on the page
//! is, its PyTorch panel and the panel states `cargo xtask panels` checks: plain Rust, tested natively) and its view,
//! which only binds the state to markup. [`LESSONS`] drives the routes (`/<path>`), the navigation, the home page
//! and the panels check: adding a lesson adds its file and one row here.

pub mod augment;
pub mod batchnorm;
pub mod channels;
pub mod dropout;
pub mod heatmap;
pub mod kernels;
pub mod padding_stride;
pub mod pooling;
pub mod tabular;
pub mod train;

#[cfg(not(target_arch = "wasm32"))]
use crate::panel::{Assets, Case};
use crate::query::AnyParam;
use leptos::prelude::*;

/// One lesson: where it lives, what it is called, its page, its URL parameters and its panel states.
pub struct Lesson {
    /// The URL path, without the slash: `/kernels` is `kernels`. People share these links: never rename one.
    pub path: &'static str,
    /// The title in the navigation and on the home page.
    pub title: &'static str,
    /// The one question it answers, first on the home page.
    pub question: &'static str,
    /// One sentence on the home page.
    pub summary: &'static str,
    /// Renders the page.
    pub view: fn() -> AnyView,
    /// Its URL parameters.
    pub params: &'static [&'static dyn AnyParam],
    /// The states whose PyTorch panel `cargo xtask panels` runs, computed on the shipped files (native builds
    /// only: check code, not shipped).
    #[cfg(not(target_arch = "wasm32"))]
    pub cases: fn(&dyn Assets) -> Result<Vec<Case>, String>,
}

/// Every lesson, in teaching order.
pub const LESSONS: &[Lesson] = &[
    Lesson {
        path: "kernels",
        title: "Image kernels",
        question: "What does a convolution compute for one pixel?",
        summary: "A 3x3 kernel slides over a photo: each output pixel is the multiply-sum of a window with the kernel.",
        view: || view! { <kernels::Kernels/> }.into_any(),
        params: kernels::PARAMS,
        #[cfg(not(target_arch = "wasm32"))]
        cases: kernels::cases,
    },
    Lesson {
        path: "padding-stride",
        title: "Padding and stride",
        question: "Why does stride 2 halve the image, and what fills the border?",
        summary: "Where the windows fall: padding modes, stride 2 halving the image, dilation, and the output-size formula.",
        view: || view! { <padding_stride::PaddingStride/> }.into_any(),
        params: padding_stride::PARAMS,
        #[cfg(not(target_arch = "wasm32"))]
        cases: padding_stride::cases,
    },
    Lesson {
        path: "channels",
        title: "Channels",
        question: "How do three colour channels and many kernels make rank-3 and rank-4 tensors?",
        summary: "RGB planes, rank-3 kernels summed over channels, stacked kernels as a rank-4 weight, and the convolution as a matrix.",
        view: || view! { <channels::Channels/> }.into_any(),
        params: channels::PARAMS,
        #[cfg(not(target_arch = "wasm32"))]
        cases: channels::cases,
    },
    Lesson {
        path: "pooling",
        title: "Pooling and the head",
        question: "How does a CNN turn its feature maps into one score per class?",
        summary: "Max and average pooling window by window, then a CNN's head: feature maps to a vector to class scores.",
        view: || view! { <pooling::Pooling/> }.into_any(),
        params: pooling::PARAMS,
        #[cfg(not(target_arch = "wasm32"))]
        cases: pooling::cases,
    },
    Lesson {
        path: "heatmap",
        title: "Heatmaps",
        question: "Where in the image did the network look?",
        summary: "Hook a CNN's body, average its channels into a map of where it looked, stretch it over the image, then Grad-CAM for one class.",
        view: || view! { <heatmap::HeatmapLesson/> }.into_any(),
        params: heatmap::PARAMS,
        #[cfg(not(target_arch = "wasm32"))]
        cases: heatmap::cases,
    },
    Lesson {
        path: "dropout",
        title: "Dropout",
        question: "What does dropout do while training, and why nothing at test time?",
        summary: "Activations zeroed at random while training and the survivors scaled up, embedding dropout, and what it does to overfitting.",
        view: || view! { <dropout::DropoutLesson/> }.into_any(),
        params: dropout::PARAMS,
        #[cfg(not(target_arch = "wasm32"))]
        cases: dropout::cases,
    },
    Lesson {
        path: "batchnorm",
        title: "Batch normalization",
        question: "What does batch normalization do to a mini-batch, in training and at test time?",
        summary: "A mini-batch normalised feature by feature, γ and β, running statistics and momentum, and training vs evaluation.",
        view: || view! { <batchnorm::BatchNormLesson/> }.into_any(),
        params: batchnorm::PARAMS,
        #[cfg(not(target_arch = "wasm32"))]
        cases: batchnorm::cases,
    },
    Lesson {
        path: "augment",
        title: "Data augmentation",
        question: "How can a model learn from more images than it has?",
        summary: "fastai's get_transforms: flips, turns, zooms, perspective and lighting drawn afresh for every image, the padding that fills the corners, and which moves keep a label true.",
        view: || view! { <augment::Augment/> }.into_any(),
        params: augment::PARAMS,
        #[cfg(not(target_arch = "wasm32"))]
        cases: augment::cases,
    },
    Lesson {
        path: "train",
        title: "Train a CNN",
        question: "What does it take to train a CNN, and what does it get wrong?",
        summary: "Build a CNN block by block with its summary, train it here on the digits, the shapes or your own images, see what it confuses, and take it to PyTorch.",
        view: || view! { <train::TrainLesson/> }.into_any(),
        params: train::PARAMS,
        #[cfg(not(target_arch = "wasm32"))]
        cases: train::cases,
    },
    Lesson {
        path: "tabular",
        title: "A tabular model",
        question: "How does a neural network predict sales from a table?",
        summary: "Rossmann sales from a table: categorical vs continuous columns, embeddings, the log target and RMSPE, training here, and what the embeddings learned.",
        view: || view! { <tabular::Tabular/> }.into_any(),
        params: tabular::PARAMS,
        #[cfg(not(target_arch = "wasm32"))]
        cases: tabular::cases,
    },
];

#[cfg(test)]
mod tests {
    use super::LESSONS;

    #[test]
    fn every_lesson_s_parameters_are_distinct_and_each_reads_back_what_it_writes() {
        for lesson in LESSONS {
            let keys: Vec<&str> = lesson.params.iter().map(|p| p.key()).collect();
            let mut unique = keys.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), keys.len(), "/{}: a URL parameter is declared twice: {keys:?}", lesson.path);
            for param in lesson.params {
                let problems = param.inconsistencies();
                assert!(problems.is_empty(), "/{}: {problems:?}", lesson.path);
            }
        }
    }

    #[test]
    fn the_readme_documents_every_parameter_of_every_lesson() {
        let readme = include_str!("../../../README.md");
        for lesson in LESSONS {
            let row = readme.lines().find(|l| l.starts_with(&format!("| `/{}` |", lesson.path))).expect("a row per lesson");
            let documented = row.rsplit('|').nth(1).unwrap_or_default();
            for param in lesson.params {
                assert!(documented.contains(&format!("`{}`", param.key())), "README.md's row for /{} does not list `{}`", lesson.path, param.key());
            }
        }
    }

    #[test]
    fn the_readme_lists_exactly_the_lessons_there_are() {
        let readme = include_str!("../../../README.md");
        let routes: Vec<&str> = readme.lines().filter_map(|l| l.strip_prefix("| `/")?.split('`').next()).collect();
        let mut lessons: Vec<&str> = LESSONS.iter().map(|l| l.path).collect();
        lessons.push("speed");
        assert_eq!(routes, lessons, "README.md's routes table and LESSONS differ: keep them one for one, in order");
    }
}
