//! What a dispatch costs when it does no work: the round trip of submit-and-wait, and the cost
//! per dispatch when many share one submission (the reason GPU code batches its launches).

use crate::environment::Provenance;
use crate::error::Result;
use crate::gpu::{GpuContext, ShaderSpec};
use crate::measure::Stats;
use crate::measure::runner::{MeasureOptions, PhaseSample, take_samples};
use crate::report::format::seconds;
use crate::report::heading::{Machine, machine_lines};
use crate::report::plot::{Chart, Series};
use crate::report::progress::Progress;
use crate::report::table::Rows;
use crate::report::csv::{self, Number};
use crate::report::{Document, to_json};
use serde::Serialize;
use std::time::Instant;

/// Submissions of `dispatches` empty dispatches each.
#[derive(Debug, Clone, Serialize)]
pub struct Batch {
    /// Empty dispatches recorded into one command buffer and submitted together.
    pub dispatches: u32,
    /// Wall time from recording to completion, per submission.
    pub time: Stats,
    /// Median time / dispatches.
    pub per_dispatch_s: f64,
}

/// The CSV row of one batch size.
#[derive(Serialize, Default)]
struct BatchRow {
    dispatches: u32,
    median_s: Number,
    per_dispatch_s: Option<Number>,
}

/// The output of `hpclab latency`.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyDocument {
    /// Version, command line and machine.
    #[serde(flatten)]
    pub provenance: Provenance,
    pub runs: usize,
    pub warmup: usize,
    /// `queue.submit([])` and wait: the floor of any round trip.
    pub empty_submit: Stats,
    /// One empty dispatch, submitted and waited for: the round-trip latency of a launch.
    pub round_trip_s: f64,
    /// Batches of dispatches per submission.
    pub batches: Vec<Batch>,
}

/// Measures the empty submission and each batch size.
pub fn measure(
    context: &GpuContext,
    batches: &[u32],
    options: MeasureOptions,
    command: String,
    quiet: bool,
) -> Result<LatencyDocument> {
    let compiled = context.pipelines().get(
        context,
        &ShaderSpec {
            label: "empty",
            source: include_str!("../../shaders/empty.wgsl"),
            entry_point: "main",
            constants: vec![],
        },
    )?;
    let wall = |seconds: f64| PhaseSample {
        upload_s: None,
        compute_wall_s: seconds,
        compute_timestamp_s: None,
        download_s: None,
    };
    let stats = |samples: Vec<PhaseSample>| {
        Stats::from_samples(samples.iter().map(|s| s.compute_wall_s).collect()).expect("runs >= 1")
    };
    let progress = Progress::new(
        ((batches.len() + 1) * (options.warmup + options.runs)) as u64,
        quiet,
    );

    progress.set_message("empty submission".into());
    let empty_submit = stats(take_samples(
        options,
        || {
            let started = Instant::now();
            context.submit_and_wait([], "submitting nothing")?;
            Ok(wall(started.elapsed().as_secs_f64()))
        },
        |_, _| progress.step(),
    )?);

    let mut measured = Vec::new();
    for &dispatches in batches {
        progress.set_message(format!("{dispatches} dispatches per submission"));
        let samples = take_samples(
            options,
            || {
                let started = Instant::now();
                let mut encoder =
                    context
                        .device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("empty dispatches"),
                        });
                {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("empty"),
                        timestamp_writes: None,
                    });
                    pass.set_pipeline(&compiled.pipeline);
                    for _ in 0..dispatches {
                        pass.dispatch_workgroups(1, 1, 1);
                    }
                }
                context.submit_and_wait([encoder.finish()], "dispatching empty kernels")?;
                Ok(wall(started.elapsed().as_secs_f64()))
            },
            |_, _| progress.step(),
        )?;
        let time = stats(samples);
        measured.push(Batch {
            dispatches,
            per_dispatch_s: time.median_s / dispatches as f64,
            time,
        });
    }
    progress.finish();
    Ok(LatencyDocument {
        provenance: super::provenance(command, Some(context)),
        runs: options.runs,
        warmup: options.warmup,
        round_trip_s: measured
            .iter()
            .find(|b| b.dispatches == 1)
            .map_or(f64::NAN, |b| b.time.median_s),
        empty_submit,
        batches: measured,
    })
}

