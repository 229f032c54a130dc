//! What starting a distributed job costs before any useful work: the launcher starting the
//! processes (their spread in time), `MPI_Init`, and the first messages and collectives — which
//! set up connections and buffers lazily — against the same operations once warm.
//!
//! The order matters and is fixed: rank 1 first tells rank 0 it is up (so that the first round
//! trip does not include waiting for a late rank), then rank 0 times the first 8-byte round trip
//! to rank 1, then every rank times its first barrier and its first 8-byte allreduce, and only
//! then the warm repetitions.

use super::{check_outputs, mpi_heading, round_trip, samples, table, timed, verdict};
use crate::distributed::mpi::{MpiInfo, Session};
use crate::environment::{Environment, Provenance};
use crate::error::Result;
use crate::measure::{MeasureOptions, Stats};
use crate::report::csv::{self, Number};
use crate::report::format::{ratio, seconds};
use crate::report::table::Rows;
use crate::report::{self, Document, to_json};
use mpi::collective::SystemOperation;
use mpi::traits::*;
use serde::{Deserialize, Serialize};
use std::time::UNIX_EPOCH;

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
    /// First 8-byte round trip to rank 1 (rank 0 only), and the median once warm.
    pub first_round_trip_s: Option<f64>,
    pub round_trip: Option<Stats>,
    /// First barrier (includes waiting for the last rank to arrive), and the median once warm.
    pub first_barrier_s: f64,
    pub barrier: Stats,
    /// First 8-byte allreduce, and the median once warm.
    pub first_allreduce_s: f64,
    pub allreduce: Stats,
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
    pub verified: bool,
}

/// Runs the experiment on every rank; rank 0 returns the document.
pub fn measure(
    session: &Session,
    config: &StartupConfig,
    command: String,
) -> Result<Option<StartupDocument>> {
    let world = &session.world;
    let (rank, ranks) = (session.rank, session.size);
    let runs = config.runs;
    let mut message = [0u64; 1];

    // The very first communication: rank 1 says it is up, then rank 0 times a round trip.
    let first_round_trip_s = match rank {
        0 if ranks > 1 => {
            let peer = world.process_at_rank(1);
            peer.receive_into(&mut message[..]);
            Some(timed(|| round_trip(rank, &peer, &mut message)))
        }
        1 => {
            let peer = world.process_at_rank(0);
            peer.send(&message[..]);
            round_trip(rank, &peer, &mut message);
            None
        }
        _ => None,
    };
    let first_barrier_s = timed(|| world.barrier());
    let (one, mut total) = (1.0f64, 0.0f64);
    let first_allreduce_s =
        timed(|| world.all_reduce_into(&one, &mut total, SystemOperation::sum()));
    let mut verified = total == ranks as f64;

    let warm = MeasureOptions { warmup: 0, runs };
    let repeat = |operation: &mut dyn FnMut()| {
        Stats::from_samples(samples(warm, || timed(&mut *operation))).expect("runs >= 1")
    };
    let round_trip = (ranks > 1 && rank < 2).then(|| {
        let peer = world.process_at_rank(1 - rank as i32);
        repeat(&mut || round_trip(rank, &peer, &mut message))
    });
    let barrier = repeat(&mut || world.barrier());
    let allreduce = repeat(&mut || {
        world.all_reduce_into(&one, &mut total, SystemOperation::sum());
    });
    verified &= total == ranks as f64;
    let verified = session.all(verified);

    check_outputs(session, &config.destination, "startup", false)?;
    let figures = RankStartup {
        rank,
        host: session.host.clone(),
        entered_unix_s: session
            .entered
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
        mpi_init_s: session.init_s,
        first_round_trip_s: if rank == 0 { first_round_trip_s } else { None },
        round_trip: if rank == 0 { round_trip } else { None },
        first_barrier_s,
        barrier,
        first_allreduce_s,
        allreduce,
    };
    let per_rank = session.gather_to_root(&figures);
    let info = session.info();
    Ok(per_rank.map(|ranks_figures| {
        let (earliest, latest) = ranks_figures
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| {
                (lo.min(r.entered_unix_s), hi.max(r.entered_unix_s))
            });
        StartupDocument {
            provenance: Provenance::new(command, Environment::capture(1, None)),
            mpi: info,
            runs,
            launch_spread_s: latest - earliest,
            ranks: ranks_figures,
            verified,
        }
    }))
}

impl StartupDocument {
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
