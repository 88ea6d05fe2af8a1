//! The one driver of every method: it holds the state at the current output time
//! and advances it to the next (the methods carry their steps across). [`super::integrate`]
//! loops over it; the run executor steps it output by output.

use super::carry::CarryPoint;
use super::explicit::Explicit;
use super::options::{check_state, check_step};
use super::stepped::{StepPoint, Stepping};
use super::stiff_lib::StiffLib;
use super::{Method, OdeSystem, SolverOptions};
use crate::error::{Error, Result};

/// Why an integration stopped normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StopReason {
    /// t_end reached.
    EndTime,
    /// ||dy/dt|| fell below `steady_tol`.
    SteadyState,
}

/// Counters of one integration.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SolverStats {
    /// Steps accepted (fixed-point: sweeps).
    pub accepted_steps: u64,
    /// Steps rejected by the error control (0 for rk4 and fixed-point).
    pub rejected_steps: u64,
    /// Evaluations of dy/dt, finite-difference Jacobians of Rosenbrock methods included.
    pub rhs_evals: u64,
    /// Jacobians df/dy evaluated by the Rosenbrock methods (the system's own or by
    /// differences; 0 for the other methods and in resume points written before).
    #[serde(default)]
    pub jacobians: u64,
    /// Output times evaluated, the start included.
    pub outputs: u64,
    /// Time of the last output evaluated.
    pub t_final: f64,
    /// Why the integration stopped: t_end reached or a steady state.
    pub stop: StopReason,
}

impl SolverStats {
    /// Zero counters of an integration starting at t0.
    pub fn start(t0: f64) -> Self {
        SolverStats {
            accepted_steps: 0,
            rejected_steps: 0,
            rhs_evals: 0,
            jacobians: 0,
            outputs: 0,
            t_final: t0,
            stop: StopReason::EndTime,
        }
    }

    /// Adds the counters of a later integration (times and stop reason from `s`).
    pub fn add(&mut self, s: &SolverStats) {
        self.accepted_steps += s.accepted_steps;
        self.rejected_steps += s.rejected_steps;
        self.rhs_evals += s.rhs_evals;
        self.jacobians += s.jacobians;
        self.outputs += s.outputs;
        self.t_final = s.t_final;
        self.stop = s.stop;
    }
}

/// The driver's state just after an output: continuing from it with
/// [`Driver::resume`] reproduces the uninterrupted run bit for bit (Dopri5 and Dop853
/// carry their last step in `carry`, Rodas4, IMEX and RK4 in `step`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResumePoint {
    /// Start time of the whole integration (output times are t0 + i output_dt).
    pub t0: f64,
    /// Time of the output.
    pub t: f64,
    /// Index i of the output (t = t0 + i output_dt, or t_end).
    pub index: u64,
    /// Step size carried into the next interval (adaptive methods).
    pub h: f64,
    /// The state at t.
    pub y: Vec<f64>,
    /// Counters so far.
    pub stats: SolverStats,
    /// The last step of a Dopri5 or Dop853 integration (None before the first step,
    /// for the other methods, and in resume points written before steps were carried
    /// across outputs, which then restart the method at `t`).
    #[serde(default)]
    pub carry: Option<CarryPoint>,
    /// The last step of a Rodas4, IMEX or RK4 integration (None before the
    /// first step, for the other methods, and in resume points written before these
    /// were carried across outputs, which then restart the method at `t`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepPoint>,
    /// Changes of method so far ([`Driver::set_stiff_fallback`]); a resumed driver
    /// continues with the last one's method.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub switches: Vec<MethodSwitch>,
}

/// A change of method during an integration: an explicit method stopped with
/// "stiffness detected" and the driver continued with its stiff fallback from the
/// last output.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MethodSwitch {
    /// The output time the fallback continued from.
    pub t: f64,
    /// The method that stopped (config name).
    pub from: String,
    /// The method that continued (config name).
    pub to: String,
    /// Why, with the time the first method stopped at.
    pub reason: String,
}

/// The reason text of an explicit method's stiffness stop (src/solver/explicit.rs).
pub const STIFFNESS_DETECTED: &str = "stiffness detected";

/// The method of a config name (its serde name), for switches read back.
fn method_named(name: &str) -> Option<Method> {
    serde_json::from_value(serde_json::Value::String(name.into())).ok()
}

/// An integration in progress, standing at an output time.
pub struct Driver<S: OdeSystem> {
    sys: S,
    opts: SolverOptions,
    t0: f64,
    t: f64,
    index: u64,
    h: f64,
    y: Vec<f64>,
    dy: Vec<f64>,
    stats: SolverStats,
    library: Option<StiffLib>,
    explicit: Option<Explicit>,
    stepping: Option<Stepping>,
    /// The carried step of a resume point, until the method starts from it.
    carry: Option<CarryPoint>,
    step: Option<StepPoint>,
    /// The method to continue with when an explicit one detects stiffness.
    fallback: Option<Method>,
    switches: Vec<MethodSwitch>,
}

