//! The 2-D diffusion stencil on many ranks: the grid is cut into slabs of whole rows, one per
//! rank; every step each rank exchanges its edge rows with the ranks above and below
//! (point-to-point), and every few steps all ranks agree on the residual (a max-allreduce). Each
//! rank times compute, halo exchange and allreduce apart (and, on the GPU, the edge rows'
//! trips between device and host), so the output shows where the time that does not scale goes.
//!
//! With `--scaling` the same binary measures 1, 2, 4, … ranks in one job (ranks left out wait,
//! asleep): strong scaling keeps the grid, weak scaling keeps each rank's share. Rank 0 checks
//! every result against the same steps in one process: bit for bit (the decomposition changes
//! no operation) and against the f64 reference within the catalogue stencil's bound.

use super::pingpong::mpi_heading;
use super::{check_outputs, publish_on_root};
use crate::cli::{MpiBackend, MpiStencilArgs};
use crate::commands::Outcome;
use crate::distributed::decomposition::{Scaling, rank_counts, slab_rows};
use crate::distributed::mpi::{MpiInfo, Session, SlabNeighbours, gather_json, usable_cores};
use crate::distributed::slab::{CpuSlab, Slab, SlabSetup};
use crate::distributed::slab_gpu::GpuSlab;
use crate::distributed::timeloop::{Alone, RankPhases, Schedule, run_sample};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::gpu::context::list_adapters;
use crate::gpu::{AdapterChoice, AdapterSummary, GpuContext, GpuRequest};
use crate::kernels::Verification;
use crate::kernels::stencil::{self, error_bound, initial_rows};
use crate::kernels::verify::check_elements;
use crate::measure::Stats;
use crate::report::format::{percent, rate, ratio, seconds, share};
use crate::report::plot::{Chart, Series};
use crate::report::progress::Progress;
use crate::report::table::Rows;
use crate::report::{Document, cap_size, to_json};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use serde::{Deserialize, Serialize};

/// One rank's figures at one rank count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RankFigures {
    pub rank: usize,
    pub host: String,
    /// Rows of the slab.
    pub rows: usize,
    pub threads: usize,
    /// The median of each phase over the kept samples.
    pub median: RankPhases,
    /// The first (warm-up) sample: the first messages, first touch of the fields.
    pub first_sample: Option<RankPhases>,
    /// Every kept sample.
    pub samples: Vec<RankPhases>,
    /// Setting the slab up (GPU: shaders, buffers).
    pub setup: SlabSetup,
}

/// How the gathered field compared with one process doing the same steps.
#[derive(Debug, Clone, Serialize)]
pub struct StencilCheck {
    /// The whole field against the f64 reference within the catalogue stencil's bound.
    pub reference: Verification,
    /// Points that differ in any bit from the single-process run of the same backend
    /// (`None` when that run was not possible: a grid larger than one GPU binding).
    pub differing_points: Option<u64>,
    /// The residual agreed by the ranks equals the single process's, bit for bit.
    pub residual_equal: Option<bool>,
}

impl StencilCheck {
    /// Passed: within the bound, and equal to one process wherever that was run. Different
    /// hosts may use different SIMD widths, whose edge rows round differently, so bit equality
    /// is required only when every rank ran on one host.
    fn passed(&self, one_host: bool) -> bool {
        self.reference.passed
            && (!one_host
                || (self.differing_points.unwrap_or(0) == 0 && self.residual_equal != Some(false)))
    }
}

/// One rank count.
#[derive(Debug, Clone, Serialize)]
pub struct StencilPoint {
    pub ranks: usize,
    pub grid_rows: usize,
    pub columns: usize,
    /// Per sample, the slowest rank's whole time.
    pub time: Stats,
    /// Point updates per second (grid points × steps / median time).
    pub updates_per_s: f64,
    /// 1-rank time over this time (strong), or ranks × that (weak: the scaled speed-up).
    pub speedup: Option<f64>,
    /// speed-up / ranks.
    pub efficiency: Option<f64>,
    /// The residual agreed after the last step.
    pub residual: f32,
    pub per_rank: Vec<RankFigures>,
    /// `None` when the check was skipped (`--skip-check`).
    pub check: Option<StencilCheck>,
    pub passed: bool,
}

