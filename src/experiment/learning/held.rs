//! Held samples: each sample x is presented for a time `presentation`, driving either
//! the coupled z-W ODE ([`run_samples`]) or the slides' two-phase procedure
//! ([`two_phase`]: settle z, then one weight step), and [`HeldStepper`], which runs
//! either one sample at a time for the executor, drawing samples in blocks from the
//! run's sample stream.

use super::probe::WeightProbe;
use super::steppers::{LearningState, coupled_params, resume_mismatch, state_size, word_pos};
use super::{LearningSpec, Mode};
use crate::data::{self, stream};
use crate::dynamics::coupled::{
    CoupledParams, CoupledSamples, RuleWork, check_samples, pack_state, rule_into, scale_vec,
    unpack_state,
};
use crate::error::{Error, Result};
use crate::executor::{Control, Stepper};
use crate::io::summary::SolverReport;
use crate::model::network::{Network, Top};
use crate::model::neurons::NeuronDynamics;
use crate::solver::{self, Method, OdeSystem, SolverOptions, SolverStats, StopReason};
use nalgebra::{DMatrix, DVector};
use rand_chacha::ChaCha8Rng;

/// A sample sequence (rows of `samples`), each sample held for `hold`, the first one
/// being sample number `first` of the run: row i is the input during
/// [(first + i) hold, (first + i + 1) hold]. Times are computed from the sample's
/// number, so a run split into blocks (or resumed) sees the same times.
#[derive(Debug, Clone, Copy)]
pub struct Presentations<'a> {
    /// The samples x, one per row (b x n0), in presentation order.
    pub samples: &'a DMatrix<f64>,
    /// T_p > 0: how long each sample is held (learning.presentation; docs/theory.md §6.1).
    pub hold: f64,
    /// The run-wide number (0-based) of the sample in row 0.
    pub first: usize,
}

impl Presentations<'_> {
    /// Start of presentation i.
    fn start(&self, i: usize) -> f64 {
        (self.first + i) as f64 * self.hold
    }
    /// End of presentation i.
    fn end(&self, i: usize) -> f64 {
        (self.first + i + 1) as f64 * self.hold
    }
}

/// Runs the coupled system from the flat state y0 = (z0, vec W0) over the
/// presentations, integrated one presentation at a time with the method, tolerances,
/// step limits, divergence bound and interrupt flag of `opts` (its t_end and
/// output_dt are replaced by the presentation interval). Calls `callback(t, z, W)` at
/// each presentation end. Returns the final state and the solver counters summed over
/// the presentations.
pub fn run_samples(
    sys: &mut CoupledSamples,
    y0: &[f64],
    p: &Presentations,
    opts: &SolverOptions,
    mut callback: impl FnMut(f64, &[f64], &DMatrix<f64>) -> Result<()>,
) -> Result<(Vec<f64>, SolverStats)> {
    let (n1, n0) = sys.shape();
    let (samples, t_p) = (p.samples, p.hold);
    check_samples(samples, n0, t_p);
    assert_eq!(y0.len(), sys.dim(), "y0 must be (z, vec W)");
    let mut y = y0.to_vec();
    let mut total = SolverStats::start(0.0);
    let mut w = DMatrix::zeros(n1, n0);
    let mut x = vec![0.0; n0];
    let mut o = opts.clone();
    o.steady_tol = 0.0;
    for (i, row) in samples.row_iter().enumerate() {
        for (xj, v) in x.iter_mut().zip(row.iter()) {
            *xj = *v;
        }
        sys.set_input(&x);
        let t0 = p.start(i);
        o.t_end = p.end(i);
        o.output_dt = t_p;
        let mut quiet = |_: f64, _: &[f64], _: &[f64]| -> Result<()> { Ok(()) };
        let (y1, s) = solver::integrate(&*sys, t0, &y, &o, &mut quiet)?;
        y = y1;
        total.add(&s);
        w.as_mut_slice().copy_from_slice(&y[n1..]);
        callback(o.t_end, &y[..n1], &w)?;
    }
    Ok((y, total))
}

