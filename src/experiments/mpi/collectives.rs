//! Broadcast, reduce, allreduce, gather and all-to-all, timed per call at one or more message
//! sizes on every rank, and checked. A call's time is the slowest rank's, with the mean over
//! ranks beside it; bandwidth follows NCCL-tests' conventions ([`Collective::traffic`]), so that
//! `busbw` compares with the point-to-point bandwidth.

use super::{
    check_outputs, message_buffer, mpi_heading, samples, slowest_rank, table, timed, verdict,
};
use crate::distributed::mpi::{MAX_MPI_COUNT, MpiInfo, Session};
use crate::environment::{Environment, Provenance};
use crate::error::{Error, Result};
use crate::measure::{MeasureOptions, Stats};
use crate::report::csv::{self, Number};
use crate::report::format::{rate, seconds};
use crate::report::progress::Progress;
use crate::report::table::Rows;
use crate::report::{self, Document, to_json};
use crate::size::cap_size;
use crate::size::format_bytes;
use mpi::collective::SystemOperation;
use mpi::traits::*;
use serde::Serialize;

/// The collectives as the command line asked for them.
#[derive(Debug, Clone)]
pub struct CollectivesConfig {
    /// Bytes per rank (per pair for all-to-all), as given (each capped by `HPCLAB_MAX_SIZE` on
    /// every rank and rounded up to whole f64).
    pub sizes: Vec<u64>,
    pub sampling: MeasureOptions,
    pub destination: report::Destination,
}

/// The collectives, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Collective {
    Broadcast,
    Reduce,
    Allreduce,
    Gather,
    AllToAll,
}

impl Collective {
    pub const ALL: [Collective; 5] = [
        Collective::Broadcast,
        Collective::Reduce,
        Collective::Allreduce,
        Collective::Gather,
        Collective::AllToAll,
    ];

    fn name(self) -> &'static str {
        match self {
            Collective::Broadcast => "broadcast",
            Collective::Reduce => "reduce (sum)",
            Collective::Allreduce => "allreduce (sum)",
            Collective::Gather => "gather",
            Collective::AllToAll => "all-to-all",
        }
    }

    /// (algbw bytes, busbw factor) of a call with `bytes` per rank (per pair for all-to-all)
    /// on `ranks` ranks. algbw's bytes are what one rank's buffer holds (n blocks for gather and
    /// all-to-all); busbw scales algbw by what each link must carry: allreduce 2(n−1)/n, gather
    /// and all-to-all (n−1)/n, the others 1.
    pub fn traffic(self, bytes: u64, ranks: usize) -> (f64, f64) {
        let n = ranks as f64;
        let spread = (n - 1.0) / n;
        match self {
            Collective::Broadcast | Collective::Reduce => (bytes as f64, 1.0),
            Collective::Allreduce => (bytes as f64, 2.0 * spread),
            Collective::Gather | Collective::AllToAll => (bytes as f64 * n, spread),
        }
    }
}

/// One operation at one size.
#[derive(Debug, Clone, Serialize)]
pub struct CollectivePoint {
    pub operation: Collective,
    /// Bytes per rank (per pair of ranks for all-to-all): whole f64 elements.
    pub bytes: u64,
    pub calls_per_sample: u32,
    /// Time of one call on the slowest rank, per sample.
    pub time: Stats,
    /// The mean over ranks of each rank's median time per call.
    pub mean_rank_s: f64,
    pub algbw_gbs: f64,
    pub busbw_gbs: f64,
    /// Every rank received the values the operation defines.
    pub verified: bool,
}

/// The output of `hpclab mpi collectives`.
#[derive(Debug, Clone, Serialize)]
pub struct CollectivesDocument {
    #[serde(flatten)]
    pub provenance: Provenance,
    pub mpi: MpiInfo,
    pub runs: usize,
    pub warmup: usize,
    pub points: Vec<CollectivePoint>,
    pub verified: bool,
}

/// Calls per sample: many for small messages, few for large (≈ 16 MiB through each rank).
pub fn calls_per_sample(bytes: u64, ranks: usize) -> u32 {
    ((1u64 << 24) / bytes.saturating_mul(ranks as u64).max(1)).clamp(2, 1000) as u32
}

/// The value rank `rank` contributes at element `i` (exact small integers, so sums are exact).
fn value(rank: usize, i: usize) -> f64 {
    (rank * 1000 + i % 997) as f64
}

