//! Learning specs: [`LearningSpec::builder`] builds one in code (the data, W0 and the
//! end time, then optional settings with the config's defaults);
//! [`LearningSpec::from_config`] parses, validates and calls the builder.

use crate::analysis::Spectrum;
use crate::data::Dataset;
use crate::dynamics::rules::{Moment, Placement, Rule};
use crate::error::Result;
use crate::experiment::{check_gains, solver_from, stream};
use crate::io::config::{
    ActivationName, Config, CoupledInput, Experiment, KindName, LearningSection, ModeKeys,
    OneOrMany, RuleName, Settle, Theta,
};
use crate::solver::{self, SolverOptions};
use nalgebra::{DMatrix, DVector};

mod builder;
pub use builder::*;

/// How the weights are driven.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// The ODE in W averaged over Sigma.
    Averaged,
    /// One (mini)batch at a time with step eta.
    Stochastic {
        /// Base step eta > 0 (time units per step; docs/theory.md §2.4).
        eta: f64,
        /// d > 0 of eta_k = eta / (1 + k / d); None: constant eta.
        decay: Option<f64>,
        /// b >= 1 fresh samples per step: C = X_k^T X_k / b.
        batch: usize,
    },
    /// Neurons and weights in one ODE (tau dz/dt, tau_w dW/dt): driven by samples each
    /// held for `presentation`, or (`averaged_input`) the average over x in
    /// Z = E[z x^T] (docs/theory.md §6.1-6.2; [`crate::dynamics::coupled`]).
    Coupled {
        /// Neuron time constant tau > 0 (config default tau_w / 100).
        tau: f64,
        /// T_p > 0: how long each sample is held (config default 10 tau); t_end must be a
        /// whole number of presentations.
        presentation: f64,
        /// True: the averaged system in (Z, W); false: held samples in (z, W).
        averaged_input: bool,
    },
    /// The slides' procedure: per sample settle z (the neuron ODE, or the closed form
    /// z* = A W x), then W += (presentation / tau_w) G(W, x, z*).
    TwoPhase {
        /// Neuron time constant tau > 0 of the settling ODE (config default tau_w / 100).
        tau: f64,
        /// T_p > 0: each sample's step is W += (T_p / tau_w) G (config default 10 tau).
        presentation: f64,
        /// True: integrate the neuron ODE until ||dz/dt|| < 1e-9 / tau; false: the
        /// closed form z* = A W x (docs/theory.md §6.3).
        ode_settling: bool,
    },
}

impl Mode {
    /// Config name.
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Averaged => "averaged",
            Mode::Stochastic { .. } => "stochastic",
            Mode::Coupled { .. } => "coupled",
            Mode::TwoPhase { .. } => "two-phase",
        }
    }
}

/// A learning experiment ready to run.
#[derive(Debug, Clone)]
pub struct LearningSpec {
    /// The input distribution: Sigma = E[x x^T] and the sampler of x.
    pub dataset: Dataset,
    /// Eigenvalues and eigenvectors phi_i of the moment the rule sees (of `samples` when
    /// given, else of Sigma): the reference of the metrics, plateau levels and saddle starts.
    pub spectrum: Spectrum,
    /// The learning rule F(W; C).
    pub rule: Rule,
    /// How the weights are driven.
    pub mode: Mode,
    /// tau_w > 0 in tau_w dW/dt = F(W; C) (docs/theory.md §2.2).
    pub tau_w: f64,
    /// W0, n1 x n0 with 1 <= n1 < n0.
    pub w0: DMatrix<f64>,
    /// Solver settings; `solver.t_end` is the run's end time.
    pub solver: SolverOptions,
    /// Master seed: every random stream (W0, samples, the fixed sample set) derives from it.
    pub seed: u64,
    /// A fixed sample set (rows) that replaces Sigma in the averaged ODE and in J:
    /// needed by nonlinear units, whose rule has no closed form over Sigma.
    pub samples: Option<DMatrix<f64>>,
    /// Why the solver method was chosen (for the summary).
    pub solver_reason: String,
}

impl LearningSpec {
    /// The second moment the averaged rule and J use: the fixed samples or Sigma.
    pub fn moment(&self) -> Moment<'_> {
        match &self.samples {
            Some(x) => Moment::Samples(x),
            None => Moment::Matrix(self.dataset.sigma()),
        }
    }

    /// Builds the spec from a config (reads every file it names): parse (done by
    /// [`Config`]), [`validate`](crate::io::config::LearningConfig::validate), then
    /// [`LearningSpec::builder`].
    pub fn from_config(cfg: &Config) -> Result<LearningSpec> {
        let Experiment::Learning(c) = &cfg.experiment else {
            return Err(cfg.wrong_kind(KindName::Learning));
        };
        let at = cfg.origin();
        c.validate(at)?;
        let (n0, n1) = (c.network.layers[0], c.network.layers[1]);
        let tanh = matches!(c.network.activation, OneOrMany::One(ActivationName::Tanh));
        let data = c.data.as_ref().expect("validated");
        let dataset = crate::experiment::dataset_from(data, at, n0, c.seed)?;
        let l = c.learning.as_ref().expect("validated");
        let init = c.init.as_ref().expect("validated");
        let w0 = match (&init.weights, init.scale, &init.saddle) {
            (Some(files), _, _) => {
                let mut w =
                    crate::experiment::weights_from_files(at, "init.weights", files, &[n0, n1])?;
                InitialWeights::Given(w.remove(0))
            }
            (None, Some(scale), _) => InitialWeights::Random { n1, scale },
            (None, None, keep) => InitialWeights::Saddle {
                n1,
                keep: keep.clone().unwrap_or_default(),
                eps: init.eps(),
            },
        };
        let beta = tanh.then(|| c.network.beta());
        let mut b = LearningSpec::builder(dataset, w0, l.t_end)
            .rule(rule_from(l, beta))
            .mode(mode_from(l))
            .tau_w(l.tau_w())
            .seed(c.seed)
            .solver(c.solver.clone().unwrap_or_default())
            .origin(at.clone());
        if let Some(n) = data.n_samples {
            b = b.n_samples(n);
        }
        b.build()
    }
}

