//! Starting processes while a job runs (MPI's dynamic process management): the parent, one
//! process, spawns K workers with `MPI_Comm_spawn` (this same hpclab, which learns from
//! `MPI_Comm_get_parent` that it is a worker) and times, for each K:
//!
//! - the spawn, until every worker has answered over the inter-communicator (the call returns
//!   once the workers are through `MPI_Init`; the answer proves they can reach the parent);
//! - the first 8-byte round trip to worker 0 across the inter-communicator, and the median of
//!   [`WARM_ROUND_TRIPS`] more;
//! - the disconnect (`MPI_Comm_disconnect`, which waits for the workers' side).
//!
//! Beside it, the same number of processes started the usual way: `mpirun -n K hpclab mpi
//! startup`, run as a child process, timed from its start until its ranks leave their first
//! barrier (the moment every rank is up and has answered, from startup's own figures).

use super::startup::{RankStartup, unix_now_s};
use super::{check_outputs, mpi_heading, round_trip, samples, table, timed, verdict};
use crate::distributed::mpi::{MpiInfo, Session, received_garbled};
use crate::environment::{Environment, Provenance};
use crate::error::{Error, Result};
use crate::measure::runner::take_samples;
use crate::measure::{MeasureOptions, Stats};
use crate::report::csv::{self, Number};
use crate::report::format::{ratio, seconds};
use crate::report::plot::{Axis, Chart, Series, Unit, time_bar};
use crate::report::progress::Progress;
use crate::report::table::Rows;
use crate::report::{self, Document, to_json};
use mpi::topology::InterCommunicator;
use mpi::traits::*;
use serde::Serialize;
use std::process::{Command, Stdio};

/// Warm round trips timed after the first one, per spawn (their median is reported).
pub const WARM_ROUND_TRIPS: usize = 10;

/// The pause before each spawn, outside the timing. Open MPI 4's runtime, asked for spawn
/// after spawn, now and then loses the lookup that connects parent and workers and hangs for
/// minutes ("A request has timed out … LOOKUP"; open-mpi/ompi#12940 found that a pause
/// between spawns avoids it): the previous workers' job is left time to end.
pub const PAUSE_BETWEEN_SPAWNS: std::time::Duration = std::time::Duration::from_millis(500);

/// The most workers one `--workers` count may ask for.
pub const MAX_WORKERS: u64 = 1024;

/// The spawn experiment as the command line asked for it.
#[derive(Debug, Clone)]
pub struct SpawnConfig {
    /// Worker counts K to spawn.
    pub workers: Vec<usize>,
    /// Spawns per K (warm-up ones discarded).
    pub sampling: MeasureOptions,
    /// Also start `mpirun -n K hpclab mpi startup` for each K.
    pub compare_with_mpirun: bool,
    pub destination: report::Destination,
}

/// What one spawn of K workers measured, seconds.
#[derive(Debug, Clone, Copy)]
struct SpawnSample {
    spawn_s: f64,
    first_round_trip_s: f64,
    warm_round_trip_s: f64,
    disconnect_s: f64,
    /// Every worker answered with its own rank, and every round trip came back intact.
    intact: bool,
}

/// One worker count.
#[derive(Debug, Clone, Serialize)]
pub struct SpawnPoint {
    pub workers: usize,
    /// From `MPI_Comm_spawn` until every worker has answered.
    pub spawn: Stats,
    /// The first 8-byte round trip to worker 0 across the inter-communicator.
    pub first_round_trip: Stats,
    /// The median of the warm round trips of each spawn.
    pub warm_round_trip: Stats,
    /// `MPI_Comm_disconnect` on the parent's side.
    pub disconnect: Stats,
    /// `mpirun -n K hpclab mpi startup`: from starting mpirun until its ranks left their first
    /// barrier (all up and answered); `None` with `--no-mpirun` or where it could not run.
    pub mpirun_ready: Option<Stats>,
    /// The same mpirun from its start until it exited (start-up figures and tear-down included).
    pub mpirun_whole: Option<Stats>,
}

