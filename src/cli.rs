//! The command line as clap parses it. Commands turn these raw arguments into a checked
//! configuration before any work starts.

use crate::gpu::GpuApi;
use crate::kernels::KernelOptions;
use crate::measure::MeasureOptions;
use crate::report::{Destination, Format};
use crate::size::parse_size;
use clap::{Arg, Args, Parser, Subcommand};
use std::path::PathBuf;

/// hpclab — how modern hardware computes, by measurement.
///
/// Runs the same kernel as plain scalar code on one core, explicit SIMD on one core, all cores
/// with rayon, and a WGSL compute shader on the GPU, checks every result, and times the
/// host→device upload, the computation and the download apart.
#[derive(Debug, Parser)]
#[command(name = "hpclab", version, about, long_about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe the CPU (model, cores, SIMD set) and every GPU adapter wgpu finds.
    Devices(DevicesArgs),
    /// List the kernels with what --size means for each and its cost model.
    List(ListArgs),
    /// Run one kernel on the chosen backends, verify, and time each phase.
    Run(Box<RunArgs>),
    /// One kernel on every backend over a range of sizes, with the GPU break-even size.
    Sweep(Box<SweepArgs>),
    /// Strong scaling of the rayon backend: threads 1..N and 2N, Amdahl fit, Karp–Flatt.
    Scaling(Box<ScalingArgs>),
    /// Python workers and the GIL: an escape-time image over 1..N threads (pure Python, NumPy,
    /// Numba nogil), processes, and a free-threaded CPython where one is installed.
    Gil(Box<GilArgs>),
    /// The roofline: measured memory and compute ceilings of CPU and GPU, the catalogue placed on it.
    Roofline(RooflineArgs),
    /// Run a fixed suite and write DIR/report.md, DIR/report.html, the JSON and the plots.
    Report(ReportArgs),
    /// Host↔device bandwidth and latency from 4 KiB up, for each upload path and for readback.
    Transfer(TransferArgs),
    /// Round trip of an empty dispatch, and the cost per dispatch when many share a submission.
    Latency(LatencyArgs),
    /// Distributed memory over MPI: ping-pong, collectives, the stencil across ranks, startup,
    /// spawned workers and a task farm
    /// (build with `--features mpi`, run under mpirun).
    Mpi(MpiArgs),
}

/// How many samples a measurement takes. The ranges are written once, here; each subcommand
/// sets its own defaults and help with `#[command(mut_arg("runs", default_and_help(…)))]`.
#[derive(Debug, Clone, Copy, Args)]
pub struct Sampling {
    /// Samples kept per backend (after the warm-up).
    #[arg(long, short, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub runs: u32,
    /// Samples run and discarded first (first-touch page faults, lazy GPU zero-fill, cold caches).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub warmup: u32,
}

impl Sampling {
    /// The sample counts for the timing loop.
    pub fn options(&self) -> MeasureOptions {
        MeasureOptions {
            warmup: self.warmup as usize,
            runs: self.runs as usize,
        }
    }
}

/// Sets the default and help of a shared argument for one subcommand.
pub fn default_and_help(default: &'static str, help: &'static str) -> impl FnOnce(Arg) -> Arg {
    move |arg| arg.default_value(default).help(help)
}

/// Threads of the rayon backend.
#[derive(Debug, Clone, Copy, Args)]
pub struct Threads {
    /// Threads of the rayon backend (default: every core).
    #[arg(long, short, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,
}

impl Threads {
    /// The thread count given, if any.
    pub fn count(&self) -> Option<usize> {
        self.threads.map(|t| t as usize)
    }
}

