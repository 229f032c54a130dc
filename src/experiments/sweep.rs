//! A kernel on every backend over a range of sizes: where each backend is fastest, how the
//! caches show, and the break-even size from which the GPU wins — end to end (transfers
//! included) and on compute alone.

use crate::backend::Backend;
use crate::cpu::info::{CacheLevel, cache_levels};
use crate::environment::{Environment, Provenance};
use crate::error::Result;
use crate::kernels::Kernel;
use crate::measure::Record;
use crate::measure::noise::record_warnings;
use crate::report::csv::{self, Number};
use crate::report::format::{NONE, check, seconds};
use crate::report::heading::{Machine, machine_lines};
use crate::report::plot::{
    Axis, Band, Chart, Marker, Series, Shape, Unit, bytes_label, rate_bar, time_bar,
};
use crate::report::table::Rows;
use crate::report::{Document, to_json};
use crate::size::{format_bytes, format_count};
use serde::Serialize;

/// Where the GPU starts to win, if it does within the sizes measured.
#[derive(Debug, Clone, Serialize)]
pub struct BreakEven {
    /// Smallest size from which the GPU's total (upload + compute + download) beats the best
    /// CPU backend at every larger size measured; `null` when it never does.
    pub end_to_end: Option<u64>,
    /// The same with the GPU's compute phase alone (as if the data already lived there).
    pub compute_only: Option<u64>,
    /// The sentence the summary prints.
    pub summary: String,
}

/// The output of `hpclab sweep`.
#[derive(Debug, Clone, Serialize)]
pub struct SweepDocument {
    /// Version, command line and machine.
    #[serde(flatten)]
    pub provenance: Provenance,
    pub kernel: String,
    pub sizes: Vec<u64>,
    /// Every record at every size (the same records as `hpclab run`).
    pub records: Vec<Record>,
    /// Caches of this CPU and the size at which the kernel's arrays fill each.
    pub caches: Vec<CacheMark>,
    pub break_even: BreakEven,
    /// Why the GPU was left out, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_unavailable: Option<String>,
    /// With `--compare`: each record's medians as ratios to the baseline's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Vec<crate::measure::compare::Comparison>>,
    /// With `--compare`: the command that measured the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_command: Option<String>,
}

/// The CSV row of one record.
#[derive(Serialize, Default)]
struct SweepRow<'a> {
    size: u64,
    backend: &'a str,
    variant: Option<&'a str>,
    compute_median_s: Number,
    total_median_s: Number,
    bandwidth_gbs: Number,
    verified: bool,
    working_set_bytes: u64,
    resides_in: &'a str,
}

/// A cache level placed on the size axis.
#[derive(Debug, Clone, Serialize)]
pub struct CacheMark {
    #[serde(flatten)]
    pub cache: CacheLevel,
    /// The n at which the kernel's host arrays take this many bytes.
    pub size: u64,
}

/// A label for a record: backend, variant.
fn label(record: &Record) -> String {
    match &record.variant {
        Some(variant) => format!("{} {variant}", record.backend),
        None => record.backend.to_string(),
    }
}

/// Finds the break-even sizes from the records.
pub fn break_even(sizes: &[u64], records: &[Record]) -> BreakEven {
    let at = |size: u64| records.iter().filter(move |r| r.size == size);
    let gpu_wins = |size: u64, compute_only: bool| -> Option<bool> {
        let best_cpu = at(size)
            .filter(|r| r.backend.is_cpu())
            .map(|r| r.phases.total.median_s)
            .reduce(f64::min)?;
        let gpu = at(size)
            .filter(|r| r.backend == Backend::Gpu)
            .map(|r| {
                if compute_only {
                    r.compute_host_clock().median_s
                } else {
                    r.phases.total.median_s
                }
            })
            .reduce(f64::min)?;
        Some(gpu < best_cpu)
    };
    let first_winning_run = |compute_only: bool| -> Option<u64> {
        let wins: Vec<(u64, bool)> = sizes
            .iter()
            .filter_map(|&s| gpu_wins(s, compute_only).map(|w| (s, w)))
            .collect();
        let last_loss = wins.iter().rposition(|(_, w)| !w);
        match last_loss {
            None => wins.first().map(|(s, _)| *s),
            Some(index) => wins.get(index + 1).map(|(s, _)| *s),
        }
    };
    let has_gpu = records.iter().any(|r| r.backend == Backend::Gpu);
    let (end_to_end, compute_only) = (first_winning_run(false), first_winning_run(true));
    let describe = |size: Option<u64>, what: &str| match size {
        Some(size) if Some(&size) == sizes.first() => format!("{what} wins at every size measured"),
        Some(size) => format!(
            "{what} overtakes the best CPU backend from n = {}",
            format_count(size)
        ),
        None => format!(
            "{what} never overtakes the best CPU backend between n = {} and {}",
            format_count(sizes[0]),
            format_count(*sizes.last().unwrap_or(&0))
        ),
    };
    BreakEven {
        end_to_end,
        compute_only,
        summary: if has_gpu {
            format!(
                "{}; {}",
                describe(end_to_end, "the GPU end to end (with transfers)"),
                describe(
                    compute_only,
                    "GPU compute alone (host clock: launch and wait included)"
                )
            )
        } else {
            "no GPU records: no break-even".to_string()
        },
    }
}

