//! How a distributed stencil run is presented: the scaling table, each rank's phases, where
//! the time went, the start-up costs, and the speed-up (or weak-scaling efficiency) figure.

use super::{RankStartup, StencilDocument, StencilPoint, level_distance};
use crate::distributed::decomposition::Scaling;
use crate::distributed::slab::MpiBackend;
use crate::distributed::timeloop::RankPhases;
use crate::error::Result;
use crate::experiments::mpi::{header, mpi_heading, verdict};
use crate::report::csv::{self, Number};
use crate::report::format::{percent, rate, ratio, seconds, share};
use crate::report::plot::{Axis, Chart, Series, Unit, rate_bar};
use crate::report::table::Rows;
use crate::report::{Document, to_json};
use crate::size::format_bytes;
use serde::Serialize;

/// A phase column of the tables: its header, the phase, and whether it is a halo phase (which
/// one rank, having no neighbours, does not have).
type PhaseColumn = (&'static str, fn(&RankPhases) -> f64, bool);

/// True when a point's speed-up over 1 rank exceeds its rank count.
fn superlinear(point: &StencilPoint) -> bool {
    point.ranks > 1 && point.speedup.is_some_and(|s| s > point.ranks as f64)
}

/// A level of `resides_in` in words: the GPU's L2 is assumed, not reported.
fn level_words(level: &str) -> String {
    match level {
        "device (may fit L2)" => "GPU's L2 (if it is as large as hpclab assumes)".into(),
        "device" => "GPU's memory".into(),
        other => other.into(),
    }
}

/// What the speed-up of `point` owes to more than its compute getting shorter: normally
/// communication and waiting, the gap to the ideal. A superlinear speed-up has no such gap;
/// when each rank's slab resides nearer the core than the 1-rank grid did, the cache explains
/// it, otherwise it is said not to.
fn beyond_compute(one: &StencilPoint, point: &StencilPoint) -> String {
    if !superlinear(point) {
        return "the rest of the gap is communication and waiting".into();
    }
    let speedup = point.speedup.map_or("–".into(), ratio);
    let nearer = match (
        level_distance(&point.resides_in),
        level_distance(&one.resides_in),
    ) {
        (Some(rank), Some(whole)) => rank < whole,
        _ => false,
    };
    if nearer {
        format!(
            "superlinear ({speedup} on {} ranks): each rank's slab fits the {} while the whole grid \
             did not: the speed-up includes the cache's bandwidth (each rank's slab {} in {}, the \
             whole grid {} in {})",
            point.ranks,
            level_words(&point.resides_in),
            format_bytes(point.working_set_bytes),
            point.resides_in,
            format_bytes(one.working_set_bytes),
            one.resides_in,
        )
    } else {
        format!(
            "superlinear ({speedup} on {} ranks) though each rank's slab ({} in {}) resides no \
             nearer the core than the whole grid ({} in {}): no change of cache level explains it; \
             compare the samples' spread",
            point.ranks,
            format_bytes(point.working_set_bytes),
            point.resides_in,
            format_bytes(one.working_set_bytes),
            one.resides_in,
        )
    }
}

/// The mean over ranks of one phase's median.
fn mean_phase(point: &StencilPoint, phase: fn(&RankPhases) -> f64) -> f64 {
    point.per_rank.iter().map(|r| phase(&r.median)).sum::<f64>()
        / point.per_rank.len().max(1) as f64
}

impl StencilDocument {
    fn gpu(&self) -> bool {
        self.backend == MpiBackend::Gpu
    }

    /// The phases both tables show, in column order; the edge rows' trips between device and
    /// host, the initial upload and the launch-and-wait only on the GPU (on the CPU they are
    /// zero or nearly), so that the columns add up to the time there too.
    fn phase_columns(&self) -> Vec<PhaseColumn> {
        let mut columns: Vec<PhaseColumn> = vec![
            ("compute", |p| p.compute_s, false),
            ("halo exchange", |p| p.halo_exchange_s, true),
            ("allreduce", |p| p.allreduce_s, false),
        ];
        if self.gpu() {
            columns.push(("halo ↓", |p| p.halo_download_s, true));
            columns.push(("halo ↑", |p| p.halo_upload_s, true));
            columns.push(("upload", |p| p.load_s, false));
            columns.push(("submit + wait", |p| p.submit_wait_s, false));
        }
        columns
    }

    /// The smallest and largest share of a sample's time its phases add up to, over every
    /// sample of every rank and rank count; `None` without samples.
    fn phases_cover(&self) -> Option<(f64, f64)> {
        self.points
            .iter()
            .flat_map(|p| &p.per_rank)
            .flat_map(|r| &r.samples)
            .filter(|s| s.total_s > 0.0)
            .map(|s| s.sum_of_phases() / s.total_s)
            .fold(None, |range, share| {
                let (lo, hi) = range.unwrap_or((share, share));
                Some((lo.min(share), hi.max(share)))
            })
    }

    /// Where the time of the largest rank count went, in words.
    fn where_the_time_went(&self) -> Vec<String> {
        let Some(last) = self.points.last() else {
            return Vec::new();
        };
        let total = mean_phase(last, |p| p.total_s);
        let share = |phase: fn(&RankPhases) -> f64| share(mean_phase(last, phase) / total);
        let mut parts = vec![
            format!("compute {}", share(|p| p.compute_s)),
            format!("halo exchange {}", share(|p| p.halo_exchange_s)),
            format!("allreduce {}", share(|p| p.allreduce_s)),
        ];
        if self.gpu() {
            parts.push(format!("halo download {}", share(|p| p.halo_download_s)));
            parts.push(format!("halo upload {}", share(|p| p.halo_upload_s)));
            parts.push(format!("initial upload {}", share(|p| p.load_s)));
            parts.push(format!("submit and wait {}", share(|p| p.submit_wait_s)));
        }
        let mut lines = vec![format!(
            "where the time went on {} rank{} (mean over ranks of each phase's median): {}",
            last.ranks,
            if last.ranks == 1 { "" } else { "s" },
            parts.join(", ")
        )];
        if let (Some(one), true) = (self.points.iter().find(|p| p.ranks == 1), last.ranks > 1) {
            let compute_one = mean_phase(one, |p| p.compute_s);
            let compute_last = mean_phase(last, |p| p.compute_s);
            let max_compute = last
                .per_rank
                .iter()
                .map(|r| r.median.compute_s)
                .fold(0.0, f64::max);
            let (speed, ideal) = match self.scaling {
                Some(Scaling::Weak) => (
                    format!("{} the 1-rank time", ratio(compute_last / compute_one)),
                    "the same".to_string(),
                ),
                _ => (
                    format!("{} faster", ratio(compute_one / compute_last)),
                    ratio(last.ranks as f64),
                ),
            };
            lines.push(format!(
                "compute per rank: {} on 1 rank, {} on {} (slowest rank {}): {speed} (ideal {ideal}); {}",
                seconds(compute_one),
                seconds(compute_last),
                last.ranks,
                seconds(max_compute),
                beyond_compute(one, last),
            ));
            // A superlinear count before the last one gets its reason too.
            for point in &self.points {
                if point.ranks > 1 && point.ranks != last.ranks && superlinear(point) {
                    lines.push(format!(
                        "on {} ranks: {}",
                        point.ranks,
                        beyond_compute(one, point)
                    ));
                }
            }
        }
        lines
    }

    fn figure(&self) -> Option<Chart> {
        self.scaling?;
        let weak = self.scaling == Some(Scaling::Weak);
        let with_value = || {
            self.points
                .iter()
                .filter_map(move |p| Some((p, if weak { p.efficiency? } else { p.speedup? })))
        };
        let measured = with_value().map(|(p, value)| (p.ranks as f64, value));
        let bars = with_value().map(|(p, value)| rate_bar(p.ranks as f64, value, &p.time));
        let ideal = self
            .points
            .iter()
            .map(|p| (p.ranks as f64, if weak { 1.0 } else { p.ranks as f64 }))
            .collect();
        let title = format!(
            "{} scaling of the distributed stencil ({}, {} steps)",
            if weak { "Weak" } else { "Strong" },
            self.backend_text(),
            self.steps
        );
        let y = if weak {
            Axis::linear("efficiency (1-rank time / time)", Unit::Number)
        } else {
            Axis::log("speed-up over 1 rank", Unit::Number)
        };
        Some(
            Chart::new(title, Axis::log("MPI ranks", Unit::Integer), y).with_series(vec![
                Series::measured("measured (median; bars: min–max)", measured.collect())
                    .bars(bars.collect())
                    .color(0),
                Series::bound(
                    if weak {
                        "ideal: efficiency 1"
                    } else {
                        "ideal: speed-up = ranks"
                    },
                    ideal,
                )
                .color(2),
            ]),
        )
    }

    fn backend_text(&self) -> String {
        match self.backend {
            MpiBackend::Rayon => format!(
                "rayon, {} thread{} per rank",
                self.threads_per_rank,
                if self.threads_per_rank == 1 { "" } else { "s" }
            ),
            MpiBackend::Gpu => "gpu".into(),
        }
    }
}

/// The CSV row of one rank at one rank count.
#[derive(Serialize, Default)]
struct RankRow<'a> {
    ranks: usize,
    rank: usize,
    host: &'a str,
    rows: usize,
    time_median_s: Number,
    rank_total_s: Number,
    compute_s: Number,
    halo_exchange_s: Number,
    halo_download_s: Number,
    halo_upload_s: Number,
    allreduce_s: Number,
    load_s: Number,
    submit_wait_s: Number,
    working_set_bytes: u64,
    resides_in: &'a str,
}