/// One-time costs on each rank.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RankStartup {
    pub rank: usize,
    /// `MPI_Init_thread`.
    pub mpi_init_s: f64,
    /// GPU: choosing the adapter and creating the device.
    pub gpu_adapter_s: Option<f64>,
    pub gpu_device_s: Option<f64>,
    pub gpu_adapter: Option<AdapterSummary>,
}

/// The output of `hpclab mpi stencil`.
#[derive(Debug, Clone, Serialize)]
pub struct StencilDocument {
    pub hpclab_version: &'static str,
    pub command: String,
    pub environment: Environment,
    pub mpi: MpiInfo,
    pub backend: MpiBackend,
    pub scaling: Option<Scaling>,
    /// `--size`: the grid side (weak scaling: per rank).
    pub size: usize,
    pub steps: u32,
    pub residual_every: u32,
    pub threads_per_rank: usize,
    pub runs: usize,
    pub warmup: usize,
    pub startup: Vec<RankStartup>,
    pub points: Vec<StencilPoint>,
    pub verified: bool,
}

/// The checked configuration.
struct Config {
    n: usize,
    counts: Vec<usize>,
    schedule: Schedule,
    threads: usize,
}

fn configure(session: &Session, local_size: usize, args: &MpiStencilArgs) -> Result<Config> {
    let n = cap_size(args.size) as usize;
    if n == 0 {
        return Err(Error::usage("--size must be at least 1"));
    }
    let counts = match args.scaling {
        Some(_) => rank_counts(session.size),
        None => vec![session.size],
    };
    let (grid_rows, columns) = Scaling::grid(args.scaling, n, session.size);
    if grid_rows < session.size {
        return Err(Error::usage(format!(
            "--size {n} gives the {grid_rows} × {columns} grid only {grid_rows} rows for {} ranks: \
             every rank needs at least one row; use --size {} or more, or fewer ranks",
            session.size, session.size
        )));
    }
    if args.out.plot.is_some() && args.scaling.is_none() {
        return Err(Error::usage(
            "--plot draws speed-up against ranks: add --scaling strong or --scaling weak",
        ));
    }
    if args.backend == MpiBackend::Gpu && args.threads.is_some() {
        return Err(Error::usage("--threads applies to --backend rayon only"));
    }
    // The host's cores shared by its ranks, but no more than this rank is bound to.
    let share = crate::cpu::info::host_logical_cores() / local_size.max(1);
    let threads = args
        .threads
        .map_or(share.min(usable_cores()).max(1), |t| t as usize);
    Ok(Config {
        n,
        counts,
        schedule: Schedule {
            steps: args.steps,
            residual_every: args.residual_every,
        },
        threads,
    })
}

/// The adapter of this rank: `--adapter` when given; otherwise ranks on one host take turns
/// over the adapters of the best kind (one GPU per rank on a multi-GPU node).
fn rank_request(args: &MpiStencilArgs, local_rank: usize) -> GpuRequest {
    let mut request = args.gpu.request();
    if args.gpu.adapter.is_none() {
        let adapters = list_adapters(args.gpu.gpu_api);
        if let Some(best) = adapters.first() {
            let alike: Vec<&AdapterSummary> = adapters
                .iter()
                .filter(|a| a.device_type == best.device_type && a.api == best.api)
                .collect();
            request.adapter = AdapterChoice::Index(alike[local_rank % alike.len()].index);
        }
    }
    request
}