/// The value rank `from` sends to rank `to` at element `i` of their block (all-to-all).
fn pair_value(from: usize, to: usize, i: usize) -> f64 {
    (from * 1_000_000 + to * 1000 + i % 991) as f64
}

/// The buffers of one operation on one rank.
struct Buffers {
    send: Vec<f64>,
    receive: Vec<f64>,
}

impl Buffers {
    /// Fresh buffers, or a usage error where this rank cannot allocate them. `elements ×
    /// ranks` is at most [`MAX_MPI_COUNT`] ([`per_rank_sizes`]), so no length overflows.
    fn new(operation: Collective, elements: usize, rank: usize, ranks: usize) -> Result<Buffers> {
        let blocks = match operation {
            Collective::Gather | Collective::AllToAll => ranks,
            _ => 1,
        };
        let buffer = |len, element: &dyn Fn(usize) -> f64| message_buffer(len, "--size", element);
        let send = match operation {
            Collective::AllToAll => buffer(elements * ranks, &|k| {
                pair_value(rank, k / elements, k % elements)
            })?,
            Collective::Broadcast if rank != 0 => buffer(elements, &|_| f64::NAN)?,
            _ => buffer(elements, &|i| value(rank, i))?,
        };
        Ok(Buffers {
            send,
            receive: buffer(elements * blocks, &|_| f64::NAN)?,
        })
    }

    /// One call of `operation` (root 0).
    fn call(&mut self, session: &Session, operation: Collective) {
        let world = &session.world;
        let root = world.process_at_rank(0);
        let sum = SystemOperation::sum();
        match operation {
            // In place: the root's `send` is the message, the others' is overwritten.
            Collective::Broadcast => root.broadcast_into(&mut self.send[..]),
            Collective::Reduce if session.is_root() => {
                root.reduce_into_root(&self.send[..], &mut self.receive[..], sum)
            }
            Collective::Reduce => root.reduce_into(&self.send[..], sum),
            Collective::Allreduce => {
                world.all_reduce_into(&self.send[..], &mut self.receive[..], sum)
            }
            Collective::Gather if session.is_root() => {
                root.gather_into_root(&self.send[..], &mut self.receive[..])
            }
            Collective::Gather => root.gather_into(&self.send[..]),
            Collective::AllToAll => world.all_to_all_into(&self.send[..], &mut self.receive[..]),
        }
    }

    /// True when this rank holds what the operation defines after one call from fresh buffers.
    fn correct(&self, operation: Collective, rank: usize, ranks: usize) -> bool {
        let elements = self.send.len()
            / if operation == Collective::AllToAll {
                ranks
            } else {
                1
            };
        let sum = |i: usize| (0..ranks).map(|r| value(r, i)).sum::<f64>();
        match operation {
            Collective::Broadcast => self.send.iter().enumerate().all(|(i, &v)| v == value(0, i)),
            Collective::Reduce if rank != 0 => true,
            Collective::Reduce | Collective::Allreduce => {
                self.receive.iter().enumerate().all(|(i, &v)| v == sum(i))
            }
            Collective::Gather if rank != 0 => true,
            Collective::Gather => self
                .receive
                .iter()
                .enumerate()
                .all(|(k, &v)| v == value(k / elements, k % elements)),
            Collective::AllToAll => self
                .receive
                .iter()
                .enumerate()
                .all(|(k, &v)| v == pair_value(k / elements, rank, k % elements)),
        }
    }
}

/// The sizes to measure, bytes per rank: each at least one f64 and rounded up to whole f64,
/// in the order given without repeats next to each other. Refuses a size whose gather or
/// all-to-all buffer (`ranks` blocks) would hold more elements than one MPI call carries.
pub fn per_rank_sizes(sizes: &[u64], ranks: usize) -> Result<Vec<u64>> {
    let most_elements = MAX_MPI_COUNT / ranks.max(1) as u64;
    let mut checked: Vec<u64> = Vec::with_capacity(sizes.len());
    for &bytes in sizes {
        let elements = bytes.div_ceil(8).max(1);
        if elements > most_elements {
            return Err(Error::usage(format!(
                "--size {bytes}: {elements} f64 per rank on {ranks} ranks fill gather and all-to-all \
                 buffers of more than {MAX_MPI_COUNT} elements, the most one MPI call carries \
                 (32-bit counts); use --size {} or less on {ranks} ranks",
                most_elements * 8
            )));
        }
        checked.push(elements * 8);
    }
    checked.dedup();
    Ok(checked)
}