impl Document for StencilDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

    fn verified(&self) -> bool {
        self.verified
    }

    fn heading(&self) -> Vec<String> {
        let grid = match self.scaling {
            Some(Scaling::Weak) => format!("{0} × {0} points per rank", self.size),
            _ => format!("{0} × {0} grid", self.size),
        };
        let mut lines = vec![
            format!(
                "mpi stencil · {grid} · {} steps · residual every {} · {} · {} samples after {} warm-up",
                self.steps,
                self.residual_every,
                self.backend_text(),
                self.runs,
                self.warmup
            ),
            mpi_heading(&self.mpi),
        ];
        if self.backend == MpiBackend::Rayon && self.threads_per_rank > self.mpi.cores_per_rank {
            lines.push(format!(
                "WARNING: {} threads per rank, but a rank may run on only {} core{}: the launcher bound it \
                 (Open MPI binds each rank to a core when there are at most 2); give each rank its cores with \
                 `mpirun --map-by slot:PE={} …` or `--bind-to none`",
                self.threads_per_rank,
                self.mpi.cores_per_rank,
                if self.mpi.cores_per_rank == 1 { "" } else { "s" },
                self.threads_per_rank
            ));
        }
        if let Some(adapter) = &self.provenance.environment.adapter {
            lines.push(format!(
                "GPU of rank 0: {} ({}, {})",
                adapter.name, adapter.device_type, adapter.api
            ));
        }
        lines
    }

    fn tables(&self) -> Vec<Rows> {
        let phases = self.phase_columns();
        let mut header = header(&["ranks", "grid", "time", "speed-up", "efficiency"]);
        header.extend(phases.iter().map(|(name, ..)| name.to_string()));
        header.extend(["M updates/s", "slab per rank", "check"].map(String::from));
        let rows = self
            .points
            .iter()
            .map(|p| {
                let mut row = vec![
                    p.ranks.to_string(),
                    format!("{} × {}", p.grid_rows, p.columns),
                    seconds(p.time.median_s),
                    p.speedup.map_or("–".into(), ratio),
                    p.efficiency.map_or("–".into(), percent),
                ];
                row.extend(phases.iter().map(|&(_, phase, halo)| {
                    if halo && p.ranks == 1 {
                        "–".into()
                    } else {
                        seconds(mean_phase(p, phase))
                    }
                }));
                row.push(rate(p.updates_per_s / 1e6));
                row.push(format!(
                    "{} in {}",
                    format_bytes(p.working_set_bytes),
                    p.resides_in
                ));
                row.push(match &p.check {
                    None => "skipped".into(),
                    Some(check) if p.passed => match check.differing_points {
                        Some(0) => "ok, bit-exact".into(),
                        _ => "ok".into(),
                    },
                    Some(check) => format!(
                        "FAILED ({})",
                        check
                            .differing_points
                            .map_or(check.reference.summary(), |d| format!("{d} points differ"))
                    ),
                });
                row
            })
            .collect();
        let numeric = (2..header.len() - 2).collect();
        let mut tables = vec![Rows {
            header,
            rows,
            numeric,
            ..Default::default()
        }];
        if let Some(last) = self.points.last().filter(|p| p.ranks > 1) {
            tables.push(self.per_rank_table(last));
        }
        tables
    }

    fn footer(&self) -> Vec<String> {
        let mut lines = vec![
            "time: the slowest rank's whole sample (median); phases: mean over ranks of each rank's median; \
             halo exchange includes waiting for the neighbours"
                .to_string(),
        ];
        if self.scaling == Some(Scaling::Weak) {
            lines.push(
                "weak scaling: speed-up = ranks × 1-rank time / time (scaled speed-up)".into(),
            );
        }
        if let Some((lo, hi)) = self.phases_cover() {
            lines.push(format!(
                "the phases add up to {:.1}–{:.1}% of each sample's time (every rank and sample){}",
                100.0 * lo,
                100.0 * hi,
                if self.gpu() {
                    "; compute is the device's own time where it has timestamps, and submit + wait \
                     the launch and synchronisation around it"
                } else {
                    ""
                }
            ));
        }
        lines.extend(self.where_the_time_went());
        let slowest = |f: fn(&RankStartup) -> Option<f64>| {
            self.startup
                .iter()
                .filter_map(f)
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
        };
        let mut startup = vec![format!(
            "MPI init {}",
            seconds(slowest(|r| Some(r.mpi_init_s)).unwrap_or(0.0))
        )];
        if let Some(device) = slowest(|r| r.gpu_device_s) {
            startup.push(format!(
                "GPU adapter {} + device {}",
                seconds(slowest(|r| r.gpu_adapter_s).unwrap_or(0.0)),
                seconds(device)
            ));
        }
        if let Some(last) = self.points.last() {
            let set_up = last
                .per_rank
                .iter()
                .map(|r| r.setup.shader_compile_s + r.setup.buffers_s)
                .fold(0.0, f64::max);
            startup.push(format!("slab set-up {}", seconds(set_up)));
            let first: Vec<f64> = last
                .per_rank
                .iter()
                .filter_map(|r| r.first_sample.map(|s| s.halo_exchange_s))
                .collect();
            if last.ranks > 1 && !first.is_empty() {
                let first = first.iter().copied().fold(0.0, f64::max);
                let steady = last
                    .per_rank
                    .iter()
                    .map(|r| r.median.halo_exchange_s)
                    .fold(0.0, f64::max);
                startup.push(format!(
                    "halo exchange of the first sample {} against {} once warm",
                    seconds(first),
                    seconds(steady)
                ));
            }
        }
        lines.push(format!("startup (slowest rank): {}", startup.join(", ")));
        lines.push(verdict(
            self.verified,
            "every result matches one process doing the same steps, and the f64 reference within the stencil's bound",
            "see the check column",
        ));
        lines
    }

    fn csv(&self) -> Result<String> {
        let rows = self.points.iter().flat_map(|p| {
            p.per_rank.iter().map(move |r| {
                let m = &r.median;
                RankRow {
                    ranks: p.ranks,
                    rank: r.rank,
                    host: &r.host,
                    rows: r.rows,
                    time_median_s: Number(p.time.median_s),
                    rank_total_s: Number(m.total_s),
                    compute_s: Number(m.compute_s),
                    halo_exchange_s: Number(m.halo_exchange_s),
                    halo_download_s: Number(m.halo_download_s),
                    halo_upload_s: Number(m.halo_upload_s),
                    allreduce_s: Number(m.allreduce_s),
                    load_s: Number(m.load_s),
                    submit_wait_s: Number(m.submit_wait_s),
                    working_set_bytes: r.working_set_bytes,
                    resides_in: &p.resides_in,
                }
            })
        });
        csv::write(rows)
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }

    fn chart(&self) -> Option<Chart> {
        self.figure()
    }
}

