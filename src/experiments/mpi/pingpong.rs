//! Ping-pong between ranks 0 and 1 (the shape of the OSU latency and bandwidth benchmarks): rank
//! 0 sends a message, rank 1 sends it back, many times per sample. Latency is half the round
//! trip; bandwidth is bytes over that half round trip, as the plain C reference computes it.
//! Ranks beyond 1 wait, asleep.

use super::{
    check_outputs, hosts_text, message_buffer, mpi_heading, round_trip, table, timed, timed_stats,
    verdict,
};
use crate::distributed::mpi::{MAX_MPI_COUNT, MpiInfo, Session};
use crate::environment::{Environment, Provenance};
use crate::error::{Error, Result};
use crate::measure::fit::{LatencyBandwidth, fit_latency_bandwidth};
use crate::measure::{MeasureOptions, Stats};
use crate::report::csv::{self, Number};
use crate::report::format::{rate, seconds};
use crate::report::plot::{Axis, Chart, Series, Unit, rate_bar};
use crate::report::progress::Progress;
use crate::report::table::Rows;
use crate::report::{self, Document, to_json};
use crate::size::cap_size;
use crate::size::format_bytes;
use mpi::traits::*;
use serde::Serialize;

/// A ping-pong as the command line asked for it.
#[derive(Debug, Clone)]
pub struct PingpongConfig {
    /// Message sizes in bytes, as given (each capped by `HPCLAB_MAX_SIZE` on every rank).
    pub sizes: Vec<u64>,
    pub sampling: MeasureOptions,
    pub destination: report::Destination,
}

/// One message size.
#[derive(Debug, Clone, Serialize)]
pub struct PingpongPoint {
    pub bytes: u64,
    /// Round trips timed together in one sample (their mean is the sample).
    pub round_trips_per_sample: u32,
    /// Time of one round trip.
    pub round_trip: Stats,
    /// Half the median round trip: the one-way latency of this size.
    pub latency_s: f64,
    /// bytes / latency_s, GB/s (10^9 B/s).
    pub bandwidth_gbs: f64,
}

/// The output of `hpclab mpi pingpong`.
#[derive(Debug, Clone, Serialize)]
pub struct PingpongDocument {
    #[serde(flatten)]
    pub provenance: Provenance,
    pub mpi: MpiInfo,
    pub runs: usize,
    pub warmup: usize,
    pub points: Vec<PingpongPoint>,
    /// t(bytes) = latency + bytes / bandwidth fitted to the one-way times.
    pub fit: Option<LatencyBandwidth>,
    /// True when every message arrived intact both ways.
    pub verified: bool,
}

/// Round trips per sample: enough that a sample of small messages lasts long against the
/// clock's resolution, few for large ones (≈ 64 MiB moved each way per sample).
pub fn round_trips_per_sample(bytes: u64) -> u32 {
    ((1u64 << 26) / bytes.max(1)).clamp(2, 1000) as u32
}

/// The byte pattern of a message of `bytes`: differs with the size, so that a stale buffer fails.
fn pattern(bytes: u64, index: usize) -> u8 {
    ((index as u64).wrapping_mul(31).wrapping_add(bytes) % 251) as u8
}

/// Refuses a message larger than one MPI call carries (each message is one send of bytes).
pub fn check_message_sizes(sizes: &[u64]) -> Result<()> {
    match sizes.iter().find(|&&bytes| bytes > MAX_MPI_COUNT) {
        Some(bytes) => Err(Error::usage(format!(
            "--sizes: a message of {bytes} bytes is more than one MPI call carries \
             ({MAX_MPI_COUNT} bytes, MPI counts being 32-bit); use sizes up to {MAX_MPI_COUNT}"
        ))),
        None => Ok(()),
    }
}

