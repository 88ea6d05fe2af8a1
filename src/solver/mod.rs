//! Integration, separate from the mathematics: a right-hand side over a flat state
//! ([`OdeSystem`]), one driver ([`integrate`]) that runs any [`Method`] and hands the
//! state at every output time to an [`Observer`].
//!
//! The explicit adaptive methods are ode_solvers' Dopri5 and Dop853; the stiff ones
//! are our Rosenbrock methods ([`rosenbrock`]). They are run one output
//! interval at a time in `Sparse` mode, so the value at every output time (and at
//! t_end) is the solver's own step end point, never an extrapolation (ode_solvers'
//! dense output is wrong at x_end, see CRATES.md), and memory stays bounded by one
//! interval's steps. The largest step accepted in an interval starts the next one.

mod rosenbrock;

pub use rosenbrock::rosenbrock_fixed;

use crate::error::{Error, Result};
use nalgebra::DVector;
use ode_solvers::dop_shared::{IntegrationError, OutputType, System};
use ode_solvers::{Dop853, Dopri5};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// dy/dt = f(t, y) over a flat state.
pub trait OdeSystem {
    /// Dimension of the state.
    fn dim(&self) -> usize;
    /// Writes f(t, y) into dy; must not allocate.
    fn rhs(&self, t: f64, y: &[f64], dy: &mut [f64]);
    /// One sweep of a discrete map whose fixed points are the equilibria of the ODE
    /// (used by [`Method::FixedPoint`]); returns false when the system has none.
    fn discrete_step(&self, _y: &mut [f64]) -> bool {
        false
    }
    /// True when f does not depend on t. ode_solvers 0.6.2's DOP853 tableau has
    /// c_12 = 0 instead of 1 (its stage 12 sees the wrong time), so the driver
    /// integrates t as an extra state component for systems that are not autonomous.
    fn autonomous(&self) -> bool {
        false
    }
    /// Name of state component i (for error messages and CSV headers).
    fn state_name(&self, i: usize) -> String {
        format!("y{}", i + 1)
    }
    /// What to try when the state diverges.
    fn divergence_hint(&self) -> String {
        "reduce the tolerances or the step size".into()
    }
}

/// Integration method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Dormand-Prince 5(4), adaptive (ode_solvers).
    Dopri5,
    /// Dormand-Prince 8(5,3), adaptive (ode_solvers).
    Dop853,
    /// Classical fourth-order Runge-Kutta with a fixed step.
    Rk4,
    /// The discrete iteration of [`OdeSystem::discrete_step`]; t counts sweeps.
    FixedPoint,
    /// Rodas4: adaptive Rosenbrock, order 4(3), L-stable, for stiff systems.
    Rodas4,
    /// ROS2: adaptive Rosenbrock, order 2(1), L-stable (for rtol ~ 1e-4).
    Ros2,
}

impl Method {
    /// Parses a config name.
    pub fn from_name(name: &str) -> Option<Method> {
        Some(match name {
            "dopri5" => Method::Dopri5,
            "dop853" => Method::Dop853,
            "rk4" => Method::Rk4,
            "fixed-point" => Method::FixedPoint,
            "rodas4" => Method::Rodas4,
            "ros2" => Method::Ros2,
            _ => return None,
        })
    }
    /// True for the methods with error control (rtol/atol bound each step).
    pub fn is_adaptive(self) -> bool {
        !matches!(self, Method::Rk4 | Method::FixedPoint)
    }

    /// Config name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Dopri5 => "dopri5",
            Method::Dop853 => "dop853",
            Method::Rk4 => "rk4",
            Method::FixedPoint => "fixed-point",
            Method::Rodas4 => "rodas4",
            Method::Ros2 => "ros2",
        }
    }
}

/// Options of one integration.
#[derive(Debug, Clone)]
pub struct SolverOptions {
    pub method: Method,
    /// Relative tolerance (adaptive methods).
    pub rtol: f64,
    /// Absolute tolerance (adaptive methods).
    pub atol: f64,
    /// Final time (sweeps for fixed-point).
    pub t_end: f64,
    /// Interval between output times.
    pub output_dt: f64,
    /// Fixed step of RK4 (shrunk to divide each output interval evenly).
    pub step: f64,
    /// Maximum number of steps per output interval (adaptive methods).
    pub max_steps: u32,
    /// Stop early once ||dy/dt||_2 falls below this (0 = never).
    pub steady_tol: f64,
    /// A state component beyond this magnitude counts as divergence.
    pub divergence_bound: f64,
    /// Set from outside (e.g. by a signal handler) to stop at the next step.
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl SolverOptions {
    /// Defaults for a method and time span: rtol 1e-6, atol 1e-9, 100 outputs.
    pub fn new(method: Method, t_end: f64) -> Self {
        SolverOptions {
            method,
            rtol: 1e-6,
            atol: 1e-9,
            t_end,
            output_dt: t_end / 100.0,
            step: t_end / 1000.0,
            max_steps: 1_000_000,
            steady_tol: 0.0,
            divergence_bound: 1e8,
            interrupt: None,
        }
    }
}

/// Receives the state at every output time (including t0 and the final time).
pub trait Observer {
    /// Called with t, y(t) and dy/dt at t.
    fn observe(&mut self, t: f64, y: &[f64], dy: &[f64]) -> Result<()>;