/// The options some kernels take, and the seed of every kernel's inputs.
#[derive(Debug, Clone, Args)]
pub struct KernelArgs {
    /// Iteration cap of the escape-time kernels (mandelbrot, julia).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_iter: Option<u32>,
    /// Time steps of the simulation kernels (stencil).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub steps: Option<u32>,
    /// Region of the complex plane an escape-time kernel draws (mandelbrot, julia), e.g.
    /// --window=-1.8,1.8,-1.8,1.8.
    #[arg(long, value_name = "X0,X1,Y0,Y1", allow_hyphen_values = true,
          value_parser = crate::kernels::fractal::parse_window)]
    pub window: Option<[f64; 4]>,
    /// The Julia set's constant (julia), e.g. --c=-0.62772,-0.42193.
    #[arg(long = "c", value_name = "RE,IM", allow_hyphen_values = true,
          value_parser = crate::kernels::fractal::parse_c)]
    pub c: Option<[f64; 2]>,
    /// Seed of the deterministic inputs.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl KernelArgs {
    /// The kernel options given (`image` is `run`'s own).
    pub fn options(&self, image: Option<PathBuf>) -> KernelOptions {
        KernelOptions {
            max_iter: self.max_iter,
            steps: self.steps,
            image,
            window: self.window,
            c: self.c,
        }
    }
}

/// Which GPU adapter an experiment uses.
#[derive(Debug, Clone, Args)]
pub struct GpuChoice {
    /// GPU adapter: its index in `hpclab devices` or part of its name.
    #[arg(long)]
    pub adapter: Option<String>,
    /// Graphics API for the GPU.
    #[arg(long, value_enum)]
    pub gpu_api: Option<GpuApi>,
}

impl GpuChoice {
    /// The request for [`crate::gpu::GpuContext::new`], checked before any work (even when no
    /// GPU row runs): the API exists here, the adapter named matches one.
    pub fn request(&self) -> crate::error::Result<crate::gpu::GpuRequest> {
        let request = crate::gpu::GpuRequest {
            api: self.gpu_api,
            adapter: self.adapter.as_deref().map_or(
                crate::gpu::AdapterChoice::Preferred,
                crate::gpu::AdapterChoice::parse,
            ),
            max_binding_bytes: None,
        };
        crate::gpu::context::check_request(&request)?;
        Ok(request)
    }

    /// True when the user chose an adapter or an API (a missing GPU is then an error).
    pub fn given(&self) -> bool {
        self.adapter.is_some() || self.gpu_api.is_some()
    }
}

/// Where a document goes: the same two flags on every subcommand.
#[derive(Debug, Clone, Args)]
pub struct DocumentOutput {
    /// Output format [default: the extension of --output (.json, .csv, .md), else table].
    #[arg(long, short, value_enum)]
    pub format: Option<Format>,
    /// Write the output here instead of stdout (the table is still printed when the file holds
    /// another format).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Also write the document as JSON to FILE (the --export-* flags combine: one measurement,
    /// several files).
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,
    /// Also write the document as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,
    /// Also write the document as Markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_md: Option<PathBuf>,
}

impl DocumentOutput {
    /// Where the document goes (no figure).
    pub fn destination(&self) -> Destination {
        let exports = [
            (Format::Json, &self.export_json),
            (Format::Csv, &self.export_csv),
            (Format::Md, &self.export_md),
        ];
        Destination {
            format: self.format,
            output: self.output.clone(),
            plot: None,
            exports: exports
                .into_iter()
                .filter_map(|(format, path)| Some((format, path.clone()?)))
                .collect(),
        }
    }
}

/// Where an experiment's results go: the document, and its figure.
#[derive(Debug, Clone, Args)]
pub struct ExperimentOutput {
    #[command(flatten)]
    pub document: DocumentOutput,
    /// Draw the experiment's figure as an SVG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

impl ExperimentOutput {
    /// Where the document and its figure go.
    pub fn destination(&self) -> Destination {
        Destination {
            plot: self.plot.clone(),
            ..self.document.destination()
        }
    }
}

/// Arguments of `hpclab transfer`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  hpclab transfer --max 256Mi --plot transfer.svg",
    mut_arg("runs", default_and_help("5", "Samples kept per size and path")),
    mut_arg("warmup", default_and_help("1", "Samples discarded first"))
)]
pub struct TransferArgs {
    /// Largest transfer (capped by the adapter's largest buffer).
    #[arg(long, default_value = "256Mi", value_parser = parse_size)]
    pub max: u64,
    /// Smallest transfer; sizes double from here up to --max.
    #[arg(long, default_value = "4Ki", value_parser = parse_size)]
    pub min: u64,
    /// The sizes as FIRST..LAST, doubling, as `sweep --sizes` writes them (the same as --min
    /// FIRST --max LAST).
    #[arg(long, value_parser = crate::size::parse_size_range, conflicts_with_all = ["min", "max"])]
    pub sizes: Option<(u64, u64)>,
    #[command(flatten)]
    pub sampling: Sampling,
    #[command(flatten)]
    pub gpu: GpuChoice,
    #[command(flatten)]
    pub out: ExperimentOutput,
}

