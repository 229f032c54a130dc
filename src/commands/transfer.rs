//! `hpclab transfer`: host↔device bandwidth and latency for each upload path and for readback.

use crate::cli::TransferArgs;
use crate::error::{Error, Result};
use crate::experiments::transfer::{measure, sizes};
use crate::gpu::GpuContext;
use crate::measure::MeasureOptions;
use crate::report;

/// Runs the transfer experiment.
pub fn execute(args: &TransferArgs, command_line: String) -> Result<bool> {
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
    let max = report::cap_size(args.max).min(context.adapter.max_buffer_bytes / 4 * 4);
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
    report::emit(&document, args.out.format, args.out.output.as_deref())?;
    if let Some(path) = &args.out.plot {
        document.chart().write_svg(path)?;
        eprintln!("hpclab: wrote {}", path.display());
    }
    Ok(document.verified)
}
