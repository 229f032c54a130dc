//! The `hpclab` binary: parse the command line, run the command, turn errors into one line on
//! stderr and an exit code (2 for a user's mistake, 1 for a failed verification or run).

use clap::Parser;
use hpclab::cli::Cli;
use hpclab::commands::{self, Outcome};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Read before any work adds its own load.
    hpclab::environment::load_at_start();
    hpclab::files::remove_temporaries_on_signal();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_error(error),
    };
    let command_line = std::iter::once("hpclab".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    match commands::execute(cli, command_line) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::VerificationFailed) => {
            say("verification failed (see the check column)");
            ExitCode::from(1)
        }
        // Another MPI rank has said what went wrong.
        Err(error @ hpclab::error::Error::OtherRank { .. }) => {
            ExitCode::from(error.exit_code() as u8)
        }
        Err(error) => {
            say(&error.to_string());
            ExitCode::from(error.exit_code() as u8)
        }
    }
}

/// Help and version go to stdout as clap writes them; a usage error becomes one line on stderr
/// (clap's first line, plus where to read more) and exit code 2.
fn clap_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    // Under an MPI launcher every rank parses the same command line: rank 0 alone says what is
    // wrong, once.
    if hpclab::distributed::launcher::quiet_rank_lingers() {
        return ExitCode::from(2);
    }
    if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        say(&missing_subcommand());
        return ExitCode::from(2);
    }
    if let Some(message) = negative_number(&error) {
        say(&message);
        return ExitCode::from(2);
    }
    // clap's first paragraph is the message (a missing argument's name is on its second line);
    // the usage block after the blank line is left to --help.
    let rendered = error.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let message = paragraph.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    say(&format!(
        "{message}{} (see `{} --help`)",
        suggestion(&error),
        command_path().join(" ")
    ));
    ExitCode::from(2)
}

/// clap's "did you mean" for a misspelt flag, subcommand or value (its tip paragraph, which the
/// one line would otherwise lose).
fn suggestion(error: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let suggested = [
        ContextKind::SuggestedArg,
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedValue,
    ]
    .into_iter()
    .find_map(|kind| match error.get(kind)? {
        ContextValue::String(one) => Some(vec![one.clone()]),
        ContextValue::Strings(many) if !many.is_empty() => Some(many.clone()),
        _ => None,
    });
    suggested.map_or(String::new(), |names| {
        let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
        format!("; did you mean {}?", quoted.join(" or "))
    })
}

/// The subcommands named on the command line (`hpclab run`), as far as they exist.
fn command_path() -> Vec<String> {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut path = vec!["hpclab".to_string()];
    for word in std::env::args().skip(1) {
        match command.find_subcommand(&word) {
            Some(sub) => {
                path.push(word);
                command = sub.clone();
            }
            None => break,
        }
    }
    path
}

/// clap reads `--size -1` as an unknown flag `-1`: say instead that the flag before it takes a
/// positive number.
fn negative_number(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(argument)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let number = argument.strip_prefix('-')?;
    if number.parse::<f64>().is_err() {
        return None;
    }
    let args: Vec<String> = std::env::args().collect();
    let flag = args
        .iter()
        .position(|a| a == argument)
        .and_then(|i| i.checked_sub(1))
        .map(|i| args[i].clone())
        .filter(|before| before.starts_with('-'))?;
    Some(format!(
        "{flag} {argument}: {flag} takes a positive number (see `{} --help`)",
        command_path().join(" ")
    ))
}

/// The line for a command line that stops before its subcommand (`hpclab`, `hpclab mpi`): the
/// subcommands that may follow.
fn missing_subcommand() -> String {
    use clap::CommandFactory;
    let path = command_path();
    let mut command = Cli::command();
    for word in &path[1..] {
        if let Some(sub) = command.find_subcommand(word) {
            command = sub.clone();
        }
    }
    let names: Vec<&str> = command
        .get_subcommands()
        .map(|sub| sub.get_name())
        .filter(|name| *name != "help")
        .collect();
    let path = path.join(" ");
    format!(
        "`{path}` needs a subcommand: {} (see `{path} --help`)",
        names.join(", ")
    )
}

/// Writes `hpclab: MESSAGE` and the newline to stderr in one write: under mpirun a line written in
/// pieces can be split by the launcher's own messages.
fn say(message: &str) {
    hpclab::error::say(message);
}
