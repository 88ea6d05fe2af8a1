//! What to integrate with and how: the [`Method`], the [`SolverOptions`] (a builder),
//! and the guards every method runs after each step (divergence bound, interrupt).

use super::OdeSystem;
use crate::error::{Error, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Integration method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Dormand-Prince 5(4), adaptive (a port of ode_solvers' method).
    Dopri5,
    /// Dormand-Prince 8(5,3), adaptive (a port of ode_solvers' method).
    Dop853,
    /// Classical fourth-order Runge-Kutta with a fixed step.
    Rk4,
    /// The discrete iteration of [`OdeSystem::discrete_step`]; t counts sweeps.
    FixedPoint,
    /// Rodas4: adaptive Rosenbrock, order 4(3), L-stable, for stiff systems.
    Rodas4,
    /// ARK4(3)6L[2]SA: adaptive IMEX additive Runge-Kutta, order 4(3), the fast block
    /// of a [`SplitSystem`](super::SplitSystem) implicit (L-stable), the rest explicit.
    Imex,
    /// diffsol's BDF: variable order 1-5 (NDF form), Jacobian and LU reused over steps.
    Bdf,
}

impl Method {
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
            Method::Imex => "imex",
            Method::Bdf => "bdf",
        }
    }

    /// What to choose instead of a method that was removed, by its old config name.
    pub fn removed(name: &str) -> Option<&'static str> {
        (name == "ros2").then_some(
            "ros2 was removed (docs/numerics.md §5.7): use `bdf`, or `rodas4` at loose tolerances",
        )
    }
}

/// Options of one integration.
#[derive(Debug, Clone)]
pub struct SolverOptions {
    /// The integrator: dopri5, dop853, rk4, rodas4, imex, bdf, or the fixed-point sweep.
    pub method: Method,
    /// Relative tolerance (adaptive methods).
    pub rtol: f64,
    /// Absolute tolerance (adaptive methods).
    pub atol: f64,
    /// Final time (sweeps for fixed-point).
    pub t_end: f64,
    /// Interval between output times.
    pub output_dt: f64,
    /// Fixed step of RK4 (shrunk to divide the run [t0, t_end] evenly).
    pub step: f64,
    /// Maximum number of steps per output interval (adaptive methods).
    pub max_steps: u32,
    /// Stop early once ||dy/dt||_2 falls below this (0 = never).
    pub steady_tol: f64,
    /// A state component beyond this magnitude counts as divergence.
    pub divergence_bound: f64,
    /// Set from outside (e.g. by a signal handler) to stop at the next step.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Evaluate dy/dt = f(t, y) at every output (one right-hand side each) for
    /// [`Driver::dy`](super::Driver::dy); always done when `steady_tol > 0`.
    pub output_derivative: bool,
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
            output_derivative: true,
        }
    }
}

impl SolverOptions {
    /// Sets the relative tolerance.
    #[must_use]
    pub fn rtol(mut self, rtol: f64) -> Self {
        self.rtol = rtol;
        self
    }
    /// Sets the absolute tolerance.
    #[must_use]
    pub fn atol(mut self, atol: f64) -> Self {
        self.atol = atol;
        self
    }
    /// Sets the interval between output times.
    #[must_use]
    pub fn output_dt(mut self, dt: f64) -> Self {
        self.output_dt = dt;
        self
    }
    /// Sets the RK4 step.
    #[must_use]
    pub fn step(mut self, h: f64) -> Self {
        self.step = h;
        self
    }
    /// Sets the step limit per output interval.
    #[must_use]
    pub fn max_steps(mut self, n: u32) -> Self {
        self.max_steps = n;
        self
    }
    /// Stops once ||dy/dt|| falls below `tol` (0 = never).
    #[must_use]
    pub fn steady_tol(mut self, tol: f64) -> Self {
        self.steady_tol = tol;
        self
    }
    /// Sets the magnitude beyond which a state component counts as diverged.
    #[must_use]
    pub fn divergence_bound(mut self, bound: f64) -> Self {
        self.divergence_bound = bound;
        self
    }
    /// Whether dy/dt is evaluated at every output (default true; see the field).
    #[must_use]
    pub fn output_derivative(mut self, on: bool) -> Self {
        self.output_derivative = on;
        self
    }
    /// Polls `flag` after every step and stops with [`Error::Interrupted`] once raised.
    #[must_use]
    pub fn interrupt(mut self, flag: Arc<AtomicBool>) -> Self {
        self.interrupt = Some(flag);
        self
    }
}

