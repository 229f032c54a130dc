//! The summary at the top of `hpclab report`: the figures a student would quote, read from the
//! steps' JSON documents (so it says nothing the sections below do not).

use super::format::{rate, ratio};
use crate::size::format_count;
use serde_json::Value;

/// A record's row label: `rayon`, `gpu tree`.
fn label(record: &Value) -> String {
    match record["variant"].as_str() {
        Some(variant) => format!("{} {variant}", record["backend"].as_str().unwrap_or("?")),
        None => record["backend"].as_str().unwrap_or("?").to_string(),
    }
}

/// The summary lines for `steps` (step name, its document's JSON): the triad's bandwidth per
/// backend with the memory level its data lived in, each kernel's best speed-up over scalar, the
/// GPU break-even of each sweep, the GPU verdicts, and how many steps verified.
pub fn summary(steps: &[(&str, &Value)]) -> Vec<String> {
    let mut lines = Vec::new();
    let runs = || steps.iter().filter(|(name, _)| name.starts_with("run-"));
    if let Some((_, triad)) = steps.iter().find(|(name, _)| *name == "run-triad") {
        let figures: Vec<String> = records(triad)
            .filter_map(|r| {
                Some(format!(
                    "{} {} GB/s in {}",
                    label(r),
                    rate(r["bandwidth_gbs"].as_f64()?),
                    r["resides_in"].as_str().unwrap_or("?")
                ))
            })
            .collect();
        if !figures.is_empty() {
            lines.push(format!(
                "Bandwidth, STREAM triad at n = {}: {}",
                format_count(triad["size"].as_u64().unwrap_or(0)),
                figures.join(" · ")
            ));
        }
    }
    let best: Vec<String> = runs()
        .filter_map(|(_, document)| {
            let fastest = records(document)
                .filter(|r| r["speedup_vs_scalar"].as_f64().is_some())
                .max_by(|a, b| {
                    let speedup = |r: &Value| r["speedup_vs_scalar"].as_f64().unwrap_or(0.0);
                    speedup(a).total_cmp(&speedup(b))
                })?;
            Some(format!(
                "{} {} ({})",
                document["kernel"].as_str()?,
                ratio(fastest["speedup_vs_scalar"].as_f64()?),
                label(fastest)
            ))
        })
        .collect();
    if !best.is_empty() {
        lines.push(format!(
            "Best speed-up over scalar (host clock): {}",
            best.join(" · ")
        ));
    }
    for (_, sweep) in steps.iter().filter(|(name, _)| name.starts_with("sweep-")) {
        if let Some(summary) = sweep["break_even"]["summary"].as_str() {
            lines.push(format!(
                "GPU break-even ({}): {summary}",
                sweep["kernel"].as_str().unwrap_or("?")
            ));
        }
    }
    // Kernels grouped by what bounds them on the GPU, in the order the verdicts first appear.
    let mut verdicts: Vec<(String, Vec<String>)> = Vec::new();
    for (_, document) in runs() {
        for record in records(document) {
            let (Some(kernel), Some(bound)) = (
                document["kernel"].as_str(),
                record["verdict"]["bound"].as_str(),
            ) else {
                continue;
            };
            let row = match record["variant"].as_str() {
                Some(variant) => format!("{kernel} {variant}"),
                None => kernel.to_string(),
            };
            match verdicts.iter_mut().find(|(known, _)| known == bound) {
                Some((_, rows)) => rows.push(row),
                None => verdicts.push((bound.to_string(), vec![row])),
            }
        }
    }
    if !verdicts.is_empty() {
        let groups: Vec<String> = verdicts
            .iter()
            .map(|(bound, rows)| format!("{bound}: {}", rows.join(", ")))
            .collect();
        lines.push(format!("GPU verdicts: {}", groups.join("; ")));
    }
    lines
}

fn records(document: &Value) -> impl Iterator<Item = &Value> {
    document["records"].as_array().into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_summary_quotes_the_documents() {
        let triad = json!({"kernel": "triad", "size": 1048576, "records": [
            {"backend": "scalar", "bandwidth_gbs": 9.1, "resides_in": "L3", "speedup_vs_scalar": 1.0},
            {"backend": "rayon", "bandwidth_gbs": 38.0, "resides_in": "memory", "speedup_vs_scalar": 4.2},
            {"backend": "gpu", "bandwidth_gbs": 2.0, "resides_in": "device", "speedup_vs_scalar": 0.2,
             "verdict": {"bound": "transfer-bound"}},
        ]});
        let reduce = json!({"kernel": "reduce", "records": [
            {"backend": "scalar", "variant": "sequential", "speedup_vs_scalar": 1.0},
            {"backend": "simd", "variant": "accumulators", "speedup_vs_scalar": 7.5},
        ]});
        let sweep = json!({"kernel": "triad", "break_even": {"summary": "never overtakes"}});
        let lines = summary(&[
            ("run-triad", &triad),
            ("run-reduce", &reduce),
            ("sweep-triad", &sweep),
        ]);
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(lines[0].contains("n = 2^20") && lines[0].contains("rayon 38.0 GB/s in memory"));
        assert!(lines[1].contains("triad 4.20× (rayon)"), "{}", lines[1]);
        assert!(
            lines[1].contains("reduce 7.50× (simd accumulators)"),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2], "GPU break-even (triad): never overtakes");
        assert_eq!(lines[3], "GPU verdicts: transfer-bound: triad");
        assert!(summary(&[]).is_empty());
    }
}