impl<S: OdeSystem> Driver<S> {
    /// Starts at (t0, y0); the first output is (t0, y0) itself.
    pub fn new(sys: S, t0: f64, y0: &[f64], opts: &SolverOptions) -> Result<Self> {
        let point = ResumePoint {
            t0,
            t: t0,
            index: 0,
            h: 0.0,
            y: y0.to_vec(),
            stats: SolverStats::start(t0),
            carry: None,
            step: None,
            switches: Vec::new(),
        };
        Self::at(sys, point, true, opts)
    }

    /// Continues from a [`ResumePoint`]; its output was counted before.
    pub fn resume(sys: S, point: &ResumePoint, opts: &SolverOptions) -> Result<Self> {
        Self::at(sys, point.clone(), false, opts)
    }

    fn at(sys: S, p: ResumePoint, count: bool, opts: &SolverOptions) -> Result<Self> {
        // The Rosenbrock methods' and diffsol's LU read faer's global parallelism.
        crate::linalg::sequential();
        let n = sys.dim();
        let mut d = Driver {
            sys,
            opts: opts.clone(),
            t0: p.t0,
            t: p.t,
            index: 0,
            h: 0.0,
            y: Vec::new(),
            dy: vec![0.0; n],
            stats: p.stats,
            library: None,
            explicit: None,
            stepping: None,
            carry: None,
            step: None,
            fallback: None,
            switches: Vec::new(),
        };
        d.jump(p, count)?;
        Ok(d)
    }

    /// Continues from `point` (an output of an earlier run of the same system and
    /// options), which is not counted again.
    pub fn restore(&mut self, point: &ResumePoint) -> Result<()> {
        if point.y.len() != self.sys.dim() {
            return Err(Error::Resume {
                dir: ".".into(),
                message: format!(
                    "the saved state has {} values, this system {}",
                    point.y.len(),
                    self.sys.dim()
                ),
            });
        }
        self.jump(point.clone(), false)
    }

    /// Polls `flag` after every step (see [`SolverOptions::interrupt`]).
    pub fn set_interrupt(&mut self, flag: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>) {
        self.opts.interrupt = flag;
    }

    fn jump(&mut self, p: ResumePoint, count: bool) -> Result<()> {
        assert_eq!(
            p.y.len(),
            self.sys.dim(),
            "initial state has the wrong dimension"
        );
        if self.opts.method == Method::FixedPoint && !self.sys.discrete_step(&mut p.y.clone()) {
            return Err(Error::SolverFailed {
                time: p.t,
                reason: "this system has no discrete fixed-point form".into(),
                hint: "choose dopri5, dop853 or rk4".into(),
            });
        }
        if self.opts.method == Method::Imex && self.sys.as_split().is_none() {
            return Err(Error::SolverFailed {
                time: p.t,
                reason: "imex needs a fast/slow split, which this system does not have".into(),
                hint: "choose bdf or rodas4 (stiff) or dopri5".into(),
            });
        }
        (self.t0, self.t, self.index, self.h, self.y, self.stats) =
            (p.t0, p.t, p.index, p.h, p.y, p.stats);
        (self.explicit, self.carry, self.library) = (None, p.carry, None);
        (self.stepping, self.step) = (None, p.step);
        if let Some(m) = p.switches.last().and_then(|s| method_named(&s.to)) {
            self.opts.method = m;
        }
        self.switches = p.switches;
        self.evaluate(count)
    }

    /// True when dy/dt is evaluated at the outputs ([`SolverOptions::output_derivative`],
    /// or a steady-state test that reads it).
    fn wants_dy(&self) -> bool {
        self.opts.output_derivative || self.opts.steady_tol > 0.0
    }

    /// Checks the state at the output time and evaluates dy/dt there (when wanted);
    /// counts the output when `count`.
    fn evaluate(&mut self, count: bool) -> Result<()> {
        let (sys, t) = (&self.sys, self.t);
        check_state(sys, t, &self.y, &self.opts)?;
        if self.wants_dy() {
            sys.rhs(t, &self.y, &mut self.dy);
            if count {
                self.stats.rhs_evals += 1;
            }
            // dy/dt may be large (fast time constants); only a non-finite one is
            // divergence.
            if let Some(i) = self.dy.iter().position(|v| !v.is_finite()) {
                return Err(Error::Diverged {
                    time: t,
                    quantity: format!("d{}/dt", sys.state_name(i)),
                    value: self.dy[i],
                    hint: sys.divergence_hint(),
                });
            }
        }
        if count {
            self.stats.outputs += 1;
            self.stats.t_final = t;
        }
        Ok(())
    }

    /// The system.
    pub fn system(&self) -> &S {
        &self.sys
    }

    /// Time of the current output.
    pub fn t(&self) -> f64 {
        self.t
    }

    /// State at the current output.
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// dy/dt at the current output; None when the options ask for no derivative at
    /// outputs ([`SolverOptions::output_derivative`]).
    pub fn dy(&self) -> Option<&[f64]> {
        self.wants_dy().then_some(&self.dy[..])
    }

    fn steady(&self) -> bool {
        self.opts.steady_tol > 0.0 && super::norm(&self.dy) < self.opts.steady_tol
    }