/// Places the cache levels on the size axis of `kernel`.
pub fn cache_marks(kernel: &dyn Kernel) -> Vec<CacheMark> {
    // The largest n whose host arrays fit the cache, by bisection: n may be a length, a
    // matrix side or a body count, so the footprint is not linear in n.
    let fill = |bytes: u64| {
        let (mut low, mut high) = (1u64, 1u64 << 40);
        while low < high {
            let middle = low + (high - low).div_ceil(2);
            if kernel.footprint(middle).host_bytes <= bytes {
                low = middle
            } else {
                high = middle - 1
            }
        }
        low
    };
    cache_levels()
        .into_iter()
        .map(|cache| CacheMark {
            size: fill(cache.bytes),
            cache,
        })
        .collect()
}

impl SweepDocument {
    /// Builds the document from the records of every size.
    pub fn new(
        kernel: &dyn Kernel,
        sizes: Vec<u64>,
        records: Vec<Record>,
        environment: Environment,
        command: String,
        gpu_unavailable: Option<String>,
    ) -> Self {
        let mut provenance = Provenance::new(command, environment);
        provenance.warnings.extend(record_warnings(&records));
        SweepDocument {
            provenance,
            kernel: kernel.info().name.to_string(),
            break_even: break_even(&sizes, &records),
            caches: cache_marks(kernel),
            sizes,
            records,
            gpu_unavailable,
            comparison: None,
            baseline_command: None,
        }
    }

    fn labels(&self) -> Vec<String> {
        let mut labels: Vec<String> = Vec::new();
        for record in &self.records {
            let name = label(record);
            if !labels.contains(&name) {
                labels.push(name);
            }
        }
        labels
    }
}

