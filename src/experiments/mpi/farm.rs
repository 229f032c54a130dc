//! A master–worker task farm: the master cuts the Mandelbrot image into tasks of `--rows` rows
//! and hands them to K workers (spawned with `MPI_Comm_spawn`, or mpirun's ranks 1..K with
//! `--ranks`) under three schedules — static blocks, static round-robin, dynamic on demand.
//! Each worker computes its tasks with the catalogue's fractal row kernel and sends the rows
//! back; the master assembles the image and checks it bit for bit against the one it computed
//! alone first (which also times the speed-up's baseline). Rows through the set cost up to
//! `max_iter` iterations per pixel and rows far from it a handful, so equal blocks of rows are
//! unequal work: the schedules differ in load imbalance, and tiny tasks in the master's message
//! overhead.
//!
//! The messages (tags): the master sends a worker its brief once (JSON), then per sample
//! either a list of tasks `[rows per task, task, …]` or, at the end of a sample, a request for
//! its figures, and at the end a quit. A worker sends back one message per task,
//! `[task, pixels …]`, and its figures `[busy seconds, tasks]`.

use super::{check_outputs, message_buffer, mpi_heading, samples, table, timed, verdict};
use crate::distributed::farm::{
    FarmSchedule, RowBackend, first_difference, imbalance, task_count, task_rows,
};
use crate::distributed::mpi::{MAX_MPI_COUNT, MpiInfo, Session, received_garbled};
use crate::environment::{Environment, Provenance};
use crate::error::{Error, Result};
use crate::kernels::fractal::{Grid, Set};
use crate::measure::{MeasureOptions, Stats};
use crate::report::csv::{self, Number};
use crate::report::format::{ratio, seconds};
use crate::report::plot::{Axis, Chart, Series, Unit, time_bar};
use crate::report::progress::Progress;
use crate::report::table::Rows;
use crate::report::{self, Document, to_json};
use crate::size::cap_size;
use mpi::point_to_point::Status;
use mpi::topology::Process;
use mpi::traits::*;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Where the workers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workers {
    /// K workers spawned by the master (`--workers K`), over the inter-communicator.
    Spawned(usize),
    /// mpirun's ranks 1.. (`--ranks`), over the world communicator.
    Ranks,
}

/// The farm as the command line asked for it.
#[derive(Debug, Clone)]
pub struct FarmConfig {
    pub workers: Workers,
    /// Image side n (capped by `HPCLAB_MAX_SIZE`).
    pub size: u64,
    /// Rows per task, one sample series each.
    pub rows: Vec<u64>,
    pub schedules: Vec<FarmSchedule>,
    pub backend: RowBackend,
    pub max_iter: u32,
    /// For tests of the check: the worker computing this row changes one pixel of it.
    pub corrupt_row: Option<u64>,
    pub sampling: MeasureOptions,
    pub destination: report::Destination,
}

/// What a worker needs to know, sent by the master once.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Brief {
    size: usize,
    max_iter: u32,
    backend: RowBackend,
    corrupt_row: Option<usize>,
}

impl Brief {
    fn grid(&self) -> Grid {
        Grid::new(Set::Mandelbrot, self.size, self.max_iter)
    }
}

/// Message tags.
const BRIEF: i32 = 1;
const TASKS: i32 = 2;
const REPORT: i32 = 3;
const QUIT: i32 = 4;
const RESULT: i32 = 5;
const FIGURES: i32 = 6;

/// A pixel value no escape count takes (counts are at most `max_iter` ≤ 10^6): the assembled
/// image is filled with it before every sample, so that a task never sent back cannot pass.
const POISON: u32 = u32::MAX;

/// One worker's share of one sample.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WorkerLoad {
    pub worker: usize,
    pub tasks: usize,
    /// Seconds computing its tasks.
    pub busy_s: f64,
    /// The sample's time less its busy time: waiting for work, sending, receiving.
    pub idle_s: f64,
}

