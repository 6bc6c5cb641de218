//! The lessons, one file each. [`LESSONS`] drives the routes (`/<path>`), the navigation and the home page:
//! adding a lesson adds its file and one row here.

pub mod batchnorm;
pub mod channels;
pub mod dropout;
pub mod kernels;
pub mod padding_stride;
pub mod pooling;
pub mod tabular;

use leptos::prelude::*;

/// One lesson: where it lives, what it is called, and its page.
pub struct Lesson {
    /// The URL path, without the slash: `/kernels` is `kernels`. People share these links: never rename one.
    pub path: &'static str,
    /// The title in the navigation and on the home page.
    pub title: &'static str,
    /// One sentence on the home page.
    pub summary: &'static str,
    /// Renders the page.
    pub view: fn() -> AnyView,
}

/// Every lesson, in teaching order.
pub const LESSONS: &[Lesson] = &[
    Lesson {
        path: "kernels",
        title: "Image kernels",
        summary: "A 3x3 kernel slides over a photo: each output pixel is the multiply-sum of a window with the kernel.",
        view: || view! { <kernels::Kernels/> }.into_any(),
    },
    Lesson {
        path: "padding-stride",
        title: "Padding and stride",
        summary: "Where the windows fall: padding modes, stride 2 halving the image, dilation, and the output-size formula.",
        view: || view! { <padding_stride::PaddingStride/> }.into_any(),
    },
    Lesson {
        path: "channels",
        title: "Channels",
        summary: "RGB planes, rank-3 kernels summed over channels, stacked kernels as a rank-4 weight, and the convolution as a matrix.",
        view: || view! { <channels::Channels/> }.into_any(),
    },
    Lesson {
        path: "pooling",
        title: "Pooling and the head",
        summary: "Max and average pooling window by window, then a CNN's head: feature maps to a vector to class scores.",
        view: || view! { <pooling::Pooling/> }.into_any(),
    },
    Lesson {
        path: "dropout",
        title: "Dropout",
        summary: "Activations zeroed at random while training and the survivors scaled up, embedding dropout, and what it does to overfitting.",
        view: || view! { <dropout::DropoutLesson/> }.into_any(),
    },
    Lesson {
        path: "batchnorm",
        title: "Batch normalization",
        summary: "A mini-batch normalised feature by feature, γ and β, running statistics and momentum, and training vs evaluation.",
        view: || view! { <batchnorm::BatchNormLesson/> }.into_any(),
    },
    Lesson {
        path: "tabular",
        title: "A tabular model",
        summary: "Rossmann sales from a table: categorical vs continuous columns, embeddings, the log target and RMSPE, training here, and what the embeddings learned.",
        view: || view! { <tabular::Tabular/> }.into_any(),
    },
];

#[cfg(test)]
mod tests {
    use super::LESSONS;

    #[test]
    fn the_readme_lists_exactly_the_lessons_there_are() {
        let readme = include_str!("../../../README.md");
        let routes: Vec<&str> = readme.lines().filter_map(|l| l.strip_prefix("| `/")?.split('`').next()).collect();
        let mut lessons: Vec<&str> = LESSONS.iter().map(|l| l.path).collect();
        lessons.push("speed");
        assert_eq!(routes, lessons, "README.md's routes table and LESSONS differ: keep them one for one, in order");
    }
}
