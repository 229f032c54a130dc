//! Noise said out loud: the warnings a document carries when its records are too noisy or too
//! few to support the differences a reader will look for.

use super::record::Record;
use super::stats::{Stats, percent};

/// A coefficient of variation above this (10%) is a large spread.
pub const LARGE_CV: f64 = 0.10;
/// Fewer kept samples than this cannot show a spread.
pub const MIN_SAMPLES: usize = 3;

/// One line per kind of trouble among `records`' compute phases: a large spread, outlier
/// samples, too few samples. Empty when the records are clean.
pub fn record_warnings(records: &[Record]) -> Vec<String> {
    let sizes_differ = records.iter().any(|r| r.size != records[0].size);
    let labelled: Vec<(String, &Stats)> = records
        .iter()
        .map(|r| {
            let mut name = format!("{} {}", r.kernel, r.backend);
            if let Some(variant) = &r.variant {
                name.push_str(&format!(" {variant}"));
            }
            if sizes_differ {
                name.push_str(&format!(" n={}", r.size));
            }
            (name, &r.phases.compute)
        })
        .collect();
    stats_warnings(&labelled)
}

/// [`record_warnings`] for any labelled timings.
pub fn stats_warnings(labelled: &[(String, &Stats)]) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut noisy: Vec<&(String, &Stats)> = labelled
        .iter()
        .filter(|(_, stats)| stats.coefficient_of_variation() > LARGE_CV)
        .collect();
    noisy.sort_by(|a, b| {
        b.1.coefficient_of_variation()
            .total_cmp(&a.1.coefficient_of_variation())
    });
    let spread: Vec<String> = noisy
        .iter()
        .map(|(name, stats)| format!("{name} ({})", percent(stats.coefficient_of_variation())))
        .collect();
    if !spread.is_empty() {
        warnings.push(format!(
            "large spread (coefficient of variation above {}): {}; differences smaller than the spread are noise, so rerun with more --runs on a quieter machine",
            percent(LARGE_CV),
            worst_first(&spread)
        ));
    }
    let outliers: Vec<String> = labelled
        .iter()
        .filter(|(_, stats)| stats.outliers() > 0)
        .map(|(name, stats)| format!("{name} ({})", stats.outliers()))
        .collect();
    if !outliers.is_empty() {
        warnings.push(format!(
            "outlier samples (modified Z-score above 14, hyperfine's rule; the median ignores them): {}; something else was running",
            worst_first(&outliers)
        ));
    }
    let fewest = labelled
        .iter()
        .map(|(_, stats)| stats.samples_s.len())
        .min();
    if let Some(fewest) = fewest.filter(|&n| n < MIN_SAMPLES) {
        warnings.push(format!(
            "only {fewest} sample{} kept per record: too few to judge the spread; use --runs {MIN_SAMPLES} or more",
            if fewest == 1 { "" } else { "s" }
        ));
    }
    warnings
}

/// At most six names, then how many more: a sweep can have dozens.
fn worst_first(names: &[String]) -> String {
    const SHOWN: usize = 6;
    match names.len() {
        n if n <= SHOWN => names.join(", "),
        n => format!("{} and {} more", names[..SHOWN].join(", "), n - SHOWN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::measure::record::test_cpu_record;

    fn record(compute_s: &[f64]) -> Record {
        test_cpu_record(Backend::Rayon, 1, compute_s)
    }

    #[test]
    fn clean_records_warn_of_nothing() {
        assert!(record_warnings(&[record(&[1.0, 1.01, 0.99, 1.0])]).is_empty());
    }

    #[test]
    fn spread_outliers_and_too_few_samples_each_warn() {
        let spread = record_warnings(&[record(&[1.0, 1.5, 0.7, 1.2])]);
        assert_eq!(spread.len(), 1, "{spread:?}");
        assert!(spread[0].contains("large spread") && spread[0].contains("triad rayon"));

        let outlier = record_warnings(&[record(&[1.0, 1.0, 1.001, 0.999, 1.0, 1.0, 9.0])]);
        assert!(
            outlier.iter().any(|w| w.contains("outlier samples")),
            "{outlier:?}"
        );

        let few = record_warnings(&[record(&[1.0, 1.0])]);
        assert_eq!(
            few,
            vec![
                "only 2 samples kept per record: too few to judge the spread; use --runs 3 or more"
            ]
        );
    }
}
