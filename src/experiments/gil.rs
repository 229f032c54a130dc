//! `hpclab gil`: one escape-time image split into row chunks over 1..N Python workers, run as
//! threads (pure Python, NumPy, Numba `nogil`), as processes (pure Python, the pool's start and
//! the pickling measured apart) and, where one is installed, as threads of a free-threaded
//! CPython: what the global interpreter lock does, measured and verified.

use crate::backend::Backend;
use crate::environment::{Environment, Provenance};
use crate::error::Result;
use crate::experiments::run::NotRun;
use crate::kernels::{Kernel, KernelOptions};
use crate::measure::noise::stats_warnings;
use crate::measure::runner::take_samples;
use crate::measure::{MeasureOptions, Stats};
use crate::python::worker::{GilSample, LoadReport, Worker};
use crate::report::csv::{self, Number};
use crate::report::format::{NONE, check, percent, ratio, seconds, seconds_span};
use crate::report::heading::{Machine, machine_lines};
use crate::report::plot::{Axis, Chart, Marker, Series, Shape, Unit, ideal_speedup, rate_bar};
use crate::report::progress::Progress;
use crate::report::table::Rows;
use crate::report::{Document, to_json};
use crate::size::format_count;
use serde::Serialize;
use std::ffi::OsString;

/// One way of running the rows on N workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// The name `python/gil.py` knows it by.
    pub name: &'static str,
    /// What the table calls it.
    pub label: &'static str,
    /// The rung whose check the image passes (pure Python computes in f64).
    pub rung: Backend,
    /// True for the free-threaded interpreter's run of `threads-python`.
    pub free_threaded: bool,
}

/// The modes, in the order of the lecture: the GIL, around it with processes, released by the
/// libraries, and gone.
pub const MODES: [Mode; 5] = [
    Mode {
        name: "threads-python",
        label: "threads, pure Python",
        rung: Backend::Python,
        free_threaded: false,
    },
    Mode {
        name: "processes-python",
        label: "processes, pure Python",
        rung: Backend::Python,
        free_threaded: false,
    },
    Mode {
        name: "threads-numpy",
        label: "threads, NumPy",
        rung: Backend::Numpy,
        free_threaded: false,
    },
    Mode {
        name: "threads-numba",
        label: "threads, Numba nogil",
        rung: Backend::Numba,
        free_threaded: false,
    },
    Mode {
        name: "threads-python",
        label: "threads, free-threaded Python",
        rung: Backend::Python,
        free_threaded: true,
    },
];

/// A checked GIL experiment.
pub struct GilPlan {
    pub kernel: &'static dyn Kernel,
    pub size: u64,
    pub kernel_options: KernelOptions,
    pub seed: u64,
    pub workers: Vec<usize>,
    pub sampling: MeasureOptions,
}

/// One mode on one number of workers.
#[derive(Debug, Clone, Serialize)]
pub struct GilPoint {
    pub mode: String,
    pub workers: usize,
    /// The parallel section: from handing out the rows to the assembled image.
    pub time: Stats,
    /// Processes only: starting the pool (outside `time`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Stats>,
    /// Processes only: the busiest worker's own compute; the rest of `time` is pickling the
    /// rows back and scheduling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub busiest: Option<Stats>,
    /// The same mode's median on 1 worker / this median.
    pub speedup: f64,
    pub efficiency: f64,
    pub verified: bool,
    /// The first mismatch, when not verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<String>,
}

/// A mode's one-time costs.
#[derive(Debug, Clone, Serialize)]
pub struct GilSetup {
    pub mode: String,
    pub python: String,
    #[serde(flatten)]
    pub load: LoadReport,
}

/// The output of `hpclab gil`.
#[derive(Debug, Clone, Serialize)]
pub struct GilDocument {
    #[serde(flatten)]
    pub provenance: Provenance,
    pub kernel: String,
    pub size: u64,
    pub points: Vec<GilPoint>,
    pub setup: Vec<GilSetup>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<NotRun>,
    pub cores: usize,
}

/// The CSV row of one point.
#[derive(Serialize, Default)]
struct GilRow {
    mode: String,
    workers: usize,
    median_s: Number,
    min_s: Number,
    max_s: Number,
    start_s: Option<Number>,
    busiest_s: Option<Number>,
    speedup: Number,
    efficiency: Number,
    verified: bool,
}

/// The first free-threaded CPython on the PATH (`python3.13t`, `python3.14t`, …).
pub fn free_threaded_interpreter() -> Option<OsString> {
    let path = std::env::var_os("PATH")?;
    (13..=20).find_map(|minor| {
        let name = format!("python3.{minor}t");
        std::env::split_paths(&path)
            .map(|folder| folder.join(&name))
            .find(|candidate| candidate.is_file())
            .map(|found| found.into_os_string())
    })
}