    /// True once t_end or a steady state (`steady_tol`) is reached.
    pub fn is_done(&self) -> bool {
        self.steady() || self.t >= self.opts.t_end
    }

    /// Counters so far, with the reason for stopping.
    pub fn stats(&self) -> SolverStats {
        let mut s = self.stats;
        if self.steady() {
            s.stop = StopReason::SteadyState;
        }
        s
    }

    /// Everything needed to continue from the current output with [`Driver::resume`].
    pub fn resume_point(&self) -> ResumePoint {
        ResumePoint {
            t0: self.t0,
            t: self.t,
            index: self.index,
            h: self.h,
            y: self.y.clone(),
            stats: self.stats(),
            carry: match &self.explicit {
                Some(e) => e.point(),
                None => self.carry.clone(),
            },
            step: match &self.stepping {
                Some(s) => s.point(),
                None => self.step.clone(),
            },
            switches: self.switches.clone(),
        }
    }

    /// When an explicit method (Dopri5, Dop853) stops with "stiffness detected",
    /// continue from the last output with `method` (e.g. BDF) instead of failing,
    /// and record the switch ([`Driver::switches`]). The steps of the abandoned
    /// interval stay counted.
    pub fn set_stiff_fallback(&mut self, method: Method) {
        self.fallback = Some(method);
    }

    /// The changes of method so far.
    pub fn switches(&self) -> &[MethodSwitch] {
        &self.switches
    }

    /// The method integrating now (the configured one until a switch).
    pub fn method(&self) -> Method {
        self.opts.method
    }

    /// Back to the output `p` and on with the fallback `to` after `from` stopped at
    /// `time` with stiffness; keeps the counters of the abandoned attempt.
    fn switch(&mut self, p: ResumePoint, to: Method, time: f64) -> Result<()> {
        let spent = self.stats;
        let from = self.opts.method;
        let mut p = p;
        p.switches.push(MethodSwitch {
            t: p.t,
            from: from.name().into(),
            to: to.name().into(),
            reason: format!(
                "{} detected stiffness at t = {time:.6e}; continued with {} from the output at t = {:.6e}",
                from.name(),
                to.name(),
                p.t
            ),
        });
        (p.carry, p.step, p.h) = (None, None, 0.0);
        self.jump(p, false)?;
        self.stats.accepted_steps = spent.accepted_steps;
        self.stats.rejected_steps = spent.rejected_steps;
        self.stats.rhs_evals = spent.rhs_evals;
        Ok(())
    }

    /// Integrates to the next output time (t0 + i output_dt, or t_end); returns false
    /// (and does nothing) when [`Driver::is_done`].
    pub fn advance(&mut self) -> Result<bool> {
        if self.is_done() {
            return Ok(false);
        }
        let explicit = matches!(self.opts.method, Method::Dopri5 | Method::Dop853);
        let saved = self
            .fallback
            .filter(|_| explicit)
            .map(|m| (m, self.resume_point()));
        match (self.interval(), saved) {
            (Err(Error::SolverFailed { time, reason, .. }), Some((to, p)))
                if reason == STIFFNESS_DETECTED =>
            {
                self.switch(p, to, time)?;
                self.interval()?;
            }
            (r, _) => r?,
        }
        Ok(true)
    }

    /// Integrates to the next output time with the current method.
    fn interval(&mut self) -> Result<()> {
        let opts = &self.opts;
        self.index += 1;
        let mut t_next = self.t0 + self.index as f64 * opts.output_dt;
        if t_next > opts.t_end - 1e-9 * opts.output_dt {
            t_next = opts.t_end;
        }
        let (sys, t, y, stats) = (&self.sys, self.t, &mut self.y, &mut self.stats);
        match opts.method {
            Method::Dopri5 | Method::Dop853 => {
                let (h, carry) = (self.h, self.carry.take());
                let e = self
                    .explicit
                    .get_or_insert_with(|| Explicit::new(sys, t, y, h, carry.as_ref(), opts));
                e.interval(sys, t_next, y, opts, stats)?;
                self.h = e.h();
            }
            Method::Rk4 | Method::Rodas4 | Method::Imex => {
                let s = match &mut self.stepping {
                    Some(s) => s,
                    None => {
                        let point = self.step.take();
                        let s = Stepping::new(sys, t, y, self.h, point.as_ref(), opts)?;
                        self.stepping.insert(s)
                    }
                };
                y.copy_from_slice(s.interval(sys, t_next, opts, stats)?);
                self.h = s.h();
            }
            Method::Bdf => {
                let lib = self.library.get_or_insert_with(StiffLib::default);
                lib.interval(sys, t, t_next, y, opts, stats)?;
            }
            Method::FixedPoint => {
                let sweeps = (t_next - t).round() as u64;
                for s in 0..sweeps {
                    sys.discrete_step(y);
                    stats.accepted_steps += 1;
                    check_step(sys, t + s as f64 + 1.0, y, opts)?;
                }
            }
        }
        self.t = t_next;
        self.evaluate(true)
    }

    /// The final state and counters.
    pub fn finish(self) -> (Vec<f64>, SolverStats) {
        let stats = self.stats();
        (self.y, stats)
    }
}
