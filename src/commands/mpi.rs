//! `hpclab mpi …`: the distributed-memory experiments. In a build without the cargo feature
//! `mpi` the command exists (so that `--help` shows it) and says how to get it.

use super::Outcome;
use crate::cli::MpiArgs;
use crate::error::Result;

#[cfg(feature = "mpi")]
pub use with_mpi::{ReportSession, execute};

#[cfg(feature = "mpi")]
mod with_mpi {
    use super::{MpiArgs, Outcome, Result};
    use crate::cli::{
        MpiCollectivesArgs, MpiCommand, MpiFarmArgs, MpiPingpongArgs, MpiSpawnArgs, MpiStartupArgs,
        MpiStencilArgs,
    };
    use crate::distributed::mpi::Session;
    use crate::distributed::timeloop::Schedule;
    use crate::error::Error;
    use crate::experiments::mpi::collectives::{self, CollectivesConfig};
    use crate::experiments::mpi::farm::{self, FarmConfig, Workers};
    use crate::experiments::mpi::pingpong::{self, PingpongConfig};
    use crate::experiments::mpi::spawn::{self, SpawnConfig};
    use crate::experiments::mpi::startup::{self, StartupConfig};
    use crate::experiments::mpi::stencil::{self, StencilConfig};
    use crate::measure::MeasureOptions;
    use crate::report::{Destination, Document};

    /// Runs an MPI experiment on this rank.
    pub fn execute(args: &MpiArgs, command_line: String) -> Result<Outcome> {
        // The stencil and the farm's workers run threads (rayon) beside the communicating one.
        let threads = matches!(args.command, MpiCommand::Stencil(_) | MpiCommand::Farm(_));
        // Those that spawn their workers may run as one process no launcher started.
        let alone_allowed = match &args.command {
            MpiCommand::Spawn(_) => true,
            MpiCommand::Farm(farm) => !farm.ranks,
            _ => false,
        };
        let session = Session::start(threads, alone_allowed)?;
        let result = experiment(&session, &args.command, command_line);
        // Say what went wrong before MPI_Finalize (dropping the session).
        let follows_another_rank = matches!(result, Err(Error::OtherRank { .. }));
        let result = result.map_err(|error| {
            if !follows_another_rank {
                crate::error::say(&error.to_string());
            }
            Error::OtherRank {
                exit_code: error.exit_code(),
            }
        });
        // MPI_Finalize does not wait for every rank, and mpirun ends the job when the first rank
        // exits with an error: the rank that reports must exit first, with its line out, and
        // the others stay silent when mpirun's SIGTERM then ends them (in MPI_Finalize or after).
        if follows_another_rank {
            crate::files::quiet_on_signal();
        }
        drop(session);
        if follows_another_rank {
            std::thread::sleep(crate::distributed::launcher::LET_RANK_0_SPEAK);
        }
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
            MpiCommand::Spawn(args) => {
                let config = spawn_config(args);
                let document = spawn::measure(session, &config, command_line)?;
                publish_on_root(document, &config.destination)
            }
            MpiCommand::Farm(args) => {
                let config = farm_config(args);
                let document = farm::measure(session, &config, command_line)?;
                publish_on_root(document, &config.destination)
            }
        }
    }

    /// The MPI steps of `hpclab report`: MPI started once, in the report's own process alone
    /// (a singleton, which spawns the workers), and finalised when this is dropped.
    #[derive(Default)]
    pub struct ReportSession {
        session: Option<Session>,
    }

    impl ReportSession {
        /// The document of an `hpclab mpi` step of the report's suite.
        pub fn document(
            &mut self,
            args: &MpiArgs,
            command_line: String,
        ) -> Result<Box<dyn Document>> {
            let session = match &mut self.session {
                Some(session) => session,
                empty => empty.insert(Session::start(true, true)?),
            };
            let document: Option<Box<dyn Document>> = match &args.command {
                MpiCommand::Spawn(args) => {
                    spawn::measure(session, &spawn_config(args), command_line)?
                        .map(|d| Box::new(d) as Box<dyn Document>)
                }
                MpiCommand::Farm(args) if !args.ranks => {
                    farm::measure(session, &farm_config(args), command_line)?
                        .map(|d| Box::new(d) as Box<dyn Document>)
                }
                _ => {
                    return Err(Error::usage(
                        "a report runs only the MPI experiments that start their own processes (spawn, farm)",
                    ));
                }
            };
            document
                .ok_or_else(|| Error::usage("a spawned worker has no report to write".to_string()))
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

    fn spawn_config(args: &MpiSpawnArgs) -> SpawnConfig {
        SpawnConfig {
            workers: args.workers.iter().map(|&k| k as usize).collect(),
            sampling: args.sampling.options(),
            compare_with_mpirun: !args.no_mpirun,
            destination: args.out.destination(),
        }
    }

    fn farm_config(args: &MpiFarmArgs) -> FarmConfig {
        FarmConfig {
            workers: if args.ranks {
                Workers::Ranks
            } else {
                Workers::Spawned(args.workers as usize)
            },
            size: args.size,
            rows: args.rows.clone(),
            schedules: args.schedule.clone(),
            backend: args.backend,
            max_iter: args.max_iter,
            corrupt_row: args.corrupt_row,
            sampling: args.sampling.options(),
            destination: args.out.destination(),
        }
    }

    fn startup_config(args: &MpiStartupArgs) -> StartupConfig {
        StartupConfig {
            runs: args.runs as usize,
            destination: args.out.destination(),
        }
    }
}

/// Without MPI the report has no MPI steps: nothing to hold.
#[cfg(not(feature = "mpi"))]
#[derive(Default)]
pub struct ReportSession {
    _nothing: (),
}

#[cfg(not(feature = "mpi"))]
impl ReportSession {
    /// An `hpclab mpi` step in a build without MPI: how to build it.
    pub fn document(
        &mut self,
        _args: &MpiArgs,
        _command_line: String,
    ) -> Result<Box<dyn crate::report::Document>> {
        Err(crate::error::Error::usage(BUILD_WITH_MPI))
    }
}

/// The one-line advice of a build without MPI.
#[cfg(not(feature = "mpi"))]
const BUILD_WITH_MPI: &str = "this hpclab was built without MPI: rebuild with `cargo build --release --features mpi` \
     (needs an MPI library and libclang, e.g. `apt-get install libopenmpi-dev openmpi-bin libclang-dev`)";

/// Says how to build hpclab with MPI; under a launcher only rank 0 says it, once.
#[cfg(not(feature = "mpi"))]
pub fn execute(_args: &MpiArgs, _command_line: String) -> Result<Outcome> {
    use crate::error::Error;
    if crate::distributed::launcher::quiet_rank_lingers() {
        Err(Error::OtherRank { exit_code: 2 })
    } else {
        Err(Error::usage(BUILD_WITH_MPI))
    }
}
