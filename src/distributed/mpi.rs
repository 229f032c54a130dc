//! The MPI session of one process: initialisation (timed), the world and node communicators, and
//! the rules that keep a failing rank from leaving the others hanging:
//!
//! - a check that every rank makes alike (a bad argument) fails on every rank; rank 0 says why;
//! - a set-up step that may fail on one rank only (a GPU, an output path) ends in [`Session::agree`],
//!   a max-allreduce of the exit codes, so that all ranks stop together and the lowest failing
//!   rank says why;
//! - a failure in the middle of communication, where the others may already wait in a receive,
//!   ends the whole job with `MPI_Abort` ([`Session::or_abort`]).

use super::launcher::{NOT_UNDER_MPIRUN, launcher_rank};
use super::slab::{Halo, Sides};
use super::timeloop::Neighbours;
use crate::error::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant, SystemTime};

/// The most elements one MPI call may carry: MPI counts are C `int`s (rsmpi panics beyond
/// them), so a buffer that travels whole is refused above this before any work.
pub const MAX_MPI_COUNT: u64 = i32::MAX as u64;

/// What every MPI document records about the job.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct MpiInfo {
    /// Ranks in the job.
    pub ranks: usize,
    /// The MPI library, as it names itself (`MPI_Get_library_version`, up to the first comma).
    pub library: String,
    /// The MPI standard version it implements.
    pub standard: String,
    /// The host of each rank (`MPI_Get_processor_name`), in rank order.
    pub hosts: Vec<String>,
    /// Ranks per host, largest.
    pub ranks_per_host: usize,
    /// The thread support level granted (`single`, `funneled`).
    pub threading: String,
    /// Logical cores of rank 0's host: more ranks than this on a host take turns on its cores.
    pub cores_per_host: usize,
    /// The fewest cores any rank may run on (its affinity: mpirun binds each rank to one core
    /// by default, so threads beyond this share it).
    pub cores_per_rank: usize,
}

/// One rank's MPI session.
pub struct Session {
    /// Finalises MPI when dropped.
    _universe: Universe,
    pub world: SimpleCommunicator,
    pub rank: usize,
    pub size: usize,
    /// Seconds `MPI_Init_thread` took here.
    pub init_s: f64,
    /// The thread support level MPI granted: `single` or `funneled`.
    pub threading: String,
    /// Wall-clock time at which hpclab's `mpi` command began, before MPI started.
    pub entered: SystemTime,
    pub host: String,
}

impl Session {
    /// Starts MPI. `threads`: other threads will run beside the one that communicates (rayon
    /// computing), which the standard calls `MPI_THREAD_FUNNELED`; without them hpclab asks for
    /// `MPI_THREAD_SINGLE`, because Open MPI takes a slower, thread-safe path at any level above
    /// single. Refuses with a usage error when no MPI launcher started this process, unless
    /// `alone_allowed`: an experiment that starts its own processes may run as MPI's
    /// "singleton", one process that no launcher started.
    pub fn start(threads: bool, alone_allowed: bool) -> Result<Session> {
        let entered = SystemTime::now();
        if launcher_rank().is_none() && !alone_allowed {
            return Err(Error::usage(NOT_UNDER_MPIRUN));
        }
        let started = Instant::now();
        let level = if threads {
            mpi::Threading::Funneled
        } else {
            mpi::Threading::Single
        };
        let (universe, threading) = mpi::initialize_with_threading(level).ok_or_else(|| {
            Error::usage("MPI was already initialised in this process".to_string())
        })?;
        let init_s = started.elapsed().as_secs_f64();
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        // No communication here: `hpclab mpi startup` times the first messages itself.
        Ok(Session {
            _universe: universe,
            world,
            rank,
            size,
            init_s,
            threading: format!("{threading:?}").to_lowercase(),
            entered,
            host: mpi::environment::processor_name().unwrap_or_else(|_| "?".into()),
        })
    }

