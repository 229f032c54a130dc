//! The distributed-memory experiments of `hpclab mpi` (cargo feature `mpi`). Every rank runs
//! the same code from its experiment's configuration; rank 0 collects the per-rank figures and
//! returns the document, which the command publishes.

pub mod collectives;
pub mod farm;
pub mod pingpong;
pub mod spawn;
pub mod startup;
pub mod stencil;

use crate::distributed::mpi::{MpiInfo, Session};
use crate::error::{Error, Result};
use crate::measure::runner::take_samples;
use crate::measure::{MeasureOptions, Stats};
use crate::report;
use crate::report::table::Rows;
use crate::size::format_bytes;
use mpi::datatype::Equivalence;
use mpi::topology::Process;
use mpi::traits::*;
use std::time::Instant;

/// Checks on rank 0 that the output files can be written (and that `--plot` is asked only of an
/// experiment that draws a figure), and makes every rank agree.
pub(crate) fn check_outputs(
    session: &Session,
    destination: &report::Destination,
    experiment: &str,
    has_figure: bool,
) -> Result<()> {
    if !has_figure && destination.plot.is_some() {
        return session.agree(Err(Error::usage(format!(
            "--plot: `mpi {experiment}` draws no figure; leave --plot out (its table, JSON and CSV hold the figures)"
        ))));
    }
    let local = if session.is_root() {
        destination.check()
    } else {
        Ok(())
    };
    session.agree(local)
}

/// The kept samples of a measurement that communicates. A failure there cannot be agreed on
/// (a neighbour may already wait for this rank), so a sample that can fail ends the job through
/// [`Session::or_abort`] and hands back only what it measured: the loop itself cannot fail.
pub(crate) fn samples<T>(options: MeasureOptions, mut sample: impl FnMut() -> T) -> Vec<T> {
    take_samples(options, || Ok(sample()), |_, _| {})
        .expect("the sample closure above always returns Ok")
}

/// Why a measurement keeps at least one sample: every MPI experiment's `--runs` starts at 1
/// (clap's range in cli.rs).
const AT_LEAST_ONE_RUN: &str = "--runs is at least 1 (clap's range), so a sample is kept";

/// The statistics of the kept samples of [`samples`], each the seconds `sample` returns.
pub(crate) fn timed_stats(options: MeasureOptions, sample: impl FnMut() -> f64) -> Stats {
    Stats::from_samples(samples(options, sample)).expect(AT_LEAST_ONE_RUN)
}

/// A message buffer of `len` elements, element `i` being `element(i)`; a usage error naming
/// `flag` where this rank cannot allocate it (ranks may differ in memory: callers agree on it).
pub(crate) fn message_buffer<T>(
    len: usize,
    flag: &str,
    element: impl FnMut(usize) -> T,
) -> Result<Vec<T>> {
    let mut buffer = Vec::new();
    buffer.try_reserve_exact(len).map_err(|_| {
        Error::usage(format!(
            "{flag}: cannot allocate the {} of a message buffer; use a smaller {flag}",
            format_bytes((len as u64).saturating_mul(size_of::<T>() as u64))
        ))
    })?;
    buffer.extend((0..len).map(element));
    Ok(buffer)
}

/// Seconds `operation` took on this rank.
pub(crate) fn timed(operation: impl FnOnce()) -> f64 {
    let started = Instant::now();
    operation();
    started.elapsed().as_secs_f64()
}

/// One round trip of `message` between ranks 0 and 1: rank 0 sends it and receives it back,
/// rank 1 sends back what it received.
pub(crate) fn round_trip<T: Equivalence>(rank: usize, peer: &Process<'_>, message: &mut [T]) {
    if rank == 0 {
        peer.send(&*message);
        peer.receive_into(message);
    } else {
        peer.receive_into(&mut *message);
        peer.send(&*message);
    }
}

/// Per sample, the slowest rank's time (`per_rank[rank][sample]`): an operation that every rank
/// takes part in is over when its last rank is done. Every rank keeps `--runs` samples; the
/// fewest any rank sent are compared, so that a short record cannot index out of bounds.
pub(crate) fn slowest_rank(per_rank: &[Vec<f64>]) -> Stats {
    let runs = per_rank.iter().map(Vec::len).min().unwrap_or(0);
    let slowest = (0..runs)
        .map(|i| {
            per_rank
                .iter()
                .map(|samples| samples[i])
                .fold(0.0, f64::max)
        })
        .collect();
    Stats::from_samples(slowest).expect(AT_LEAST_ONE_RUN)
}

/// A table's header from its column names.
pub(crate) fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// A table of one row per item, under a fixed header; `numeric` lists the right-aligned columns.
pub(crate) fn table<T>(
    header: &[&str],
    items: &[T],
    numeric: Vec<usize>,
    row: impl Fn(&T) -> Vec<String>,
) -> Rows {
    Rows::new(header, items.iter().map(row).collect(), numeric)
}

