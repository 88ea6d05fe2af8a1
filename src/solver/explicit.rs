//! Dopri5 (ode_solvers) and Dop853 (our allocation-free port of ode_solvers' code,
//! [`super::dop853`]), run one output interval at a time in `Sparse` mode
//! (docs/numerics.md §2-3).

use super::dop853::{self, Failure, Settings};
use super::options::{check_state, check_step, interrupted, out_of_bounds};
use super::{Method, OdeSystem, SolverOptions, SolverStats};
use crate::error::{Error, Result};
use nalgebra::DVector;
use ode_solvers::Dopri5;
use ode_solvers::dop_shared::{IntegrationError, OutputType, System};

/// Adapts an [`OdeSystem`] to ode_solvers; stops the solver after an accepted step
/// that is out of bounds or when interrupted. With `clock`, the last state component
/// is the time itself (d tau/dt = 1, integrated exactly) and f sees it instead of the
/// solver's stage time.
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

impl<S: OdeSystem> System<f64, DVector<f64>> for Adapter<'_, S> {
    fn system(&self, t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        self.rhs(t, y.as_slice(), dy.as_mut_slice());
    }

    fn solout(&mut self, _t: f64, y: &DVector<f64>, _dy: &DVector<f64>) -> bool {
        self.stop(y.as_slice())
    }
}

/// One output interval of Dopri5/Dop853 from t to t_next starting with step h
/// (0 = let the solver estimate it); `work` keeps Dop853's vectors between
/// intervals. Returns the largest step accepted.
#[allow(clippy::too_many_arguments)]
pub(super) fn adaptive_interval<S: OdeSystem>(
    sys: &S,
    t: f64,
    t_next: f64,
    y: &mut [f64],
    h: f64,
    opts: &SolverOptions,
    stats: &mut SolverStats,
    work: &mut Option<dop853::Work>,
) -> Result<f64> {
    let clock = opts.method == Method::Dop853 && !sys.autonomous();
    let adapter = Adapter { sys, opts, clock };
    let mut y0 = y.to_vec();
    if clock {
        y0.push(t);
    }
    let settings = Settings {
        rtol: opts.rtol,
        atol: opts.atol,
        h_max: opts.t_end.abs().max(t_next - t),
        h0: h.min(t_next - t),
        n_max: opts.max_steps,
        n_stiff: 1000,
    };
    let out = match opts.method {
        Method::Dopri5 => dopri5(adapter, t, t_next, &mut y0, &settings),
        _ => {
            let w = work.get_or_insert_with(|| dop853::Work::new(y0.len()));
            if w.dim() != y0.len() {
                *w = dop853::Work::new(y0.len());
            }
            let mut f = |t: f64, y: &[f64], dy: &mut [f64]| adapter.rhs(t, y, dy);
            let mut stop = |y: &[f64]| adapter.stop(y);
            dop853::integrate(&mut f, &mut stop, t, t_next, &mut y0, &settings, w)
        }
    };
    let n = y.len();
    y.copy_from_slice(&y0[..n]);
    let t_reached = out.t;
    let Some(failure) = out.failure else {
        stats.accepted_steps += u64::from(out.accepted);
        stats.rejected_steps += u64::from(out.rejected);
        stats.rhs_evals += u64::from(out.evals);
        check_step(sys, t_reached, y, opts)?;
        // The largest step of the interval, not the last one (cut to land on t_next).
        return Ok(out.largest_step);
    };
    // A step that left the bound ends the run as diverged, not as a failure.
    check_state(sys, t_reached, y, opts)?;
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
            "stiffness detected".to_string(),
            "use method = \"rk4\" with a small step, or a stiff solver where offered",
        ),
    };
    Err(Error::SolverFailed {
        time: t_reached,
        reason,
        hint: hint.into(),
    })
}

/// One interval of ode_solvers' Dopri5 (its controller constants: safety 0.9, beta
/// 0.04, factors 0.2..10), as a [`dop853::Outcome`]; `y` ends at the last accepted
/// step.
fn dopri5<S: OdeSystem>(
    adapter: Adapter<'_, S>,
    t: f64,
    t_next: f64,
    y: &mut [f64],
    s: &Settings,
) -> dop853::Outcome {
    let y0 = DVector::from_column_slice(y);
    let mut solver = Dopri5::from_param(
        adapter,
        t,
        t_next,
        0.0,
        y0,
        s.rtol,
        s.atol,
        0.9,
        0.04,
        0.2,
        10.0,
        s.h_max,
        s.h0,
        s.n_max,
        s.n_stiff,
        OutputType::Sparse,
    );
    let result = solver.integrate();
    let (ts, ys) = solver.results().get();
    if let Some(last) = ys.last() {
        y.copy_from_slice(last.as_slice());
    }
    let failure = match &result {
        Ok(_) => None,
        Err(IntegrationError::MaxNumStepReached { n_step, .. }) => Some(Failure::MaxSteps(*n_step)),
        Err(IntegrationError::StepSizeUnderflow { .. }) => Some(Failure::Underflow),
        Err(IntegrationError::StiffnessDetected { .. }) => Some(Failure::Stiffness),
    };
    let (accepted, rejected, evals) = match &result {
        Ok(st) => (st.accepted_steps, st.rejected_steps, st.num_eval),
        Err(_) => (0, 0, 0), // not counted, as before
    };
    dop853::Outcome {
        t: ts.last().copied().unwrap_or(t),
        largest_step: ts.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max),
        accepted,
        rejected,
        evals,
        failure,
    }
}
