//! `hpclab latency`: the round trip of an empty dispatch and the cost per dispatch in batches.

use super::Outcome;
use crate::cli::LatencyArgs;
use crate::error::Result;
use crate::experiments::latency::{LatencyDocument, measure};
use crate::gpu::GpuContext;
use crate::measure::MeasureOptions;
use crate::report;

/// Runs the latency experiment.
pub fn document(args: &LatencyArgs, command_line: String) -> Result<LatencyDocument> {
    for path in [&args.out.output, &args.out.plot].into_iter().flatten() {
        report::check_output_path(path)?;
    }
    let context = GpuContext::new(&args.gpu.request())?;
    let mut batches = args.batches.clone();
    batches.sort_unstable();
    batches.dedup();
    let document = measure(
        &context,
        &batches,
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
pub fn execute(args: &LatencyArgs, command_line: String) -> Result<Outcome> {
    let document = document(args, command_line)?;
    report::publish(&document, &args.out.destination())?;
    Ok(Outcome::Success)
}
