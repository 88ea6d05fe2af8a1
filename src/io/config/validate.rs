//! Value checks of parsed configs, one `validate()` per section and per kind, run
//! after parsing and before anything is built or read. They check what the types
//! cannot: ranges, sizes, list lengths, exactly-one-of choices and keys that only
//! apply together. Files named by a config are checked when they are read. The small
//! checks at the top are shared with the spec builders, which check values given in
//! code the same way.

use super::Origin;
use super::schema::*;
use crate::error::Result;
use crate::solver::Method;

/// Largest weight matrix accepted (entries): 2^28 doubles = 2 GiB.
pub const MAX_WEIGHTS: usize = 1 << 28;

/// Largest n0 a landscape enumerates (the number of subsets grows like C(n0, n1)).
pub const MAX_LANDSCAPE_N0: usize = 14;

/// Largest n0 of learning runs (Sigma is dense).
pub const MAX_LEARNING_N0: usize = 1 << 14;

/// Checks that a number is finite and positive.
pub fn positive(at: &Origin, field: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(at.err(field, format!("must be a finite number > 0 (got {v})")))
    }
}

/// Checks that a number is finite and >= 0.
pub fn non_negative(at: &Origin, field: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(at.err(field, format!("must be a finite number >= 0 (got {v})")))
    }
}

/// Gains a_1 > a_2 > ... > a_n > 0, one per unit.
pub fn check_gains(at: &Origin, field: &str, gains: &[f64], units: usize) -> Result<()> {
    if gains.len() != units {
        return Err(at.err(
            field,
            format!(
                "has {} gains but the layer has {units} units; give one per unit",
                gains.len()
            ),
        ));
    }
    let ok =
        gains.iter().all(|g| g.is_finite() && *g > 0.0) && gains.windows(2).all(|w| w[0] > w[1]);
    if !ok {
        return Err(at.err(
            field,
            "gains must be positive and strictly decreasing (a_1 > a_2 > ... > 0)",
        ));
    }
    Ok(())
}

/// Rejects layer sizes whose weight matrices would not fit in memory.
pub fn check_layer_sizes(at: &Origin, layers: &[usize]) -> Result<()> {
    for w in layers.windows(2) {
        if w[0].saturating_mul(w[1]) > MAX_WEIGHTS {
            return Err(at.err(
                "network.layers",
                format!(
                    "a {} x {} weight matrix is too large (limit {MAX_WEIGHTS} entries)",
                    w[1], w[0]
                ),
            ));
        }
    }
    Ok(())
}

/// n finite values.
pub fn check_values(at: &Origin, field: &str, v: &[f64], n: usize) -> Result<()> {
    if v.len() != n {
        return Err(at.err(field, format!("has {} values but needs {n}", v.len())));
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(at.err(field, "contains NaN or inf; give finite values"));
    }
    Ok(())
}

/// Stochastic mode: step eta > 0, decay > 0, 1 <= batch with batch x n0 bounded.
pub fn check_stochastic(
    at: &Origin,
    eta: f64,
    decay: Option<f64>,
    batch: usize,
    n0: usize,
) -> Result<()> {
    positive(at, "learning.eta", eta)?;
    if let Some(d) = decay {
        positive(at, "learning.eta_decay", d)?;
    }
    match batch {
        0 => Err(at.err("learning.batch", "must be >= 1")),
        b if b.saturating_mul(n0) > MAX_WEIGHTS => Err(at.err(
            "learning.batch",
            format!("a batch of {b} samples is too large (batch x n0 <= {MAX_WEIGHTS})"),
        )),
        _ => Ok(()),
    }
}

/// Coupled and two-phase modes: tau > 0 and t_end a whole number (at most 1e7) of
/// presentations.
pub fn check_held(at: &Origin, tau: f64, presentation: f64, t_end: f64) -> Result<()> {
    positive(at, "learning.tau", tau)?;
    positive(at, "learning.presentation", presentation)?;
    let samples = t_end / presentation;
    if (samples - samples.round()).abs() > 1e-9 * samples.max(1.0) {
        return Err(at.err(
            "learning.presentation",
            format!("t_end = {t_end} is not a whole number of presentations of {presentation}; make t_end a multiple of it"),
        ));
    }
    if samples > 1e7 {
        return Err(at.err(
            "learning.presentation",
            format!("t_end / presentation = {samples:.1e} samples is too many (limit 1e7)"),
        ));
    }
    Ok(())
}

/// A saddle start: at most n1 distinct eigenvector indices in 1..=n0, eps >= 0.
pub fn check_saddle(at: &Origin, keep: &[usize], eps: f64, n0: usize, n1: usize) -> Result<()> {
    if keep.len() > n1 || keep.iter().any(|&i| i == 0 || i > n0) {
        return Err(at.err(
            "init.saddle",
            format!("give at most n1 = {n1} distinct eigenvector indices in 1..={n0}"),
        ));
    }
    let mut sorted = keep.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != keep.len() {
        return Err(at.err("init.saddle", "indices must be distinct"));
    }
    non_negative(at, "init.eps", eps)?;
    Ok(())
}