    /// True when the observer wants [`Observer::resume_point`] after each output.
    fn wants_resume_points(&self) -> bool {
        false
    }

    /// Called after each output (when wanted) with everything needed to continue the
    /// integration exactly from here with [`integrate_from`].
    fn resume_point(&mut self, _point: &ResumePoint) -> Result<()> {
        Ok(())
    }
}

/// The driver's state just after an output: continuing from it with
/// [`integrate_from`] reproduces the uninterrupted run bit for bit (every output
/// interval is integrated from its start state and step size alone).
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
}

impl<F: FnMut(f64, &[f64], &[f64]) -> Result<()>> Observer for F {
    fn observe(&mut self, t: f64, y: &[f64], dy: &[f64]) -> Result<()> {
        self(t, y, dy)
    }
}

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
    pub accepted_steps: u64,
    pub rejected_steps: u64,
    pub rhs_evals: u64,
    pub outputs: u64,
    pub t_final: f64,
    pub stop: StopReason,
}

impl SolverStats {
    /// Zero counters of an integration starting at t0.
    pub fn start(t0: f64) -> Self {
        SolverStats {
            accepted_steps: 0,
            rejected_steps: 0,
            rhs_evals: 0,
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
        self.outputs += s.outputs;
        self.t_final = s.t_final;
        self.stop = s.stop;
    }
}

/// Integrates `sys` from (t0, y0) to `opts.t_end`, calling `observer` at t0, at every
/// t0 + i output_dt and at the final time. Returns the final state and counters;
/// fails with [`Error::Diverged`], [`Error::SolverFailed`] or [`Error::Interrupted`].
pub fn integrate<S: OdeSystem>(
    sys: &S,
    t0: f64,
    y0: &[f64],
    opts: &SolverOptions,
    observer: &mut dyn Observer,
) -> Result<(Vec<f64>, SolverStats)> {
    let start = ResumePoint {
        t0,
        t: t0,
        index: 0,
        h: 0.0,
        y: y0.to_vec(),
        stats: SolverStats::start(t0),
    };
    run_driver(sys, start, true, opts, observer)
}

/// Continues an integration from a [`ResumePoint`] (its output is not repeated).
pub fn integrate_from<S: OdeSystem>(
    sys: &S,
    point: &ResumePoint,
    opts: &SolverOptions,
    observer: &mut dyn Observer,
) -> Result<(Vec<f64>, SolverStats)> {
    run_driver(sys, point.clone(), false, opts, observer)
}

fn run_driver<S: OdeSystem>(
    sys: &S,
    start: ResumePoint,
    observe_first: bool,
    opts: &SolverOptions,
    observer: &mut dyn Observer,
) -> Result<(Vec<f64>, SolverStats)> {
    let n = sys.dim();
    assert_eq!(start.y.len(), n, "initial state has the wrong dimension");
    if opts.method == Method::FixedPoint && !sys.discrete_step(&mut start.y.clone()) {
        return Err(Error::SolverFailed {
            time: start.t,
            reason: "this system has no discrete fixed-point form".into(),
            hint: "choose dopri5, dop853 or rk4".into(),
        });
    }
    let ResumePoint {
        t0,
        mut t,
        index: mut i,
        mut h,
        mut y,
        mut stats,
    } = start;
    let mut dy = vec![0.0; n];
    let mut rk4 = Rk4Work::new(n);
    let mut implicit: Option<rosenbrock::Rosenbrock> = None;
    let mut first = true;
    loop {
        // On resume the first output was already observed (and counted) before.
        let emit = observe_first || !first;
        check_state(sys, t, &y, opts)?;
        sys.rhs(t, &y, &mut dy);
        if emit {
            stats.rhs_evals += 1;
        }
        // dy/dt may be large (fast time constants); only a non-finite one is divergence.
        if let Some(i) = dy.iter().position(|v| !v.is_finite()) {
            return Err(Error::Diverged {
                time: t,
                quantity: format!("d{}/dt", sys.state_name(i)),
                value: dy[i],
                hint: sys.divergence_hint(),
            });
        }
        if emit {
            observer.observe(t, &y, &dy)?;
            stats.outputs += 1;
            stats.t_final = t;
            if observer.wants_resume_points() {
                observer.resume_point(&ResumePoint {
                    t0,
                    t,
                    index: i,
                    h,
                    y: y.clone(),
                    stats,
                })?;
            }
        }
        first = false;
        if opts.steady_tol > 0.0 && norm(&dy) < opts.steady_tol {
            stats.stop = StopReason::SteadyState;
            return Ok((y, stats));
        }
        if t >= opts.t_end {
            return Ok((y, stats));
        }
        i += 1;
        let mut t_next = t0 + i as f64 * opts.output_dt;
        if t_next > opts.t_end - 1e-9 * opts.output_dt {
            t_next = opts.t_end;
        }
        match opts.method {
            Method::Dopri5 | Method::Dop853 => {
                h = adaptive_interval(sys, t, t_next, &mut y, h, opts, &mut stats)?;
            }
            Method::Rk4 => rk4.interval(sys, t, t_next, &mut y, opts, &mut stats)?,
            Method::Rodas4 | Method::Ros2 => {
                let rb =
                    implicit.get_or_insert_with(|| rosenbrock::Rosenbrock::new(opts.method, n));
                h = rb.interval(sys, t, t_next, &mut y, h, opts, &mut stats)?;
            }
            Method::FixedPoint => {
                let sweeps = (t_next - t).round() as u64;
                for s in 0..sweeps {
                    sys.discrete_step(&mut y);
                    stats.accepted_steps += 1;
                    check_step(sys, t + s as f64 + 1.0, &y, opts)?;
                }
            }
        }
        t = t_next;
    }
}

/// Euclidean norm of a slice.
pub fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// True when the interrupt flag of `opts` is raised.
pub fn interrupted(opts: &SolverOptions) -> bool {
    opts.interrupt
        .as_ref()
        .is_some_and(|f| f.load(Ordering::Relaxed))
}

/// True when v is NaN or |v| > bound (infinities included): a diverged value.
pub fn beyond(v: f64, bound: f64) -> bool {
    v.is_nan() || v.abs() > bound
}

fn out_of_bounds(y: &[f64], bound: f64) -> bool {
    y.iter().any(|&v| beyond(v, bound))
}

fn diverged<S: OdeSystem>(sys: &S, t: f64, y: &[f64], opts: &SolverOptions) -> Error {
    let (i, v) = y
        .iter()
        .copied()
        .enumerate()
        .find(|&(_, v)| beyond(v, opts.divergence_bound))
        .unwrap_or((0, f64::NAN));
    Error::Diverged {
        time: t,
        quantity: sys.state_name(i),
        value: v,
        hint: sys.divergence_hint(),
    }
}

/// Fails when the state is non-finite or beyond the bound.
fn check_state<S: OdeSystem>(sys: &S, t: f64, y: &[f64], opts: &SolverOptions) -> Result<()> {
    if out_of_bounds(y, opts.divergence_bound) {
        return Err(diverged(sys, t, y, opts));
    }
    Ok(())
}

/// [`check_state`] plus the interrupt flag, after every step.
fn check_step<S: OdeSystem>(sys: &S, t: f64, y: &[f64], opts: &SolverOptions) -> Result<()> {
    check_state(sys, t, y, opts)?;
    if interrupted(opts) {
        return Err(Error::Interrupted { time: t });
    }
    Ok(())
}

/// Work arrays of the fixed-step RK4.
struct Rk4Work {
    k: [Vec<f64>; 4],
    tmp: Vec<f64>,
}

impl Rk4Work {
    fn new(n: usize) -> Self {
        Rk4Work {
            k: std::array::from_fn(|_| vec![0.0; n]),
            tmp: vec![0.0; n],
        }
    }

