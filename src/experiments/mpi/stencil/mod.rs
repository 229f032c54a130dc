//! The 2-D diffusion stencil on many ranks, one slab of rows each (`distributed::timeloop`
//! steps it and times its phases apart). With `--scaling` one job measures 1, 2, 4, … ranks
//! (ranks left out wait, asleep): strong scaling keeps the grid, weak scaling each rank's share.
//! Rank 0 checks every result against the same steps in one process, bit for bit (the
//! decomposition changes no operation), and against the f64 reference within the catalogue
//! stencil's bound.

mod check;
mod document;

pub use check::StencilCheck;

use super::{check_outputs, samples, slowest_rank};
use crate::backend::Backend;
use crate::cpu::info::{CacheLevel, available_memory_bytes, cache_levels};
use crate::distributed::decomposition::{Scaling, rank_counts, slab_rows};
use crate::distributed::mpi::{
    MAX_MPI_COUNT, MpiInfo, Session, SlabNeighbours, gather_json, received_garbled, usable_cores,
};
use crate::distributed::slab::{CpuSlab, MpiBackend, Slab, SlabSetup};
use crate::distributed::slab_gpu::GpuSlab;
use crate::distributed::timeloop::{RankPhases, Schedule, run_sample};
use crate::environment::{Environment, Provenance};
use crate::error::{Error, Result};
use crate::gpu::context::list_adapters;
use crate::gpu::{AdapterChoice, AdapterSummary, GpuContext, GpuRequest};
use crate::kernels::stencil::initial_rows;
use crate::measure::residence::resides_in;
use crate::measure::{MeasureOptions, Stats};
use crate::report;
use crate::report::progress::Progress;
use crate::size::{cap_size, format_bytes};
use check::OneProcess;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use serde::{Deserialize, Serialize};

/// The distributed stencil as the command line asked for it. Every rank checks it alike (in
/// [`measure`]) before any work.
#[derive(Debug, Clone)]
pub struct StencilConfig {
    /// Grid side n as given (weak scaling: per rank); capped by `HPCLAB_MAX_SIZE` on every rank.
    pub size: u64,
    pub schedule: Schedule,
    pub backend: MpiBackend,
    /// Threads per rank (rayon); `None`: the host's cores shared by its ranks.
    pub threads: Option<usize>,
    /// `None`: only on all ranks.
    pub scaling: Option<Scaling>,
    pub sampling: MeasureOptions,
    /// Seed of the initial field.
    pub seed: u64,
    /// Leave out rank 0's check against one process.
    pub skip_check: bool,
    /// The adapter asked for; with [`AdapterChoice::Preferred`] the ranks of a host take turns
    /// over the adapters of the best kind.
    pub gpu: GpuRequest,
    pub destination: report::Destination,
}

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
    /// Bytes of the slab's two fields, ghost rows included ([`Slab::working_set_bytes`]).
    #[serde(default)]
    pub working_set_bytes: u64,
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
    /// The largest rank's working set: bytes of its slab's two fields, ghost rows included.
    pub working_set_bytes: u64,
    /// The level the ranks' slabs reside in (`measure::residence::resides_in` against rank 0's
    /// caches; the ranks of one host share its L3, so their slabs are added there): a point
    /// whose slabs fit a cache the 1-rank grid did not can scale superlinearly.
    pub resides_in: String,
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
    #[serde(flatten)]
    pub provenance: Provenance,
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

/// What every rank derives alike from the configuration and the job.
struct Layout {
    /// The grid side, capped.
    n: usize,
    /// The rank counts measured, each with its grid.
    series: Vec<Count>,
    /// Threads per rank.
    threads: usize,
}

/// One rank count of a series and the whole grid it steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub ranks: usize,
    /// Rows and columns.
    pub grid: (usize, usize),
}

impl Count {
    /// Points of the grid: they fit a `usize` ([`Scaling::grid`] checks).
    fn points(&self) -> usize {
        self.grid.0 * self.grid.1
    }

    /// Points of the tallest slab (one row more than the shortest): no more than the grid's.
    fn tallest_slab_points(&self) -> usize {
        self.grid.0.div_ceil(self.ranks) * self.grid.1
    }
}