/// The rule of a validated `[learning]` (`beta`: the gain of tanh units).
fn rule_from(l: &LearningSection, beta: Option<f64>) -> Rule {
    let gains = l.amplification.clone().map(DVector::from_vec);
    match (l.rule, beta) {
        (_, Some(beta)) => Rule::LmserTanh { beta },
        (RuleName::Lmser, None) => Rule::Lmser {
            gains,
            placement: l.placement.unwrap_or(Placement::Gradient),
        },
        (RuleName::Oja, None) => Rule::Oja,
        (RuleName::OjaWeighted, None) => {
            let a = gains.unwrap_or_default();
            let theta = match l.theta.unwrap_or_default() {
                Theta::Inverse => a.map(|v| 1.0 / v),
                Theta::Direct => a,
            };
            Rule::OjaWeighted { theta }
        }
    }
}

/// The mode of a validated `[learning]`, defaults resolved.
fn mode_from(l: &LearningSection) -> Mode {
    let (tau, presentation) = l.held().unwrap_or_default();
    match &l.mode {
        ModeKeys::Averaged => Mode::Averaged,
        ModeKeys::Stochastic { .. } => {
            let (eta, decay, batch) = l.stochastic().unwrap_or_default();
            Mode::Stochastic { eta, decay, batch }
        }
        ModeKeys::Coupled { input, .. } => Mode::Coupled {
            tau,
            presentation,
            averaged_input: input.unwrap_or_default() == CoupledInput::Averaged,
        },
        ModeKeys::TwoPhase { settle, .. } => Mode::TwoPhase {
            tau,
            presentation,
            ode_settling: settle.unwrap_or_default() == Settle::Ode,
        },
    }
}

/// `solver_reason` of a spec whose method the config names; any other reason marks
/// an automatic choice, which may switch to BDF on detected stiffness.
pub const CONFIG_CHOICE: &str = "chosen in the config";

/// The largest state dimension an automatically chosen explicit method falls back to
/// BDF at, on detected stiffness: a dense Jacobian and LU of 2048 x 2048 (32 MB,
/// ~6 GFLOP per factorisation) is the most worth switching to; beyond it the run fails with
/// the stiffness error as before (784 x 32 would need 20 GB). Automatic IMEX choices
/// (stiff coupled runs, [`stiff_choice`]) need no fallback: IMEX never stops on
/// stiffness.
pub const MAX_FALLBACK_DIM: usize = 2048;

/// tau_w / tau, and presentation / tau for held samples, from which a coupled run
/// whose config names no method runs IMEX ([`stiff_choice`]).
pub const STIFF_RATIO: f64 = 100.0;

/// The method of a coupled run (one layer or multilayer) whose config names none, and
/// why. IMEX (the neurons implicit, `jacobian` says how the split solves them, the
/// weights explicit) when tau_w / tau >= 100 and, for held samples, presentation /
/// tau >= 100 too (tau the fastest neuron time constant); otherwise Dopri5. Its steps
/// are set by tau_w, not by tau, at about one right-hand side per stage; Rodas4 pays a
/// dense Jacobian and LU per step, Dopri5 ~ tau_w / (3 tau) times more steps. Each
/// held presentation is one integration that starts with the neurons' transient after
/// the switch, which both methods resolve in about the same number of steps: IMEX
/// gains only over the rest of it (measured in docs/numerics.md §5.8 and §6: parity
/// near presentation = 100 tau, several times fewer right-hand sides at 1000 tau,
/// slower at the default 10 tau).
pub fn stiff_choice(
    tau_w: f64,
    tau: f64,
    presentation: Option<f64>,
    jacobian: &str,
) -> (solver::Method, String) {
    let ratio = tau_w / tau;
    let hold = presentation.map(|p| p / tau);
    let held = hold.map_or(String::new(), |h| format!(", presentation / tau = {h}"));
    if ratio >= STIFF_RATIO && hold.is_none_or(|h| h >= STIFF_RATIO) {
        (
            solver::Method::Imex,
            format!(
                "stiff (tau_w / tau = {ratio}{held}): IMEX, the neurons implicit ({jacobian}), \
                 the weights explicit: steps set by tau_w, not by tau"
            ),
        )
    } else {
        (
            solver::Method::Dopri5,
            format!("not stiff (tau_w / tau = {ratio}{held}; IMEX needs each >= {STIFF_RATIO})"),
        )
    }
}