/// Arguments of `hpclab latency`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  hpclab latency --batches 1,10,100,1000 --plot latency.svg",
    mut_arg("runs", default_and_help("20", "Samples kept per batch size")),
    mut_arg("warmup", default_and_help("3", "Samples discarded first"))
)]
pub struct LatencyArgs {
    /// Dispatches per submission to measure, comma-separated.
    #[arg(long, default_value = "1,10,100,1000", value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batches: Vec<u32>,
    #[command(flatten)]
    pub sampling: Sampling,
    #[command(flatten)]
    pub gpu: GpuChoice,
    #[command(flatten)]
    pub out: ExperimentOutput,
}

/// Arguments of `hpclab devices`.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Only adapters of this graphics API.
    #[arg(long, value_enum)]
    pub gpu_api: Option<GpuApi>,
    #[command(flatten)]
    pub out: DocumentOutput,
}

/// Arguments of `hpclab list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub out: DocumentOutput,
}

/// Arguments of `hpclab run`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  hpclab run triad\n  hpclab run dot --size 16Mi --backend simd,rayon --runs 20\n  \
                        hpclab run triad --backend ladder\n  \
                        hpclab run copy --backend gpu --format json --output copy.json"
)]
pub struct RunArgs {
    /// Kernel to run (see `hpclab list`).
    pub kernel: String,
    /// Problem size n (see `hpclab list` for what it counts): a number with an optional suffix
    /// K, M, G (x1000) or Ki, Mi, Gi (x1024), or 2^N; e.g. 1000, 4K, 32Mi, 2^25. Default: the
    /// kernel's own (`hpclab list`).
    #[arg(long, short = 'n', value_parser = parse_size)]
    pub size: Option<u64>,
    /// Backends, comma-separated: python, numpy, numba (the Python rungs, run by a Python
    /// worker), scalar, simd, rayon, library, gpu; or all (every compiled backend the kernel
    /// has), or ladder (python, numpy, numba, scalar, simd, rayon, gpu, each with its speed-up
    /// over the rung above).
    #[arg(long, short, default_value = "all")]
    pub backend: String,
    /// Variants to run, comma-separated, for kernels with several implementations on a backend
    /// (see `hpclab list`); default: the kernel's default variants.
    #[arg(long)]
    pub variant: Option<String>,
    #[command(flatten)]
    pub sampling: Sampling,
    #[command(flatten)]
    pub threads: Threads,
    #[command(flatten)]
    pub gpu: GpuChoice,
    #[command(flatten)]
    pub kernel_args: KernelArgs,
    /// Where the stencil keeps its field between steps: resident (on the device), roundtrip
    /// (downloaded and uploaded every step), or both (two rows). Same as --variant.
    #[arg(long)]
    pub residency: Option<String>,
    /// Write the kernel's result as a PNG picture (mandelbrot, julia, stencil).
    #[arg(long)]
    pub image: Option<PathBuf>,
    #[command(flatten)]
    pub out: DocumentOutput,
    /// A JSON document saved from an earlier run of the same kernel and size: every figure is
    /// shown as a ratio to it.
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// The longest a Python row may take, in seconds: each is estimated from calibration runs
    /// at small sizes first, and one that would take longer is not run (the largest size that
    /// fits is named).
    #[arg(long, default_value_t = crate::engine::plan::DEFAULT_MAX_SECONDS)]
    pub max_seconds: f64,
}