/// The rank counts a job of `world` ranks measures for `--size n` (capped), each with its
/// grid. Refuses, naming `--size`, what cannot run: an empty grid, a grid whose points
/// overflow, fewer rows than ranks, and a slab larger than one MPI message carries (the rows a
/// rank sends to rank 0 travel in one message; one rank alone sends none).
pub fn series(n: u64, scaling: Option<Scaling>, world: usize) -> Result<Vec<Count>> {
    if n == 0 {
        return Err(Error::usage("--size must be at least 1"));
    }
    let counts = match scaling {
        Some(_) => rank_counts(world),
        None => vec![world],
    };
    let too_large = |ranks: usize| {
        Error::usage(format!(
            "--size {n}: the grid on {ranks} ranks has more points than this machine can count; use a smaller --size"
        ))
    };
    let side = usize::try_from(n).map_err(|_| too_large(1))?;
    let mut series = Vec::with_capacity(counts.len());
    for ranks in counts {
        let grid = Scaling::grid(scaling, side, ranks).ok_or_else(|| too_large(ranks))?;
        let (grid_rows, columns) = grid;
        if grid_rows < ranks {
            return Err(Error::usage(format!(
                "--size {n} gives the {grid_rows} × {columns} grid only {grid_rows} rows for {ranks} ranks: \
                 every rank needs at least one row; use --size {ranks} or more, or fewer ranks"
            )));
        }
        let count = Count { ranks, grid };
        let slab_points = count.tallest_slab_points();
        if ranks > 1 && slab_points as u64 > MAX_MPI_COUNT {
            return Err(Error::usage(format!(
                "--size {n}: on {ranks} ranks a slab of {} rows × {columns} points holds {slab_points} values, \
                 more than one MPI message carries ({MAX_MPI_COUNT}, 32-bit counts); use a smaller --size or more ranks",
                slab_points / columns
            )));
        }
        series.push(count);
    }
    Ok(series)
}

/// Host bytes per point of a rank's slab: its initial rows twice (the caller's and the slab's
/// copy), the two fields, and the rows it sends to rank 0 (a GPU rank holds less).
const SLAB_BYTES_PER_POINT: u64 = 16;
/// Rank 0's bytes per point of the whole grid: the gathered field, and unless the check is
/// skipped the initial field, the f64 reference and the one-process slab.
const fn root_bytes_per_point(checks: bool) -> u64 {
    if checks {
        4 + 4 + 8 + SLAB_BYTES_PER_POINT
    } else {
        4
    }
}

/// The most host memory the series needs on a host with `local_size` ranks: at each count the
/// host's ranks that take part (at most `local_size`) hold a slab each, and the host of rank 0
/// (`root`) holds the whole field, and with `checks` its check.
pub fn host_bytes(series: &[Count], local_size: usize, root: bool, checks: bool) -> u64 {
    // Bytes may not fit a u64 where points fit a usize: saturated.
    let bytes = |points: usize, per_point: u64| (points as u64).saturating_mul(per_point);
    series
        .iter()
        .map(|count| {
            let host_ranks = count.ranks.min(local_size.max(1)) as u64;
            let slabs = bytes(
                count.tallest_slab_points(),
                host_ranks * SLAB_BYTES_PER_POINT,
            );
            let field = if root {
                bytes(count.points(), root_bytes_per_point(checks))
            } else {
                0
            };
            slabs.saturating_add(field)
        })
        .max()
        .unwrap_or(0)
}

/// Refuses a series that needs more than 90% of the `available` host memory (when known),
/// leaving a tenth for the system.
pub fn check_host_memory(n: usize, needed: u64, available: Option<u64>) -> Result<()> {
    let Some(available) = available else {
        return Ok(());
    };
    let usable = available / 10 * 9;
    if needed <= usable {
        return Ok(());
    }
    Err(Error::usage(format!(
        "--size {n}: the stencil needs about {} of memory on this host, more than the {} it can spare \
         (90% of {} available); use a smaller --size, fewer ranks per host, or --skip-check",
        format_bytes(needed),
        format_bytes(usable),
        format_bytes(available)
    )))
}

