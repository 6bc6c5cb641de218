//! Comparing computed values with expected ones, reporting the worst element ([`all_close`], the engine's), and
//! the tolerance for references written with few decimals.

pub use engine::ops::check::{ATOL, Mismatch, RTOL, all_close};

/// How many decimals a reference is written with, when every value has at most 4 (such as `0.1511`): some ONNX
/// references were rounded by hand, so they are only as exact as their last decimal. Each value counts the
/// decimals of the shortest decimal that gives back its f32. `None` for references at full f32 precision, and for
/// whole numbers (integer arithmetic is exact, and stays at the full tolerance).
pub fn written_decimals(values: &[f64]) -> Option<u32> {
    let decimals = |v: f64| {
        let text = format!("{}", v as f32);
        if text.contains(['e', 'E']) { u32::MAX } else { text.split_once('.').map_or(0, |(_, f)| f.len() as u32) }
    };
    let most = values.iter().map(|&v| decimals(v)).max()?;
    (3..=4).contains(&most).then_some(most)
}

/// The absolute tolerance for a reference: `atol`, widened to half a unit of the last decimal of a reference
/// written with few decimals (see [`written_decimals`]).
pub fn reference_atol(values: &[f64], atol: f32) -> f32 {
    written_decimals(values).map_or(atol, |d| atol.max(0.5 * 10f32.powi(-(d as i32))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_rounded_references_are_recognised() {
        assert_eq!(written_decimals(&[0.1511, 0.2841, 0.3572]), Some(4));
        // The same reference after a round trip through f32 and f64 (as numpy's tolist writes it).
        assert_eq!(written_decimals(&[0.15109999477863312, 0.25]), Some(4));
        assert_eq!(written_decimals(&[0.15105554, 0.2841]), None);
        assert_eq!(written_decimals(&[21.0, 33.0]), None);
        assert_eq!(reference_atol(&[0.1511], ATOL), 5e-5);
        assert_eq!(reference_atol(&[0.15105554], ATOL), ATOL);
    }
}
