//! The Jacobians of the Rosenbrock methods: the hand-derived ones
//! ([`OdeSystem::jacobian`]) of the stiff test models and of the one-layer coupled
//! systems against central differences, and the forward-difference path alone
//! (Jacobians hidden) on the stiff test set, which the analytic Jacobians of
//! tests/common/models would otherwise bypass.
//!
//! Tolerance of the comparisons: `jacobian_mismatch` gives the largest
//! |J_ij - F_ij| / (|F_ij| + 1e-6 max|F|) against central differences F with
//! increments 1e-6 max(|y_j|, 1). Their truncation error is ~1e-12 |f'''| and their
//! rounding ~1e-10 |f| relative, so a correct Jacobian shows mismatches far below
//! 1e-5 (measured: at most 7.3e-7, OREGO on a front where y spans 1 to 1e4; the
//! coupled systems 4e-8), and a wrong or missing term, an O(1) relative error
//! of an entry, fails by orders of magnitude.

mod common;

use common::coupled::{N0, N1, dataset, gains, random_matrix};
use common::harness::check_span;
use common::models::{self, Class, Model};
use lmser::dynamics::coupled::{CoupledAveraged, CoupledParams, CoupledSamples, pack_state};
use lmser::solver::{Method, OdeSystem, integrate, jacobian_mismatch};

/// Largest accepted mismatch (module docs).
const MISMATCH: f64 = 1e-5;

/// A system with its Jacobian hidden: the Rosenbrock methods take differences.
struct Differences(Box<dyn OdeSystem>);

impl OdeSystem for Differences {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn rhs(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        self.0.rhs(t, y, dy)
    }
    fn autonomous(&self) -> bool {
        self.0.autonomous()
    }
}

fn without_jacobian(mut m: Model) -> Model {
    let inner = std::mem::replace(&mut m.sys, Box::new(models::Relax));
    m.sys = Box::new(Differences(inner));
    m
}

/// Every test model with a Jacobian of its own matches central differences at its
/// start and at every reference state (states along the solution: ROBER's y2 ~ 1e-13,
/// VDPOL on both branches, OREGO on its fronts).
#[test]
fn test_model_jacobians_match_central_differences() {
    let mut checked = Vec::new();
    for m in models::all() {
        let mut states = vec![(m.t0, m.y0.clone())];
        for s in &m.spans {
            states.extend(s.references.iter().map(|r| (r.t, r.y.clone())));
        }
        for (t, y) in &states {
            let Some(worst) = jacobian_mismatch(&m.system(), *t, y) else {
                break;
            };
            println!("{} at t = {t}: mismatch {worst:.2e}", m.name);
            assert!(
                worst <= MISMATCH,
                "{} at t = {t}: mismatch {worst:e}",
                m.name
            );
            if !checked.contains(&m.name) {
                checked.push(m.name);
            }
        }
    }
    for name in ["ROBER", "VDPOL", "HIRES", "OREGO", "kaps(eps=1e-6)"] {
        assert!(
            checked.contains(&name),
            "{name} has no Jacobian: {checked:?}"
        );
    }
}

/// The averaged coupled system's Jacobian (src/dynamics/coupled/jacobian.rs) at a
/// random state off the settled manifold, with plain and amplified units, on a full
/// and on a singular Sigma (its pseudo-inverse then differs from the inverse).
#[test]
fn averaged_coupled_jacobian_matches_central_differences() {
    let full = dataset(3).sigma().clone();
    // Sigma without its smallest eigencomponent: PSD with one zero eigenvalue.
    let eig = full.clone().symmetric_eigen();
    let k = eig.eigenvalues.imin();
    let u = eig.eigenvectors.column(k).into_owned();
    let singular = &full - &u * u.transpose() * eig.eigenvalues[k];
    for (sigma, what) in [(full, "full"), (singular, "singular")] {
        for params in [
            CoupledParams::new(0.01, 10.0),
            CoupledParams::amplified(0.01, 10.0, gains()),
        ] {
            let sys = CoupledAveraged::new(params.clone(), sigma.clone(), N1);
            let mut y = sys.settled_state(&random_matrix(N1, N0, 0.5, 7));
            let dz = random_matrix(N1, N0, 0.3, 9);
            for (v, d) in y.iter_mut().zip(dz.iter()) {
                *v += d;
            }
            let worst = jacobian_mismatch(&sys, 0.0, &y).expect("a Jacobian");
            println!(
                "averaged, {what} Sigma, gains {:?}: mismatch {worst:.2e}",
                params.gains
            );
            assert!(
                worst <= MISMATCH,
                "{what} Sigma, gains {:?}: mismatch {worst:e}",
                params.gains
            );
        }
    }
}

