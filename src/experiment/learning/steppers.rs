//! One [`Stepper`] per learning mode: the averaged ODE and the averaged coupled ODE
//! run by the solver driver ([`OdeStepper`]), the stochastic loop
//! ([`StochasticStepper`]) and held samples ([`HeldStepper`]: coupled or two-phase);
//! [`Simulation`] picks the one a [`LearningSpec`] asks for.

use super::held::{HeldStepper, weight_name};
use super::probe::WeightProbe;
use super::{LearningSpec, Mode};
use crate::data::{self, stream};
use crate::dynamics::averaged::AveragedLearning;
use crate::dynamics::coupled::{CoupledAveraged, CoupledParams};
use crate::dynamics::rules::{Moment, Rule, Workspace, flow};
use crate::error::{Error, Result};
use crate::executor::{Control, Executor, Observer, OdeStepper, Probe, Stepper};
use crate::io::summary::{SolverReport, StochasticReport};
use crate::linalg::{self, Op};
use crate::solver::{self, ResumePoint};
use nalgebra::DMatrix;
use rand_chacha::ChaCha8Rng;

/// Where a learning run stands after an output: enough to continue it exactly.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum LearningState {
    /// The solver driver's resume point (state = vec W, or (vec Z, vec W)).
    Averaged(ResumePoint),
    /// The averaged ODE on Sigma, integrated in Sigma's eigenbasis: the solver
    /// driver's resume point with state vec V, V = W Phi (Phi the run's
    /// eigenvectors); W = V Phi^T.
    Eigenbasis(ResumePoint),
    /// The stochastic loop: time, steps taken, next output index, W (column-major)
    /// and the position of the sample stream (a u128 as a decimal string).
    Stochastic {
        /// Time reached: the sum of the steps eta_k taken.
        t: f64,
        /// Steps taken (the k of eta_k = eta / (1 + k / eta_decay)).
        k: u64,
        /// Index of the next output, due at t = next * output_dt.
        next: u64,
        /// W (n1 x n0), column-major.
        w: Vec<f64>,
        /// Word position of the sample stream, a u128 as a decimal string.
        word_pos: String,
    },
    /// Held-sample runs (coupled over samples, two-phase): samples presented so far,
    /// next output index, the state (z, vec W), the sample stream's position at the
    /// start of the block of samples the next sample belongs to, and the solver
    /// counters so far (absent in checkpoints of earlier versions).
    Held {
        /// Samples presented so far; t = samples_done * presentation.
        samples_done: u64,
        /// Index of the next output, due at t = next * output_dt.
        next: u64,
        /// The flat state (z, vec W): n1 activities, then W column-major.
        y: Vec<f64>,
        /// Sample-stream position (u128, decimal) at the start of the next sample's block.
        block_word_pos: String,
        /// Solver counters so far (None in checkpoints of earlier versions).
        #[serde(default)]
        stats: Option<solver::SolverStats>,
    },
}

/// A checkpoint state whose `what` has `got` values where this run has `want`.
pub(super) fn state_size(what: &str, got: usize, want: usize) -> Error {
    Error::Resume {
        dir: ".".into(),
        message: format!("checkpoint.json holds {got} values of {what}, this run has {want}"),
    }
}

pub(super) fn resume_mismatch() -> Error {
    Error::Resume {
        dir: ".".into(),
        message: "checkpoint.json holds the state of another mode".into(),
    }
}

/// A stream position saved as a decimal string (a u128 does not fit JSON numbers).
pub(super) fn word_pos(s: &str) -> Result<u128> {
    s.parse().map_err(|_| resume_mismatch())
}

/// tau, tau_w and the gains of a coupled run.
pub(super) fn coupled_params(spec: &LearningSpec, tau: f64) -> CoupledParams {
    match &spec.rule {
        Rule::Lmser { gains: Some(a), .. } => CoupledParams::amplified(tau, spec.tau_w, a.clone()),
        _ => CoupledParams::new(tau, spec.tau_w),
    }
}

/// The stochastic mode: W += (eta_k / tau_w) F(W; x x^T) on fresh (mini)batches, t
/// advancing by eta_k per step.
pub struct StochasticStepper<'a> {
    spec: &'a LearningSpec,
    probe: WeightProbe<'a>,
    eta: f64,
    decay: Option<f64>,
    rng: ChaCha8Rng,
    x: DMatrix<f64>,
    ws: Workspace,
    f: DMatrix<f64>,
    t: f64,
    k: u64,
    next: u64,
    w: DMatrix<f64>,
}

