//! Dopri5 and Dop853 ([`super::dopri5`], [`super::dop853`]: allocation-free ports of
//! ode_solvers' methods) carried across output times ([`super::carry`]): an output
//! inside a step is the method's dense output, the value at t_end a step end
//! (docs/numerics.md §2).

use super::carry::{Carried, CarryPoint, Failure, Outcome, Pair, Settings};
use super::options::{check_state, check_step, interrupted, out_of_bounds};
use super::{Method, OdeSystem, SolverOptions, SolverStats, dop853, dopri5};
use crate::error::{Error, Result};

/// Adapts an [`OdeSystem`] to the pairs; stops them after an accepted step that is
/// out of bounds or when interrupted. With `clock`, the last state component is the
/// time itself (d tau/dt = 1, integrated exactly) and f sees it instead of the stage
/// time (ode_solvers' DOP853 tableau has c_12 = 0, docs/numerics.md §3).
struct Adapter<'a, S> {
    sys: &'a S,
    opts: &'a SolverOptions,
    clock: bool,
}

impl<S: OdeSystem> Adapter<'_, S> {
    fn rhs(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        if self.clock {
            let n = y.len() - 1;
            self.sys.rhs(y[n], &y[..n], &mut dy[..n]);
            dy[n] = 1.0;
        } else {
            self.sys.rhs(t, y, dy);
        }
    }

    fn stop(&self, y: &[f64]) -> bool {
        let n = y.len() - usize::from(self.clock);
        out_of_bounds(&y[..n], self.opts.divergence_bound) || interrupted(self.opts)
    }
}

enum Pairs {
    Dop853(Carried<dop853::Work>),
    Dopri5(Carried<dopri5::Work>),
}

/// A Dopri5 or Dop853 integration carried from output to output.
pub(super) struct Explicit {
    pairs: Pairs,
    clock: bool,
    settings: Settings,
    /// The state at the output time, clock included.
    out: Vec<f64>,
}

/// The settings from t on. Steps are at most the span, and at most `output_dt` when
/// the run stops at a steady state: once the transient has decayed the controller
/// lets the step grow to the edge of the stability region (|h lambda| ~ 3.3 for
/// DOPRI5, ~6 for DOP853) of the fast modes, whose error then stays at tolerance
/// level instead of decaying, and ||dy/dt|| ~ |lambda| tol may never fall below
/// `steady_tol` (neurons settling with tau = 1e-3 did not). Steps no longer than an
/// output interval are those of the runs before steps were carried across outputs.
fn settings(opts: &SolverOptions, t: f64) -> Settings {
    let span = opts.t_end.abs().max(opts.t_end - t);
    Settings {
        rtol: opts.rtol,
        atol: opts.atol,
        h_max: if opts.steady_tol > 0.0 {
            span.min(opts.output_dt)
        } else {
            span
        },
        n_max: opts.max_steps,
        n_stiff: 1000,
    }
}

impl Explicit {
    /// Starts at (t, y) with step h (0 = estimate it), or continues after `carry` (a
    /// [`Explicit::point`] of the same system and options).
    pub(super) fn new<S: OdeSystem>(
        sys: &S,
        t: f64,
        y: &[f64],
        h: f64,
        carry: Option<&CarryPoint>,
        opts: &SolverOptions,
    ) -> Self {
        let clock = opts.method == Method::Dop853 && !sys.autonomous();
        let adapter = Adapter { sys, opts, clock };
        let mut f = |t: f64, y: &[f64], dy: &mut [f64]| adapter.rhs(t, y, dy);
        let s = settings(opts, t);
        let mut y0 = y.to_vec();
        if clock {
            y0.push(t);
        }
        let out = y0.clone();
        let pairs = match (opts.method, carry) {
            (Method::Dopri5, None) => Pairs::Dopri5(Carried::new(t, y0, h, s.h_max)),
            (Method::Dopri5, Some(c)) => Pairs::Dopri5(Carried::resume(&mut f, c, &s)),
            (_, None) => Pairs::Dop853(Carried::new(t, y0, h, s.h_max)),
            (_, Some(c)) => Pairs::Dop853(Carried::resume(&mut f, c, &s)),
        };
        Explicit {
            pairs,
            clock,
            settings: s,
            out,
        }
    }