/// Runs the experiment on every rank; rank 0 returns the document.
pub fn measure(
    session: &Session,
    config: &CollectivesConfig,
    command: String,
) -> Result<Option<CollectivesDocument>> {
    let (rank, ranks) = (session.rank, session.size);
    let capped: Vec<u64> = config.sizes.iter().map(|&s| cap_size(s)).collect();
    // Agreed, not assumed alike: each rank caps the sizes by its own HPCLAB_MAX_SIZE.
    let sizes = session.agree(per_rank_sizes(&capped, ranks))?;
    check_outputs(session, &config.destination, "collectives", false)?;
    let MeasureOptions { runs, warmup } = config.sampling;
    let progress = Progress::new(
        (sizes.len() * Collective::ALL.len()) as u64,
        "measurements",
        !session.is_root(),
    );
    let mut points = Vec::new();
    for operation in Collective::ALL {
        for &bytes in &sizes {
            progress.set_message(format!("{} {}", operation.name(), format_bytes(bytes)));
            let elements = (bytes / 8) as usize;
            let calls = calls_per_sample(bytes, ranks);
            // Allocated on every rank at the same point, between calls: agreed.
            let mut buffers = session.agree(Buffers::new(operation, elements, rank, ranks))?;
            let per_call = samples(config.sampling, || {
                // Each call between barriers, as the OSU benchmarks time them: back to back,
                // a root's eager sends would overlap the next call and show throughput instead.
                let mut spent_s = 0.0;
                for _ in 0..calls {
                    session.world.barrier();
                    spent_s += timed(|| buffers.call(session, operation));
                }
                spent_s / calls as f64
            });
            // A fresh call from fresh buffers, checked on every rank.
            let mut fresh = session.agree(Buffers::new(operation, elements, rank, ranks))?;
            fresh.call(session, operation);
            let verified = session.all(fresh.correct(operation, rank, ranks));
            let per_rank = session.gather_to_root(&per_call);
            if let Some(per_rank) = per_rank {
                points.push(point(operation, bytes, calls, ranks, &per_rank, verified));
            }
            progress.step();
        }
    }
    progress.finish();
    let info = session.info();
    Ok(session.is_root().then(|| CollectivesDocument {
        provenance: Provenance::new(command, Environment::capture(1, None)),
        mpi: info,
        runs,
        warmup,
        verified: points.iter().all(|p| p.verified),
        points,
    }))
}

fn point(
    operation: Collective,
    bytes: u64,
    calls: u32,
    ranks: usize,
    per_rank: &[Vec<f64>],
    verified: bool,
) -> CollectivePoint {
    let time = slowest_rank(per_rank);
    let mean_rank_s = per_rank
        .iter()
        .map(|s| Stats::from_samples(s.clone()).map_or(0.0, |s| s.median_s))
        .sum::<f64>()
        / per_rank.len() as f64;
    let (algbw_bytes, bus_factor) = operation.traffic(bytes, ranks);
    let algbw_gbs = algbw_bytes / time.median_s / 1e9;
    CollectivePoint {
        operation,
        bytes,
        calls_per_sample: calls,
        time,
        mean_rank_s,
        algbw_gbs,
        busbw_gbs: algbw_gbs * bus_factor,
        verified,
    }
}

/// The CSV row of one operation at one size.
#[derive(Serialize, Default)]
struct CollectiveRow {
    operation: &'static str,
    bytes: u64,
    ranks: usize,
    time_median_s: Number,
    time_min_s: Number,
    mean_rank_s: Number,
    algbw_gbs: Number,
    busbw_gbs: Number,
    verified: bool,
}

