//! One [`Stepper`] per multilayer mode, and the metrics every output records:
//! `J` (mean 1/2 ||x - u_0||^2 over the training set), `grad_norm` (the norm of the
//! exact dJ/dW over all layers), `cos_exact` (the cosine between the slides' update and
//! the exact one, docs/theory.md §10.6), and with labels and a supervised top
//! `accuracy`; with a test set `J_test` (and `accuracy_test`).

use super::spec::{MultilayerSpec, SampleSet};
use crate::compare::readout::LAMBDA;
use crate::compare::{Readout, accuracy};
use crate::data;
use crate::dynamics::multilayer::{MultiRule, SettleOptions, Settled, cosine, settle, update};
use crate::error::Result;
use crate::executor::{Control, OdeStepper, Probe, Stepper};
use crate::io::config::MultilayerMode;
use crate::solver::{self, OdeSystem, ResumePoint};
use nalgebra::DMatrix;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// W_1..W_K as one column-major vector.
pub fn flatten(w: &[DMatrix<f64>]) -> Vec<f64> {
    w.iter().flat_map(|m| m.iter().copied()).collect()
}

/// The inverse of [`flatten`] for the shapes of `like`.
pub fn unflatten(y: &[f64], like: &[DMatrix<f64>]) -> Vec<DMatrix<f64>> {
    let mut at = 0;
    like.iter()
        .map(|m| {
            let n = m.len();
            at += n;
            DMatrix::from_column_slice(m.nrows(), m.ncols(), &y[at - n..at])
        })
        .collect()
}

/// The update the run follows on a batch, scaled by 1/tau_w.
fn velocity(
    spec: &MultilayerSpec,
    w: &[DMatrix<f64>],
    set: &SampleSet,
) -> Result<Vec<DMatrix<f64>>> {
    let s = settle(&spec.stack, w, &set.x, SettleOptions::default())?;
    let target = if spec.supervised { set.one_hot() } else { None };
    let g = update(spec.rule, &spec.stack, w, &s, target.as_ref())?;
    Ok(g.dw.into_iter().map(|m| m / spec.tau_w).collect())
}

/// Names of the metrics after `t`.
pub fn metric_names(spec: &MultilayerSpec) -> Vec<String> {
    let mut names = vec!["J".to_string(), "grad_norm".into(), "cos_exact".into()];
    let labelled = spec.train.labels.is_some();
    if labelled {
        names.push("accuracy".into());
    }
    if spec.test.is_some() {
        names.push("J_test".into());
        if labelled {
            names.push("accuracy_test".into());
        }
    }
    if spec.mode == MultilayerMode::Coupled {
        names.push("E".into());
    }
    names
}

/// How class scores are read from a settled top layer: its first `classes` units
/// (supervised nets), or a ridge readout of the whole top fitted on the training set
/// (unsupervised nets, as in the comparison table).
enum Reader {
    Top(usize),
    Ridge(Readout),
}

impl Reader {
    fn new(spec: &MultilayerSpec, train: &Settled) -> Option<Reader> {
        let labels = spec.train.labels.as_ref()?;
        if spec.supervised {
            return Some(Reader::Top(spec.train.classes));
        }
        Readout::fit(train.top(), labels, spec.train.classes, LAMBDA)
            .ok()
            .map(Reader::Ridge)
    }

    /// Fraction of the set's samples whose largest score is their class.
    fn accuracy(&self, s: &Settled, set: &SampleSet) -> f64 {
        let Some(labels) = &set.labels else {
            return f64::NAN;
        };
        let scores = match self {
            Reader::Top(c) => s.top().rows(0, *c).into_owned(),
            Reader::Ridge(r) => r.scores(s.top()),
        };
        accuracy(&scores, labels)
    }
}

/// The metrics of W (NaN when the net cannot be settled: the executor reports it).
pub fn metric_values(spec: &MultilayerSpec, w: &[DMatrix<f64>], row: &mut Vec<f64>) {
    let start = row.len();
    if let Err(e) = push_metrics(spec, w, row) {
        row.truncate(start);
        row.extend(std::iter::repeat_n(f64::NAN, metric_names(spec).len()));
        eprintln!("warning: metrics at this output failed: {e}");
    }
}

