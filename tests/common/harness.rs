//! The harness of tests/integrators.rs: runs one (method, model, span) of the test
//! models (models.rs), checks the driver's contracts on it (output times, dy handed
//! to the observer, counters, first and last output) and compares the outputs with
//! the reference against the error bounds derived in the module docs of
//! tests/integrators.rs.

use super::models::{Class, Model, RefPoint, Span};
use lmser::solver::{Method, OdeSystem, SolverOptions, SolverStats, StopReason, integrate};

/// Tolerance-proportionality factor of the adaptive methods' bound (module docs of
/// tests/integrators.rs).
pub const K_ADAPTIVE: f64 = 100.0;

/// A bound violated in one run: (time, component, error, bound).
pub type Violation = (f64, usize, f64, f64);
/// The outputs (t, y) of a run.
pub type Outputs = Vec<(f64, Vec<f64>)>;

/// What one run of one (method, model, span) gave.
pub struct Outcome {
    pub model: &'static str,
    pub t_end: f64,
    pub rtol: f64,
    /// Solver errors and broken driver contracts: never excused by a known gap.
    pub failures: Vec<String>,
    /// Errors beyond their bound (empty = passed).
    pub violations: Vec<String>,
    pub stats: Option<SolverStats>,
    /// Largest error / bound over all checked points and components.
    pub worst_ratio: f64,
    /// Significant correct digits at the last reference point:
    /// -log10 max_i |y_i - ref_i| / |ref_i| (components with ref_i != 0).
    pub digits: f64,
}

pub fn is_explicit(m: Method) -> bool {
    matches!(m, Method::Dopri5 | Method::Dop853 | Method::Rk4)
}

pub fn options(method: Method, span: &Span, step: f64) -> SolverOptions {
    let mut o = SolverOptions::new(method, span.t_end);
    o.rtol = span.rtol;
    o.atol = span.atol;
    o.output_dt = span.output_dt;
    o.step = step;
    o.max_steps = 10_000_000;
    o
}

/// The output times the driver promises: t0 + i output_dt while below t_end, then
/// t_end itself (once).
pub fn expected_times(t0: f64, t_end: f64, dt: f64) -> Vec<f64> {
    let mut ts = Vec::new();
    let mut i = 0u64;
    loop {
        let t = t0 + i as f64 * dt;
        // A grid point within rounding of t_end is t_end itself.
        if t >= t_end - 1e-6 * dt {
            break;
        }
        ts.push(t);
        i += 1;
    }
    ts.push(t_end);
    ts
}

/// Runs `model` over `span` with `method` (RK4 with step `step`) and checks
/// everything but the error: output times, dy = f(t, y), counters, first and last
/// output. Returns the observed (t, y) and the counters, or the problems found.
pub fn run(
    method: Method,
    model: &Model,
    span: &Span,
    step: f64,
) -> Result<(Outputs, SolverStats), Vec<String>> {
    let sys = model.system();
    let opts = options(method, span, step);
    let mut seen: Vec<(f64, Vec<f64>)> = Vec::new();
    let mut bad_dy = None;
    let mut scratch = vec![0.0; sys.dim()];
    let mut obs = |t: f64, y: &[f64], dy: &[f64]| -> lmser::Result<()> {
        sys.rhs(t, y, &mut scratch);
        if dy != &scratch[..] && bad_dy.is_none() {
            bad_dy = Some(t);
        }
        seen.push((t, y.to_vec()));
        Ok(())
    };
    let (y_final, stats) = integrate(&sys, model.t0, &model.y0, &opts, &mut obs)
        .map_err(|e| vec![format!("integrate failed: {e}")])?;
    let mut p = Vec::new();
    if let Some(t) = bad_dy {
        p.push(format!(
            "dy handed to the observer is not f(t, y) at t = {t}"
        ));
    }
    let times: Vec<f64> = seen.iter().map(|(t, _)| *t).collect();
    if times != expected_times(model.t0, span.t_end, span.output_dt) {
        p.push(format!("output times {times:?}"));
    }
    if stats.outputs as usize != seen.len() {
        p.push(format!(
            "{} outputs counted, {} seen",
            stats.outputs,
            seen.len()
        ));
    }
    if stats.t_final != span.t_end || stats.stop != StopReason::EndTime {
        p.push(format!("stopped at {} ({:?})", stats.t_final, stats.stop));
    }
    if seen[0].1 != model.y0 {
        p.push("the first output is not the initial state".into());
    }
    if seen.last().unwrap().1 != y_final {
        p.push("the returned state is not the one observed at t_end".into());
    }
    if p.is_empty() {
        Ok((seen, stats))
    } else {
        Err(p)
    }
}

/// The reference at output time t: the closed form, or the reference point at t.
pub fn reference_at(model: &Model, span: &Span, t: f64) -> Option<RefPoint> {
    if let Some(exact) = &model.exact {
        return Some(RefPoint {
            t,
            y: exact(t),
            rel_uncertainty: 0.0,
        });
    }
    span.references
        .iter()
        .find(|r| (r.t - t).abs() <= 1e-9 * span.output_dt)
        .cloned()
}

