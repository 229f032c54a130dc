//! `hpclab run KERNEL`: one kernel on the chosen backends, verified, each phase timed.

use super::Measure;
use crate::Outcome;
use crate::cli::RunArgs;
use crate::engine::{self, GpuState, Plan};
use crate::error::{Error, Result};
use crate::measure::compare::Baseline;
use crate::report::{Destination, Document};

/// A checked `run` configuration: the plan, where its document goes, and the baseline.
pub struct RunConfig {
    pub plan: Plan,
    pub destination: Destination,
    /// The saved document to compare with, checked against the kernel and size.
    pub baseline: Option<Baseline>,
}

impl Measure<RunArgs> for RunConfig {
    /// Checks the arguments: kernel, backends, variants, options, sizes against host memory,
    /// output paths, the baseline.
    fn from_args(args: &RunArgs) -> Result<RunConfig> {
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
            .gpu(args.gpu.request()?)
            .seed(args.kernel_args.seed)
            .max_seconds(args.max_seconds)
            .build()?;
        let destination = args.out.destination();
        if let Some(image) = &args.image
            && !image
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("png"))
        {
            return Err(Error::usage(format!(
                "--image {}: hpclab writes pictures as PNG; end the name in .png",
                image.display()
            )));
        }
        let image: Vec<(&'static str, &std::path::Path)> = args
            .image
            .iter()
            .map(|path| ("--image", path.as_path()))
            .collect();
        destination.check_with(&image)?;
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

    /// Opens the GPU when needed, measures, and compares with the baseline: the document of one
    /// run.
    fn document(&self, command_line: String) -> Result<impl Document + 'static> {
        let gpu = GpuState::for_plan(&self.plan)?;
        let mut document = engine::run(&self.plan, &gpu, command_line, false)?;
        (document.comparison, document.baseline_command) =
            super::compare(self.baseline.as_ref(), &document.records);
        Ok(document)
    }

    fn destination(&self) -> &Destination {
        &self.destination
    }
}

/// `hpclab run`: check, measure, report.
pub fn execute(args: &RunArgs, command_line: String) -> Result<Outcome> {
    let config = RunConfig::from_args(args)?;
    let document = config.document(command_line)?;
    let outcome = super::publish(&document, &config.destination)?;
    if let Some(path) = &config.plan.kernel_options.image {
        eprintln!("hpclab: wrote {}", path.display());
    }
    Ok(outcome)
}
