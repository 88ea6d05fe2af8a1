//! diffsol's BDF (the diffsol crate 0.18, github.com/martinjrobins/diffsol) behind
//! the driver's contracts ([`Method::Bdf`](super::Method::Bdf)): variable order
//! (1-5), variable step, in the NDF form of Shampine & Reichelt (The MATLAB ODE
//! suite, SIAM J. Sci. Comput. 18, 1997) as in SciPy's `BDF`; the Newton
//! iterations reuse the Jacobian and its LU (partial pivoting, src/solver/stiff_lu.rs)
//! over many steps.
//!
//! diffsol's problem borrows the system, so it is built anew every output interval;
//! the BDF state (order, step, difference array) is carried from one interval to the
//! next, at the cost of one Jacobian and LU per interval. BDF steps through the
//! output times and reports them with its own interpolant (the difference array;
//! exact at step ends), its last step cut at t_end. A resume point restarts the
//! method at its output (order 1, a new initial step), so a resumed run is not bit
//! for bit the uninterrupted one.
//!
//! Jacobian: diffsol forms df/dy from Jacobian-vector products; ours multiply by the
//! system's own Jacobian ([`OdeSystem::jacobian`]) or by forward differences
//! (src/solver/jacobian.rs), evaluated once per point (t, y) and reused for all n
//! products there. Tolerances: the scalar rtol/atol of [`SolverOptions`], divided by
//! [`BDF_TIGHTEN`] so that the error is within one digit of the tolerance, as for
//! the other methods.

use super::jacobian::Jacobian;
use super::options::{check_step, too_many};
use super::{OdeSystem, SolverOptions, SolverStats};
use crate::error::{Error, Result};
use diffsol::{
    BdfState, FaerMat, FaerVec, OdeBuilder, OdeEquations, OdeSolverMethod, OdeSolverStopReason,
    Vector,
};
use std::cell::{Cell, RefCell};

/// BDF runs diffsol at rtol / 10 and atol / 10: its error test bounds each step's
/// local error, and at the tolerances asked the global error on the stiff test set
/// was up to 17 times the scale (OREGO, rtol 1e-9; up to 4 on VDPOL, 1.5 on ROBER);
/// ten times tighter it is within 6 everywhere (docs/numerics.md §5.7).
const BDF_TIGHTEN: f64 = 10.0;
/// Newton's convergence test factor (diffsol's default 0.2): with 0.05 the
/// iteration error stays below the local error (OREGO at rtol 1e-9: 24 -> 5 sc).
const NEWTON_TOL: f64 = 0.05;

type V = FaerVec<f64>;
type Lu = super::stiff_lu::PartialLu;

/// The BDF state between output intervals (None before the first).
#[derive(Default)]
pub(super) struct StiffLib {
    bdf: Option<BdfState<V>>,
}

/// The Jacobian at the last point asked for, and what it cost.
struct JacCache<'o> {
    jac: Jacobian,
    t: f64,
    y: Vec<f64>,
    valid: bool,
    f0: Vec<f64>,
    /// The current step (scales the difference increments).
    h: f64,
    opts: &'o SolverOptions,
    jacobians: u64,
    rhs: u64,
}

impl<'o> JacCache<'o> {
    fn new(n: usize, opts: &'o SolverOptions) -> Self {
        JacCache {
            jac: Jacobian::new(n),
            t: f64::NAN,
            y: vec![0.0; n],
            valid: false,
            f0: vec![0.0; n],
            h: 0.0,
            opts,
            jacobians: 0,
            rhs: 0,
        }
    }

    /// out = J(t, x) v, evaluating J only when (t, x) changed.
    fn product<S: OdeSystem>(&mut self, sys: &S, t: f64, x: &[f64], v: &[f64], out: &mut [f64]) {
        if !(self.valid && self.t == t && self.y == x) {
            (self.t, self.valid) = (t, true);
            self.y.copy_from_slice(x);
            self.jacobians += 1;
            if !sys.jacobian(t, x, &mut self.jac.jac) {
                sys.rhs(t, x, &mut self.f0);
                self.rhs += 1 + x.len() as u64;
                self.jac.differences(sys, t, x, &self.f0, self.h, self.opts);
            }
        }
        out.fill(0.0);
        for (k, &vk) in v.iter().enumerate() {
            if vk != 0.0 {
                for (o, j) in out.iter_mut().zip(self.jac.jac.column(k).iter()) {
                    *o += j * vk;
                }
            }
        }
    }
}

/// A diffsol error as [`Error::SolverFailed`].
fn failed(t: f64, what: &str, e: impl std::fmt::Display) -> Error {
    Error::SolverFailed {
        time: t,
        reason: format!("bdf (diffsol) {what}: {e}"),
        hint: "loosen solver.rtol/atol, or choose rodas4".into(),
    }
}

