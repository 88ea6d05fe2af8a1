//! Integration, separate from the mathematics: a right-hand side over a flat state
//! ([`OdeSystem`], or a closure in [`FnSystem`]), one [`Driver`] that runs any
//! [`Method`] from output time to output time, and [`integrate`], which hands the
//! state at every output time to a closure.
//!
//! ```
//! use lmser::solver::{FnSystem, Method, SolverOptions, integrate};
//! // y' = -y, y(0) = 1: y(1) = 1/e.
//! let decay = FnSystem::new(1, |_t, y: &[f64], dy: &mut [f64]| dy[0] = -y[0]);
//! let opts = SolverOptions::new(Method::Dop853, 1.0).rtol(1e-10).atol(1e-12);
//! let mut ts = Vec::new();
//! let (y, stats) = integrate(&decay, 0.0, &[1.0], &opts, &mut |t: f64, _: &[f64], _: &[f64]| {
//!     ts.push(t);
//!     Ok(())
//! })?;
//! assert!((y[0] - (-1.0f64).exp()).abs() < 1e-9);
//! assert_eq!(ts.len(), 101); // t = 0, 0.01, ..., 1 (100 outputs by default)
//! assert!(stats.accepted_steps > 0);
//! # Ok::<(), lmser::Error>(())
//! ```
//!
//! Every method but the fixed-point sweep is carried through the output times: a
//! step is never cut for an output, only the last one at t_end (so the value at t_end
//! is a step end; ode_solvers' dense output is wrong at x_end, docs/numerics.md §2.1),
//! and an output inside a step is the method's dense output (docs/numerics.md §2.6).
//! The explicit adaptive methods are allocation-free ports of ode_solvers' Dopri5 and
//! Dop853 (the latter bit for bit, docs/numerics.md §2.4) with their own dense
//! outputs of order 4 and 7 (Hairer, Nørsett & Wanner, Solving ODEs I, §II.6). The
//! stiff ones are our Rosenbrock method Rodas4 ([`rosenbrock_fixed`] runs it with a
//! fixed step for order checks), with the system's own Jacobian
//! ([`OdeSystem::jacobian`]) or forward differences, and the IMEX additive
//! Runge-Kutta method ([`Method::Imex`], ARK4(3)6L[2]SA) for a [`SplitSystem`]: the
//! fast block (neurons) implicit, the slow one (weights) explicit. Their dense
//! outputs come from the stages (Rodas4: rodas.f's, order 3) or a
//! cubic Hermite interpolant with the last stage's derivative (IMEX, order 3); RK4
//! takes fixed steps over the whole run with its continuous extension of order 3.
//! [`Method::Bdf`] is diffsol's BDF (`stiff_lib`), carried through the output times
//! with its own interpolant.

mod carry;
mod dop853;
mod dopri5;
mod driver;
mod explicit;
mod imex;
mod jacobian;
mod options;
mod rk4;
mod rosenbrock;
mod split;
mod stepped;
mod stiff_lib;
mod stiff_lu;

pub use carry::CarryPoint;
pub use driver::{Driver, MethodSwitch, ResumePoint, STIFFNESS_DETECTED, SolverStats, StopReason};
pub use imex::imex_fixed;
pub use jacobian::jacobian_mismatch;
pub use options::{Method, SolverOptions, beyond, norm};
pub(crate) use options::{check_bound, poll, raised};
pub use rosenbrock::rosenbrock_fixed;
pub use split::SplitSystem;
pub use stepped::StepPoint;

use crate::error::Result;
use nalgebra::DMatrix;

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
    /// Writes the Jacobian df/dy at (t, y) into `jac` (dim x dim) and returns true;
    /// returns false (the default) when the system has none, and the Rosenbrock
    /// methods take forward differences (n right-hand sides) instead. Check a
    /// hand-derived one with [`jacobian_mismatch`].
    fn jacobian(&self, _t: f64, _y: &[f64], _jac: &mut DMatrix<f64>) -> bool {
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
    /// The system's fast/slow split, when it has one (needed by [`Method::Imex`]).
    fn as_split(&self) -> Option<&dyn SplitSystem> {
        None
    }
}

/// A right-hand side given as a closure `f(t, y, dy)` over a state of `dim`
/// components (not autonomous unless declared with [`FnSystem::autonomous`]).
pub struct FnSystem<F> {
    dim: usize,
    f: F,
    autonomous: bool,
}

impl<F: Fn(f64, &[f64], &mut [f64])> FnSystem<F> {
    /// dy/dt = f(t, y) over `dim` components.
    pub fn new(dim: usize, f: F) -> Self {
        FnSystem {
            dim,
            f,
            autonomous: false,
        }
    }

    /// Declares that f does not depend on t (lets DOP853 skip its clock component).
    #[must_use]
    pub fn autonomous(mut self) -> Self {
        self.autonomous = true;
        self
    }
}

impl<F: Fn(f64, &[f64], &mut [f64])> OdeSystem for FnSystem<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn rhs(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        (self.f)(t, y, dy)
    }
    fn autonomous(&self) -> bool {
        self.autonomous
    }
}

impl<S: OdeSystem + ?Sized> OdeSystem for &S {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn rhs(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        (**self).rhs(t, y, dy)
    }
    fn discrete_step(&self, y: &mut [f64]) -> bool {
        (**self).discrete_step(y)
    }
    fn jacobian(&self, t: f64, y: &[f64], jac: &mut DMatrix<f64>) -> bool {
        (**self).jacobian(t, y, jac)
    }
    fn autonomous(&self) -> bool {
        (**self).autonomous()
    }
    fn state_name(&self, i: usize) -> String {
        (**self).state_name(i)
    }
    fn divergence_hint(&self) -> String {
        (**self).divergence_hint()
    }
    fn as_split(&self) -> Option<&dyn SplitSystem> {
        (**self).as_split()
    }
}

/// Integrates `sys` from (t0, y0) to `opts.t_end`, calling `observe(t, y, dy/dt)` at
/// t0, at every t0 + i output_dt and at the final time (dy/dt empty when
/// `opts.output_derivative` is off). Returns the final state and
/// counters; fails with [`Error::Diverged`](crate::Error::Diverged),
/// [`Error::SolverFailed`](crate::Error::SolverFailed),
/// [`Error::Interrupted`](crate::Error::Interrupted), or the first error `observe`
/// returns. To stop and continue an integration, step a [`Driver`] instead (its
/// [`Driver::resume_point`] and [`Driver::resume`]).
pub fn integrate<S: OdeSystem + ?Sized>(
    sys: &S,
    t0: f64,
    y0: &[f64],
    opts: &SolverOptions,
    mut observe: impl FnMut(f64, &[f64], &[f64]) -> Result<()>,
) -> Result<(Vec<f64>, SolverStats)> {
    let mut d = Driver::new(sys, t0, y0, opts)?;
    observe(d.t(), d.y(), d.dy().unwrap_or_default())?;
    while d.advance()? {
        observe(d.t(), d.y(), d.dy().unwrap_or_default())?;
    }
    Ok(d.finish())
}
#[cfg(test)]
mod dense_tests;
#[cfg(test)]
mod stepped_tests;