    /// Classical RK4 from t to t_next in equal steps of at most `opts.step`.
    fn interval<S: OdeSystem>(
        &mut self,
        sys: &S,
        t: f64,
        t_next: f64,
        y: &mut [f64],
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> Result<()> {
        let steps = ((t_next - t) / opts.step - 1e-9).ceil().max(1.0) as u64;
        let h = (t_next - t) / steps as f64;
        let [k1, k2, k3, k4] = &mut self.k;
        let tmp = &mut self.tmp;
        for s in 0..steps {
            let ts = t + s as f64 * h;
            sys.rhs(ts, y, k1);
            axpy_into(tmp, y, 0.5 * h, k1);
            sys.rhs(ts + 0.5 * h, tmp, k2);
            axpy_into(tmp, y, 0.5 * h, k2);
            sys.rhs(ts + 0.5 * h, tmp, k3);
            axpy_into(tmp, y, h, k3);
            sys.rhs(ts + h, tmp, k4);
            for i in 0..y.len() {
                y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
            }
            stats.rhs_evals += 4;
            stats.accepted_steps += 1;
            check_step(sys, ts + h, y, opts)?;
        }
        Ok(())
    }
}

/// out = y + a x.
fn axpy_into(out: &mut [f64], y: &[f64], a: f64, x: &[f64]) {
    for ((o, yi), xi) in out.iter_mut().zip(y).zip(x) {
        *o = yi + a * xi;
    }
}

/// Adapts an [`OdeSystem`] to ode_solvers; stops the solver after an accepted step
/// that is out of bounds or when interrupted. With `clock`, the last state component
/// is the time itself (d tau/dt = 1, integrated exactly) and f sees it instead of the
/// solver's stage time.
struct Adapter<'a, S> {
    sys: &'a S,
    opts: &'a SolverOptions,
    clock: bool,
}

impl<S: OdeSystem> System<f64, DVector<f64>> for Adapter<'_, S> {
    fn system(&self, t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        if self.clock {
            let n = y.len() - 1;
            self.sys
                .rhs(y[n], &y.as_slice()[..n], &mut dy.as_mut_slice()[..n]);
            dy[n] = 1.0;
        } else {
            self.sys.rhs(t, y.as_slice(), dy.as_mut_slice());
        }
    }

