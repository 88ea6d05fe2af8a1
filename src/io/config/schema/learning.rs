//! The `[learning]` section: the keys every mode reads, and one table type per mode
//! with that mode's own keys.

use crate::dynamics::rules::Placement;
use serde::Deserialize;

/// `learning.rule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleName {
    #[default]
    /// LMSER (with optional amplification and placement).
    Lmser,
    /// Oja's subspace rule.
    Oja,
    /// Oja's weighted rule W C - Theta W C W^T W.
    OjaWeighted,
}

/// `learning.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModeName {
    #[default]
    /// The ODE in W averaged over Sigma.
    Averaged,
    /// Steps on fresh (mini)batches.
    Stochastic,
    /// Neurons and weights in one ODE.
    Coupled,
    /// Settle the neurons, then one weight step per sample.
    TwoPhase,
}

impl ModeName {
    /// Config name.
    pub fn name(self) -> &'static str {
        match self {
            ModeName::Averaged => "averaged",
            ModeName::Stochastic => "stochastic",
            ModeName::Coupled => "coupled",
            ModeName::TwoPhase => "two-phase",
        }
    }

    /// The `[learning]` keys only this mode reads.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            ModeName::Averaged => &[],
            ModeName::Stochastic => &["eta", "eta_decay", "batch"],
            ModeName::Coupled => &["tau", "presentation", "input"],
            ModeName::TwoPhase => &["tau", "presentation", "settle"],
        }
    }
}

/// `learning.theta` of Oja's weighted rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Theta {
    /// Theta = A^-1.
    #[default]
    Inverse,
    /// Theta = A.
    Direct,
}

/// `learning.input` of coupled mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoupledInput {
    /// Each sample held for `presentation`.
    #[default]
    Samples,
    /// The average over x, in Z = E[z x^T].
    Averaged,
}

/// `learning.settle` of two-phase mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Settle {
    /// Integrate the neuron ODE to its steady state.
    #[default]
    Ode,
    /// z* = A W x.
    ClosedForm,
}

/// `[learning]`: the keys every mode reads, and the chosen mode with its own keys.
#[derive(Debug, Clone)]
pub struct LearningSection {
    /// `lmser` (default), `oja` or `oja-weighted`.
    pub rule: RuleName,
    /// Time constant of the weights (default 1).
    pub tau_w: Option<f64>,
    /// End time of learning.
    pub t_end: f64,
    /// Gains a_1 > ... > a_n > 0 of the amplified outputs z = A y.
    pub amplification: Option<Vec<f64>>,
    /// Where A enters LMSER (default gradient).
    pub placement: Option<Placement>,
    /// Oja's weighted rule: Theta = A^-1 (default) or A.
    pub theta: Option<Theta>,
    /// The mode and the keys it uses.
    pub mode: ModeKeys,
}

/// `learning.mode` with the keys of that mode (defaults resolved by validation).
#[derive(Debug, Clone, PartialEq)]
pub enum ModeKeys {
    /// tau_w dW/dt = F(W; Sigma).
    Averaged,
    /// W += eta/tau_w F(W; x x^T) per (mini)batch, t advancing by eta.
    Stochastic {
        /// Step size (default 0.01).
        eta: Option<f64>,
        /// eta_k = eta / (1 + k / eta_decay) when given.
        eta_decay: Option<f64>,
        /// Minibatch size (default 1).
        batch: Option<usize>,
    },
    /// tau dz/dt and tau_w dW/dt together, samples held for `presentation`.
    Coupled {
        /// Neuron time constant (default tau_w / 100).
        tau: Option<f64>,
        /// How long each sample is held (default 10 tau).
        presentation: Option<f64>,
        /// `samples` (held, default) or `averaged` (the ODE in Z = E[z x^T]).
        input: Option<CoupledInput>,
    },
    /// Settle z for each sample, then W += (presentation / tau_w) G(W, x, z*).
    TwoPhase {
        /// Neuron time constant (default tau_w / 100).
        tau: Option<f64>,
        /// How long each sample is held (default 10 tau).
        presentation: Option<f64>,
        /// `ode` (the neuron ODE to steady state, default) or `closed-form` (z* = A W x).
        settle: Option<Settle>,
    },
}

