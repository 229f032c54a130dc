//! `hpclab scaling KERNEL --size n`: the rayon backend on 1..N threads and 2N.

use super::Outcome;
use super::run::{GpuState, RunConfig, measure};
use crate::cli::{RunArgs, ScalingArgs};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::experiments::scaling::ScalingDocument;
use crate::report::progress::Progress;
use crate::report::{self, Format};

/// Runs the scaling experiment.
pub fn document(args: &ScalingArgs, command_line: String) -> Result<ScalingDocument> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max = args.max_threads.map_or(cores, |t| t as usize);
    let base = RunConfig::from_args(&RunArgs {
        kernel: args.kernel.clone(),
        size: args.size,
        backend: "rayon".into(),
        variant: args.variant.clone(),
        runs: args.runs,
        warmup: args.warmup,
        threads: Some(1),
        adapter: None,
        gpu_api: None,
        max_iter: args.max_iter,
        steps: args.steps,
        residency: None,
        image: None,
        seed: args.seed,
        format: Format::Table,
        output: None,
        compare: None,
    })?;
    if base.implementations.len() != 1 {
        return Err(Error::usage(format!(
            "{} has several rayon variants; choose one with --variant",
            base.kernel.info().name
        )));
    }
    for path in [&args.out.output, &args.out.plot].into_iter().flatten() {
        report::check_output_path(path)?;
    }
    let mut thread_counts: Vec<usize> = (1..=max).collect();
    thread_counts.push(2 * max);
    let no_gpu = GpuState::none();
    let progress = Progress::new(thread_counts.len() as u64, false);
    let mut measured = Vec::new();
    for threads in thread_counts {
        progress.set_message(format!("{} threads", threads));
        let config = RunConfig {
            threads,
            ..base.clone()
        };
        let document = measure(&config, &no_gpu, command_line.clone(), true)?;
        let record = document
            .records
            .into_iter()
            .next()
            .ok_or_else(|| Error::usage("the kernel has no rayon backend"))?;
        measured.push((threads, record.phases.compute, record.verified));
        progress.step();
    }
    progress.finish();
    let environment = Environment::capture(max, None);
    let document = ScalingDocument::new(
        base.kernel.info().name,
        base.size,
        measured,
        environment,
        command_line,
    );
    Ok(document)
}

/// Runs the experiment and publishes its document and figure.
pub fn execute(args: &ScalingArgs, command_line: String) -> Result<Outcome> {
    let document = document(args, command_line)?;
    report::publish(&document, &args.out.destination())?;
    Ok(if document.points.iter().all(|p| p.verified) {
        Outcome::Success
    } else {
        Outcome::VerificationFailed
    })
}