/// The output of `hpclab mpi spawn`.
#[derive(Debug, Clone, Serialize)]
pub struct SpawnDocument {
    #[serde(flatten)]
    pub provenance: Provenance,
    pub mpi: MpiInfo,
    pub runs: usize,
    pub warmup: usize,
    pub points: Vec<SpawnPoint>,
    /// Why the mpirun comparison is missing (`--no-mpirun`, or mpirun failed), if it is.
    pub mpirun_missing: Option<String>,
    pub verified: bool,
}

/// The one-line advice when this process cannot spawn.
const SPAWN_NEEDS_ONE_PROCESS: &str = "starts its workers itself: run it as one process, \
     `mpirun -n 1 hpclab mpi spawn` (mpirun's other ranks would have nothing to do)";

/// Runs the experiment: on the parent, the document; on a spawned worker, its part and `None`.
pub fn measure(
    session: &Session,
    config: &SpawnConfig,
    command: String,
) -> Result<Option<SpawnDocument>> {
    if let Some(parent) = session.world.parent() {
        serve(session, parent);
        return Ok(None);
    }
    session.agree(if session.size > 1 {
        Err(Error::usage(format!("mpi spawn {SPAWN_NEEDS_ONE_PROCESS}")))
    } else {
        check_worker_counts(&config.workers)
    })?;
    check_outputs(session, &config.destination, "spawn", true)?;
    let info = session.info();
    let program =
        std::env::current_exe().map_err(|e| Error::io("finding this hpclab to spawn it", e))?;
    let mut mpirun_missing = (!config.compare_with_mpirun).then(|| "--no-mpirun".to_string());
    let progress = Progress::new(config.workers.len() as u64, "worker counts", false);
    let mut points = Vec::new();
    let mut verified = true;
    for &workers in &config.workers {
        progress.set_message(format!("{workers} workers"));
        let spawns = take_samples(
            config.sampling,
            || spawn_once(session, &program, workers),
            |_, _| {},
        )?;
        verified &= spawns.iter().all(|s| s.intact);
        let stats = |figure: fn(&SpawnSample) -> f64| {
            Stats::from_samples(spawns.iter().map(figure).collect())
                .expect("--runs is at least 1 (clap's range), so a spawn is kept")
        };
        let mut point = SpawnPoint {
            workers,
            spawn: stats(|s| s.spawn_s),
            first_round_trip: stats(|s| s.first_round_trip_s),
            warm_round_trip: stats(|s| s.warm_round_trip_s),
            disconnect: stats(|s| s.disconnect_s),
            mpirun_ready: None,
            mpirun_whole: None,
        };
        if mpirun_missing.is_none() {
            match launch_with_mpirun(&program, workers, config.sampling) {
                Ok((ready, whole)) => {
                    point.mpirun_ready = Some(ready);
                    point.mpirun_whole = Some(whole);
                }
                Err(why) => mpirun_missing = Some(why),
            }
        }
        points.push(point);
        progress.step();
    }
    progress.finish();
    Ok(Some(SpawnDocument {
        provenance: Provenance::new(command, Environment::capture(1, None)),
        mpi: info,
        runs: config.sampling.runs,
        warmup: config.sampling.warmup,
        points,
        mpirun_missing,
        verified,
    }))
}

/// Refuses worker counts of 0 or beyond [`MAX_WORKERS`].
fn check_worker_counts(workers: &[usize]) -> Result<()> {
    match workers.iter().find(|&&k| k == 0 || k as u64 > MAX_WORKERS) {
        Some(k) => Err(Error::usage(format!(
            "--workers {k}: spawn between 1 and {MAX_WORKERS} workers"
        ))),
        None => Ok(()),
    }
}