// ---------------------------------------------------------------------------------
// 2. Two-phase: settle, then one weight step per sample
// ---------------------------------------------------------------------------------

/// How the neurons settle before each weight step of [`two_phase`].
#[derive(Debug, Clone)]
pub enum Settling {
    /// The closed-form fixed point z* = A W x of linear units.
    FixedPoint,
    /// Integrate the neuron ODE of [`NeuronDynamics`] from the previous activity
    /// until ||dz/dt|| < `opts.steady_tol` (which must be > 0); failing to get there
    /// by `opts.t_end` is an error. For one linear layer ||dz/dt|| = ||z - z*|| / tau,
    /// so the settled z is within tau * steady_tol of z*.
    Ode(SolverOptions),
}

impl Settling {
    /// ODE settling to ||z - z*|| < `tol` with Dopri5: steady_tol = tol / tau,
    /// checked every tau, at most 100 tau of settling time.
    pub fn ode(tau: f64, tol: f64) -> Settling {
        assert!(tau > 0.0 && tol > 0.0, "tau and tol must be > 0");
        let mut o = SolverOptions::new(Method::Dopri5, 100.0 * tau);
        o.output_dt = tau;
        o.rtol = 1e-6;
        o.atol = 1e-3 * tol;
        o.steady_tol = tol / tau;
        Settling::Ode(o)
    }
}

/// The two-phase scheme of the slides over the presentations: for each sample x,
/// settle z (per `settling`), then W += (hold / tau_w) G(W, x, z). y0 = (z0, vec W0)
/// as for [`CoupledSamples`] (z0 is where ODE settling starts; the neurons then carry
/// their activity from one sample to the next). `limits` gives the divergence bound
/// and the interrupt flag. Calls `callback(t, z, W)` after each weight step, at the
/// presentation's end. Returns the final (z, vec W) and the settling integrator's
/// counters summed over the samples (all zero for [`Settling::FixedPoint`]; settling
/// time is internal, not on the t axis).
pub fn two_phase(
    params: &CoupledParams,
    y0: &[f64],
    p: &Presentations,
    settling: &Settling,
    limits: &SolverOptions,
    mut callback: impl FnMut(f64, &[f64], &DMatrix<f64>) -> Result<()>,
) -> Result<(Vec<f64>, SolverStats)> {
    let (samples, t_p) = (p.samples, p.hold);
    let n0 = samples.ncols();
    assert!(
        y0.len().is_multiple_of(n0 + 1) && !y0.is_empty(),
        "y0 must be (z, vec W)"
    );
    let n1 = y0.len() / (n0 + 1);
    check_samples(samples, n0, t_p);
    if let Some(a) = &params.gains {
        assert_eq!(a.len(), n1, "one gain per unit");
    }
    let (mut z, mut w) = unpack_state(y0, n1);
    let mut g = DMatrix::zeros(n1, n0);
    let mut work = RuleWork::new(n1, n0);
    let mut x = DVector::zeros(n0);
    let mut total = SolverStats::start(0.0);
    let step = t_p / params.tau_w;
    for (i, row) in samples.row_iter().enumerate() {
        x.copy_from(&row.transpose());
        let t = p.end(i);
        match settling {
            Settling::FixedPoint => {
                z.gemv(1.0, &w, &x, 0.0);
                scale_vec(&mut z, params.gains.as_ref());
            }
            Settling::Ode(opts) => {
                assert!(opts.steady_tol > 0.0, "ODE settling needs steady_tol > 0");
                let net = Network::new(
                    vec![n0, n1],
                    vec![w.clone()],
                    vec![params.activation()],
                    vec![params.tau],
                    Top::Free,
                )?;
                let nd = NeuronDynamics::new(net, x.clone());
                let mut quiet = |_: f64, _: &[f64], _: &[f64]| -> Result<()> { Ok(()) };
                let opts = SolverOptions {
                    interrupt: limits.interrupt.clone(),
                    ..opts.clone()
                };
                let (z1, s) = solver::integrate(&nd, 0.0, z.as_slice(), &opts, &mut quiet)
                    .map_err(|e| match e {
                        // Settling runs on its own clock; report the learning time.
                        Error::Interrupted { .. } => Error::Interrupted { time: t - t_p },
                        other => other,
                    })?;
                if s.stop != StopReason::SteadyState {
                    return Err(Error::SolverFailed {
                        time: t,
                        reason: format!(
                            "the neurons did not settle to ||dz/dt|| < {:e} within {} time units",
                            opts.steady_tol, opts.t_end
                        ),
                        hint: "raise the settling time or loosen the settling tolerance".into(),
                    });
                }
                z.copy_from_slice(&z1);
                total.add(&s);
            }
        }
        rule_into(
            &w.as_view(),
            &x,
            &z.as_view(),
            params.gains.as_ref(),
            step,
            &mut work,
            &mut g.as_view_mut(),
        );
        w += &g;
        solver::check_bound(
            t,
            w.as_slice(),
            limits.divergence_bound,
            |i| weight_name(i, n1),
            || "the weight step t_p / tau_w is too large; raise tau_w".into(),
        )?;
        solver::poll(&limits.interrupt, t)?;
        total.t_final = t;
        callback(t, z.as_slice(), &w)?;
    }
    Ok((pack_state(z.as_slice(), &w), total))
}