/// Arguments of `hpclab sweep`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  hpclab sweep triad --sizes 1Ki..64Mi --plot triad-sweep.svg\n  hpclab sweep dot --sizes 1000,1M,16M --backend simd,gpu",
    mut_arg("runs", default_and_help("3", "Samples kept per backend and size")),
    mut_arg("warmup", default_and_help("1", "Samples discarded first"))
)]
pub struct SweepArgs {
    /// Kernel to sweep (see `hpclab list`).
    pub kernel: String,
    /// Sizes: FIRST..LAST doubling (e.g. 1Ki..256Mi) or a comma list (1000,1M,2^24). Default:
    /// from the kernel's default size / 4096 up to its default size.
    #[arg(long, value_parser = crate::size::parse_sizes)]
    pub sizes: Option<std::vec::Vec<u64>>,
    /// One size, as on `run` (the same as --sizes N).
    #[arg(long, short = 'n', value_parser = parse_size, conflicts_with = "sizes")]
    pub size: Option<u64>,
    /// Backends, comma-separated, or all.
    #[arg(long, short, default_value = "all")]
    pub backend: String,
    /// Variants to run, comma-separated (see `hpclab list`).
    #[arg(long)]
    pub variant: Option<String>,
    #[command(flatten)]
    pub sampling: Sampling,
    #[command(flatten)]
    pub threads: Threads,
    #[command(flatten)]
    pub kernel_args: KernelArgs,
    /// A JSON document saved from an earlier sweep (or run) of the same kernel: every figure is
    /// shown as a ratio to it.
    #[arg(long)]
    pub compare: Option<PathBuf>,
    #[command(flatten)]
    pub gpu: GpuChoice,
    #[command(flatten)]
    pub out: ExperimentOutput,
}

/// Arguments of `hpclab scaling`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  hpclab scaling triad --size 32Mi --plot triad-scaling.svg",
    mut_arg("runs", default_and_help("5", "Samples kept per thread count")),
    mut_arg("warmup", default_and_help("1", "Samples discarded first"))
)]
pub struct ScalingArgs {
    /// Kernel to scale (see `hpclab list`).
    pub kernel: String,
    /// Problem size n, the same for every thread count (strong scaling). Default: the kernel's
    /// own (`hpclab list`).
    #[arg(long, short = 'n', value_parser = parse_size)]
    pub size: Option<u64>,
    /// Largest thread count before the oversubscribed point (default: every core). `-t` and
    /// `--threads` name it too, as on the other subcommands.
    #[arg(long, short = 't', visible_alias = "threads", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_threads: Option<u32>,
    /// Variant of the rayon backend, for kernels that have several.
    #[arg(long)]
    pub variant: Option<String>,
    #[command(flatten)]
    pub sampling: Sampling,
    #[command(flatten)]
    pub kernel_args: KernelArgs,
    #[command(flatten)]
    pub out: ExperimentOutput,
}

/// Arguments of `hpclab gil`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  hpclab gil\n  hpclab gil julia --workers 1..4 --plot gil.svg",
    mut_arg(
        "runs",
        default_and_help("3", "Samples kept per mode and worker count")
    ),
    mut_arg("warmup", default_and_help("0", "Samples discarded first"))
)]
pub struct GilArgs {
    /// The escape-time kernel whose rows the workers share: julia or mandelbrot.
    #[arg(default_value = "julia")]
    pub kernel: String,
    /// Pixels per side of the image. Large enough that NumPy's and Numba's threads spend their
    /// time inside the library (a small image leaves NumPy's threads waiting on the GIL between
    /// operations); pure Python takes about a second per run at the default.
    #[arg(long, short = 'n', value_parser = parse_size, default_value = "800")]
    pub size: u64,
    /// Worker counts: A..B (every count from A to B), a comma list (1,2,4), or N (1..N).
    /// Default: 1 to the number of cores.
    #[arg(long, short = 'w', value_parser = parse_workers)]
    pub workers: Option<std::vec::Vec<usize>>,
    #[command(flatten)]
    pub sampling: Sampling,
    #[command(flatten)]
    pub kernel_args: KernelArgs,
    #[command(flatten)]
    pub out: ExperimentOutput,
}