/// A footer's last line: what was checked, or what failed.
pub(crate) fn verdict(verified: bool, passed: &str, failed: &str) -> String {
    if verified {
        passed.to_string()
    } else {
        format!("VERIFICATION FAILED: {failed}")
    }
}

/// The job's hosts, each once.
fn distinct_hosts(info: &MpiInfo) -> Vec<&str> {
    let mut hosts: Vec<&str> = info.hosts.iter().map(String::as_str).collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// "one host" or "2 hosts", for titles.
pub(crate) fn hosts_text(info: &MpiInfo) -> String {
    let hosts = distinct_hosts(info);
    match hosts.len() {
        1 => format!("both on {}", hosts[0]),
        count => format!("{count} hosts"),
    }
}

/// The heading line every MPI document shares.
pub(crate) fn mpi_heading(info: &MpiInfo) -> String {
    let hosts = distinct_hosts(info);
    let oversubscribed = if info.ranks_per_host > info.cores_per_host {
        format!(
            " — OVERSUBSCRIBED: {} cores per host, so ranks take turns and times grow",
            info.cores_per_host
        )
    } else {
        String::new()
    };
    format!(
        "MPI: {} (standard {}, thread level {}) · {} ranks on {} host{} ({} per host at most){oversubscribed}",
        info.library,
        info.standard,
        info.threading,
        info.ranks,
        hosts.len(),
        if hosts.len() == 1 { "" } else { "s" },
        info.ranks_per_host
    )
}

/// For unit tests: two ranks on one host of two cores, with `threading`.
#[cfg(test)]
pub(crate) fn test_mpi_info(threading: &str) -> MpiInfo {
    MpiInfo {
        ranks: 2,
        library: "test MPI".into(),
        standard: "3.1".into(),
        hosts: vec!["a".into(), "a".into()],
        ranks_per_host: 2,
        threading: threading.into(),
        cores_per_host: 2,
        cores_per_rank: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::{Environment, Provenance};
    use crate::report::Document;

    fn info() -> MpiInfo {
        test_mpi_info("single")
    }

    #[test]
    fn a_buffer_this_rank_cannot_allocate_is_a_usage_error_naming_the_flag() {
        let buffer = message_buffer(4, "--size", |i| i as f64).unwrap();
        assert_eq!(buffer, vec![0.0, 1.0, 2.0, 3.0]);
        let refused = message_buffer(usize::MAX / 2, "--size", |_| 0u64).unwrap_err();
        assert_eq!(refused.exit_code(), 2);
        assert!(
            refused.to_string().starts_with("--size: cannot allocate"),
            "{refused}"
        );
    }

    #[test]
    fn the_slowest_rank_is_taken_over_the_samples_every_rank_sent() {
        let per_rank = vec![vec![1.0, 5.0, 2.0], vec![3.0, 4.0]];
        assert_eq!(slowest_rank(&per_rank).samples_s, vec![3.0, 5.0]);
    }

    /// The provenance is flattened: its keys stand at the top of every MPI document's JSON, as
    /// they did when each document declared them itself.
    #[test]
    fn every_document_keeps_its_provenance_keys_at_the_top() {
        let provenance = || Provenance::new("hpclab mpi …".into(), Environment::capture(1, None));
        let documents: Vec<Box<dyn Document>> = vec![
            Box::new(pingpong::PingpongDocument {
                provenance: provenance(),
                mpi: info(),
                runs: 1,
                warmup: 0,
                points: Vec::new(),
                fit: None,
                verified: true,
            }),
            Box::new(collectives::CollectivesDocument {
                provenance: provenance(),
                mpi: info(),
                runs: 1,
                warmup: 0,
                points: Vec::new(),
                verified: true,
            }),
            Box::new(startup::StartupDocument {
                provenance: provenance(),
                mpi: info(),
                runs: 1,
                ranks: Vec::new(),
                launch_spread_s: 0.0,
                first_round_trip_peer_late_s: None,
                verified: true,
            }),
            Box::new(stencil::StencilDocument {
                provenance: provenance(),
                mpi: info(),
                backend: crate::distributed::slab::MpiBackend::Rayon,
                scaling: None,
                size: 8,
                steps: 1,
                residual_every: 1,
                threads_per_rank: 1,
                runs: 1,
                warmup: 0,
                startup: Vec::new(),
                points: Vec::new(),
                verified: true,
            }),
        ];
        for document in documents {
            let json = document.json().unwrap();
            for key in [
                "hpclab_version",
                "command",
                "environment",
                "mpi",
                "verified",
            ] {
                assert!(json.get(key).is_some(), "{key} missing: {json}");
            }
            assert_eq!(json["command"], "hpclab mpi …");
            assert_eq!(json["hpclab_version"], env!("CARGO_PKG_VERSION"));
            assert!(json.get("provenance").is_none(), "{json}");
        }
    }
}
