//! How a distributed stencil run is presented: the scaling table, each rank's phases, where
//! the time went, the start-up costs, and the speed-up (or weak-scaling efficiency) figure.

use super::{RankStartup, StencilDocument, StencilPoint};
use crate::distributed::decomposition::Scaling;
use crate::distributed::slab::MpiBackend;
use crate::distributed::timeloop::RankPhases;
use crate::error::Result;
use crate::experiments::mpi::{header, mpi_heading, verdict};
use crate::report::csv::{self, Number};
use crate::report::format::{percent, rate, ratio, seconds, share};
use crate::report::plot::{Chart, Series};
use crate::report::table::Rows;
use crate::report::{Document, to_json};
use serde::Serialize;

/// A phase column of the tables: its header, the phase, and whether it is a halo phase (which
/// one rank, having no neighbours, does not have).
type PhaseColumn = (&'static str, fn(&RankPhases) -> f64, bool);

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
    /// host only on the GPU.
    fn phase_columns(&self) -> Vec<PhaseColumn> {
        let mut columns: Vec<PhaseColumn> = vec![
            ("compute", |p| p.compute_s, false),
            ("halo exchange", |p| p.halo_exchange_s, true),
            ("allreduce", |p| p.allreduce_s, false),
        ];
        if self.gpu() {
            columns.push(("halo ↓", |p| p.halo_download_s, true));
            columns.push(("halo ↑", |p| p.halo_upload_s, true));
        }
        columns
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
                "compute per rank: {} on 1 rank, {} on {} (slowest rank {}): {speed} (ideal {ideal}); \
                 the rest of the gap is communication and waiting",
                seconds(compute_one),
                seconds(compute_last),
                last.ranks,
                seconds(max_compute),
            ));
        }
        lines
    }

    fn figure(&self) -> Option<Chart> {
        self.scaling?;
        let weak = self.scaling == Some(Scaling::Weak);
        let measured: Vec<(f64, f64)> = self
            .points
            .iter()
            .filter_map(|p| {
                Some((
                    p.ranks as f64,
                    if weak { p.efficiency? } else { p.speedup? },
                ))
            })
            .collect();
        let ideal = self
            .points
            .iter()
            .map(|p| (p.ranks as f64, if weak { 1.0 } else { p.ranks as f64 }))
            .collect();
        Some(Chart {
            title: format!(
                "{} scaling of the distributed stencil ({}, {} steps)",
                if weak { "Weak" } else { "Strong" },
                self.backend_text(),
                self.steps
            ),
            x_label: "MPI ranks".into(),
            y_label: if weak {
                "efficiency (1-rank time / time)".into()
            } else {
                "speed-up over 1 rank".into()
            },
            log_x: true,
            log_y: !weak,
            x_bytes: false,
            series: vec![
                Series {
                    name: "measured".into(),
                    points: measured,
                    dashed: false,
                    color: Some(0),
                },
                Series {
                    name: "ideal".into(),
                    points: ideal,
                    dashed: true,
                    color: Some(7),
                },
            ],
            markers: Vec::new(),
        })
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
        header.extend(["M updates/s", "check"].map(String::from));
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
        let numeric = (2..header.len() - 1).collect();
        let mut tables = vec![Rows {
            header,
            rows,
            numeric,
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
        }
    }
}