    /// True on the rank that prints and writes files.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// This rank's place among the ranks on its host, and their number (collective: every rank
    /// must call it).
    pub fn node(&self) -> (usize, usize) {
        let node = self.world.split_shared(self.rank as i32);
        (node.rank() as usize, node.size() as usize)
    }

    /// The job's description (collective: every rank must call it).
    pub fn info(&self) -> MpiInfo {
        let (_, local_size) = self.node();
        let hosts = self.gather_to_root(&self.host).unwrap_or_default(); // empty off rank 0
        let (major, minor) = mpi::environment::version();
        MpiInfo {
            ranks: self.size,
            library: mpi::environment::library_version()
                .ok()
                // "Open MPI v4.1.4, package: …": the name and version are enough.
                .and_then(|text| text.split([',', '\n']).next().map(|l| l.trim().to_string()))
                .unwrap_or_default(),
            standard: format!("{major}.{minor}"),
            ranks_per_host: self.max_over_ranks(local_size as f64) as usize,
            hosts,
            threading: self.threading.clone(),
            cores_per_host: crate::cpu::info::host_logical_cores(),
            cores_per_rank: -self.max_over_ranks(-(usable_cores() as f64)) as usize,
        }
    }

    /// Every rank's `local` outcome combined: Ok everywhere, or an error everywhere. The lowest
    /// rank that failed (with the highest exit code) returns its own error — with its rank in
    /// the message when it is not rank 0 — and every other rank returns the silent
    /// [`Error::OtherRank`].
    pub fn agree<T>(&self, local: Result<T>) -> Result<T> {
        let code = local.as_ref().err().map_or(0, Error::exit_code);
        let mut worst = 0i32;
        self.world
            .all_reduce_into(&code, &mut worst, SystemOperation::max());
        if worst == 0 {
            return local;
        }
        let candidate = if code == worst { self.rank } else { self.size } as i32;
        let mut reporter = 0i32;
        self.world
            .all_reduce_into(&candidate, &mut reporter, SystemOperation::min());
        match local {
            Err(error) if reporter as usize == self.rank => Err(if self.rank == 0 {
                error
            } else {
                error.on_rank(self.rank)
            }),
            _ => Err(Error::OtherRank { exit_code: worst }),
        }
    }

    /// The value, or — for a failure in the middle of communication, where the other ranks may
    /// already wait for this one — the message on stderr and `MPI_Abort` of the whole job.
    pub fn or_abort<T>(&self, result: Result<T>) -> T {
        match result {
            Ok(value) => value,
            Err(error) => {
                crate::error::say(&format!("rank {}: {error}", self.rank));
                self.world.abort(error.exit_code())
            }
        }
    }

    /// Waits until every rank arrives here, sleeping between polls instead of spinning as a
    /// blocking barrier does: ranks left out of a measurement must not steal the cores of those
    /// in it.
    pub fn wait_quietly(&self) {
        let mut request = self.world.immediate_barrier();
        loop {
            match request.test() {
                Ok(_) => return,
                Err(pending) => {
                    request = pending;
                    std::thread::sleep(Duration::from_micros(500));
                }
            }
        }
    }

    /// The largest `value` over all ranks.
    pub fn max_over_ranks(&self, value: f64) -> f64 {
        let mut max = 0.0f64;
        self.world
            .all_reduce_into(&value, &mut max, SystemOperation::max());
        max
    }

    /// True when `ok` holds on every rank.
    pub fn all(&self, ok: bool) -> bool {
        let (mine, mut every) = (i32::from(ok), 0i32);
        self.world
            .all_reduce_into(&mine, &mut every, SystemOperation::min());
        every == 1
    }

    /// Every rank's `value`, in rank order, on rank 0 (`None` elsewhere): per-rank figures for
    /// the document, sent as JSON so that any record can travel. A record that cannot be sent
    /// or read ends the job: the other ranks are already on their way.
    pub fn gather_to_root<T: Serialize + DeserializeOwned + Clone>(
        &self,
        value: &T,
    ) -> Option<Vec<T>> {
        self.or_abort(gather_json(&self.world, value))
    }

