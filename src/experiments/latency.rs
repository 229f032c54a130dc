//! What a dispatch costs when it does no work: the round trip of submit-and-wait, and the cost
//! per dispatch when many share one submission (the reason GPU code batches its launches).

use super::{gpu_name, sample_stats};
use crate::environment::Provenance;
use crate::error::Result;
use crate::gpu::{GpuContext, ShaderSpec, timed_compute_pass};
use crate::measure::Stats;
use crate::measure::runner::MeasureOptions;
use crate::report::csv::{self, Number};
use crate::report::format::{NONE, seconds, seconds_span};
use crate::report::heading::{Machine, machine_lines};
use crate::report::plot::{Axis, Chart, Series, Unit, time_bar};
use crate::report::progress::Progress;
use crate::report::table::Rows;
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
        &ShaderSpec::new("empty", include_str!("../../shaders/empty.wgsl"), "main")
            .trusted("it reads and writes nothing"),
    )?;
    let progress = Progress::new(
        ((batches.len() + 1) * (options.warmup + options.runs)) as u64,
        "samples",
        quiet,
    );

    progress.set_message("empty submission".into());
    let empty_submit = sample_stats(
        options,
        || empty_submission(context, "submitting nothing"),
        |_, _| progress.step(),
    )?;

    let mut measured = Vec::new();
    for &dispatches in batches {
        progress.set_message(format!("{dispatches} dispatches per submission"));
        let time = sample_stats(
            options,
            || {
                let (wall_s, _) =
                    timed_compute_pass(context, None, "empty dispatches", &[], |pass| {
                        pass.set_pipeline(&compiled.pipeline);
                        for _ in 0..dispatches {
                            pass.dispatch_workgroups(1, 1, 1);
                        }
                        Ok(())
                    })?;
                Ok(wall_s)
            },
            |_, _| progress.step(),
        )?;
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

/// One empty submission and its wait on the host clock: the floor of every round trip.
pub fn empty_submission(context: &GpuContext, doing: &str) -> Result<f64> {
    let started = Instant::now();
    context.submit_and_wait([], doing)?;
    Ok(started.elapsed().as_secs_f64())
}

impl Document for LatencyDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

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
        let row = |what: String, time: &Stats, per_dispatch: String| {
            vec![
                what,
                seconds(time.median_s),
                seconds_span(time.min_s, time.max_s),
                per_dispatch,
            ]
        };
        let mut rows = vec![row(
            "submit nothing + wait".into(),
            &self.empty_submit,
            NONE.into(),
        )];
        rows.extend(self.batches.iter().map(|b| {
            let what = format!(
                "{} dispatch{} per submission",
                b.dispatches,
                if b.dispatches == 1 { "" } else { "es" }
            );
            row(what, &b.time, seconds(b.per_dispatch_s))
        }));
        vec![Rows::new(
            &["what", "median", "min – max", "per dispatch"],
            rows,
            vec![1, 3],
        )]
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
        csv::write(
            std::iter::once(empty).chain(self.batches.iter().map(|b| BatchRow {
                dispatches: b.dispatches,
                median_s: Number(b.time.median_s),
                per_dispatch_s: Some(Number(b.per_dispatch_s)),
            })),
        )
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }

    /// Time per dispatch against dispatches per submission, log–log.
    fn chart(&self) -> Option<Chart> {
        let per_dispatch = self
            .batches
            .iter()
            .map(|b| (b.dispatches as f64, b.per_dispatch_s));
        let bars = self.batches.iter().map(|b| {
            let dispatches = b.dispatches as f64;
            time_bar(dispatches, &b.time, dispatches)
        });
        let title = format!(
            "Cost of an empty dispatch on {}",
            gpu_name(&self.provenance.environment)
        );
        let chart = Chart::new(
            title,
            Axis::log("dispatches per submission", Unit::Integer),
            Axis::log(
                "time per dispatch (submission time / dispatches)",
                Unit::Seconds,
            ),
        );
        Some(chart.with_series(vec![
            Series::measured("per dispatch (median; bars: min–max)", per_dispatch.collect())
                .bars(bars.collect()),
        ]))
    }
}
