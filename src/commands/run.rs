//! `hpclab run KERNEL`: one kernel on the chosen backends, verified, each phase timed.

use super::Outcome;
use crate::backend::Backend;
use crate::cli::RunArgs;
use crate::cpu::info::available_memory_bytes;
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::experiments::probe::probe;
use crate::gpu::{AdapterChoice, GpuContext, GpuRequest};
use crate::kernels::{self, Kernel, KernelOptions};
use crate::measure::compare::Baseline;
use crate::measure::record::{RecordInput, fill_speedups};
use crate::measure::runner::{take_samples, time_compute};
use crate::measure::verdict::{MachineModel, judge};
use crate::measure::{MeasureOptions, Record};
use crate::report::progress::Progress;
use crate::report::{self, Format, GpuSetupReport, RunDocument};
use crate::size::format_bytes;
use std::path::PathBuf;

/// One row of the table: a backend and, for kernels with several implementations there, the
/// variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Implementation {
    pub backend: Backend,
    pub variant: Option<&'static str>,
}

/// A checked `run` configuration: everything a user can get wrong has been caught.
#[derive(Clone)]
pub struct RunConfig {
    pub kernel: &'static dyn Kernel,
    pub size: u64,
    /// What to measure, in table order.
    pub implementations: Vec<Implementation>,
    /// True when the user named the backends (a missing GPU is then an error, not a note).
    pub backends_explicit: bool,
    pub options: MeasureOptions,
    pub kernel_options: KernelOptions,
    pub threads: usize,
    pub gpu: GpuRequest,
    pub seed: u64,
    pub format: Format,
    pub output: Option<PathBuf>,
    /// The saved document to compare with, checked against the kernel and size.
    pub baseline: Option<Baseline>,
}

/// Parses `scalar,simd,gpu` or `all` against the backends `kernel` has.
pub fn parse_backends(text: &str, kernel: &dyn Kernel) -> Result<Vec<Backend>> {
    let available = kernel.backends();
    if text.trim() == "all" {
        return Ok(available.to_vec());
    }
    let mut backends = Vec::new();
    for name in text.split(',').map(str::trim) {
        let backend = Backend::parse(name).ok_or_else(|| {
            Error::usage(format!(
                "unknown backend '{name}'; use scalar, simd, rayon, library, gpu (comma-separated) or all"
            ))
        })?;
        if !available.contains(&backend) {
            let names: Vec<&str> = available.iter().map(|b| b.name()).collect();
            return Err(Error::usage(format!(
                "{} has no '{name}' backend; it has {}",
                kernel.info().name,
                names.join(", ")
            )));
        }
        if !backends.contains(&backend) {
            backends.push(backend);
        }
    }
    backends.sort();
    Ok(backends)
}

/// The rows to measure: each backend with its default variants, or with the variants the user
/// named (`both` and `all` name every variant).
pub fn plan_implementations(
    kernel: &dyn Kernel,
    backends: &[Backend],
    wanted: Option<&str>,
) -> Result<Vec<Implementation>> {
    let wanted: Option<Vec<&str>> = wanted.map(|text| text.split(',').map(str::trim).collect());
    let every = wanted
        .as_ref()
        .is_some_and(|names| names.iter().any(|n| *n == "both" || *n == "all"));
    let mut plan = Vec::new();
    let mut matched = Vec::new();
    for &backend in backends {
        let variants = kernel.variants(backend);
        if variants.is_empty() {
            plan.push(Implementation {
                backend,
                variant: None,
            });
            continue;
        }
        for variant in variants {
            let chosen = match &wanted {
                _ if every => true,
                Some(names) => names.contains(&variant.name),
                None => variant.default,
            };
            if chosen {
                matched.push(variant.name);
                plan.push(Implementation {
                    backend,
                    variant: Some(variant.name),
                });
            }
        }
    }
    if let Some(names) = &wanted {
        let known: Vec<&str> = Backend::ALL
            .iter()
            .flat_map(|&b| kernel.variants(b).iter().map(|v| v.name))
            .collect();
        for name in names.iter().filter(|n| **n != "both" && **n != "all") {
            if !known.contains(name) {
                return Err(Error::usage(if known.is_empty() {
                    format!(
                        "{} has no variants; drop --variant/--residency",
                        kernel.info().name
                    )
                } else {
                    format!(
                        "{} has no variant '{name}'; it has {}",
                        kernel.info().name,
                        known.join(", ")
                    )
                }));
            }
        }
        if matched.is_empty() {
            return Err(Error::usage(format!(
                "--variant {}: no chosen backend of {} has it; see `hpclab list`",
                names.join(","),
                kernel.info().name
            )));
        }
    }
    Ok(plan)
}