impl Document for SweepDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

    fn verified(&self) -> bool {
        self.records.iter().all(|r| r.verified)
    }

    fn heading(&self) -> Vec<String> {
        let environment = &self.provenance.environment;
        let mut lines = vec![match self.sizes.as_slice() {
            [one] => format!(
                "sweep {} · one size, n = {}",
                self.kernel,
                format_count(*one)
            ),
            sizes => format!(
                "sweep {} · {} sizes from n = {} to {}",
                self.kernel,
                sizes.len(),
                format_count(sizes[0]),
                format_count(*sizes.last().unwrap_or(&0))
            ),
        }];
        lines.extend(machine_lines(environment, Machine::threads(environment)));
        lines
    }

    fn tables(&self) -> Vec<Rows> {
        let labels = self.labels();
        let mut header = vec!["n".to_string(), "data in".to_string()];
        for name in &labels {
            if self
                .records
                .iter()
                .any(|r| label(r) == *name && r.backend == Backend::Gpu)
            {
                header.push(format!("{name} compute"));
                header.push(format!("{name} total"));
            } else {
                header.push(name.clone());
            }
        }
        header.push("fastest (total)".into());
        let any_verdict = self.records.iter().any(|r| r.verdict.is_some());
        if any_verdict {
            header.push("GPU verdict".into());
        }
        header.push("check".into());
        let rows = self
            .sizes
            .iter()
            .map(|&size| {
                let here: Vec<&Record> = self.records.iter().filter(|r| r.size == size).collect();
                // Where one core's working set lives (the single-thread backends'), or the GPU's.
                let data_in = here
                    .iter()
                    .min_by_key(|r| (r.backend == Backend::Gpu, r.threads != Some(1)))
                    .map_or(NONE.into(), |r| {
                        format!("{} {}", format_bytes(r.working_set_bytes), r.resides_in)
                    });
                let mut row = vec![format_count(size), data_in];
                for name in &labels {
                    let record = here.iter().find(|r| label(r) == *name);
                    match record {
                        Some(r) if r.backend == Backend::Gpu => {
                            row.push(seconds(r.phases.compute.median_s));
                            row.push(seconds(r.phases.total.median_s));
                        }
                        Some(r) => row.push(seconds(r.phases.total.median_s)),
                        None => row.push(NONE.into()),
                    }
                    if record.is_none() && header.contains(&format!("{name} total")) {
                        row.push(NONE.into());
                    }
                }
                let fastest = here
                    .iter()
                    .min_by(|a, b| a.phases.total.median_s.total_cmp(&b.phases.total.median_s));
                row.push(fastest.map_or(NONE.into(), |r| label(r)));
                if any_verdict {
                    let verdicts: Vec<&str> = here
                        .iter()
                        .filter_map(|r| r.verdict.as_ref())
                        .map(|v| v.bound.name())
                        .collect();
                    row.push(if verdicts.is_empty() {
                        NONE.into()
                    } else {
                        verdicts.join(", ")
                    });
                }
                row.push(check(here.iter().all(|r| r.verified)));
                row
            })
            .collect();
        let numeric = (2..header.len() - if any_verdict { 3 } else { 2 }).collect();
        // A narrow terminal keeps the totals (what the break-even compares) and drops the
        // verdicts (said under the table too), then the GPU's compute-only columns.
        let mut droppable = vec!["GPU verdict".to_string()];
        droppable.extend(header.iter().filter(|h| h.ends_with(" compute")).cloned());
        vec![Rows {
            header,
            rows,
            numeric,
            droppable,
        }]
    }

    fn footer(&self) -> Vec<String> {
        let mut lines = vec![format!("break-even: {}", self.break_even.summary)];
        if !self.caches.is_empty() {
            let caches: Vec<String> = self
                .caches
                .iter()
                .map(|c| {
                    format!(
                        "{} {} ≈ n {}",
                        c.cache.name,
                        format_bytes(c.cache.bytes),
                        format_count(c.size)
                    )
                })
                .collect();
            lines.push(format!(
                "the kernel's arrays fill the caches at: {}",
                caches.join(", ")
            ));
        }
        if let Some(reason) = &self.gpu_unavailable {
            lines.push(format!("GPU not run: {reason}"));
        }
        if let (Some(comparison), Some(command)) = (&self.comparison, &self.baseline_command) {
            let ratios: Vec<f64> = comparison
                .iter()
                .map(|c| c.total_speedup)
                .filter(|r| r.is_finite() && *r > 0.0)
                .collect();
            if !ratios.is_empty() {
                let geometric_mean =
                    (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
                let noise = comparison.iter().filter(|c| c.within_noise).count();
                lines.push(format!(
                    "vs baseline ({} matching records): total time {:.2}× faster on geometric mean; {noise} of them within noise (compute ranges overlap) (baseline: {command})",
                    ratios.len(),
                    geometric_mean
                ));
            }
        }
        lines.push(
            "medians of the total time per run (CPU: compute; GPU: upload + compute + download)"
                .into(),
        );
        lines
    }

    fn csv(&self) -> Result<String> {
        csv::write(self.records.iter().map(|r| SweepRow {
            size: r.size,
            backend: r.backend.name(),
            variant: r.variant.as_deref(),
            compute_median_s: Number(r.phases.compute.median_s),
            total_median_s: Number(r.phases.total.median_s),
            bandwidth_gbs: Number(r.bandwidth_gbs),
            verified: r.verified,
            working_set_bytes: r.working_set_bytes,
            resides_in: &r.resides_in,
        }))
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }

    /// Time against size, log–log: one line per backend (its total, min–max bars), the GPU
    /// drawn with and without transfers; cache sizes and the break-even size marked.
    fn chart(&self) -> Option<Chart> {
        let mut series = Vec::new();
        for (index, (name, shape, gpu)) in self.styles().into_iter().enumerate() {
            let of = || self.records.iter().filter(|r| label(r) == name);
            let total = of().map(|r| (r.size as f64, r.phases.total.median_s));
            let bars = of().map(|r| time_bar(r.size as f64, &r.phases.total, 1.0));
            let name = if gpu {
                format!("{name} (with transfers)")
            } else {
                name.clone()
            };
            series.push(
                Series::measured(name.clone(), total.collect())
                    .bars(bars.collect())
                    .color(index)
                    .shape(shape),
            );
            if gpu {
                let compute = of().map(|r| (r.size as f64, r.compute_host_clock().median_s));
                let name = name.replace("(with transfers)", "(compute only)");
                series.push(Series::model(name, compute.collect()).color(index));
            }
        }
        let mut markers: Vec<Marker> = self
            .caches
            .iter()
            .map(|c| Marker {
                x: c.size as f64,
                label: format!("{} {}", c.cache.name, bytes_label(c.cache.bytes as f64)),
            })
            .collect();
        if let Some(size) = self.break_even.end_to_end {
            markers.push(Marker {
                x: size as f64,
                label: "GPU break-even".into(),
            });
        }
        let chart = self.figure(
            "median time per run against size",
            Axis::log("problem size n (elements)", Unit::Count),
            Axis::log("median time per run", Unit::Seconds),
        );
        Some(chart.with_series(series).with_markers(markers))
    }

    /// The time figure, then GB/s against working-set bytes with the cache levels as bands
    /// (`FILE-bandwidth.svg`).
    fn charts(&self) -> Vec<(&'static str, Chart)> {
        let mut series = Vec::new();
        for (index, (name, shape, gpu)) in self.styles().into_iter().enumerate() {
            let of = || self.records.iter().filter(|r| label(r) == name);
            let at = |r: &Record| r.working_set_bytes as f64;
            let gbs = of().map(|r| (at(r), r.bandwidth_gbs));
            let bars = of().map(|r| rate_bar(at(r), r.bandwidth_gbs, &r.phases.compute));
            let name = if gpu {
                format!("{name} (compute only, device memory)")
            } else {
                name.clone()
            };
            series.push(
                Series::measured(name, gbs.collect())
                    .bars(bars.collect())
                    .color(index)
                    .shape(shape),
            );
        }
        let mut caches: Vec<&CacheLevel> = self.caches.iter().map(|c| &c.cache).collect();
        caches.sort_by_key(|c| c.bytes);
        let mut bands = Vec::new();
        let mut from = 0.0;
        for cache in caches {
            bands.push(Band {
                from,
                to: cache.bytes as f64,
                label: format!("{} ≤ {}", cache.name, bytes_label(cache.bytes as f64)),
            });
            from = cache.bytes as f64;
        }
        if from > 0.0 {
            bands.push(Band {
                from,
                to: f64::INFINITY,
                label: "memory".into(),
            });
        }
        let bandwidth = self
            .figure(
                "bandwidth against working set",
                Axis::log("working set (bytes the compute phase touches)", Unit::Bytes),
                Axis::log(
                    "bandwidth, cost-model bytes / compute median (GB/s, 10^9 B/s)",
                    Unit::Number,
                ),
            )
            .with_series(series)
            .with_bands(bands);
        self.chart()
            .map(|time| ("", time))
            .into_iter()
            .chain([(BANDWIDTH_FIGURE, bandwidth)])
            .collect()
    }
}