/// Samples are drawn from the run's sample stream in blocks of this many; a block
/// starts at a multiple of it, so a resumed run redraws the same block from the
/// saved stream position.
const BLOCK: usize = 1024;

/// Held samples (coupled over samples, or two-phase) for the executor: each advance
/// presents samples until an output time is reached at the end of a presentation.
pub struct HeldStepper<'a> {
    spec: &'a LearningSpec,
    probe: WeightProbe<'a>,
    params: CoupledParams,
    presentation: f64,
    total: usize,
    two_phase: Option<Settling>,
    sys: CoupledSamples,
    opts: SolverOptions,
    rng: ChaCha8Rng,
    /// The current block of samples, its first sample's number and the stream
    /// position it was drawn from.
    block: Option<(DMatrix<f64>, usize, String)>,
    y: Vec<f64>,
    done: usize,
    next: u64,
    t: f64,
    stats: SolverStats,
}

impl<'a> HeldStepper<'a> {
    /// The held-sample run of `spec` (mode coupled over samples, or two-phase).
    pub fn new(spec: &'a LearningSpec) -> Self {
        let (n1, n0) = spec.w0.shape();
        let (tau, presentation, two_phase) = match spec.mode {
            Mode::Coupled {
                tau, presentation, ..
            } => (tau, presentation, None),
            Mode::TwoPhase {
                tau,
                presentation,
                ode_settling,
            } => (
                tau,
                presentation,
                Some(if ode_settling {
                    Settling::ode(tau, 1e-9)
                } else {
                    Settling::FixedPoint
                }),
            ),
            _ => unreachable!("held samples run the coupled and two-phase modes"),
        };
        let params = coupled_params(spec, tau);
        HeldStepper {
            spec,
            probe: WeightProbe::new(spec, 0),
            sys: CoupledSamples::new(params.clone(), n1, n0),
            params,
            presentation,
            total: (spec.solver.t_end / presentation).round().max(1.0) as usize,
            two_phase,
            opts: spec.solver.clone(),
            rng: data::rng(spec.seed, stream::SAMPLES),
            block: None,
            y: pack_state(&vec![0.0; n1], &spec.w0),
            done: 0,
            next: 1,
            t: 0.0,
            stats: SolverStats::start(0.0),
        }
    }

    /// The current weights.
    pub fn weights(&self) -> DMatrix<f64> {
        unpack_state(&self.y, self.spec.w0.nrows()).1
    }

    /// Counters of the integrations so far.
    pub fn stats(&self) -> SolverStats {
        self.stats
    }

    /// Adds the held-sample facts to an ODE report.
    pub fn report(&self, mut r: SolverReport) -> SolverReport {
        r.samples = Some(self.total as u64);
        r.presentation = Some(self.presentation);
        if let Some(settling) = &self.two_phase {
            r.method = match settling {
                Settling::Ode(_) => "two-phase, neuron ODE settled by dopri5",
                Settling::FixedPoint => "two-phase, closed-form settling",
            }
            .into();
            r.why = Some("the slides' procedure: settle z, then one weight step per sample".into());
        }
        r
    }

