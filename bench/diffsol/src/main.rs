//! A measurement, not a check: diffsol 0.18's BDF (faer
//! backend, dense faer LU, the Jacobian-vector product from each model's analytic
//! Jacobian) next to our Rodas4 on the stiff test set (ROBER to 1e11, VDPOL, HIRES,
//! OREGO at their end times) at rtol 1e-6 and 1e-9, atol as the harness's `TestSet`
//! spans. Prints, per run, steps, rejected steps, right-hand sides, Jacobians (diffsol:
//! linear-solver setups) and the scaled error max_i |y_i - ref_i| / (atol + rtol
//! |ref_i|) at the end time against the published reference (span tolerances; BDF
//! also at tolerances ten times tighter, its cost at Rodas4's accuracy);
//! docs/numerics.md §5.7 has the table. Run with `cargo run --release` in bench/diffsol. The models and
//! their reference values are lmser's test models (tests/common), included here.

#[path = "../../../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::models::{self, Class, Model, Span};
use diffsol::{FaerLU, FaerMat, OdeBuilder, OdeSolverMethod, OdeSolverStopReason};
use lmser::solver::{Method, OdeSystem, SolverOptions, integrate};
use nalgebra::DMatrix;
use std::cell::{Cell, RefCell};

/// Scaled error at the last reference point.
fn scaled_error(y: &[f64], span: &Span) -> f64 {
    let r = span.references.last().expect("a reference");
    y.iter()
        .zip(&r.y)
        .map(|(a, b)| (a - b).abs() / (span.atol + span.rtol * b.abs()))
        .fold(0.0, f64::max)
}

/// diffsol BDF from the model's start to the span's end: (y, steps, rejected,
/// right-hand sides counted by the closures, Jacobian-vector products, setups).
fn bdf(m: &Model, span: &Span) -> (Vec<f64>, String) {
    bdf_at(m, span, span.rtol, span.atol)
}

/// [`bdf`] with tolerances ten times tighter than the span's (the accuracy is still
/// measured against the span's scale): BDF's cost at Rodas4's accuracy.
fn bdf_tight(m: &Model, span: &Span) -> (Vec<f64>, String) {
    bdf_at(m, span, span.rtol / 10.0, span.atol / 10.0)
}

fn bdf_at(m: &Model, span: &Span, rtol: f64, atol: f64) -> (Vec<f64>, String) {
    let sys = m.system();
    let n = sys.dim();
    let (rhs_calls, jv_calls) = (Cell::new(0u64), Cell::new(0u64));
    let jac = RefCell::new(DMatrix::zeros(n, n));
    let y0 = m.y0.clone();
    let problem = OdeBuilder::<FaerMat<f64>>::new()
        .rtol(rtol)
        .atol(vec![atol; n])
        .rhs_implicit(
            |x: &[f64], _p: &[f64], t: f64, y: &mut [f64]| {
                rhs_calls.set(rhs_calls.get() + 1);
                sys.rhs(t, x, y);
            },
            |x: &[f64], _p: &[f64], t: f64, v: &[f64], y: &mut [f64]| {
                jv_calls.set(jv_calls.get() + 1);
                let mut j = jac.borrow_mut();
                assert!(sys.jacobian(t, x, &mut j), "{} has no Jacobian", m.name);
                for (i, yi) in y.iter_mut().enumerate() {
                    *yi = (0..n).map(|k| j[(i, k)] * v[k]).sum();
                }
            },
        )
        .init(
            move |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(&y0),
            n,
        )
        .build()
        .expect("a diffsol problem");
    let mut solver = problem.bdf::<FaerLU<f64>>().expect("a BDF solver");
    solver.set_stop_time(span.t_end).expect("a stop time");
    loop {
        match solver.step() {
            Ok(OdeSolverStopReason::TstopReached) => break,
            Ok(_) => {}
            Err(e) => return (vec![f64::NAN; n], format!("failed: {e}")),
        }
    }
    let y = {
        use diffsol::Vector;
        solver.state().y.clone_as_vec()
    };
    let s = solver.get_statistics();
    let line = format!(
        "steps {:>8} rejected {:>5} rhs {:>9} jv {:>9} setups {:>6} newton {:>8}",
        s.number_of_steps,
        s.number_of_error_test_failures + s.number_of_nonlinear_solver_fails,
        rhs_calls.get(),
        jv_calls.get(),
        s.number_of_linear_solver_setups,
        s.number_of_nonlinear_solver_iterations,
    );
    (y, line)
}

fn rodas4(m: &Model, span: &Span) -> (Vec<f64>, String) {
    let mut o = SolverOptions::new(Method::Rodas4, span.t_end)
        .rtol(span.rtol)
        .atol(span.atol)
        .output_dt(span.t_end)
        .max_steps(10_000_000);
    o.t_end = span.t_end;
    let (y, s) = integrate(&m.system(), m.t0, &m.y0, &o, |_, _, _| Ok(())).unwrap();
    let line = format!(
        "steps {:>8} rejected {:>5} rhs {:>9} jacobians {:>6}",
        s.accepted_steps, s.rejected_steps, s.rhs_evals, s.jacobians
    );
    (y, line)
}

fn main() {
    for m in [
        models::rober(),
        models::vdpol(),
        models::hires(),
        models::orego(),
    ] {
        for span in m.spans.iter().filter(|s| s.class == Class::TestSet) {
            for (what, run) in [
                ("rodas4", rodas4 as fn(&Model, &Span) -> (Vec<f64>, String)),
                ("diffsol-bdf", bdf),
                ("bdf-tol/10", bdf_tight),
            ] {
                let (y, line) = run(&m, span);
                println!(
                    "{:6} rtol {:e} {:12} {line} scaled error {:9.2e}",
                    m.name,
                    span.rtol,
                    what,
                    scaled_error(&y, span),
                );
            }
        }
    }
}
