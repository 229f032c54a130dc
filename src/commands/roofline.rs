//! `hpclab roofline`: the probe on CPU and GPU, the ceilings, and the catalogue placed on them.

use super::Outcome;
use super::run::{GpuState, RunConfig, measure};
use crate::cli::{RooflineArgs, RunArgs};
use crate::environment::Environment;
use crate::error::Result;
use crate::experiments::roofline::{
    FMA_CHAINS, KernelPoint, RooflineDocument, ceilings, measure_probe,
};
use crate::gpu::GpuContext;
use crate::kernels::{self, Kernel};
use crate::measure::MeasureOptions;
use crate::report::progress::Progress;
use crate::report::{self, Format};
use crate::size::cap_size;

/// Bytes of memory a catalogue kernel may use when it is placed on the roofline.
const KERNEL_BYTES: u64 = 16 << 20;

/// The largest power-of-two size whose arrays (host and GPU) fit in [`KERNEL_BYTES`].
fn kernel_size(kernel: &dyn Kernel) -> u64 {
    let fits = |n: u64| {
        let footprint = kernel.footprint(n);
        footprint.host_bytes + footprint.gpu_bytes <= KERNEL_BYTES
    };
    let mut n = 1;
    while n < 1 << 40 && fits(2 * n) {
        n *= 2;
    }
    cap_size(n)
}

/// Runs the roofline experiment.
pub fn document(args: &RooflineArgs, command_line: String) -> Result<RooflineDocument> {
    for path in [&args.out.output, &args.out.plot].into_iter().flatten() {
        report::check_output_path(path)?;
    }
    let size = cap_size(args.size);
    super::run::check_memory(
        kernels::find("copy").expect("copy is registered"),
        size,
        !args.cpu_only,
    )?;
    // Without any adapter the CPU roof is still worth drawing, unless the user chose a GPU.
    let gpu = if args.cpu_only {
        GpuState::none()
    } else {
        match GpuContext::new(&args.gpu.request()) {
            Ok(context) => GpuState::with(context),
            Err(crate::error::Error::Usage(message))
                if args.gpu.adapter.is_none() && args.gpu.gpu_api.is_none() =>
            {
                eprintln!("hpclab: the CPU roof only: {message}");
                GpuState::none()
            }
            Err(error) => return Err(error),
        }
    };
    let options = MeasureOptions {
        warmup: args.warmup as usize,
        runs: args.runs as usize,
    };
    let catalogue: Vec<&'static dyn Kernel> = if args.no_kernels {
        Vec::new()
    } else {
        kernels::all()
            .into_iter()
            .filter(|k| k.cost(1 << 10).flops > 0)
            .collect()
    };
    let devices = if gpu.context.is_some() { 2 } else { 1 };
    let progress = Progress::new((FMA_CHAINS.len() * devices + catalogue.len()) as u64, false);
    progress.set_message("probe".into());
    let points = measure_probe(size as usize, gpu.context.as_ref(), options, || {
        progress.step()
    })?;
    let mut placed = Vec::new();
    for kernel in catalogue {
        progress.set_message(kernel.info().name.to_string());
        let backends: Vec<&str> = ["rayon", "gpu"]
            .into_iter()
            .filter(|b| *b != "gpu" || gpu.context.is_some())
            .filter(|b| kernel.backends().iter().any(|k| k.name() == *b))
            .collect();
        let n = kernel_size(kernel);
        let config = RunConfig::from_args(&RunArgs {
            kernel: kernel.info().name.to_string(),
            size: Some(n),
            backend: backends.join(","),
            variant: None,
            runs: args.runs,
            warmup: args.warmup,
            threads: None,
            adapter: args.gpu.adapter.clone(),
            gpu_api: args.gpu.gpu_api,
            max_iter: None,
            steps: None,
            residency: None,
            image: None,
            seed: 42,
            format: Format::Table,
            output: None,
            compare: None,
        })?;
        for record in measure(&config, &gpu, command_line.clone(), true)?.records {
            if let Some(gflops) = record
                .gflops
                .filter(|_| record.verified && record.cost.device_bytes > 0)
            {
                placed.push(KernelPoint {
                    kernel: kernel.info().name.to_string(),
                    backend: match &record.variant {
                        Some(variant) => format!("{} {variant}", record.backend),
                        None => record.backend.to_string(),
                    },
                    size: n,
                    intensity: record.cost.flops as f64 / record.cost.device_bytes as f64,
                    gflops,
                });
            }
        }
        progress.step();
    }
    progress.finish();
    let document = RooflineDocument {
        hpclab_version: env!("CARGO_PKG_VERSION"),
        command: command_line,
        environment: Environment::capture(
            rayon::current_num_threads(),
            gpu.context.as_ref().map(|g| g.adapter.clone()),
        ),
        size,
        ceilings: ceilings(&points),
        points,
        kernels: placed,
    };
    Ok(document)
}

/// Runs the experiment and publishes its document and figure.
pub fn execute(args: &RooflineArgs, command_line: String) -> Result<Outcome> {
    let document = document(args, command_line)?;
    report::publish(&document, &args.out.destination())?;
    Ok(if document.points.iter().all(|p| p.verified) {
        Outcome::Success
    } else {
        Outcome::VerificationFailed
    })
}