/// One schedule at one task size.
#[derive(Debug, Clone, Serialize)]
pub struct FarmPoint {
    pub schedule: FarmSchedule,
    pub rows_per_task: usize,
    pub tasks: usize,
    /// From the master's first task message to the last result in.
    pub time: Stats,
    /// The master's time to compute the whole image alone (`one_process`) over `time`'s
    /// median.
    pub speedup_vs_one_process: f64,
    /// Busiest worker's busy time over the mean, in the sample of median time.
    pub imbalance: f64,
    /// Per worker, in the sample of median time.
    pub per_worker: Vec<WorkerLoad>,
    /// Every sample's image equal to the single-process image bit for bit.
    pub verified: bool,
}

/// The output of `hpclab mpi farm`.
#[derive(Debug, Clone, Serialize)]
pub struct FarmDocument {
    #[serde(flatten)]
    pub provenance: Provenance,
    pub mpi: MpiInfo,
    /// `spawned` or `ranks`.
    pub workers_from: String,
    pub workers: usize,
    pub size: usize,
    pub max_iter: u32,
    pub backend: RowBackend,
    pub runs: usize,
    pub warmup: usize,
    /// The master computing the whole image alone with the same backend: the reference image
    /// and the speed-up's baseline.
    pub one_process: Stats,
    pub points: Vec<FarmPoint>,
    /// Where the first sample that failed differed: (row, column).
    pub first_mismatch: Option<(usize, usize)>,
    pub verified: bool,
}

impl FarmDocument {
    /// A warning when the spawned workers and the master outnumber the master's cores: a process
    /// waiting in MPI spins on a core, so on a small machine the master and the idle workers take
    /// time from the busy ones. (mpirun's ranks are flagged in the heading.)
    fn crowded_host(&self) -> Option<String> {
        let processes = self.workers + 1;
        (self.workers_from == "spawned" && processes > self.mpi.cores_per_host).then(|| {
            format!(
                "warning: {processes} processes (the master and {} workers) on a host of {} cores, if the workers were placed here: \
                 a process waiting for a message spins on a core, so the busy workers get less than a core each and the speed-up stays \
                 below {}; OMPI_MCA_mpi_yield_when_idle=1 makes waiting processes yield",
                self.workers, self.mpi.cores_per_host, self.workers
            )
        })
    }
}

/// The most workers a spawned farm may ask for.
pub const MAX_WORKERS: usize = 1024;

/// Runs the farm: the master returns the document; a worker does its part and returns `None`.
pub fn measure(
    session: &Session,
    config: &FarmConfig,
    command: String,
) -> Result<Option<FarmDocument>> {
    if let Some(parent) = session.world.parent() {
        work(&parent, 0);
        return Ok(None);
    }
    let size = cap_size(config.size).max(1) as usize;
    // Agreed, not assumed alike: each rank caps the size by its own HPCLAB_MAX_SIZE.
    let rows = session.agree(check_farm(config, session.size, size))?;
    check_outputs(session, &config.destination, "farm", true)?;
    // Only the master holds images, and it may lack the memory.
    let images = session.agree(if session.is_root() {
        let pixels = size * size;
        message_buffer(pixels, "--size", |_| 0u32).and_then(|reference| {
            Ok(Some((
                reference,
                message_buffer(pixels, "--size", |_| POISON)?,
            )))
        })
    } else {
        Ok(None)
    })?;
    let info = session.info();
    match images {
        // A worker rank of --ranks.
        None => {
            work(&session.world, 0);
            Ok(None)
        }
        Some((reference, image)) => {
            let master = Master {
                session,
                config,
                size,
                reference,
                image,
            };
            master.run(&rows, info, command).map(Some)
        }
    }
}

