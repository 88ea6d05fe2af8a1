//! Typed errors of the library. Every message names the field or file at fault and
//! says how to fix it; the CLI prints it on one line and maps it to an exit code.

use std::path::PathBuf;

/// Errors of `lmser`. Input errors (exit code 2) are separated from run-time
/// failures of a simulation (exit code 3) by [`Error::exit_code`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A config value is missing, has the wrong type or is out of range.
    #[error("{file}: {field}: {message}")]
    Config {
        file: String,
        field: String,
        message: String,
    },
    /// A data file (CSV) could not be read or has the wrong shape or content.
    #[error("{}: {message}", path.display())]
    Data { path: PathBuf, message: String },
    /// An output file or directory could not be written.
    #[error("{}: cannot write ({source}); choose a writable directory with --out", path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A state variable became non-finite or exceeded the divergence bound.
    #[error("diverged at t = {time}: {quantity} = {value:e}; {hint}")]
    Diverged {
        time: f64,
        quantity: String,
        value: f64,
        hint: String,
    },
    /// The integrator gave up (step-size underflow, too many steps, stiffness).
    #[error("solver failed at t = {time}: {reason}; {hint}")]
    SolverFailed {
        time: f64,
        reason: String,
        hint: String,
    },
    /// The run was interrupted (SIGINT/SIGTERM) at the given time.
    #[error("interrupted at t = {time}")]
    Interrupted { time: f64 },
    /// The output directory holds another run or files a run does not write.
    #[error("{}: {message}", dir.display())]
    RunDir { dir: PathBuf, message: String },
    /// A resume was asked for a directory that cannot be resumed.
    #[error("{}: cannot resume: {message}", dir.display())]
    Resume { dir: PathBuf, message: String },
}

impl Error {
    /// Process exit code for this error: 2 bad input, 3 diverged or solver failed,
    /// 130 interrupted.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config { .. } | Error::Data { .. } | Error::Output { .. } => 2,
            Error::Resume { .. } | Error::RunDir { .. } => 2,
            Error::Diverged { .. } | Error::SolverFailed { .. } => 3,
            Error::Interrupted { .. } => 130,
        }
    }

    /// Run status written to `summary.json` when a run ends with this error.
    pub fn status(&self) -> crate::io::summary::Status {
        use crate::io::summary::Status;
        match self {
            Error::Diverged { .. } => Status::Diverged,
            Error::SolverFailed { .. } => Status::SolverFailed,
            Error::Interrupted { .. } => Status::Interrupted,
            _ => Status::Failed,
        }
    }

    /// Shorthand for a config error.
    pub fn config(
        file: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Config {
            file: file.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// Shorthand for a data-file error.
    pub fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Shorthand for an output error.
    pub fn output(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Output {
            path: path.into(),
            source,
        }
    }
}

/// Result alias of the library.
pub type Result<T> = std::result::Result<T, Error>;