/// Runs the experiment on every rank.
pub fn execute(session: &Session, args: &MpiStencilArgs, command: String) -> Result<Outcome> {
    let (local_rank, local_size) = session.node();
    let config = session.agree(configure(session, local_size, args))?;
    check_outputs(session, &args.out)?;
    let context = match args.backend {
        MpiBackend::Gpu => Some(session.agree(GpuContext::new(&rank_request(args, local_rank)))?),
        MpiBackend::Rayon => None,
    };
    let startup = session.gather_to_root(&RankStartup {
        rank: session.rank,
        mpi_init_s: session.init_s,
        gpu_adapter_s: context.as_ref().map(|c| c.setup.adapter_s),
        gpu_device_s: context.as_ref().map(|c| c.setup.device_s),
        gpu_adapter: context.as_ref().map(|c| c.adapter.clone()),
    });
    let info = session.info();
    let one_host = session.all(info.ranks_per_host == session.size);

    let progress = Progress::new(config.counts.len() as u64, !session.is_root());
    let mut points = Vec::new();
    for &ranks in &config.counts {
        progress.set_message(format!("{ranks} rank{}", if ranks == 1 { "" } else { "s" }));
        let comm = session.first_ranks(ranks);
        let (grid_rows, columns) = Scaling::grid(args.scaling, config.n, ranks);
        let measured = measure_count(
            session,
            comm.as_ref(),
            args,
            &config,
            context.as_ref(),
            (grid_rows, columns),
        )?;
        if let Some((per_rank, residual, field)) = measured {
            let check = (!args.skip_check).then(|| {
                check_on_root(
                    args.seed,
                    config.schedule,
                    context.as_ref(),
                    (grid_rows, columns),
                    &field,
                    residual,
                )
            });
            points.push(point(
                ranks,
                (grid_rows, columns),
                &config,
                per_rank,
                residual,
                check,
                one_host,
            ));
        }
        session.wait_quietly();
        progress.step();
    }
    progress.finish();
    if session.is_root() {
        scale_against_one_rank(&mut points, args.scaling);
    }
    let document = session.is_root().then(|| StencilDocument {
        hpclab_version: env!("CARGO_PKG_VERSION"),
        command,
        environment: Environment::capture(
            config.threads,
            context.as_ref().map(|c| c.adapter.clone()),
        ),
        mpi: info,
        backend: args.backend,
        scaling: args.scaling,
        size: config.n,
        steps: config.schedule.steps,
        residual_every: config.schedule.residual_every,
        threads_per_rank: config.threads,
        runs: args.runs as usize,
        warmup: args.warmup as usize,
        startup: startup.unwrap_or_default(),
        verified: points.iter().all(|p| p.passed),
        points,
    });
    publish_on_root(document.as_ref().map(|d| d as &dyn Document), &args.out)
}

/// What rank 0 gets back from one rank count: every rank's figures, the agreed residual and
/// the whole field.
type Measured = (Vec<RankFigures>, f32, Vec<f32>);

/// Measures one rank count. Ranks in `comm` step their slabs; the others only take part in the
/// world-wide agreement on the set-up. Returns the gathered results on rank 0.
fn measure_count(
    session: &Session,
    comm: Option<&SimpleCommunicator>,
    args: &MpiStencilArgs,
    config: &Config,
    context: Option<&GpuContext>,
    (grid_rows, columns): (usize, usize),
) -> Result<Option<Measured>> {
    let local = comm.map(|comm| {
        let rows = slab_rows(grid_rows, comm.size() as usize, comm.rank() as usize);
        let initial = initial_rows(grid_rows, columns, args.seed, rows);
        make_slab(context, &initial, columns, config.threads)
    });
    let slab = session.agree(local.transpose())?;
    let (Some(comm), Some(mut slab)) = (comm, slab) else {
        return Ok(None);
    };
    let neighbours = SlabNeighbours::new(comm);
    let (runs, warmup) = (args.runs as usize, args.warmup as usize);
    let mut samples = Vec::with_capacity(runs);
    let (mut first_sample, mut residual) = (None, f32::NAN);
    for index in 0..warmup + runs {
        comm.barrier();
        let result = session.or_abort(run_sample(slab.as_mut(), &neighbours, config.schedule));
        residual = result.residual;
        if index == 0 && warmup > 0 {
            first_sample = Some(result.phases);
        }
        if index >= warmup {
            samples.push(result.phases);
        }
    }
    let figures = RankFigures {
        rank: comm.rank() as usize,
        host: session.host.clone(),
        rows: slab.rows(),
        threads: if context.is_some() { 1 } else { config.threads },
        median: median_phases(&samples),
        first_sample,
        samples,
        setup: slab.setup(),
    };
    let rows_now = session.or_abort(slab.rows_now());
    let per_rank = gather_json(comm, &figures);
    let field = gather_rows(comm, &rows_now);
    Ok(per_rank
        .zip(field)
        .map(|(per_rank, field)| (per_rank, residual, field)))
}

