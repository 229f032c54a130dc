//! `hpclab gil [KERNEL] --workers 1..N`: the GIL experiment.

use super::Measure;
use crate::cli::GilArgs;
use crate::engine::plan::{THREADS_PER_CORE, check_threads, logical_cores};
use crate::error::{Error, Result};
use crate::experiments::gil::{self, GilPlan};
use crate::kernels;
use crate::report::{Destination, Document};

/// A checked GIL experiment and where it goes.
pub struct GilConfig {
    pub plan: GilPlan,
    pub destination: Destination,
}

/// The kernels whose rows `python/gil.py` knows.
const ROW_KERNELS: [&str; 2] = ["julia", "mandelbrot"];

impl Measure<GilArgs> for GilConfig {
    /// Checks the kernel (an escape-time one), the worker counts and the output paths.
    fn from_args(args: &GilArgs) -> Result<GilConfig> {
        if !ROW_KERNELS.contains(&args.kernel.as_str()) {
            return Err(Error::usage(format!(
                "gil runs the rows of {}, not '{}'",
                ROW_KERNELS.join(" or "),
                args.kernel
            )));
        }
        let kernel = kernels::find(&args.kernel).expect("the row kernels are registered");
        let size = crate::size::cap_size(args.size);
        let workers = args
            .workers
            .clone()
            .unwrap_or_else(|| (1..=logical_cores()).collect());
        let most = workers.iter().copied().max().unwrap_or(1);
        check_threads("--workers", most, THREADS_PER_CORE)?;
        // The same check as every plan of the kernel: size limits and host memory.
        crate::engine::plan::check_plan_memory(kernel, size, &[crate::backend::Backend::Python])?;
        let kernel_options = args.kernel_args.options(None);
        for option in kernel_options.given() {
            if !kernel.options().contains(&option) {
                return Err(Error::usage(format!(
                    "{} does not apply to {}",
                    option.flag(),
                    args.kernel
                )));
            }
        }
        let destination = super::checked(args.out.destination())?;
        if kernel.python_rungs().is_empty() {
            return Err(Error::usage(format!(
                "{} has no Python rungs in this build",
                args.kernel
            )));
        }

        Ok(GilConfig {
            plan: GilPlan {
                kernel,
                size,
                kernel_options,
                seed: args.kernel_args.seed,
                workers,
                sampling: args.sampling.options(),
            },
            destination,
        })
    }

    fn document(&self, command_line: String) -> Result<impl Document + 'static> {
        gil::measure(&self.plan, command_line)
    }

    fn destination(&self) -> &Destination {
        &self.destination
    }
}