/// The same in Sigma's eigenbasis ([`CoupledAveraged::in_eigenbasis`], how coupled
/// averaged learning runs integrate): Sigma = diag(lambda) and the right-hand side's
/// diagonal Sigma^+, on the full spectrum and with a zero eigenvalue.
#[test]
fn eigenbasis_coupled_jacobian_matches_central_differences() {
    let lambda = dataset(3).sigma().clone().symmetric_eigen().eigenvalues;
    let mut singular = lambda.clone();
    singular[lambda.imin()] = 0.0;
    for (lam, what) in [(lambda, "full"), (singular, "singular")] {
        for params in [
            CoupledParams::new(0.01, 10.0),
            CoupledParams::amplified(0.01, 10.0, gains()),
        ] {
            let sys = CoupledAveraged::in_eigenbasis(params.clone(), lam.clone(), N1);
            let mut y = sys.settled_state(&random_matrix(N1, N0, 0.5, 7));
            let dz = random_matrix(N1, N0, 0.3, 9);
            for (v, d) in y.iter_mut().zip(dz.iter()) {
                *v += d;
            }
            let worst = jacobian_mismatch(&sys, 0.0, &y).expect("a Jacobian");
            println!(
                "eigenbasis, {what} spectrum, gains {:?}: mismatch {worst:.2e}",
                params.gains
            );
            assert!(
                worst <= MISMATCH,
                "eigenbasis, {what} spectrum, gains {:?}: mismatch {worst:e}",
                params.gains
            );
        }
    }
}

/// The sample-driven coupled system's Jacobian at a random (z, W) and input x.
#[test]
fn sample_coupled_jacobian_matches_central_differences() {
    for params in [
        CoupledParams::new(0.01, 100.0),
        CoupledParams::amplified(0.01, 100.0, gains()),
    ] {
        let mut sys = CoupledSamples::new(params.clone(), N1, N0);
        let x = random_matrix(N0, 1, 1.0, 11);
        sys.set_input(x.as_slice());
        let z = random_matrix(N1, 1, 1.0, 13);
        let y = pack_state(z.as_slice(), &random_matrix(N1, N0, 0.5, 17));
        let worst = jacobian_mismatch(&sys, 0.0, &y).expect("a Jacobian");
        assert!(
            worst <= MISMATCH,
            "gains {:?}: mismatch {worst:e}",
            params.gains
        );
    }
}

/// Rodas4 with forward differences alone meets the harness bounds on every stiff
/// span of the stiff test set (tests/integrators.rs module docs: 100 sc on the
/// `Stiff` spans, 10 sc on the `TestSet` ones). ROBER to 1e11 is the case that the
/// former increment floor 1e-3 max|y| failed (error 47.8 x the bound).
#[test]
fn rodas4_with_differences_meets_the_stiff_bounds() {
    for m in [
        models::rober(),
        models::vdpol(),
        models::hires(),
        models::orego(),
    ] {
        let m = without_jacobian(m);
        for span in m.spans.iter().filter(|s| s.class != Class::NonStiff) {
            let o = check_span(Method::Rodas4, &m, span);
            let s = o.stats.expect("a run");
            println!(
                "{} rtol {:e}: steps {} rhs {} jacobians {} error/bound {:.2e} digits {:.2}",
                m.name,
                span.rtol,
                s.accepted_steps,
                s.rhs_evals,
                s.jacobians,
                o.worst_ratio,
                o.digits
            );
            assert!(o.failures.is_empty(), "{}: {:?}", m.name, o.failures);
            assert!(o.violations.is_empty(), "{}: {:?}", m.name, o.violations);
            // Differences: n right-hand sides per Jacobian.
            assert!(s.rhs_evals >= s.jacobians * m.sys.dim() as u64);
        }
    }
}

/// Rodas4 on the averaged coupled system (tau_w / tau = 1000) with the analytic
/// Jacobian, and with differences, both agree with a DOP853 reference at rtol 1e-12
/// within 100 sc (the harness's bound, tests/integrators.rs), and the analytic run
/// evaluates no right-hand side for its Jacobians: fewer than 8 per step attempt
/// (f(t, y), five more stages, f_t, and the outputs).
#[test]
fn rodas4_on_the_averaged_coupled_system_with_either_jacobian() {
    let ds = dataset(3);
    let sys = CoupledAveraged::new(CoupledParams::new(0.01, 10.0), ds.sigma().clone(), N1);
    let y0 = sys.settled_state(&random_matrix(N1, N0, 0.3, 7));
    let run = |s: &dyn OdeSystem, method: Method, rtol: f64| {
        let o = common::coupled::opts(method, 50.0, 10.0, rtol, rtol * 1e-2);
        let s = models::Dyn(s);
        integrate(&s, 0.0, &y0, &o, |_, _, _| Ok(())).unwrap()
    };
    let (reference, _) = run(&sys, Method::Dop853, 1e-12);
    let (rtol, atol) = (1e-8, 1e-10);
    let hidden = Differences(Box::new(CoupledAveraged::new(
        CoupledParams::new(0.01, 10.0),
        ds.sigma().clone(),
        N1,
    )));
    for (s, what) in [
        (&sys as &dyn OdeSystem, "analytic"),
        (&hidden, "differences"),
    ] {
        let (y, stats) = run(s, Method::Rodas4, rtol);
        for (i, (a, r)) in y.iter().zip(&reference).enumerate() {
            let bound = 100.0 * (rtol * r.abs() + atol);
            assert!(
                (a - r).abs() <= bound,
                "{what}: component {i} off by {:e}",
                a - r
            );
        }
        let attempts = stats.accepted_steps + stats.rejected_steps;
        println!("{what}: {stats:?}");
        if what == "analytic" {
            assert!(stats.rhs_evals < 8 * attempts + stats.outputs);
        } else {
            assert!(stats.rhs_evals > sys.dim() as u64 * stats.jacobians);
        }
    }
}
