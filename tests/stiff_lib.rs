//! The driver's contracts for diffsol's BDF (src/solver/stiff_lib.rs)
//! beyond accuracy (tests/integrators.rs): failures are typed errors, not panics;
//! divergence and interrupts go through the common checks; a resume point restarts
//! the method and stays within the tolerance of the uninterrupted run; a system
//! without a Jacobian of its own is integrated with differences.

use lmser::Error;
use lmser::solver::{Driver, FnSystem, Method, SolverOptions, integrate};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const METHODS: [Method; 1] = [Method::Bdf];

fn quiet(_: f64, _: &[f64], _: &[f64]) -> lmser::Result<()> {
    Ok(())
}

/// y' = y^2, y(0) = 1: y = 1 / (1 - t) blows up at t = 1. With the divergence bound
/// 1e3 the run must end with `Error::Diverged` before t = 1 (|y| > 1e3 from
/// t = 0.999), or with `SolverFailed` if the step size collapses first; never Ok,
/// never a panic.
#[test]
fn a_blow_up_is_a_typed_error() {
    let sys = FnSystem::new(1, |_t, y: &[f64], dy: &mut [f64]| dy[0] = y[0] * y[0]).autonomous();
    for m in METHODS {
        let opts = SolverOptions::new(m, 2.0).divergence_bound(1e3);
        match integrate(&sys, 0.0, &[1.0], &opts, quiet) {
            Err(Error::Diverged { time, .. }) => assert!(time > 0.99 && time < 1.0, "{m:?} {time}"),
            Err(Error::SolverFailed { time, .. }) => assert!(time < 1.0, "{m:?} {time}"),
            other => panic!("{m:?}: expected a divergence, got {:?}", other.map(|r| r.1)),
        }
    }
}

/// A right-hand side that turns NaN at t > 0.5 ends the run with a typed error
/// (diffsol's failed step as `SolverFailed`, reported at the start of the step that
/// failed, or the non-finite state as `Diverged`) within one step of t = 0.5: the
/// steps of this smooth decay at rtol 1e-6 are < 0.1 long there.
#[test]
fn a_nan_right_hand_side_is_a_typed_error() {
    let sys = FnSystem::new(2, |t, y: &[f64], dy: &mut [f64]| {
        dy[0] = if t > 0.5 { f64::NAN } else { -y[0] };
        dy[1] = -2.0 * y[1];
    });
    for m in METHODS {
        let opts = SolverOptions::new(m, 1.0);
        match integrate(&sys, 0.0, &[1.0, 1.0], &opts, quiet) {
            Err(Error::Diverged { time, .. } | Error::SolverFailed { time, .. }) => {
                assert!(time > 0.4 && time <= 1.0, "{m:?}: failed at {time}")
            }
            other => panic!("{m:?}: expected an error, got {:?}", other.map(|r| r.1)),
        }
    }
}

/// max_steps bounds the steps of one output interval: y' = -y over [0, 10] with
/// rtol 1e-10 takes far more than 3 steps per interval of length 5.
#[test]
fn too_many_steps_is_solver_failed() {
    let sys = FnSystem::new(1, |_t, y: &[f64], dy: &mut [f64]| dy[0] = -y[0]);
    for m in METHODS {
        let opts = SolverOptions::new(m, 10.0)
            .output_dt(5.0)
            .rtol(1e-10)
            .atol(1e-12)
            .max_steps(3);
        match integrate(&sys, 0.0, &[1.0], &opts, quiet) {
            Err(Error::SolverFailed { reason, .. }) => {
                assert!(reason.contains("more than 3 steps"), "{m:?}: {reason}")
            }
            other => panic!("{m:?}: expected SolverFailed, got {:?}", other.map(|r| r.1)),
        }
    }
}

/// A raised interrupt flag stops the run at the first step with `Interrupted`.
#[test]
fn an_interrupt_stops_the_run() {
    let sys = FnSystem::new(1, |_t, y: &[f64], dy: &mut [f64]| dy[0] = -y[0]);
    for m in METHODS {
        let flag = Arc::new(AtomicBool::new(false));
        let opts = SolverOptions::new(m, 10.0).interrupt(flag.clone());
        flag.store(true, Ordering::Relaxed);
        match integrate(&sys, 0.0, &[1.0], &opts, quiet) {
            Err(Error::Interrupted { time }) => assert!(time > 0.0 && time < 0.1, "{m:?} {time}"),
            other => panic!("{m:?}: expected Interrupted, got {:?}", other.map(|r| r.1)),
        }
    }
}

/// Linear y' = A y with A = [[-1, 1], [0, -1000]] (stiff, no Jacobian of its own, so
/// the Jacobian is differenced): y1 = e^-t + (e^-t - e^-1000t) / 999, y2 = e^-1000t.
/// Every output within 100 (rtol |y| + atol) of it (the harness's adaptive bound,
/// tests/integrators.rs); and a run resumed from the output at t = 2 (the method
/// restarted there) within the same bound of the closed form, its outputs at the
/// same times.
#[test]
fn differences_and_resume_against_a_closed_form() {
    let sys = FnSystem::new(2, |_t, y: &[f64], dy: &mut [f64]| {
        dy[0] = -y[0] + y[1];
        dy[1] = -1000.0 * y[1];
    })
    .autonomous();
    let exact = |t: f64| {
        let (a, b) = ((-t).exp(), (-1000.0 * t).exp());
        [a + (a - b) / 999.0, b]
    };
    let (rtol, atol) = (1e-8, 1e-12);
    let within = |m: Method, t: f64, y: &[f64]| {
        let e = exact(t);
        for i in 0..2 {
            let bound = 100.0 * (rtol * e[i].abs() + atol);
            assert!(
                (y[i] - e[i]).abs() <= bound,
                "{m:?} y{i}({t}) = {} vs {}",
                y[i],
                e[i]
            );
        }
    };
    for m in METHODS {
        let opts = SolverOptions::new(m, 5.0)
            .output_dt(0.5)
            .rtol(rtol)
            .atol(atol);
        let mut d = Driver::new(&sys, 0.0, &[1.0, 1.0], &opts).unwrap();
        let mut point = None;
        while d.advance().unwrap() {
            within(m, d.t(), d.y());
            if d.t() == 2.0 {
                point = Some(d.resume_point());
            }
        }
        let stats = d.stats();
        assert!(
            stats.jacobians > 0 && stats.accepted_steps > 0,
            "{m:?} {stats:?}"
        );
        let point = point.expect("an output at t = 2");
        let mut r = Driver::resume(&sys, &point, &opts).unwrap();
        let mut times = Vec::new();
        while r.advance().unwrap() {
            within(m, r.t(), r.y());
            times.push(r.t());
        }
        assert_eq!(times, [2.5, 3.0, 3.5, 4.0, 4.5, 5.0], "{m:?}");
    }
}
