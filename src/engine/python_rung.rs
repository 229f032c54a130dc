//! One row of a Python rung: start the worker, estimate the row's time from calibration runs
//! at small sizes (refusing a row that would run past `--max-seconds`), load the inputs, take
//! the samples one call at a time and check the outputs as for every backend.

use super::Plan;
use crate::backend::Backend;
use crate::error::Result;
use crate::experiments::run::PythonSetupReport;
use crate::kernels::{Cost, Implementation, Problem, Verification};
use crate::measure::runner::take_samples;
use crate::measure::{MeasureOptions, PhaseSample};
use crate::python::worker::{LoadReport, Worker};
use crate::report::format::seconds;
use crate::report::progress::Progress;
use crate::size::format_count;

/// A first sample longer than this (seconds) cuts the row to [`LONG_ROW_SAMPLES`] samples.
pub const LONG_SAMPLE_S: f64 = 2.0;
/// The samples a row keeps when its first sample is long (the first included).
pub const LONG_ROW_SAMPLES: usize = 3;
/// Calibration doubles its size until one call takes this long (seconds)…
const CALIBRATION_S: f64 = 0.05;
/// …or reaches this fraction of the requested size.
const CALIBRATION_SHARE: u64 = 4;

/// A Python row measured: its kept samples, the check after the first sample, its setup.
pub struct PythonRow {
    pub samples: Vec<PhaseSample>,
    pub first: Option<Verification>,
    pub setup: PythonSetupReport,
}

/// A Python row either ran or says why not.
pub enum PythonOutcome {
    Ran(Box<PythonRow>),
    NotRun(String),
}

/// The threads a row runs on: NumPy's BLAS and Numba's `prange` take the plan's; pure Python
/// and Numba's serial loop one.
pub fn row_threads(implementation: Implementation, plan_threads: usize) -> usize {
    match (
        implementation.backend,
        implementation.variant.map(|v| v.name),
    ) {
        (Backend::Numpy, _) | (Backend::Numba, Some("parallel")) => plan_threads,
        _ => 1,
    }
}

/// The work units a time estimate scales by: the kernel's items, else its flops, else its bytes.
fn work(cost: Cost) -> f64 {
    match cost.items {
        Some(items) => items.count as f64,
        None if cost.flops > 0 => cost.flops as f64,
        None => cost.device_bytes as f64,
    }
}

/// Seconds a row of calls of `call_s` each takes under `sampling` (the long-sample cut applied).
fn row_seconds(call_s: f64, sampling: MeasureOptions) -> f64 {
    let calls = sampling.warmup + sampling.runs;
    match call_s > LONG_SAMPLE_S {
        true => call_s * calls.min(LONG_ROW_SAMPLES) as f64,
        false => call_s * calls as f64,
    }
}