/// The fixed sample set of tanh units: 1 <= n with n x n0 bounded.
pub fn check_n_samples(at: &Origin, n: usize, n0: usize) -> Result<()> {
    if n == 0 || n.saturating_mul(n0) > MAX_WEIGHTS {
        return Err(at.err(
            "data.n_samples",
            format!("must be >= 1 with n_samples x n0 <= {MAX_WEIGHTS}"),
        ));
    }
    Ok(())
}

impl PerceptronConfig {
    /// Every value check of a perceptron config.
    pub fn validate(&self, at: &Origin) -> Result<()> {
        self.network.validate(at)?;
        let input = self.input.as_ref().ok_or_else(|| {
            at.err(
                "input",
                "missing [input]; give x = [...] or a CSV file, or scale",
            )
        })?;
        input.validate(at, self.network.layers[0])?;
        let solver = self
            .solver
            .as_ref()
            .ok_or_else(|| at.err("solver", "missing [solver] section; give at least t_end"))?;
        solver.validate(at, None)?;
        if let Some(InitialSection {
            z: VectorSource::Inline(z),
        }) = &self.initial
        {
            let layers = &self.network.layers;
            let free = match self.network.label {
                Some(_) => &layers[1..layers.len() - 1],
                None => &layers[1..],
            };
            check_values(at, "initial.z", z, free.iter().sum())?;
        }
        Ok(())
    }
}

impl NetworkSection {
    /// `[network]` of perceptron runs.
    pub fn validate(&self, at: &Origin) -> Result<()> {
        let layers = &self.layers;
        if layers.len() < 2 {
            return Err(at.err(
                "network.layers",
                "needs at least two sizes [n_0, n_1, ...] (input and one layer)",
            ));
        }
        if let Some(i) = layers.iter().position(|&s| s == 0) {
            return Err(at.err(
                "network.layers",
                format!("layer {i} has size 0; every layer needs at least one unit"),
            ));
        }
        check_layer_sizes(at, layers)?;
        let k = layers.len() - 1;
        self.validate_activations(at)?;
        let tau = self.tau.expand(k).ok_or_else(|| {
            at.err(
                "network.tau",
                format!("give one tau or one per layer ({k})"),
            )
        })?;
        for t in tau {
            positive(at, "network.tau", t)?;
        }
        match (&self.weights, &self.init) {
            (Some(_), Some(_)) => {
                return Err(at.err(
                    "network.init",
                    "give either weights (files) or init, not both",
                ));
            }
            (Some(files), None) if files.len() != k => {
                return Err(at.err(
                    "network.weights",
                    format!(
                        "lists {} files but the net has {k} weight matrices",
                        files.len()
                    ),
                ));
            }
            (None, Some(init)) => {
                positive(at, "network.init.scale", init.scale)?;
            }
            (None, None) => {
                return Err(at.err(
                    "network.weights",
                    "missing; give weight files or init = { scale = ... }",
                ));
            }
            _ => {}
        }
        if let Some(label) = &self.label {
            if k < 2 {
                return Err(at.err(
                    "network.label",
                    "a clamped top layer needs at least two layers above the input",
                ));
            }
            if let VectorSource::Inline(v) = label {
                check_values(at, "network.label", v, layers[k])?;
            }
        }
        Ok(())
    }

    /// `activation`, with the `beta` and `gains` the activations use (and no other).
    fn validate_activations(&self, at: &Origin) -> Result<()> {
        let k = self.layers.len() - 1;
        let names = self.activation.expand(k).ok_or_else(|| {
            at.err(
                "network.activation",
                format!("give one activation or one per layer ({k})"),
            )
        })?;
        for (i, name) in names.iter().enumerate() {
            match name {
                ActivationName::Tanh => {
                    positive(at, "network.beta", self.beta.unwrap_or(1.0))?;
                }
                ActivationName::Amplified => {
                    let gains = self.gains.as_ref().ok_or_else(|| {
                        at.err(
                            "network.gains",
                            "amplified units need gains = [a_1, ..., a_n]",
                        )
                    })?;
                    check_gains(at, "network.gains", gains, self.layers[i + 1])?;
                }
                ActivationName::Linear | ActivationName::Logistic => {}
            }
        }
        if self.beta.is_some() && !names.contains(&ActivationName::Tanh) {
            return Err(at.err("network.beta", "is only used by tanh units; remove it"));
        }
        if self.gains.is_some() && !names.contains(&ActivationName::Amplified) {
            return Err(at.err(
                "network.gains",
                "is only used by amplified units; remove it",
            ));
        }
        Ok(())
    }
}

impl InputSection {
    /// `[input]`: exactly one of x, scale; `n0` inputs.
    pub fn validate(&self, at: &Origin, n0: usize) -> Result<()> {
        match (&self.x, self.scale) {
            (Some(VectorSource::Inline(x)), None) => check_values(at, "input.x", x, n0),
            (Some(VectorSource::File(_)), None) => Ok(()),
            (None, Some(scale)) => positive(at, "input.scale", scale).map(|_| ()),
            _ => Err(at.err(
                "input",
                "give exactly one of x (values or file) or scale (random)",
            )),
        }
    }
}