/// Every reference point of a span must be an output time (a model definition
/// error otherwise, not a finding).
pub fn assert_references_on_grid(model: &Model, span: &Span) {
    let grid = expected_times(model.t0, span.t_end, span.output_dt);
    for r in &span.references {
        assert!(
            grid.iter()
                .any(|t| (r.t - t).abs() <= 1e-9 * span.output_dt),
            "{}: reference time {} is not an output time",
            model.name,
            r.t
        );
    }
    assert!(
        model.exact.is_some() || !span.references.is_empty(),
        "{}: a span without reference values",
        model.name
    );
}

/// Compares the run with the references: `bound(t, i, ref_i, k)` is the allowed
/// error of component i at output k. Returns the violations, the worst
/// error/bound ratio and the digits at the last reference point.
pub fn compare(
    model: &Model,
    span: &Span,
    seen: &[(f64, Vec<f64>)],
    bound: &dyn Fn(f64, usize, &RefPoint, usize) -> f64,
) -> (Vec<Violation>, f64, f64) {
    let mut violations = Vec::new();
    let mut worst = 0.0f64;
    let mut digits = f64::NAN;
    for (k, (t, y)) in seen.iter().enumerate() {
        let Some(r) = reference_at(model, span, *t) else {
            continue;
        };
        let mut rel = 0.0f64;
        for (i, (yi, ri)) in y.iter().zip(&r.y).enumerate() {
            let err = (yi - ri).abs();
            let b = bound(*t, i, &r, k);
            // A NaN error is the worst ratio (f64::max would skip it).
            worst = worst.max(if err.is_nan() { f64::INFINITY } else { err / b });
            // A NaN error is a violation too.
            if err.is_nan() || err > b {
                violations.push((*t, i, err, b));
            }
            if *ri != 0.0 {
                rel = rel.max(err / ri.abs());
            }
        }
        digits = -rel.max(1e-17).log10();
    }
    (violations, worst, digits)
}

pub fn describe(v: &[Violation]) -> Vec<String> {
    v.iter()
        .take(4)
        .map(|(t, i, e, b)| format!("|y{} - ref| = {e:.3e} > bound {b:.3e} at t = {t}", i + 1))
        .chain((v.len() > 4).then(|| format!("... {} violations in all", v.len())))
        .collect()
}

/// One (method, model, span) run with its error check (module docs).
pub fn check_span(method: Method, model: &Model, span: &Span) -> Outcome {
    assert_references_on_grid(model, span);
    let mut out = Outcome {
        model: model.name,
        t_end: span.t_end,
        rtol: span.rtol,
        failures: Vec::new(),
        violations: Vec::new(),
        stats: None,
        worst_ratio: f64::NAN,
        digits: f64::NAN,
    };
    let h = span.rk4_step;
    let (seen, stats) = match run(method, model, span, h) {
        Ok(r) => r,
        Err(p) => {
            out.failures = p;
            return out;
        }
    };
    out.stats = Some(stats);
    let (violations, worst, digits) = match method {
        Method::Rk4 => match &model.rk4_bound {
            Some(b) => compare(model, span, &seen, &|t, _, _, _| b(t, h) + 1e-13),
            None => {
                // Richardson: the same span with h/2; its error is judged.
                let (half, hstats) = match run(method, model, span, h / 2.0) {
                    Ok(r) => r,
                    Err(p) => {
                        out.failures = p;
                        return out;
                    }
                };
                out.stats = Some(hstats);
                let n = hstats.accepted_steps as f64;
                compare(model, span, &half, &|_, i, r, k| {
                    0.1 * (seen[k].1[i] - half[k].1[i]).abs()
                        + 4.0 * n * f64::EPSILON * r.y[i].abs()
                        + r.rel_uncertainty * r.y[i].abs()
                })
            }
        },
        _ => compare(model, span, &seen, &|_, i, r, _| {
            let k = match span.class {
                Class::TestSet => super::models::TEST_SET_K,
                _ => K_ADAPTIVE,
            };
            let size = model
                .error_scale
                .as_ref()
                .map_or(r.y[i].abs(), |s| s[i].max(r.y[i].abs()));
            k * (span.rtol * size + span.atol) + r.rel_uncertainty * r.y[i].abs()
        }),
    };
    out.violations = describe(&violations);
    out.worst_ratio = worst;
    out.digits = digits;
    out
}

/// FixedPoint on a model with a discrete form: t counts sweeps; outputs every
/// `dt` sweeps up to `t_end`.
pub fn check_fixed_point(model: &Model, t_end: f64, dt: f64) -> Outcome {
    let fp = model
        .fixed_point
        .as_ref()
        .expect("a model with a discrete form");
    let span = Span {
        class: Class::NonStiff,
        t_end,
        output_dt: dt,
        rtol: f64::NAN,
        atol: f64::NAN,
        rk4_step: f64::NAN,
        references: Vec::new(),
    };
    let mut out = Outcome {
        model: model.name,
        t_end,
        rtol: f64::NAN,
        failures: Vec::new(),
        violations: Vec::new(),
        stats: None,
        worst_ratio: 0.0,
        digits: f64::NAN,
    };
    match run(Method::FixedPoint, model, &span, f64::NAN) {
        Err(p) => out.failures = p,
        Ok((seen, stats)) => {
            out.stats = Some(stats);
            let scale = fp.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            for (t, y) in &seen[1..] {
                let e = y
                    .iter()
                    .zip(fp)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                out.worst_ratio = out.worst_ratio.max(e / (1e-13 * scale));
                if e > 1e-13 * scale {
                    out.violations
                        .push(format!("state at sweep {t} is {e:e} from W x"));
                }
            }
        }
    }
    out
}
