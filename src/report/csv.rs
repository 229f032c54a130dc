//! The CSV exporter: one row per record, medians and spreads in seconds, for spreadsheets.

use super::{Exporter, RunDocument};
use crate::error::{Error, Result};

/// Writes one CSV row per record.
pub struct CsvExporter;

const HEADER: [&str; 26] = [
    "kernel",
    "variant",
    "backend",
    "size",
    "verified",
    "compute_timer",
    "upload_median_s",
    "compute_median_s",
    "download_median_s",
    "total_median_s",
    "compute_min_s",
    "compute_max_s",
    "compute_stddev_s",
    "total_min_s",
    "total_max_s",
    "bandwidth_gbs",
    "gflops",
    "speedup_vs_scalar",
    "speedup_total_vs_scalar",
    "transfer_share",
    "upload_gbs",
    "download_gbs",
    "threads",
    "items_per_second",
    "relative_error",
    "error_bound_ratio",
];

impl Exporter for CsvExporter {
    fn render(&self, document: &RunDocument) -> Result<String> {
        let encode = |e: csv::Error| Error::io("encoding CSV", std::io::Error::other(e));
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(HEADER).map_err(encode)?;
        let number = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        for r in &document.records {
            let p = &r.phases;
            writer
                .write_record([
                    r.kernel.clone(),
                    r.variant.clone().unwrap_or_default(),
                    r.backend.to_string(),
                    r.size.to_string(),
                    r.verified.to_string(),
                    format!("{:?}", r.compute_timer).to_lowercase(),
                    number(p.upload.as_ref().map(|s| s.median_s)),
                    p.compute.median_s.to_string(),
                    number(p.download.as_ref().map(|s| s.median_s)),
                    p.total.median_s.to_string(),
                    p.compute.min_s.to_string(),
                    p.compute.max_s.to_string(),
                    p.compute.stddev_s.to_string(),
                    p.total.min_s.to_string(),
                    p.total.max_s.to_string(),
                    r.bandwidth_gbs.to_string(),
                    number(r.gflops),
                    number(r.speedup_vs_scalar),
                    number(r.speedup_total_vs_scalar),
                    number(r.transfer_share),
                    number(r.upload_gbs),
                    number(r.download_gbs),
                    r.threads.map_or(String::new(), |t| t.to_string()),
                    number(r.items_per_second),
                    number(r.verification.relative_error),
                    r.verification.worst_error_ratio.to_string(),
                ])
                .map_err(encode)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| Error::io("encoding CSV", std::io::Error::other(e.to_string())))?;
        String::from_utf8(bytes).map_err(|e| Error::io("encoding CSV", std::io::Error::other(e)))
    }
}