fn push_metrics(spec: &MultilayerSpec, w: &[DMatrix<f64>], row: &mut Vec<f64>) -> Result<()> {
    let s = settle(&spec.stack, w, &spec.train.x, SettleOptions::default())?;
    let target = if spec.supervised {
        spec.train.one_hot()
    } else {
        None
    };
    let exact = update(MultiRule::LmserExact, &spec.stack, w, &s, target.as_ref())?;
    let slides_rule = if spec.rule == MultiRule::LmserExact {
        MultiRule::Lmser
    } else {
        spec.rule
    };
    let slides = update(slides_rule, &spec.stack, w, &s, target.as_ref())?;
    let grad_norm = exact
        .dw
        .iter()
        .map(|m| m.norm_squared())
        .sum::<f64>()
        .sqrt();
    row.extend([exact.j, grad_norm, cosine(&slides.dw, &exact.dw)]);
    let reader = Reader::new(spec, &s);
    let acc =
        |s: &Settled, set: &SampleSet| reader.as_ref().map_or(f64::NAN, |r| r.accuracy(s, set));
    if spec.train.labels.is_some() {
        row.push(acc(&s, &spec.train));
    }
    if let Some(test) = &spec.test {
        let st = settle(&spec.stack, w, &test.x, SettleOptions::default())?;
        row.push(crate::dynamics::multilayer::reconstruction_error(w, &st));
        if spec.train.labels.is_some() {
            row.push(acc(&st, test));
        }
    }
    Ok(())
}

/// The averaged ODE tau_w dW/dt = mean over the training set of the rule at each
/// sample's settled state, over vec(W_1..W_K).
pub struct AveragedSystem<'a> {
    spec: &'a MultilayerSpec,
}

impl OdeSystem for AveragedSystem<'_> {
    fn dim(&self) -> usize {
        self.spec.w0.iter().map(|m| m.len()).sum()
    }
    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let w = unflatten(y, &self.spec.w0);
        match velocity(self.spec, &w, &self.spec.train) {
            Ok(v) => dy.copy_from_slice(&flatten(&v)),
            // Settling failed: NaN makes the driver report divergence at this time.
            Err(_) => dy.fill(f64::NAN),
        }
    }
    fn autonomous(&self) -> bool {
        true
    }
}

/// Metrics of the averaged ODE's state.
pub struct AveragedProbe<'a> {
    spec: &'a MultilayerSpec,
}

impl Probe for AveragedProbe<'_> {
    fn names(&self) -> Vec<String> {
        metric_names(self.spec)
    }
    fn values(&mut self, _t: f64, y: &[f64], _dy: &[f64], row: &mut Vec<f64>) {
        metric_values(self.spec, &unflatten(y, &self.spec.w0), row);
    }
    fn needs_derivative(&self) -> bool {
        false
    }
}

/// Checkpoint state of a multilayer run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum MultilayerState {
    /// The solver driver's resume point (state vec(W_1..W_K)); boxed, as it is the
    /// largest variant by far.
    Averaged(Box<ResumePoint>),
    /// Coupled mode: time, presentations done, next output index and the state
    /// (vec Z_1..Z_K, vec W_1..W_K).
    Coupled {
        /// Time reached (presentation per held batch).
        t: f64,
        /// Presentations done.
        k: u64,
        /// Index of the next output.
        next: u64,
        /// The flat state.
        y: Vec<f64>,
        /// Solver counters so far (absent in checkpoints written before they were kept).
        #[serde(default)]
        stats: Option<crate::solver::SolverStats>,
    },
    /// Stochastic mode: time, steps taken, next output index and vec(W_1..W_K).
    Stochastic {
        /// Time reached (eta per step).
        t: f64,
        /// Steps taken; epoch k / batches and position k % batches follow from it.
        k: u64,
        /// Index of the next output.
        next: u64,
        /// vec(W_1..W_K).
        w: Vec<f64>,
    },
}

/// Minibatches in shuffled epochs: batch k is a function of (seed, k) alone (the order
/// of epoch e is a permutation drawn from the seed and e), so a resumed run sees the
/// same batches; a last partial batch of an epoch is skipped.
pub(crate) struct Epochs {
    n: usize,
    size: usize,
    seed: u64,
    order: (u64, Vec<usize>),
}

impl Epochs {
    pub(crate) fn new(spec: &MultilayerSpec) -> Self {
        let n = spec.train.len();
        Epochs {
            n,
            size: spec.batch.min(n),
            seed: spec.seed,
            order: (u64::MAX, Vec::new()),
        }
    }