/// Runs every mode on every worker count.
pub fn measure(plan: &GilPlan, command_line: String) -> Result<GilDocument> {
    let kernel = plan.kernel;
    let mut problem = kernel.prepare(plan.size as usize, plan.seed, &plan.kernel_options);
    let most = plan.workers.iter().copied().max().unwrap_or(1);
    let samples_each = (plan.sampling.warmup + plan.sampling.runs) as u64;
    let progress = Progress::new(
        samples_each * plan.workers.len() as u64 * MODES.len() as u64,
        "samples",
        false,
    );
    let (mut points, mut setup, mut not_run) = (Vec::new(), Vec::new(), Vec::new());
    for mode in MODES {
        let skip = |progress: &Progress| {
            for _ in 0..samples_each * plan.workers.len() as u64 {
                progress.step();
            }
        };
        let interpreter = match mode.free_threaded {
            false => crate::python::worker::interpreter(),
            true => match free_threaded_interpreter() {
                Some(found) => found,
                None => {
                    not_run.push(NotRun {
                        implementation: mode.label.into(),
                        reason: "no free-threaded CPython (python3.13t or later) on the PATH"
                            .into(),
                    });
                    skip(&progress);
                    continue;
                }
            },
        };
        let mut worker = match Worker::start_with(&interpreter, most)? {
            Ok(worker) => worker,
            Err(unavailable) => {
                not_run.push(NotRun {
                    implementation: mode.label.into(),
                    reason: unavailable.reason,
                });
                skip(&progress);
                continue;
            }
        };
        if mode.free_threaded && !worker.interpreter.free_threaded {
            not_run.push(NotRun {
                implementation: mode.label.into(),
                reason: format!(
                    "{} runs with the GIL enabled (PYTHON_GIL=1 or a module that needs it)",
                    worker.describe()
                ),
            });
            skip(&progress);
            continue;
        }
        let load = match worker.load_gil(mode.name, problem.python_call())? {
            Ok(load) => load,
            Err(unavailable) => {
                not_run.push(NotRun {
                    implementation: mode.label.into(),
                    reason: unavailable.reason,
                });
                skip(&progress);
                continue;
            }
        };
        setup.push(GilSetup {
            mode: mode.label.into(),
            python: worker.interpreter.python.clone(),
            load,
        });
        let mut first_median = None;
        for &workers in &plan.workers {
            progress.set_message(format!("{} on {workers} workers", mode.label));
            let mut first = None;
            let samples: Vec<GilSample> = take_samples(
                plan.sampling,
                || {
                    problem.clear_output();
                    let sample = worker.sample_gil(workers)?;
                    worker.read_outputs(problem.python_outputs(mode.rung, None))?;
                    if first.is_none() {
                        first = Some(problem.verify());
                    }
                    Ok(sample)
                },
                |_, _| progress.step(),
            )?;
            let verification = match first {
                Some(first) if samples_each > 1 => first.worse_of_first_and(problem.verify()),
                _ => problem.verify(),
            };
            let stats_of = |values: Vec<Option<f64>>| -> Option<Stats> {
                values
                    .into_iter()
                    .collect::<Option<Vec<f64>>>()
                    .and_then(Stats::from_samples)
            };
            let time = Stats::from_samples(samples.iter().map(|s| s.seconds).collect())
                .expect("at least one run");
            let base = *first_median.get_or_insert(time.median_s);
            let speedup = base / time.median_s;
            points.push(GilPoint {
                mode: mode.label.into(),
                workers,
                start: stats_of(samples.iter().map(|s| s.start_s).collect()),
                busiest: stats_of(samples.iter().map(|s| s.busiest_s).collect()),
                speedup,
                efficiency: speedup / workers as f64,
                verified: verification.passed,
                mismatch: verification.first_mismatch.clone(),
                time,
            });
        }
    }
    progress.finish();
    let environment = Environment::capture(most, None);
    let cores = environment.cpu.logical_cores;
    let mut provenance = Provenance::new(command_line, environment);
    let labelled: Vec<(String, &Stats)> = points
        .iter()
        .map(|p| (format!("{} ×{}", p.mode, p.workers), &p.time))
        .collect();
    provenance.warnings.extend(stats_warnings(&labelled));
    Ok(GilDocument {
        provenance,
        kernel: kernel.info().name.into(),
        size: plan.size,
        points,
        setup,
        not_run,
        cores,
    })
}