/// Every check of the arguments, alike on every rank; the rows per task, capped at the image.
fn check_farm(config: &FarmConfig, ranks: usize, size: usize) -> Result<Vec<usize>> {
    match config.workers {
        Workers::Spawned(_) if ranks > 1 => {
            return Err(Error::usage(
                "mpi farm --workers spawns its workers: run the master alone, `mpirun -n 1 hpclab \
                 mpi farm --workers K`, or farm over mpirun's ranks with --ranks",
            ));
        }
        Workers::Spawned(k) if k == 0 || k > MAX_WORKERS => {
            return Err(Error::usage(format!(
                "--workers {k}: spawn between 1 and {MAX_WORKERS} workers"
            )));
        }
        Workers::Ranks if ranks < 2 => {
            return Err(Error::usage(
                "mpi farm --ranks needs a master and at least one worker: `mpirun -n 3 hpclab mpi farm --ranks`",
            ));
        }
        _ => {}
    }
    let pixels = (size as u64).checked_mul(size as u64);
    if pixels.is_none_or(|p| p > isize::MAX as u64 / size_of::<u32>() as u64) {
        return Err(Error::usage(format!(
            "--size {size}: an image of {size} × {size} pixels is more than this machine can \
             address; use a smaller --size"
        )));
    }
    if config.schedules.is_empty() {
        return Err(Error::usage("--schedule: name at least one schedule"));
    }
    let mut rows: Vec<usize> = Vec::new();
    for &r in &config.rows {
        if r == 0 {
            return Err(Error::usage("--rows: a task has at least one row"));
        }
        rows.push(r.min(size as u64) as usize);
    }
    rows.dedup();
    let largest_task = (rows.iter().max().copied().unwrap_or(1) as u64)
        .saturating_mul(size as u64)
        .saturating_add(1);
    if largest_task > MAX_MPI_COUNT {
        return Err(Error::usage(format!(
            "--rows: a task of {largest_task} pixels is more than one MPI message carries \
             ({MAX_MPI_COUNT}); use fewer rows per task or a smaller --size"
        )));
    }
    Ok(rows)
}

/// The master and its two images.
struct Master<'a> {
    session: &'a Session,
    config: &'a FarmConfig,
    size: usize,
    /// The image computed alone.
    reference: Vec<u32>,
    /// The image the workers send back.
    image: Vec<u32>,
}

impl Master<'_> {
    /// The reference image, the workers, every schedule at every task size.
    fn run(mut self, rows: &[usize], info: MpiInfo, command: String) -> Result<FarmDocument> {
        let config = self.config;
        let brief = Brief {
            size: self.size,
            max_iter: config.max_iter,
            backend: config.backend,
            corrupt_row: config.corrupt_row.map(|r| r as usize),
        };
        let grid = brief.grid();
        let reference = &mut self.reference;
        let one_process = super::timed_stats(config.sampling, || {
            timed(|| config.backend.compute(&grid, 0, reference))
        });
        let (points, first_mismatch) = match config.workers {
            Workers::Spawned(k) => {
                let program = std::env::current_exe()
                    .map_err(|e| Error::io("finding this hpclab to spawn it", e))?;
                let children = super::spawn::spawn_workers(self.session, &program, &["farm"], k)?;
                let measured = self.farm_over(&children, 0, k, rows, &brief, &one_process);
                // Dropping the inter-communicator disconnects the workers, which then end.
                drop(children);
                measured
            }
            Workers::Ranks => {
                let workers = self.session.size - 1;
                self.farm_over(&self.session.world, 1, workers, rows, &brief, &one_process)
            }
        };
        let verified = points.iter().all(|p| p.verified);
        Ok(FarmDocument {
            provenance: Provenance::new(command, Environment::capture(1, None)),
            mpi: info,
            workers_from: match config.workers {
                Workers::Spawned(_) => "spawned",
                Workers::Ranks => "ranks",
            }
            .into(),
            workers: points.first().map_or(0, |p| p.per_worker.len()),
            size: self.size,
            max_iter: config.max_iter,
            backend: config.backend,
            runs: config.sampling.runs,
            warmup: config.sampling.warmup,
            one_process,
            points,
            first_mismatch,
            verified,
        })
    }
}

impl Master<'_> {
    /// Every schedule at every task size over `workers` workers, worker 0 at rank `first` of
    /// `comm`.
    fn farm_over<C: Communicator>(
        &mut self,
        comm: &C,
        first: usize,
        workers: usize,
        rows: &[usize],
        brief: &Brief,
        one_process: &Stats,
    ) -> (Vec<FarmPoint>, Option<(usize, usize)>) {
        let farm = Farm {
            comm,
            first,
            workers,
            size: self.size,
        };
        farm.run(
            self.config,
            rows,
            brief,
            &self.reference,
            &mut self.image,
            one_process,
        )
    }
}

