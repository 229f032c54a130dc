//! `hpclab transfer`: host↔device bandwidth and latency for each upload path and for readback.

use super::Measure;
use crate::cli::TransferArgs;
use crate::engine::plan::check_host_memory;
use crate::error::{Error, Result};
use crate::experiments::transfer::{measure, sizes};
use crate::gpu::{GpuContext, GpuRequest};
use crate::measure::MeasureOptions;
use crate::report::{Destination, Document};
use crate::size::{cap_size, format_count};

/// A checked transfer experiment.
pub struct TransferConfig {
    /// Smallest and largest transfer in bytes (the largest is capped by the adapter later).
    pub min: u64,
    pub max: u64,
    pub sampling: MeasureOptions,
    pub gpu: GpuRequest,
    pub destination: Destination,
}

impl Measure<TransferArgs> for TransferConfig {
    /// Checks the size range and the output paths.
    fn from_args(args: &TransferArgs) -> Result<TransferConfig> {
        let (min, max) = args.sizes.unwrap_or((args.min, args.max));
        if min > max {
            return Err(Error::usage(format!(
                "--min {min} is larger than --max {max}"
            )));
        }
        // The source and the copy read back, the device buffer and the two staging buffers (all
        // in host memory on a software adapter).
        check_host_memory(
            &format!("--max {}: the transfer experiment", format_count(max)),
            "--max",
            cap_size(max).saturating_mul(5),
        )?;
        let destination = super::checked(args.out.destination())?;
        Ok(TransferConfig {
            min,
            max,
            sampling: args.sampling.options(),
            gpu: args.gpu.request()?,
            destination,
        })
    }

    /// Runs the transfer experiment.
    fn document(&self, command_line: String) -> Result<impl Document + 'static> {
        let context = GpuContext::new(&self.gpu)?;
        let max = cap_size(self.max).min(context.adapter.max_buffer_bytes / 4 * 4);
        measure(
            &context,
            &sizes(self.min.min(max), max),
            self.sampling,
            command_line,
            false,
        )
    }

    fn destination(&self) -> &Destination {
        &self.destination
    }
}
