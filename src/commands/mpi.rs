//! `hpclab mpi …`: the distributed-memory experiments. In a build without the cargo feature
//! `mpi` the command exists (so that `--help` shows it) and says how to get it.

use super::Outcome;
use crate::cli::MpiArgs;
use crate::error::Result;

#[cfg(feature = "mpi")]
pub use with_mpi::execute;

#[cfg(feature = "mpi")]
mod with_mpi {
    use super::{MpiArgs, Outcome, Result};
    use crate::cli::{
        MpiCollectivesArgs, MpiCommand, MpiPingpongArgs, MpiStartupArgs, MpiStencilArgs,
    };
    use crate::distributed::mpi::Session;
    use crate::distributed::timeloop::Schedule;
    use crate::error::Error;
    use crate::experiments::mpi::collectives::{self, CollectivesConfig};
    use crate::experiments::mpi::pingpong::{self, PingpongConfig};
    use crate::experiments::mpi::startup::{self, StartupConfig};
    use crate::experiments::mpi::stencil::{self, StencilConfig};
    use crate::measure::MeasureOptions;
    use crate::report::{Destination, Document};

    /// Runs an MPI experiment on this rank.
    pub fn execute(args: &MpiArgs, command_line: String) -> Result<Outcome> {
        // Only the stencil runs threads (rayon) beside the communicating one.
        let threads = matches!(args.command, MpiCommand::Stencil(_));
        let session = Session::start(threads)?;
        let result = experiment(&session, &args.command, command_line);
        // Say what went wrong before MPI_Finalize (dropping the session), which every rank
        // reaches together: a rank that exits first would let mpirun end the job before the
        // line is out.
        let result = result.map_err(|error| {
            if !matches!(error, Error::OtherRank { .. }) {
                crate::error::say(&error.to_string());
            }
            Error::OtherRank {
                exit_code: error.exit_code(),
            }
        });
        drop(session);
        result
    }

    /// The configuration from the arguments, the experiment on every rank, rank 0's document
    /// published.
    fn experiment(
        session: &Session,
        command: &MpiCommand,
        command_line: String,
    ) -> Result<Outcome> {
        match command {
            MpiCommand::Pingpong(args) => {
                let config = pingpong_config(args);
                let document = pingpong::measure(session, &config, command_line)?;
                publish_on_root(document, &config.destination)
            }
            MpiCommand::Collectives(args) => {
                let config = collectives_config(args);
                let document = collectives::measure(session, &config, command_line)?;
                publish_on_root(document, &config.destination)
            }
            MpiCommand::Stencil(args) => {
                // Every rank checks the adapter alike; the agreement says it once.
                let config = session.agree(stencil_config(args))?;
                let document = stencil::measure(session, &config, command_line)?;
                publish_on_root(document, &config.destination)
            }
            MpiCommand::Startup(args) => {
                let config = startup_config(args);
                let document = startup::measure(session, &config, command_line)?;
                publish_on_root(document, &config.destination)
            }
        }
    }

    /// Rank 0 publishes its document; the other ranks have none and succeed, so the job's exit
    /// code is rank 0's verdict.
    fn publish_on_root(
        document: Option<impl Document>,
        destination: &Destination,
    ) -> Result<Outcome> {
        document.map_or(Ok(Outcome::Success), |document| {
            crate::commands::publish(&document, destination)
        })
    }

    fn sampling(runs: u32, warmup: u32) -> MeasureOptions {
        MeasureOptions {
            warmup: warmup as usize,
            runs: runs as usize,
        }
    }

    fn pingpong_config(args: &MpiPingpongArgs) -> PingpongConfig {
        PingpongConfig {
            sizes: args.sizes.clone(),
            sampling: sampling(args.runs, args.warmup),
            destination: args.out.destination(),
        }
    }

    fn collectives_config(args: &MpiCollectivesArgs) -> CollectivesConfig {
        CollectivesConfig {
            sizes: args.size.clone(),
            sampling: sampling(args.runs, args.warmup),
            destination: args.out.destination(),
        }
    }

    fn stencil_config(args: &MpiStencilArgs) -> Result<StencilConfig> {
        Ok(StencilConfig {
            size: args.size,
            schedule: Schedule {
                steps: args.steps,
                residual_every: args.residual_every,
            },
            backend: args.backend,
            threads: args.threads.map(|t| t as usize),
            scaling: args.scaling,
            sampling: sampling(args.runs, args.warmup),
            seed: args.seed,
            skip_check: args.skip_check,
            gpu: args.gpu.request()?,
            destination: args.out.destination(),
        })
    }

    fn startup_config(args: &MpiStartupArgs) -> StartupConfig {
        StartupConfig {
            runs: args.runs as usize,
            destination: args.out.destination(),
        }
    }
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
