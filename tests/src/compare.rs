//! Comparing computed values with expected ones, reporting the worst element.

use std::fmt;

/// Absolute tolerance for outputs.
pub const ATOL: f32 = 1e-5;
/// Relative tolerance.
pub const RTOL: f32 = 1e-4;

/// Where two tensors disagree most.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// The tensor compared.
    pub tensor: String,
    /// Flat index of the worst element (or `None` for a shape or length mismatch).
    pub index: Option<usize>,
    /// What was computed there.
    pub got: f32,
    /// What was expected there.
    pub want: f32,
    /// `|got − want|`
    pub error: f32,
    /// More detail (shapes, how many elements are off).
    pub detail: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(
                f,
                "{}: worst at index {i}: got {} want {} (error {:.3e}); {}",
                self.tensor, self.got, self.want, self.error, self.detail
            ),
            None => write!(f, "{}: {}", self.tensor, self.detail),
        }
    }
}

/// Checks `|got − want| ≤ atol + rtol·|want|` for every element, like `torch.allclose`.
pub fn all_close(tensor: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) -> Result<(), Mismatch> {
    if got.len() != want.len() {
        return Err(Mismatch {
            tensor: tensor.to_string(),
            index: None,
            got: f32::NAN,
            want: f32::NAN,
            error: f32::INFINITY,
            detail: format!("{} values computed, {} expected", got.len(), want.len()),
        });
    }
    let mut worst: Option<(usize, f32)> = None;
    let mut off = 0;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let error = (g - w).abs();
        // A NaN never passes: `!(error <= bound)` is true for NaN.
        if !(error <= atol + rtol * w.abs()) {
            off += 1;
            let excess = if error.is_nan() { f32::INFINITY } else { error - rtol * w.abs() };
            if worst.is_none_or(|(_, e)| excess > e) {
                worst = Some((i, excess));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((i, _)) => Err(Mismatch {
            tensor: tensor.to_string(),
            index: Some(i),
            got: got[i],
            want: want[i],
            error: (got[i] - want[i]).abs(),
            detail: format!("{off} of {} elements outside atol {atol:e} + rtol {rtol:e}", got.len()),
        }),
    }
}

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
    fn close_values_pass_and_the_worst_offender_is_named() {
        assert!(all_close("y", &[1.0, 2.0], &[1.0, 2.00001], ATOL, RTOL).is_ok());
        let m = all_close("y", &[1.0, 2.5, 3.1], &[1.0, 2.0, 3.0], ATOL, RTOL).unwrap_err();
        assert_eq!(m.index, Some(1));
        assert!(m.to_string().contains("2 of 3"), "{m}");
    }

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

    #[test]
    fn nan_and_length_mismatches_fail() {
        assert!(all_close("y", &[f32::NAN], &[0.0], ATOL, RTOL).is_err());
        assert!(all_close("y", &[0.0], &[0.0, 1.0], ATOL, RTOL).is_err());
    }
}
