//! `hpclab sweep KERNEL --sizes …`: every backend at every size, and the GPU break-even.

use super::Outcome;
use super::run::{RunConfig, check_memory, measure, open_gpu};
use crate::cli::{RunArgs, SweepArgs};
use crate::environment::Environment;
use crate::error::Result;
use crate::experiments::sweep::SweepDocument;
use crate::measure::compare::Baseline;
use crate::report::progress::Progress;
use crate::report::{self, Format};
use crate::size::cap_size;

/// Runs the sweep.
pub fn document(args: &SweepArgs, command_line: String) -> Result<SweepDocument> {
    // The run configuration checks kernel, backends, variants and options once.
    let base = RunConfig::from_args(&RunArgs {
        kernel: args.kernel.clone(),
        size: None,
        backend: args.backend.clone(),
        variant: args.variant.clone(),
        runs: args.runs,
        warmup: args.warmup,
        threads: args.threads,
        adapter: args.gpu.adapter.clone(),
        gpu_api: args.gpu.gpu_api,
        max_iter: args.max_iter,
        steps: args.steps,
        residency: None,
        image: None,
        seed: args.seed,
        format: Format::Table,
        output: None,
        compare: None,
    })?;
    // Without --sizes: from the kernel's default size / 4096 up to it, doubling.
    let default_size = base.kernel.default_size();
    let mut sizes: Vec<u64> = match &args.sizes {
        Some(sizes) => sizes.clone(),
        None => {
            crate::size::parse_sizes(&format!("{}..{default_size}", (default_size / 4096).max(1)))
                .map_err(crate::error::Error::usage)?
        }
    };
    sizes.iter_mut().for_each(|s| *s = cap_size(*s));
    sizes.dedup();
    for &size in &sizes {
        check_memory(
            base.kernel,
            size,
            base.implementations
                .iter()
                .any(|i| i.backend == crate::Backend::Gpu),
        )?;
    }
    let baseline = match &args.compare {
        Some(path) => {
            let baseline = Baseline::load(path)?;
            baseline.check_matches(base.kernel.info().name, &sizes)?;
            Some(baseline)
        }
        None => None,
    };
    for path in [&args.out.output, &args.out.plot].into_iter().flatten() {
        report::check_output_path(path)?;
    }
    let gpu = open_gpu(&base)?;
    let progress = Progress::new(sizes.len() as u64, false);
    let mut records = Vec::new();
    for &size in &sizes {
        progress.set_message(format!(
            "{} at n = {}",
            base.kernel.info().name,
            crate::size::format_count(size)
        ));
        let config = RunConfig {
            size,
            ..base.clone()
        };
        records.extend(measure(&config, &gpu, command_line.clone(), true)?.records);
        progress.step();
    }
    progress.finish();
    let environment = Environment::capture(
        base.threads,
        gpu.context.as_ref().map(|g| g.adapter.clone()),
    );
    let mut document = SweepDocument::new(
        base.kernel,
        sizes,
        records,
        environment,
        command_line,
        gpu.unavailable.clone(),
    );
    if let Some(baseline) = &baseline {
        document.comparison = Some(baseline.compare(&document.records));
        document.baseline_command = Some(baseline.command.clone());
    }
    Ok(document)
}

/// Runs the experiment and publishes its document and figure.
pub fn execute(args: &SweepArgs, command_line: String) -> Result<Outcome> {
    let document = document(args, command_line)?;
    report::publish(&document, &args.out.destination())?;
    Ok(if document.records.iter().all(|r| r.verified) {
        Outcome::Success
    } else {
        Outcome::VerificationFailed
    })
}