impl<C: Communicator> Farm<'_, C> {
    /// Every schedule at every task size: the brief to every worker first, the quit at the end.
    fn run(
        &self,
        config: &FarmConfig,
        rows: &[usize],
        brief: &Brief,
        reference: &[u32],
        image: &mut [u32],
        one_process: &Stats,
    ) -> (Vec<FarmPoint>, Option<(usize, usize)>) {
        let brief_bytes = serde_json::to_vec(brief).expect("a brief of plain numbers serialises");
        for w in 0..self.workers {
            self.worker(w).send_with_tag(&brief_bytes[..], BRIEF);
        }
        let progress = Progress::new(
            (rows.len() * config.schedules.len()) as u64,
            "schedules",
            false,
        );
        let mut points = Vec::new();
        let mut first_mismatch = None;
        for &rows_per_task in rows {
            for &schedule in &config.schedules {
                progress.set_message(format!("{} · {rows_per_task} rows", schedule.name()));
                let mut verified = true;
                let kept = samples(config.sampling, || {
                    image.fill(POISON);
                    let sample = self.sample(schedule, rows_per_task, image);
                    let mismatch = first_difference(reference, image, self.size);
                    verified &= mismatch.is_none();
                    first_mismatch = first_mismatch.or(mismatch);
                    sample
                });
                points.push(point(
                    schedule,
                    rows_per_task,
                    self.size,
                    kept,
                    one_process,
                    verified,
                ));
                progress.step();
            }
        }
        progress.finish();
        for w in 0..self.workers {
            self.worker(w).send_with_tag(&[0u64][..], QUIT);
        }
        (points, first_mismatch)
    }
}

/// One sample: the time, and each worker's figures.
struct Sample {
    time_s: f64,
    per_worker: Vec<WorkerLoad>,
}

/// The figures of one schedule and task size from its kept samples.
fn point(
    schedule: FarmSchedule,
    rows_per_task: usize,
    size: usize,
    kept: Vec<Sample>,
    one_process: &Stats,
    verified: bool,
) -> FarmPoint {
    let time = Stats::from_samples(kept.iter().map(|s| s.time_s).collect())
        .expect("--runs is at least 1 (clap's range), so a sample is kept");
    let median_sample = kept
        .into_iter()
        .min_by(|a, b| {
            (a.time_s - time.median_s)
                .abs()
                .total_cmp(&(b.time_s - time.median_s).abs())
        })
        .expect("a sample is kept");
    let busy: Vec<f64> = median_sample.per_worker.iter().map(|w| w.busy_s).collect();
    FarmPoint {
        schedule,
        rows_per_task,
        tasks: task_count(size, rows_per_task),
        speedup_vs_one_process: one_process.median_s / time.median_s,
        imbalance: imbalance(&busy),
        per_worker: median_sample.per_worker,
        time,
        verified,
    }
}

/// The master's view of its workers.
struct Farm<'c, C: Communicator> {
    comm: &'c C,
    /// The rank of worker 0 in `comm`.
    first: usize,
    workers: usize,
    size: usize,
}

