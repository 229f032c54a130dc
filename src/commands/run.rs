//! `hpclab run KERNEL`: one kernel on the chosen backends, verified, each phase timed.

use crate::Outcome;
use crate::cli::RunArgs;
use crate::engine::{self, GpuState, Plan};
use crate::error::{Error, Result};
use crate::experiments::run::RunDocument;
use crate::measure::compare::Baseline;
use crate::report::{self, Destination};

/// A checked `run` configuration: the plan, where its document goes, and the baseline.
pub struct RunConfig {
    pub plan: Plan,
    pub destination: Destination,
    /// The saved document to compare with, checked against the kernel and size.
    pub baseline: Option<Baseline>,
}

impl RunConfig {
    /// Checks the arguments: kernel, backends, variants, options, sizes against host memory,
    /// output paths, the baseline.
    pub fn from_args(args: &RunArgs) -> Result<RunConfig> {
        let builder = Plan::kernel(&args.kernel)?.backends_named(&args.backend);
        if args.variant.is_some() && args.residency.is_some() {
            return Err(Error::usage("give --variant or --residency, not both"));
        }
        let plan = builder
            .variants(args.variant.as_deref().or(args.residency.as_deref()))
            .kernel_options(args.kernel_args.options(args.image.clone()))
            .size(args.size)
            .sampling(args.sampling.options())
            .threads(args.threads.count())
            .gpu(args.gpu.request())
            .seed(args.kernel_args.seed)
            .build()?;
        let destination = args.out.destination();
        for path in [&destination.output, &args.image].into_iter().flatten() {
            report::check_output_path(path)?;
        }
        let baseline = match &args.compare {
            Some(path) => {
                let baseline = Baseline::load(path)?;
                baseline.check_matches(plan.kernel.info().name, &[plan.size])?;
                Some(baseline)
            }
            None => None,
        };
        Ok(RunConfig {
            plan,
            destination,
            baseline,
        })
    }
}

/// Opens the GPU when needed, measures, and compares with the baseline: the document of one run.
pub fn document(config: &RunConfig, command_line: String) -> Result<RunDocument> {
    let gpu = GpuState::for_plan(&config.plan)?;
    let mut document = engine::run(&config.plan, &gpu, command_line, false)?;
    if let Some(baseline) = &config.baseline {
        document.comparison = Some(baseline.compare(&document.records));
        document.baseline_command = Some(baseline.command.clone());
    }
    Ok(document)
}

/// `hpclab run`: check, measure, report.
pub fn execute(args: &RunArgs, command_line: String) -> Result<Outcome> {
    let config = RunConfig::from_args(args)?;
    let document = document(&config, command_line)?;
    let outcome = super::publish(&document, &config.destination)?;
    if let Some(path) = &config.plan.kernel_options.image {
        eprintln!("hpclab: wrote {}", path.display());
    }
    Ok(outcome)
}