impl LatencyDocument {
    /// Time per dispatch against dispatches per submission, log–log.
    fn figure(&self) -> Chart {
        Chart {
            title: format!(
                "Cost of an empty dispatch on {}",
                self.provenance
                    .environment
                    .adapter
                    .as_ref()
                    .map_or("the GPU", |a| a.name.as_str())
            ),
            x_label: "dispatches per submission".into(),
            y_label: "time per dispatch (s)".into(),
            log_x: true,
            log_y: true,
            x_bytes: false,
            series: vec![Series {
                name: "per dispatch (median)".into(),
                points: self
                    .batches
                    .iter()
                    .map(|b| (b.dispatches as f64, b.per_dispatch_s))
                    .collect(),
                dashed: false,
                color: None,
            }],
            markers: Vec::new(),
        }
    }
}

impl Document for LatencyDocument {
    fn verified(&self) -> bool {
        // Empty dispatches compute nothing to check.
        true
    }

    fn heading(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "latency · {} runs after {} warm-up · wall clock, submit → completion",
            self.runs, self.warmup
        )];
        lines.extend(machine_lines(
            &self.provenance.environment,
            Machine::default(),
        ));
        lines
    }

    fn tables(&self) -> Vec<Rows> {
        let mut rows = vec![vec![
            "submit nothing + wait".to_string(),
            seconds(self.empty_submit.median_s),
            format!(
                "{} – {}",
                seconds(self.empty_submit.min_s),
                seconds(self.empty_submit.max_s)
            ),
            "–".into(),
        ]];
        rows.extend(self.batches.iter().map(|b| {
            vec![
                format!(
                    "{} dispatch{} per submission",
                    b.dispatches,
                    if b.dispatches == 1 { "" } else { "es" }
                ),
                seconds(b.time.median_s),
                format!("{} – {}", seconds(b.time.min_s), seconds(b.time.max_s)),
                seconds(b.per_dispatch_s),
            ]
        }));
        vec![Rows {
            header: ["what", "median", "min – max", "per dispatch"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            rows,
            numeric: vec![1, 3],
        }]
    }

    fn footer(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "round trip of one empty dispatch: {}",
            seconds(self.round_trip_s)
        )];
        // The cheapest batch per dispatch, which need not be the largest.
        let cheapest = self
            .batches
            .iter()
            .min_by(|a, b| a.per_dispatch_s.total_cmp(&b.per_dispatch_s));
        if let (Some(first), Some(best)) = (self.batches.first(), cheapest)
            && best.dispatches > first.dispatches
        {
            lines.push(format!(
                "batching {} dispatches per submission cuts the cost per dispatch {:.1}× ({} → {})",
                best.dispatches,
                first.per_dispatch_s / best.per_dispatch_s,
                seconds(first.per_dispatch_s),
                seconds(best.per_dispatch_s)
            ));
        }
        lines
    }

    fn csv(&self) -> Result<String> {
        // The empty submission is the row of 0 dispatches.
        let empty = BatchRow {
            dispatches: 0,
            median_s: Number(self.empty_submit.median_s),
            per_dispatch_s: None,
        };
        csv::write(std::iter::once(empty).chain(self.batches.iter().map(|b| BatchRow {
            dispatches: b.dispatches,
            median_s: Number(b.time.median_s),
            per_dispatch_s: Some(Number(b.per_dispatch_s)),
        })))
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }

    fn chart(&self) -> Option<Chart> {
        Some(self.figure())
    }
}
