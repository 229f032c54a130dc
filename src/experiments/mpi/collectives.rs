//! (being written)
use crate::commands::Outcome;
use crate::distributed::mpi::Session;
use crate::error::Result;
pub fn execute(_s: &Session, _a: &crate::cli::MpiCollectivesArgs, _c: String) -> Result<Outcome> {
    todo!()
}