    /// The training columns of batch k.
    pub(crate) fn columns(&mut self, k: u64) -> Vec<usize> {
        let per_epoch = (self.n / self.size).max(1) as u64;
        let (epoch, pos) = (k / per_epoch, (k % per_epoch) as usize);
        if self.order.0 != epoch {
            let mut idx: Vec<usize> = (0..self.n).collect();
            let seed = self.seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            idx.shuffle(&mut data::rng(seed, data::stream::SAMPLES));
            self.order = (epoch, idx);
        }
        self.order.1[pos * self.size..(pos + 1) * self.size].to_vec()
    }
}

/// Stochastic and two-phase modes: settle a minibatch, then W += (eta_k / tau_w) dW
/// with eta_k = eta / (1 + k / eta_decay) (or eta; eta = presentation in two-phase
/// mode); t advances by eta_k per step.
pub struct StochasticStepper<'a> {
    spec: &'a MultilayerSpec,
    w: Vec<DMatrix<f64>>,
    t: f64,
    k: u64,
    next: u64,
    epochs: Epochs,
}

impl<'a> StochasticStepper<'a> {
    fn new(spec: &'a MultilayerSpec) -> Self {
        StochasticStepper {
            spec,
            w: spec.w0.clone(),
            t: 0.0,
            k: 0,
            next: 1,
            epochs: Epochs::new(spec),
        }
    }

    fn step(&mut self) -> Result<()> {
        let t_end = self.spec.solver.t_end;
        let eta_k = match self.spec.eta_decay {
            Some(d) => self.spec.eta / (1.0 + self.k as f64 / d),
            None => self.spec.eta,
        };
        let eta = eta_k.min(t_end - self.t);
        let idx = self.epochs.columns(self.k);
        let v = velocity(self.spec, &self.w, &self.spec.train.select(&idx))?;
        for (w, dv) in self.w.iter_mut().zip(&v) {
            *w += dv * eta;
        }
        self.k += 1;
        // Without a schedule t = k eta, not a running sum, so output times print as
        // the grid's values.
        let t = match self.spec.eta_decay {
            Some(_) => self.t + eta,
            None => self.k as f64 * self.spec.eta,
        };
        self.t = if t_end - t < 1e-12 * t_end { t_end } else { t };
        solver::check_bound(
            self.t,
            &flatten(&self.w),
            self.spec.solver.divergence_bound,
            |i| format!("W[{i}]"),
            || "the stochastic step is too large; lower learning.eta".into(),
        )
    }
}

impl Stepper for StochasticStepper<'_> {
    type State = MultilayerState;

    fn names(&self) -> Vec<String> {
        let mut n = vec!["t".to_string()];
        n.extend(metric_names(self.spec));
        n
    }
    fn metrics(&mut self, row: &mut Vec<f64>) {
        row.push(self.t);
        metric_values(self.spec, &self.w, row);
    }
    fn time(&self) -> f64 {
        self.t
    }
    fn is_done(&self) -> bool {
        self.t >= self.spec.solver.t_end
    }
    fn advance(&mut self, control: &Control) -> Result<()> {
        let (t_end, dt) = (self.spec.solver.t_end, self.spec.solver.output_dt);
        loop {
            self.step()?;
            control.poll(self.t)?;
            if crate::executor::output_due(self.t, t_end, dt, &mut self.next) {
                return Ok(());
            }
        }
    }
    fn state(&self) -> MultilayerState {
        MultilayerState::Stochastic {
            t: self.t,
            k: self.k,
            next: self.next,
            w: flatten(&self.w),
        }
    }
    fn restore(&mut self, state: MultilayerState) -> Result<()> {
        let MultilayerState::Stochastic { t, k, next, w } = state else {
            return Err(resume_error(
                "checkpoint.json holds the state of another mode".into(),
            ));
        };
        let dim: usize = self.spec.w0.iter().map(|m| m.len()).sum();
        if w.len() != dim {
            return Err(resume_error(format!(
                "checkpoint.json has {} weights, the net {dim}",
                w.len()
            )));
        }
        (self.t, self.k, self.next, self.w) = (t, k, next, unflatten(&w, &self.spec.w0));
        Ok(())
    }
}

