//! `hpclab scaling KERNEL --size n`: the rayon backend on 1..N threads and 2N.

use super::Measure;
use crate::backend::Backend;
use crate::cli::ScalingArgs;
use crate::engine::plan::{THREADS_PER_CORE, check_threads, logical_cores};
use crate::engine::{self, GpuState, Plan};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::experiments::scaling::ScalingDocument;
use crate::report::progress::Progress;
use crate::report::{Destination, Document};

/// A checked scaling experiment: the one-thread plan and the thread counts to run it on.
pub struct ScalingConfig {
    pub plan: Plan,
    /// N: every count from 1 to N is measured, then 2N (oversubscribed).
    pub max_threads: usize,
    pub destination: Destination,
}

impl Measure<ScalingArgs> for ScalingConfig {
    /// Checks the kernel, its one rayon variant, the size and the output paths.
    fn from_args(args: &ScalingArgs) -> Result<ScalingConfig> {
        let max = args.max_threads.map_or_else(logical_cores, |t| t as usize);
        // The experiment ends at twice the largest count.
        check_threads("--max-threads", max, THREADS_PER_CORE / 2)?;
        let plan = Plan::kernel(&args.kernel)?
            .backends_named("rayon")
            .variants(args.variant.as_deref())
            .size(args.size)
            .sampling(args.sampling.options())
            .threads(Some(1))
            .kernel_options(args.kernel_args.options(None))
            .seed(args.kernel_args.seed)
            .build()?;
        if plan.implementations.len() != 1 {
            return Err(Error::usage(format!(
                "{} has several rayon variants; choose one with --variant",
                plan.kernel.info().name
            )));
        }
        let destination = super::checked(args.out.destination())?;
        Ok(ScalingConfig {
            plan,
            max_threads: max,
            destination,
        })
    }

    /// Runs the scaling experiment.
    fn document(&self, command_line: String) -> Result<impl Document + 'static> {
        let no_gpu = GpuState::none();
        let thread_counts = self.thread_counts();
        let progress = Progress::new(thread_counts.len() as u64, "thread counts", false);
        let mut measured = Vec::new();
        for threads in thread_counts {
            progress.set_message(format!("{} threads", threads));
            let plan = self.plan.with_threads(threads);
            let record = engine::run(&plan, &no_gpu, command_line.clone(), true)?
                .records
                .into_iter()
                .find(|r| r.backend == Backend::Rayon)
                .ok_or_else(|| Error::usage("the kernel has no rayon backend"))?;
            measured.push((threads, record.phases.compute, record.verified));
            progress.step();
        }
        progress.finish();
        let environment = Environment::capture(self.max_threads, None);
        Ok(ScalingDocument::new(
            self.plan.kernel.info().name,
            self.plan.size,
            measured,
            environment,
            command_line,
        ))
    }

    fn destination(&self) -> &Destination {
        &self.destination
    }
}

impl ScalingConfig {
    /// 1..=N, then 2N.
    pub fn thread_counts(&self) -> Vec<usize> {
        (1..=self.max_threads)
            .chain([2 * self.max_threads])
            .collect()
    }
}
