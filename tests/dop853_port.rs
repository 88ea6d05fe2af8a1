//! lmser's DOP853 (src/solver/dop853.rs, an allocation-free port) against
//! ode_solvers 0.6.2's `Dop853` run directly with the settings lmser used to pass it
//! (`from_param` with safety 0.9, beta 0, factors 0.333..6, h_max = the span, the
//! initial step estimated, stiffness tested every 1000 steps, `Sparse` output): the
//! port evaluates the same formulas in the same floating-point order, so the final
//! state must be the same bits and the counters (accepted and rejected steps,
//! right-hand-side evaluations) equal, on
//! - an averaged LMSER flow (40 x 6, in Sigma's eigenbasis and in the input basis),
//! - a harmonic oscillator over many periods (steps accepted and rejected),
//! - a non-autonomous problem, where lmser integrates t as an extra component,
//! - failures: too many steps, and a stiff problem on which both give up at the
//!   same step with "stiffness detected".
//!
//! Each run uses one output interval (output_dt = t_end), the setting in which lmser
//! hands ode_solvers exactly these parameters.

use lmser::dynamics::averaged::AveragedLearning;
use lmser::dynamics::rules::Rule;
use lmser::solver::{FnSystem, Method, OdeSystem, SolverOptions, integrate};
use nalgebra::{DMatrix, DVector};
use ode_solvers::Dop853;
use ode_solvers::dop_shared::{OutputType, System};

/// An `OdeSystem` seen by ode_solvers, with lmser's clock for non-autonomous systems
/// (the time as an extra state component whose derivative is 1).
struct Reference<'a, S> {
    sys: &'a S,
}

impl<S: OdeSystem> System<f64, DVector<f64>> for Reference<'_, S> {
    fn system(&self, t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        if self.sys.autonomous() {
            self.sys.rhs(t, y.as_slice(), dy.as_mut_slice());
        } else {
            let n = y.len() - 1;
            let (ys, ds) = (y.as_slice(), dy.as_mut_slice());
            self.sys.rhs(ys[n], &ys[..n], &mut ds[..n]);
            ds[n] = 1.0;
        }
    }
}

/// ode_solvers' result: (final state, accepted, rejected, evaluations, failure: stiff
/// or not and where).
fn reference<S: OdeSystem>(
    sys: &S,
    y0: &[f64],
    t_end: f64,
    rtol: f64,
    atol: f64,
    max_steps: u32,
) -> (Vec<f64>, u64, u64, u64, Option<(bool, f64)>) {
    let mut y = y0.to_vec();
    if !sys.autonomous() {
        y.push(0.0);
    }
    let mut s = Dop853::from_param(
        Reference { sys },
        0.0,
        t_end,
        0.0,
        DVector::from_vec(y),
        rtol,
        atol,
        0.9,
        0.0,
        0.333,
        6.0,
        t_end,
        0.0,
        max_steps,
        1000,
        OutputType::Sparse,
    );
    let r = s.integrate();
    let last = s.results().get().1.last().unwrap().as_slice()[..y0.len()].to_vec();
    match r {
        Ok(st) => (
            last,
            st.accepted_steps.into(),
            st.rejected_steps.into(),
            st.num_eval.into(),
            None,
        ),
        Err(e) => {
            use ode_solvers::dop_shared::IntegrationError as E;
            let failure = match e {
                E::MaxNumStepReached { x, .. } | E::StepSizeUnderflow { x } => (false, x),
                E::StiffnessDetected { x } => (true, x),
            };
            (last, 0, 0, 0, Some(failure))
        }
    }
}