    /// The communicator of ranks `0 .. ranks` (`None` on the ranks left out).
    pub fn first_ranks(&self, ranks: usize) -> Option<SimpleCommunicator> {
        let color = if self.rank < ranks {
            Color::with_value(0)
        } else {
            Color::undefined()
        };
        self.world.split_by_color(color)
    }
}

/// The cores this process may run on (its affinity mask).
pub fn usable_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |c| c.get())
}

/// Every rank's `value` in rank order on rank 0 of `comm` (`None` elsewhere). Fails on a rank
/// whose record does not serialise, and on rank 0 for a record it cannot read (another rank
/// running another hpclab): the callers end the job then ([`Session::or_abort`]), because the
/// other ranks do not wait for an agreement.
pub fn gather_json<T: Serialize + DeserializeOwned + Clone>(
    comm: &SimpleCommunicator,
    value: &T,
) -> Result<Option<Vec<T>>> {
    if comm.rank() != 0 {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::io("serialising this rank's figures", e.into()))?;
        comm.process_at_rank(0).send(&bytes[..]);
        return Ok(None);
    }
    let mut all = vec![value.clone()];
    for source in 1..comm.size() {
        let (received, _) = comm.process_at_rank(source).receive_vec::<u8>();
        let record = serde_json::from_slice(&received).map_err(|e| {
            received_garbled(
                format!(
                    "reading the figures rank {source} sent (is the same hpclab on every host?)"
                ),
                e,
            )
        })?;
        all.push(record);
    }
    Ok(Some(all))
}

/// The error of a message from another rank that is not what this rank expects: another hpclab
/// on another host, or a damaged message.
pub fn received_garbled(context: String, problem: impl std::fmt::Display) -> Error {
    Error::io(
        context,
        std::io::Error::new(std::io::ErrorKind::InvalidData, problem.to_string()),
    )
}

/// The ranks above and below a slab, over a communicator whose rank order is the slab order.
pub struct SlabNeighbours<'c> {
    comm: &'c SimpleCommunicator,
    rank: i32,
    size: i32,
}

impl<'c> SlabNeighbours<'c> {
    pub fn new(comm: &'c SimpleCommunicator) -> Self {
        SlabNeighbours {
            comm,
            rank: comm.rank(),
            size: comm.size(),
        }
    }
}

impl Neighbours for SlabNeighbours<'_> {
    fn sides(&self) -> Sides {
        Sides {
            above: self.rank > 0,
            below: self.rank + 1 < self.size,
        }
    }

    fn exchange(&self, halo: Halo<'_>) -> Result<()> {
        let sides = self.sides();
        let (above, below) = (
            self.comm.process_at_rank(self.rank - sides.above as i32),
            self.comm.process_at_rank(self.rank + sides.below as i32),
        );
        // Receives posted first, then sends; all four in flight at once, so no pair of ranks
        // waits on the other's order.
        mpi::request::scope(|scope| {
            let from_above = sides
                .above
                .then(|| above.immediate_receive_into(scope, halo.ghost_above));
            let from_below = sides
                .below
                .then(|| below.immediate_receive_into(scope, halo.ghost_below));
            let to_above = sides
                .above
                .then(|| above.immediate_send(scope, halo.first_row));
            let to_below = sides
                .below
                .then(|| below.immediate_send(scope, halo.last_row));
            for request in [to_above, to_below].into_iter().flatten() {
                request.wait();
            }
            for request in [from_above, from_below].into_iter().flatten() {
                request.wait();
            }
        });
        Ok(())
    }

    fn max_all(&self, local: f32) -> Result<f32> {
        let mut global = 0.0f32;
        self.comm
            .all_reduce_into(&local, &mut global, SystemOperation::max());
        Ok(global)
    }
}