impl Document for GilDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

    fn verified(&self) -> bool {
        self.points.iter().all(|p| p.verified)
    }

    fn heading(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "gil · {} at n = {} ({}² pixels) · rows dealt round-robin to each worker",
            self.kernel,
            format_count(self.size),
            self.size
        )];
        lines.extend(machine_lines(
            &self.provenance.environment,
            Machine {
                cpu_count: Some(format!("{} logical cores", self.cores)),
                ..Machine::default()
            },
        ));
        lines
    }

    fn tables(&self) -> Vec<Rows> {
        let mut rows: Vec<Vec<String>> = self
            .points
            .iter()
            .map(|p| {
                vec![
                    p.mode.clone(),
                    p.workers.to_string(),
                    seconds(p.time.median_s),
                    seconds_span(p.time.min_s, p.time.max_s),
                    ratio(p.speedup),
                    percent(p.efficiency),
                    p.start
                        .as_ref()
                        .map_or(NONE.into(), |s| seconds(s.median_s)),
                    p.busiest.as_ref().map_or(NONE.into(), |busiest| {
                        seconds((p.time.median_s - busiest.median_s).max(0.0))
                    }),
                    check(p.verified),
                ]
            })
            .collect();
        for not_run in &self.not_run {
            let mut row = vec![
                not_run.implementation.clone(),
                String::new(),
                "not run".into(),
            ];
            row.resize(9, String::new());
            rows.push(row);
        }
        vec![
            Rows::new(
                &[
                    "mode",
                    "workers",
                    "time",
                    "min – max",
                    "speed-up",
                    "efficiency",
                    "pool start",
                    "pickling etc.",
                    "check",
                ],
                rows,
                vec![1, 2, 4, 5, 6, 7],
            )
            .droppable(&["min – max", "efficiency", "pickling etc.", "pool start"]),
        ]
    }

    fn footer(&self) -> Vec<String> {
        let mut lines = vec![
            "time = the parallel section (rows handed out, computed, the image assembled), medians on the worker's time.perf_counter; \
             speed-up = the same mode on 1 worker / this; pool start = starting the processes (outside time); \
             pickling etc. = time − the busiest process's own compute: sending the rows back and scheduling"
                .to_string(),
        ];
        for setup in &self.setup {
            let mut parts: Vec<String> = setup
                .load
                .imports_s
                .iter()
                .map(|(module, s)| format!("import {module} {}", seconds(*s)))
                .collect();
            if let Some(first_call_s) = setup.load.first_call_s {
                parts.push(format!(
                    "first call, compiling just in time, {}",
                    seconds(first_call_s)
                ));
            }
            if !parts.is_empty() {
                lines.push(format!(
                    "{} (Python {}) setup, outside every time: {}",
                    setup.mode,
                    setup.python,
                    parts.join(" · ")
                ));
            }
        }
        for not_run in &self.not_run {
            lines.push(format!(
                "{} not run: {}",
                not_run.implementation, not_run.reason
            ));
        }
        for point in self.points.iter().filter(|p| !p.verified) {
            lines.push(format!(
                "VERIFICATION FAILED on {} ×{}: {}",
                point.mode,
                point.workers,
                point.mismatch.as_deref().unwrap_or("")
            ));
        }
        lines
    }

    fn csv(&self) -> Result<String> {
        csv::write(self.points.iter().map(|p| GilRow {
            mode: p.mode.clone(),
            workers: p.workers,
            median_s: Number(p.time.median_s),
            min_s: Number(p.time.min_s),
            max_s: Number(p.time.max_s),
            start_s: p.start.as_ref().map(|s| Number(s.median_s)),
            busiest_s: p.busiest.as_ref().map(|s| Number(s.median_s)),
            speedup: Number(p.speedup),
            efficiency: Number(p.efficiency),
            verified: p.verified,
        }))
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }

    /// Speed-up against workers for each mode (min–max bars), and the ideal on the machine's
    /// cores.
    fn chart(&self) -> Option<Chart> {
        let most = self.points.iter().map(|p| p.workers).max()?;
        let shapes = [
            Shape::Circle,
            Shape::Square,
            Shape::Triangle,
            Shape::Circle,
            Shape::Square,
        ];
        let mut series = Vec::new();
        for (index, mode) in MODES.iter().enumerate() {
            let points: Vec<&GilPoint> = self
                .points
                .iter()
                .filter(|p| p.mode == mode.label)
                .collect();
            if points.is_empty() {
                continue;
            }
            let bars = points
                .iter()
                .map(|p| rate_bar(p.workers as f64, p.speedup, &p.time))
                .collect();
            series.push(
                Series::measured(
                    mode.label,
                    points
                        .iter()
                        .map(|p| (p.workers as f64, p.speedup))
                        .collect(),
                )
                .bars(bars)
                .color(index)
                .shape(shapes[index]),
            );
        }
        series.push(ideal_speedup("workers", self.cores, most).color(MODES.len()));
        let chart = Chart::new(
            format!(
                "{} at n = {}: Python workers and the GIL",
                self.kernel,
                format_count(self.size)
            ),
            Axis::linear("workers", Unit::Integer),
            Axis::linear("speed-up over 1 worker of the same mode", Unit::Number),
        );
        Some(chart.with_series(series).with_markers(vec![Marker {
            x: self.cores as f64,
            label: format!("{} logical cores", self.cores),
        }]))
    }
}
