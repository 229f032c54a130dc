//! `hpclab latency`: the round trip of an empty dispatch and the cost per dispatch in batches.

use crate::Outcome;
use crate::cli::LatencyArgs;
use crate::error::Result;
use crate::experiments::latency::{LatencyDocument, measure};
use crate::gpu::{GpuContext, GpuRequest};
use crate::measure::MeasureOptions;
use crate::report::Destination;

/// A checked latency experiment.
pub struct LatencyConfig {
    /// Dispatches per submission, ascending, without repeats.
    pub batches: Vec<u32>,
    pub sampling: MeasureOptions,
    pub gpu: GpuRequest,
    pub destination: Destination,
}

impl LatencyConfig {
    /// Checks the output paths; orders the batch sizes.
    pub fn from_args(args: &LatencyArgs) -> Result<LatencyConfig> {
        let destination = args.out.destination();
        destination.check()?;
        let mut batches = args.batches.clone();
        batches.sort_unstable();
        batches.dedup();
        Ok(LatencyConfig {
            batches,
            sampling: args.sampling.options(),
            gpu: args.gpu.request(),
            destination,
        })
    }
}

/// Runs the latency experiment.
pub fn document(config: &LatencyConfig, command_line: String) -> Result<LatencyDocument> {
    let context = GpuContext::new(&config.gpu)?;
    measure(
        &context,
        &config.batches,
        config.sampling,
        command_line,
        false,
    )
}

/// Runs the experiment and publishes its document and figure.
pub fn execute(args: &LatencyArgs, command_line: String) -> Result<Outcome> {
    let config = LatencyConfig::from_args(args)?;
    let document = document(&config, command_line)?;
    super::publish(&document, &config.destination)
}