impl<C: Communicator> Farm<'_, C> {
    fn worker(&self, w: usize) -> Process<'_> {
        self.comm.process_at_rank((self.first + w) as i32)
    }

    fn send_tasks(&self, w: usize, rows_per_task: usize, tasks: &[usize]) {
        let message: Vec<u64> = std::iter::once(rows_per_task)
            .chain(tasks.iter().copied())
            .map(|v| v as u64)
            .collect();
        self.worker(w).send_with_tag(&message[..], TASKS);
    }

    /// Receives one result from any worker into `image`; returns the worker it came from.
    fn receive_result(&self, rows_per_task: usize, image: &mut [u32]) -> usize {
        let (message, status): (Vec<u32>, Status) = self.comm.any_process().receive_vec();
        let worker = status.source_rank() as usize - self.first;
        let rows = message
            .first()
            .map(|&task| task_rows(task as usize, rows_per_task, self.size));
        match rows {
            Some(rows) if message.len() == 1 + rows.len() * self.size => {
                image[rows.start * self.size..rows.end * self.size].copy_from_slice(&message[1..]);
            }
            // A malformed result leaves its rows poisoned: the check fails the sample.
            _ => {}
        }
        worker
    }

    /// One run of `schedule` over tasks of `rows_per_task` rows into `image`.
    fn sample(&self, schedule: FarmSchedule, rows_per_task: usize, image: &mut [u32]) -> Sample {
        let tasks = task_count(self.size, rows_per_task);
        let started = Instant::now();
        match schedule.assignment(tasks, self.workers) {
            Some(lists) => {
                for (w, list) in lists.iter().enumerate() {
                    self.send_tasks(w, rows_per_task, list);
                }
                for _ in 0..tasks {
                    self.receive_result(rows_per_task, image);
                }
            }
            None => {
                // One task in flight per worker; the next goes to whoever sends a result.
                let mut next = 0;
                for w in 0..self.workers.min(tasks) {
                    self.send_tasks(w, rows_per_task, &[next]);
                    next += 1;
                }
                for _ in 0..tasks {
                    let w = self.receive_result(rows_per_task, image);
                    if next < tasks {
                        self.send_tasks(w, rows_per_task, &[next]);
                        next += 1;
                    }
                }
            }
        }
        let time_s = started.elapsed().as_secs_f64();
        let per_worker = (0..self.workers)
            .map(|w| {
                self.worker(w).send_with_tag(&[0u64][..], REPORT);
                let (figures, _) = self.worker(w).receive_vec_with_tag::<f64>(FIGURES);
                let busy_s = figures.first().copied().unwrap_or(f64::NAN);
                WorkerLoad {
                    worker: w,
                    tasks: figures.get(1).copied().unwrap_or(0.0) as usize,
                    busy_s,
                    idle_s: (time_s - busy_s).max(0.0),
                }
            })
            .collect();
        Sample { time_s, per_worker }
    }
}

/// A worker: its brief, then tasks until the quit. `master` is the master's rank in `comm`. A
/// message it cannot read ends the whole job (the master waits for its results).
fn work<C: Communicator>(comm: &C, master: usize) {
    let master = comm.process_at_rank(master as i32);
    let (bytes, _) = master.receive_vec_with_tag::<u8>(BRIEF);
    let brief: Brief = match serde_json::from_slice(&bytes) {
        Ok(brief) => brief,
        Err(e) => abort(
            comm,
            received_garbled(
                "reading the master's brief (is the same hpclab on every host?)".into(),
                e,
            ),
        ),
    };
    let grid = brief.grid();
    let n = brief.size;
    let (mut busy_s, mut done) = (0.0f64, 0usize);
    let mut result: Vec<u32> = Vec::new();
    loop {
        let (message, status) = master.receive_vec::<u64>();
        match status.tag() {
            TASKS => {
                let rows_per_task = message.first().copied().unwrap_or(1) as usize;
                for &task in message.iter().skip(1) {
                    let rows = task_rows(task as usize, rows_per_task, n);
                    result.resize(1 + rows.len() * n, 0);
                    result[0] = task as u32;
                    busy_s += timed(|| brief.backend.compute(&grid, rows.start, &mut result[1..]));
                    if let Some(row) = brief.corrupt_row.filter(|r| rows.contains(r)) {
                        result[1 + (row - rows.start) * n] ^= 1;
                    }
                    done += 1;
                    master.send_with_tag(&result[..], RESULT);
                }
            }
            REPORT => {
                master.send_with_tag(&[busy_s, done as f64][..], FIGURES);
                (busy_s, done) = (0.0, 0);
            }
            QUIT => return,
            tag => abort(
                comm,
                Error::usage(format!(
                    "a worker received a message it does not know (tag {tag})"
                )),
            ),
        }
    }
}

/// Says why on stderr and ends the whole job: the other side waits for this one.
fn abort<C: Communicator>(comm: &C, error: Error) -> ! {
    crate::error::say(&format!("farm worker: {error}"));
    comm.abort(error.exit_code())
}