impl Document for CollectivesDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

    fn verified(&self) -> bool {
        self.verified
    }

    fn heading(&self) -> Vec<String> {
        vec![
            format!(
                "mpi collectives · {} ranks · root 0 · f64 elements · {} samples after {} warm-up, each the mean of many calls",
                self.mpi.ranks, self.runs, self.warmup
            ),
            mpi_heading(&self.mpi),
        ]
    }

    fn tables(&self) -> Vec<Rows> {
        let header = [
            "operation",
            "size per rank",
            "time (slowest rank)",
            "mean rank",
            "algbw GB/s",
            "busbw GB/s",
            "check",
        ];
        vec![table(&header, &self.points, vec![2, 3, 4, 5], |p| {
            vec![
                p.operation.name().to_string(),
                format_bytes(p.bytes),
                seconds(p.time.median_s),
                seconds(p.mean_rank_s),
                rate(p.algbw_gbs),
                rate(p.busbw_gbs),
                if p.verified { "ok" } else { "FAILED" }.to_string(),
            ]
        })]
    }

    fn footer(&self) -> Vec<String> {
        vec![
            "size: each rank's message (all-to-all: to each other rank); time: one call, the slowest rank's (median)".into(),
            "algbw = bytes in one rank's buffer / time (gather, all-to-all: ranks × size); busbw = algbw × \
             2(n−1)/n for allreduce, (n−1)/n for gather and all-to-all, 1 otherwise (NCCL-tests' convention)"
                .into(),
            verdict(
                self.verified,
                "every rank received the values each operation defines",
                "see the check column",
            ),
        ]
    }

    fn csv(&self) -> Result<String> {
        csv::write(self.points.iter().map(|p| CollectiveRow {
            operation: p.operation.name(),
            bytes: p.bytes,
            ranks: self.mpi.ranks,
            time_median_s: Number(p.time.median_s),
            time_min_s: Number(p.time.min_s),
            mean_rank_s: Number(p.mean_rank_s),
            algbw_gbs: Number(p.algbw_gbs),
            busbw_gbs: Number(p.busbw_gbs),
            verified: p.verified,
        }))
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_up_to_whole_f64_and_repeats_next_to_each_other_go() {
        assert_eq!(per_rank_sizes(&[0, 1, 8, 9, 16], 3).unwrap(), vec![8, 16]);
    }

    #[test]
    fn a_buffer_of_ranks_blocks_beyond_one_mpi_call_is_refused_with_the_limit() {
        // On 2 ranks a gather's buffer holds 2 blocks: 2^30 f64 each is one element too many.
        let largest = MAX_MPI_COUNT / 2 * 8;
        assert_eq!(per_rank_sizes(&[largest], 2).unwrap(), vec![largest]);
        let refused = per_rank_sizes(&[8, 8 << 30], 2).unwrap_err().to_string();
        assert!(refused.starts_with("--size 8589934592"), "{refused}");
        assert!(
            refused.contains("use --size 8589934584 or less on 2 ranks"),
            "{refused}"
        );
        assert!(refused.contains("2147483647"), "{refused}");
        // The same size fits one rank's buffer; no size overflows on its way to whole f64.
        assert!(per_rank_sizes(&[largest], 1).is_ok());
        assert!(per_rank_sizes(&[u64::MAX], 1).is_err());
    }

    #[test]
    fn bus_bandwidth_factors_follow_nccl_tests() {
        assert_eq!(Collective::Allreduce.traffic(100, 4), (100.0, 1.5));
        assert_eq!(Collective::Gather.traffic(100, 4), (400.0, 0.75));
        assert_eq!(Collective::Broadcast.traffic(100, 4), (100.0, 1.0));
    }

    #[test]
    fn buffers_know_what_a_correct_call_leaves() {
        // Simulate a 2-rank allreduce by hand: the check accepts the true sum and nothing else.
        let mut buffers = Buffers::new(Collective::Allreduce, 3, 0, 2).unwrap();
        buffers.receive = (0..3).map(|i| value(0, i) + value(1, i)).collect();
        assert!(buffers.correct(Collective::Allreduce, 0, 2));
        buffers.receive[1] += 1.0;
        assert!(!buffers.correct(Collective::Allreduce, 0, 2));
        let mut all_to_all = Buffers::new(Collective::AllToAll, 2, 1, 2).unwrap();
        all_to_all.receive = vec![
            pair_value(0, 1, 0),
            pair_value(0, 1, 1),
            pair_value(1, 1, 0),
            pair_value(1, 1, 1),
        ];
        assert!(all_to_all.correct(Collective::AllToAll, 1, 2));
        all_to_all.receive.swap(0, 2);
        assert!(!all_to_all.correct(Collective::AllToAll, 1, 2));
    }
}