impl<'a> StochasticStepper<'a> {
    fn new(spec: &'a LearningSpec, eta: f64, decay: Option<f64>, batch: usize) -> Self {
        let (n1, n0) = spec.w0.shape();
        StochasticStepper {
            spec,
            probe: WeightProbe::new(spec, 0),
            eta,
            decay,
            rng: data::rng(spec.seed, stream::SAMPLES),
            x: DMatrix::zeros(batch, n0),
            ws: Workspace::new(n1, n0),
            f: DMatrix::zeros(n1, n0),
            t: 0.0,
            k: 0,
            next: 1,
            w: spec.w0.clone(),
        }
    }

    fn step(&mut self) -> Result<()> {
        let (t_end, spec) = (self.spec.solver.t_end, self.spec);
        let step = self
            .decay
            .map_or(self.eta, |d| self.eta / (1.0 + self.k as f64 / d))
            .min(t_end - self.t);
        spec.dataset.sample_into(&mut self.x, &mut self.rng);
        flow(
            &spec.rule,
            &self.w,
            &Moment::Samples(&self.x),
            &mut self.ws,
            &mut self.f,
        );
        self.w += &self.f * (step / spec.tau_w);
        self.t = if t_end - self.t - step < 1e-12 * t_end {
            t_end
        } else {
            self.t + step
        };
        self.k += 1;
        let n1 = self.w.nrows();
        solver::check_bound(
            self.t,
            self.w.as_slice(),
            spec.solver.divergence_bound,
            |i| weight_name(i, n1),
            || "the stochastic step is too large; lower learning.eta or add eta_decay".into(),
        )
    }
}

impl Stepper for StochasticStepper<'_> {
    type State = LearningState;

    fn names(&self) -> Vec<String> {
        self.probe.header()
    }

    fn metrics(&mut self, row: &mut Vec<f64>) {
        row.push(self.t);
        self.probe.weight_values(&self.w, row);
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

    fn state(&self) -> LearningState {
        LearningState::Stochastic {
            t: self.t,
            k: self.k,
            next: self.next,
            w: self.w.as_slice().to_vec(),
            word_pos: self.rng.get_word_pos().to_string(),
        }
    }

    fn restore(&mut self, state: LearningState) -> Result<()> {
        let LearningState::Stochastic {
            t,
            k,
            next,
            w,
            word_pos: pos,
        } = state
        else {
            return Err(resume_mismatch());
        };
        let (n1, n0) = self.spec.w0.shape();
        if w.len() != n1 * n0 {
            return Err(state_size("W", w.len(), n1 * n0));
        }
        self.rng.set_word_pos(word_pos(&pos)?);
        (self.t, self.k, self.next) = (t, k, next);
        self.w = DMatrix::from_column_slice(n1, n0, &w);
        Ok(())
    }
}

/// `s` with BDF as its stiff fallback when the method was chosen automatically
/// (not named in the config) and the state is small enough for dense Jacobians
/// ([`MAX_FALLBACK_DIM`](super::spec::MAX_FALLBACK_DIM)): the automatic choice does
/// not end a run with "stiffness detected"; the switch is reported in summary.json.
/// BDF, not Rodas4: on the stiff test set at the same accuracy it takes 1.3-13 times
/// fewer right-hand sides and 10-100 times fewer Jacobians (docs/numerics.md §5.7).
fn with_fallback<S: solver::OdeSystem, P: crate::executor::Probe>(
    mut s: OdeStepper<S, P>,
    spec: &LearningSpec,
) -> OdeStepper<S, P> {
    let dim = s.driver().y().len();
    if spec.solver_reason != super::spec::CONFIG_CHOICE && dim <= super::spec::MAX_FALLBACK_DIM {
        s.driver_mut().set_stiff_fallback(solver::Method::Bdf);
    }
    s
}

/// The stepper of a learning spec's mode: a [`Stepper`] whose rows are the learning
/// metrics (`t`, `J`, `grad_norm`, `subspace_error`, `orth_error`, overlaps).
pub struct Simulation<'a> {
    spec: &'a LearningSpec,
    inner: Inner<'a>,
}

