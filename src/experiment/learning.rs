//! `kind = "learning"`: the weight dynamics tau_w dW/dt of a one-layer net (THEORY.md
//! sections 2-5) in `averaged` mode (an ODE in W driven by Sigma, integrated by the
//! solver driver) or `stochastic` mode (W += eta/tau_w F(W; x x^T) on fresh samples,
//! with t advancing by eta per step so both modes share a time axis).

use super::{Recorder, Run, RunOptions, RunReport, check_gains, solver_from, stream};
use crate::analysis::{ALIGNED, Spectrum, alignment, critical_weights, rows_aligned_in_order};
use crate::data;
use crate::data::{Dataset, Distribution};
use crate::dynamics::coupled::{self, CoupledAveraged, CoupledParams, CoupledSamples, Settling};
use crate::dynamics::rules::{
    Moment, Placement, Rule, Workspace, flow, orth_error, reconstruction_error, subspace_error,
};
use crate::error::{Error, Result};
use crate::io::config::{Config, positive};
use crate::io::output::Decimator;
use crate::io::plot::{Figure, Series};
use crate::solver::{self, Observer, OdeSystem, ResumePoint, SolverOptions};
use nalgebra::{DMatrix, DVector};
use serde_json::json;
use std::cell::RefCell;

/// Overlap columns c{i}_{j} are written when n1 n0 is at most this.
pub const MAX_OVERLAP_COLUMNS: usize = 64;

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
        super::reject_sections(cfg, &["input", "initial", "landscape"])?;
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
        super::check_layer_sizes(cfg, layers)?;
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
                if n == 0 || n.saturating_mul(n0) > super::MAX_WEIGHTS {
                    return Err(cfg.err(
                        "data.n_samples",
                        format!("must be >= 1 with n_samples x n0 <= {}", super::MAX_WEIGHTS),
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
                    b if b.saturating_mul(n0) > super::MAX_WEIGHTS => {
                        return Err(cfg.err(
                            "learning.batch",
                            format!(
                                "a batch of {b} samples is too large (batch x n0 <= {})",
                                super::MAX_WEIGHTS
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
        return Ok(super::weights_from_files(cfg, "init.weights", files, &layers)?.remove(0));
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

/// The averaged weight ODE tau_w dW/dt = F(W; C) over vec(W) (column-major), with C
/// = Sigma or the mean over a fixed sample set.
#[derive(Debug)]
pub struct AveragedLearning {
    rule: Rule,
    moment: DMatrix<f64>,
    samples: bool,
    n0: usize,
    tau_w: f64,
    work: RefCell<(Workspace, DMatrix<f64>, DMatrix<f64>)>,
}

impl AveragedLearning {
    /// The ODE of `rule` for an n1 x n0 net on Sigma.
    pub fn new(rule: Rule, sigma: DMatrix<f64>, tau_w: f64, n1: usize) -> Self {
        Self::build(rule, sigma, false, tau_w, n1)
    }

    /// The ODE of `rule` averaged over the rows of `x` (samples x n0).
    pub fn over_samples(rule: Rule, x: DMatrix<f64>, tau_w: f64, n1: usize) -> Self {
        Self::build(rule, x, true, tau_w, n1)
    }

    fn build(rule: Rule, moment: DMatrix<f64>, samples: bool, tau_w: f64, n1: usize) -> Self {
        let n0 = moment.ncols();
        AveragedLearning {
            rule,
            moment,
            samples,
            n0,
            tau_w,
            work: RefCell::new((
                Workspace::new(n1, n0),
                DMatrix::zeros(n1, n0),
                DMatrix::zeros(n1, n0),
            )),
        }
    }
}

impl OdeSystem for AveragedLearning {
    fn dim(&self) -> usize {
        self.n0 * self.work.borrow().1.nrows()
    }

    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let mut guard = self.work.borrow_mut();
        let (ws, w, out) = &mut *guard;
        w.as_mut_slice().copy_from_slice(y);
        let c = if self.samples {
            Moment::Samples(&self.moment)
        } else {
            Moment::Matrix(&self.moment)
        };
        flow(&self.rule, w, &c, ws, out);
        for (d, f) in dy.iter_mut().zip(out.iter()) {
            *d = f / self.tau_w;
        }
    }

    fn autonomous(&self) -> bool {
        true
    }

    fn state_name(&self, i: usize) -> String {
        let n1 = self.work.borrow().1.nrows();
        format!("W[{},{}]", i % n1 + 1, i / n1 + 1)
    }

    fn divergence_hint(&self) -> String {
        "the weights blew up; start from smaller weights or check the rule".into()
    }
}

/// Per-output metrics of a weight matrix.
struct Metrics<'a> {
    spec: &'a LearningSpec,
    phi_top: DMatrix<f64>,
    ws: Workspace,
    f: DMatrix<f64>,
}

impl<'a> Metrics<'a> {
    fn new(spec: &'a LearningSpec) -> Self {
        let (n1, n0) = spec.w0.shape();
        Metrics {
            spec,
            phi_top: spec.spectrum.top(n1),
            ws: Workspace::new(n1, n0),
            f: DMatrix::zeros(n1, n0),
        }
    }

    fn header(&self) -> Vec<String> {
        let (n1, n0) = self.spec.w0.shape();
        let mut h: Vec<String> = ["t", "J", "grad_norm", "subspace_error", "orth_error"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if n1 * n0 <= MAX_OVERLAP_COLUMNS {
            for i in 1..=n1 {
                for j in 1..=n0 {
                    h.push(format!("c{i}_{j}"));
                }
            }
        }
        h
    }

    /// t, J, ||F||, subspace error, orthonormality error, overlaps w_i . phi_j.
    fn row(&mut self, t: f64, w: &DMatrix<f64>, row: &mut Vec<f64>) {
        let sigma = self.spec.moment();
        let j = reconstruction_error(&self.spec.rule, w, &sigma, &mut self.ws);
        flow(&self.spec.rule, w, &sigma, &mut self.ws, &mut self.f);
        row.clear();
        row.extend([
            t,
            j,
            self.f.norm() / self.spec.tau_w,
            subspace_error(w, &self.phi_top),
            orth_error(w),
        ]);
        let (n1, n0) = w.shape();
        if n1 * n0 <= MAX_OVERLAP_COLUMNS {
            let c = w * &self.spec.spectrum.vectors;
            for i in 0..n1 {
                for k in 0..n0 {
                    row.push(c[(i, k)]);
                }
            }
        }
    }
}

/// Where a learning run stands after an output: enough to continue it exactly.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum LearningState {
    /// The solver driver's resume point (state = vec W).
    Averaged(ResumePoint),
    /// The stochastic loop: time, steps taken, next output index, W (column-major)
    /// and the position of the sample stream (a u128 as a decimal string).
    Stochastic {
        t: f64,
        k: u64,
        next: u64,
        w: Vec<f64>,
        word_pos: String,
    },
    /// Held-sample runs (coupled over samples, two-phase): samples presented so far,
    /// next output index, the state (z, vec W), and the sample stream's position at
    /// the start of the current block of samples.
    Held {
        samples_done: u64,
        next: u64,
        y: Vec<f64>,
        block_word_pos: String,
    },
}

/// Receives (t, W, metrics row) at every output time, and optionally the state to
/// resume from after it.
pub trait LearningObserver {
    /// Called at every output time.
    fn observe(&mut self, t: f64, w: &DMatrix<f64>, row: &[f64]) -> Result<()>;
    /// True when [`LearningObserver::state`] is wanted after each output.
    fn wants_states(&self) -> bool {
        false
    }
    /// The state after the last output.
    fn state(&mut self, _s: LearningState) -> Result<()> {
        Ok(())
    }
}

impl<F: FnMut(f64, &DMatrix<f64>, &[f64]) -> Result<()>> LearningObserver for F {
    fn observe(&mut self, t: f64, w: &DMatrix<f64>, row: &[f64]) -> Result<()> {
        self(t, w, row)
    }
}

/// Runs a learning spec, calling `observe(t, W, row)` at every output time; returns
/// the final W and a JSON description of the solver work.
pub fn simulate(
    spec: &LearningSpec,
    mut observe: impl FnMut(f64, &DMatrix<f64>, &[f64]) -> Result<()>,
) -> Result<(DMatrix<f64>, serde_json::Value)> {
    simulate_from(spec, None, &mut observe)
}

/// Adapts a [`LearningObserver`] to the solver driver for the averaged ODE.
struct AveragedObserver<'a> {
    metrics: Metrics<'a>,
    /// Where vec W starts in the state.
    offset: usize,
    w: DMatrix<f64>,
    row: Vec<f64>,
    inner: &'a mut dyn LearningObserver,
}

impl Observer for AveragedObserver<'_> {
    fn observe(&mut self, t: f64, y: &[f64], _dy: &[f64]) -> Result<()> {
        let n = self.w.len();
        self.w
            .as_mut_slice()
            .copy_from_slice(&y[self.offset..self.offset + n]);
        self.metrics.row(t, &self.w, &mut self.row);
        self.inner.observe(t, &self.w, &self.row)
    }
    fn wants_resume_points(&self) -> bool {
        self.inner.wants_states()
    }
    fn resume_point(&mut self, point: &ResumePoint) -> Result<()> {
        self.inner.state(LearningState::Averaged(point.clone()))
    }
}

/// Runs a learning spec from its start or from a saved [`LearningState`] (whose output
/// is not repeated); same spec and state give the same numbers bit for bit.
pub fn simulate_from(
    spec: &LearningSpec,
    start: Option<&LearningState>,
    observer: &mut dyn LearningObserver,
) -> Result<(DMatrix<f64>, serde_json::Value)> {
    let (n1, n0) = spec.w0.shape();
    match spec.mode {
        Mode::Averaged => {
            let sys = match &spec.samples {
                Some(x) => {
                    AveragedLearning::over_samples(spec.rule.clone(), x.clone(), spec.tau_w, n1)
                }
                None => AveragedLearning::new(
                    spec.rule.clone(),
                    spec.dataset.sigma().clone(),
                    spec.tau_w,
                    n1,
                ),
            };
            let mut obs = AveragedObserver {
                metrics: Metrics::new(spec),
                offset: 0,
                w: DMatrix::zeros(n1, n0),
                row: Vec::new(),
                inner: observer,
            };
            let (y, stats) = match start {
                None => solver::integrate(&sys, 0.0, spec.w0.as_slice(), &spec.solver, &mut obs)?,
                Some(LearningState::Averaged(p)) => {
                    solver::integrate_from(&sys, p, &spec.solver, &mut obs)?
                }
                Some(_) => return Err(resume_mismatch()),
            };
            Ok((
                DMatrix::from_column_slice(n1, n0, &y),
                solver_json(spec, &stats),
            ))
        }
        Mode::Coupled {
            tau,
            averaged_input: true,
            ..
        } => {
            let sys =
                CoupledAveraged::new(coupled_params(spec, tau), spec.dataset.sigma().clone(), n1);
            let mut obs = AveragedObserver {
                metrics: Metrics::new(spec),
                offset: n1 * n0,
                w: DMatrix::zeros(n1, n0),
                row: Vec::new(),
                inner: observer,
            };
            let (y, stats) = match start {
                None => solver::integrate(
                    &sys,
                    0.0,
                    &sys.settled_state(&spec.w0),
                    &spec.solver,
                    &mut obs,
                )?,
                Some(LearningState::Averaged(p)) => {
                    solver::integrate_from(&sys, p, &spec.solver, &mut obs)?
                }
                Some(_) => return Err(resume_mismatch()),
            };
            Ok((sys.split(&y).1, solver_json(spec, &stats)))
        }
        Mode::Coupled {
            tau, presentation, ..
        }
        | Mode::TwoPhase {
            tau, presentation, ..
        } => held_samples(
            spec,
            coupled_params(spec, tau),
            presentation,
            start,
            observer,
        ),
        Mode::Stochastic { eta, decay, batch } => {
            let mut metrics = Metrics::new(spec);
            let mut row = Vec::new();
            let mut rng = data::rng(spec.seed, stream::SAMPLES);
            let mut x = DMatrix::zeros(batch, n0);
            let mut ws = Workspace::new(n1, n0);
            let mut f = DMatrix::zeros(n1, n0);
            let (t_end, dt) = (spec.solver.t_end, spec.solver.output_dt);
            let (mut t, mut k, mut next, mut w) = match start {
                None => {
                    let w = spec.w0.clone();
                    metrics.row(0.0, &w, &mut row);
                    observer.observe(0.0, &w, &row)?;
                    (0.0, 0u64, 1u64, w)
                }
                Some(LearningState::Stochastic {
                    t,
                    k,
                    next,
                    w,
                    word_pos,
                }) => {
                    rng.set_word_pos(word_pos.parse().map_err(|_| resume_mismatch())?);
                    (*t, *k, *next, DMatrix::from_column_slice(n1, n0, w))
                }
                Some(_) => return Err(resume_mismatch()),
            };
            let save =
                |t: f64, k: u64, next: u64, w: &DMatrix<f64>, rng: &rand_chacha::ChaCha8Rng| {
                    LearningState::Stochastic {
                        t,
                        k,
                        next,
                        w: w.as_slice().to_vec(),
                        word_pos: rng.get_word_pos().to_string(),
                    }
                };
            if start.is_none() && observer.wants_states() {
                observer.state(save(t, k, next, &w, &rng))?;
            }
            while t < t_end {
                let step = decay
                    .map_or(eta, |d| eta / (1.0 + k as f64 / d))
                    .min(t_end - t);
                spec.dataset.sample_into(&mut x, &mut rng);
                flow(&spec.rule, &w, &Moment::Samples(&x), &mut ws, &mut f);
                w += &f * (step / spec.tau_w);
                t = if t_end - t - step < 1e-12 * t_end {
                    t_end
                } else {
                    t + step
                };
                k += 1;
                if let Some(v) = w
                    .iter()
                    .find(|&&v| solver::beyond(v, spec.solver.divergence_bound))
                {
                    return Err(Error::Diverged {
                        time: t,
                        quantity: "W".into(),
                        value: *v,
                        hint:
                            "the stochastic step is too large; lower learning.eta or add eta_decay"
                                .into(),
                    });
                }
                if solver::interrupted(&spec.solver) {
                    return Err(Error::Interrupted { time: t });
                }
                if t >= next as f64 * dt - 1e-12 * dt || t >= t_end {
                    next = (t / dt + 1e-9).floor() as u64 + 1;
                    metrics.row(t, &w, &mut row);
                    observer.observe(t, &w, &row)?;
                    if observer.wants_states() {
                        observer.state(save(t, k, next, &w, &rng))?;
                    }
                }
            }
            Ok((
                w,
                json!({"method": "stochastic", "eta": eta, "eta_decay": decay, "batch": batch, "steps": k}),
            ))
        }
    }
}

/// tau, tau_w and the gains of a coupled run.
fn coupled_params(spec: &LearningSpec, tau: f64) -> CoupledParams {
    match &spec.rule {
        Rule::Lmser { gains: Some(a), .. } => CoupledParams::amplified(tau, spec.tau_w, a.clone()),
        _ => CoupledParams::new(tau, spec.tau_w),
    }
}

fn solver_json(spec: &LearningSpec, stats: &solver::SolverStats) -> serde_json::Value {
    json!({"method": spec.solver.method.name(), "why": spec.solver_reason, "rtol": spec.solver.rtol,
           "atol": spec.solver.atol, "accepted_steps": stats.accepted_steps,
           "rejected_steps": stats.rejected_steps, "rhs_evals": stats.rhs_evals,
           "outputs": stats.outputs})
}

/// Samples held for `presentation` each, drawn in blocks from the run's sample stream
/// (so coupled and two-phase runs of one seed see the same sequence), driving the
/// coupled ODE or the two-phase procedure; a row at t = 0 and whenever an output time
/// is reached at the end of a presentation.
fn held_samples(
    spec: &LearningSpec,
    params: CoupledParams,
    presentation: f64,
    start: Option<&LearningState>,
    observer: &mut dyn LearningObserver,
) -> Result<(DMatrix<f64>, serde_json::Value)> {
    const BLOCK: usize = 1024;
    let (n1, n0) = spec.w0.shape();
    let mut metrics = Metrics::new(spec);
    let mut row = Vec::new();
    let mut rng = data::rng(spec.seed, stream::SAMPLES);
    let total = (spec.solver.t_end / presentation).round().max(1.0) as usize;
    let dt = spec.solver.output_dt;
    let (mut y, mut done, mut next) = match start {
        None => {
            metrics.row(0.0, &spec.w0, &mut row);
            observer.observe(0.0, &spec.w0, &row)?;
            let y = coupled::pack_state(&vec![0.0; n1], &spec.w0);
            if observer.wants_states() {
                observer.state(LearningState::Held {
                    samples_done: 0,
                    next: 1,
                    y: y.clone(),
                    block_word_pos: rng.get_word_pos().to_string(),
                })?;
            }
            (y, 0usize, 1u64)
        }
        Some(LearningState::Held {
            samples_done,
            next,
            y,
            block_word_pos,
        }) => {
            rng.set_word_pos(block_word_pos.parse().map_err(|_| resume_mismatch())?);
            (y.clone(), *samples_done as usize, *next)
        }
        Some(_) => return Err(resume_mismatch()),
    };
    let mut stats = solver::SolverStats::start(done as f64 * presentation);
    let mut sys = CoupledSamples::new(params.clone(), n1, n0);
    let settling = match spec.mode {
        Mode::TwoPhase {
            ode_settling: true,
            tau,
            ..
        } => Settling::ode(tau, 1e-9),
        _ => Settling::FixedPoint,
    };
    while done < total {
        // Blocks start at multiples of BLOCK, so a resumed run redraws the same block
        // from its saved stream position and skips the samples already presented.
        let block_start = done / BLOCK * BLOCK;
        let b = BLOCK.min(total - block_start);
        let block_word_pos = rng.get_word_pos().to_string();
        let block = spec.dataset.sample(b, &mut rng);
        let x = block
            .rows(done - block_start, b - (done - block_start))
            .into_owned();
        let mut callback = |t: f64, z: &[f64], w: &DMatrix<f64>| -> Result<()> {
            if t >= next as f64 * dt - 1e-9 * dt
                || (t - total as f64 * presentation).abs() < 1e-9 * presentation
            {
                next = (t / dt + 1e-9).floor() as u64 + 1;
                metrics.row(t, w, &mut row);
                observer.observe(t, w, &row)?;
                if observer.wants_states() {
                    observer.state(LearningState::Held {
                        samples_done: (t / presentation).round() as u64,
                        next,
                        y: coupled::pack_state(z, w),
                        block_word_pos: block_word_pos.clone(),
                    })?;
                }
            }
            Ok(())
        };
        let held = coupled::Presentations {
            samples: &x,
            hold: presentation,
            first: done,
        };
        let (y1, s) = match spec.mode {
            Mode::Coupled { .. } => {
                coupled::run_samples(&mut sys, &y, &held, &spec.solver, &mut callback)?
            }
            _ => coupled::two_phase(&params, &y, &held, &settling, &spec.solver, &mut callback)?,
        };
        y = y1;
        stats.add(&s);
        done = block_start + b;
    }
    let (_, w) = coupled::unpack_state(&y, n1);
    let mut json = solver_json(spec, &stats);
    json["samples"] = json!(total);
    json["presentation"] = json!(presentation);
    if let Mode::TwoPhase { ode_settling, .. } = spec.mode {
        json["method"] = json!(if ode_settling {
            "two-phase, neuron ODE settled by dopri5"
        } else {
            "two-phase, closed-form settling"
        });
        json["why"] = json!("the slides' procedure: settle z, then one weight step per sample");
    }
    Ok((w, json))
}

fn resume_mismatch() -> Error {
    Error::Resume {
        dir: ".".into(),
        message: "checkpoint.json holds the state of another mode".into(),
    }
}

/// J never increasing is the verdict of a gradient flow: the largest rise seen.
struct JTracker {
    last: f64,
    max_increase: f64,
}

/// Records rows and checkpoints of a learning run.
struct LearningRecorder<'r, 'a> {
    rec: &'r mut Recorder<'a>,
    last_t: f64,
}

impl LearningObserver for LearningRecorder<'_, '_> {
    fn observe(&mut self, t: f64, _w: &DMatrix<f64>, row: &[f64]) -> Result<()> {
        self.last_t = t;
        self.rec.record(row)
    }
    fn wants_states(&self) -> bool {
        true
    }
    fn state(&mut self, s: LearningState) -> Result<()> {
        // A state follows the output it belongs to.
        self.rec.checkpoint(self.last_t, json!(s))
    }
}

/// Runs a learning experiment and writes its outputs.
pub fn run(cfg: &Config, opts: &RunOptions) -> Result<RunReport> {
    let mut spec = LearningSpec::from_config(cfg)?;
    spec.solver.interrupt = opts.interrupt.clone();
    let mut run = Run::start(cfg, opts)?;
    let outcome = record(&mut run, cfg, opts, &spec);
    run.finish(outcome)
}

/// Everything after the run directory exists; any error ends up in the summary.
fn record(run: &mut Run, cfg: &Config, opts: &RunOptions, spec: &LearningSpec) -> Result<()> {
    let start: Option<LearningState> = run.resumed()?;
    let head = Metrics::new(spec).header();
    let mut jt = JTracker {
        last: f64::NAN,
        max_increase: 0.0,
    };
    let mut track = |row: &[f64]| {
        let d = row[1] - jt.last;
        if d > 0.0 {
            jt.max_increase = jt.max_increase.max(d);
        }
        jt.last = row[1];
    };
    let mut rec = Recorder::new(run, cfg, opts, &head, spec.solver.t_end, &mut track)?;
    let result = simulate_from(
        spec,
        start.as_ref(),
        &mut LearningRecorder {
            rec: &mut rec,
            last_t: 0.0,
        },
    )
    .map_err(|e| match e {
        // simulate_from does not know the directory it resumes.
        Error::Resume { message, .. } => Error::Resume {
            dir: run.dir().path().into(),
            message,
        },
        other => other,
    });
    let plot = rec.finish()?;
    let (n1, _) = spec.w0.shape();
    let lam = &spec.spectrum.values;
    run.set(
        "learning",
        json!({
            "rule": spec.rule.describe(),
            "mode": spec.mode.name(),
            "tau_w": spec.tau_w,
            "eigenvalues": lam.as_slice(),
            "J_min_predicted": spec.spectrum.plateau(&(0..n1).collect::<Vec<_>>()),
            "J_max_increase": jt.max_increase,
        }),
    );
    let outcome = result.and_then(|(w, solver_json)| {
        run.set("solver", solver_json);
        crate::io::files::write_matrix(&run.dir().file("W1.csv"), &w)?;
        let cos = alignment(&w, &spec.spectrum);
        let last = plot.rows().last().cloned().unwrap_or_default();
        run.set(
            "final",
            json!({
                "t": last.first(), "J": last.get(1), "grad_norm": last.get(2),
                "subspace_error": last.get(3), "orth_error": last.get(4),
                "abs_cos_rows_vs_eigenvectors": (0..n1).map(|i| cos.row(i).iter().copied().collect::<Vec<_>>()).collect::<Vec<_>>(),
                "rows_aligned_in_order": rows_aligned_in_order(&cos, ALIGNED),
            }),
        );
        Ok(())
    });
    plots(run, &plot, &head, spec)?;
    outcome
}

/// learning.png (J vs t on a log time axis with the plateau levels) and
/// overlaps.png (w_i . phi_j vs t).
fn plots(run: &Run, plot: &Decimator, head: &[String], spec: &LearningSpec) -> Result<()> {
    let (n1, n0) = spec.w0.shape();
    let rows = plot.rows();
    if rows.is_empty() {
        return Ok(());
    }
    let positive_t = |s: Vec<(f64, f64)>| s.into_iter().filter(|p| p.0 > 0.0).collect::<Vec<_>>();
    let mut levels: Vec<(f64, String)> = Vec::new();
    if n0 <= 12 {
        let mut seen: Vec<f64> = Vec::new();
        for k in 0..=n1 {
            // The plateau of the top-k eigenvectors (the staircase a tiny W0 descends).
            let v = spec.spectrum.plateau(&(0..k).collect::<Vec<_>>());
            if !seen.iter().any(|s| (s - v).abs() < 1e-12) {
                seen.push(v);
                levels.push((v, "plateau levels 1/2 (tr Sigma - sum_S lambda)".into()));
            }
        }
    }
    Figure {
        title: format!("Reconstruction error J(t), {}", spec.rule.describe()),
        x_label: "t (log scale)".into(),
        y_label: "J".into(),
        log_x: true,
        series: vec![Series::new("J", positive_t(plot.series(1)))],
        hlines: levels,
        ..Default::default()
    }
    .save(&run.dir().file("learning"))?;
    if head.len() > 5 {
        Figure {
            title: "Overlaps w_i . phi_j".into(),
            x_label: "t (log scale)".into(),
            y_label: "w_i . phi_j".into(),
            log_x: true,
            series: (5..head.len())
                .map(|c| Series::new(head[c].clone(), positive_t(plot.series(c))))
                .collect(),
            ..Default::default()
        }
        .save(&run.dir().file("overlaps"))?;
        // |cos(w_i, phi_i)| = |c_ii| / ||w_i|| with ||w_i||^2 = sum_j c_ij^2 (Phi is an
        // orthonormal basis): 1 for every row once the symmetry is broken.
        let series = (0..n1)
            .map(|i| {
                let pts = rows
                    .iter()
                    .filter(|r| r[0] > 0.0)
                    .map(|r| {
                        let c = &r[5 + i * n0..5 + (i + 1) * n0];
                        let norm = c.iter().map(|v| v * v).sum::<f64>().sqrt();
                        (r[0], if norm > 0.0 { c[i].abs() / norm } else { 0.0 })
                    })
                    .collect();
                Series::new(format!("|cos(w_{0}, phi_{0})|", i + 1), pts)
            })
            .collect();
        Figure {
            title: "Alignment of row i with eigenvector i".into(),
            x_label: "t (log scale)".into(),
            y_label: "|cos|".into(),
            log_x: true,
            series,
            ..Default::default()
        }
        .save(&run.dir().file("alignment"))?;
    }
    Ok(())
}
