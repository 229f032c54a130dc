//! `hpclab run KERNEL`: one kernel on the chosen backends, verified, each phase timed.

use super::Outcome;
use crate::backend::Backend;
use crate::cli::RunArgs;
use crate::cpu::info::available_memory_bytes;
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::gpu::{AdapterChoice, GpuContext, GpuRequest};
use crate::kernels::{self, Kernel};
use crate::measure::record::{RecordInput, fill_speedups};
use crate::measure::runner::{take_samples, time_compute};
use crate::measure::{MeasureOptions, Record};
use crate::report::progress::Progress;
use crate::report::{self, Format, GpuSetupReport, RunDocument};
use crate::size::format_bytes;
use std::path::PathBuf;

/// A checked `run` configuration: everything a user can get wrong has been caught.
pub struct RunConfig {
    pub kernel: &'static dyn Kernel,
    pub size: u64,
    pub backends: Vec<Backend>,
    /// True when the user named the backends (a missing GPU is then an error, not a note).
    pub backends_explicit: bool,
    pub options: MeasureOptions,
    pub threads: usize,
    pub gpu: GpuRequest,
    pub seed: u64,
    pub format: Format,
    pub output: Option<PathBuf>,
}

/// Parses `scalar,simd,gpu` or `all`.
pub fn parse_backends(text: &str) -> Result<Vec<Backend>> {
    if text.trim() == "all" {
        return Ok(Backend::ALL.to_vec());
    }
    let mut backends = Vec::new();
    for name in text.split(',').map(str::trim) {
        let backend = Backend::parse(name).ok_or_else(|| {
            Error::usage(format!(
                "unknown backend '{name}'; use scalar, simd, rayon, gpu (comma-separated) or all"
            ))
        })?;
        if !backends.contains(&backend) {
            backends.push(backend);
        }
    }
    backends.sort();
    Ok(backends)
}

impl RunConfig {
    /// Checks the arguments: kernel, backends, sizes against host memory, output path.
    pub fn from_args(args: &RunArgs) -> Result<RunConfig> {
        let kernel = kernels::find(&args.kernel).ok_or_else(|| {
            let names: Vec<&str> = kernels::all().iter().map(|k| k.info().name).collect();
            Error::usage(format!(
                "unknown kernel '{}'; choose one of: {} (see `hpclab list`)",
                args.kernel,
                names.join(", ")
            ))
        })?;
        let backends = parse_backends(&args.backend)?;
        let size = args.size;
        if usize::try_from(size).is_err() || size > 1 << 40 {
            return Err(Error::usage(format!(
                "--size {size} is far beyond this machine's memory; use a smaller --size"
            )));
        }
        let footprint = kernel.footprint(size);
        let mut needed = footprint.host_bytes;
        if backends.contains(&Backend::Gpu) {
            // Staging and readback buffers live in host memory (and everything does on a
            // software adapter); count them so that a run never thrashes halfway.
            needed += footprint.gpu_bytes;
        }
        if let Some(available) = available_memory_bytes()
            && needed > available / 10 * 9
        {
            return Err(Error::usage(format!(
                "--size {size}: {} needs about {} of memory but only {} is available; use a smaller --size",
                kernel.info().name,
                format_bytes(needed),
                format_bytes(available)
            )));
        }
        if let Some(path) = &args.output {
            report::check_output_path(path)?;
        }
        Ok(RunConfig {
            kernel,
            size,
            backends_explicit: args.backend.trim() != "all",
            backends,
            options: MeasureOptions {
                warmup: args.warmup as usize,
                runs: args.runs as usize,
            },
            threads: args.threads.map_or_else(
                || std::thread::available_parallelism().map_or(1, |n| n.get()),
                |t| t as usize,
            ),
            gpu: GpuRequest {
                api: args.gpu_api,
                adapter: args
                    .adapter
                    .as_deref()
                    .map_or(AdapterChoice::Preferred, AdapterChoice::parse),
                max_binding_bytes: None,
            },
            seed: args.seed,
            format: args.format,
            output: args.output.clone(),
        })
    }
}

