//! `hpclab latency`: the round trip of an empty dispatch and the cost per dispatch in batches.

use super::Measure;
use crate::cli::LatencyArgs;
use crate::error::Result;
use crate::experiments::latency::measure;
use crate::gpu::{GpuContext, GpuRequest};
use crate::measure::MeasureOptions;
use crate::report::{Destination, Document};

/// A checked latency experiment.
pub struct LatencyConfig {
    /// Dispatches per submission, ascending, without repeats.
    pub batches: Vec<u32>,
    pub sampling: MeasureOptions,
    pub gpu: GpuRequest,
    pub destination: Destination,
}

impl Measure<LatencyArgs> for LatencyConfig {
    /// Checks the output paths; orders the batch sizes.
    fn from_args(args: &LatencyArgs) -> Result<LatencyConfig> {
        let destination = super::checked(args.out.destination())?;
        let mut batches = args.batches.clone();
        batches.sort_unstable();
        batches.dedup();
        Ok(LatencyConfig {
            batches,
            sampling: args.sampling.options(),
            gpu: args.gpu.request()?,
            destination,
        })
    }

    /// Runs the latency experiment.
    fn document(&self, command_line: String) -> Result<impl Document + 'static> {
        let context = GpuContext::new(&self.gpu)?;
        measure(&context, &self.batches, self.sampling, command_line, false)
    }

    fn destination(&self) -> &Destination {
        &self.destination
    }
}
