//! The fast right-hand sides of src/dynamics/rules.rs against the plain formulas, and
//! the eigenbasis integration of averaged runs against the direct one:
//!
//! * `flow` forms one product W C per call and otherwise n1 x n1 intermediates
//!   ((W W^T)(W C) for W W^T W C, A (W C) - (W W^T)(W C) for (A W - W W^T W) C);
//!   here every rule is compared with its formula written out left to right
//!   (2 W C - W C W^T W - W W^T W C for LMSER, W C - W C W^T W for Oja; the
//!   placements and Oja's weighted rule from tests/common/placements.rs) for a
//!   matrix C, for C = X^T X / b and for a diagonal C;
//! * the averaged ODE's right-hand side for plain LMSER (the two-product form
//!   2 W C - [W W^T, W C W^T] [W C; W] on the state itself, src/dynamics/stacked.rs)
//!   equals `flow` / tau_w for the three moments, for n1 below and above the size
//!   from which it forms W W^T and W C W^T as triangles;
//! * `Moment::Diagonal` is Sigma in its eigenbasis: F(W Phi; Lambda) = F(W; Sigma) Phi
//!   and J(W Phi; Lambda) = J(W; Sigma);
//! * an averaged learning run (integrated in Sigma's eigenbasis) ends where the
//!   direct integration of F(W; Sigma) ends, to the solver tolerance;
//! * `subspace_error` (residuals of order n0 n1^2) equals ||P_W - P_Phi||_F formed
//!   from the n0 x n0 projectors;
//! * a dataset built from eigenvalues knows its spectrum: it equals the computed
//!   eigendecomposition of its Sigma to rounding.
//!
//! Rounding bounds: evaluating a sum of products of matrices with inner dimensions
//! at most k errs entrywise by at most about k eps times the same sum taken over the
//! absolute values of every factor (F_abs); the fast and the plain evaluation each
//! do, so they may differ by 2 k eps F_abs. The tests allow 4 k eps max(F_abs) with
//! k = n0 + 2 n1 (the longest chain of inner dimensions): a few ulps times the norms.
//! A wrong association, sign or gain moves F by a fraction of F itself, which the
//! tests require to be far above this (||F|| > 1e-3).

mod common;

use common::placements::averaged;
use lmser::analysis::Spectrum;
use lmser::data::{Dataset, Distribution, normal, random_orthogonal, rng};
use lmser::dynamics::rules::{
    Moment, Placement, Rule, Workspace, flow, reconstruction_error, subspace_error,
};
use lmser::executor::Metrics;
use lmser::experiment::learning::{AveragedLearning, LearningSpec, simulate};
use lmser::solver::{Method, OdeSystem, SolverOptions, integrate};
use nalgebra::{DMatrix, DVector};

fn max_abs(m: &DMatrix<f64>) -> f64 {
    m.amax()
}

fn gauss(r: usize, c: usize, seed: u64) -> DMatrix<f64> {
    let mut g = rng(seed, 9);
    DMatrix::from_fn(r, c, |_, _| normal(&mut g))
}

/// Every rule of rules.rs with gains (3, 2, 1.5, 1.2, ...) for n1 units.
fn rules(n1: usize) -> Vec<(String, Rule)> {
    let a = DVector::from_fn(n1, |i, _| 3.0 / (1.0 + 0.5 * i as f64));
    let mut v = vec![
        ("lmser".to_string(), Rule::lmser()),
        ("oja".to_string(), Rule::Oja),
        (
            "oja-weighted".to_string(),
            Rule::OjaWeighted {
                theta: a.map(|x| 1.0 / x),
            },
        ),
    ];
    for p in Placement::ALL {
        let rule = Rule::Lmser {
            gains: Some(a.clone()),
            placement: p,
        };
        v.push((format!("lmser {}", p.name()), rule));
    }
    v
}