/// Runs both and requires the same bits and counters, or the same failure (whose
/// reason must contain `fails`).
#[allow(clippy::too_many_arguments)]
fn same<S: OdeSystem>(
    name: &str,
    sys: &S,
    y0: &[f64],
    t_end: f64,
    rtol: f64,
    atol: f64,
    max_steps: u32,
    fails: Option<&str>,
) {
    let opts = SolverOptions::new(Method::Dop853, t_end)
        .rtol(rtol)
        .atol(atol)
        .output_dt(t_end)
        .max_steps(max_steps);
    let (y_ref, acc, rej, evals, err) = reference(sys, y0, t_end, rtol, atol, max_steps);
    match integrate(sys, 0.0, y0, &opts, |_, _, _| Ok(())) {
        Ok((y, stats)) => {
            assert!(
                err.is_none(),
                "{name}: ode_solvers failed ({err:?}), lmser did not"
            );
            assert!(fails.is_none(), "{name}: expected a failure");
            assert_eq!(y, y_ref, "{name}: final states differ");
            // lmser also counts the right-hand side at each of its 2 outputs.
            let counters = (
                stats.accepted_steps,
                stats.rejected_steps,
                stats.rhs_evals - 2,
            );
            assert_eq!(counters, (acc, rej, evals), "{name}: counters");
            assert!(acc > 10, "{name}: too few steps to compare ({acc})");
        }
        Err(lmser::Error::SolverFailed { reason, time, .. }) => {
            let (stiff, x) = err
                .unwrap_or_else(|| panic!("{name}: lmser failed ({reason}), ode_solvers did not"));
            assert_eq!(reason.contains("stiff"), stiff, "{name}: {reason}");
            assert!(reason.contains(fails.unwrap_or("-")), "{name}: {reason}");
            assert_eq!(time, x, "{name}: failed at different times");
        }
        Err(e) => panic!("{name}: {e}"),
    }
}

#[test]
fn averaged_lmser_gives_the_same_bits() {
    let (n1, n0) = (6, 40);
    let lam = DVector::from_fn(n0, |i, _| 4.0 / (1.0 + i as f64));
    let w0 = DMatrix::from_fn(n1, n0, |i, j| (((i * 7 + j * 3) % 11) as f64 - 5.0) * 0.01);
    let eig = AveragedLearning::in_eigenbasis(Rule::lmser(), lam.clone(), 1.0, n1);
    same(
        "eigenbasis",
        &eig,
        w0.as_slice(),
        30.0,
        1e-8,
        1e-11,
        100_000,
        None,
    );
    let q = DMatrix::from_fn(n0, n0, |i, j| ((i + 2 * j) as f64).sin())
        .qr()
        .q();
    let sigma = &q * DMatrix::from_diagonal(&lam) * q.transpose();
    let direct = AveragedLearning::new(Rule::lmser(), sigma, 2.0, n1);
    same(
        "input basis, tau_w 2",
        &direct,
        w0.as_slice(),
        30.0,
        1e-8,
        1e-11,
        100_000,
        None,
    );
}

#[test]
fn oscillator_and_a_non_autonomous_problem_give_the_same_bits() {
    let osc = FnSystem::new(2, |_t, y: &[f64], dy: &mut [f64]| {
        dy[0] = y[1];
        dy[1] = -y[0];
    })
    .autonomous();
    same(
        "oscillator",
        &osc,
        &[1.0, 0.0],
        200.0,
        1e-10,
        1e-12,
        100_000,
        None,
    );
    let forced = FnSystem::new(1, |t: f64, y: &[f64], dy: &mut [f64]| {
        dy[0] = (3.0 * t).cos() - 0.1 * y[0]
    });
    same(
        "forced (clock)",
        &forced,
        &[0.5],
        20.0,
        1e-9,
        1e-12,
        100_000,
        None,
    );
}

#[test]
fn failures_are_the_same() {
    let osc = FnSystem::new(2, |_t, y: &[f64], dy: &mut [f64]| {
        dy[0] = y[1];
        dy[1] = -y[0];
    })
    .autonomous();
    same(
        "max steps",
        &osc,
        &[1.0, 0.0],
        200.0,
        1e-12,
        1e-14,
        40,
        Some("more than 40 steps"),
    );
    // y' = -500 (y - cos t) (a clock, so stages see t) at rtol 1e-3: the step is held
    // at the stability limit; the stiffness test fires from step 1000 on, 15 times.
    let stiff = FnSystem::new(1, |t: f64, y: &[f64], dy: &mut [f64]| {
        dy[0] = -500.0 * (y[0] - t.cos())
    });
    same(
        "stiffness",
        &stiff,
        &[0.0],
        1000.0,
        1e-3,
        1e-6,
        100_000,
        Some("stiffness"),
    );
}
