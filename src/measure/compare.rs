//! `--compare BASELINE.json`: each figure of a run or sweep as a ratio to a saved one, so that
//! students compare machines and instructors compare submissions.

use super::record::Record;
use crate::error::{Error, Result};
use serde::Serialize;
use std::path::Path;

/// The parts of a saved document a comparison needs.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Where it came from, for messages.
    pub path: String,
    pub kernel: String,
    /// The command that measured it.
    pub command: String,
    records: Vec<BaselineRecord>,
}

#[derive(Debug, Clone)]
struct BaselineRecord {
    backend: String,
    variant: Option<String>,
    size: u64,
    compute_s: f64,
    /// The compute phase's fastest and slowest samples (the median when the document lacks them).
    compute_range_s: (f64, f64),
    total_s: f64,
}

/// One record next to its baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub backend: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub size: u64,
    pub baseline_compute_s: f64,
    pub compute_s: f64,
    /// Baseline compute median / this compute median: above 1 means faster than the baseline.
    pub compute_speedup: f64,
    /// The ratio's range from the two runs' spreads: baseline fastest / this slowest to
    /// baseline slowest / this fastest.
    pub compute_speedup_range: [f64; 2],
    /// True when the two runs' compute ranges overlap: the ratio is within noise.
    pub within_noise: bool,
    pub baseline_total_s: f64,
    pub total_s: f64,
    /// Baseline total median / this total median.
    pub total_speedup: f64,
}