/// F(W; C) written out left to right as a sum of signed terms, and the same sum over
/// the absolute values of W and `c_abs` (the rounding scale).
fn plain(
    rule: &Rule,
    w: &DMatrix<f64>,
    c: &DMatrix<f64>,
    c_abs: &DMatrix<f64>,
) -> (DMatrix<f64>, DMatrix<f64>) {
    let own = |w: &DMatrix<f64>, c: &DMatrix<f64>, s: f64| match rule {
        // 2 W C - W C W^T W - W W^T W C
        Rule::Lmser { gains: None, .. } => {
            2.0 * w * c + s * (w * c * w.transpose() * w) + s * (w * w.transpose() * w * c)
        }
        // W C - W C W^T W
        Rule::Oja => w * c + s * (w * c * w.transpose() * w),
        _ => unreachable!(),
    };
    match rule {
        Rule::Lmser { gains: None, .. } | Rule::Oja => (own(w, c, -1.0), own(&w.abs(), c_abs, 1.0)),
        _ => (averaged(rule, w, c).0, averaged(rule, w, c_abs).1),
    }
}

fn flow_of(rule: &Rule, w: &DMatrix<f64>, c: &Moment) -> DMatrix<f64> {
    let mut f = DMatrix::zeros(w.nrows(), w.ncols());
    flow(
        rule,
        w,
        c,
        &mut Workspace::new(w.nrows(), w.ncols()),
        &mut f,
    );
    f
}

/// Measured: at most 0.017 of the bound (oja-weighted, diagonal, 3 x 7: 8.9e-16
/// against 5.4e-14); the largest difference 4e-13 (gradient placement, 8 x 40).
#[test]
fn every_rule_equals_its_plain_formula_for_every_moment() {
    for (n1, n0, seed) in [(3, 7, 1), (8, 40, 2)] {
        let w = gauss(n1, n0, seed) * 0.7;
        let g = gauss(n0, n0, seed + 10);
        let c = &g * g.transpose() / n0 as f64;
        let x = gauss(50, n0, seed + 20);
        let cx = x.transpose() * &x / 50.0;
        let cx_abs = x.abs().transpose() * x.abs() / 50.0;
        let lam = DVector::from_fn(n0, |i, _| 2.0 / (1.0 + i as f64));
        let cd = DMatrix::from_diagonal(&lam);
        let eps_k = 4.0 * (n0 + 2 * n1) as f64 * f64::EPSILON;
        for (name, rule) in rules(n1) {
            for (kind, moment, c, c_abs) in [
                ("matrix", Moment::Matrix(&c), &c, c.abs()),
                ("samples", Moment::Samples(&x), &cx, cx_abs.clone()),
                ("diagonal", Moment::Diagonal(&lam), &cd, cd.clone()),
            ] {
                let (want, scale) = plain(&rule, &w, c, &c_abs);
                let got = flow_of(&rule, &w, &moment);
                let (err, tol) = (max_abs(&(&got - &want)), eps_k * max_abs(&scale));
                assert!(err <= tol, "{name} {kind} {n1}x{n0}: {err:e} > {tol:e}");
                assert!(
                    want.norm() > 1e-3,
                    "{name} {kind}: F ~ 0, the test is vacuous"
                );
            }
        }
    }
}

/// `AveragedLearning::rhs` (plain LMSER: the two-product form) against `flow` / tau_w
/// (itself checked against the written-out formula above), same bound. Measured: at
/// most 0.0022 of it.
#[test]
fn averaged_right_hand_side_equals_the_flow() {
    for (n1, n0, seed) in [(3, 7, 1), (20, 50, 2)] {
        let w = gauss(n1, n0, seed) * 0.7;
        let g = gauss(n0, n0, seed + 10);
        let c = &g * g.transpose() / n0 as f64;
        let x = gauss(60, n0, seed + 20);
        let lam = DVector::from_fn(n0, |i, _| 2.0 / (1.0 + i as f64));
        let cx_abs = x.abs().transpose() * x.abs() / 60.0;
        let rule = Rule::lmser();
        let eps_k = 4.0 * (n0 + 2 * n1) as f64 * f64::EPSILON;
        for (kind, sys, moment, c_abs) in [
            (
                "matrix",
                AveragedLearning::new(rule.clone(), c.clone(), 2.0, n1),
                Moment::Matrix(&c),
                c.abs(),
            ),
            (
                "samples",
                AveragedLearning::over_samples(rule.clone(), x.clone(), 2.0, n1),
                Moment::Samples(&x),
                cx_abs,
            ),
            (
                "diagonal",
                AveragedLearning::in_eigenbasis(rule.clone(), lam.clone(), 2.0, n1),
                Moment::Diagonal(&lam),
                DMatrix::from_diagonal(&lam),
            ),
        ] {
            let mut dy = vec![0.0; n1 * n0];
            sys.rhs(0.0, w.as_slice(), &mut dy);
            let got = DMatrix::from_column_slice(n1, n0, &dy);
            let want = flow_of(&rule, &w, &moment) / 2.0;
            let (_, scale) = plain(&rule, &w, &c_abs, &c_abs);
            let (err, tol) = (max_abs(&(&got - &want)), eps_k * max_abs(&scale));
            assert!(err <= tol, "{kind} {n1}x{n0}: {err:e} > {tol:e}");
            assert!(want.norm() > 1e-3, "{kind}: F ~ 0");
        }
    }
}