/// Spawns `workers` copies of this hpclab running `hpclab mpi ARGS` (they learn from their
/// parent communicator that they are workers). MPI_Comm_spawn is collective over the world,
/// which is the parent alone: a spawn that fails leaves no process waiting, so it is an error
/// to return, not a reason to abort (a report goes on with its other steps).
pub(crate) fn spawn_workers(
    session: &Session,
    program: &std::path::Path,
    args: &[&str],
    workers: usize,
) -> Result<InterCommunicator> {
    let mut command = Command::new(program);
    command.arg("mpi").args(args);
    // A spawn MPI cannot make (no free slots, a batch system that forbids it) is answered in
    // one line instead of MPI's fatal error handler ending the process with a page of text.
    set_errors_return(session, true);
    let spawned = session
        .world
        .process_at_rank(0)
        .spawn(&command, workers as i32);
    set_errors_return(session, false);
    spawned.map_err(|e| {
        Error::usage(format!(
            "MPI could not start {workers} workers ({e}): give them slots: start the parent \
             as `mpirun -n 1 --oversubscribe hpclab mpi …` (alone, without mpirun: \
             `OMPI_MCA_rmaps_base_oversubscribe=1 hpclab mpi …`) or with a hostfile of enough \
             slots (lab 7); a batch system may forbid spawning"
        ))
    })
}

/// Makes MPI calls on the world return their errors (`true`) or end the job (`false`, MPI's
/// default), around the one call whose failure hpclab explains itself.
fn set_errors_return(session: &Session, errors_return: bool) {
    use mpi::raw::AsRaw;
    // SAFETY: the world communicator and MPI's predefined handlers are valid while MPI runs.
    unsafe {
        let handler = if errors_return {
            mpi::ffi::RSMPI_ERRORS_RETURN
        } else {
            mpi::ffi::RSMPI_ERRORS_ARE_FATAL
        };
        mpi::ffi::MPI_Comm_set_errhandler(session.world.as_raw(), handler);
    }
}

/// One spawn of `workers` workers, its first and warm round trips, and its disconnect.
fn spawn_once(session: &Session, program: &std::path::Path, workers: usize) -> Result<SpawnSample> {
    std::thread::sleep(PAUSE_BETWEEN_SPAWNS);
    let started = std::time::Instant::now();
    let children = spawn_workers(session, program, &["spawn"], workers)?;
    let mut answered = vec![false; workers];
    for _ in 0..workers {
        let (rank, _) = children.any_process().receive::<u64>();
        if let Some(seen) = answered.get_mut(rank as usize) {
            *seen = true;
        }
    }
    let spawn_s = started.elapsed().as_secs_f64();
    let worker_0 = children.process_at_rank(0);
    let mut message = [ROUND_TRIP_PATTERN];
    let first_round_trip_s = timed(|| round_trip(0, &worker_0, &mut message));
    let mut intact = message == [ROUND_TRIP_PATTERN];
    let warm: Vec<f64> = (0..WARM_ROUND_TRIPS)
        .map(|_| {
            let spent = timed(|| round_trip(0, &worker_0, &mut message));
            intact &= message == [ROUND_TRIP_PATTERN];
            spent
        })
        .collect();
    let warm_round_trip_s = Stats::from_samples(warm).map_or(0.0, |s| s.median_s);
    // Dropping the inter-communicator disconnects it: collective with the workers.
    let disconnect_s = timed(|| drop(children));
    Ok(SpawnSample {
        spawn_s,
        first_round_trip_s,
        warm_round_trip_s,
        disconnect_s,
        intact: intact && answered.iter().all(|&a| a),
    })
}

/// What the round trips carry (any value the worker cannot make up by chance).
const ROUND_TRIP_PATTERN: u64 = 0x5eed_cafe_f00d_0001;

/// A spawned worker's part: answer with its rank, send back the round trips (worker 0), and
/// disconnect.
fn serve(session: &Session, parent: InterCommunicator) {
    let master = parent.process_at_rank(0);
    master.send(&(session.rank as u64));
    if session.rank == 0 {
        let mut message = [0u64];
        for _ in 0..=WARM_ROUND_TRIPS {
            round_trip(1, &master, &mut message);
        }
    }
    drop(parent);
}

