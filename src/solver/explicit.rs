//! Dopri5 and Dop853 from ode_solvers, run one output interval at a time in `Sparse`
//! mode (docs/numerics.md §2-3).

use super::options::{check_state, check_step, interrupted, out_of_bounds};
use super::{Method, OdeSystem, SolverOptions, SolverStats};
use crate::error::{Error, Result};
use nalgebra::DVector;
use ode_solvers::dop_shared::{IntegrationError, OutputType, System};
use ode_solvers::{Dop853, Dopri5};

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
pub(super) fn adaptive_interval<S: OdeSystem>(
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
            // A step that left the bound ends the run as diverged, not as a failure.
            check_state(sys, t_reached, y, opts)?;
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