/// F(W Phi; diag lambda) = F(W; Phi diag(lambda) Phi^T) Phi and the same J: the
/// rotation adds one product of inner dimension n0 on each side, inside the bound.
/// Measured: at most 0.002 of it.
#[test]
fn diagonal_moment_is_sigma_in_its_eigenbasis() {
    let (n1, n0) = (4, 30);
    let phi = random_orthogonal(n0, &mut rng(3, 4));
    let lam = DVector::from_fn(n0, |i, _| 3.0 * 0.8f64.powi(i as i32));
    let sigma = &phi * DMatrix::from_diagonal(&lam) * phi.transpose();
    let w = gauss(n1, n0, 5) * 0.5;
    let v = &w * &phi;
    let eps_k = 4.0 * (n0 + 2 * n1) as f64 * f64::EPSILON;
    for (name, rule) in rules(n1) {
        let want = flow_of(&rule, &w, &Moment::Matrix(&sigma)) * &phi;
        let got = flow_of(&rule, &v, &Moment::Diagonal(&lam));
        let (_, scale) = plain(&rule, &w, &sigma, &sigma.abs());
        let err = max_abs(&(&got - &want));
        let tol = eps_k * max_abs(&scale);
        assert!(err <= tol, "{name}: {err:e} > {tol:e}");
        let mut ws = Workspace::new(n1, n0);
        let j_w = reconstruction_error(&rule, &w, &Moment::Matrix(&sigma), &mut ws);
        let j_v = reconstruction_error(&rule, &v, &Moment::Diagonal(&lam), &mut ws);
        assert!(
            (j_w - j_v).abs() <= 1e-13 * j_w.abs(),
            "{name}: J {j_w} vs {j_v}"
        );
    }
}

/// The averaged run of a spec (integrated in Sigma's eigenbasis by `simulate`) and
/// `integrate` of F(W; Sigma) in the input basis solve the same ODE at rtol 1e-10,
/// atol 1e-12; each is within K rtol max(1, |W|) of the exact solution (K = 100, the
/// bound of tests/integrators.rs), so they may differ by 2e-8. Measured: at most
/// 1e-10 (output placement).
#[test]
fn eigenbasis_run_equals_the_direct_integration() {
    let lam: Vec<f64> = (0..12).map(|i| 4.0 * 0.7f64.powi(i)).collect();
    let ds = Dataset::from_eigenvalues(&lam, true, Distribution::Gaussian, &mut rng(2, 4));
    for (name, rule) in rules(3) {
        let w0 = gauss(3, 12, 7) * 0.3;
        let spec = LearningSpec::builder(ds.clone(), w0.clone(), 20.0)
            .rule(rule.clone())
            .method(Method::Dop853)
            .rtol(1e-10)
            .atol(1e-12)
            .output_dt(1.0)
            .build()
            .unwrap();
        let mut j_rows = Vec::new();
        let (w_eig, _) = simulate(&spec, &mut |m: &Metrics| {
            j_rows.push(m.value("J"));
            Ok(())
        })
        .unwrap();
        let sys = AveragedLearning::new(rule.clone(), ds.sigma().clone(), 1.0, 3);
        let opts = SolverOptions::new(Method::Dop853, 20.0)
            .rtol(1e-10)
            .atol(1e-12)
            .output_dt(1.0);
        let mut j_direct = Vec::new();
        let (y, _) = integrate(&sys, 0.0, w0.as_slice(), &opts, |_, y, _| {
            let w = DMatrix::from_column_slice(3, 12, y);
            let c = Moment::Matrix(ds.sigma());
            j_direct.push(reconstruction_error(
                &rule,
                &w,
                &c,
                &mut Workspace::new(3, 12),
            ));
            Ok(())
        })
        .unwrap();
        let w_direct = DMatrix::from_column_slice(3, 12, &y);
        let err = max_abs(&(&w_eig - &w_direct));
        let tol = 2e-8 * max_abs(&w_direct).max(1.0);
        assert!(err <= tol, "{name}: final W differs by {err:e} > {tol:e}");
        assert_eq!(j_rows.len(), j_direct.len(), "{name}: output times");
        for (k, (a, b)) in j_rows.iter().zip(&j_direct).enumerate() {
            assert!(
                (a - b).abs() <= 2e-8 * b.abs().max(1.0),
                "{name} row {k}: J {a} vs {b}"
            );
        }
        assert!(max_abs(&(&w_direct - &w0)) > 0.1, "{name}: W did not move");
    }
}

