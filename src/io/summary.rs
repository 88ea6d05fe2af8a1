//! The typed output contract of a run directory: `summary.json` ([`Summary`] with
//! its [`Status`]) and `checkpoint.json` ([`Checkpoint`]).

use serde::{Deserialize, Serialize};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The run is in progress (or was killed).
    Running,
    /// It reached its end.
    Finished,
    /// A state left the divergence bound or became non-finite.
    Diverged,
    /// The integrator gave up.
    SolverFailed,
    /// Stopped by Ctrl-C / SIGTERM.
    Interrupted,
    /// Any other error after the run directory existed (e.g. a refused resume).
    Failed,
}

impl Status {
    /// The name written to `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Finished => "finished",
            Status::Diverged => "diverged",
            Status::SolverFailed => "solver-failed",
            Status::Interrupted => "interrupted",
            Status::Failed => "failed",
        }
    }
}

/// `summary.json`: the run's identity and status, then the kind's results
/// (flattened: `theorem1`, `learning`, `landscape`, `final`, `solver`, ...).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub name: String,
    pub kind: String,
    pub status: Status,
    pub config_file: String,
    pub config_hash: String,
    /// The config echoed as parsed.
    pub config: serde_json::Value,
    pub seed: u64,
    /// Time of the checkpoint a resumed run continued from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_from_t: Option<f64>,
    /// Wall-clock seconds of the run (set when it ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_time_s: Option<f64>,
    /// The error that ended the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The time a run that stopped early reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t_reached: Option<f64>,
    /// The kind's typed results, each serialized under its own key.
    #[serde(flatten)]
    pub results: serde_json::Map<String, serde_json::Value>,
}

/// `checkpoint.json`: the state after output row `rows` (at time `t`) of the run of
/// the config with hash `config_hash`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint<S> {
    pub config_hash: String,
    pub t: f64,
    pub rows: u64,
    pub state: S,
}

/// `solver` in `summary.json`: the method and the work it did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SolverReport {
    pub method: String,
    /// Why this method (when it was chosen for the user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtol: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atol: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_steps: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_steps: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rhs_evals: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t_final: Option<f64>,
    /// Why the integration stopped: `t_end` or `steady-state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    /// Held-sample modes: samples presented and how long each was held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentation: Option<f64>,
    /// Stochastic mode: step size, its decay (null when constant), batch, steps.
    #[serde(default, skip_serializing_if = "Option::is_none", flatten)]
    pub stochastic: Option<StochasticReport>,
}

/// The stochastic part of a [`SolverReport`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StochasticReport {
    pub eta: f64,
    pub eta_decay: Option<f64>,
    pub batch: usize,
    pub steps: u64,
}

impl SolverReport {
    /// The method, tolerances and counters of an ODE integration.
    pub fn of(opts: &crate::solver::SolverOptions, stats: &crate::solver::SolverStats) -> Self {
        SolverReport {
            method: opts.method.name().into(),
            rtol: Some(opts.rtol),
            atol: Some(opts.atol),
            accepted_steps: Some(stats.accepted_steps),
            rejected_steps: Some(stats.rejected_steps),
            rhs_evals: Some(stats.rhs_evals),
            outputs: Some(stats.outputs),
            ..Default::default()
        }
    }
}