/// Measures `implementation` (a Python rung) of `plan` on `problem`.
pub fn measure(
    plan: &Plan,
    problem: &mut dyn Problem,
    implementation: Implementation,
    progress: &Progress,
) -> Result<PythonOutcome> {
    let Implementation { backend, variant } = implementation;
    let kernel = plan.kernel;
    let name = kernel.info().name;
    let label = implementation.label();
    let mut worker = match Worker::start(row_threads(implementation, plan.threads))? {
        Ok(worker) => worker,
        Err(unavailable) => return Ok(PythonOutcome::NotRun(unavailable.reason)),
    };
    let variant_name = variant.map(|v| v.name);
    let mut first_load: Option<LoadReport> = None;

    // Calibration: the same rung at doubling sizes until one call is long enough to time.
    let mut calibration = None;
    let mut small = 16u64;
    while small * CALIBRATION_SHARE <= plan.size {
        let small_problem = kernel.prepare(small as usize, plan.seed, &plan.kernel_options);
        let loaded = worker.load(
            name,
            backend.name(),
            variant_name,
            small_problem.python_call(),
        )?;
        match loaded {
            Ok(report) => {
                first_load.get_or_insert(report);
            }
            Err(unavailable) => return Ok(PythonOutcome::NotRun(unavailable.reason)),
        }
        let call_s = worker.sample()?;
        calibration = Some((small, call_s));
        if call_s >= CALIBRATION_S {
            break;
        }
        small *= 2;
    }
    if let Some((small, call_s)) = calibration {
        let estimate = |n: u64| call_s * work(kernel.cost(n)) / work(kernel.cost(small));
        let row_s = row_seconds(estimate(plan.size), plan.sampling);
        if row_s > plan.max_seconds {
            let fits = largest_fitting(plan, small, &|n| row_seconds(estimate(n), plan.sampling));
            return Ok(PythonOutcome::NotRun(format!(
                "would take about {} at n = {} (estimated from {} per call at n = {}), over --max-seconds {}; the largest size that fits is about {}",
                seconds(row_s),
                format_count(plan.size),
                seconds(call_s),
                format_count(small),
                plan.max_seconds,
                format_count(fits)
            )));
        }
    }

    let loaded = worker.load(name, backend.name(), variant_name, problem.python_call())?;
    let load = match loaded {
        Ok(report) => report,
        Err(unavailable) => return Ok(PythonOutcome::NotRun(unavailable.reason)),
    };
    let first_call_s = first_load.as_ref().and_then(|r| r.first_call_s);
    let mut setup = PythonSetupReport {
        implementation: label,
        interpreter: worker.interpreter.clone(),
        start_s: worker.start_s,
        load: LoadReport {
            // The imports happen at the first load; Numba compiles at its first call.
            imports_s: first_load
                .as_ref()
                .map_or(load.imports_s.clone(), |r| r.imports_s.clone()),
            first_call_s: first_call_s.or(load.first_call_s),
            ..load
        },
        calibration: calibration.map(|(small, call_s)| {
            format!("n = {}: {} per call", format_count(small), seconds(call_s))
        }),
        fewer_samples: None,
    };

    let mut sample = |problem: &mut dyn Problem| -> Result<PhaseSample> {
        problem.clear_output();
        let call_s = worker.sample()?;
        worker.read_outputs(problem.python_outputs(backend, variant))?;
        Ok(PhaseSample {
            upload_s: None,
            compute_wall_s: call_s,
            compute_timestamp_s: None,
            download_s: None,
        })
    };
    let total = plan.sampling.warmup + plan.sampling.runs;
    let first_sample = sample(problem)?;
    progress.step();
    let first = (total > 1).then(|| problem.verify());
    let (mut kept, rest) =
        if first_sample.compute_wall_s > LONG_SAMPLE_S && total > LONG_ROW_SAMPLES {
            setup.fewer_samples = Some(format!(
                "its first sample took {}: {LONG_ROW_SAMPLES} samples kept, no warm-up",
                seconds(first_sample.compute_wall_s)
            ));
            for _ in LONG_ROW_SAMPLES..total {
                progress.step();
            }
            let rest = MeasureOptions {
                warmup: 0,
                runs: LONG_ROW_SAMPLES - 1,
            };
            (vec![first_sample], rest)
        } else {
            match plan.sampling.warmup {
                0 => (
                    vec![first_sample],
                    MeasureOptions {
                        warmup: 0,
                        runs: plan.sampling.runs - 1,
                    },
                ),
                warmup => (
                    Vec::new(),
                    MeasureOptions {
                        warmup: warmup - 1,
                        runs: plan.sampling.runs,
                    },
                ),
            }
        };
    kept.extend(take_samples(
        rest,
        || sample(problem),
        |_, _| progress.step(),
    )?);
    Ok(PythonOutcome::Ran(Box::new(PythonRow {
        samples: kept,
        first,
        setup,
    })))
}

/// The largest size at most the plan's whose row fits `--max-seconds`, by bisection between
/// the calibration size and the plan's.
fn largest_fitting(plan: &Plan, small: u64, row_s: &dyn Fn(u64) -> f64) -> u64 {
    let (mut fits, mut too_long) = (small, plan.size);
    while too_long - fits > 1 {
        let middle = fits + (too_long - fits) / 2;
        match row_s(middle) <= plan.max_seconds {
            true => fits = middle,
            false => too_long = middle,
        }
    }
    fits
}