fn make_slab<'a>(
    context: Option<&'a GpuContext>,
    initial: &[f32],
    columns: usize,
    threads: usize,
) -> Result<Box<dyn Slab + 'a>> {
    Ok(match context {
        Some(context) => Box::new(GpuSlab::new(context, initial, columns)?),
        None => Box::new(CpuSlab::new(initial, columns, threads)?),
    })
}

/// Every rank's rows, in rank order, joined on rank 0.
fn gather_rows(comm: &SimpleCommunicator, rows: &[f32]) -> Option<Vec<f32>> {
    if comm.rank() != 0 {
        comm.process_at_rank(0).send(rows);
        return None;
    }
    let mut field = rows.to_vec();
    for source in 1..comm.size() {
        let (received, _) = comm.process_at_rank(source).receive_vec::<f32>();
        field.extend(received);
    }
    Some(field)
}

/// The median of each phase over the samples.
fn median_phases(samples: &[RankPhases]) -> RankPhases {
    let median = |phase: fn(&RankPhases) -> f64| {
        Stats::from_samples(samples.iter().map(phase).collect()).map_or(0.0, |s| s.median_s)
    };
    RankPhases {
        load_s: median(|p| p.load_s),
        compute_s: median(|p| p.compute_s),
        halo_exchange_s: median(|p| p.halo_exchange_s),
        halo_download_s: median(|p| p.halo_download_s),
        halo_upload_s: median(|p| p.halo_upload_s),
        allreduce_s: median(|p| p.allreduce_s),
        total_s: median(|p| p.total_s),
    }
}

/// Rank 0 runs the same steps in one process and compares (the other ranks wait, asleep).
fn check_on_root(
    seed: u64,
    schedule: Schedule,
    context: Option<&GpuContext>,
    (grid_rows, columns): (usize, usize),
    field: &[f32],
    residual: f32,
) -> StencilCheck {
    let initial = initial_rows(grid_rows, columns, seed, 0..grid_rows);
    let steps = schedule.steps;
    let scale = initial.iter().fold(0.0f64, |m, &v| m.max(v.abs() as f64));
    let reference = stencil::reference(&initial, columns, steps);
    let allowed = error_bound(steps, scale);
    let verification = check_elements(field, stencil::INFO.verification, |i| {
        (reference[i], allowed)
    });
    drop(reference);
    // The same backend in one process; the thread count changes no result, so use every core
    // this rank may run on.
    let cores = usable_cores();
    let single = make_slab(context, &initial, columns, cores).and_then(|mut slab| {
        let result = run_sample(slab.as_mut(), &Alone, schedule)?;
        Ok((slab.rows_now()?, result.residual))
    });
    let (differing_points, residual_equal) = match single {
        Ok((expected, single_residual)) => (
            Some(
                field
                    .iter()
                    .zip(&expected)
                    .filter(|(a, b)| a.to_bits() != b.to_bits())
                    .count() as u64
                    + field.len().abs_diff(expected.len()) as u64,
            ),
            Some(residual.to_bits() == single_residual.to_bits()),
        ),
        Err(_) => (None, None),
    };
    StencilCheck {
        reference: verification,
        differing_points,
        residual_equal,
    }
}