impl StiffLib {
    /// Integrates `y` from t to t_next with BDF.
    pub(super) fn interval<S: OdeSystem>(
        &mut self,
        sys: &S,
        t: f64,
        t_next: f64,
        y: &mut [f64],
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> Result<()> {
        let n = y.len();
        let rhs = Cell::new(0u64);
        let cache = RefCell::new(JacCache::new(n, opts));
        let y0 = y.to_vec();
        let tighten = BDF_TIGHTEN;
        let mut problem = OdeBuilder::<FaerMat<f64>>::new()
            .t0(t)
            .rtol(opts.rtol / tighten)
            .atol(vec![opts.atol / tighten; n])
            .rhs_implicit(
                |x: &[f64], _p: &[f64], t: f64, dy: &mut [f64]| {
                    rhs.set(rhs.get() + 1);
                    sys.rhs(t, x, dy);
                },
                |x: &[f64], _p: &[f64], t: f64, v: &[f64], out: &mut [f64]| {
                    cache.borrow_mut().product(sys, t, x, v, out);
                },
            )
            .init(
                move |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(&y0),
                n,
            )
            .build()
            .map_err(|e| failed(t, "could not set up the problem", e))?;
        problem.ode_options.nonlinear_solver_tolerance = NEWTON_TOL;
        // diffsol's default floor 1e-13 stops VDPOL's first steps (eps = 1e-6) at rtol
        // 1e-10; a step below 16 ulp of t is the underflow the other methods report.
        problem.ode_options.min_timestep = (16.0 * f64::EPSILON * t.abs()).max(f64::MIN_POSITIVE);
        let run = Run {
            sys,
            t_next,
            opts,
            cache: &cache,
        };
        let mut s = match self.bdf.take() {
            Some(state) => problem.bdf_solver::<Lu>(state),
            None => problem.bdf::<Lu>(),
        }
        .map_err(|e| failed(t, "could not start", e))?;
        let r = run.steps(&mut s, y);
        let counts = counts(&s);
        self.bdf = Some(s.into_state());
        let c = cache.borrow();
        stats.rhs_evals += rhs.get() + c.rhs;
        stats.jacobians += c.jacobians;
        stats.accepted_steps += counts.0;
        stats.rejected_steps += counts.1;
        r
    }
}

/// Steps (accepted) and rejections (error test and Newton failures) of a solver.
fn counts<'a, Eqn: OdeEquations + 'a, M: OdeSolverMethod<'a, Eqn>>(s: &M) -> (u64, u64) {
    let st = s.get_statistics();
    (
        st.number_of_steps as u64,
        (st.number_of_error_test_failures + st.number_of_nonlinear_solver_fails) as u64,
    )
}

/// One output interval's stepping.
struct Run<'r, 'o, S> {
    sys: &'r S,
    t_next: f64,
    opts: &'o SolverOptions,
    cache: &'r RefCell<JacCache<'o>>,
}

impl<S: OdeSystem> Run<'_, '_, S> {
    /// Steps until the solver passes t_next (or reaches t_end), checking every step
    /// end like the other methods; writes the state at t_next into `y`.
    fn steps<'a, Eqn, M>(&self, s: &mut M, y: &mut [f64]) -> Result<()>
    where
        Eqn: OdeEquations<T = f64, V = V> + 'a,
        M: OdeSolverMethod<'a, Eqn>,
    {
        let opts = self.opts;
        if s.state().t < self.t_next {
            s.set_stop_time(opts.t_end)
                .map_err(|e| failed(s.state().t, "stop time", e))?;
        }
        let mut taken = 0u32;
        while s.state().t < self.t_next {
            too_many(taken, s.state().t, opts)?;
            self.cache.borrow_mut().h = s.state().h;
            let t = s.state().t;
            // A panic inside diffsol (an internal assertion) ends the run as a
            // SolverFailed like its errors, not as a panic of lmser.
            let reason = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.step()))
                .map_err(|_| failed(t, "step failed", "diffsol panicked"))?
                .map_err(|e| failed(t, "step failed", e))?;
            taken += 1;
            copy(s.state().y, y);
            check_step(self.sys, s.state().t, y, opts)?;
            if reason == OdeSolverStopReason::TstopReached {
                break;
            }
        }
        if s.state().t > self.t_next {
            let mut v = s.state().y.clone();
            s.interpolate_inplace(self.t_next, &mut v)
                .map_err(|e| failed(self.t_next, "interpolation", e))?;
            copy(&v, y);
        } else {
            copy(s.state().y, y);
        }
        Ok(())
    }
}

fn copy(v: &V, y: &mut [f64]) {
    for (i, yi) in y.iter_mut().enumerate() {
        *yi = v.get_index(i);
    }
}
