//! Rodas4, IMEX and RK4 carried through the output times (docs/numerics.md
//! §2.6), as tests/dense_output.rs checks Dopri5 and Dop853: against the closed
//! forms of tests/common/models.rs at EVERY one of 500 outputs, the steps and the
//! final bits independent of the output grid (resume points inside a step: in
//! tests/dense_output.rs). The order of the dense outputs is checked by unit tests
//! in src/solver/stepped_tests.rs.
//!
//! Error bound of the adaptive methods, per component, at every output:
//! |y_i - exact_i| <= C (rtol A_i + atol), A_i = max(|exact_i|, error_scale_i), C =
//! 100: the harness bound of tests/integrators.rs (K = 100, derived there for step
//! ends), which the dense output must keep between step ends too. The worst ratio
//! is printed per run. A restarted-and-cut step sequence would not show here; the
//! Hermite interpolant with f evaluated at the step ends (IMEX) failed it on Kaps
//! at eps = 1e-10 by 26 times.

mod common;

use common::models::{self, Class, Model};
use lmser::solver::{Method, SolverOptions, SolverStats, integrate};

const C: f64 = 100.0;

/// The models with a closed form that `method` can run (IMEX: those with a split;
/// RK4: the non-stiff ones).
fn closed_forms(method: Method) -> Vec<Model> {
    let runs = |m: &Model| match method {
        Method::Imex => m.sys.as_split().is_some(),
        Method::Rk4 => m.spans.iter().any(|s| s.class == Class::NonStiff),
        _ => true,
    };
    models::all()
        .into_iter()
        .filter(|m| m.exact.is_some() && runs(m))
        .collect()
}

/// The longest span of a model: its t_end.
fn t_end(m: &Model) -> f64 {
    m.spans.iter().map(|s| s.t_end).fold(0.0, f64::max)
}

/// Options over the longest span of `m` with `outputs` output intervals and RK4
/// steps of a thousandth of the span.
fn options(m: &Model, method: Method, rtol: f64, outputs: u32) -> SolverOptions {
    let (t0, t_end) = (m.t0, t_end(m));
    SolverOptions::new(method, t_end)
        .rtol(rtol)
        .atol(rtol * 1e-2)
        .output_dt((t_end - t0) / f64::from(outputs))
        .step((t_end - t0) / 1000.0)
}

/// (t, y) at every output and the counters.
fn run(m: &Model, opts: &SolverOptions) -> (Vec<(f64, Vec<f64>)>, SolverStats) {
    let mut seen = Vec::new();
    let (_, stats) = integrate(&m.system(), m.t0, &m.y0, opts, |t, y, _| {
        seen.push((t, y.to_vec()));
        Ok(())
    })
    .unwrap();
    (seen, stats)
}

/// The largest |y_i - exact_i| / (rtol A_i + atol) over the outputs (module docs).
fn worst_ratio(m: &Model, seen: &[(f64, Vec<f64>)], rtol: f64, atol: f64) -> (f64, f64) {
    let exact = m.exact.as_ref().expect("closed form");
    let mut worst = (0.0f64, 0.0);
    for (t, y) in seen {
        for (i, (yi, ei)) in y.iter().zip(exact(*t)).enumerate() {
            let scale = m.error_scale.as_ref().map_or(0.0, |s| s[i]);
            let ratio = (yi - ei).abs() / (rtol * ei.abs().max(scale) + atol);
            if ratio > worst.0 {
                worst = (ratio, *t);
            }
        }
    }
    worst
}