fn point(
    ranks: usize,
    (grid_rows, columns): (usize, usize),
    config: &Config,
    per_rank: Vec<RankFigures>,
    residual: f32,
    check: Option<StencilCheck>,
    one_host: bool,
) -> StencilPoint {
    let runs = per_rank.first().map_or(0, |r| r.samples.len());
    let slowest: Vec<f64> = (0..runs)
        .map(|i| {
            per_rank
                .iter()
                .map(|r| r.samples[i].total_s)
                .fold(0.0, f64::max)
        })
        .collect();
    let time = Stats::from_samples(slowest).expect("runs >= 1");
    let updates = (grid_rows * columns) as f64 * config.schedule.steps as f64;
    StencilPoint {
        ranks,
        grid_rows,
        columns,
        updates_per_s: updates / time.median_s,
        time,
        speedup: None,
        efficiency: None,
        residual,
        passed: check.as_ref().is_none_or(|c| c.passed(one_host)),
        per_rank,
        check,
    }
}

/// Speed-up and efficiency against the 1-rank point, when there is one.
fn scale_against_one_rank(points: &mut [StencilPoint], scaling: Option<Scaling>) {
    let Some(one) = points
        .iter()
        .find(|p| p.ranks == 1)
        .map(|p| p.time.median_s)
    else {
        return;
    };
    for point in points {
        let ratio = one / point.time.median_s;
        let speedup = match scaling {
            Some(Scaling::Weak) => ratio * point.ranks as f64,
            _ => ratio,
        };
        point.speedup = Some(speedup);
        point.efficiency = Some(speedup / point.ranks as f64);
    }
}

/// A halo phase for the table: "–" on one rank, which has no neighbours.
fn halo(point: &StencilPoint, phase: fn(&RankPhases) -> f64) -> String {
    if point.ranks == 1 {
        "–".into()
    } else {
        seconds(mean_phase(point, phase))
    }
}

/// The mean over ranks of one phase's median.
fn mean_phase(point: &StencilPoint, phase: fn(&RankPhases) -> f64) -> f64 {
    point.per_rank.iter().map(|r| phase(&r.median)).sum::<f64>()
        / point.per_rank.len().max(1) as f64
}

impl StencilDocument {
    fn gpu(&self) -> bool {
        self.backend == MpiBackend::Gpu
    }

    /// Where the time of the largest rank count went, in words.
    fn where_the_time_went(&self) -> Vec<String> {
        let Some(last) = self.points.last() else {
            return Vec::new();
        };
        let total = mean_phase(last, |p| p.total_s);
        let share = |phase: fn(&RankPhases) -> f64| share(mean_phase(last, phase) / total);
        let mut parts = vec![
            format!("compute {}", share(|p| p.compute_s)),
            format!("halo exchange {}", share(|p| p.halo_exchange_s)),
            format!("allreduce {}", share(|p| p.allreduce_s)),
        ];
        if self.gpu() {
            parts.push(format!("halo download {}", share(|p| p.halo_download_s)));
            parts.push(format!("halo upload {}", share(|p| p.halo_upload_s)));
            parts.push(format!("initial upload {}", share(|p| p.load_s)));
        }
        let mut lines = vec![format!(
            "where the time went on {} rank{} (mean over ranks of each phase's median): {}",
            last.ranks,
            if last.ranks == 1 { "" } else { "s" },
            parts.join(", ")
        )];
        if let (Some(one), true) = (self.points.iter().find(|p| p.ranks == 1), last.ranks > 1) {
            let compute_one = mean_phase(one, |p| p.compute_s);
            let compute_last = mean_phase(last, |p| p.compute_s);
            let max_compute = last
                .per_rank
                .iter()
                .map(|r| r.median.compute_s)
                .fold(0.0, f64::max);
            let (speed, ideal) = match self.scaling {
                Some(Scaling::Weak) => (
                    format!("{} the 1-rank time", ratio(compute_last / compute_one)),
                    "the same".to_string(),
                ),
                _ => (
                    format!("{} faster", ratio(compute_one / compute_last)),
                    ratio(last.ranks as f64),
                ),
            };
            lines.push(format!(
                "compute per rank: {} on 1 rank, {} on {} (slowest rank {}): {speed} (ideal {ideal}); \
                 the rest of the gap is communication and waiting",
                seconds(compute_one),
                seconds(compute_last),
                last.ranks,
                seconds(max_compute),
            ));
        }
        lines
    }

