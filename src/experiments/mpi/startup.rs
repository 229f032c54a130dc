//! What starting a distributed job costs before any useful work: the launcher starting the
//! processes (their spread in time), `MPI_Init`, and the first messages and collectives — which
//! set up connections and buffers lazily — against the same operations once warm.
//!
//! The order matters and is fixed ([`sequence`]): the first 8-byte round trip between ranks 0
//! and 1 is the very first message between them, timed by rank 0, so it includes setting up
//! their connection (Open MPI connects lazily, on the first message) — and any wait for rank 1
//! to reach it, which `first_round_trip_peer_late_s` estimates from the clock of one host. Then
//! every rank times its first barrier and its first 8-byte allreduce, and only then the warm
//! repetitions. Nothing communicates before it: the session does not, and `check_outputs`
//! comes after.

use super::{check_outputs, mpi_heading, round_trip, table, timed, timed_stats, verdict};
use crate::distributed::mpi::{MpiInfo, Session};
use crate::environment::{Environment, Provenance};
use crate::error::Result;
use crate::measure::{MeasureOptions, Stats};
use crate::report::csv::{self, Number};
use crate::report::format::{ratio, seconds};
use crate::report::table::Rows;
use crate::report::{self, Document, to_json};
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// The start-up experiment as the command line asked for it.
#[derive(Debug, Clone)]
pub struct StartupConfig {
    /// Repetitions of each operation once warm.
    pub runs: usize,
    /// Checked only after the first operations, so that the check is not the first
    /// communication.
    pub destination: report::Destination,
}

/// One rank's start-up figures, seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RankStartup {
    pub rank: usize,
    pub host: String,
    /// Wall-clock time hpclab's `mpi` command began (seconds since the Unix epoch; comparable
    /// across ranks of one host, across hosts only as far as their clocks agree).
    pub entered_unix_s: f64,
    pub mpi_init_s: f64,
    /// First 8-byte round trip to rank 1 (rank 0 only): the first message between them, their
    /// connection's set-up included; and the median once warm.
    pub first_round_trip_s: Option<f64>,
    pub round_trip: Option<Stats>,
    /// First barrier (includes waiting for the last rank to arrive), and the median once warm.
    pub first_barrier_s: f64,
    pub barrier: Stats,
    /// First 8-byte allreduce, and the median once warm.
    pub first_allreduce_s: f64,
    pub allreduce: Stats,
    /// Wall-clock time (Unix seconds) at which this rank began the first round trip: rank 0
    /// as it sent, rank 1 as it posted its receive (ranks 0 and 1 only).
    #[serde(default)]
    pub first_round_trip_began_unix_s: Option<f64>,
    /// Wall-clock time (Unix seconds) at which this rank left the first barrier: every rank was
    /// up and had answered (`mpi spawn` compares it with the moment mpirun was started).
    #[serde(default)]
    pub first_barrier_ended_unix_s: Option<f64>,
}

/// The wall clock in seconds since the Unix epoch.
pub(crate) fn unix_now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The output of `hpclab mpi startup`.
#[derive(Debug, Clone, Serialize)]
pub struct StartupDocument {
    #[serde(flatten)]
    pub provenance: Provenance,
    pub mpi: MpiInfo,
    pub runs: usize,
    pub ranks: Vec<RankStartup>,
    /// Spread of the ranks' `entered_unix_s`: how far apart the launcher started them.
    pub launch_spread_s: f64,
    /// How long after rank 0 sent the first message rank 1 began to receive it (0 when it was
    /// there first), which the first round trip includes; `None` unless both ran on one host,
    /// whose clock they share.
    pub first_round_trip_peer_late_s: Option<f64>,
    pub verified: bool,
}

/// The operations the start-up sequence times, as one rank takes part in them: MPI in a run, a
/// recorder in the tests, which check their order.
pub(crate) trait Operations {
    /// One 8-byte round trip between ranks 0 and 1 (only they call it).
    fn round_trip(&mut self);
    fn barrier(&mut self);
    /// An 8-byte sum-allreduce of 1.0 from every rank: the rank count where it works.
    fn allreduce(&mut self) -> f64;
}

/// MPI's world, as [`sequence`] uses it.
struct World<'a> {
    world: &'a SimpleCommunicator,
    rank: usize,
    message: [u64; 1],
}

