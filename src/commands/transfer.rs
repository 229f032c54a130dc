//! `hpclab transfer`: host↔device bandwidth and latency for each upload path and for readback.

use crate::Outcome;
use crate::cli::TransferArgs;
use crate::error::{Error, Result};
use crate::experiments::transfer::{TransferDocument, measure, sizes};
use crate::gpu::{GpuContext, GpuRequest};
use crate::measure::MeasureOptions;
use crate::report::Destination;
use crate::size::cap_size;

/// A checked transfer experiment.
pub struct TransferConfig {
    /// Smallest and largest transfer in bytes (the largest is capped by the adapter later).
    pub min: u64,
    pub max: u64,
    pub sampling: MeasureOptions,
    pub gpu: GpuRequest,
    pub destination: Destination,
}

impl TransferConfig {
    /// Checks the size range and the output paths.
    pub fn from_args(args: &TransferArgs) -> Result<TransferConfig> {
        if args.min > args.max {
            return Err(Error::usage(format!(
                "--min {} is larger than --max {}",
                args.min, args.max
            )));
        }
        let destination = args.out.destination();
        destination.check()?;
        Ok(TransferConfig {
            min: args.min,
            max: args.max,
            sampling: args.sampling.options(),
            gpu: args.gpu.request(),
            destination,
        })
    }
}

/// Runs the transfer experiment.
pub fn document(config: &TransferConfig, command_line: String) -> Result<TransferDocument> {
    let context = GpuContext::new(&config.gpu)?;
    let max = cap_size(config.max).min(context.adapter.max_buffer_bytes / 4 * 4);
    measure(
        &context,
        &sizes(config.min.min(max), max),
        config.sampling,
        command_line,
        false,
    )
}

/// Runs the experiment and publishes its document and figure.
pub fn execute(args: &TransferArgs, command_line: String) -> Result<Outcome> {
    let config = TransferConfig::from_args(args)?;
    let document = document(&config, command_line)?;
    super::publish(&document, &config.destination)
}
