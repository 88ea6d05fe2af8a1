//! Value checks of learning configs.

use super::{
    MAX_LEARNING_N0, check_gains, check_held, check_layer_sizes, check_n_samples, check_saddle,
    check_stochastic, missing_data, positive,
};
use crate::error::Result;
use crate::io::config::Origin;
use crate::io::config::schema::*;
use crate::solver::Method;

impl LearningConfig {
    /// Every value check of a learning config: `[network]`, `[data]`, `[learning]`
    /// (rule, then mode), `[init]`, `[solver]`.
    pub fn validate(&self, at: &Origin) -> Result<()> {
        let (n0, n1, tanh) = self.network.validate(at)?;
        missing_data(at, self.data.as_ref())?.validate(at, n0)?;
        let l = self
            .learning
            .as_ref()
            .ok_or_else(|| at.err("learning", "missing [learning] section (rule, mode, t_end)"))?;
        l.validate(at, n0, n1, tanh)?;
        match (tanh, self.data.as_ref().and_then(|d| d.n_samples)) {
            (false, Some(_)) => {
                return Err(at.err("data.n_samples", "is only used by tanh units; remove it"));
            }
            (true, n) => check_n_samples(at, n.unwrap_or(2000), n0)?,
            (false, None) => {}
        }
        let init = self.init.as_ref().ok_or_else(|| {
            at.err(
                "init",
                "missing [init]; give weights = [file], scale, or saddle",
            )
        })?;
        init.validate(at, n0, n1)?;
        self.solver
            .clone()
            .unwrap_or_default()
            .validate_learning(at, l.t_end)
    }
}

impl SolverSection {
    /// `[solver]` of learning runs, which end at `t_end` of `[learning]` and integrate
    /// ODEs.
    pub fn validate_learning(&self, at: &Origin, t_end: f64) -> Result<()> {
        if self.t_end.is_some() {
            return Err(at.err(
                "solver.t_end",
                "learning runs take t_end from [learning]; remove it",
            ));
        }
        self.validate(at, Some(t_end))?;
        if self.method == Some(Method::FixedPoint) {
            return Err(at.err(
                "solver.method",
                "fixed-point iterates the neuron dynamics of perceptron runs; use an ODE method",
            ));
        }
        Ok(())
    }
}

impl LearningNetwork {
    /// One layer [n0, n1] with n1 < n0 of linear or tanh units. Returns n0, n1 and
    /// whether the units are tanh.
    pub fn validate(&self, at: &Origin) -> Result<(usize, usize, bool)> {
        let layers = &self.layers;
        if layers.len() != 2 || layers.contains(&0) {
            return Err(at.err(
                "network.layers",
                format!("learning runs need one layer: [n0, n1] with n0, n1 >= 1 (got {layers:?})"),
            ));
        }
        let (n0, n1) = (layers[0], layers[1]);
        check_layer_sizes(at, layers)?;
        if n0 > MAX_LEARNING_N0 {
            return Err(at.err(
                "network.layers",
                format!("n0 = {n0} is too large for a dense Sigma (limit {MAX_LEARNING_N0})"),
            ));
        }
        if n1 >= n0 {
            return Err(at.err(
                "network.layers",
                format!("principal subspace analysis needs n1 < n0 (got n0 = {n0}, n1 = {n1})"),
            ));
        }
        let tanh = match &self.activation {
            OneOrMany::One(ActivationName::Linear) => false,
            OneOrMany::One(ActivationName::Tanh) => {
                positive(at, "network.beta", self.beta.unwrap_or(1.0))?;
                true
            }
            _ => {
                return Err(at.err(
                    "network.activation",
                    "learning runs use \"linear\" units (amplify them with learning.amplification) or \"tanh\"",
                ));
            }
        };
        if self.beta.is_some() && !tanh {
            return Err(at.err("network.beta", "is only used by tanh units; remove it"));
        }
        Ok((n0, n1, tanh))
    }

    /// The gain beta of tanh units (default 1).
    pub fn beta(&self) -> f64 {
        self.beta.unwrap_or(1.0)
    }
}

impl LearningSection {
    /// `[learning]` of a net [n0, n1] (tanh: whether its units are tanh).
    pub fn validate(&self, at: &Origin, n0: usize, n1: usize, tanh: bool) -> Result<()> {
        positive(at, "learning.t_end", self.t_end)?;
        positive(at, "learning.tau_w", self.tau_w())?;
        if let Some(a) = &self.amplification {
            check_gains(at, "learning.amplification", a, n1)?;
        }
        let amplified = self.amplification.is_some();
        if self.placement.is_some() && (self.rule != RuleName::Lmser || !amplified) {
            return Err(at.err(
                "learning.placement",
                "applies to rule = \"lmser\" with amplification = [...]; remove it or add them",
            ));
        }
        if self.theta.is_some() && self.rule != RuleName::OjaWeighted {
            return Err(at.err(
                "learning.theta",
                "applies to rule = \"oja-weighted\" only; remove it",
            ));
        }
        match self.rule {
            RuleName::Oja if amplified => {
                return Err(at.err(
                    "learning.amplification",
                    "Oja's subspace rule has no amplification; use rule = \"oja-weighted\"",
                ));
            }
            RuleName::OjaWeighted if !amplified => {
                return Err(at.err(
                    "learning.amplification",
                    "oja-weighted needs amplification = [a_1, ...]",
                ));
            }
            _ => {}
        }
        let plain_lmser = self.rule == RuleName::Lmser && !amplified;
        if tanh && !plain_lmser {
            return Err(at.err(
                "learning.rule",
                "tanh units learn with plain rule = \"lmser\" (no amplification, placement or Oja)",
            ));
        }
        if let Some((eta, decay, batch)) = self.stochastic() {
            check_stochastic(at, eta, decay, batch, n0)?;
        }
        if let Some((tau, presentation)) = self.held() {
            let gradient = self
                .placement
                .is_none_or(|p| p == crate::dynamics::rules::Placement::Gradient);
            if tanh || self.rule != RuleName::Lmser || !gradient {
                return Err(held_rule(at));
            }
            check_held(at, tau, presentation, self.t_end)?;
        }
        Ok(())
    }
}

/// Coupled and two-phase modes run plain or gradient-amplified LMSER.
pub fn held_rule(at: &Origin) -> crate::Error {
    at.err(
        "learning.rule",
        "coupled and two-phase modes run the slides' LMSER rule with linear units \
         (amplified units: placement = \"gradient\")",
    )
}

impl InitSection {
    /// `[init]` of a net [n0, n1]: exactly one of weights, scale, saddle.
    pub fn validate(&self, at: &Origin, n0: usize, n1: usize) -> Result<()> {
        let chosen = [
            self.weights.is_some(),
            self.scale.is_some(),
            self.saddle.is_some(),
        ];
        if chosen.iter().filter(|&&c| c).count() != 1 {
            return Err(at.err("init", "give exactly one of weights, scale, saddle"));
        }
        if let Some(files) = &self.weights
            && files.len() != 1
        {
            return Err(at.err(
                "init.weights",
                format!(
                    "lists {} files but the net has 1 weight matrices",
                    files.len()
                ),
            ));
        }
        if let Some(scale) = self.scale {
            positive(at, "init.scale", scale)?;
        }
        if let Some(keep) = &self.saddle {
            check_saddle(at, keep, self.eps(), n0, n1)?;
        }
        Ok(())
    }

    /// The perturbation of a saddle start (default 1e-6).
    pub fn eps(&self) -> f64 {
        self.eps.unwrap_or(1e-6)
    }
}
