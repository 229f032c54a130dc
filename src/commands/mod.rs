//! One module per subcommand, each of one shape: arguments → checked configuration (before any
//! work) → the engine or an experiment → a document → [`publish`] → the outcome.

pub mod devices;
pub mod latency;
pub mod list;
pub mod mpi;
pub mod report;
pub mod roofline;
pub mod run;
pub mod scaling;
pub mod sweep;
pub mod transfer;

use crate::cli::{Cli, Command};
use crate::error::Result;
use crate::report::{Destination, Document};

pub use crate::outcome::Outcome;

/// Runs the parsed command line. `command_line` is recorded in the output documents.
pub fn execute(cli: Cli, command_line: String) -> Result<Outcome> {
    match cli.command {
        Command::Devices(args) => devices::execute(&args),
        Command::List(args) => list::execute(&args),
        Command::Run(args) => run::execute(&args, command_line),
        Command::Report(args) => report::execute(&args),
        Command::Roofline(args) => roofline::execute(&args, command_line),
        Command::Scaling(args) => scaling::execute(&args, command_line),
        Command::Sweep(args) => sweep::execute(&args, command_line),
        Command::Transfer(args) => transfer::execute(&args, command_line),
        Command::Latency(args) => latency::execute(&args, command_line),
        Command::Mpi(args) => mpi::execute(&args, command_line),
    }
}

/// Publishes a document where `destination` says; the outcome follows from its verification.
pub fn publish(document: &dyn Document, destination: &Destination) -> Result<Outcome> {
    crate::report::publish(document, destination)?;
    Ok(Outcome::from_verified(document.verified()))
}