    fn figure(&self) -> Option<Chart> {
        self.scaling?;
        let weak = self.scaling == Some(Scaling::Weak);
        let measured: Vec<(f64, f64)> = self
            .points
            .iter()
            .filter_map(|p| {
                Some((
                    p.ranks as f64,
                    if weak { p.efficiency? } else { p.speedup? },
                ))
            })
            .collect();
        let ideal = self
            .points
            .iter()
            .map(|p| (p.ranks as f64, if weak { 1.0 } else { p.ranks as f64 }))
            .collect();
        Some(Chart {
            title: format!(
                "{} scaling of the distributed stencil ({}, {} steps)",
                if weak { "Weak" } else { "Strong" },
                self.backend_text(),
                self.steps
            ),
            x_label: "MPI ranks".into(),
            y_label: if weak {
                "efficiency (1-rank time / time)".into()
            } else {
                "speed-up over 1 rank".into()
            },
            log_x: true,
            log_y: !weak,
            x_bytes: false,
            series: vec![
                Series {
                    name: "measured".into(),
                    points: measured,
                    dashed: false,
                    color: Some(0),
                },
                Series {
                    name: "ideal".into(),
                    points: ideal,
                    dashed: true,
                    color: Some(7),
                },
            ],
            markers: Vec::new(),
        })
    }

    fn backend_text(&self) -> String {
        match self.backend {
            MpiBackend::Rayon => format!(
                "rayon, {} thread{} per rank",
                self.threads_per_rank,
                if self.threads_per_rank == 1 { "" } else { "s" }
            ),
            MpiBackend::Gpu => "gpu".into(),
        }
    }
}

impl Document for StencilDocument {
    fn verified(&self) -> bool {
        self.verified
    }

    fn heading(&self) -> Vec<String> {
        let grid = match self.scaling {
            Some(Scaling::Weak) => format!("{0} × {0} points per rank", self.size),
            _ => format!("{0} × {0} grid", self.size),
        };
        let mut lines = vec![
            format!(
                "mpi stencil · {grid} · {} steps · residual every {} · {} · {} samples after {} warm-up",
                self.steps,
                self.residual_every,
                self.backend_text(),
                self.runs,
                self.warmup
            ),
            mpi_heading(&self.mpi),
        ];
        if self.backend == MpiBackend::Rayon && self.threads_per_rank > self.mpi.cores_per_rank {
            lines.push(format!(
                "WARNING: {} threads per rank, but a rank may run on only {} core{}: the launcher bound it \
                 (Open MPI binds a rank to one core by default); give each rank its cores with \
                 `mpirun --map-by slot:PE={} …` or `--bind-to none`",
                self.threads_per_rank,
                self.mpi.cores_per_rank,
                if self.mpi.cores_per_rank == 1 { "" } else { "s" },
                self.threads_per_rank
            ));
        }
        if let Some(adapter) = &self.environment.adapter {
            lines.push(format!(
                "GPU of rank 0: {} ({}, {})",
                adapter.name, adapter.device_type, adapter.api
            ));
        }
        lines
    }

