//! A measurement, not a check (docs/numerics.md §5.7): the stiff methods on the
//! stiff test set (ROBER to 1e11, VDPOL, HIRES, OREGO; tests/common) at rtol 1e-6
//! and 1e-9 through `lmser::solver::integrate`, each in one output interval: steps,
//! rejected steps, right-hand sides, Jacobians, wall time (the best of 3 runs) and the
//! scaled error max_i |y_i - ref_i| / (atol + rtol |ref_i|) at the end time (within
//! one digit of the tolerance: <= 10). BDF is also run at tolerances ten times
//! tighter, measured against the same scale. Run with
//! `cargo bench --bench stiff_methods`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::models::{self, Class, Model, Span};
use lmser::solver::{Method, SolverOptions, integrate};
use std::time::Instant;

/// Scaled error at the last reference point.
fn scaled_error(y: &[f64], span: &Span) -> f64 {
    let r = span.references.last().expect("a reference");
    y.iter()
        .zip(&r.y)
        .map(|(a, b)| (a - b).abs() / (span.atol + span.rtol * b.abs()))
        .fold(0.0, f64::max)
}

/// One run: the line of counters, or the error.
fn run(m: &Model, span: &Span, method: Method, tighten: f64) -> String {
    let o = SolverOptions::new(method, span.t_end)
        .rtol(span.rtol / tighten)
        .atol(span.atol / tighten)
        .output_dt(span.t_end)
        .max_steps(10_000_000);
    let mut best = f64::INFINITY;
    let mut result = None;
    for _ in 0..3 {
        let start = Instant::now();
        let r = integrate(&m.system(), m.t0, &m.y0, &o, |_, _, _| Ok(()));
        best = best.min(start.elapsed().as_secs_f64());
        result = Some(r);
    }
    match result.expect("three runs") {
        Ok((y, s)) => format!(
            "steps {:>8} rejected {:>5} rhs {:>9} jacobians {:>6} time {:>9.2e} s scaled error {:9.2e}",
            s.accepted_steps,
            s.rejected_steps,
            s.rhs_evals,
            s.jacobians,
            best,
            scaled_error(&y, span)
        ),
        Err(e) => format!("failed: {e}"),
    }
}

fn main() {
    for m in [
        models::rober(),
        models::vdpol(),
        models::hires(),
        models::orego(),
    ] {
        for span in m.spans.iter().filter(|s| s.class == Class::TestSet) {
            for (what, method, tighten) in [
                ("rodas4", Method::Rodas4, 1.0),
                ("bdf", Method::Bdf, 1.0),
                ("bdf-tol/10", Method::Bdf, 10.0),
            ] {
                println!(
                    "{:6} rtol {:e} {:10} {}",
                    m.name,
                    span.rtol,
                    what,
                    run(&m, span, method, tighten)
                );
            }
        }
    }
}
