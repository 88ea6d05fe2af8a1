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
    /// The config's `name` (the default output directory is `runs/<name>/`).
    pub name: String,
    /// The config's `kind`: "perceptron", "learning" or "landscape".
    pub kind: String,
    /// Where the run stands ("running" until it ends).
    pub status: Status,
    /// Path of the config file, as given.
    pub config_file: String,
    /// 16 hex digits: FNV-1a hash of the parsed config and of every file it names; a
    /// resume must match it.
    pub config_hash: String,
    /// The config echoed as parsed.
    pub config: serde_json::Value,
    /// The master seed; every random stream of the run derives from it.
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
    /// [`Summary::config_hash`] of the run that wrote it.
    pub config_hash: String,
    /// Time of output row `rows`.
    pub t: f64,
    /// Data rows of trajectory.csv (header not counted) that the state follows.
    pub rows: u64,
    /// The stepper's state after that row, enough to continue the run bit for bit.
    pub state: S,
}

/// `solver` in `summary.json`: the method and the work it did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SolverReport {
    /// Method name, e.g. "dopri5", "rodas4", "stochastic" or "two-phase, ...".
    pub method: String,
    /// Why this method (when it was chosen for the user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Relative tolerance (used by adaptive methods; absent in stochastic mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtol: Option<f64>,
    /// Absolute tolerance (used by adaptive methods; absent in stochastic mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atol: Option<f64>,
    /// Steps accepted (fixed-point: sweeps), over the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_steps: Option<u64>,
    /// Steps rejected by the error control (0 for rk4 and fixed-point).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_steps: Option<u64>,
    /// Evaluations of dy/dt, finite-difference Jacobians of Rosenbrock methods included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rhs_evals: Option<u64>,
    /// Jacobians evaluated by a Rosenbrock method (absent for the other methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jacobians: Option<u64>,
    /// Changes of method during the run: an automatically chosen explicit method
    /// detected stiffness and the run continued with Rodas4 (docs/numerics.md §6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub switches: Vec<crate::solver::MethodSwitch>,
    /// Output times evaluated by the integrator, the start included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<u64>,
    /// Time of the last output (perceptron runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t_final: Option<f64>,
    /// Why the integration stopped: `t_end` or `steady-state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    /// Held-sample modes: samples presented and how long each was held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    /// Held-sample modes: T_p, the time each sample was held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentation: Option<f64>,
    /// Stochastic mode: step size, its decay (null when constant), batch, steps.
    #[serde(default, skip_serializing_if = "Option::is_none", flatten)]
    pub stochastic: Option<StochasticReport>,
}

/// The stochastic part of a [`SolverReport`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StochasticReport {
    /// Base step eta (docs/theory.md §2.4).
    pub eta: f64,
    /// d of eta_k = eta / (1 + k / d); null when eta is constant.
    pub eta_decay: Option<f64>,
    /// Samples per step.
    pub batch: usize,
    /// Steps taken.
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
            jacobians: (stats.jacobians > 0).then_some(stats.jacobians),
            outputs: Some(stats.outputs),
            ..Default::default()
        }
    }
}