    /// The next step size.
    pub(super) fn h(&self) -> f64 {
        match &self.pairs {
            Pairs::Dop853(c) => c.h(),
            Pairs::Dopri5(c) => c.h(),
        }
    }

    /// What [`Explicit::new`] needs to continue; None before the first step.
    pub(super) fn point(&self) -> Option<CarryPoint> {
        match &self.pairs {
            Pairs::Dop853(c) => c.point(),
            Pairs::Dopri5(c) => c.point(),
        }
    }

    /// Integrates to t_next (steps past it when it falls inside a step) and writes the
    /// state at t_next into `y`.
    pub(super) fn interval<S: OdeSystem>(
        &mut self,
        sys: &S,
        t_next: f64,
        y: &mut [f64],
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> Result<()> {
        let adapter = Adapter {
            sys,
            opts,
            clock: self.clock,
        };
        let (s, out) = (&self.settings, &mut self.out);
        match &mut self.pairs {
            Pairs::Dop853(c) => interval(c, &adapter, t_next, s, out, stats)?,
            Pairs::Dopri5(c) => interval(c, &adapter, t_next, s, out, stats)?,
        }
        y.copy_from_slice(&out[..y.len()]);
        check_step(sys, t_next, y, opts)
    }
}

fn interval<P: Pair, S: OdeSystem>(
    c: &mut Carried<P>,
    a: &Adapter<'_, S>,
    t_next: f64,
    s: &Settings,
    out: &mut [f64],
    stats: &mut SolverStats,
) -> Result<()> {
    let mut f = |t: f64, y: &[f64], dy: &mut [f64]| a.rhs(t, y, dy);
    let mut stop = |y: &[f64]| a.stop(y);
    let n = out.len() - usize::from(a.clock);
    loop {
        let o = c.advance(&mut f, &mut stop, t_next, a.opts.t_end, s);
        count(stats, &o);
        if let Some(failure) = o.failure {
            return Err(failed(a.sys, c, failure, a.opts, n));
        }
        if !o.stopped {
            break;
        }
        // A step out of bounds or an interrupt: the error at the step's end.
        check_step(a.sys, c.t(), &c.y()[..n], a.opts)?;
    }
    stats.rhs_evals += u64::from(c.output(&mut f, t_next, out));
    Ok(())
}

fn count(stats: &mut SolverStats, o: &Outcome) {
    stats.accepted_steps += u64::from(o.accepted);
    stats.rejected_steps += u64::from(o.rejected);
    stats.rhs_evals += u64::from(o.evals);
}

/// The error of a failed integration (diverged when the last state is out of bounds).
fn failed<P: Pair, S: OdeSystem>(
    sys: &S,
    c: &Carried<P>,
    failure: Failure,
    opts: &SolverOptions,
    n: usize,
) -> Error {
    // A step that left the bound ends the run as diverged, not as a failure.
    if let Err(e) = check_state(sys, c.t(), &c.y()[..n], opts) {
        return e;
    }
    let (reason, hint) = match failure {
        Failure::MaxSteps(n_step) => (
            format!("more than {n_step} steps in one output interval"),
            "raise solver.max_steps, loosen solver.rtol, or the system may be stiff",
        ),
        Failure::Underflow => (
            "step size underflow".to_string(),
            "the solution may blow up here; loosen solver.rtol/atol or check the weights",
        ),
        Failure::Stiffness => (
            super::STIFFNESS_DETECTED.to_string(),
            "use method = \"rk4\" with a small step, or a stiff solver where offered",
        ),
    };
    Error::SolverFailed {
        time: c.t(),
        reason,
        hint: hint.into(),
    }
}