/// A multilayer run in either mode.
pub enum MultilayerSimulation<'a> {
    /// The averaged ODE.
    Averaged(Box<OdeStepper<AveragedSystem<'a>, AveragedProbe<'a>>>),
    /// Minibatch steps (stochastic and two-phase modes).
    Stochastic(StochasticStepper<'a>),
    /// Neurons and weights in one ODE over held samples.
    Coupled(Box<super::coupled::CoupledStepper<'a>>),
}

impl<'a> MultilayerSimulation<'a> {
    /// Starts the spec's mode at W0.
    pub fn new(spec: &'a MultilayerSpec) -> Result<Self> {
        Ok(match spec.mode {
            MultilayerMode::Averaged => MultilayerSimulation::Averaged(Box::new(OdeStepper::new(
                AveragedSystem { spec },
                0.0,
                &flatten(&spec.w0),
                &spec.solver,
                AveragedProbe { spec },
            )?)),
            MultilayerMode::Stochastic | MultilayerMode::TwoPhase => {
                MultilayerSimulation::Stochastic(StochasticStepper::new(spec))
            }
            MultilayerMode::Coupled => {
                MultilayerSimulation::Coupled(Box::new(super::coupled::CoupledStepper::new(spec)?))
            }
        })
    }

    /// The current weights.
    pub fn weights(&self) -> Vec<DMatrix<f64>> {
        match self {
            MultilayerSimulation::Averaged(o) => {
                unflatten(o.driver().y(), &o.driver().system().spec.w0)
            }
            MultilayerSimulation::Stochastic(s) => s.w.clone(),
            MultilayerSimulation::Coupled(c) => c.weights(),
        }
    }

    /// The method and work of a coupled run (the other modes report none).
    pub fn report(&self) -> Option<crate::io::summary::SolverReport> {
        match self {
            MultilayerSimulation::Coupled(c) => Some(c.report()),
            _ => None,
        }
    }
}

pub(crate) fn resume_error(message: String) -> crate::error::Error {
    crate::error::Error::Resume {
        dir: ".".into(),
        message,
    }
}

impl Stepper for MultilayerSimulation<'_> {
    type State = MultilayerState;

    fn names(&self) -> Vec<String> {
        match self {
            MultilayerSimulation::Averaged(o) => o.names(),
            MultilayerSimulation::Stochastic(s) => s.names(),
            MultilayerSimulation::Coupled(c) => c.names(),
        }
    }
    fn metrics(&mut self, row: &mut Vec<f64>) {
        match self {
            MultilayerSimulation::Averaged(o) => o.metrics(row),
            MultilayerSimulation::Stochastic(s) => s.metrics(row),
            MultilayerSimulation::Coupled(c) => c.metrics(row),
        }
    }
    fn time(&self) -> f64 {
        match self {
            MultilayerSimulation::Averaged(o) => o.time(),
            MultilayerSimulation::Stochastic(s) => s.time(),
            MultilayerSimulation::Coupled(c) => c.time(),
        }
    }
    fn is_done(&self) -> bool {
        match self {
            MultilayerSimulation::Averaged(o) => o.is_done(),
            MultilayerSimulation::Stochastic(s) => s.is_done(),
            MultilayerSimulation::Coupled(c) => c.is_done(),
        }
    }
    fn advance(&mut self, control: &Control) -> Result<()> {
        match self {
            MultilayerSimulation::Averaged(o) => o.advance(control),
            MultilayerSimulation::Stochastic(s) => s.advance(control),
            MultilayerSimulation::Coupled(c) => c.advance(control),
        }
    }
    fn state(&self) -> MultilayerState {
        match self {
            MultilayerSimulation::Averaged(o) => MultilayerState::Averaged(Box::new(o.state())),
            MultilayerSimulation::Stochastic(s) => s.state(),
            MultilayerSimulation::Coupled(c) => c.state(),
        }
    }
    fn restore(&mut self, state: MultilayerState) -> Result<()> {
        match (self, state) {
            (MultilayerSimulation::Averaged(o), MultilayerState::Averaged(p)) => o.restore(*p),
            (MultilayerSimulation::Coupled(c), st) => c.restore(st),
            (MultilayerSimulation::Stochastic(s), st) => s.restore(st),
            _ => Err(resume_error(
                "checkpoint.json holds the state of another mode".into(),
            )),
        }
    }
}