/// Starts `mpirun -n K hpclab mpi startup` as a child process `sampling` times and returns the
/// time until its ranks were ready, and until it exited; or why it could not.
fn launch_with_mpirun(
    program: &std::path::Path,
    ranks: usize,
    sampling: MeasureOptions,
) -> std::result::Result<(Stats, Stats), String> {
    let mut failure = None;
    let launches = samples(sampling, || {
        launch_once(program, ranks).unwrap_or_else(|why| {
            failure.get_or_insert(why);
            (0.0, 0.0)
        })
    });
    if let Some(why) = failure {
        return Err(why);
    }
    let stats = |values: Vec<f64>| Stats::from_samples(values).ok_or("no launch was kept");
    let ready = stats(launches.iter().map(|l| l.0).collect())?;
    let whole = stats(launches.iter().map(|l| l.1).collect())?;
    Ok((ready, whole))
}

/// One `mpirun -n K hpclab mpi startup --runs 1 --format json`: (seconds until the last rank
/// left its first barrier, seconds until mpirun exited).
fn launch_once(program: &std::path::Path, ranks: usize) -> std::result::Result<(f64, f64), String> {
    let mut command = Command::new("mpirun");
    command
        .args(["-n", &ranks.to_string(), "--oversubscribe"])
        .arg(program)
        .args(["mpi", "startup", "--runs", "1", "--format", "json"])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    // This process is a rank of a job: the child mpirun must not take its job's variables for
    // its own. Those that only permit (running as root) are kept.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let of_this_job = ["OMPI_", "PMIX_", "OPAL_", "ORTE_", "PMI_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
            && !name.starts_with("OMPI_ALLOW_RUN_AS_ROOT");
        if of_this_job {
            command.env_remove(name.as_ref());
        }
    }
    let invoked_unix_s = unix_now_s();
    let started = std::time::Instant::now();
    let output = command
        .output()
        .map_err(|e| format!("`mpirun` could not be started ({e})"))?;
    let whole_s = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(format!(
            "`mpirun -n {ranks} hpclab mpi startup` failed ({})",
            output.status
        ));
    }
    let document: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| received_garbled("reading mpi startup's JSON".into(), e).to_string())?;
    let ranks: Vec<RankStartup> = serde_json::from_value(document["ranks"].clone())
        .map_err(|e| format!("mpi startup's JSON has no ranks I can read ({e})"))?;
    let ready_unix_s = ranks
        .iter()
        .filter_map(|r| r.first_barrier_ended_unix_s)
        .fold(f64::MIN, f64::max);
    if ready_unix_s == f64::MIN {
        return Err("mpi startup's JSON says when no rank was ready".into());
    }
    Ok((ready_unix_s - invoked_unix_s, whole_s))
}

/// The CSV row of one worker count.
#[derive(Serialize, Default)]
struct SpawnRow {
    workers: usize,
    spawn_median_s: Number,
    first_round_trip_median_s: Number,
    warm_round_trip_median_s: Number,
    disconnect_median_s: Number,
    mpirun_ready_median_s: Option<Number>,
    mpirun_whole_median_s: Option<Number>,
}

impl SpawnDocument {
    fn figure(&self) -> Chart {
        let line = |name: &str, figure: fn(&SpawnPoint) -> Option<&Stats>| {
            let kept: Vec<(f64, &Stats)> = self
                .points
                .iter()
                .filter_map(|p| Some((p.workers as f64, figure(p)?)))
                .collect();
            Series::measured(name, kept.iter().map(|(k, s)| (*k, s.median_s)).collect())
                .bars(kept.iter().map(|(k, s)| time_bar(*k, s, 1.0)).collect())
        };
        let mut series = vec![line(
            "MPI_Comm_spawn until every worker answered (median; bars: min–max)",
            |p| Some(&p.spawn),
        )];
        if self.points.iter().any(|p| p.mpirun_ready.is_some()) {
            series.push(line(
                "mpirun -n K until every rank left its first barrier",
                |p| p.mpirun_ready.as_ref(),
            ));
        }
        Chart::new(
            "Starting K processes: spawned by a running job, or launched by mpirun",
            Axis::linear("processes started (K)", Unit::Integer),
            Axis::linear("time until all are up and answered", Unit::Seconds),
        )
        .with_series(series)
    }
}