impl StencilDocument {
    /// Each rank's phases at one rank count.
    fn per_rank_table(&self, point: &StencilPoint) -> Rows {
        let phases = self.phase_columns();
        let mut header = header(&["rank", "host", "rows"]);
        header.extend(phases.iter().map(|(name, ..)| name.to_string()));
        header.push(format!("total ({} ranks)", point.ranks));
        let rows = point
            .per_rank
            .iter()
            .map(|r| {
                let mut row = vec![r.rank.to_string(), r.host.clone(), r.rows.to_string()];
                row.extend(phases.iter().map(|(_, phase, _)| seconds(phase(&r.median))));
                row.push(seconds(r.median.total_s));
                row
            })
            .collect();
        let numeric = (2..header.len()).collect();
        Rows {
            header,
            rows,
            numeric,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributed::slab::SlabSetup;
    use crate::environment::{Environment, Provenance};
    use crate::experiments::mpi::stencil::RankFigures;
    use crate::measure::Stats;

    /// A point of `ranks` ranks, one sample each, with its time, compute, working set and level.
    fn point(ranks: usize, time_s: f64, bytes: u64, level: &str) -> StencilPoint {
        let phases = RankPhases {
            compute_s: 0.9 * time_s,
            halo_exchange_s: 0.1 * time_s,
            total_s: time_s,
            ..RankPhases::default()
        };
        StencilPoint {
            ranks,
            grid_rows: 1024,
            columns: 1024,
            time: Stats::from_samples(vec![time_s]).unwrap(),
            updates_per_s: 1.0,
            speedup: None,
            efficiency: None,
            working_set_bytes: bytes,
            resides_in: level.into(),
            residual: 0.5,
            per_rank: (0..ranks)
                .map(|rank| RankFigures {
                    rank,
                    host: "a".into(),
                    rows: 1024 / ranks,
                    threads: 1,
                    median: phases,
                    first_sample: None,
                    samples: vec![phases],
                    setup: SlabSetup::default(),
                    working_set_bytes: bytes,
                })
                .collect(),
            check: None,
            passed: true,
        }
    }

    /// A strong-scaling document of 1 and 2 ranks, the 2-rank point taking `two_s` against 1 s.
    fn document(two_s: f64, one_level: &str, two_level: &str) -> StencilDocument {
        let mut points = vec![
            point(1, 1.0, 16 << 20, one_level),
            point(2, two_s, 8 << 20, two_level),
        ];
        super::super::scale_against_one_rank(&mut points, Some(Scaling::Strong));
        StencilDocument {
            provenance: Provenance::new("hpclab mpi stencil".into(), Environment::capture(1, None)),
            mpi: crate::experiments::mpi::test_mpi_info("funneled"),
            backend: MpiBackend::Rayon,
            scaling: Some(Scaling::Strong),
            size: 1024,
            steps: 10,
            residual_every: 10,
            threads_per_rank: 1,
            runs: 1,
            warmup: 0,
            startup: Vec::new(),
            points,
            verified: true,
        }
    }

    const CACHE: &str = "each rank's slab fits the L3 while the whole grid did not: the speed-up \
                         includes the cache's bandwidth";
    const GAP: &str = "the rest of the gap is communication and waiting";

    #[test]
    fn a_superlinear_speedup_with_slabs_in_a_nearer_level_is_explained_by_the_cache() {
        let footer = document(0.4, "memory", "L3").footer().join("\n");
        assert!(footer.contains(CACHE), "{footer}");
        assert!(
            footer.contains("superlinear (2.50× on 2 ranks)"),
            "{footer}"
        );
        assert!(!footer.contains(GAP), "{footer}");
    }

    #[test]
    fn a_normal_speedup_keeps_communication_and_waiting() {
        // Below the ideal: the old words, whatever the levels.
        for (one, two) in [("memory", "memory"), ("memory", "L3")] {
            let footer = document(0.6, one, two).footer().join("\n");
            assert!(footer.contains(GAP), "{footer}");
            assert!(
                !footer.contains("superlinear") && !footer.contains("cache"),
                "{footer}"
            );
        }
    }

    #[test]
    fn a_superlinear_speedup_in_the_same_level_is_not_put_on_the_cache() {
        for (one, two) in [("L3", "L3"), ("L2", "L3"), ("unknown", "unknown")] {
            let footer = document(0.4, one, two).footer().join("\n");
            assert!(
                footer.contains("no change of cache level explains it"),
                "{one} → {two}: {footer}"
            );
            assert!(!footer.contains(CACHE) && !footer.contains(GAP), "{footer}");
        }
    }

    #[test]
    fn the_working_set_and_its_level_are_in_the_json_and_the_csv() {
        let document = document(0.4, "memory", "L3");
        let json = document.json().unwrap();
        assert_eq!(json["points"][1]["working_set_bytes"], 8 << 20);
        assert_eq!(json["points"][1]["resides_in"], "L3");
        assert_eq!(json["points"][0]["resides_in"], "memory");
        let csv = document.csv().unwrap();
        let header = csv.lines().next().unwrap();
        assert!(
            header.ends_with("load_s,submit_wait_s,working_set_bytes,resides_in"),
            "{header}"
        );
    }

    #[test]
    fn the_gpu_tables_show_submit_and_wait_and_the_phases_sum() {
        let mut document = document(0.6, "device", "device");
        document.backend = MpiBackend::Gpu;
        let tables = document.tables();
        assert!(tables[0].header.iter().any(|h| h == "submit + wait"));
        assert!(tables[1].header.iter().any(|h| h == "submit + wait"));
        let footer = document.footer().join("\n");
        // Compute and halo exchange are 90% and 10% of each synthetic sample.
        assert!(
            footer.contains("the phases add up to 100.0–100.0% of each sample's time"),
            "{footer}"
        );
        assert!(footer.contains("submit and wait 0.0%"), "{footer}");
    }
}