/// Runs the experiment on every rank; rank 0 returns the document.
pub fn measure(
    session: &Session,
    config: &PingpongConfig,
    command: String,
) -> Result<Option<PingpongDocument>> {
    let mut sizes: Vec<u64> = config.sizes.iter().map(|&s| cap_size(s).max(1)).collect();
    sizes.dedup();
    let needs_two = if session.size < 2 {
        Err(Error::usage(
            "pingpong needs 2 ranks: `mpirun -n 2 hpclab mpi pingpong`",
        ))
    } else {
        Ok(())
    };
    // Agreed, not assumed alike: each rank caps the sizes by its own HPCLAB_MAX_SIZE.
    session.agree(needs_two.and(check_message_sizes(&sizes)))?;
    check_outputs(session, &config.destination, "pingpong", true)?;
    let largest = sizes.iter().copied().max().unwrap_or(1);
    let largest_len = usize::try_from(largest).expect("at most MAX_MPI_COUNT, checked above");
    // Only ranks 0 and 1 hold a message; either may lack the memory.
    let buffer = session.agree(if session.rank < 2 {
        message_buffer(largest_len, "--sizes", |i| pattern(largest, i)).map(Some)
    } else {
        Ok(None)
    })?;
    let MeasureOptions { runs, warmup } = config.sampling;
    let info = session.info();

    let mut points = Vec::new();
    let mut verified = true;
    if let Some(mut buffer) = buffer {
        let peer = session.world.process_at_rank(1 - session.rank as i32);
        let progress = Progress::new(sizes.len() as u64, "message sizes", !session.is_root());
        for &bytes in &sizes {
            progress.set_message(format_bytes(bytes));
            // Every size is at most the largest, the buffer's length.
            let message = &mut buffer[..bytes as usize];
            let trips = round_trips_per_sample(bytes);
            let round_trip = timed_stats(config.sampling, || {
                let spent_s = timed(|| {
                    for _ in 0..trips {
                        round_trip(session.rank, &peer, message);
                    }
                });
                spent_s / trips as f64
            });
            verified &= check_round_trip(session, &peer, message);
            let latency_s = round_trip.median_s / 2.0;
            points.push(PingpongPoint {
                bytes,
                round_trips_per_sample: trips,
                bandwidth_gbs: bytes as f64 / latency_s / 1e9,
                latency_s,
                round_trip,
            });
            progress.step();
        }
        progress.finish();
    }
    session.wait_quietly();
    Ok(session.is_root().then(|| {
        let data: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (p.bytes as f64, p.latency_s))
            .collect();
        PingpongDocument {
            provenance: Provenance::new(command, Environment::capture(1, None)),
            mpi: info,
            runs,
            warmup,
            fit: fit_latency_bandwidth(&data),
            points,
            verified,
        }
    }))
}

/// One more round trip with a fresh pattern, checked on both sides: rank 1 checks what arrived
/// and tells rank 0, which checks what came back. Returns the verdict on rank 0 (true on 1).
fn check_round_trip(
    session: &Session,
    peer: &mpi::topology::Process<'_>,
    message: &mut [u8],
) -> bool {
    let bytes = message.len() as u64;
    let expected = |i: usize| pattern(bytes ^ 0x5a, i);
    let intact = |m: &[u8]| m.iter().enumerate().all(|(i, &b)| b == expected(i));
    if session.rank == 0 {
        for (i, byte) in message.iter_mut().enumerate() {
            *byte = expected(i);
        }
        peer.send(&*message);
        message.fill(0);
        peer.receive_into(&mut *message);
        let (arrived, _) = peer.receive::<u8>();
        intact(message) && arrived == 1
    } else {
        message.fill(0);
        peer.receive_into(&mut *message);
        let arrived = u8::from(intact(message));
        peer.send(&*message);
        peer.send(&arrived);
        true
    }
}

/// The CSV row of one message size.
#[derive(Serialize, Default)]
struct PingpongRow {
    bytes: u64,
    latency_s: Number,
    bandwidth_gbs: Number,
    round_trip_median_s: Number,
    round_trip_min_s: Number,
    round_trips_per_sample: u32,
}

