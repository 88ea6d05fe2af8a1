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
        eta: f64,
        decay: Option<f64>,
        batch: usize,
    },
    /// Neurons and weights in one ODE (tau dz/dt, tau_w dW/dt): driven by samples each
    /// held for `presentation`, or (`averaged_input`) the average over x in
    /// Z = E[z x^T] (THEORY.md sections 1-2; [`crate::dynamics::coupled`]).
    Coupled {
        tau: f64,
        presentation: f64,
        averaged_input: bool,
    },
    /// The slides' procedure: per sample settle z (the neuron ODE, or the closed form
    /// z* = A W x), then W += (presentation / tau_w) G(W, x, z*).
    TwoPhase {
        tau: f64,
        presentation: f64,
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
    pub dataset: Dataset,
    pub spectrum: Spectrum,
    pub rule: Rule,
    pub mode: Mode,
    pub tau_w: f64,
    pub w0: DMatrix<f64>,
    pub solver: SolverOptions,
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

/// The method for a coupled z-W system of dimension `dim` with stiffness ratio
/// tau_w / tau, and why. Rodas4 needs ~30x fewer steps than Dopri5 at ratio 1000, but
/// each of its steps builds a dense Jacobian (dim + 2 right-hand sides) and an LU:
/// measured faster up to dim ~ 100 (tests/coupled.rs), slower beyond.
pub fn stiff_choice(ratio: f64, dim: usize) -> (solver::Method, String) {
    if ratio >= 100.0 && dim <= 100 {
        (
            solver::Method::Rodas4,
            format!(
                "stiff (tau_w / tau = {ratio}) and small (dim {dim} <= 100): Rosenbrock steps are set by accuracy, not stability"
            ),
        )
    } else if ratio >= 100.0 {
        (
            solver::Method::Dopri5,
            format!(
                "stiff (tau_w / tau = {ratio}) but dim {dim} > 100: a dense Jacobian per step costs more than the explicit method's extra steps"
            ),
        )
    } else {
        (
            solver::Method::Dopri5,
            format!("not stiff (tau_w / tau = {ratio} < 100)"),
        )
    }
}
