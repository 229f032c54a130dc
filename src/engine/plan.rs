//! The plan of one measurement: which kernel at which size, which implementations, how many
//! samples, on which threads and GPU. Built in code by [`PlanBuilder`], which checks everything a
//! caller can get wrong before any work starts.

use crate::backend::Backend;
use crate::cpu::info::available_memory_bytes;
use crate::error::{Error, Result};
use crate::gpu::GpuRequest;
use crate::kernels::{self, Implementation, Kernel, KernelOptions};
use crate::measure::MeasureOptions;
use crate::size::{cap_size, format_bytes, format_count};

/// A checked plan of one measurement: everything a caller can get wrong has been caught.
#[derive(Clone)]
pub struct Plan {
    pub kernel: &'static dyn Kernel,
    pub size: u64,
    /// What to measure, in table order.
    pub implementations: Vec<Implementation>,
    /// True when the caller named the backends (a missing GPU is then an error, not a note).
    pub backends_explicit: bool,
    pub sampling: MeasureOptions,
    pub kernel_options: KernelOptions,
    /// Threads of the rayon and library backends.
    pub threads: usize,
    pub gpu: GpuRequest,
    pub seed: u64,
    /// The longest a Python row may take, estimated before it runs (`--max-seconds`).
    pub max_seconds: f64,
    /// True for `--backend ladder`: the table shows each rung's speed-up over the one above.
    pub ladder: bool,
    /// Rows the kernel refuses at this size (not named by `--variant`: those are an error),
    /// with the reason; the table lists them as not run.
    pub refused: Vec<Refused>,
    /// Every row asked for, before the refusals at this size.
    planned: Vec<Implementation>,
    /// Variants named by `--variant` (a refusal of one of them is an error).
    named_variants: Vec<&'static str>,
}

/// `--max-seconds` when not given.
pub const DEFAULT_MAX_SECONDS: f64 = 60.0;

impl Plan {
    /// A builder for a plan of the kernel called `name`.
    pub fn kernel(name: &str) -> Result<PlanBuilder> {
        let kernel = kernels::find(name).ok_or_else(|| {
            let names: Vec<&str> = kernels::all().iter().map(|k| k.info().name).collect();
            Error::usage(format!(
                "unknown kernel '{name}'; choose one of: {} (see `hpclab list`)",
                names.join(", ")
            ))
        })?;
        Ok(PlanBuilder::new(kernel))
    }

    /// True when a GPU row is planned.
    pub fn wants_gpu(&self) -> bool {
        self.implementations
            .iter()
            .any(|i| i.backend == Backend::Gpu)
    }