/// Parses `--workers`: `A..B`, `1,2,4` or `N` (meaning 1..N); every count at least 1.
pub fn parse_workers(text: &str) -> std::result::Result<std::vec::Vec<usize>, String> {
    let number = |part: &str| -> std::result::Result<usize, String> {
        match part.trim().parse::<usize>() {
            Ok(count) if count >= 1 => Ok(count),
            _ => Err(format!(
                "'{}' is not a worker count (1 or more)",
                part.trim()
            )),
        }
    };
    let counts: std::vec::Vec<usize> = if let Some((first, last)) = text.split_once("..") {
        let (first, last) = (number(first)?, number(last)?);
        if first > last {
            return Err(format!(
                "{first}..{last} counts down; write the smaller count first"
            ));
        }
        (first..=last).collect()
    } else if text.contains(',') {
        text.split(',')
            .map(number)
            .collect::<std::result::Result<_, _>>()?
    } else {
        (1..=number(text)?).collect()
    };
    let mut sorted = counts;
    sorted.sort_unstable();
    sorted.dedup();
    Ok(sorted)
}

/// Arguments of `hpclab roofline`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  hpclab roofline --size 4Mi --plot roofline.svg",
    mut_arg("runs", default_and_help("3", "Samples kept per point")),
    mut_arg("warmup", default_and_help("1", "Samples discarded first"))
)]
pub struct RooflineArgs {
    /// Elements of the probe (each is read once and written once).
    #[arg(long, short = 'n', default_value = "4Mi", value_parser = parse_size)]
    pub size: u64,
    #[command(flatten)]
    pub sampling: Sampling,
    /// Leave out the catalogue kernels (the probe only).
    #[arg(long)]
    pub no_kernels: bool,
    /// Leave out the GPU (the CPU roof only).
    #[arg(long)]
    pub cpu_only: bool,
    #[command(flatten)]
    pub threads: Threads,
    /// Seed of the catalogue kernels' inputs.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[command(flatten)]
    pub gpu: GpuChoice,
    #[command(flatten)]
    pub out: ExperimentOutput,
}

/// Arguments of `hpclab report`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  hpclab report --out my-report\n  HPCLAB_MAX_SIZE=1Mi hpclab report --out quick-report   # a quick pass"
)]
pub struct ReportArgs {
    /// Folder for report.md, report.html, one JSON document and one SVG figure per step. It is
    /// built beside DIR and put in place when complete; an earlier report there is replaced.
    #[arg(long)]
    pub out: PathBuf,
    /// Write into an existing folder that is not an earlier report: the report's files replace
    /// files of the same name, every other file is left as it is.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `hpclab mpi`.
#[derive(Debug, Args)]
#[command(
    after_help = "Build with `cargo build --release --features mpi` (needs an MPI library and libclang), then run\n\
                  one process per rank under the MPI launcher:\n  \
                  mpirun -n 2 hpclab mpi pingpong\n  \
                  mpirun -n 4 hpclab mpi collectives --size 1Mi\n  \
                  mpirun -n 2 hpclab mpi stencil --size 4096 --threads 1 --scaling strong\n  \
                  mpirun -n 2 hpclab mpi startup\n  \
                  mpirun -n 1 hpclab mpi spawn --workers 1..4\n  \
                  mpirun -n 1 hpclab mpi farm --workers 2 --rows 1,16,256\n\
                  Across machines: mpirun --hostfile hosts -n 8 hpclab mpi stencil …\n\
                  Rank 0 prints the table and writes the files."
)]
pub struct MpiArgs {
    #[command(subcommand)]
    pub command: MpiCommand,
}