/// A probe of the state's tail from an offset (the weights after the neurons).
struct Tail<P>(P, usize);

impl<P: Probe> Probe for Tail<P> {
    fn names(&self) -> Vec<String> {
        self.0.names()
    }
    fn values(&mut self, t: f64, y: &[f64], dy: &[f64], row: &mut Vec<f64>) {
        self.0
            .values(t, &y[self.1..], dy.get(self.1..).unwrap_or_default(), row);
    }
    fn needs_derivative(&self) -> bool {
        self.0.needs_derivative()
    }
}

/// The steppers of the modes.
enum Inner<'a> {
    Averaged(OdeStepper<AveragedLearning, WeightProbe<'a>>),
    Eigenbasis(OdeStepper<AveragedLearning, WeightProbe<'a>>),
    CoupledAveraged(OdeStepper<CoupledAveraged, Tail<WeightProbe<'a>>>),
    Stochastic(StochasticStepper<'a>),
    Held(HeldStepper<'a>),
}

/// Applies an expression to the stepper inside every variant.
macro_rules! each {
    ($sim:expr, $s:ident => $e:expr) => {
        match $sim {
            Inner::Averaged($s) => $e,
            Inner::Eigenbasis($s) => $e,
            Inner::CoupledAveraged($s) => $e,
            Inner::Stochastic($s) => $e,
            Inner::Held($s) => $e,
        }
    };
}

impl<'a> Simulation<'a> {
    /// The stepper of `spec`, at t = 0. The averaged ODE on Sigma is integrated in
    /// Sigma's eigenbasis (V = W Phi, O(n1^2 n0) per right-hand side instead of
    /// O(n1 n0^2)); metrics come from V, W = V Phi^T is formed only when asked for.
    pub fn new(spec: &'a LearningSpec) -> Result<Self> {
        let (n1, n0) = spec.w0.shape();
        let inner = match spec.mode {
            Mode::Averaged => match &spec.samples {
                Some(x) => {
                    let sys = AveragedLearning::over_samples(
                        spec.rule.clone(),
                        x.clone(),
                        spec.tau_w,
                        n1,
                    );
                    let probe = WeightProbe::new(spec, 0);
                    let y0 = spec.w0.as_slice();
                    let s = OdeStepper::new(sys, 0.0, y0, &spec.solver, probe)?;
                    Inner::Averaged(with_fallback(s, spec))
                }
                None => {
                    let phi = &spec.spectrum.vectors;
                    let v0 = linalg::product(&spec.w0, Op::N, phi, Op::N);
                    let lam = spec.spectrum.values.clone();
                    let sys =
                        AveragedLearning::in_eigenbasis(spec.rule.clone(), lam, spec.tau_w, n1);
                    let probe = WeightProbe::in_eigenbasis(spec);
                    let y0 = v0.as_slice();
                    let s = OdeStepper::new(sys, 0.0, y0, &spec.solver, probe)?;
                    Inner::Eigenbasis(with_fallback(s, spec))
                }
            },
            Mode::Coupled {
                tau,
                averaged_input: true,
                ..
            } => {
                // In Sigma's eigenbasis, as the averaged ODE: state (vec Z Phi, vec W Phi).
                let lam = spec.spectrum.values.clone();
                let sys = CoupledAveraged::in_eigenbasis(coupled_params(spec, tau), lam, n1);
                let v0 = linalg::product(&spec.w0, Op::N, &spec.spectrum.vectors, Op::N);
                let y0 = sys.settled_state(&v0);
                let probe = Tail(WeightProbe::in_eigenbasis(spec), n1 * n0);
                let s = OdeStepper::new(sys, 0.0, &y0, &spec.solver, probe)?;
                Inner::CoupledAveraged(with_fallback(s, spec))
            }
            Mode::Stochastic { eta, decay, batch } => {
                Inner::Stochastic(StochasticStepper::new(spec, eta, decay, batch))
            }
            Mode::Coupled { .. } | Mode::TwoPhase { .. } => Inner::Held(HeldStepper::new(spec)),
        };
        Ok(Simulation { spec, inner })
    }

    /// The current weights.
    pub fn weights(&self) -> DMatrix<f64> {
        match &self.inner {
            Inner::Averaged(s) => {
                let (n1, n0) = s.probe().shape();
                DMatrix::from_column_slice(n1, n0, s.driver().y())
            }
            Inner::Eigenbasis(s) => {
                let (n1, n0) = s.probe().shape();
                let v = DMatrix::from_column_slice(n1, n0, s.driver().y());
                linalg::product(&v, Op::N, &self.spec.spectrum.vectors, Op::T)
            }
            Inner::CoupledAveraged(s) => {
                let v = s.driver().system().split(s.driver().y()).1;
                linalg::product(&v, Op::N, &self.spec.spectrum.vectors, Op::T)
            }
            Inner::Stochastic(s) => s.w.clone(),
            Inner::Held(s) => s.weights(),
        }
    }

    /// The method and the work done, for `summary.json`.
    pub fn report(&self, spec: &LearningSpec) -> SolverReport {
        let ode = |stats| {
            let mut r = SolverReport::of(&spec.solver, &stats);
            r.why = Some(spec.solver_reason.clone());
            r
        };
        let switched = |mut r: SolverReport, d: &[solver::MethodSwitch]| {
            r.switches = d.to_vec();
            r
        };
        match &self.inner {
            Inner::Averaged(s) => switched(ode(s.stats()), s.driver().switches()),
            Inner::Eigenbasis(s) => {
                let mut r = switched(ode(s.stats()), s.driver().switches());
                r.why = Some(format!(
                    "{}; integrated in Sigma's eigenbasis (V = W Phi)",
                    spec.solver_reason
                ));
                r
            }
            Inner::CoupledAveraged(s) => {
                let mut r = switched(ode(s.stats()), s.driver().switches());
                r.why = Some(format!(
                    "{}; integrated in Sigma's eigenbasis (V = W Phi)",
                    spec.solver_reason
                ));
                r
            }
            Inner::Stochastic(s) => {
                let Mode::Stochastic { batch, .. } = spec.mode else {
                    unreachable!("a stochastic stepper runs a stochastic spec")
                };
                SolverReport {
                    method: "stochastic".into(),
                    stochastic: Some(StochasticReport {
                        eta: s.eta,
                        eta_decay: s.decay,
                        batch,
                        steps: s.k,
                    }),
                    ..Default::default()
                }
            }
            Inner::Held(s) => s.report(ode(s.stats())),
        }
    }
}

impl Stepper for Simulation<'_> {
    type State = LearningState;

    fn names(&self) -> Vec<String> {
        each!(&self.inner, s => s.names())
    }
    fn metrics(&mut self, row: &mut Vec<f64>) {
        each!(&mut self.inner, s => s.metrics(row))
    }
    fn time(&self) -> f64 {
        each!(&self.inner, s => s.time())
    }
    fn is_done(&self) -> bool {
        each!(&self.inner, s => s.is_done())
    }
    fn advance(&mut self, control: &Control) -> Result<()> {
        each!(&mut self.inner, s => s.advance(control))
    }
    fn state(&self) -> LearningState {
        match &self.inner {
            Inner::Averaged(s) => LearningState::Averaged(s.state()),
            Inner::Eigenbasis(s) => LearningState::Eigenbasis(s.state()),
            Inner::CoupledAveraged(s) => LearningState::Averaged(s.state()),
            Inner::Stochastic(s) => s.state(),
            Inner::Held(s) => s.state(),
        }
    }
    fn restore(&mut self, state: LearningState) -> Result<()> {
        match (&mut self.inner, state) {
            (Inner::Averaged(s), LearningState::Averaged(p)) => s.restore(p),
            (Inner::Eigenbasis(s), LearningState::Eigenbasis(p)) => s.restore(p),
            (Inner::CoupledAveraged(s), LearningState::Averaged(p)) => s.restore(p),
            (Inner::Stochastic(s), st) => s.restore(st),
            (Inner::Held(s), st) => s.restore(st),
            _ => Err(resume_mismatch()),
        }
    }
}

/// Runs a learning spec to its end with `observer` seeing every row; returns the
/// final W and the solver report. Same spec, same numbers, bit for bit.
pub fn simulate(
    spec: &LearningSpec,
    observer: &mut dyn Observer,
) -> Result<(DMatrix<f64>, SolverReport)> {
    let sim = Simulation::new(spec)?;
    let (sim, result) = Executor::new(sim)
        .observe(observer)
        .interrupt(spec.solver.interrupt.clone())
        .run();
    result.map(|()| (sim.weights(), sim.report(spec)))
}