    /// The same plan at another size, checked against this machine's memory.
    pub fn at_size(&self, size: u64) -> Result<Plan> {
        let backends: Vec<Backend> = self.implementations.iter().map(|i| i.backend).collect();
        check_plan_memory(self.kernel, size, &backends)?;
        let (implementations, refused) =
            split_refused(self.kernel, &self.planned, size, &self.named_variants)?;
        if implementations.is_empty() {
            return Err(Error::usage(format!(
                "{} at n = {size}: {}",
                self.kernel.info().name,
                refused
                    .iter()
                    .map(|(_, reason)| reason.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        Ok(Plan {
            size,
            implementations,
            refused,
            ..self.clone()
        })
    }

    /// The same plan on another number of threads.
    pub fn with_threads(&self, threads: usize) -> Plan {
        Plan {
            threads,
            ..self.clone()
        }
    }
}

/// Which backends a plan runs.
#[derive(Debug, Clone)]
enum BackendChoice {
    /// Every compiled backend the kernel has.
    All,
    /// The course's ladder, Python rungs first (`--backend ladder`).
    Ladder,
    /// As typed: `scalar,simd,gpu` or `all`.
    Named(String),
    /// Chosen in code; those the kernel lacks are left out.
    Wanted(Vec<Backend>),
}

/// Builds a [`Plan`]; [`PlanBuilder::build`] checks it.
#[derive(Clone)]
pub struct PlanBuilder {
    kernel: &'static dyn Kernel,
    size: Option<u64>,
    backends: BackendChoice,
    variants: Option<String>,
    sampling: MeasureOptions,
    kernel_options: KernelOptions,
    threads: Option<usize>,
    gpu: GpuRequest,
    seed: u64,
    max_seconds: f64,
}

impl PlanBuilder {
    /// A plan of `kernel` at its default size on every backend, 2 warm-up and 10 kept samples,
    /// every core, the preferred adapter, seed 42.
    pub fn new(kernel: &'static dyn Kernel) -> PlanBuilder {
        PlanBuilder {
            kernel,
            size: None,
            backends: BackendChoice::All,
            variants: None,
            sampling: MeasureOptions {
                warmup: 2,
                runs: 10,
            },
            kernel_options: KernelOptions::default(),
            threads: None,
            gpu: GpuRequest::default(),
            seed: 42,
            max_seconds: DEFAULT_MAX_SECONDS,
        }
    }

    /// The problem size; `None` keeps the kernel's default size.
    pub fn size(mut self, size: Option<u64>) -> Self {
        self.size = size;
        self
    }

    /// The backends as a user types them: `scalar,simd,gpu` or `all`.
    pub fn backends_named(mut self, text: &str) -> Self {
        self.backends = match text.trim() {
            "all" => BackendChoice::All,
            "ladder" => BackendChoice::Ladder,
            _ => BackendChoice::Named(text.to_string()),
        };
        self
    }

    /// The backends chosen in code; those the kernel does not have are left out, and a missing
    /// GPU is a note, not an error.
    pub fn backends(mut self, backends: &[Backend]) -> Self {
        self.backends = BackendChoice::Wanted(backends.to_vec());
        self
    }

    /// Variants by name, comma-separated (`both` and `all` name every one); `None` keeps the
    /// kernel's defaults.
    pub fn variants(mut self, names: Option<&str>) -> Self {
        self.variants = names.map(str::to_string);
        self
    }

    /// Warm-up and kept samples per implementation.
    pub fn sampling(mut self, sampling: MeasureOptions) -> Self {
        self.sampling = sampling;
        self
    }

    /// The kernel-specific options (each checked against the kernel).
    pub fn kernel_options(mut self, options: KernelOptions) -> Self {
        self.kernel_options = options;
        self
    }

    /// Threads of the rayon and library backends; `None` is every core.
    pub fn threads(mut self, threads: Option<usize>) -> Self {
        self.threads = threads;
        self
    }

    /// The adapter and graphics API of the GPU rows.
    pub fn gpu(mut self, request: GpuRequest) -> Self {
        self.gpu = request;
        self
    }

    /// The seed of the deterministic inputs.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The longest a Python row may take (seconds, positive).
    pub fn max_seconds(mut self, max_seconds: f64) -> Self {
        self.max_seconds = max_seconds;
        self
    }

    /// The kernel this plan is for.
    pub fn kernel_ref(&self) -> &'static dyn Kernel {
        self.kernel
    }

    /// Checks the plan: backends, variants and options against the kernel, the size against
    /// `HPCLAB_MAX_SIZE` and this machine's memory.
    pub fn build(self) -> Result<Plan> {
        let kernel = self.kernel;
        let (backends, backends_explicit) = match &self.backends {
            BackendChoice::All => (kernel.backends().to_vec(), false),
            BackendChoice::Ladder => {
                let every = kernel.every_backend();
                let ladder: Vec<Backend> = Backend::LADDER
                    .into_iter()
                    .filter(|b| every.contains(b))
                    .collect();
                (ladder, false)
            }
            BackendChoice::Named(text) => (parse_backends(text, kernel)?, true),
            BackendChoice::Wanted(wanted) => {
                let mut backends: Vec<Backend> = wanted
                    .iter()
                    .copied()
                    .filter(|b| kernel.every_backend().contains(b))
                    .collect();
                backends.sort();
                backends.dedup();
                (backends, false)
            }
        };
        let planned = plan_implementations(kernel, &backends, self.variants.as_deref())?;
        let wanted = self.size.unwrap_or_else(|| kernel.default_size());
        let size = cap_size(wanted);
        let named: Vec<&'static str> = planned
            .iter()
            .filter_map(|i| i.variant.map(|v| v.name))
            .filter(|name| {
                self.variants
                    .as_deref()
                    .is_some_and(|text| text.split(',').any(|n| n.trim() == *name))
            })
            .collect();
        let (implementations, refused) = split_refused(kernel, &planned, size, &named)?;
        if implementations.is_empty() {
            return Err(Error::usage(format!(
                "{} has none of the backends asked for; see `hpclab list`",
                kernel.info().name
            )));
        }
        for option in self.kernel_options.given() {
            if !kernel.options().contains(&option) {
                return Err(Error::usage(format!(
                    "{} does not apply to {}; see `hpclab list`",
                    option.flag(),
                    kernel.info().name
                )));
            }
        }
        if size < wanted {
            eprintln!("hpclab: HPCLAB_MAX_SIZE caps the size {wanted} to {size}");
        }
        check_plan_memory(kernel, size, &backends)?;
        if let Some(threads) = self.threads {
            check_threads("--threads", threads, THREADS_PER_CORE)?;
        }
        if !(self.max_seconds.is_finite() && self.max_seconds > 0.0) {
            return Err(Error::usage(format!(
                "--max-seconds takes a positive number of seconds, not {}",
                self.max_seconds
            )));
        }
        Ok(Plan {
            kernel,
            size,
            implementations,
            backends_explicit,
            sampling: self.sampling,
            kernel_options: self.kernel_options,
            threads: self.threads.unwrap_or_else(logical_cores),
            gpu: self.gpu,
            seed: self.seed,
            max_seconds: self.max_seconds,
            ladder: matches!(self.backends, BackendChoice::Ladder),
            planned,
            named_variants: named,
            refused,
        })
    }
}

/// Parses `scalar,simd,gpu` or `all` against the backends `kernel` has.
pub fn parse_backends(text: &str, kernel: &dyn Kernel) -> Result<Vec<Backend>> {
    if text.trim() == "all" {
        return Ok(kernel.backends().to_vec());
    }
    let available = kernel.every_backend();
    let mut backends = Vec::new();
    for name in text.split(',').map(str::trim) {
        let backend = Backend::parse(name).ok_or_else(|| {
            Error::usage(format!(
                "unknown backend '{name}'; use python, numpy, numba, scalar, simd, rayon, library, gpu (comma-separated), all or ladder"
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

/// A row the kernel refuses at the plan's size, with the reason.
pub type Refused = (Implementation, String);

/// Splits `planned` into the rows that can run at `size` and those the kernel refuses there,
/// with the reason; the refusal of a variant in `named` (typed in `--variant`) is an error.
fn split_refused(
    kernel: &dyn Kernel,
    planned: &[Implementation],
    size: u64,
    named: &[&str],
) -> Result<(Vec<Implementation>, Vec<Refused>)> {
    let mut implementations = Vec::new();
    let mut refused = Vec::new();
    for &implementation in planned {
        match kernel.refusal(implementation, size) {
            None => implementations.push(implementation),
            Some(reason)
                if implementation
                    .variant
                    .is_some_and(|v| named.contains(&v.name)) =>
            {
                return Err(Error::usage(format!("--variant: {reason}")));
            }
            Some(reason) => refused.push((implementation, reason)),
        }
    }
    Ok((implementations, refused))
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
                    variant: Some(variant),
                });
            }
        }
    }
    if let Some(names) = &wanted {
        let known: Vec<&str> = Backend::ALL
            .iter()
            .flat_map(|&b| kernel.variants(b).iter().map(|v| v.name))
            .collect();
        // "serial, parallel" alone would not say they are Numba's.
        let listed: Vec<String> = Backend::ALL
            .iter()
            .filter(|&&b| !kernel.variants(b).is_empty())
            .map(|&b| {
                let names: Vec<&str> = kernel.variants(b).iter().map(|v| v.name).collect();
                format!("{b}: {}", names.join(", "))
            })
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
                        listed.join("; ")
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

/// The most threads a plan may run per logical core: enough to show oversubscription, few
/// enough that a typo (`--threads 4096`) is refused instead of running for hours.
pub const THREADS_PER_CORE: usize = 4;

/// Logical cores of this machine.
pub fn logical_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Refuses `threads` above `per_core` threads per logical core; `flag` names the option.
pub fn check_threads(flag: &str, threads: usize, per_core: usize) -> Result<()> {
    let cores = logical_cores();
    let limit = cores * per_core;
    if threads > limit {
        return Err(Error::usage(format!(
            "{flag} {threads}: more than {per_core} threads per core ({limit} on these {cores} cores) only measures the scheduler; use {flag} {limit} or less"
        )));
    }
    Ok(())
}

/// The largest `--size` of any kernel: 2^40 (elements, samples, pixels per side, bodies).
pub const MAX_SIZE: u64 = 1 << 40;

/// Refuses a size above [`MAX_SIZE`] or whose arrays do not fit in this machine's memory.
pub fn check_memory(kernel: &dyn Kernel, size: u64, with_gpu: bool) -> Result<()> {
    let backends: &[Backend] = if with_gpu { &[Backend::Gpu] } else { &[] };
    check_plan_memory(kernel, size, backends)
}

/// Bytes a Python worker holds per byte of the kernel's host arrays: pure Python's lists hold a
/// 24-byte float object and an 8-byte pointer per 4-byte element; NumPy and Numba a copy of
/// the inputs and the result.
pub fn python_memory_factor(backend: Backend) -> u64 {
    match backend {
        Backend::Python => 8,
        _ => 2,
    }
}

/// [`check_memory`] for a plan that runs `backends`: the GPU's staging buffers and the largest
/// Python worker (one runs at a time) come on top of the kernel's own arrays.
pub fn check_plan_memory(kernel: &dyn Kernel, size: u64, backends: &[Backend]) -> Result<()> {
    let with_gpu = backends.contains(&Backend::Gpu);
    if usize::try_from(size).is_err() || size > MAX_SIZE {
        return Err(Error::usage(format!(
            "--size {size} ({}) is above the largest size {} runs at, {}; use a smaller --size",
            format_count(size),
            kernel.info().name,
            format_count(MAX_SIZE)
        )));
    }
    let footprint = kernel.footprint(size);
    let mut needed = footprint.host_bytes;
    if with_gpu {
        // Staging and readback buffers live in host memory (and everything does on a
        // software adapter); count them so that a run never thrashes halfway.
        needed = needed.saturating_add(footprint.gpu_bytes);
    }
    let worker = backends
        .iter()
        .filter(|b| b.is_python())
        .map(|&b| python_memory_factor(b).saturating_mul(footprint.host_bytes))
        .max()
        .unwrap_or(0);
    needed = needed.saturating_add(worker);
    check_host_memory(
        &format!("--size {size}: {}", kernel.info().name),
        "--size",
        needed,
    )
}

/// Refuses `needed` bytes of host memory beyond what this machine can spare. `subject` starts
/// the message (the flag and value at fault, and what needs the memory); `flag` is the advice.
pub fn check_host_memory(subject: &str, flag: &str, needed: u64) -> Result<()> {
    // A count that saturated u64 is not a number of bytes to print.
    if needed == u64::MAX {
        return Err(Error::usage(format!(
            "{subject} would need more than 2^64 bytes of memory; use a smaller {flag}"
        )));
    }
    if let Some(available) = available_memory_bytes() {
        // Leave a tenth for the OS and everything else running.
        let usable = available / 10 * 9;
        if needed > usable {
            return Err(Error::usage(format!(
                "{subject} needs about {} of memory, more than the {} this machine can spare (90% of {} available); use a smaller {flag}",
                format_bytes(needed),
                format_bytes(usable),
                format_bytes(available)
            )));
        }
    }
    Ok(())
}
