//! The distributed-memory experiments of `hpclab mpi` (cargo feature `mpi`). Every rank runs
//! the same code; rank 0 collects the per-rank figures, prints the table and writes the files.

pub mod collectives;
pub mod pingpong;
pub mod startup;
pub mod stencil;

use crate::Outcome;
use crate::cli::ExperimentOutput;
use crate::distributed::mpi::{MpiInfo, Session};
use crate::error::Result;
use crate::report::{self, Document};

/// Checks on rank 0 that the output files can be written (and that `--plot` is asked only of an
/// experiment that draws a figure), and makes every rank agree.
pub(crate) fn check_outputs(
    session: &Session,
    out: &ExperimentOutput,
    experiment: &str,
    has_figure: bool,
) -> Result<()> {
    if !has_figure && out.plot.is_some() {
        return session.agree(Err(crate::error::Error::usage(format!(
            "--plot: `mpi {experiment}` draws no figure; leave --plot out (its table, JSON and CSV hold the figures)"
        ))));
    }
    let local = if session.is_root() {
        [&out.document.output, &out.plot]
            .into_iter()
            .flatten()
            .try_for_each(|path| report::check_output_path(path))
    } else {
        Ok(())
    };
    session.agree(local)
}

/// Rank 0 publishes `document` (other ranks pass `None`); the outcome is rank 0's verdict.
pub(crate) fn publish_on_root(
    document: Option<&dyn Document>,
    out: &ExperimentOutput,
) -> Result<Outcome> {
    match document {
        Some(document) => {
            report::publish(document, &out.destination())?;
            Ok(if document.verified() {
                Outcome::Success
            } else {
                Outcome::VerificationFailed
            })
        }
        None => Ok(Outcome::Success),
    }
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