impl Document for SpawnDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

    fn verified(&self) -> bool {
        self.verified
    }

    fn heading(&self) -> Vec<String> {
        vec![
            format!(
                "mpi spawn · {} worker counts · {} spawns each after {} warm-up",
                self.points.len(),
                self.runs,
                self.warmup
            ),
            mpi_heading(&self.mpi),
        ]
    }

    fn tables(&self) -> Vec<Rows> {
        let header = [
            "workers K",
            "spawn until all answered",
            "first round trip",
            "warm round trip",
            "disconnect",
            "mpirun -n K: ranks ready",
            "mpirun -n K: whole run",
            "spawn / mpirun ready",
        ];
        let optional = |stats: &Option<Stats>| {
            stats
                .as_ref()
                .map_or("–".to_string(), |s| seconds(s.median_s))
        };
        vec![table(
            &header,
            &self.points,
            vec![0, 1, 2, 3, 4, 5, 6, 7],
            |p| {
                vec![
                    p.workers.to_string(),
                    seconds(p.spawn.median_s),
                    seconds(p.first_round_trip.median_s),
                    seconds(p.warm_round_trip.median_s),
                    seconds(p.disconnect.median_s),
                    optional(&p.mpirun_ready),
                    optional(&p.mpirun_whole),
                    p.mpirun_ready
                        .as_ref()
                        .map_or("–".to_string(), |m| ratio(p.spawn.median_s / m.median_s)),
                ]
            },
        )]
    }

    fn footer(&self) -> Vec<String> {
        let mut lines = vec![
            "medians; spawn: MPI_Comm_spawn returns once the workers are through MPI_Init, then each sends its rank; round trips: 8 bytes to worker 0 across the inter-communicator".to_string(),
            format!("spawns are {} apart (untimed): Open MPI 4 may hang on spawns in quick succession", crate::report::format::seconds(PAUSE_BETWEEN_SPAWNS.as_secs_f64())),
            format!("warm round trip: the median of {WARM_ROUND_TRIPS} after the first, per spawn"),
        ];
        match &self.mpirun_missing {
            Some(why) => lines.push(format!("no mpirun comparison: {why}")),
            None => lines.push(
                "mpirun -n K: `mpirun -n K hpclab mpi startup` started from this process, timed until its last rank left its first barrier (startup's figures), and until it exited".into(),
            ),
        }
        lines.push(verdict(
            self.verified,
            "every worker answered with its rank; every round trip came back intact",
            "a worker did not answer, or a round trip came back changed",
        ));
        lines
    }

    fn csv(&self) -> Result<String> {
        csv::write(self.points.iter().map(|p| SpawnRow {
            workers: p.workers,
            spawn_median_s: Number(p.spawn.median_s),
            first_round_trip_median_s: Number(p.first_round_trip.median_s),
            warm_round_trip_median_s: Number(p.warm_round_trip.median_s),
            disconnect_median_s: Number(p.disconnect.median_s),
            mpirun_ready_median_s: p.mpirun_ready.as_ref().map(|s| Number(s.median_s)),
            mpirun_whole_median_s: p.mpirun_whole.as_ref().map(|s| Number(s.median_s)),
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

    #[test]
    fn worker_counts_outside_one_to_the_limit_are_refused() {
        assert!(check_worker_counts(&[1, 2, 1024]).is_ok());
        let refused = check_worker_counts(&[1, 0]).unwrap_err().to_string();
        assert!(refused.starts_with("--workers 0"), "{refused}");
        assert!(check_worker_counts(&[2000]).is_err());
    }
}