/// The CSV row of one worker in one schedule and task size.
#[derive(Serialize, Default)]
struct FarmRow {
    schedule: &'static str,
    rows_per_task: usize,
    tasks: usize,
    time_median_s: Number,
    speedup_vs_one_process: Number,
    imbalance: Number,
    worker: usize,
    worker_tasks: usize,
    worker_busy_s: Number,
    worker_idle_s: Number,
}

impl FarmDocument {
    fn figure(&self) -> Chart {
        let mut series: Vec<Series> = Vec::new();
        let mut schedules: Vec<FarmSchedule> = self.points.iter().map(|p| p.schedule).collect();
        schedules.dedup();
        schedules.sort_by_key(|s| s.name());
        schedules.dedup();
        for schedule in schedules {
            let of: Vec<&FarmPoint> = self
                .points
                .iter()
                .filter(|p| p.schedule == schedule)
                .collect();
            series.push(
                Series::measured(
                    schedule.name(),
                    of.iter()
                        .map(|p| (p.rows_per_task as f64, p.time.median_s))
                        .collect(),
                )
                .bars(
                    of.iter()
                        .map(|p| time_bar(p.rows_per_task as f64, &p.time, 1.0))
                        .collect(),
                ),
            );
        }
        let mut rows: Vec<f64> = self.points.iter().map(|p| p.rows_per_task as f64).collect();
        rows.sort_by(f64::total_cmp);
        rows.dedup();
        let ideal = self.one_process.median_s / self.workers.max(1) as f64;
        series.push(Series::bound(
            format!("one process / {} workers", self.workers),
            rows.iter().map(|&r| (r, ideal)).collect(),
        ));
        Chart::new(
            format!(
                "Task farm: {n}×{n} Mandelbrot over {} {} workers ({})",
                self.workers,
                self.workers_from,
                self.backend_name(),
                n = self.size
            ),
            Axis::log("rows per task", Unit::Count),
            Axis::log(
                "time to the last result (median; bars: min–max)",
                Unit::Seconds,
            ),
        )
        .with_series(series)
    }

    fn backend_name(&self) -> &'static str {
        match self.backend {
            RowBackend::Scalar => "scalar",
            RowBackend::Simd => "simd",
            RowBackend::Rayon => "rayon",
        }
    }
}