impl Operations for World<'_> {
    fn round_trip(&mut self) {
        let peer = self.world.process_at_rank(1 - self.rank as i32);
        round_trip(self.rank, &peer, &mut self.message);
    }
    fn barrier(&mut self) {
        self.world.barrier();
    }
    fn allreduce(&mut self) -> f64 {
        let mut total = 0.0f64;
        self.world
            .all_reduce_into(&1.0f64, &mut total, SystemOperation::sum());
        total
    }
}

/// What one rank measured in [`sequence`].
pub(crate) struct Measured {
    /// Rank 0 only (rank 1's side of it includes waiting for rank 0's message).
    pub first_round_trip_s: Option<f64>,
    /// Ranks 0 and 1.
    pub first_round_trip_began_unix_s: Option<f64>,
    pub round_trip: Option<Stats>,
    pub first_barrier_s: f64,
    pub first_barrier_ended_unix_s: f64,
    pub barrier: Stats,
    pub first_allreduce_s: f64,
    pub allreduce: Stats,
    /// Every allreduce on this rank summed to the rank count.
    pub verified: bool,
}

/// The start-up sequence on one rank. The first round trip comes before anything else between
/// ranks 0 and 1 — no "I am up" message, no barrier — so that it pays their connection's lazy
/// set-up; then the first barrier and allreduce; then `runs` warm repetitions of each.
pub(crate) fn sequence(
    rank: usize,
    ranks: usize,
    runs: usize,
    operations: &mut impl Operations,
) -> Measured {
    let pair = ranks > 1 && rank < 2;
    let began = pair.then(unix_now_s);
    let first_round_trip_s = pair
        .then(|| timed(|| operations.round_trip()))
        .filter(|_| rank == 0);
    let first_barrier_s = timed(|| operations.barrier());
    let first_barrier_ended_unix_s = unix_now_s();
    let mut total = 0.0;
    let first_allreduce_s = timed(|| total = operations.allreduce());
    let mut verified = total == ranks as f64;

    let warm = MeasureOptions { warmup: 0, runs };
    let repeat = |operation: &mut dyn FnMut()| timed_stats(warm, || timed(&mut *operation));
    let round_trip = pair.then(|| repeat(&mut || operations.round_trip()));
    let barrier = repeat(&mut || operations.barrier());
    let allreduce = repeat(&mut || {
        verified &= operations.allreduce() == ranks as f64;
    });
    Measured {
        first_round_trip_s,
        first_round_trip_began_unix_s: began,
        round_trip,
        first_barrier_s,
        first_barrier_ended_unix_s,
        barrier,
        first_allreduce_s,
        allreduce,
        verified,
    }
}

/// Runs the experiment on every rank; rank 0 returns the document.
pub fn measure(
    session: &Session,
    config: &StartupConfig,
    command: String,
) -> Result<Option<StartupDocument>> {
    let (rank, ranks) = (session.rank, session.size);
    let runs = config.runs;
    let mut world = World {
        world: &session.world,
        rank,
        message: [0u64; 1],
    };
    let measured = sequence(rank, ranks, runs, &mut world);
    let verified = session.all(measured.verified);

    check_outputs(session, &config.destination, "startup", false)?;
    let figures = RankStartup {
        rank,
        host: session.host.clone(),
        entered_unix_s: session
            .entered
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
        mpi_init_s: session.init_s,
        first_round_trip_s: if rank == 0 {
            measured.first_round_trip_s
        } else {
            None
        },
        round_trip: if rank == 0 { measured.round_trip } else { None },
        first_barrier_s: measured.first_barrier_s,
        barrier: measured.barrier,
        first_allreduce_s: measured.first_allreduce_s,
        allreduce: measured.allreduce,
        first_round_trip_began_unix_s: measured.first_round_trip_began_unix_s,
        first_barrier_ended_unix_s: Some(measured.first_barrier_ended_unix_s),
    };
    let per_rank = session.gather_to_root(&figures);
    let info = session.info();
    Ok(per_rank.map(|ranks_figures| {
        let (earliest, latest) = ranks_figures
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| {
                (lo.min(r.entered_unix_s), hi.max(r.entered_unix_s))
            });
        let first_round_trip_peer_late_s = match ranks_figures.as_slice() {
            [zero, one, ..] if zero.host == one.host => zero
                .first_round_trip_began_unix_s
                .zip(one.first_round_trip_began_unix_s)
                .map(|(sent, ready)| (ready - sent).max(0.0)),
            _ => None,
        };
        StartupDocument {
            provenance: Provenance::new(command, Environment::capture(1, None)),
            mpi: info,
            runs,
            launch_spread_s: latest - earliest,
            first_round_trip_peer_late_s,
            ranks: ranks_figures,
            verified,
        }
    }))
}