#[test]
fn every_output_of_the_stiff_methods_matches_the_closed_form() {
    for method in [Method::Rodas4, Method::Imex] {
        for rtol in [1e-6, 1e-8] {
            for m in closed_forms(method) {
                let opts = options(&m, method, rtol, 500);
                let (seen, stats) = run(&m, &opts);
                assert_eq!(seen.len(), 501, "{}", m.name);
                let (worst, at) = worst_ratio(&m, &seen, rtol, opts.atol);
                println!(
                    "{:>6} rtol {rtol:e} {:16} steps {:6} worst error / (rtol A + atol) \
                     {worst:.2} at t = {at:.3}",
                    method.name(),
                    m.name,
                    stats.accepted_steps
                );
                assert!(
                    worst <= C,
                    "{method:?} {} rtol {rtol:e}: {worst:.1} > {C} at t = {at}",
                    m.name
                );
            }
        }
    }
}

/// RK4 has no tolerance: its outputs inside steps (order-3 continuous extension)
/// are compared with its step ends. With 1000 steps and 700 outputs (most inside a
/// step), the worst output error is at most 6 x the worst step-end error of the
/// same steps (1000 outputs, all step ends) plus 1e-13 of rounding. Why 6: on a
/// decaying mode y' = lambda y (z = h lambda) the extension's error inside a step is
/// at most ~0.013 z^4 |y| (its z^4 coefficient b4(theta) / 4 - theta^4 / 24 near
/// theta = 0.55), while RK4's global error z^4 / 120 (t |lambda|) |y(t)| peaks at
/// t |lambda| = 1 at z^4 |y0| / (120 e): a ratio of 4.2. An extension of order 2 has
/// an error O(z^3), far beyond it at these steps.
#[test]
fn rk4_outputs_inside_steps_are_as_accurate_as_its_step_ends() {
    for m in closed_forms(Method::Rk4) {
        let ends = run(&m, &options(&m, Method::Rk4, 1.0, 1000));
        let inside = run(&m, &options(&m, Method::Rk4, 1.0, 700));
        assert_eq!(ends.1.accepted_steps, 1000, "{}", m.name);
        assert_eq!(
            inside.1.accepted_steps, 1000,
            "{}: steps independent of outputs",
            m.name
        );
        let exact = m.exact.as_ref().expect("closed form");
        let err = |seen: &[(f64, Vec<f64>)]| {
            let e = seen
                .iter()
                .flat_map(|(t, y)| y.iter().zip(exact(*t)).map(|(a, b)| (a - b).abs()));
            e.fold(0.0f64, f64::max)
        };
        let (e_end, e_in) = (err(&ends.0), err(&inside.0));
        println!(
            "rk4 {:16} step-end error {e_end:.2e}, inside {e_in:.2e} ({:.2})",
            m.name,
            e_in / e_end
        );
        assert!(
            e_in <= 6.0 * e_end + 1e-13,
            "{}: {e_in:e} vs {e_end:e}",
            m.name
        );
    }
}

/// The output grid changes neither the steps nor the final value: with one output
/// and with 500 the same accepted and rejected steps, Jacobians and final bits. The
/// extra right-hand sides are only dy/dt at the 499 extra outputs (the dense outputs
/// of these methods need none).
#[test]
fn steps_and_final_bits_do_not_depend_on_the_output_grid() {
    for method in [Method::Rodas4, Method::Imex, Method::Rk4] {
        for m in closed_forms(method) {
            let t_end = t_end(&m);
            let (one, s1) = run(&m, &options(&m, method, 1e-8, 1));
            let (many, s500) = run(&m, &options(&m, method, 1e-8, 500));
            let counts = |s: &SolverStats| (s.accepted_steps, s.rejected_steps, s.jacobians);
            assert_eq!(counts(&s1), counts(&s500), "{method:?} {}", m.name);
            let (last1, last500) = (one.last().unwrap(), many.last().unwrap());
            assert_eq!((last1.0, last500.0), (t_end, t_end));
            let bits = |y: &[f64]| y.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&last1.1),
                bits(&last500.1),
                "{method:?} {}: final bits",
                m.name
            );
            assert_eq!(s500.rhs_evals, s1.rhs_evals + 499, "{method:?} {}", m.name);
        }
    }
}