/// Refuses a size whose arrays do not fit in this machine's memory (or in any memory).
pub fn check_memory(kernel: &dyn Kernel, size: u64, with_gpu: bool) -> Result<()> {
    if usize::try_from(size).is_err() || size > 1 << 40 {
        return Err(Error::usage(format!(
            "--size {size} is far beyond this machine's memory; use a smaller --size"
        )));
    }
    let footprint = kernel.footprint(size);
    let mut needed = footprint.host_bytes;
    if with_gpu {
        // Staging and readback buffers live in host memory (and everything does on a
        // software adapter); count them so that a run never thrashes halfway.
        needed += footprint.gpu_bytes;
    }
    if let Some(available) = available_memory_bytes() {
        // Leave a tenth for the OS and everything else running.
        let usable = available / 10 * 9;
        if needed > usable {
            return Err(Error::usage(format!(
                "--size {size}: {} needs about {} of memory, more than the {} this machine can spare (90% of {} available); use a smaller --size",
                kernel.info().name,
                format_bytes(needed),
                format_bytes(usable),
                format_bytes(available)
            )));
        }
    }
    Ok(())
}

impl RunConfig {
    /// Checks the arguments: kernel, backends, variants, options, sizes against host memory,
    /// output paths.
    pub fn from_args(args: &RunArgs) -> Result<RunConfig> {
        let kernel = kernels::find(&args.kernel).ok_or_else(|| {
            let names: Vec<&str> = kernels::all().iter().map(|k| k.info().name).collect();
            Error::usage(format!(
                "unknown kernel '{}'; choose one of: {} (see `hpclab list`)",
                args.kernel,
                names.join(", ")
            ))
        })?;
        let backends = parse_backends(&args.backend, kernel)?;
        if args.variant.is_some() && args.residency.is_some() {
            return Err(Error::usage("give --variant or --residency, not both"));
        }
        let implementations = plan_implementations(
            kernel,
            &backends,
            args.variant.as_deref().or(args.residency.as_deref()),
        )?;
        let kernel_options = KernelOptions {
            max_iter: args.max_iter,
            steps: args.steps,
            image: args.image.clone(),
        };
        for option in kernel_options.given() {
            if !kernel.options().contains(&option) {
                return Err(Error::usage(format!(
                    "{} does not apply to {}; see `hpclab list`",
                    option.flag(),
                    kernel.info().name
                )));
            }
        }
        let wanted = args.size.unwrap_or_else(|| kernel.default_size());
        let size = crate::size::cap_size(wanted);
        if size < wanted {
            eprintln!("hpclab: HPCLAB_MAX_SIZE caps the size {wanted} to {size}");
        }
        check_memory(kernel, size, backends.contains(&Backend::Gpu))?;
        for path in [&args.output, &args.image].into_iter().flatten() {
            report::check_output_path(path)?;
        }
        Ok(RunConfig {
            kernel,
            size,
            backends_explicit: args.backend.trim() != "all",
            implementations,
            options: MeasureOptions {
                warmup: args.warmup as usize,
                runs: args.runs as usize,
            },
            kernel_options,
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
            baseline: match &args.compare {
                Some(path) => {
                    let baseline = Baseline::load(path)?;
                    baseline.check_matches(kernel.info().name, &[size])?;
                    Some(baseline)
                }
                None => None,
            },
        })
    }