    fn solout(&mut self, _t: f64, y: &DVector<f64>, _dy: &DVector<f64>) -> bool {
        let n = y.len() - usize::from(self.clock);
        out_of_bounds(&y.as_slice()[..n], self.opts.divergence_bound) || interrupted(self.opts)
    }
}

/// One output interval of Dopri5/Dop853 from t to t_next starting with step h
/// (0 = let the solver estimate it). Returns the largest step accepted.
fn adaptive_interval<S: OdeSystem>(
    sys: &S,
    t: f64,
    t_next: f64,
    y: &mut [f64],
    h: f64,
    opts: &SolverOptions,
    stats: &mut SolverStats,
) -> Result<f64> {
    let clock = opts.method == Method::Dop853 && !sys.autonomous();
    let adapter = Adapter { sys, opts, clock };
    let mut y0 = DVector::from_column_slice(y);
    if clock {
        y0 = y0.push(t);
    }
    let h0 = h.min(t_next - t);
    let h_max = opts.t_end.abs().max(t_next - t);
    // Dopri5 and Dop853 share an interface but not a type: one macro runs either with
    // its own step-size controller constants (ode_solvers' defaults: safety 0.9,
    // beta, fac_min, fac_max).
    macro_rules! run {
        ($solver:ident, $beta:expr, $fac_min:expr, $fac_max:expr) => {{
            let mut s = $solver::from_param(
                adapter,
                t,
                t_next,
                0.0,
                y0,
                opts.rtol,
                opts.atol,
                0.9,
                $beta,
                $fac_min,
                $fac_max,
                h_max,
                h0,
                opts.max_steps,
                1000,
                OutputType::Sparse,
            );
            let r = s.integrate();
            let (ts, ys) = s.results().get();
            (r, ts.clone(), ys.last().cloned())
        }};
    }
    let (result, ts, ys) = match opts.method {
        Method::Dopri5 => run!(Dopri5, 0.04, 0.2, 10.0),
        _ => run!(Dop853, 0.0, 0.333, 6.0),
    };

    let t_reached = ts.last().copied().unwrap_or(t);
    if let Some(yl) = ys {
        y.copy_from_slice(&yl.as_slice()[..y.len()]);
    }
    match result {
        Ok(s) => {
            stats.accepted_steps += u64::from(s.accepted_steps);
            stats.rejected_steps += u64::from(s.rejected_steps);
            stats.rhs_evals += u64::from(s.num_eval);
        }
        Err(e) => {
            if out_of_bounds(y, opts.divergence_bound) {
                return Err(diverged(sys, t_reached, y, opts));
            }
            let (reason, hint) = match e {
                IntegrationError::MaxNumStepReached { n_step, .. } => (
                    format!("more than {n_step} steps in one output interval"),
                    "raise solver.max_steps, loosen solver.rtol, or the system may be stiff",
                ),
                IntegrationError::StepSizeUnderflow { .. } => (
                    "step size underflow".to_string(),
                    "the solution may blow up here; loosen solver.rtol/atol or check the weights",
                ),
                IntegrationError::StiffnessDetected { .. } => (
                    "stiffness detected".to_string(),
                    "use method = \"rk4\" with a small step, or a stiff solver where offered",
                ),
            };
            return Err(Error::SolverFailed {
                time: t_reached,
                reason,
                hint: hint.into(),
            });
        }
    }
    check_step(sys, t_reached, y, opts)?;
    // The largest step of the interval, not the last one (which is cut to land on t_next).
    Ok(ts.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max))
}
