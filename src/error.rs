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
        /// Where the value came from: the config file as shown, or the code that took it
        /// (e.g. "LearningSpec::builder", "network").
        file: String,
        /// The key at fault, e.g. "learning.tau_w" or "solver.rtol".
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A data file (CSV) could not be read or has the wrong shape or content.
    #[error("{}: {message}", path.display())]
    Data {
        /// The data file.
        path: PathBuf,
        /// What is wrong (row, column or shape) and how to fix it.
        message: String,
    },
    /// An output file or directory could not be written.
    #[error("{}: cannot write ({source}); choose a writable directory with --out", path.display())]
    Output {
        /// The file or directory that could not be written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A state variable became non-finite or exceeded the divergence bound.
    #[error("diverged at t = {time}: {quantity} = {value:e}; {hint}")]
    Diverged {
        /// Simulation time at which it was detected (sweeps for the fixed-point method).
        time: f64,
        /// The offending component, e.g. `z1_3`, `W[2,5]` or `dz1_3/dt`.
        quantity: String,
        /// Its value: NaN, infinite, or beyond the divergence bound in magnitude.
        value: f64,
        /// A likely cause and fix (for linear units, the smallest eigenvalue of I - T).
        hint: String,
    },
    /// The integrator gave up (step-size underflow, too many steps, stiffness).
    #[error("solver failed at t = {time}: {reason}; {hint}")]
    SolverFailed {
        /// Simulation time reached when the solver gave up.
        time: f64,
        /// What failed, e.g. step-size underflow or more than max_steps in one output interval.
        reason: String,
        /// A suggested fix, e.g. raise solver.max_steps or loosen solver.rtol.
        hint: String,
    },
    /// The run was interrupted (SIGINT/SIGTERM) at the given time.
    #[error("interrupted at t = {time}")]
    Interrupted {
        /// Simulation time at which the run stopped.
        time: f64,
    },
    /// The output directory holds another run or files a run does not write.
    #[error("{}: {message}", dir.display())]
    RunDir {
        /// The output directory.
        dir: PathBuf,
        /// What it holds (nothing was changed) and what to do: `--out`, `--force`, `--resume`.
        message: String,
    },
    /// A resume was asked for a directory that cannot be resumed.
    #[error("{}: cannot resume: {message}", dir.display())]
    Resume {
        /// The run directory ("." from steppers, which do not know it; the executor
        /// puts the real one).
        dir: PathBuf,
        /// Why it cannot be resumed, e.g. a checkpoint of another config or mode.
        message: String,
    },
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