impl SolverSection {
    /// `[solver]`. `t_end` is the end time when it comes from another section
    /// (learning runs); otherwise `solver.t_end` is required.
    pub fn validate(&self, at: &Origin, t_end: Option<f64>) -> Result<()> {
        let t_end = match (t_end, self.t_end) {
            (Some(t), _) => t,
            (None, Some(t)) => positive(at, "solver.t_end", t)?,
            (None, None) => return Err(at.err("solver.t_end", "missing; give the end time")),
        };
        for (field, v) in [("solver.rtol", self.rtol), ("solver.atol", self.atol)] {
            if let Some(v) = v {
                positive(at, field, v)?;
            }
        }
        let output_dt = positive(
            at,
            "solver.output_dt",
            self.output_dt.unwrap_or(t_end / 200.0),
        )?;
        if output_dt > t_end {
            return Err(at.err("solver.output_dt", format!("must be <= t_end = {t_end}")));
        }
        if t_end / output_dt > 1e8 {
            return Err(at.err(
                "solver.output_dt",
                format!(
                    "t_end / output_dt = {:.1e} output rows is too many (limit 1e8); raise output_dt",
                    t_end / output_dt
                ),
            ));
        }
        positive(at, "solver.step", self.step.unwrap_or(output_dt / 10.0))?;
        if self.max_steps == Some(0) {
            return Err(at.err("solver.max_steps", "must be >= 1"));
        }
        if let Some(v) = self.steady_tol {
            non_negative(at, "solver.steady_tol", v)?;
        }
        if let Some(v) = self.divergence_bound {
            positive(at, "solver.divergence_bound", v)?;
        }
        if let Some(v) = self.checkpoint_interval
            && !(v.is_finite() && (0.0..=1e6).contains(&v))
        {
            return Err(at.err(
                "solver.checkpoint_interval",
                format!("must be a number of seconds in [0, 1e6] (got {v})"),
            ));
        }
        if self.method == Some(Method::FixedPoint) {
            for (field, v) in [("solver.t_end", t_end), ("solver.output_dt", output_dt)] {
                if v.fract() != 0.0 {
                    return Err(at.err(field, "counts sweeps for fixed-point; give a whole number"));
                }
            }
        }
        Ok(())
    }
}

impl DataSection {
    /// `[data]`: exactly one source; `n0` eigenvalues.
    pub fn validate(&self, at: &Origin, n0: usize) -> Result<()> {
        let given = [
            self.eigenvalues.is_some(),
            self.covariance.is_some(),
            self.samples.is_some(),
        ];
        if given.iter().filter(|&&g| g).count() != 1 {
            return Err(at.err(
                "data",
                "give exactly one of eigenvalues, covariance, samples",
            ));
        }
        if (self.rotation.is_some() || self.distribution.is_some()) && self.eigenvalues.is_none() {
            return Err(at.err(
                "data",
                "rotation and distribution apply to eigenvalues = [...] only",
            ));
        }
        if let Some(ev) = &self.eigenvalues {
            if ev.len() != n0 {
                return Err(at.err(
                    "data.eigenvalues",
                    format!("has {} values but n0 = {n0}; give one per input", ev.len()),
                ));
            }
            if ev.iter().any(|v| !v.is_finite() || *v <= 0.0) {
                return Err(at.err("data.eigenvalues", "must be finite and > 0"));
            }
        }
        Ok(())
    }
}

impl LandscapeConfig {
    /// Every value check of a landscape config.
    pub fn validate(&self, at: &Origin) -> Result<()> {
        let layers = &self.network.layers;
        if layers.len() != 2 || layers.contains(&0) || layers[1] >= layers[0] {
            return Err(at.err(
                "network.layers",
                format!(
                    "the landscape needs one layer [n0, n1] with 1 <= n1 < n0 (got {layers:?})"
                ),
            ));
        }
        let n0 = layers[0];
        if n0 > MAX_LANDSCAPE_N0 {
            return Err(at.err(
                "network.layers",
                format!("n0 = {n0} is too large to enumerate; use n0 <= {MAX_LANDSCAPE_N0}"),
            ));
        }
        let data = self.data.clone().map(DataSection::from);
        missing_data(at, data.as_ref())?.validate(at, n0)?;
        if let Some(t) = self.landscape.as_ref().and_then(|l| l.zero_tol) {
            positive(at, "landscape.zero_tol", t)?;
        }
        Ok(())
    }
}

/// `[data]` or the error that it is missing.
pub fn missing_data<'a>(at: &Origin, data: Option<&'a DataSection>) -> Result<&'a DataSection> {
    data.ok_or_else(|| {
        at.err(
            "data",
            "missing [data]; give eigenvalues, covariance or samples",
        )
    })
}

mod learning;
mod multilayer;
pub use learning::held_rule;
