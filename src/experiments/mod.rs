//! Experiments: measurements across sizes, threads or paths that answer one question each
//! (how fast is the link, what does a dispatch cost, …). Each produces a [`crate::report::Document`]
//! and, when asked, a figure.

pub mod catalogue;
pub mod devices;
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
use crate::gpu::GpuContext;

/// The provenance of an experiment measured on the current rayon pool and, when given, the GPU.
pub fn provenance(command: String, gpu: Option<&GpuContext>) -> Provenance {
    Provenance::new(
        command,
        Environment::capture(rayon::current_num_threads(), gpu.map(|g| g.adapter.clone())),
    )
}