/// The MPI experiments.
#[derive(Debug, Subcommand)]
pub enum MpiCommand {
    /// Round-trip latency and bandwidth between ranks 0 and 1 over message sizes, with the fit
    /// t = latency + bytes / bandwidth.
    Pingpong(MpiPingpongArgs),
    /// Broadcast, reduce, allreduce, gather and all-to-all: time per call and bandwidth.
    Collectives(MpiCollectivesArgs),
    /// The 2-D diffusion stencil split into one slab of rows per rank: compute, halo exchange
    /// and residual allreduce timed apart; strong or weak scaling; verified against one process.
    Stencil(Box<MpiStencilArgs>),
    /// What starting costs: MPI initialisation, and the first barrier, message and allreduce
    /// against the same operations once warm.
    Startup(MpiStartupArgs),
    /// Starting processes while the job runs (MPI_Comm_spawn): spawn time for 1..N workers,
    /// first and warm messages to them, beside mpirun starting as many ranks.
    Spawn(MpiSpawnArgs),
    /// A master–worker task farm over the Mandelbrot image: static blocks, static round-robin
    /// and dynamic schedules; busy and idle time per worker, load imbalance, speed-up.
    Farm(Box<MpiFarmArgs>),
}

/// Arguments of `hpclab mpi pingpong`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  mpirun -n 2 hpclab mpi pingpong --sizes 1..64Mi --plot pingpong.svg"
)]
pub struct MpiPingpongArgs {
    /// Message sizes in bytes: FIRST..LAST doubling, or a comma list.
    #[arg(long, default_value = "1..64Mi", value_parser = crate::size::parse_sizes)]
    pub sizes: std::vec::Vec<u64>,
    /// Samples kept per size (each the mean of many round trips).
    #[arg(long, short, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub runs: u32,
    /// Samples discarded first.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=1_000))]
    pub warmup: u32,
    #[command(flatten)]
    pub out: ExperimentOutput,
}

/// Arguments of `hpclab mpi collectives`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  mpirun -n 4 hpclab mpi collectives --size 8,64Ki,1Mi")]
pub struct MpiCollectivesArgs {
    /// Message size in bytes per rank (per pair of ranks for all-to-all), rounded up to whole
    /// f64: one size, FIRST..LAST doubling, or a comma list.
    #[arg(long, alias = "sizes", default_value = "8,64Ki,1Mi", value_parser = crate::size::parse_sizes)]
    pub size: std::vec::Vec<u64>,
    /// Samples kept per operation and size (each the mean of many calls).
    #[arg(long, short, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub runs: u32,
    /// Samples discarded first.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=1_000))]
    pub warmup: u32,
    #[command(flatten)]
    pub out: ExperimentOutput,
}

/// Arguments of `hpclab mpi stencil`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mpirun -n 2 hpclab mpi stencil --size 4096 --steps 100 --threads 1 --scaling strong\n  \
                  mpirun -n 4 hpclab mpi stencil --size 1024 --scaling weak --plot weak.svg\n  \
                  mpirun -n 2 hpclab mpi stencil --backend gpu --size 2048"
)]
pub struct MpiStencilArgs {
    /// Grid side n: the whole grid is n × n (with --scaling weak: n × n points per rank, a
    /// (ranks·n) × n grid).
    #[arg(long, short = 'n', default_value = "2048", value_parser = parse_size)]
    pub size: u64,
    /// Time steps.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub steps: u32,
    /// Where each rank computes.
    #[arg(long, short, value_enum, default_value = "rayon")]
    pub backend: crate::distributed::slab::MpiBackend,
    /// Threads per rank for the rayon backend (default: the host's cores / ranks on the host, at
    /// most the cores the launcher bound the rank to).
    #[arg(long, short, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,
    /// Also run on 1, 2, 4, … ranks (ranks left out wait, asleep): strong keeps the grid,
    /// weak keeps the points per rank. Without it: only on all ranks.
    #[arg(long, value_enum)]
    pub scaling: Option<crate::distributed::decomposition::Scaling>,
    /// Agree on the residual (max-allreduce of the largest change) after every this many steps,
    /// and after the last.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub residual_every: u32,
    /// Samples kept per rank count.
    #[arg(long, short, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub runs: u32,
    /// Samples discarded first (the first one pays for connection set-up and first touch).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=1_000))]
    pub warmup: u32,
    /// Seed of the initial field.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Skip rank 0's check against one process (for grids too large for one process's memory
    /// or time); the check column then says so.
    #[arg(long)]
    pub skip_check: bool,
    #[command(flatten)]
    pub gpu: GpuChoice,
    #[command(flatten)]
    pub out: ExperimentOutput,
}

