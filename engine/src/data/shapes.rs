//! A synthetic image set for classification and heatmaps: RGB 32x32 images of one shape each (circle, square,
//! triangle or cross) drawn at a random place, size and colour on a noisy background. The object's position is
//! known, so a heatmap lesson can check that a model looks where the object is.
//!
//! Generating process, per image (all from the seed):
//! - background: a random colour (each channel uniform in [0, 1]) plus Gaussian pixel noise (σ = 0.08);
//! - shape: a class uniformly at random; its size `r` uniform in [6, 12] pixels (half the bounding box); its
//!   centre uniform where the whole shape fits; its colour a random colour at least 0.5 away (in RGB distance)
//!   from the background's;
//! - circle: pixels within `r` of the centre; square: within `r` in both axes; triangle: pointing up, apex at the
//!   top of the box, base at the bottom; cross: two bars of width `r/2` through the centre.
//!
//! Values stay in [0, 1] (clamped after the noise).

use super::ImageSet;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// The classes, in label order.
pub const CLASSES: [&str; 4] = ["circle", "square", "triangle", "cross"];

/// Side of the images.
pub const SIZE: usize = 32;

/// Where an image's shape is: centre `(row, col)` and half-size, in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// Centre row.
    pub row: f32,
    /// Centre column.
    pub col: f32,
    /// Half the bounding box.
    pub radius: f32,
}

impl Placement {
    /// Whether pixel `(y, x)` (row, column) belongs to a shape of class `class` placed here: the pixels that were
    /// drawn in the shape's colour.
    pub fn covers(&self, class: usize, (y, x): (usize, usize)) -> bool {
        covers(class, *self, y as f32, x as f32)
    }
}

/// Whether pixel `(y, x)` belongs to a shape of class `class` placed at `p`.
fn covers(class: usize, p: Placement, y: f32, x: f32) -> bool {
    let (dy, dx) = (y - p.row, x - p.col);
    match class {
        0 => dy * dy + dx * dx <= p.radius * p.radius,
        1 => dy.abs() <= p.radius && dx.abs() <= p.radius,
        2 => {
            // Apex at the top (dy = −r), base at the bottom (dy = r): half-width grows from 0 to r.
            let t = (dy + p.radius) / (2.0 * p.radius);
            (0.0..=1.0).contains(&t) && dx.abs() <= t * p.radius
        }
        _ => {
            let half_bar = p.radius / 4.0;
            (dy.abs() <= p.radius && dx.abs() <= half_bar) || (dx.abs() <= p.radius && dy.abs() <= half_bar)
        }
    }
}

/// `n` images, with their placements.
pub fn generate(n: usize, seed: u64) -> (ImageSet, Vec<Placement>) {
    let mut drawer = Drawer::new(seed);
    drawer.draw(n);
    drawer.finish()
}

/// Draws the images of [`generate`] a few at a time, the same images for the same seed however they are grouped:
/// a page can give the browser its turn between groups (1,500 images draw 4.6 million noise samples).
pub struct Drawer {
    rng: Rng,
    data: Vec<f32>,
    labels: Vec<i64>,
    placements: Vec<Placement>,
}

impl Drawer {
    /// No images yet, drawing from `seed`.
    pub fn new(seed: u64) -> Drawer {
        Drawer { rng: Rng::new(seed), data: Vec::new(), labels: Vec::new(), placements: Vec::new() }
    }

    /// Draws `n` more images.
    pub fn draw(&mut self, n: usize) {
        let plane = SIZE * SIZE;
        let rng = &mut self.rng;
        for _ in 0..n {
            let class = rng.below(CLASSES.len());
            let background = [rng.uniform(), rng.uniform(), rng.uniform()];
            let color = loop {
                let c = [rng.uniform(), rng.uniform(), rng.uniform()];
                let d: f32 = c.iter().zip(&background).map(|(a, b)| (a - b) * (a - b)).sum();
                if d.sqrt() >= 0.5 {
                    break c;
                }
            };
            let radius = 6.0 + 6.0 * rng.uniform();
            let span = SIZE as f32 - 2.0 * radius - 1.0;
            let p = Placement { row: radius + span * rng.uniform(), col: radius + span * rng.uniform(), radius };
            let start = self.data.len();
            self.data.resize(start + 3 * plane, 0.0);
            let image = &mut self.data[start..];
            for y in 0..SIZE {
                for x in 0..SIZE {
                    let inside = covers(class, p, y as f32, x as f32);
                    for c in 0..3 {
                        let base = if inside { color[c] } else { background[c] };
                        image[c * plane + y * SIZE + x] = (base + 0.08 * rng.normal()).clamp(0.0, 1.0);
                    }
                }
            }
            self.labels.push(class as i64);
            self.placements.push(p);
        }
    }

    /// The images drawn, with their placements.
    pub fn finish(self) -> (ImageSet, Vec<Placement>) {
        let images = Tensor::new([self.labels.len(), 3, SIZE, SIZE], self.data).expect("n images of 3 planes");
        (ImageSet { images, labels: self.labels, classes: CLASSES.iter().map(|s| s.to_string()).collect() }, self.placements)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawing_in_groups_gives_the_same_images_as_at_once() {
        let (all, at_once) = generate(7, 3);
        let mut drawer = Drawer::new(3);
        for n in [2, 0, 4, 1] {
            drawer.draw(n);
        }
        let (grouped, placements) = drawer.finish();
        assert_eq!((grouped.images, grouped.labels), (all.images, all.labels));
        assert_eq!(placements.iter().map(|p| p.row).collect::<Vec<_>>(), at_once.iter().map(|p| p.row).collect::<Vec<_>>());
    }

    #[test]
    fn the_same_seed_draws_the_same_images_with_every_class() {
        let (a, pa) = generate(40, 1);
        let (b, _) = generate(40, 1);
        assert_eq!(a.images, b.images);
        for class in 0..4 {
            assert!(a.labels.contains(&class));
        }
        assert!(pa.iter().all(|p| p.row - p.radius >= 0.0 && p.row + p.radius < SIZE as f32));
        assert_ne!(generate(40, 2).0.images, a.images);
    }

    #[test]
    fn the_shape_stands_out_where_the_placement_says() {
        let (set, places) = generate(12, 3);
        for (i, p) in places.iter().enumerate() {
            let class = set.labels[i] as usize;
            let (mut inside, mut outside) = ([0.0f32; 3], [0.0f32; 3]);
            let (mut n_in, mut n_out) = (0.0, 0.0);
            for y in 0..SIZE {
                for x in 0..SIZE {
                    let (sum, count) = if covers(class, *p, y as f32, x as f32) { (&mut inside, &mut n_in) } else { (&mut outside, &mut n_out) };
                    for (c, channel) in sum.iter_mut().enumerate() {
                        *channel += set.images.data()[(i * 3 + c) * SIZE * SIZE + y * SIZE + x];
                    }
                    *count += 1.0;
                }
            }
            assert!(n_in >= 20.0, "image {i}: the shape covers only {n_in} pixels");
            let distance: f32 = (0..3).map(|c| (inside[c] / n_in - outside[c] / n_out).powi(2)).sum::<f32>().sqrt();
            assert!(distance > 0.35, "image {i}: shape and background differ by only {distance}");
        }
    }
}