fn layout(session: &Session, local_size: usize, config: &StencilConfig) -> Result<Layout> {
    let series = series(cap_size(config.size), config.scaling, session.size)?;
    let n = series[0].grid.1; // a series holds at least the world's count
    if config.destination.plot.is_some() && config.scaling.is_none() {
        return Err(Error::usage(
            "--plot draws speed-up against ranks: add --scaling strong or --scaling weak",
        ));
    }
    if config.backend == MpiBackend::Gpu && config.threads.is_some() {
        return Err(Error::usage("--threads applies to --backend rayon only"));
    }
    let needed = host_bytes(&series, local_size, session.is_root(), !config.skip_check);
    check_host_memory(n, needed, available_memory_bytes())?;
    // The host's cores shared by its ranks, but no more than this rank is bound to.
    let share = crate::cpu::info::host_logical_cores() / local_size.max(1);
    let threads = config
        .threads
        .unwrap_or_else(|| share.min(usable_cores()).max(1));
    Ok(Layout { n, series, threads })
}

/// The adapter of this rank: the one asked for; otherwise ranks on one host take turns over the
/// adapters of the best kind (one GPU per rank on a multi-GPU node).
fn rank_request(config: &StencilConfig, local_rank: usize) -> GpuRequest {
    let mut request = config.gpu.clone();
    if matches!(request.adapter, AdapterChoice::Preferred) {
        let adapters = list_adapters(request.api);
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

/// Runs the experiment on every rank; rank 0 returns the document.
pub fn measure(
    session: &Session,
    config: &StencilConfig,
    command: String,
) -> Result<Option<StencilDocument>> {
    let (local_rank, local_size) = session.node();
    let layout = session.agree(layout(session, local_size, config))?;
    check_outputs(session, &config.destination, "stencil", true)?;
    let context = match config.backend {
        MpiBackend::Gpu => Some(session.agree(GpuContext::new(&rank_request(config, local_rank)))?),
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

    // Rank 0's caches stand for every host's: the residence is a guide, not a measurement.
    let caches = if session.is_root() {
        cache_levels()
    } else {
        Vec::new()
    };
    let progress = Progress::new(
        layout.series.len() as u64,
        "rank counts",
        !session.is_root(),
    );
    let mut points = Vec::new();
    let mut one_process: Option<OneProcess> = None;
    for &Count { ranks, grid } in &layout.series {
        progress.set_message(format!("{ranks} rank{}", if ranks == 1 { "" } else { "s" }));
        let comm = session.first_ranks(ranks);
        let measured = measure_count(
            session,
            comm.as_ref(),
            config,
            layout.threads,
            context.as_ref(),
            grid,
        )?;
        if let Some((per_rank, residual, field)) = measured {
            let check = (!config.skip_check).then(|| {
                // Strong scaling keeps the grid: one single-process run serves every count.
                let single = match &mut one_process {
                    Some(single) if single.grid == grid => single,
                    slot => slot.insert(OneProcess::run(
                        config.seed,
                        config.schedule,
                        context.as_ref(),
                        grid,
                    )),
                };
                single.compare(&field, residual)
            });
            points.push(point(
                ranks,
                grid,
                config.schedule,
                per_rank,
                residual,
                check,
                one_host,
                &Residence {
                    backend: config.backend,
                    caches: &caches,
                },
            ));
        }
        session.wait_quietly();
        progress.step();
    }
    progress.finish();
    if session.is_root() {
        scale_against_one_rank(&mut points, config.scaling);
    }
    Ok(session.is_root().then(|| StencilDocument {
        provenance: Provenance::new(
            command,
            Environment::capture(layout.threads, context.as_ref().map(|c| c.adapter.clone())),
        ),
        mpi: info,
        backend: config.backend,
        scaling: config.scaling,
        size: layout.n,
        steps: config.schedule.steps,
        residual_every: config.schedule.residual_every,
        threads_per_rank: layout.threads,
        runs: config.sampling.runs,
        warmup: config.sampling.warmup,
        startup: startup.unwrap_or_default(),
        verified: points.iter().all(|p| p.passed),
        points,
    }))
}

/// What rank 0 gets back from one rank count: every rank's figures, the agreed residual and
/// the whole field.
type Measured = (Vec<RankFigures>, f32, Vec<f32>);

/// Measures one rank count. Ranks in `comm` step their slabs; the others only take part in the
/// world-wide agreement on the set-up. Returns the gathered results on rank 0.
fn measure_count(
    session: &Session,
    comm: Option<&SimpleCommunicator>,
    config: &StencilConfig,
    threads: usize,
    context: Option<&GpuContext>,
    (grid_rows, columns): (usize, usize),
) -> Result<Option<Measured>> {
    let local = comm.map(|comm| {
        let rows = slab_rows(grid_rows, comm.size() as usize, comm.rank() as usize);
        let initial = initial_rows(grid_rows, columns, config.seed, rows);
        make_slab(context, &initial, columns, threads)
    });
    let slab = session.agree(local.transpose())?;
    let (Some(comm), Some(mut slab)) = (comm, slab) else {
        return Ok(None);
    };
    let neighbours = SlabNeighbours::new(comm);
    let mut first_sample = None;
    let kept = samples(config.sampling, || {
        comm.barrier();
        let result = session.or_abort(run_sample(slab.as_mut(), &neighbours, config.schedule));
        if config.sampling.warmup > 0 {
            first_sample.get_or_insert(result.phases);
        }
        result
    });
    let residual = kept.last().map_or(f32::NAN, |result| result.residual);
    let samples: Vec<RankPhases> = kept.iter().map(|result| result.phases).collect();
    let figures = RankFigures {
        rank: comm.rank() as usize,
        host: session.host.clone(),
        rows: slab.rows(),
        threads: if context.is_some() { 1 } else { threads },
        median: median_phases(&samples),
        first_sample,
        samples,
        setup: slab.setup(),
        working_set_bytes: slab.working_set_bytes(),
    };
    let rows_now = session.or_abort(slab.rows_now());
    let per_rank = session.or_abort(gather_json(comm, &figures));
    let field = session.or_abort(gather_rows(comm, &rows_now, (grid_rows, columns)));
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

/// Every rank's rows, in rank order, joined on rank 0 into the `(grid_rows, columns)` field.
/// Rank 0 refuses rows that are not the sender's slab (another hpclab on another host): the
/// check would compare them point by point with a field of another shape.
fn gather_rows(
    comm: &SimpleCommunicator,
    rows: &[f32],
    (grid_rows, columns): (usize, usize),
) -> Result<Option<Vec<f32>>> {
    if comm.rank() != 0 {
        comm.process_at_rank(0).send(rows);
        return Ok(None);
    }
    let mut field = rows.to_vec();
    for source in 1..comm.size() {
        let (received, _) = comm.process_at_rank(source).receive_vec::<f32>();
        check_slab_length(received.len(), grid_rows, columns, comm.size(), source)?;
        field.extend(received);
    }
    Ok(Some(field))
}

/// Refuses `received` points from rank `source` of `ranks` that are not its slab of the grid.
fn check_slab_length(
    received: usize,
    grid_rows: usize,
    columns: usize,
    ranks: i32,
    source: i32,
) -> Result<()> {
    // Ranks of a communicator are never negative.
    let expected = slab_rows(grid_rows, ranks as usize, source as usize).len() * columns;
    if received == expected {
        return Ok(());
    }
    Err(received_garbled(
        format!("reading the rows rank {source} sent (is the same hpclab on every host?)"),
        format!("{received} points instead of its slab's {expected}"),
    ))
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
        submit_wait_s: median(|p| p.submit_wait_s),
    }
}

/// What the level of the ranks' working sets is judged against.
struct Residence<'a> {
    backend: MpiBackend,
    caches: &'a [CacheLevel],
}

impl Residence<'_> {
    /// The farthest level any host's ranks reside in. On the CPU the ranks of one host are
    /// added, threads and bytes: the L1d and L2 are per core, the L3 is shared by the host's
    /// ranks. A GPU rank has its own device (ranks take turns over the adapters).
    fn level(&self, per_rank: &[RankFigures]) -> String {
        let mut hosts: Vec<(&str, u64, usize)> = Vec::new();
        for r in per_rank {
            let threads = match self.backend {
                MpiBackend::Gpu => 1,
                MpiBackend::Rayon => r.threads,
            };
            match hosts.iter_mut().find(|(host, ..)| *host == r.host) {
                Some(entry) if self.backend == MpiBackend::Rayon => {
                    entry.1 += r.working_set_bytes;
                    entry.2 += threads;
                }
                _ => hosts.push((&r.host, r.working_set_bytes, threads)),
            }
        }
        let backend = match self.backend {
            MpiBackend::Gpu => Backend::Gpu,
            MpiBackend::Rayon => Backend::Rayon,
        };
        hosts
            .iter()
            .map(|&(_, bytes, threads)| resides_in(bytes, backend, threads, self.caches))
            .max_by_key(|level| level_distance(level))
            .unwrap_or_else(|| "unknown".into())
    }
}

/// How far from the core a level of [`resides_in`] is: L1d 1, L2 2, L3 3, memory last; the
/// GPU's "device (may fit L2)" as an L2, "device" as memory. `None` when unknown.
pub(crate) fn level_distance(level: &str) -> Option<u32> {
    match level {
        "memory" | "device" => Some(u32::MAX),
        "device (may fit L2)" => Some(2),
        _ => level
            .strip_prefix('L')
            .and_then(|rest| rest.chars().next())
            .and_then(|digit| digit.to_digit(10)),
    }
}

#[allow(clippy::too_many_arguments)] // one point's parts, each from a different step
fn point(
    ranks: usize,
    (grid_rows, columns): (usize, usize),
    schedule: Schedule,
    per_rank: Vec<RankFigures>,
    residual: f32,
    check: Option<StencilCheck>,
    one_host: bool,
    residence: &Residence<'_>,
) -> StencilPoint {
    let totals: Vec<Vec<f64>> = per_rank
        .iter()
        .map(|r| r.samples.iter().map(|s| s.total_s).collect())
        .collect();
    let time = slowest_rank(&totals);
    let updates = (grid_rows * columns) as f64 * schedule.steps as f64;
    StencilPoint {
        ranks,
        grid_rows,
        columns,
        updates_per_s: updates / time.median_s,
        time,
        speedup: None,
        efficiency: None,
        working_set_bytes: per_rank
            .iter()
            .map(|r| r.working_set_bytes)
            .max()
            .unwrap_or(0),
        resides_in: residence.level(&per_rank),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(host: &str, bytes: u64, threads: usize) -> RankFigures {
        RankFigures {
            rank: 0,
            host: host.into(),
            rows: 1,
            threads,
            median: RankPhases::default(),
            first_sample: None,
            samples: Vec::new(),
            setup: SlabSetup::default(),
            working_set_bytes: bytes,
        }
    }

    fn caches() -> Vec<CacheLevel> {
        [("L1d", 48 << 10), ("L2", 2 << 20), ("L3", 32 << 20)]
            .into_iter()
            .map(|(name, bytes)| CacheLevel {
                name: name.into(),
                bytes,
            })
            .collect()
    }

    #[test]
    fn the_ranks_of_a_host_share_its_l3_and_a_gpu_rank_has_its_own_device() {
        let caches = caches();
        let cpu = Residence {
            backend: MpiBackend::Rayon,
            caches: &caches,
        };
        let mib = 1u64 << 20;
        assert_eq!(cpu.level(&[rank("a", 40 * mib, 1)]), "memory");
        // Two 12 MiB slabs on one host: 24 MiB in its L3; three are 36 MiB, too many for it.
        assert_eq!(
            cpu.level(&[rank("a", 12 * mib, 1), rank("a", 12 * mib, 1)]),
            "L3"
        );
        let three = [
            rank("a", 12 * mib, 1),
            rank("a", 12 * mib, 1),
            rank("a", 12 * mib, 1),
        ];
        assert_eq!(cpu.level(&three), "memory");
        // On two hosts each L3 holds one slab; the farthest host decides.
        assert_eq!(
            cpu.level(&[rank("a", 20 * mib, 1), rank("b", 20 * mib, 1)]),
            "L3"
        );
        assert_eq!(
            cpu.level(&[rank("a", mib, 1), rank("b", 40 * mib, 1)]),
            "memory"
        );
        // Private levels hold a core's share: 2 ranks × 2 threads, 4 MiB each.
        assert_eq!(
            cpu.level(&[rank("a", 4 * mib, 2), rank("a", 4 * mib, 2)]),
            "L2"
        );
        let gpu = Residence {
            backend: MpiBackend::Gpu,
            caches: &caches,
        };
        let big = 100 * mib;
        assert_eq!(
            gpu.level(&[rank("a", big, 1), rank("a", big, 1)]),
            "device (may fit L2)"
        );
    }

    fn refusal(n: u64, scaling: Option<Scaling>, world: usize) -> String {
        series(n, scaling, world).unwrap_err().to_string()
    }

    #[test]
    fn a_series_measures_each_rank_count_on_its_grid() {
        let grids = |scaling| {
            let counts = series(10, scaling, 3).unwrap();
            counts.iter().map(|c| (c.ranks, c.grid)).collect::<Vec<_>>()
        };
        assert_eq!(grids(None), vec![(3, (10, 10))]);
        let strong = grids(Some(Scaling::Strong));
        assert_eq!(strong, vec![(1, (10, 10)), (2, (10, 10)), (3, (10, 10))]);
        let weak = grids(Some(Scaling::Weak));
        assert_eq!(weak, vec![(1, (10, 10)), (2, (20, 10)), (3, (30, 10))]);
    }

    #[test]
    fn a_series_that_cannot_run_is_refused_naming_the_size() {
        assert!(refusal(0, None, 2).contains("at least 1"));
        assert!(refusal(2, None, 3).contains("every rank needs at least one row"));
        // Weak scaling multiplies the rows by the ranks: past any usize.
        let overflow = refusal(1 << 62, Some(Scaling::Weak), 4);
        assert!(
            overflow.contains("more points than this machine can count"),
            "{overflow}"
        );
        // 70 000 rows on 2 ranks: slabs of 35 000 × 70 000 points, past MPI's 32-bit count.
        let slab = refusal(70_000, None, 2);
        assert!(
            slab.starts_with("--size 70000: on 2 ranks a slab of 35000 rows"),
            "{slab}"
        );
        assert!(slab.contains("2147483647"), "{slab}");
        // One rank alone sends no rows, so only the series' larger counts are refused.
        assert!(series(70_000, None, 1).is_ok());
        assert!(refusal(70_000, Some(Scaling::Strong), 2).contains("on 2 ranks"));
        assert!(series(40_000, None, 2).is_ok());
    }

    #[test]
    fn host_memory_counts_the_hosts_slabs_and_rank_0s_check() {
        let strong = series(100, Some(Scaling::Strong), 4).unwrap();
        let grid = 100 * 100;
        // Every count holds the grid once over its slabs; one rank per host holds its slab.
        assert_eq!(host_bytes(&strong, 4, false, false), grid * 16);
        assert_eq!(host_bytes(&strong, 1, false, false), grid * 16);
        assert_eq!(host_bytes(&strong, 4, true, false), grid * (16 + 4));
        assert_eq!(host_bytes(&strong, 4, true, true), grid * (16 + 32));
        // Weak scaling: each rank a 100 × 100 slab, as many on the host as take part.
        let weak = series(100, Some(Scaling::Weak), 4).unwrap();
        assert_eq!(host_bytes(&weak, 4, false, false), 4 * grid * 16);
        assert_eq!(host_bytes(&weak, 2, false, false), 2 * grid * 16);

        assert!(check_host_memory(100, 900, Some(1000)).is_ok());
        assert!(check_host_memory(100, 901, None).is_ok());
        let refused = check_host_memory(100, 901, Some(1000)).unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("--size 100: the stencil needs")
        );
        assert_eq!(refused.exit_code(), 2);
    }

    #[test]
    fn rows_that_are_not_the_senders_slab_are_refused() {
        // 10 rows of 3 on 3 ranks: slabs of 4, 3 and 3 rows.
        assert!(check_slab_length(12, 10, 3, 3, 0).is_ok());
        assert!(check_slab_length(9, 10, 3, 3, 2).is_ok());
        let refused = check_slab_length(12, 10, 3, 3, 2).unwrap_err().to_string();
        assert!(refused.contains("rank 2 sent"), "{refused}");
        assert!(
            refused.contains("12 points instead of its slab's 9"),
            "{refused}"
        );
    }

    #[test]
    fn levels_order_from_the_core_out() {
        let order: Vec<Option<u32>> = ["L1d", "L2", "L3", "memory", "unknown"]
            .into_iter()
            .map(level_distance)
            .collect();
        assert_eq!(order, vec![Some(1), Some(2), Some(3), Some(u32::MAX), None]);
        assert!(level_distance("device (may fit L2)") < level_distance("device"));
    }
}
