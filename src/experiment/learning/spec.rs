//! `[learning]` configs to a [`LearningSpec`]: the dataset, rule, mode, initial
//! weights and solver options of a one-layer learning run.

use crate::analysis::{Spectrum, critical_weights};
use crate::data;
use crate::data::{Dataset, Distribution};
use crate::dynamics::rules::{Moment, Placement, Rule};
use crate::error::{Error, Result};
use crate::experiment::{check_gains, solver_from, stream};
use crate::io::config::{Config, positive};
use crate::solver::{self, SolverOptions};
use nalgebra::{DMatrix, DVector};

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
}

impl LearningSpec {
    /// Builds the spec from a config (reads every file it names).
    pub fn from_config(cfg: &Config) -> Result<LearningSpec> {
        crate::experiment::reject_sections(cfg, &["input", "initial", "landscape"])?;
        let n = &cfg.raw.network;
        if n.weights.is_some() || n.init.is_some() || n.label.is_some() {
            return Err(cfg.err(
                "network",
                "learning runs take W0 from [init]; remove network.weights/init/label",
            ));
        }
        let layers = &cfg.raw.network.layers;
        if layers.len() != 2 || layers.contains(&0) {
            return Err(cfg.err(
                "network.layers",
                format!("learning runs need one layer: [n0, n1] with n0, n1 >= 1 (got {layers:?})"),
            ));
        }
        let (n0, n1) = (layers[0], layers[1]);
        crate::experiment::check_layer_sizes(cfg, layers)?;
        if n0 > 1 << 14 {
            return Err(cfg.err(
                "network.layers",
                format!("n0 = {n0} is too large for a dense Sigma (limit 16384)"),
            ));
        }
        if n1 >= n0 {
            return Err(cfg.err(
                "network.layers",
                format!("principal subspace analysis needs n1 < n0 (got n0 = {n0}, n1 = {n1})"),
            ));
        }
        let tanh_beta = match &cfg.raw.network.activation {
            crate::io::config::OneOrMany::One(a) if a == "linear" => None,
            crate::io::config::OneOrMany::One(a) if a == "tanh" => {
                Some(positive(cfg, "network.beta", n.beta.unwrap_or(1.0))?)
            }
            _ => {
                return Err(cfg.err(
                    "network.activation",
                    "learning runs use \"linear\" units (amplify them with learning.amplification) or \"tanh\"",
                ));
            }
        };
        if n.beta.is_some() && tanh_beta.is_none() {
            return Err(cfg.err("network.beta", "is only used by tanh units; remove it"));
        }
        let dataset = dataset_from(cfg, n0)?;
        let l =
            cfg.raw.learning.as_ref().ok_or_else(|| {
                cfg.err("learning", "missing [learning] section (rule, mode, t_end)")
            })?;
        let t_end = positive(cfg, "learning.t_end", l.t_end)?;
        let tau_w = positive(cfg, "learning.tau_w", l.tau_w.unwrap_or(1.0))?;
        let gains = l
            .amplification
            .clone()
            .map(|g| check_gains(cfg, "learning.amplification", g, n1).map(DVector::from_vec))
            .transpose()?;
        if l.placement.is_some() && (l.rule != "lmser" || gains.is_none()) {
            return Err(cfg.err(
                "learning.placement",
                "applies to rule = \"lmser\" with amplification = [...]; remove it or add them",
            ));
        }
        if l.theta.is_some() && l.rule != "oja-weighted" {
            return Err(cfg.err(
                "learning.theta",
                "applies to rule = \"oja-weighted\" only; remove it",
            ));
        }
        let rule = match l.rule.as_str() {
            "lmser" => {
                let placement = match &l.placement {
                    None => Placement::Gradient,
                    Some(p) => Placement::from_name(p).ok_or_else(|| {
                        cfg.err(
                            "learning.placement",
                            format!(
                                "unknown placement {p:?}; use gradient, output, feedback or hebbian"
                            ),
                        )
                    })?,
                };
                Rule::Lmser { gains, placement }
            }
            "oja" => {
                if gains.is_some() {
                    return Err(cfg.err(
                        "learning.amplification",
                        "Oja's subspace rule has no amplification; use rule = \"oja-weighted\"",
                    ));
                }
                Rule::Oja
            }
            "oja-weighted" => {
                let a = gains.ok_or_else(|| {
                    cfg.err(
                        "learning.amplification",
                        "oja-weighted needs amplification = [a_1, ...]",
                    )
                })?;
                let theta = match l.theta.as_deref().unwrap_or("inverse") {
                    "inverse" => a.map(|v| 1.0 / v),
                    "direct" => a,
                    other => {
                        return Err(cfg.err(
                            "learning.theta",
                            format!(
                                "unknown theta {other:?}; use \"inverse\" (A^-1) or \"direct\" (A)"
                            ),
                        ));
                    }
                };
                Rule::OjaWeighted { theta }
            }
            other => {
                return Err(cfg.err(
                    "learning.rule",
                    format!("unknown rule {other:?}; use lmser, oja or oja-weighted"),
                ));
            }
        };
        let rule = match tanh_beta {
            None => rule,
            Some(beta) if rule == Rule::lmser() => Rule::LmserTanh { beta },
            Some(_) => {
                return Err(cfg.err(
                    "learning.rule",
                    "tanh units learn with plain rule = \"lmser\" (no amplification, placement or Oja)",
                ));
            }
        };
        let samples = match (tanh_beta, cfg.raw.data.as_ref().and_then(|d| d.n_samples)) {
            (None, Some(_)) => {
                return Err(cfg.err("data.n_samples", "is only used by tanh units; remove it"));
            }
            (None, None) => None,
            (Some(_), n) => {
                let n = n.unwrap_or(2000);
                if n == 0 || n.saturating_mul(n0) > crate::experiment::MAX_WEIGHTS {
                    return Err(cfg.err(
                        "data.n_samples",
                        format!(
                            "must be >= 1 with n_samples x n0 <= {}",
                            crate::experiment::MAX_WEIGHTS
                        ),
                    ));
                }
                Some(dataset.sample(n, &mut data::rng(cfg.raw.seed, stream::EVAL)))
            }
        };
        let mode = match l.mode.as_str() {
            "averaged" => Mode::Averaged,
            "stochastic" => Mode::Stochastic {
                eta: positive(cfg, "learning.eta", l.eta.unwrap_or(0.01))?,
                decay: l
                    .eta_decay
                    .map(|d| positive(cfg, "learning.eta_decay", d))
                    .transpose()?,
                batch: match l.batch.unwrap_or(1) {
                    0 => return Err(cfg.err("learning.batch", "must be >= 1")),
                    b if b.saturating_mul(n0) > crate::experiment::MAX_WEIGHTS => {
                        return Err(cfg.err(
                            "learning.batch",
                            format!(
                                "a batch of {b} samples is too large (batch x n0 <= {})",
                                crate::experiment::MAX_WEIGHTS
                            ),
                        ));
                    }
                    b => b,
                },
            },
            "coupled" | "two-phase" => {
                if !matches!(
                    &rule,
                    Rule::Lmser {
                        placement: Placement::Gradient,
                        ..
                    }
                ) {
                    return Err(cfg.err(
                        "learning.rule",
                        "coupled and two-phase modes run the slides' LMSER rule with linear units \
                         (amplified units: placement = \"gradient\")",
                    ));
                }
                let tau = positive(cfg, "learning.tau", l.tau.unwrap_or(tau_w / 100.0))?;
                let presentation = positive(
                    cfg,
                    "learning.presentation",
                    l.presentation.unwrap_or(10.0 * tau),
                )?;
                let samples = t_end / presentation;
                if (samples - samples.round()).abs() > 1e-9 * samples.max(1.0) {
                    return Err(cfg.err(
                        "learning.presentation",
                        format!("t_end = {t_end} is not a whole number of presentations of {presentation}; make t_end a multiple of it"),
                    ));
                }
                if samples > 1e7 {
                    return Err(cfg.err(
                        "learning.presentation",
                        format!(
                            "t_end / presentation = {samples:.1e} samples is too many (limit 1e7)"
                        ),
                    ));
                }
                if l.mode == "coupled" {
                    let averaged_input = match l.input.as_deref().unwrap_or("samples") {
                        "samples" => false,
                        "averaged" => true,
                        other => {
                            return Err(cfg.err(
                                "learning.input",
                                format!("unknown input {other:?}; use \"samples\" or \"averaged\""),
                            ));
                        }
                    };
                    Mode::Coupled {
                        tau,
                        presentation,
                        averaged_input,
                    }
                } else {
                    let ode_settling = match l.settle.as_deref().unwrap_or("ode") {
                        "ode" => true,
                        "closed-form" => false,
                        other => {
                            return Err(cfg.err(
                                "learning.settle",
                                format!("unknown settle {other:?}; use \"ode\" or \"closed-form\""),
                            ));
                        }
                    };
                    Mode::TwoPhase {
                        tau,
                        presentation,
                        ode_settling,
                    }
                }
            }
            other => {
                return Err(cfg.err(
                    "learning.mode",
                    format!(
                        "unknown mode {other:?}; use averaged, stochastic, coupled or two-phase"
                    ),
                ));
            }
        };
        // With a fixed sample set the rule sees its second moment: compare with that.
        let spectrum = match &samples {
            Some(x) => Spectrum::of(&(x.transpose() * x / x.nrows() as f64)),
            None => Spectrum::of(dataset.sigma()),
        };
        let w0 = initial_weights(cfg, &spectrum, n1, n0)?;
        let used: &[&str] = match mode {
            Mode::Averaged => &[],
            Mode::Stochastic { .. } => &["eta", "eta_decay", "batch"],
            Mode::Coupled { .. } => &["tau", "presentation", "input"],
            Mode::TwoPhase { .. } => &["tau", "presentation", "settle"],
        };
        for (key, given) in [
            ("eta", l.eta.is_some()),
            ("eta_decay", l.eta_decay.is_some()),
            ("batch", l.batch.is_some()),
            ("tau", l.tau.is_some()),
            ("presentation", l.presentation.is_some()),
            ("input", l.input.is_some()),
            ("settle", l.settle.is_some()),
        ] {
            if given && !used.contains(&key) {
                return Err(cfg.err(
                    &format!("learning.{key}"),
                    format!("is not used by mode = {:?}; remove it", mode.name()),
                ));
            }
        }
        if cfg.raw.solver.as_ref().is_some_and(|s| s.t_end.is_some()) {
            return Err(cfg.err(
                "solver.t_end",
                "learning runs take t_end from [learning]; remove it",
            ));
        }
        let mut solver = solver_from(cfg, Some(t_end))?;
        if matches!(solver.method, solver::Method::FixedPoint) {
            return Err(cfg.err(
                "solver.method",
                "fixed-point iterates the neuron dynamics of perceptron runs; use an ODE method",
            ));
        }
        let given = cfg
            .raw
            .solver
            .as_ref()
            .and_then(|s| s.method.as_ref())
            .is_some();
        let solver_reason = if given {
            "chosen in the config".to_string()
        } else if let Mode::Coupled {
            tau,
            averaged_input,
            ..
        } = mode
        {
            let dim = if averaged_input {
                2 * n1 * n0
            } else {
                n1 * (n0 + 1)
            };
            let (method, reason) = stiff_choice(tau_w / tau, dim);
            solver.method = method;
            reason
        } else {
            "default".to_string()
        };
        if cfg
            .raw
            .solver
            .as_ref()
            .is_none_or(|s| s.output_dt.is_none())
        {
            solver.output_dt = t_end / 500.0;
        }
        Ok(LearningSpec {
            dataset,
            spectrum,
            rule,
            mode,
            tau_w,
            w0,
            solver,
            seed: cfg.raw.seed,
            samples,
            solver_reason,
        })
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

/// The input distribution of `[data]`.
pub fn dataset_from(cfg: &Config, n0: usize) -> Result<Dataset> {
    let d = cfg.raw.data.as_ref().ok_or_else(|| {
        cfg.err(
            "data",
            "missing [data]; give eigenvalues, covariance or samples",
        )
    })?;
    let given = [
        d.eigenvalues.is_some(),
        d.covariance.is_some(),
        d.samples.is_some(),
    ];
    if given.iter().filter(|&&g| g).count() != 1 {
        return Err(cfg.err(
            "data",
            "give exactly one of eigenvalues, covariance, samples",
        ));
    }
    if (d.rotation.is_some() || d.distribution.is_some()) && d.eigenvalues.is_none() {
        return Err(cfg.err(
            "data",
            "rotation and distribution apply to eigenvalues = [...] only",
        ));
    }
    let ds = if let Some(ev) = &d.eigenvalues {
        if ev.len() != n0 {
            return Err(cfg.err(
                "data.eigenvalues",
                format!("has {} values but n0 = {n0}; give one per input", ev.len()),
            ));
        }
        if ev.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            return Err(cfg.err("data.eigenvalues", "must be finite and > 0"));
        }
        let name = d.distribution.as_deref().unwrap_or("gaussian");
        let dist = Distribution::from_name(name).ok_or_else(|| {
            cfg.err(
                "data.distribution",
                format!("unknown distribution {name:?}; use gaussian, uniform or laplace"),
            )
        })?;
        let mut rng = data::rng(cfg.raw.seed, stream::DATA);
        Dataset::from_eigenvalues(ev, d.rotation.unwrap_or(true), dist, &mut rng)
    } else if let Some(f) = &d.covariance {
        let path = cfg.path(f);
        let s = crate::io::files::read_matrix(&path)?;
        check_covariance(&path, &s, n0)?;
        Dataset::from_covariance(s)
    } else {
        let path = cfg.path(d.samples.as_deref().unwrap_or_default());
        let x = crate::io::files::read_matrix(&path)?;
        if x.ncols() != n0 {
            return Err(Error::data(
                path,
                format!(
                    "has {} columns but n0 = {n0}; one column per input",
                    x.ncols()
                ),
            ));
        }
        Dataset::from_samples(x)
    };
    Ok(ds)
}

/// Sigma must be n0 x n0, symmetric and positive semi-definite.
pub fn check_covariance(path: &std::path::Path, s: &DMatrix<f64>, n0: usize) -> Result<()> {
    if s.nrows() != s.ncols() {
        return Err(Error::data(
            path,
            format!("Sigma is {} x {} but must be square", s.nrows(), s.ncols()),
        ));
    }
    if s.nrows() != n0 {
        return Err(Error::data(
            path,
            format!("Sigma is {0} x {0} but n0 = {n0}", s.nrows()),
        ));
    }
    let scale = s.amax().max(1e-300);
    if (s - s.transpose()).amax() > 1e-10 * scale {
        return Err(Error::data(
            path,
            "Sigma is not symmetric; give a symmetric matrix",
        ));
    }
    let min = s.clone().symmetric_eigenvalues().min();
    if min < -1e-10 * scale {
        return Err(Error::data(
            path,
            format!("Sigma is not positive semi-definite (smallest eigenvalue {min:.3e})"),
        ));
    }
    Ok(())
}

/// W0 of `[init]`: a file, random N(0, scale^2/n0) entries, or a critical point plus a
/// random perturbation of Frobenius norm eps.
fn initial_weights(cfg: &Config, spec: &Spectrum, n1: usize, n0: usize) -> Result<DMatrix<f64>> {
    let init = cfg.raw.init.as_ref().ok_or_else(|| {
        cfg.err(
            "init",
            "missing [init]; give weights = [file], scale, or saddle",
        )
    })?;
    let mut rng = data::rng(cfg.raw.seed, stream::WEIGHTS);
    let mut random = |scale: f64| DMatrix::from_fn(n1, n0, |_, _| scale * data::normal(&mut rng));
    let chosen = [
        init.weights.is_some(),
        init.scale.is_some(),
        init.saddle.is_some(),
    ];
    if chosen.iter().filter(|&&c| c).count() != 1 {
        return Err(cfg.err("init", "give exactly one of weights, scale, saddle"));
    }
    if let Some(files) = &init.weights {
        let layers = [n0, n1];
        return Ok(
            crate::experiment::weights_from_files(cfg, "init.weights", files, &layers)?.remove(0),
        );
    }
    if let Some(scale) = init.scale {
        let s = positive(cfg, "init.scale", scale)?;
        return Ok(random(s / (n0 as f64).sqrt()));
    }
    let saddle = init.saddle.as_ref().expect("checked above");
    if saddle.len() > n1 || saddle.iter().any(|&i| i == 0 || i > n0) {
        return Err(cfg.err(
            "init.saddle",
            format!("give at most n1 = {n1} distinct eigenvector indices in 1..={n0}"),
        ));
    }
    let mut subset: Vec<usize> = saddle.iter().map(|i| i - 1).collect();
    subset.sort_unstable();
    subset.dedup();
    if subset.len() != saddle.len() {
        return Err(cfg.err("init.saddle", "indices must be distinct"));
    }
    let eps = crate::io::config::non_negative(cfg, "init.eps", init.eps.unwrap_or(1e-6))?;
    let p = random(1.0);
    let p = if p.norm() > 0.0 {
        p.clone() / p.norm() * eps
    } else {
        p
    };
    Ok(critical_weights(spec, n1, &subset) + p)
}
