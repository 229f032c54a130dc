//! Experiments: measurements across sizes, threads or paths that answer one question each
//! (how fast is the link, what does a dispatch cost, …). Each produces a [`crate::report::Document`]
//! and, when asked, a figure.

pub mod catalogue;
pub mod devices;
pub mod gil;
pub mod latency;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod probe;
pub mod roofline;
pub mod run;
pub mod scaling;
pub mod sweep;
pub mod transfer;

use crate::environment::{Environment, Provenance};
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::measure::runner::{MeasureOptions, take_samples};
use crate::measure::{PhaseSample, Stats};

/// The provenance of an experiment measured on the current rayon pool and, when given, the GPU.
pub fn provenance(command: String, gpu: Option<&GpuContext>) -> Provenance {
    Provenance::new(
        command,
        Environment::capture(rayon::current_num_threads(), gpu.map(|g| g.adapter.clone())),
    )
}

/// The statistics of `warmup + runs` samples of `seconds`, a duration the experiment times
/// itself (a transfer, a submission), the warm-up discarded; `on_sample` after each sample.
pub fn sample_stats(
    options: MeasureOptions,
    mut seconds: impl FnMut() -> Result<f64>,
    on_sample: impl FnMut(usize, usize),
) -> Result<Stats> {
    let samples = take_samples(
        options,
        || {
            seconds().map(|compute_wall_s| PhaseSample {
                upload_s: None,
                compute_wall_s,
                compute_timestamp_s: None,
                download_s: None,
            })
        },
        on_sample,
    )?;
    Ok(Stats::from_samples(samples.iter().map(|s| s.compute_wall_s).collect()).expect("runs >= 1"))
}

/// The adapter's name, for a figure's title.
fn gpu_name(environment: &Environment) -> &str {
    environment
        .adapter
        .as_ref()
        .map_or("the GPU", |a| a.name.as_str())
}
