//! Typed errors of the library and the exit code each one maps to.

use thiserror::Error as ThisError;

/// Result type of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop hpclab. `Usage` is a user's mistake (exit code 2); the rest are
/// failures of the machine or of a run (exit code 1).
#[derive(Debug, ThisError)]
pub enum Error {
    /// A bad argument or a request the machine cannot satisfy (size too large, unknown adapter).
    /// The message says what to do.
    #[error("{0}")]
    Usage(String),
    /// A wgpu failure: validation, out of memory, device lost, mapping failure.
    #[error("GPU error while {context}: {message}")]
    Gpu { context: String, message: String },
    /// Reading or writing a file or the terminal failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The Python worker of a Python rung failed (an exception, a crash, a garbled answer).
    #[error("Python worker error while {context}: {message}")]
    Python { context: String, message: String },
    /// Another MPI rank failed and reported why (or this one already did); this rank stops with
    /// the same exit code and prints nothing, so that a mistake is said once, not once per rank.
    #[error("stopped because another rank failed")]
    OtherRank { exit_code: i32 },
}

impl Error {
    /// Builds a [`Error::Usage`] from anything printable.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    /// Builds a [`Error::Gpu`] that says what hpclab was doing when wgpu failed.
    pub fn gpu(context: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Error::Gpu {
            context: context.into(),
            message: message.to_string(),
        }
    }

    /// Wraps an I/O error with what hpclab was doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The same error with "rank R: " before its message, for a failure that one MPI rank of
    /// several reports.
    pub fn on_rank(self, rank: usize) -> Self {
        match self {
            Error::Usage(message) => Error::Usage(format!("rank {rank}: {message}")),
            Error::Gpu { context, message } => Error::Gpu {
                context: format!("rank {rank}: {context}"),
                message,
            },
            Error::Python { context, message } => Error::Python {
                context: format!("rank {rank}: {context}"),
                message,
            },
            Error::Io { context, source } => Error::Io {
                context: format!("rank {rank}: {context}"),
                source,
            },
            other => other,
        }
    }

    /// The process exit code for this error: 2 for a user's mistake, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::OtherRank { exit_code } => *exit_code,
            _ => 1,
        }
    }
}

/// Writes `hpclab: MESSAGE` and its newline to stderr in one write call: under mpirun, a line
/// written in pieces (as `eprintln!` does) can be split by the launcher's own messages.
pub fn say(message: &str) {
    use std::io::Write;
    let line = format!("hpclab: {message}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