/// Arguments of `hpclab mpi startup`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  mpirun -n 4 hpclab mpi startup")]
pub struct MpiStartupArgs {
    /// Repetitions of each operation once warm (the median is reported).
    #[arg(long, short, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub runs: u32,
    #[command(flatten)]
    pub out: ExperimentOutput,
}

/// Arguments of `hpclab mpi spawn`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  mpirun -n 1 hpclab mpi spawn --workers 1..4 --plot spawn.svg\n\
                  Run it as one process: it starts the workers itself.",
    mut_arg("runs", default_and_help("5", "Spawns timed per worker count")),
    mut_arg(
        "warmup",
        default_and_help("1", "Spawns run and discarded first, per worker count")
    )
)]
pub struct MpiSpawnArgs {
    /// Workers to spawn: FIRST..LAST doubling (1..8 is 1, 2, 4, 8), or a comma list.
    #[arg(long, default_value = "1..2", value_parser = crate::size::parse_sizes)]
    pub workers: std::vec::Vec<u64>,
    /// Leave out the comparison with `mpirun -n K hpclab mpi startup` (where no mpirun can be
    /// started from inside a job).
    #[arg(long)]
    pub no_mpirun: bool,
    #[command(flatten)]
    pub sampling: Sampling,
    #[command(flatten)]
    pub out: ExperimentOutput,
}

/// Arguments of `hpclab mpi farm`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mpirun -n 1 hpclab mpi farm --workers 2 --rows 1,16,256 --plot farm.svg\n  \
                  mpirun -n 3 hpclab mpi farm --ranks --schedule dynamic",
    mut_arg(
        "runs",
        default_and_help("3", "Samples kept per schedule and task size")
    ),
    mut_arg("warmup", default_and_help("1", "Samples discarded first"))
)]
pub struct MpiFarmArgs {
    /// Workers to spawn (MPI_Comm_spawn); run the master alone: `mpirun -n 1 hpclab mpi farm`.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024), conflicts_with = "ranks")]
    pub workers: u32,
    /// Farm over mpirun's ranks instead of spawning: rank 0 is the master, every other rank a
    /// worker (`mpirun -n 3 hpclab mpi farm --ranks`).
    #[arg(long)]
    pub ranks: bool,
    /// Image side n: the Mandelbrot image is n × n pixels.
    #[arg(long, short = 'n', default_value = "1024", value_parser = parse_size)]
    pub size: u64,
    /// Rows per task: one count, FIRST..LAST doubling, or a comma list (a sweep of task sizes).
    #[arg(long, default_value = "16", value_parser = crate::size::parse_sizes)]
    pub rows: std::vec::Vec<u64>,
    /// Schedules, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "blocks,round-robin,dynamic"
    )]
    pub schedule: Vec<crate::distributed::farm::FarmSchedule>,
    /// How each worker computes its rows (the catalogue's fractal row kernel).
    #[arg(long, short, value_enum, default_value = "simd")]
    pub backend: crate::distributed::farm::RowBackend,
    /// Iteration cap of the Mandelbrot iteration.
    #[arg(long, default_value_t = crate::kernels::fractal::DEFAULT_MAX_ITER, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_iter: u32,
    /// For tests of the check: the worker that computes this row changes one pixel of it.
    #[arg(long, hide = true)]
    pub corrupt_row: Option<u64>,
    #[command(flatten)]
    pub sampling: Sampling,
    #[command(flatten)]
    pub out: ExperimentOutput,
}