impl Document for FarmDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

    fn verified(&self) -> bool {
        self.verified
    }

    fn heading(&self) -> Vec<String> {
        vec![
            format!(
                "mpi farm · {n}×{n} Mandelbrot (max-iter {}) · {} {} workers, {} inside · {} samples after {} warm-up",
                self.max_iter,
                self.workers,
                self.workers_from,
                self.backend_name(),
                self.runs,
                self.warmup,
                n = self.size
            ),
            mpi_heading(&self.mpi),
        ]
    }

    fn tables(&self) -> Vec<Rows> {
        let header = [
            "schedule",
            "rows/task",
            "tasks",
            "time",
            "speed-up vs one process",
            "imbalance (max/mean busy)",
            "busy per worker",
            "idle per worker",
            "tasks per worker",
            "check",
        ];
        let list = |p: &FarmPoint, figure: fn(&WorkerLoad) -> String| {
            p.per_worker
                .iter()
                .map(figure)
                .collect::<Vec<_>>()
                .join(" / ")
        };
        vec![table(&header, &self.points, vec![1, 2, 3, 4, 5], |p| {
            vec![
                p.schedule.name().into(),
                p.rows_per_task.to_string(),
                p.tasks.to_string(),
                seconds(p.time.median_s),
                ratio(p.speedup_vs_one_process),
                ratio(p.imbalance),
                list(p, |w| seconds(w.busy_s)),
                list(p, |w| seconds(w.idle_s)),
                list(p, |w| w.tasks.to_string()),
                if p.verified { "exact" } else { "FAILED" }.into(),
            ]
        })]
    }

    fn footer(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "one process: the master computing the whole image alone with {} took {} (median): the speed-up's baseline and the reference image",
                self.backend_name(),
                seconds(self.one_process.median_s)
            ),
            "time: from the master's first task message to the last result in; busy: a worker computing; idle: the rest (waiting for a task, sending rows); per worker in the sample of median time".into(),
            "blocks: equal runs of tasks per worker; round-robin: task t to worker t mod K; dynamic: the next task to whoever sends a result".into(),
            verdict(
                self.verified,
                "every sample's image equals the single-process image bit for bit",
                &match self.first_mismatch {
                    Some((row, col)) => format!("the assembled image differs from the single-process image first at row {row}, column {col}"),
                    None => "the assembled image differs from the single-process image".into(),
                },
            ),
        ];
        if let Some(line) = self.crowded_host() {
            lines.push(line);
        }
        lines
    }

    fn csv(&self) -> Result<String> {
        csv::write(self.points.iter().flat_map(|p| {
            p.per_worker.iter().map(move |w| FarmRow {
                schedule: p.schedule.name(),
                rows_per_task: p.rows_per_task,
                tasks: p.tasks,
                time_median_s: Number(p.time.median_s),
                speedup_vs_one_process: Number(p.speedup_vs_one_process),
                imbalance: Number(p.imbalance),
                worker: w.worker,
                worker_tasks: w.tasks,
                worker_busy_s: Number(w.busy_s),
                worker_idle_s: Number(w.idle_s),
            })
        }))
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }

    fn chart(&self) -> Option<Chart> {
        Some(self.figure())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(workers: Workers, rows: Vec<u64>) -> FarmConfig {
        FarmConfig {
            workers,
            size: 64,
            rows,
            schedules: vec![FarmSchedule::Dynamic],
            backend: RowBackend::Simd,
            max_iter: 16,
            corrupt_row: None,
            sampling: MeasureOptions { warmup: 0, runs: 1 },
            destination: report::Destination::default(),
        }
    }

    fn document(workers_from: &str, workers: usize) -> FarmDocument {
        FarmDocument {
            provenance: crate::environment::Provenance::new(
                "test".into(),
                crate::environment::Environment::capture(1, None),
            ),
            mpi: super::super::test_mpi_info("single"),
            workers_from: workers_from.into(),
            workers,
            size: 64,
            max_iter: 16,
            backend: RowBackend::Simd,
            runs: 1,
            warmup: 0,
            one_process: Stats::from_samples(vec![1.0]).unwrap(),
            points: Vec::new(),
            first_mismatch: None,
            verified: true,
        }
    }

    #[test]
    fn spawned_workers_that_outnumber_the_cores_with_the_master_are_warned_about() {
        // test_mpi_info: hosts of 2 cores.
        let warning = document("spawned", 2)
            .crowded_host()
            .expect("3 processes on 2 cores");
        assert!(warning.contains("3 processes"), "{warning}");
        assert!(
            warning.contains("OMPI_MCA_mpi_yield_when_idle=1"),
            "{warning}"
        );
        assert!(document("spawned", 1).crowded_host().is_none());
        // mpirun's ranks: the heading's OVERSUBSCRIBED says it.
        assert!(document("ranks", 2).crowded_host().is_none());
    }

    #[test]
    fn the_farm_refuses_what_it_cannot_run_and_caps_tasks_at_the_image() {
        let spawned = config(Workers::Spawned(2), vec![1, 16, 64, 100]);
        assert_eq!(check_farm(&spawned, 1, 64).unwrap(), vec![1, 16, 64]);
        let refused = |config: &FarmConfig, ranks: usize, size: usize| {
            check_farm(config, ranks, size).unwrap_err().to_string()
        };
        assert!(refused(&spawned, 2, 64).contains("--ranks"));
        assert!(refused(&config(Workers::Ranks, vec![1]), 1, 64).contains("at least one worker"));
        assert!(refused(&spawned, 1, 1 << 40).contains("more than this machine can address"));
        // One task of 2^16 rows of 2^16 pixels: more than one MPI message carries.
        let whole = config(Workers::Spawned(2), vec![1 << 16]);
        assert!(refused(&whole, 1, 1 << 16).contains("more than one MPI message carries"));
    }
}
