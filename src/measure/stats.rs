//! Summary statistics of a set of timed samples.

use serde::Serialize;

/// A fraction as a percentage: `93%`.
pub fn percent(value: f64) -> String {
    format!("{:.0}%", value * 100.0)
}

/// Statistics of one phase over the kept samples (warm-up excluded), in seconds. The median is
/// the headline figure; min, max and the spread are always there.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Stats {
    /// Median: the headline figure.
    pub median_s: f64,
    /// Arithmetic mean.
    pub mean_s: f64,
    /// Sample standard deviation (n - 1 in the denominator; 0 for one sample).
    pub stddev_s: f64,
    /// Fastest sample.
    pub min_s: f64,
    /// Slowest sample.
    pub max_s: f64,
    /// Every kept sample in the order it was taken.
    pub samples_s: Vec<f64>,
}

impl Stats {
    /// Statistics of `samples_s` (seconds). Returns `None` for an empty set.
    pub fn from_samples(samples_s: Vec<f64>) -> Option<Stats> {
        if samples_s.is_empty() {
            return None;
        }
        let mut sorted = samples_s.clone();
        sorted.sort_by(f64::total_cmp);
        let count = sorted.len();
        let median_s = if count % 2 == 1 {
            sorted[count / 2]
        } else {
            (sorted[count / 2 - 1] + sorted[count / 2]) / 2.0
        };
        let mean_s = sorted.iter().sum::<f64>() / count as f64;
        let stddev_s = if count > 1 {
            (sorted.iter().map(|x| (x - mean_s).powi(2)).sum::<f64>() / (count - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Stats {
            median_s,
            mean_s,
            stddev_s,
            min_s: sorted[0],
            max_s: sorted[count - 1],
            samples_s,
        })
    }

    /// Relative spread: standard deviation over mean (coefficient of variation).
    pub fn coefficient_of_variation(&self) -> f64 {
        if self.mean_s > 0.0 {
            self.stddev_s / self.mean_s
        } else {
            0.0
        }
    }
}

/// hyperfine's outlier threshold on the modified Z-score (deviation from the median in units of
/// 1.4826 × the median absolute deviation).
pub const OUTLIER_Z: f64 = 14.0;

impl Stats {
    /// Samples whose modified Z-score exceeds [`OUTLIER_Z`] (hyperfine's rule): an interrupt,
    /// a page-fault storm, another process taking the core.
    pub fn outliers(&self) -> usize {
        let median_of = |values: &mut Vec<f64>| {
            values.sort_by(f64::total_cmp);
            let n = values.len();
            if n % 2 == 1 {
                values[n / 2]
            } else {
                (values[n / 2 - 1] + values[n / 2]) / 2.0
            }
        };
        let mut deviations: Vec<f64> = self
            .samples_s
            .iter()
            .map(|x| (x - self.median_s).abs())
            .collect();
        let mad = median_of(&mut deviations).max(f64::EPSILON);
        self.samples_s
            .iter()
            .filter(|x| ((*x - self.median_s) / (1.4826 * mad)).abs() > OUTLIER_Z)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_and_even_counts() {
        let s = Stats::from_samples(vec![3.0, 1.0, 2.0]).unwrap();
        assert_eq!(
            (s.median_s, s.min_s, s.max_s, s.mean_s),
            (2.0, 1.0, 3.0, 2.0)
        );
        assert!((s.stddev_s - 1.0).abs() < 1e-12);
        assert_eq!(s.samples_s, vec![3.0, 1.0, 2.0], "samples keep their order");
        let s = Stats::from_samples(vec![4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median_s, 2.5);
        assert!((s.stddev_s - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn one_sample_and_none() {
        let s = Stats::from_samples(vec![0.5]).unwrap();
        assert_eq!((s.median_s, s.stddev_s), (0.5, 0.0));
        assert!(Stats::from_samples(vec![]).is_none());
    }

    #[test]
    fn outliers_follow_hyperfines_rule() {
        let calm = Stats::from_samples(vec![1.00, 1.01, 0.99, 1.02, 0.98, 1.00]).unwrap();
        assert_eq!(calm.outliers(), 0);
        let one_slow = Stats::from_samples(vec![1.00, 1.01, 0.99, 1.02, 0.98, 3.0]).unwrap();
        assert_eq!(one_slow.outliers(), 1);
        // A spread that is wide but even has no outliers.
        let wide = Stats::from_samples(vec![1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(wide.outliers(), 0);
    }
}
