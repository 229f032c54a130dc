//! `hpclab mpi …`: the distributed-memory experiments. In a build without the cargo feature
//! `mpi` the command exists (so that `--help` shows it) and says how to get it.

use super::Outcome;
use crate::cli::MpiArgs;
use crate::error::Result;

/// Runs an MPI experiment on this rank.
#[cfg(feature = "mpi")]
pub fn execute(args: &MpiArgs, command_line: String) -> Result<Outcome> {
    use crate::cli::MpiCommand;
    use crate::distributed::mpi::Session;
    use crate::experiments::mpi::{collectives, pingpong, startup, stencil};
    // Only the stencil runs threads (rayon) beside the communicating one.
    let threads = matches!(args.command, MpiCommand::Stencil(_));
    let session = Session::start(threads)?;
    let result = match &args.command {
        MpiCommand::Pingpong(args) => pingpong::execute(&session, args, command_line),
        MpiCommand::Collectives(args) => collectives::execute(&session, args, command_line),
        MpiCommand::Stencil(args) => stencil::execute(&session, args, command_line),
        MpiCommand::Startup(args) => startup::execute(&session, args, command_line),
    };
    // Say what went wrong before MPI_Finalize (dropping the session), which every rank reaches
    // together: a rank that exits first would let mpirun end the job before the line is out.
    let result = result.map_err(|error| {
        if !matches!(error, crate::error::Error::OtherRank { .. }) {
            crate::error::say(&error.to_string());
        }
        crate::error::Error::OtherRank {
            exit_code: error.exit_code(),
        }
    });
    drop(session);
    result
}

/// Says how to build hpclab with MPI; under a launcher only rank 0 says it, once.
#[cfg(not(feature = "mpi"))]
pub fn execute(_args: &MpiArgs, _command_line: String) -> Result<Outcome> {
    use crate::distributed::launcher::launcher_rank;
    use crate::error::Error;
    match launcher_rank() {
        Some(rank) if rank > 0 => {
            std::thread::sleep(crate::distributed::launcher::LET_RANK_0_SPEAK);
            Err(Error::OtherRank { exit_code: 2 })
        }
        _ => Err(Error::usage(
            "this hpclab was built without MPI: rebuild with `cargo build --release --features mpi` \
             (needs an MPI library and libclang, e.g. `apt-get install libopenmpi-dev openmpi-bin libclang-dev`)",
        )),
    }
}