/// ||P_W - P_Phi||_F from the n0 x n0 projectors (entries within ~n0 eps of exact):
/// the two agree to 1e-13 for a random W, a rank-deficient W, a W almost on the
/// subspace (error ~1e-9, where the residual form must not lose digits) and W = 0.
#[test]
fn subspace_error_equals_the_projector_difference() {
    let (n1, n0) = (4, 25);
    let phi = random_orthogonal(n0, &mut rng(8, 4))
        .columns(0, n1)
        .into_owned();
    let projector = |w: &DMatrix<f64>| {
        let svd = w.transpose().svd(true, false);
        let (u, s) = (svd.u.unwrap(), svd.singular_values);
        let tol = 1e-10 * s.max().max(1e-300);
        let mut p = DMatrix::zeros(n0, n0);
        for i in (0..s.len()).filter(|&i| s[i] > tol) {
            p += u.column(i) * u.column(i).transpose();
        }
        p
    };
    let mut deficient = gauss(n1, n0, 11);
    let r0 = deficient.row(0).into_owned();
    deficient.row_mut(3).copy_from(&(r0 * 2.0));
    let near = phi.transpose() * 3.0 + gauss(n1, n0, 12) * 1e-9;
    for (name, w) in [
        ("random", gauss(n1, n0, 10)),
        ("rank 3", deficient),
        ("near", near),
        ("zero", DMatrix::zeros(n1, n0)),
    ] {
        let want = (projector(&w) - &phi * phi.transpose()).norm();
        let got = subspace_error(&w, &phi);
        assert!((got - want).abs() <= 1e-13, "{name}: {got:e} vs {want:e}");
    }
}

/// The spectrum of a dataset built from eigenvalues is the rotation and the
/// eigenvalues themselves; the computed eigendecomposition of its Sigma matches to
/// rounding: eigenvalues within 1e-13 lambda_1, eigenvectors (signs fixed alike)
/// within eps ||Sigma|| / gap ~ 1e-15, tested at 1e-12.
#[test]
fn known_spectrum_equals_the_computed_one() {
    let lam = [0.3, 5.0, 1.0, 2.5, 0.1, 1.7];
    let ds = Dataset::from_eigenvalues(&lam, true, Distribution::Gaussian, &mut rng(4, 4));
    let known = ds.spectrum();
    let computed = Spectrum::of(ds.sigma());
    let sorted = [5.0, 2.5, 1.7, 1.0, 0.3, 0.1];
    for (i, l) in sorted.iter().enumerate() {
        assert_eq!(
            known.values[i], *l,
            "eigenvalues given are kept exactly, sorted"
        );
        assert!((computed.values[i] - l).abs() <= 1e-13 * 5.0);
    }
    let err = max_abs(&(&known.vectors - &computed.vectors));
    assert!(err <= 1e-12, "eigenvectors differ by {err:e}");
}
