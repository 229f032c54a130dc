//! `hpclab transfer`: host↔device bandwidth and latency for each upload path and for readback.

use super::Outcome;
use crate::cli::TransferArgs;
use crate::error::{Error, Result};
use crate::experiments::transfer::{TransferDocument, measure, sizes};
use crate::gpu::GpuContext;
use crate::measure::MeasureOptions;
use crate::report;

/// Runs the transfer experiment.
pub fn document(args: &TransferArgs, command_line: String) -> Result<TransferDocument> {
    if args.min > args.max {
        return Err(Error::usage(format!(
            "--min {} is larger than --max {}",
            args.min, args.max
        )));
    }
    for path in [&args.out.output, &args.out.plot].into_iter().flatten() {
        report::check_output_path(path)?;
    }
    let context = GpuContext::new(&args.gpu.request())?;
    let max = crate::size::cap_size(args.max).min(context.adapter.max_buffer_bytes / 4 * 4);
    let document = measure(
        &context,
        &sizes(args.min.min(max), max),
        MeasureOptions {
            warmup: args.warmup as usize,
            runs: args.runs as usize,
        },
        command_line,
        false,
    )?;
    Ok(document)
}

/// Runs the experiment and publishes its document and figure.
pub fn execute(args: &TransferArgs, command_line: String) -> Result<Outcome> {
    let document = document(args, command_line)?;
    report::publish(&document, &args.out.destination())?;
    Ok(if document.verified {
        Outcome::Success
    } else {
        Outcome::VerificationFailed
    })
}
