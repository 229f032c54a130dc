//! The distributed-memory experiments of `hpclab mpi` (cargo feature `mpi`). Every rank runs
//! the same code; rank 0 collects the per-rank figures, prints the table and writes the files.

pub mod collectives;
pub mod pingpong;
pub mod startup;
pub mod stencil;

use crate::cli::ExperimentOutput;
use crate::commands::Outcome;
use crate::distributed::mpi::Session;
use crate::error::Result;
use crate::report::{self, Document};

/// Checks on rank 0 that the output files can be written, and makes every rank agree.
pub(crate) fn check_outputs(session: &Session, out: &ExperimentOutput) -> Result<()> {
    let local = if session.is_root() {
        [&out.output, &out.plot]
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
            report::publish(document, out)?;
            Ok(if document.verified() {
                Outcome::Success
            } else {
                Outcome::VerificationFailed
            })
        }
        None => Ok(Outcome::Success),
    }
}
