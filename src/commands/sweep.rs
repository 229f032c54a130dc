//! `hpclab sweep KERNEL --sizes …`: every backend at every size, and the GPU break-even.

use super::Measure;
use crate::cli::SweepArgs;
use crate::engine::{self, GpuState, Plan};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::experiments::sweep::SweepDocument;
use crate::measure::compare::Baseline;
use crate::report::progress::Progress;
use crate::report::{Destination, Document};
use crate::size::{cap_size, format_count, parse_sizes};

/// A checked sweep: one plan per size, the baseline, where the document goes.
pub struct SweepConfig {
    /// The plan at each size, in order.
    pub plans: Vec<Plan>,
    pub baseline: Option<Baseline>,
    pub destination: Destination,
}

impl Measure<SweepArgs> for SweepConfig {
    /// Checks kernel, backends, variants and options once, then every size against memory.
    fn from_args(args: &SweepArgs) -> Result<SweepConfig> {
        let base = Plan::kernel(&args.kernel)?
            .backends_named(&args.backend)
            .variants(args.variant.as_deref())
            .sampling(args.sampling.options())
            .threads(args.threads.count())
            .kernel_options(args.kernel_args.options(None))
            .gpu(args.gpu.request()?)
            .seed(args.kernel_args.seed)
            .build()?;
        // Without --sizes: from the kernel's default size / 4096 up to it, doubling.
        let default_size = base.kernel.default_size();
        let mut sizes: Vec<u64> = match (&args.sizes, args.size) {
            (Some(sizes), _) => sizes.clone(),
            (None, Some(size)) => vec![size],
            (None, None) => {
                parse_sizes(&format!("{}..{default_size}", (default_size / 4096).max(1)))
                    .map_err(Error::usage)?
            }
        };
        sizes.iter_mut().for_each(|s| *s = cap_size(*s));
        sizes.dedup();
        let plans = sizes
            .iter()
            .map(|&size| base.at_size(size))
            .collect::<Result<Vec<Plan>>>()?;
        let baseline = match &args.compare {
            Some(path) => {
                let baseline = Baseline::load(path)?;
                baseline.check_matches(base.kernel.info().name, &sizes)?;
                Some(baseline)
            }
            None => None,
        };
        let destination = super::checked(args.out.destination())?;
        Ok(SweepConfig {
            plans,
            baseline,
            destination,
        })
    }

    /// Runs the sweep.
    fn document(&self, command_line: String) -> Result<impl Document + 'static> {
        let first = self
            .plans
            .first()
            .ok_or_else(|| Error::usage("--sizes: give at least one size"))?;
        let gpu = GpuState::for_plan(first)?;
        // Every size against the adapter's limits before the first is measured.
        for plan in &self.plans {
            gpu.check_plan(plan)?;
        }
        let progress = Progress::new(self.plans.len() as u64, "sizes", false);
        let mut records = Vec::new();
        for plan in &self.plans {
            progress.set_message(format!(
                "{} at n = {}",
                plan.kernel.info().name,
                format_count(plan.size)
            ));
            records.extend(engine::run(plan, &gpu, command_line.clone(), true)?.records);
            progress.step();
        }
        progress.finish();
        let environment = Environment::capture(
            first.threads,
            gpu.context.as_ref().map(|g| g.adapter.clone()),
        );
        let mut document = SweepDocument::new(
            first.kernel,
            self.plans.iter().map(|p| p.size).collect(),
            records,
            environment,
            command_line,
            gpu.unavailable.clone(),
        );
        (document.comparison, document.baseline_command) =
            super::compare(self.baseline.as_ref(), &document.records);
        Ok(document)
    }

    fn destination(&self) -> &Destination {
        &self.destination
    }
}