impl Baseline {
    /// Reads a JSON document written by `hpclab run` or `hpclab sweep` with `--format json`.
    /// Anything else is a usage error that says what was expected.
    pub fn load(path: &Path) -> Result<Baseline> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::usage(format!("--compare {shown}: cannot read it ({e})")))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::usage(format!(
                "--compare {shown}: not JSON ({e}); save one with --format json --output FILE"
            ))
        })?;
        let invalid = |what: &str| {
            Error::usage(format!(
                "--compare {shown}: not an hpclab run or sweep document ({what})"
            ))
        };
        let kernel = json["kernel"]
            .as_str()
            .ok_or_else(|| invalid("no \"kernel\""))?
            .to_string();
        let records = json["records"]
            .as_array()
            .ok_or_else(|| invalid("no \"records\""))?;
        let records = records
            .iter()
            .map(|r| {
                Some(BaselineRecord {
                    backend: r["backend"].as_str()?.to_string(),
                    variant: r["variant"].as_str().map(str::to_string),
                    size: r["size"].as_u64()?,
                    compute_s: r["phases"]["compute"]["median_s"].as_f64()?,
                    compute_range_s: {
                        let compute = &r["phases"]["compute"];
                        let median = compute["median_s"].as_f64()?;
                        (
                            compute["min_s"].as_f64().unwrap_or(median),
                            compute["max_s"].as_f64().unwrap_or(median),
                        )
                    },
                    total_s: r["phases"]["total"]["median_s"].as_f64()?,
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("a record lacks backend, size or phase medians"))?;
        if records.is_empty() {
            return Err(invalid("no records"));
        }
        let positive = |seconds: f64| seconds.is_finite() && seconds > 0.0;
        if let Some(bad) = records.iter().find(|r| {
            ![
                r.compute_s,
                r.compute_range_s.0,
                r.compute_range_s.1,
                r.total_s,
            ]
            .into_iter()
            .all(positive)
        }) {
            return Err(invalid(&format!(
                "the {} record at size {} has a time that is not a positive number of seconds",
                bad.backend, bad.size
            )));
        }
        Ok(Baseline {
            path: shown,
            kernel,
            command: json["command"].as_str().unwrap_or("").to_string(),
            records,
        })
    }

    /// Refuses a baseline of another kernel or with none of `sizes`, before any work is done.
    pub fn check_matches(&self, kernel: &str, sizes: &[u64]) -> Result<()> {
        if self.kernel != kernel {
            return Err(Error::usage(format!(
                "--compare {}: the baseline measured {}, not {kernel}",
                self.path, self.kernel
            )));
        }
        if !self.records.iter().any(|r| sizes.contains(&r.size)) {
            let mut theirs: Vec<u64> = self.records.iter().map(|r| r.size).collect();
            theirs.sort_unstable();
            theirs.dedup();
            return Err(Error::usage(format!(
                "--compare {}: the baseline has sizes {theirs:?}, none of {sizes:?}; use the same --size/--sizes",
                self.path
            )));
        }
        Ok(())
    }

    /// Each record with a baseline record of the same backend, variant and size.
    pub fn compare(&self, records: &[Record]) -> Vec<Comparison> {
        records
            .iter()
            .filter_map(|r| {
                let base = self.records.iter().find(|b| {
                    b.backend == r.backend.name() && b.variant == r.variant && b.size == r.size
                })?;
                let (compute_s, total_s) = (r.phases.compute.median_s, r.phases.total.median_s);
                let (this_min, this_max) = (r.phases.compute.min_s, r.phases.compute.max_s);
                let (base_min, base_max) = base.compute_range_s;
                Some(Comparison {
                    backend: r.backend.name().to_string(),
                    variant: r.variant.clone(),
                    size: r.size,
                    baseline_compute_s: base.compute_s,
                    compute_s,
                    compute_speedup: base.compute_s / compute_s,
                    compute_speedup_range: [base_min / this_max, base_max / this_min],
                    within_noise: base_min <= this_max && this_min <= base_max,
                    baseline_total_s: base.total_s,
                    total_s,
                    total_speedup: base.total_s / total_s,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(folder: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = folder.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn loads_a_document_and_refuses_mismatches() {
        let folder = tempfile::tempdir().unwrap();
        let good = write(
            folder.path(),
            "base.json",
            r#"{"kernel":"triad","command":"hpclab run triad","records":[{"backend":"simd","size":1000,
                "phases":{"compute":{"median_s":2.0},"total":{"median_s":2.0}}}]}"#,
        );
        let baseline = Baseline::load(&good).unwrap();
        assert!(baseline.check_matches("triad", &[1000]).is_ok());
        let refusal = |kernel, sizes: &[u64]| {
            let error = baseline.check_matches(kernel, sizes).unwrap_err();
            error.to_string()
        };
        assert!(refusal("dot", &[1000]).contains("not dot"));
        assert!(refusal("triad", &[2000]).contains("none of"));
        let not_json = write(folder.path(), "bad.json", "hello");
        assert_eq!(Baseline::load(&not_json).unwrap_err().exit_code(), 2);
        let wrong_shape = write(folder.path(), "shape.json", r#"{"cpu": {}}"#);
        assert!(
            Baseline::load(&wrong_shape)
                .unwrap_err()
                .to_string()
                .contains("not an hpclab")
        );
        assert!(Baseline::load(&folder.path().join("missing.json")).is_err());
    }

    #[test]
    fn a_baseline_without_positive_times_is_refused() {
        let folder = tempfile::tempdir().unwrap();
        let with = |compute: &str, total: &str| {
            let text = format!(
                r#"{{"kernel":"triad","records":[{{"backend":"simd","size":8,
                "phases":{{"compute":{{"median_s":{compute}}},"total":{{"median_s":{total}}}}}}}]}}"#
            );
            Baseline::load(&write(folder.path(), "b.json", &text))
        };
        assert!(with("1e-6", "2e-6").is_ok());
        for (compute, total) in [("0", "1"), ("-1", "1"), ("1", "0"), ("1", "null")] {
            let error = with(compute, total).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{compute} {total}");
        }
        let message = with("0", "1").unwrap_err().to_string();
        assert!(message.contains("not a positive number"), "{message}");
        let empty = write(
            folder.path(),
            "e.json",
            r#"{"kernel":"triad","records":[]}"#,
        );
        assert!(Baseline::load(&empty).is_err());
    }

    #[test]
    fn a_ratio_carries_its_range_and_says_when_it_is_noise() {
        use crate::backend::Backend;
        use crate::measure::record::test_cpu_record;
        let folder = tempfile::tempdir().unwrap();
        let path = write(
            folder.path(),
            "base.json",
            r#"{"kernel":"triad","records":[{"backend":"simd","size":8,
                "phases":{"compute":{"median_s":2.0,"min_s":1.8,"max_s":2.2},"total":{"median_s":2.0}}}]}"#,
        );
        let baseline = Baseline::load(&path).unwrap();
        // 1.9–2.1 s overlaps 1.8–2.2 s: a 1.0× ratio that is noise.
        let record = |seconds: &[f64]| test_cpu_record(Backend::Simd, 8, seconds);
        let same = &baseline.compare(&[record(&[1.9, 2.0, 2.1])])[0];
        assert!(same.within_noise);
        assert!((same.compute_speedup_range[0] - 1.8 / 2.1).abs() < 1e-12);
        assert!((same.compute_speedup_range[1] - 2.2 / 1.9).abs() < 1e-12);
        // 0.9–1.1 s does not reach 1.8 s: twice as fast, for real.
        let faster = &baseline.compare(&[record(&[0.9, 1.0, 1.1])])[0];
        assert!(!faster.within_noise);
        assert!((faster.compute_speedup - 2.0).abs() < 1e-12);
    }
}