    fn tables(&self) -> Vec<Rows> {
        let gpu = self.gpu();
        let mut header: Vec<String> = [
            "ranks",
            "grid",
            "time",
            "speed-up",
            "efficiency",
            "compute",
            "halo exchange",
            "allreduce",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if gpu {
            header.extend(["halo ↓", "halo ↑"].map(String::from));
        }
        header.extend(["M updates/s", "check"].map(String::from));
        let rows = self
            .points
            .iter()
            .map(|p| {
                let mut row = vec![
                    p.ranks.to_string(),
                    format!("{} × {}", p.grid_rows, p.columns),
                    seconds(p.time.median_s),
                    p.speedup.map_or("–".into(), ratio),
                    p.efficiency.map_or("–".into(), percent),
                    seconds(mean_phase(p, |r| r.compute_s)),
                    halo(p, |r| r.halo_exchange_s),
                    seconds(mean_phase(p, |r| r.allreduce_s)),
                ];
                if gpu {
                    row.push(halo(p, |r| r.halo_download_s));
                    row.push(halo(p, |r| r.halo_upload_s));
                }
                row.push(rate(p.updates_per_s / 1e6));
                row.push(match &p.check {
                    None => "skipped".into(),
                    Some(check) if p.passed => match check.differing_points {
                        Some(0) => "ok, bit-exact".into(),
                        _ => "ok".into(),
                    },
                    Some(check) => format!(
                        "FAILED ({})",
                        check
                            .differing_points
                            .map_or(check.reference.summary(), |d| format!("{d} points differ"))
                    ),
                });
                row
            })
            .collect();
        let numeric = (2..header.len() - 1).collect();
        let mut tables = vec![Rows {
            header,
            rows,
            numeric,
        }];
        if let Some(last) = self.points.last().filter(|p| p.ranks > 1) {
            tables.push(self.per_rank_table(last));
        }
        tables
    }

    fn footer(&self) -> Vec<String> {
        let mut lines = vec![
            "time: the slowest rank's whole sample (median); phases: mean over ranks of each rank's median; \
             halo exchange includes waiting for the neighbours"
                .to_string(),
        ];
        if self.scaling == Some(Scaling::Weak) {
            lines.push(
                "weak scaling: speed-up = ranks × 1-rank time / time (scaled speed-up)".into(),
            );
        }
        lines.extend(self.where_the_time_went());
        let slowest = |f: fn(&RankStartup) -> Option<f64>| {
            self.startup
                .iter()
                .filter_map(f)
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
        };
        let mut startup = vec![format!(
            "MPI init {}",
            seconds(slowest(|r| Some(r.mpi_init_s)).unwrap_or(0.0))
        )];
        if let Some(device) = slowest(|r| r.gpu_device_s) {
            startup.push(format!(
                "GPU adapter {} + device {}",
                seconds(slowest(|r| r.gpu_adapter_s).unwrap_or(0.0)),
                seconds(device)
            ));
        }
        if let Some(last) = self.points.last() {
            let set_up = last
                .per_rank
                .iter()
                .map(|r| r.setup.shader_compile_s + r.setup.buffers_s)
                .fold(0.0, f64::max);
            startup.push(format!("slab set-up {}", seconds(set_up)));
            let first: Vec<f64> = last
                .per_rank
                .iter()
                .filter_map(|r| r.first_sample.map(|s| s.halo_exchange_s))
                .collect();
            if last.ranks > 1 && !first.is_empty() {
                let first = first.iter().copied().fold(0.0, f64::max);
                let steady = last
                    .per_rank
                    .iter()
                    .map(|r| r.median.halo_exchange_s)
                    .fold(0.0, f64::max);
                startup.push(format!(
                    "halo exchange of the first sample {} against {} once warm",
                    seconds(first),
                    seconds(steady)
                ));
            }
        }
        lines.push(format!("startup (slowest rank): {}", startup.join(", ")));
        lines.push(if self.verified {
            "every result matches one process doing the same steps, and the f64 reference within the stencil's bound".into()
        } else {
            "VERIFICATION FAILED: see the check column".into()
        });
        lines
    }

    fn csv(&self) -> Rows {
        let header = [
            "ranks",
            "rank",
            "host",
            "rows",
            "time_median_s",
            "rank_total_s",
            "compute_s",
            "halo_exchange_s",
            "halo_download_s",
            "halo_upload_s",
            "allreduce_s",
            "load_s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let rows = self
            .points
            .iter()
            .flat_map(|p| {
                p.per_rank.iter().map(move |r| {
                    let m = &r.median;
                    vec![
                        p.ranks.to_string(),
                        r.rank.to_string(),
                        r.host.clone(),
                        r.rows.to_string(),
                        p.time.median_s.to_string(),
                        m.total_s.to_string(),
                        m.compute_s.to_string(),
                        m.halo_exchange_s.to_string(),
                        m.halo_download_s.to_string(),
                        m.halo_upload_s.to_string(),
                        m.allreduce_s.to_string(),
                        m.load_s.to_string(),
                    ]
                })
            })
            .collect();
        Rows {
            header,
            rows,
            numeric: vec![],
        }
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }

    fn chart(&self) -> Option<Chart> {
        self.figure()
    }
}

impl StencilDocument {
    /// Each rank's phases at one rank count.
    fn per_rank_table(&self, point: &StencilPoint) -> Rows {
        let gpu = self.gpu();
        let mut header: Vec<String> = [
            "rank",
            "host",
            "rows",
            "compute",
            "halo exchange",
            "allreduce",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if gpu {
            header.extend(["halo ↓", "halo ↑"].map(String::from));
        }
        header.push(format!("total ({} ranks)", point.ranks));
        let rows = point
            .per_rank
            .iter()
            .map(|r| {
                let m = &r.median;
                let mut row = vec![
                    r.rank.to_string(),
                    r.host.clone(),
                    r.rows.to_string(),
                    seconds(m.compute_s),
                    seconds(m.halo_exchange_s),
                    seconds(m.allreduce_s),
                ];
                if gpu {
                    row.push(seconds(m.halo_download_s));
                    row.push(seconds(m.halo_upload_s));
                }
                row.push(seconds(m.total_s));
                row
            })
            .collect();
        let numeric = (2..header.len()).collect();
        Rows {
            header,
            rows,
            numeric,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check is not vacuous: the field one process computes passes bit for bit, one changed
    /// bit is counted, and a wrong value fails the reference bound too.
    #[test]
    fn the_root_check_accepts_the_single_process_field_and_nothing_else() {
        let (grid, schedule, seed) = (
            (12, 9),
            Schedule {
                steps: 4,
                residual_every: 2,
            },
            5,
        );
        let initial = initial_rows(grid.0, grid.1, seed, 0..grid.0);
        let mut slab = CpuSlab::new(&initial, grid.1, 1).unwrap();
        let result = run_sample(&mut slab, &Alone, schedule).unwrap();
        let mut field = slab.rows_now().unwrap();

        let check = check_on_root(seed, schedule, None, grid, &field, result.residual);
        assert_eq!(check.differing_points, Some(0));
        assert_eq!(check.residual_equal, Some(true));
        assert!(check.reference.passed && check.passed(true));

        field[50] = f32::from_bits(field[50].to_bits() ^ 1);
        let check = check_on_root(seed, schedule, None, grid, &field, result.residual);
        assert_eq!(check.differing_points, Some(1));
        assert!(check.reference.passed, "one ulp is inside the bound");
        assert!(!check.passed(true) && check.passed(false));

        field[50] += 0.01;
        let check = check_on_root(seed, schedule, None, grid, &field, result.residual * 2.0);
        assert!(!check.reference.passed && !check.passed(false));
        assert_eq!(check.residual_equal, Some(false));
    }
}
