//! The distributed-memory experiments of `hpclab mpi` (cargo feature `mpi`). Every rank runs
//! the same code from its experiment's configuration; rank 0 collects the per-rank figures and
//! returns the document, which the command publishes.

pub mod collectives;
pub mod pingpong;
pub mod startup;
pub mod stencil;

use crate::distributed::mpi::{MpiInfo, Session};
use crate::error::{Error, Result};
use crate::report::Destination;

/// Checks on rank 0 that the output files can be written (and that `--plot` is asked only of an
/// experiment that draws a figure), and makes every rank agree.
pub(crate) fn check_outputs(
    session: &Session,
    destination: &Destination,
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

/// "one host" or "2 hosts", for titles.
pub(crate) fn hosts_text(info: &MpiInfo) -> String {
    let mut hosts = info.hosts.clone();
    hosts.sort();
    hosts.dedup();
    match hosts.len() {
        1 => format!("both on {}", hosts[0]),
        count => format!("{count} hosts"),
    }
}

/// The heading line every MPI document shares.
pub(crate) fn mpi_heading(info: &MpiInfo) -> String {
    let mut hosts = info.hosts.clone();
    hosts.sort();
    hosts.dedup();
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
