//! The result of checking a kernel's output, and the element-wise checker the array kernels share.

use rayon::prelude::*;
use serde::Serialize;

/// How a result compared with the reference. Serialized into every record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// True when every checked value was within its tolerance.
    pub passed: bool,
    /// The rule applied, in words (e.g. `exact`, `|x - x64| <= 2^-24 (|a| + 2|q b|)`).
    pub rule: String,
    /// Values checked.
    pub checked: u64,
    /// Values outside their tolerance.
    pub mismatches: u64,
    /// Largest error found divided by its allowed error (<= 1 passes; 0 for an exact match).
    pub worst_error_ratio: f64,
    /// |result − exact| / |exact| for kernels whose result is one number (dot, reduce, pi):
    /// the accuracy that goes with the speed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_error: Option<f64>,
    /// A short description of the first mismatch, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_mismatch: Option<String>,
    /// Which code path produced the result, where a kernel picks one by what the adapter
    /// offers (reduce `atomics`: "gpu atomics: native f32 atomicAdd …" or "… compare-and-swap
    /// loop …"); printed under the run table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Verification {
    /// A short word for tables: `ok` or `FAILED (k of n)`.
    pub fn summary(&self) -> String {
        if self.passed {
            "ok".to_string()
        } else {
            format!("FAILED ({} of {})", self.mismatches, self.checked)
        }
    }

    /// Of the checks of a run's first sample (`self`) and its last (`last`), the one a record
    /// keeps: a failure over a pass, else the larger error ratio, the last on a tie. A kept
    /// first-sample failure says so in its first mismatch.
    pub fn worse_of_first_and(self, last: Verification) -> Verification {
        let first_is_worse = match (self.passed, last.passed) {
            (false, true) => true,
            (true, false) => false,
            _ => self.worst_error_ratio > last.worst_error_ratio,
        };
        if !first_is_worse {
            return last;
        }
        Verification {
            first_mismatch: self
                .first_mismatch
                .map(|mismatch| format!("first sample: {mismatch}")),
            ..self
        }
    }
}

/// Checks `output[i]` against `expected(i) = (exact value, allowed absolute error)` for every i,
/// in parallel. NaN never passes.
pub fn check_elements(
    output: &[f32],
    rule: &str,
    expected: impl Fn(usize) -> (f64, f64) + Sync,
) -> Verification {
    let (mismatches, worst, first) = output
        .par_iter()
        .enumerate()
        .map(|(i, &got)| {
            let (exact, allowed) = expected(i);
            let error = (got as f64 - exact).abs();
            let ratio = if error == 0.0 {
                0.0
            } else if allowed > 0.0 {
                error / allowed
            } else {
                f64::INFINITY
            };
            // Written so that NaN (which compares false) counts as a mismatch.
            let bad = error
                .partial_cmp(&allowed)
                .is_none_or(|order| order.is_gt());
            let first = bad.then_some((i, got, exact));
            (
                bad as u64,
                if ratio.is_nan() { f64::INFINITY } else { ratio },
                first,
            )
        })
        .reduce(
            || (0, 0.0, None),
            |x, y| (x.0 + y.0, x.1.max(y.1), earlier(x.2, y.2)),
        );
    Verification {
        passed: mismatches == 0,
        rule: rule.to_string(),
        checked: output.len() as u64,
        mismatches,
        worst_error_ratio: worst,
        relative_error: None,
        first_mismatch: first
            .map(|(i, got, exact)| format!("element {i}: got {got}, expected {exact}")),
        note: None,
    }
}

/// Of two mismatches `(index, got, expected)`, the one at the lower index: how a parallel
/// reduction keeps the first mismatch.
pub fn earlier<G, E>(a: Option<(usize, G, E)>, b: Option<(usize, G, E)>) -> Option<(usize, G, E)> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Checks one value against an exact value with an allowed absolute error.
pub fn check_value(got: f64, exact: f64, allowed: f64, rule: &str) -> Verification {
    let error = (got - exact).abs();
    let passed = error <= allowed;
    Verification {
        passed,
        rule: rule.to_string(),
        checked: 1,
        mismatches: (!passed) as u64,
        relative_error: Some(if exact != 0.0 {
            error / exact.abs()
        } else {
            error
        }),
        worst_error_ratio: if error == 0.0 {
            0.0
        } else if allowed > 0.0 {
            error / allowed
        } else {
            f64::INFINITY
        },
        first_mismatch: (!passed).then(|| format!("got {got}, expected {exact} ± {allowed:.3e}")),
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_check_finds_the_first_mismatch_and_rejects_nan() {
        let output = [1.0, 2.0, f32::NAN, 5.0];
        let v = check_elements(&output, "exact", |i| ((i + 1) as f64, 0.0));
        assert!(!v.passed);
        assert_eq!(v.mismatches, 2);
        assert_eq!(
            v.first_mismatch.as_deref(),
            Some("element 2: got NaN, expected 3")
        );
        let v = check_elements(&[1.0, 2.5], "±0.5", |i| ((i + 1) as f64, 0.5));
        assert!(v.passed);
        assert_eq!(v.worst_error_ratio, 1.0);
    }

    #[test]
    fn a_record_keeps_the_worse_of_the_first_and_last_checks() {
        let good = check_value(1.0, 1.0, 0.5, "rule");
        let close = check_value(1.25, 1.0, 0.5, "rule");
        let bad = check_value(3.0, 1.0, 0.5, "rule");
        let kept = bad.clone().worse_of_first_and(good.clone());
        assert!(!kept.passed);
        assert!(
            kept.first_mismatch
                .unwrap()
                .starts_with("first sample: got 3")
        );
        assert_eq!(good.clone().worse_of_first_and(bad.clone()), bad);
        assert_eq!(
            close
                .clone()
                .worse_of_first_and(good.clone())
                .worst_error_ratio,
            0.5
        );
        assert_eq!(good.clone().worse_of_first_and(close.clone()), close);
    }

    #[test]
    fn value_check() {
        assert!(check_value(1.0, 1.0005, 1e-3, "rel").passed);
        assert!(!check_value(1.0, 1.01, 1e-3, "rel").passed);
        assert!(!check_value(f64::NAN, 1.0, 1e-3, "rel").passed);
    }
}
