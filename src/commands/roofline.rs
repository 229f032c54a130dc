//! `hpclab roofline`: the probe on CPU and GPU, the ceilings, and the catalogue placed on them.

use super::Measure;
use crate::backend::Backend;
use crate::cli::RooflineArgs;
use crate::cpu::info::cache_levels;
use crate::engine::plan::check_memory;
use crate::engine::plan::{THREADS_PER_CORE, check_threads, logical_cores};
use crate::engine::{self, GpuState, PlanBuilder};
use crate::environment::{Environment, Provenance};
use crate::error::Result;
use crate::experiments::roofline::{
    FMA_CHAINS, KernelPoint, RooflineDocument, bandwidth_probe_size, ceilings, check_probe_fits,
    measure_probe,
};
use crate::gpu::GpuRequest;
use crate::kernels::{self, Kernel};
use crate::measure::MeasureOptions;
use crate::report::progress::Progress;
use crate::report::{Destination, Document};
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

/// A checked roofline: the probe's size and samples, the catalogue kernels to place, the GPU.
pub struct RooflineConfig {
    /// Elements of the probe.
    pub size: u64,
    pub sampling: MeasureOptions,
    /// Leave out the catalogue kernels.
    pub no_kernels: bool,
    /// Leave out the GPU.
    pub cpu_only: bool,
    pub gpu: GpuRequest,
    /// True when the user chose an adapter or an API (a missing GPU is then an error).
    pub gpu_given: bool,
    /// Threads of the CPU probe and of the rayon rows (every core when `None`).
    pub threads: Option<usize>,
    pub seed: u64,
    pub destination: Destination,
}

impl Measure<RooflineArgs> for RooflineConfig {
    /// Checks the output paths and the probe's size against memory.
    fn from_args(args: &RooflineArgs) -> Result<RooflineConfig> {
        let destination = super::checked(args.out.destination())?;
        if let Some(threads) = args.threads.count() {
            check_threads("--threads", threads, THREADS_PER_CORE)?;
        }
        let size = cap_size(args.size);
        check_memory(
            kernels::find("copy").expect("copy is registered"),
            size,
            !args.cpu_only,
        )?;
        // The bandwidth ceilings' triad, before any work.
        let caches = cache_levels();
        for backend in [Backend::Rayon, Backend::Gpu] {
            let n = cap_size(bandwidth_probe_size(backend, &caches));
            let with_gpu = backend == Backend::Gpu;
            if with_gpu && args.cpu_only {
                continue;
            }
            check_memory(
                kernels::find("triad").expect("triad is registered"),
                n,
                with_gpu,
            )?;
        }
        Ok(RooflineConfig {
            size,
            sampling: args.sampling.options(),
            no_kernels: args.no_kernels,
            cpu_only: args.cpu_only,
            gpu: args.gpu.request()?,
            gpu_given: args.gpu.given(),
            threads: args.threads.count(),
            seed: args.seed,
            destination,
        })
    }

    /// Runs the roofline experiment.
    fn document(&self, command_line: String) -> Result<impl Document + 'static> {
        // Without any adapter the CPU roof is still worth drawing, unless the user chose a GPU.
        let gpu = if self.cpu_only {
            GpuState::none()
        } else {
            let gpu = GpuState::open(&self.gpu, !self.gpu_given)?;
            if let Some(message) = &gpu.unavailable {
                eprintln!("hpclab: the CPU roof only: {message}");
            }
            if let Some(context) = &gpu.context {
                check_probe_fits(self.size, context)?;
            }
            gpu
        };
        let catalogue: Vec<&'static dyn Kernel> = if self.no_kernels {
            Vec::new()
        } else {
            kernels::all()
                .into_iter()
                .filter(|k| k.cost(1 << 10).flops > 0)
                .collect()
        };
        let devices = if gpu.context.is_some() { 2 } else { 1 };
        let progress = Progress::new(
            ((FMA_CHAINS.len() + 1) * devices + catalogue.len()) as u64,
            "measurements",
            false,
        );
        progress.set_message("probe".into());
        let points = measure_probe(
            self.size as usize,
            gpu.context.as_ref(),
            &FMA_CHAINS,
            self.sampling,
            self.threads,
            || progress.step(),
        )?;
        let backends: &[Backend] = if gpu.context.is_some() {
            &[Backend::Rayon, Backend::Gpu]
        } else {
            &[Backend::Rayon]
        };
        // The bandwidth ceilings: the STREAM triad itself, at sizes that leave the caches.
        let caches = cache_levels();
        let mut stream = Vec::new();
        for &backend in backends {
            progress.set_message(format!("triad on {backend} (bandwidth ceiling)"));
            let n = cap_size(bandwidth_probe_size(backend, &caches));
            let triad = kernels::find("triad").expect("triad is registered");
            let plan = PlanBuilder::new(triad)
                .backends(&[backend])
                .size(Some(n))
                .sampling(self.sampling)
                .threads(self.threads)
                .seed(self.seed)
                .gpu(self.gpu.clone())
                .build()?;
            gpu.check_plan(&plan)?;
            stream.extend(engine::run(&plan, &gpu, command_line.clone(), true)?.records);
            progress.step();
        }
        let mut placed = Vec::new();
        for kernel in catalogue {
            progress.set_message(kernel.info().name.to_string());
            let n = kernel_size(kernel);
            let plan = PlanBuilder::new(kernel)
                .backends(backends)
                .size(Some(n))
                .sampling(self.sampling)
                .threads(self.threads)
                .seed(self.seed)
                .gpu(self.gpu.clone())
                .build()?;
            for record in engine::run(&plan, &gpu, command_line.clone(), true)?.records {
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
                        resides_in: record.resides_in.clone(),
                    });
                }
            }
            progress.step();
        }
        progress.finish();
        let document = RooflineDocument {
            provenance: Provenance::new(
                command_line,
                Environment::capture(
                    self.threads.unwrap_or_else(logical_cores),
                    gpu.context.as_ref().map(|g| g.adapter.clone()),
                ),
            ),
            size: self.size,
            ceilings: ceilings(&points, &stream),
            points,
            kernels: placed,
        };
        Ok(document)
    }

    fn destination(&self) -> &Destination {
        &self.destination
    }
}