    fn wants_gpu(&self) -> bool {
        self.implementations
            .iter()
            .any(|i| i.backend == Backend::Gpu)
    }
}

/// The GPU as a run sees it: a device, or the reason there is none.
pub struct GpuState {
    pub context: Option<GpuContext>,
    /// Why the GPU rows are missing, when the user did not insist on the GPU.
    pub unavailable: Option<String>,
    /// The machine model behind the verdicts, measured on first use.
    model: std::cell::OnceCell<Option<MachineModel>>,
}

impl GpuState {
    /// A GPU state around an open device.
    pub fn with(context: GpuContext) -> GpuState {
        GpuState {
            context: Some(context),
            ..GpuState::none()
        }
    }

    /// No GPU: the CPU backends only.
    pub fn none() -> GpuState {
        GpuState {
            context: None,
            unavailable: None,
            model: Default::default(),
        }
    }

    /// The machine model, probed once per process; `None` when there is no GPU or the probe
    /// could not fit a model (a very noisy machine).
    pub fn model(&self) -> Option<&MachineModel> {
        self.model
            .get_or_init(|| {
                self.context
                    .as_ref()
                    .and_then(|context| probe(context).ok())
            })
            .as_ref()
    }
}

/// Opens the GPU when the configuration needs it. A missing adapter is an error when the user
/// asked for the GPU by name or chose an adapter, and a note in the output otherwise.
pub fn open_gpu(config: &RunConfig) -> Result<GpuState> {
    if !config.wants_gpu() {
        return Ok(GpuState::none());
    }
    match GpuContext::new(&config.gpu) {
        Ok(context) => Ok(GpuState {
            context: Some(context),
            ..GpuState::none()
        }),
        Err(Error::Usage(message))
            if !config.backends_explicit
                && config.gpu.adapter == AdapterChoice::Preferred
                && config.gpu.api.is_none() =>
        {
            Ok(GpuState {
                unavailable: Some(message),
                ..GpuState::none()
            })
        }
        Err(error) => Err(error),
    }
}

/// Refuses a size whose largest GPU buffer the adapter cannot hold.
pub fn check_gpu_buffer(config: &RunConfig, gpu: &GpuState) -> Result<()> {
    let Some(context) = gpu.context.as_ref().filter(|_| config.wants_gpu()) else {
        return Ok(());
    };
    let largest = config
        .kernel
        .footprint(config.size)
        .largest_gpu_buffer_bytes;
    if largest > context.adapter.max_buffer_bytes {
        return Err(Error::usage(format!(
            "--size {}: {} needs a {} GPU buffer but {} allows at most {}; use a smaller --size or leave out the gpu backend",
            config.size,
            config.kernel.info().name,
            format_bytes(largest),
            context.adapter.name,
            format_bytes(context.adapter.max_buffer_bytes)
        )));
    }
    Ok(())
}