    /// Presents sample number `done` (drawing its block when needed).
    fn present_next(&mut self) -> Result<()> {
        let block_start = self.done / BLOCK * BLOCK;
        if self.block.as_ref().is_none_or(|b| b.1 != block_start) {
            let pos = self.rng.get_word_pos().to_string();
            let b = BLOCK.min(self.total - block_start);
            self.block = Some((self.spec.dataset.sample(b, &mut self.rng), block_start, pos));
        }
        let (block, start, _) = self.block.as_ref().expect("drawn above");
        let x = block.rows(self.done - start, 1).into_owned();
        let held = Presentations {
            samples: &x,
            hold: self.presentation,
            first: self.done,
        };
        let quiet = |_: f64, _: &[f64], _: &DMatrix<f64>| Ok(());
        let (y, s) = match &self.two_phase {
            None => run_samples(&mut self.sys, &self.y, &held, &self.opts, quiet)?,
            Some(settling) => two_phase(&self.params, &self.y, &held, settling, &self.opts, quiet)?,
        };
        self.y = y;
        self.stats.add(&s);
        self.done += 1;
        self.t = held.end(0);
        Ok(())
    }
}

impl Stepper for HeldStepper<'_> {
    type State = LearningState;

    fn names(&self) -> Vec<String> {
        self.probe.header()
    }

    fn metrics(&mut self, row: &mut Vec<f64>) {
        row.push(self.t);
        let w = self.weights();
        self.probe.weight_values(&w, row);
    }

    fn time(&self) -> f64 {
        self.t
    }

    fn is_done(&self) -> bool {
        self.done >= self.total
    }

    fn advance(&mut self, control: &Control) -> Result<()> {
        if let Some(flag) = control.flag() {
            self.opts.interrupt = Some(flag);
        }
        let dt = self.spec.solver.output_dt;
        let end = self.total as f64 * self.presentation;
        while !self.is_done() {
            self.present_next()?;
            let t = self.t;
            if t >= self.next as f64 * dt - 1e-9 * dt || (t - end).abs() < 1e-9 * self.presentation
            {
                self.next = (t / dt + 1e-9).floor() as u64 + 1;
                return Ok(());
            }
        }
        Ok(())
    }

    fn state(&self) -> LearningState {
        // The stream position of the block the next sample belongs to: the current
        // block's start, or, when the next sample opens a new block, the position
        // after the current one.
        let block_word_pos = match &self.block {
            Some((_, start, pos)) if self.done < start + BLOCK => pos.clone(),
            _ => self.rng.get_word_pos().to_string(),
        };
        LearningState::Held {
            samples_done: self.done as u64,
            next: self.next,
            y: self.y.clone(),
            block_word_pos,
            stats: Some(self.stats),
        }
    }

    fn restore(&mut self, state: LearningState) -> Result<()> {
        let LearningState::Held {
            samples_done,
            next,
            y,
            block_word_pos,
            stats,
        } = state
        else {
            return Err(resume_mismatch());
        };
        if y.len() != self.y.len() {
            return Err(state_size("(z, W)", y.len(), self.y.len()));
        }
        if samples_done as usize > self.total {
            return Err(state_size(
                "presented samples",
                samples_done as usize,
                self.total,
            ));
        }
        self.rng.set_word_pos(word_pos(&block_word_pos)?);
        self.block = None;
        (self.done, self.next, self.y) = (samples_done as usize, next, y);
        self.t = self.done as f64 * self.presentation;
        self.stats = stats.unwrap_or_else(|| SolverStats::start(self.t));
        Ok(())
    }
}

/// The name of entry i of vec W (column-major) of an n1-row W: `W[row,col]`, 1-based.
pub(super) fn weight_name(i: usize, n1: usize) -> String {
    format!("W[{},{}]", i % n1 + 1, i / n1 + 1)
}
