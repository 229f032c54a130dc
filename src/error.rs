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

    /// The process exit code for this error: 2 for a user's mistake, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }
}