impl PingpongDocument {
    fn figure(&self) -> Chart {
        let measured = Series::measured(
            "measured (median; bars: min–max)",
            self.points
                .iter()
                .map(|p| (p.bytes as f64, p.bandwidth_gbs))
                .collect(),
        )
        .bars(
            self.points
                .iter()
                .map(|p| rate_bar(p.bytes as f64, p.bandwidth_gbs, &p.round_trip))
                .collect(),
        )
        .color(0);
        let mut series = vec![measured];
        if let Some(fit) = &self.fit {
            let model = self.points.iter().map(|p| {
                let bytes = p.bytes as f64;
                let time = fit.latency_s + bytes / (fit.bandwidth_gbs * 1e9);
                (bytes, bytes / time / 1e9)
            });
            series.push(
                Series::model(
                    format!(
                        "model: {} + bytes / {} GB/s",
                        seconds(fit.latency_s),
                        rate(fit.bandwidth_gbs)
                    ),
                    model.collect(),
                )
                .color(0),
            );
        }
        Chart::new(
            format!(
                "MPI ping-pong between ranks 0 and 1 ({})",
                hosts_text(&self.mpi)
            ),
            Axis::log("message size", Unit::Bytes),
            Axis::log(
                "bandwidth, bytes / one-way time (GB/s, 10^9 B/s)",
                Unit::Number,
            ),
        )
        .with_series(series)
    }
}

impl Document for PingpongDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

    fn verified(&self) -> bool {
        self.verified
    }

    fn heading(&self) -> Vec<String> {
        vec![
            format!(
                "mpi pingpong · ranks 0 ↔ 1 · {} sizes · {} samples after {} warm-up, each the mean of many round trips",
                self.points.len(),
                self.runs,
                self.warmup
            ),
            mpi_heading(&self.mpi),
        ]
    }

    fn tables(&self) -> Vec<Rows> {
        let header = [
            "size",
            "latency (½ round trip)",
            "GB/s",
            "best ½ round trip",
            "round trips/sample",
        ];
        vec![table(&header, &self.points, vec![1, 2, 3, 4], |p| {
            vec![
                format_bytes(p.bytes),
                seconds(p.latency_s),
                rate(p.bandwidth_gbs),
                seconds(p.round_trip.min_s / 2.0),
                p.round_trips_per_sample.to_string(),
            ]
        })]
    }

    fn footer(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(fit) = &self.fit {
            lines.push(format!(
                "fitted t(bytes) = {} + bytes / {} GB/s   ({}; least squares on relative error)",
                seconds(fit.latency_s),
                rate(fit.bandwidth_gbs),
                fit.r_squared_text()
            ));
        }
        let at = |bytes: u64| self.points.iter().find(|p| p.bytes == bytes);
        if let (Some(small), Some(large)) = (at(8), at(4 << 20)) {
            lines.push(format!(
                "8 B latency {} · 4 MiB bandwidth {} GB/s (the figures of a plain C MPI ping-pong)",
                seconds(small.latency_s),
                rate(large.bandwidth_gbs)
            ));
        }
        if self.mpi.ranks > 2 {
            lines.push(format!(
                "ranks 2..{} waited asleep: ping-pong measures one pair",
                self.mpi.ranks - 1
            ));
        }
        lines.push(verdict(
            self.verified,
            "every message arrived intact both ways",
            "a message arrived changed",
        ));
        lines
    }

    fn csv(&self) -> Result<String> {
        csv::write(self.points.iter().map(|p| PingpongRow {
            bytes: p.bytes,
            latency_s: Number(p.latency_s),
            bandwidth_gbs: Number(p.bandwidth_gbs),
            round_trip_median_s: Number(p.round_trip.median_s),
            round_trip_min_s: Number(p.round_trip.min_s),
            round_trips_per_sample: p.round_trips_per_sample,
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
    use super::{MAX_MPI_COUNT, check_message_sizes, round_trips_per_sample};

    #[test]
    fn a_message_beyond_one_mpi_call_is_refused_with_the_limit() {
        assert!(check_message_sizes(&[1, 64 << 20, MAX_MPI_COUNT]).is_ok());
        let refused = check_message_sizes(&[8, 3 << 30]).unwrap_err().to_string();
        assert!(refused.starts_with("--sizes"), "{refused}");
        assert!(refused.contains("3221225472 bytes"), "{refused}");
        assert!(refused.contains("2147483647"), "{refused}");
    }

    #[test]
    fn small_messages_are_timed_in_long_batches_and_large_ones_in_short() {
        assert_eq!(round_trips_per_sample(8), 1000);
        assert_eq!(round_trips_per_sample(4 << 20), 16);
        assert_eq!(round_trips_per_sample(1 << 30), 2);
    }
}