/// The scaled RMS error of an embedded pair (Hairer-Norsett-Wanner II.4):
/// sqrt(mean_i (err_i / (atol + rtol max(|y_i|, |y_new_i|)))^2).
pub(crate) fn error_norm(y: &[f64], y_new: &[f64], err: &[f64], opts: &SolverOptions) -> f64 {
    let sum = crate::simd::scaled_error_squares(err, y, y_new, opts.atol, opts.rtol);
    (sum / y.len().max(1) as f64).sqrt()
}

/// Euclidean norm of a slice.
pub fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// True when the interrupt flag of `opts` is raised.
pub fn interrupted(opts: &SolverOptions) -> bool {
    raised(&opts.interrupt)
}

/// True when `flag` is set and raised: the one place an interrupt is read.
pub fn raised(flag: &Option<Arc<AtomicBool>>) -> bool {
    flag.as_ref().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// [`Error::Interrupted`] at time t once `flag` is raised.
pub fn poll(flag: &Option<Arc<AtomicBool>>, t: f64) -> Result<()> {
    if raised(flag) {
        Err(Error::Interrupted { time: t })
    } else {
        Ok(())
    }
}

/// True when v is NaN or |v| > bound (infinities included): a diverged value.
pub fn beyond(v: f64, bound: f64) -> bool {
    v.is_nan() || v.abs() > bound
}

/// The one divergence guard: [`Error::Diverged`] at time t naming the first value of
/// `values` beyond `bound` (by `name(i)`), with `hint`.
pub fn check_bound(
    t: f64,
    values: &[f64],
    bound: f64,
    name: impl Fn(usize) -> String,
    hint: impl FnOnce() -> String,
) -> Result<()> {
    if !out_of_bounds(values, bound) {
        return Ok(());
    }
    match values.iter().position(|&v| beyond(v, bound)) {
        None => Ok(()),
        Some(i) => Err(Error::Diverged {
            time: t,
            quantity: name(i),
            value: values[i],
            hint: hint(),
        }),
    }
}

/// True when some value of `y` is NaN or beyond `bound` ([`beyond`]), in one
/// vectorised pass without an early exit (`simd::any_beyond`).
pub(super) fn out_of_bounds(y: &[f64], bound: f64) -> bool {
    crate::simd::any_beyond(y, bound)
}

/// Fails when the state is non-finite or beyond the bound.
pub(super) fn check_state<S: OdeSystem + ?Sized>(
    sys: &S,
    t: f64,
    y: &[f64],
    opts: &SolverOptions,
) -> Result<()> {
    check_bound(
        t,
        y,
        opts.divergence_bound,
        |i| sys.state_name(i),
        || sys.divergence_hint(),
    )
}

/// Fails once an output interval took `opts.max_steps` steps (attempts).
pub(super) fn too_many(steps: u32, t: f64, opts: &SolverOptions) -> Result<()> {
    if steps >= opts.max_steps {
        return Err(Error::SolverFailed {
            time: t,
            reason: format!("more than {} steps in one output interval", opts.max_steps),
            hint: "raise solver.max_steps or loosen solver.rtol".into(),
        });
    }
    Ok(())
}

/// [`check_state`] plus the interrupt flag, after every step.
pub(super) fn check_step<S: OdeSystem + ?Sized>(
    sys: &S,
    t: f64,
    y: &[f64],
    opts: &SolverOptions,
) -> Result<()> {
    check_state(sys, t, y, opts)?;
    poll(&opts.interrupt, t)
}