impl ModeKeys {
    /// The mode's name.
    pub fn name(&self) -> ModeName {
        match self {
            ModeKeys::Averaged => ModeName::Averaged,
            ModeKeys::Stochastic { .. } => ModeName::Stochastic,
            ModeKeys::Coupled { .. } => ModeName::Coupled,
            ModeKeys::TwoPhase { .. } => ModeName::TwoPhase,
        }
    }
}

/// One `[learning]` table type per mode: the shared keys plus that mode's keys, so a
/// key of another mode is an unknown field at its own line.
macro_rules! mode_table {
    ($table:ident { $($key:ident: $ty:ty),* } => $keys:expr) => {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(in crate::io::config) struct $table {
            #[serde(default)]
            rule: RuleName,
            #[serde(default, rename = "mode")]
            _mode: ModeName,
            tau_w: Option<f64>,
            t_end: f64,
            amplification: Option<Vec<f64>>,
            placement: Option<Placement>,
            theta: Option<Theta>,
            $($key: $ty,)*
        }

        impl From<$table> for LearningSection {
            fn from(table: $table) -> LearningSection {
                let $table { rule, _mode, tau_w, t_end, amplification, placement, theta, $($key,)* } = table;
                LearningSection { rule, tau_w, t_end, amplification, placement, theta, mode: $keys }
            }
        }
    };
}

mode_table! { AveragedTable {} => ModeKeys::Averaged }
mode_table! {
    StochasticTable { eta: Option<f64>, eta_decay: Option<f64>, batch: Option<usize> }
        => ModeKeys::Stochastic { eta, eta_decay, batch }
}
mode_table! {
    CoupledTable { tau: Option<f64>, presentation: Option<f64>, input: Option<CoupledInput> }
        => ModeKeys::Coupled { tau, presentation, input }
}
mode_table! {
    TwoPhaseTable { tau: Option<f64>, presentation: Option<f64>, settle: Option<Settle> }
        => ModeKeys::TwoPhase { tau, presentation, settle }
}

/// The second step for learning configs: the mode, to pick `[learning]`'s table type.
#[derive(Debug, Deserialize)]
pub(in crate::io::config) struct ModeHead {
    pub learning: Option<ModeOnly>,
}

/// `learning.mode` alone.
#[derive(Debug, Deserialize)]
pub(in crate::io::config) struct ModeOnly {
    #[serde(default)]
    pub mode: ModeName,
}

impl LearningSection {
    /// `tau_w` (default 1).
    pub fn tau_w(&self) -> f64 {
        self.tau_w.unwrap_or(1.0)
    }

    /// Stochastic mode's eta (default 0.01), eta_decay and batch (default 1).
    pub fn stochastic(&self) -> Option<(f64, Option<f64>, usize)> {
        match self.mode {
            ModeKeys::Stochastic {
                eta,
                eta_decay,
                batch,
            } => Some((eta.unwrap_or(0.01), eta_decay, batch.unwrap_or(1))),
            _ => None,
        }
    }

    /// Coupled and two-phase modes' tau (default tau_w / 100) and presentation
    /// (default 10 tau).
    pub fn held(&self) -> Option<(f64, f64)> {
        let (tau, presentation) = match self.mode {
            ModeKeys::Coupled {
                tau, presentation, ..
            }
            | ModeKeys::TwoPhase {
                tau, presentation, ..
            } => (tau, presentation),
            _ => return None,
        };
        let tau = tau.unwrap_or(self.tau_w() / 100.0);
        Some((tau, presentation.unwrap_or(10.0 * tau)))
    }
}
