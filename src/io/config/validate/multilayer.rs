//! Value checks of multilayer learning configs.

use super::{check_layer_sizes, positive};
use crate::error::Result;
use crate::io::config::{ActivationName, MultilayerConfig, MultilayerMode, Origin};

impl MultilayerConfig {
    /// Every value check of a multilayer config (file contents are checked when read).
    pub fn validate(&self, at: &Origin) -> Result<()> {
        let layers = &self.network.layers;
        if layers.len() < 2 || layers.contains(&0) {
            return Err(at.err(
                "network.layers",
                format!("need [n0, n1, ..., nK] with every size >= 1 (got {layers:?})"),
            ));
        }
        check_layer_sizes(at, layers)?;
        let k = layers.len() - 1;
        let acts = self.network.activation.expand(k).ok_or_else(|| {
            at.err(
                "network.activation",
                format!("give one activation or one per layer ({k})"),
            )
        })?;
        if acts.contains(&ActivationName::Amplified) {
            return Err(at.err(
                "network.activation",
                "multilayer nets use linear, logistic or tanh units",
            ));
        }
        if let Some(b) = self.network.beta {
            positive(at, "network.beta", b)?;
        }
        self.validate_data(at)?;
        if let Some(init) = &self.init {
            match (&init.weights, init.scale) {
                (Some(_), Some(_)) => {
                    return Err(at.err("init", "give weights or scale, not both"));
                }
                (None, Some(s)) => {
                    positive(at, "init.scale", s)?;
                }
                _ => {}
            }
        }
        self.validate_learning(at)?;
        if let Some(s) = &self.solver
            && s.t_end.is_some()
        {
            return Err(at.err(
                "solver.t_end",
                "learning runs take t_end from [learning]; remove it",
            ));
        }
        Ok(())
    }

    fn validate_learning(&self, at: &Origin) -> Result<()> {
        let l = &self.learning;
        positive(at, "learning.t_end", l.t_end)?;
        if let Some(t) = l.tau_w {
            positive(at, "learning.tau_w", t)?;
        }
        let (mode, held) = (
            l.mode,
            matches!(l.mode, MultilayerMode::TwoPhase | MultilayerMode::Coupled),
        );
        let uses = [
            (
                "eta",
                l.eta.is_some(),
                mode == MultilayerMode::Stochastic,
                "stochastic",
            ),
            (
                "batch",
                l.batch.is_some(),
                mode != MultilayerMode::Averaged,
                "stochastic, two-phase or coupled",
            ),
            (
                "tau",
                l.tau.is_some(),
                mode == MultilayerMode::Coupled,
                "coupled",
            ),
            (
                "presentation",
                l.presentation.is_some(),
                held,
                "two-phase or coupled",
            ),
        ];
        for (key, given, used, modes) in uses {
            if given && !used {
                return Err(at.err(
                    &format!("learning.{key}"),
                    format!("is used by mode = {modes} only; remove it"),
                ));
            }
        }
        for &v in l.tau.as_ref().map_or(&[][..], |t| t.values()) {
            positive(at, "learning.tau", v)?;
        }
        if let Some(v) = l.presentation {
            positive(at, "learning.presentation", v)?;
        }
        if let Some(e) = l.eta {
            positive(at, "learning.eta", e)?;
        }
        if let Some(d) = l.eta_decay {
            positive(at, "learning.eta_decay", d)?;
        }
        if l.batch == Some(0) {
            return Err(at.err("learning.batch", "must be at least 1"));
        }
        if l.supervised && self.data.samples.is_some() {
            return Err(at.err(
                "learning.supervised",
                "needs labels: use dataset = \"digits\" or images + labels",
            ));
        }
        Ok(())
    }

    fn validate_data(&self, at: &Origin) -> Result<()> {
        let d = &self.data;
        let given = [d.dataset.is_some(), d.images.is_some(), d.samples.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(at.err(
                "data",
                "give exactly one of dataset = \"digits\", images = \"...\" (with labels), samples = \"x.csv\"",
            ));
        }
        if d.images.is_some() != d.labels.is_some() {
            return Err(at.err(
                "data.labels",
                "images and labels go together; give both IDX files",
            ));
        }
        if let Some(f) = d.test_fraction
            && !(0.0..1.0).contains(&f)
        {
            return Err(at.err("data.test_fraction", format!("must be in [0, 1) (got {f})")));
        }
        if d.n_train == Some(0) {
            return Err(at.err("data.n_train", "must be at least 1"));
        }
        Ok(())
    }
}