/// Opens the GPU when the configuration needs it. A missing adapter is an error when the user
/// asked for the GPU by name or chose an adapter, and a note in the output otherwise.
fn open_gpu(config: &RunConfig) -> Result<(Option<GpuContext>, Option<String>)> {
    if !config.backends.contains(&Backend::Gpu) {
        return Ok((None, None));
    }
    match GpuContext::new(&config.gpu) {
        Ok(context) => {
            let largest = config
                .kernel
                .footprint(config.size)
                .largest_gpu_buffer_bytes;
            if largest > context.adapter.max_buffer_bytes {
                return Err(Error::usage(format!(
                    "--size {}: {} needs a {} GPU buffer but {} allows at most {}; use a smaller --size or --backend scalar,simd,rayon",
                    config.size,
                    config.kernel.info().name,
                    format_bytes(largest),
                    context.adapter.name,
                    format_bytes(context.adapter.max_buffer_bytes)
                )));
            }
            Ok((Some(context), None))
        }
        Err(Error::Usage(message))
            if !config.backends_explicit
                && config.gpu.adapter == AdapterChoice::Preferred
                && config.gpu.api.is_none() =>
        {
            Ok((None, Some(message)))
        }
        Err(error) => Err(error),
    }
}

/// Measures every configured backend and returns the document.
pub fn measure(config: &RunConfig, command_line: String, quiet: bool) -> Result<RunDocument> {
    let (gpu, gpu_unavailable) = open_gpu(config)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|e| {
            Error::usage(format!(
                "--threads {}: cannot start the thread pool: {e}",
                config.threads
            ))
        })?;
    let info = config.kernel.info();
    let mut problem = pool.install(|| config.kernel.prepare(config.size as usize, config.seed));

    let samples_per_backend = (config.options.warmup + config.options.runs) as u64;
    let backends: Vec<Backend> = config
        .backends
        .iter()
        .copied()
        .filter(|b| b.is_cpu() || gpu.is_some())
        .collect();
    let progress = Progress::new(samples_per_backend * backends.len() as u64, quiet);
    let mut records = Vec::new();
    let mut gpu_setup = None;
    for backend in backends {
        progress.set_message(format!("{} on {backend}", info.name));
        problem.clear_output();
        let samples = match backend {
            Backend::Gpu => {
                let context = gpu.as_ref().expect("filtered above");
                let mut run = problem.gpu(context)?;
                gpu_setup = Some(GpuSetupReport::new(&context.setup, run.setup()));
                take_samples(config.options, || run.sample(), |_, _| progress.step())?
            }
            Backend::Rayon => take_samples(
                config.options,
                || Ok(pool.install(|| time_compute(|| problem.run_cpu(backend)))),
                |_, _| progress.step(),
            )?,
            _ => take_samples(
                config.options,
                || Ok(time_compute(|| problem.run_cpu(backend))),
                |_, _| progress.step(),
            )?,
        };
        let verification = problem.verify();
        records.push(Record::from_samples(
            RecordInput {
                kernel: info.name,
                variant: None,
                backend,
                size: config.size,
                cost: config.kernel.cost(config.size),
                verification,
                threads: match backend {
                    Backend::Rayon => Some(config.threads),
                    Backend::Gpu => None,
                    Backend::Scalar | Backend::Simd => Some(1),
                },
            },
            &samples,
        ));
    }
    progress.finish();
    fill_speedups(&mut records);
    Ok(RunDocument {
        hpclab_version: env!("CARGO_PKG_VERSION"),
        command: command_line,
        environment: Environment::capture(config.threads, gpu.as_ref().map(|g| g.adapter.clone())),
        kernel: info.name.to_string(),
        size: config.size,
        seed: config.seed,
        warmup: config.options.warmup,
        runs: config.options.runs,
        gpu_setup,
        gpu_unavailable,
        records,
    })
}

/// `hpclab run`: check, measure, report.
pub fn execute(args: &RunArgs, command_line: String) -> Result<Outcome> {
    let config = RunConfig::from_args(args)?;
    let document = measure(&config, command_line, false)?;
    let text = report::exporter(config.format).render(&document)?;
    match &config.output {
        Some(path) => {
            report::write_atomically(path, &text)?;
            if config.format != Format::Table {
                print!("{}", report::exporter(Format::Table).render(&document)?);
            }
            eprintln!("hpclab: wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(if document.all_verified() {
        Outcome::Success
    } else {
        Outcome::VerificationFailed
    })
}