/// Measures every configured implementation and returns the document. `quiet` hides the
/// progress bar.
pub fn measure(
    config: &RunConfig,
    gpu_state: &GpuState,
    command_line: String,
    quiet: bool,
) -> Result<RunDocument> {
    check_gpu_buffer(config, gpu_state)?;
    let gpu = gpu_state.context.as_ref();
    let gpu_unavailable = gpu_state.unavailable.clone();
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
    let mut problem = pool.install(|| {
        config
            .kernel
            .prepare(config.size as usize, config.seed, &config.kernel_options)
    });

    let implementations: Vec<Implementation> = config
        .implementations
        .iter()
        .copied()
        .filter(|i| i.backend != Backend::Gpu || gpu.is_some())
        .collect();
    let samples_each = (config.options.warmup + config.options.runs) as u64;
    let progress = Progress::new(samples_each * implementations.len() as u64, quiet);
    let mut records = Vec::new();
    let mut gpu_setup = None;
    for Implementation { backend, variant } in implementations {
        let label = variant.map_or(backend.to_string(), |v| format!("{backend} {v}"));
        progress.set_message(format!("{} on {label}", info.name));
        problem.clear_output();
        let samples = match backend {
            Backend::Gpu => {
                let context = gpu.expect("filtered above");
                let mut run = problem.gpu(context, variant)?;
                let setup = GpuSetupReport::new(&context.setup, run.setup());
                // Several GPU variants: report the compilation of all of them.
                gpu_setup = Some(match gpu_setup {
                    Some(GpuSetupReport {
                        shader_compile_s,
                        buffers_s,
                        ..
                    }) => GpuSetupReport {
                        shader_compile_s: shader_compile_s + setup.shader_compile_s,
                        buffers_s: buffers_s + setup.buffers_s,
                        ..setup
                    },
                    None => setup,
                });
                take_samples(config.options, || run.sample(), |_, _| progress.step())?
            }
            // Parallel backends run inside the pool so that --threads holds.
            Backend::Rayon | Backend::Library => take_samples(
                config.options,
                || Ok(pool.install(|| time_compute(|| problem.run_cpu(backend, variant)))),
                |_, _| progress.step(),
            )?,
            Backend::Scalar | Backend::Simd => take_samples(
                config.options,
                || Ok(time_compute(|| problem.run_cpu(backend, variant))),
                |_, _| progress.step(),
            )?,
        };
        records.push(Record::from_samples(
            RecordInput {
                kernel: info.name,
                variant: variant.map(str::to_string),
                backend,
                size: config.size,
                cost: problem
                    .cost(variant)
                    .unwrap_or_else(|| config.kernel.cost(config.size)),
                verification: problem.verify(),
                threads: match backend {
                    Backend::Rayon | Backend::Library => Some(config.threads),
                    Backend::Scalar | Backend::Simd => Some(1),
                    Backend::Gpu => None,
                },
            },
            &samples,
        ));
    }
    progress.finish();
    let machine_model = if records.iter().any(|r| r.backend == Backend::Gpu) {
        gpu_state.model().copied()
    } else {
        None
    };
    if let Some(model) = &machine_model {
        for record in records.iter_mut().filter(|r| r.backend == Backend::Gpu) {
            record.verdict = Some(judge(record, model));
        }
    }
    if let Some(path) = &config.kernel_options.image {
        problem.write_image(path)?;
    }
    fill_speedups(&mut records);
    Ok(RunDocument {
        hpclab_version: env!("CARGO_PKG_VERSION"),
        command: command_line,
        environment: Environment::capture(config.threads, gpu.map(|g| g.adapter.clone())),
        kernel: info.name.to_string(),
        size: config.size,
        seed: config.seed,
        warmup: config.options.warmup,
        runs: config.options.runs,
        gpu_setup,
        gpu_unavailable,
        machine_model,
        comparison: config.baseline.as_ref().map(|b| b.compare(&records)),
        baseline_command: config.baseline.as_ref().map(|b| b.command.clone()),
        records,
    })
}

/// Checks the arguments, opens the GPU when needed and measures: the document of one run.
pub fn document(args: &RunArgs, command_line: String) -> Result<RunDocument> {
    let config = RunConfig::from_args(args)?;
    let gpu = open_gpu(&config)?;
    measure(&config, &gpu, command_line, false)
}

/// `hpclab run`: check, measure, report.
pub fn execute(args: &RunArgs, command_line: String) -> Result<Outcome> {
    let config = RunConfig::from_args(args)?;
    let gpu = open_gpu(&config)?;
    let document = measure(&config, &gpu, command_line, false)?;
    report::emit(&document, config.format, config.output.as_deref())?;
    if let Some(path) = &config.kernel_options.image {
        eprintln!("hpclab: wrote {}", path.display());
    }
    Ok(if document.all_verified() {
        Outcome::Success
    } else {
        Outcome::VerificationFailed
    })
}
