//! `hpclab latency`: the round trip of an empty dispatch and the cost per dispatch in batches.

use crate::cli::LatencyArgs;
use crate::error::Result;
use crate::experiments::latency::measure;
use crate::gpu::GpuContext;
use crate::measure::MeasureOptions;
use crate::report;

/// Runs the latency experiment.
pub fn execute(args: &LatencyArgs, command_line: String) -> Result<()> {
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
    report::emit(&document, args.out.format, args.out.output.as_deref())?;
    if let Some(path) = &args.out.plot {
        document.chart().write_svg(path)?;
        eprintln!("hpclab: wrote {}", path.display());
    }
    Ok(())
}
