//! One module per subcommand, each of one shape: arguments → checked configuration (before any
//! work) → the engine or an experiment → a document → [`publish`] → the outcome.

pub mod devices;
pub mod gil;
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
use crate::measure::Record;
use crate::measure::compare::{Baseline, Comparison};
use crate::report::{Destination, Document};

pub use crate::outcome::Outcome;

/// Runs the parsed command line. `command_line` is recorded in the output documents.
pub fn execute(cli: Cli, command_line: String) -> Result<Outcome> {
    if let Err(error) = crate::environment::check_variables() {
        // Every rank of an MPI job reads the same environment: rank 0 alone says so.
        return Err(match crate::distributed::launcher::quiet_rank_lingers() {
            true => crate::error::Error::OtherRank { exit_code: 2 },
            false => error,
        });
    }
    match cli.command {
        Command::Devices(args) => devices::execute(&args),
        Command::List(args) => list::execute(&args),
        Command::Run(args) => run::execute(&args, command_line),
        Command::Report(args) => report::execute(&args),
        Command::Roofline(args) => measure::<_, roofline::RooflineConfig>(&args, command_line),
        Command::Scaling(args) => measure::<_, scaling::ScalingConfig>(&args, command_line),
        Command::Gil(args) => measure::<_, gil::GilConfig>(&args, command_line),
        Command::Sweep(args) => measure::<_, sweep::SweepConfig>(&args, command_line),
        Command::Transfer(args) => measure::<_, transfer::TransferConfig>(&args, command_line),
        Command::Latency(args) => measure::<_, latency::LatencyConfig>(&args, command_line),
        Command::Mpi(args) => mpi::execute(&args, command_line),
    }
}

/// Publishes a document where `destination` says; the outcome follows from its verification.
pub fn publish(document: &dyn Document, destination: &Destination) -> Result<Outcome> {
    crate::report::publish(document, destination)?;
    Ok(Outcome::from_verified(document.verified()))
}

/// A measuring subcommand's checked configuration: it measures one document, published where
/// the configuration says.
pub trait Measure<Args>: Sized {
    /// Checks the arguments, before any work.
    fn from_args(args: &Args) -> Result<Self>;
    /// Measures; `command_line` is recorded in the document.
    fn document(&self, command_line: String) -> Result<impl Document + 'static>;
    fn destination(&self) -> &Destination;
}

/// Checks the arguments, measures and publishes: the whole of a measuring subcommand.
pub fn measure<A, C: Measure<A>>(args: &A, command_line: String) -> Result<Outcome> {
    let config = C::from_args(args)?;
    let document = config.document(command_line)?;
    publish(&document, config.destination())
}

/// The comparison of `records` with the baseline, and the baseline's command line: a document's
/// `comparison` and `baseline_command` (both `None` without a baseline).
fn compare(
    baseline: Option<&Baseline>,
    records: &[Record],
) -> (Option<Vec<Comparison>>, Option<String>) {
    baseline.map_or((None, None), |baseline| {
        (
            Some(baseline.compare(records)),
            Some(baseline.command.clone()),
        )
    })
}

/// `destination`, once its output paths are checked (before any work).
fn checked(destination: Destination) -> Result<Destination> {
    destination.check()?;
    Ok(destination)
}