/// The suffix of the sweep's second figure: `--plot s.svg` also writes `s-bandwidth.svg`.
pub const BANDWIDTH_FIGURE: &str = "-bandwidth";

impl SweepDocument {
    /// A figure of this sweep, titled `KERNEL: WHAT (bars: min–max)`.
    fn figure(&self, what: &str, x: Axis, y: Axis) -> Chart {
        let title = format!("{}: {what} (bars: min–max)", self.kernel);
        Chart::new(title, x, y)
    }

    /// Each backend's label with its marker shape (triangles for the GPU) and whether it is
    /// the GPU, in the order of [`SweepDocument::labels`]: the same in both figures.
    fn styles(&self) -> Vec<(String, Shape, bool)> {
        let cpu = [Shape::Circle, Shape::Square, Shape::Diamond];
        self.labels()
            .into_iter()
            .enumerate()
            .map(|(index, name)| {
                let gpu = self
                    .records
                    .iter()
                    .any(|r| label(r) == name && r.backend == Backend::Gpu);
                let shape = if gpu {
                    Shape::Triangle
                } else {
                    cpu[index % cpu.len()]
                };
                (name, shape, gpu)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Cost;
    use crate::measure::PhaseSample;
    use crate::measure::record::test_record;

    fn record(backend: Backend, size: u64, compute_s: f64, transfer_s: f64) -> Record {
        let gpu = backend == Backend::Gpu;
        let sample = PhaseSample {
            upload_s: gpu.then_some(transfer_s / 2.0),
            compute_wall_s: compute_s,
            compute_timestamp_s: None,
            download_s: gpu.then_some(transfer_s / 2.0),
        };
        let cost = Cost {
            device_bytes: size,
            flops: size,
            upload_bytes: size,
            download_bytes: size,
            items: None,
        };
        test_record(backend, size, cost, &[sample])
    }

    #[test]
    fn break_even_is_the_first_size_from_which_the_gpu_keeps_winning() {
        let sizes = [1, 2, 4, 8];
        // CPU time n; GPU compute 0.5 n + 1 (ties at n = 2, wins from 4); transfers add 2, so end
        // to end the GPU wins only from n = 8.
        let mut records = Vec::new();
        for &n in &sizes {
            records.push(record(Backend::Rayon, n, n as f64, 0.0));
            records.push(record(Backend::Gpu, n, 0.5 * n as f64 + 1.0, 2.0));
        }
        let found = break_even(&sizes, &records);
        assert_eq!(found.compute_only, Some(4));
        assert_eq!(found.end_to_end, Some(8));
        // A GPU that never wins.
        let never: Vec<Record> = sizes
            .iter()
            .flat_map(|&n| {
                [
                    record(Backend::Simd, n, 1.0, 0.0),
                    record(Backend::Gpu, n, 2.0, 1.0),
                ]
            })
            .collect();
        let found = break_even(&sizes, &never);
        assert_eq!((found.end_to_end, found.compute_only), (None, None));
        assert!(found.summary.contains("never"));
    }
}