impl StartupDocument {
    /// What the first round trip includes.
    fn first_round_trip_words(&self) -> String {
        let late = match self.first_round_trip_peer_late_s {
            Some(late) => format!(
                "; by their host's clock rank 1 began to receive {} after rank 0 sent",
                seconds(late)
            ),
            None => "; on two hosts, any wait for rank 1 to reach it cannot be told apart".into(),
        };
        format!(
            "the first round trip is the first message between ranks 0 and 1, nothing before it: \
             it includes setting up their connection, and any wait for rank 1 to reach it{late}"
        )
    }

    fn slowest(&self, figure: impl Fn(&RankStartup) -> f64) -> f64 {
        self.ranks.iter().map(figure).fold(0.0, f64::max)
    }
}

/// The CSV row of one rank.
#[derive(Serialize, Default)]
struct StartupRow<'a> {
    rank: usize,
    host: &'a str,
    entered_unix_s: Number,
    mpi_init_s: Number,
    first_barrier_s: Number,
    barrier_median_s: Number,
    first_allreduce_s: Number,
    allreduce_median_s: Number,
    first_round_trip_s: Option<Number>,
    round_trip_median_s: Option<Number>,
}

impl Document for StartupDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

    fn verified(&self) -> bool {
        self.verified
    }

    fn heading(&self) -> Vec<String> {
        vec![
            format!(
                "mpi startup · {} ranks · first operation against the median of {} warm ones",
                self.mpi.ranks, self.runs
            ),
            mpi_heading(&self.mpi),
        ]
    }

    fn tables(&self) -> Vec<Rows> {
        let mut rows = vec![
            vec![
                "ranks started by the launcher (spread)".into(),
                seconds(self.launch_spread_s),
                "–".into(),
                "–".into(),
            ],
            vec![
                "MPI_Init (slowest rank)".into(),
                seconds(self.slowest(|r| r.mpi_init_s)),
                "–".into(),
                "–".into(),
            ],
        ];
        let mut compare = |name: &str, first: f64, warm: f64| {
            rows.push(vec![
                name.to_string(),
                seconds(first),
                seconds(warm),
                ratio(first / warm),
            ]);
        };
        if let Some(rank0) = self.ranks.first()
            && let (Some(first), Some(warm)) = (rank0.first_round_trip_s, &rank0.round_trip)
        {
            compare("8-byte round trip, ranks 0 ↔ 1", first, warm.median_s);
        }
        compare(
            "barrier (slowest rank)",
            self.slowest(|r| r.first_barrier_s),
            self.slowest(|r| r.barrier.median_s),
        );
        compare(
            "8-byte allreduce (slowest rank)",
            self.slowest(|r| r.first_allreduce_s),
            self.slowest(|r| r.allreduce.median_s),
        );
        let events = Rows::new(
            &["what", "first", "once warm", "first / warm"],
            rows,
            vec![1, 2, 3],
        );
        let earliest = self
            .ranks
            .iter()
            .map(|r| r.entered_unix_s)
            .fold(f64::MAX, f64::min);
        let header = [
            "rank",
            "host",
            "started after the earliest rank",
            "MPI_Init",
            "first barrier",
            "first allreduce",
        ];
        let per_rank = table(&header, &self.ranks, vec![2, 3, 4, 5], |r| {
            vec![
                r.rank.to_string(),
                r.host.clone(),
                seconds(r.entered_unix_s - earliest),
                seconds(r.mpi_init_s),
                seconds(r.first_barrier_s),
                seconds(r.first_allreduce_s),
            ]
        });
        vec![events, per_rank]
    }

    fn footer(&self) -> Vec<String> {
        vec![
            "before all this the launcher starts its daemons and the processes: compare `time mpirun …` with these figures".into(),
            "a first barrier includes waiting for the last rank to arrive; the first messages set up connections lazily".into(),
            self.first_round_trip_words(),
            verdict(
                self.verified,
                "every allreduce summed the ranks correctly",
                "an allreduce gave a wrong sum",
            ),
        ]
    }

    fn csv(&self) -> Result<String> {
        csv::write(self.ranks.iter().map(|r| StartupRow {
            rank: r.rank,
            host: &r.host,
            entered_unix_s: Number(r.entered_unix_s),
            mpi_init_s: Number(r.mpi_init_s),
            first_barrier_s: Number(r.first_barrier_s),
            barrier_median_s: Number(r.barrier.median_s),
            first_allreduce_s: Number(r.first_allreduce_s),
            allreduce_median_s: Number(r.allreduce.median_s),
            first_round_trip_s: r.first_round_trip_s.map(Number),
            round_trip_median_s: r.round_trip.as_ref().map(|s| Number(s.median_s)),
        }))
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the operations in the order a rank takes part in them.
    #[derive(Default)]
    struct Recorder {
        ranks: usize,
        log: Vec<&'static str>,
    }

    impl Operations for Recorder {
        fn round_trip(&mut self) {
            self.log.push("round trip");
        }
        fn barrier(&mut self) {
            self.log.push("barrier");
        }
        fn allreduce(&mut self) -> f64 {
            self.log.push("allreduce");
            self.ranks as f64
        }
    }

    fn run(rank: usize, ranks: usize, runs: usize) -> (Vec<&'static str>, Measured) {
        let mut recorder = Recorder {
            ranks,
            log: Vec::new(),
        };
        let measured = sequence(rank, ranks, runs, &mut recorder);
        (recorder.log, measured)
    }

    #[test]
    fn the_first_round_trip_is_the_first_operation_of_ranks_0_and_1() {
        for ranks in [2, 3] {
            for rank in [0, 1] {
                let (log, measured) = run(rank, ranks, 3);
                let mut want = vec!["round trip", "barrier", "allreduce"];
                want.extend(["round trip"; 3]);
                want.extend(["barrier"; 3]);
                want.extend(["allreduce"; 3]);
                assert_eq!(log, want, "rank {rank} of {ranks}");
                assert_eq!(measured.first_round_trip_s.is_some(), rank == 0);
                assert!(measured.first_round_trip_began_unix_s.is_some());
                assert_eq!(measured.round_trip.unwrap().samples_s.len(), 3);
                assert!(measured.verified);
            }
        }
    }

    #[test]
    fn the_other_ranks_start_with_the_barrier_and_never_round_trip() {
        let (log, measured) = run(2, 3, 2);
        assert_eq!(
            log,
            vec![
                "barrier",
                "allreduce",
                "barrier",
                "barrier",
                "allreduce",
                "allreduce"
            ]
        );
        assert!(measured.first_round_trip_s.is_none() && measured.round_trip.is_none());
        assert!(measured.first_round_trip_began_unix_s.is_none());
        // One rank alone: no peer, no round trip.
        assert!(!run(0, 1, 1).0.contains(&"round trip"));
    }

    #[test]
    fn a_wrong_sum_is_not_verified() {
        let mut recorder = Recorder {
            ranks: 5,
            log: Vec::new(),
        };
        assert!(!sequence(0, 2, 1, &mut recorder).verified);
    }

    #[test]
    fn the_document_says_what_the_first_round_trip_includes() {
        let mut document = StartupDocument {
            provenance: Provenance::new("hpclab mpi startup".into(), Environment::capture(1, None)),
            mpi: crate::experiments::mpi::test_mpi_info("single"),
            runs: 1,
            ranks: Vec::new(),
            launch_spread_s: 0.0,
            first_round_trip_peer_late_s: Some(2e-6),
            verified: true,
        };
        let footer = document.footer().join("\n");
        assert!(
            footer.contains("includes setting up their connection"),
            "{footer}"
        );
        assert!(
            footer.contains("rank 1 began to receive 2.0 µs after rank 0 sent"),
            "{footer}"
        );
        document.first_round_trip_peer_late_s = None;
        assert!(document.footer().join("\n").contains("on two hosts"));
        assert!(document.json().unwrap()["first_round_trip_peer_late_s"].is_null());
    }
}
