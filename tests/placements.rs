//! The amplified LMSER placements (b) `Output`, (c) `Feedback`, (d) `Hebbian` and Oja's
//! weighted rule (Theta = A^-1 and Theta = A) of src/dynamics/rules.rs, against
//! formulas written out by hand from the doc comments of rules.rs and the README (the
//! forms G and F in tests/common/placements.rs, everything else here):
//!
//! * the per-sample forms G (y = W x, z = A y, u = W^T y, y' = W u):
//!   (b) z (x - u)^T + (z - y') x^T, (c) y (x - u)^T + (z - y') x^T,
//!   (d) 2 z x^T - y u^T - y' x^T, Oja-weighted y x^T - Theta y y^T W, and the
//!   gradient placement (a) A W (x e^T + e x^T), e = x - W^T A W x (-grad of
//!   1/2 ||x - W^T A W x||^2, differentiated by hand), averaged over samples;
//! * the averaged forms F(W; C) of the rules.rs docs;
//! * their fixed points with rows on eigenvectors, W = D Phi^T, whose magnitudes
//!   follow by hand from F (with W C = D Lambda Phi^T, W W^T = D^2 everything is
//!   diagonal): (b) F = D Lambda (2 A - (A + I) D^2) Phi^T, d_i^2 = 2 a_i / (1 + a_i);
//!   (c) F = D Lambda (I + A - 2 D^2) Phi^T, d_i^2 = (1 + a_i) / 2;
//!   (d) F = 2 D Lambda (A - D^2) Phi^T, d_i^2 = a_i;
//!   Oja-weighted F = D Lambda (I - Theta D^2) Phi^T, d_i^2 = 1 / theta_i;
//!   (a) F = 2 A D Lambda (I - A D^2) Phi^T, d_i^2 = 1 / a_i;
//! * which of these fixed points is stable, in the order the README claims ((b), (c),
//!   (d) and Oja-weighted Theta = A^-1: row i on eigenvector i; Theta = A: row i on
//!   eigenvector n1 + 1 - i), from the eigenvalues of the Jacobian of F by finite
//!   differences, and that the averaged ODE gets there from random starts;
//! * which placements are gradient flows: (c) and (d) are -grad of
//!   J_c = 1/2 tr C - 1/2 tr((I + A) W C W^T) + 1/2 tr(W C W^T W W^T) and
//!   J_d = 1/2 tr C - tr(A W C W^T) + 1/2 tr(W C W^T W W^T) (d/dW tr(A W C W^T) =
//!   2 A W C for diagonal A and symmetric C), checked by finite differences; (b) and
//!   Oja-weighted are not gradient flows (their Jacobian is not symmetric).
//!
//! Sigma = Phi Lambda Phi^T is built here from a random orthogonal Phi, so the
//! eigenvectors are known without the library's eigen-solver.

mod common;

use common::placements::{averaged, per_sample};
use lmser::data::{normal, rng};
use lmser::dynamics::rules::{Moment, Placement, Rule, Workspace, flow};
use lmser::solver::{Method, OdeSystem, SolverOptions, integrate};
use nalgebra::{DMatrix, DVector};

const N0: usize = 5;
const N1: usize = 3;
const LAMBDA: [f64; N0] = [4.0, 2.5, 1.5, 0.8, 0.3];
/// The README's gains A = diag(3, 2, 1).
const GAINS: [f64; N1] = [3.0, 2.0, 1.0];

fn gains() -> DVector<f64> {
    DVector::from_column_slice(&GAINS)
}

fn gaussian(seed: u64, r: usize, c: usize) -> DMatrix<f64> {
    let mut g = rng(seed, 31);
    DMatrix::from_fn(r, c, |_, _| normal(&mut g))
}

/// A random orthogonal Phi (Q of a Gaussian matrix) and Sigma = Phi Lambda Phi^T.
fn sigma(seed: u64) -> (DMatrix<f64>, DMatrix<f64>) {
    let phi = gaussian(seed, N0, N0).qr().q();
    let lam = DMatrix::from_diagonal(&DVector::from_column_slice(&LAMBDA));
    let s = &phi * lam * phi.transpose();
    (phi, (&s + s.transpose()) * 0.5)
}

/// The rules under test, with the magnitude d_i^2 of row i at a fixed point with
/// rows on eigenvectors (module docs), and where the README puts row i when stable.
struct Case {
    name: &'static str,
    rule: Rule,
    d2: Vec<f64>,
    /// Index of the eigenvector row i converges to (README).
    order: Vec<usize>,
}

fn cases() -> Vec<Case> {
    let a = gains();
    let lmser = |p| Rule::Lmser {
        gains: Some(a.clone()),
        placement: p,
    };
    let in_order: Vec<usize> = (0..N1).collect();
    vec![
        Case {
            name: "output (b)",
            rule: lmser(Placement::Output),
            d2: a.iter().map(|a| 2.0 * a / (1.0 + a)).collect(),
            order: in_order.clone(),
        },
        Case {
            name: "feedback (c)",
            rule: lmser(Placement::Feedback),
            d2: a.iter().map(|a| (1.0 + a) / 2.0).collect(),
            order: in_order.clone(),
        },
        Case {
            name: "hebbian (d)",
            rule: lmser(Placement::Hebbian),
            d2: a.iter().copied().collect(),
            order: in_order.clone(),
        },
        Case {
            name: "oja-weighted Theta = A^-1",
            rule: Rule::OjaWeighted {
                theta: a.map(|a| 1.0 / a),
            },
            d2: a.iter().copied().collect(),
            order: in_order,
        },
        Case {
            name: "oja-weighted Theta = A",
            rule: Rule::OjaWeighted { theta: a.clone() },
            d2: a.iter().map(|a| 1.0 / a).collect(),
            order: (0..N1).rev().collect(),
        },
    ]
}

fn flow_of(rule: &Rule, w: &DMatrix<f64>, c: &Moment) -> DMatrix<f64> {
    let mut ws = Workspace::new(w.nrows(), w.ncols());
    let mut out = DMatrix::zeros(w.nrows(), w.ncols());
    flow(rule, w, c, &mut ws, &mut out);
    out
}

fn max_abs(m: &DMatrix<f64>) -> f64 {
    m.amax()
}

/// Every rule of this file plus the gradient placement (a), as a control.
fn all_rules() -> Vec<(&'static str, Rule)> {
    let mut v: Vec<(&'static str, Rule)> = cases().into_iter().map(|c| (c.name, c.rule)).collect();
    v.push((
        "gradient (a)",
        Rule::Lmser {
            gains: Some(gains()),
            placement: Placement::Gradient,
        },
    ));
    v
}

// ------------------------------------------------------- formulas against flow

/// `flow` equals the docs' averaged F on random W and Sigma, and the docs' F of
/// C = X^T X / b equals the mean of the per-sample G over the rows of X (which is
/// also what `flow` gives for `Moment::Samples`). Tolerance: rounding only. Each
/// entry is a sum of products of <= 5 factors over inner dimensions <= 7 (and a
/// mean over b = 9 samples), so its rounding error is <= ~100 eps times the same sum
/// with absolute values, F_abs; 1e-12 max F_abs is ~50 times that.
#[test]
fn flow_matches_the_documented_formulas() {
    for seed in 0..4u64 {
        let (_, s) = sigma(seed);
        let w = gaussian(100 + seed, N1, N0) * 0.7;
        let x = gaussian(200 + seed, 9, N0);
        let c_x = x.transpose() * &x / x.nrows() as f64;
        for (name, rule) in all_rules() {
            // Averaged over Sigma.
            let (want, scale) = averaged(&rule, &w, &s);
            let tol = 1e-12 * max_abs(&scale);
            let got = flow_of(&rule, &w, &Moment::Matrix(&s));
            let err = max_abs(&(&got - &want));
            assert!(
                err <= tol,
                "{name} seed {seed}: flow vs F(W; Sigma) {err:e} > {tol:e}"
            );
            // The per-sample forms averaged = F(W; X^T X / b) = flow over samples.
            let mean = x
                .row_iter()
                .map(|r| per_sample(&rule, &w, &r.transpose()))
                .fold(DMatrix::zeros(N1, N0), |a, g| a + g)
                / x.nrows() as f64;
            let (want_x, scale_x) = averaged(&rule, &w, &c_x);
            let tol = 1e-12 * max_abs(&scale_x);
            let err = max_abs(&(&mean - &want_x));
            assert!(
                err <= tol,
                "{name}: mean of G vs F(W; C_X) {err:e} > {tol:e}"
            );
            let got = flow_of(&rule, &w, &Moment::Samples(&x));
            let err = max_abs(&(&got - &mean));
            assert!(err <= tol, "{name}: flow over samples vs mean of G {err:e}");
            // Not vacuous: the rule moves W here.
            assert!(max_abs(&want) > 1e-3, "{name}: F is ~0 at a random W");
        }
    }
}

// ------------------------------------------------------- fixed points

/// W = D Phi_S^T: row i is d_i times eigenvector `assign[i]`.
fn on_eigenvectors(phi: &DMatrix<f64>, d2: &[f64], assign: &[usize]) -> DMatrix<f64> {
    let mut w = DMatrix::zeros(N1, N0);
    for (i, &k) in assign.iter().enumerate() {
        w.row_mut(i)
            .copy_from(&(phi.column(k).transpose() * d2[i].sqrt()));
    }
    w
}

/// Every row-to-eigenvector assignment of N1 distinct eigenvectors out of N0.
fn assignments() -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    fn rec(out: &mut Vec<Vec<usize>>, cur: &mut Vec<usize>) {
        if cur.len() == N1 {
            out.push(cur.clone());
            return;
        }
        for k in 0..N0 {
            if !cur.contains(&k) {
                cur.push(k);
                rec(out, cur);
                cur.pop();
            }
        }
    }
    rec(&mut out, &mut cur);
    out
}

/// The derived magnitudes make every row-on-eigenvector W stationary: ||F|| is at
/// rounding level, 1e-12 max F_abs (as in the formula test), while the same rows with
/// unit length (the fixed point of plain LMSER, A = I) are not stationary under the
/// amplified rule (||F|| > 0.1).
#[test]
fn rows_on_eigenvectors_with_the_derived_lengths_are_fixed_points() {
    let (phi, s) = sigma(7);
    let mut rules: Vec<(&'static str, Rule, Vec<f64>)> = cases()
        .into_iter()
        .map(|c| (c.name, c.rule, c.d2))
        .collect();
    rules.push((
        "gradient (a)",
        Rule::Lmser {
            gains: Some(gains()),
            placement: Placement::Gradient,
        },
        GAINS.iter().map(|a| 1.0 / a).collect(),
    ));
    for (name, rule, d2) in rules {
        for assign in assignments() {
            let w = on_eigenvectors(&phi, &d2, &assign);
            let f = flow_of(&rule, &w, &Moment::Matrix(&s));
            let (_, scale) = averaged(&rule, &w, &s);
            let tol = 1e-12 * max_abs(&scale);
            assert!(
                max_abs(&f) <= tol,
                "{name} {assign:?}: ||F|| = {:e} > {tol:e}",
                max_abs(&f)
            );
            let unit = on_eigenvectors(&phi, &[1.0; N1], &assign);
            let f1 = flow_of(&rule, &unit, &Moment::Matrix(&s));
            assert!(
                max_abs(&f1) > 0.1,
                "{name} {assign:?}: unit rows stationary"
            );
        }
    }
}

/// d vec(F) / d vec(W) at W by finite differences. F is a cubic polynomial in W,
/// so the fourth-order formula (8 (F(+h) - F(-h)) - (F(+2h) - F(-2h))) / (12 h) is
/// exact up to rounding, ~eps max|F| / h = 1e-12 for h = 1e-3.
fn jacobian(rule: &Rule, w: &DMatrix<f64>, c: &DMatrix<f64>) -> DMatrix<f64> {
    let n = N1 * N0;
    let h = 1e-3;
    let mut jac = DMatrix::zeros(n, n);
    for k in 0..n {
        let at = |s: f64| {
            let mut wk = w.clone();
            wk[k] += s * h;
            flow_of(rule, &wk, &Moment::Matrix(c))
        };
        let col = ((at(1.0) - at(-1.0)) * 8.0 - (at(2.0) - at(-2.0))) / (12.0 * h);
        jac.column_mut(k).copy_from_slice(col.as_slice());
    }
    jac
}

/// Largest real part of the Jacobian's eigenvalues.
fn growth_rate(jac: &DMatrix<f64>) -> f64 {
    jac.complex_eigenvalues()
        .iter()
        .map(|z| z.re)
        .fold(f64::NEG_INFINITY, f64::max)
}

/// The README's order claim, locally: among all N0!/(N0-N1)! = 60 fixed points with
/// rows on eigenvectors, exactly one is stable -- the one in the README's order --
/// and every other one has a growing direction. "Stable" is max Re(eig) < -0.01 and
/// "growing" max Re(eig) > +0.01; the finite-difference Jacobian is exact to ~1e-12
/// (see `jacobian`), and the measured rates are >= 0.37 away from 0 (slowest decay
/// at a stable point 0.40, Oja-weighted Theta = A), so the margin of 0.01 separates
/// them with room.
#[test]
fn only_the_readme_order_is_stable() {
    let (phi, s) = sigma(11);
    for case in cases() {
        let mut stable = Vec::new();
        for assign in assignments() {
            let w = on_eigenvectors(&phi, &case.d2, &assign);
            let jac = jacobian(&case.rule, &w, &s);
            let rate = growth_rate(&jac);
            assert!(
                rate.abs() > 0.01,
                "{} {assign:?}: growth rate {rate:e} too close to 0 to classify",
                case.name
            );
            if rate < 0.0 {
                stable.push((assign, rate));
            }
        }
        assert_eq!(
            stable.len(),
            1,
            "{}: stable fixed points {stable:?}",
            case.name
        );
        assert_eq!(stable[0].0, case.order, "{}: the stable order", case.name);
        println!(
            "{}: stable at {:?}, rate {:.3}",
            case.name, stable[0].0, stable[0].1
        );
    }
}

/// The averaged ODE tau_w dW/dt = F(W; Sigma), over a flat column-major state.
struct Averaged<'a> {
    rule: &'a Rule,
    sigma: &'a DMatrix<f64>,
}

impl OdeSystem for Averaged<'_> {
    fn dim(&self) -> usize {
        N1 * N0
    }
    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let w = DMatrix::from_column_slice(N1, N0, y);
        dy.copy_from_slice(flow_of(self.rule, &w, &Moment::Matrix(self.sigma)).as_slice());
    }
    fn autonomous(&self) -> bool {
        true
    }
}

/// From 4 random starts each averaged flow ends at the README's fixed point, rows in
/// its order with the derived lengths (up to the sign of each row). Tolerance 1e-6:
/// Dop853 at rtol 1e-10 contributes ~1e-8 (integrators.rs), and near the fixed point
/// the distance decays at least like e^{-0.40 t} (the slowest rate at a stable point,
/// `only_the_readme_order_is_stable`), so 100 time units leave far below 1e-6 once
/// the start-up (escape from W ~ 0, tens of units) is over. Outputs every 1 unit
/// (the fastest mode, rate -48, holds Dop853's steps near 0.07).
#[test]
fn averaged_flows_reach_the_readme_fixed_point_from_random_starts() {
    let (phi, s) = sigma(13);
    for case in cases() {
        let target = on_eigenvectors(&phi, &case.d2, &case.order);
        for start in 0..4u64 {
            let w0 = gaussian(300 + start, N1, N0) * 0.3;
            let sys = Averaged {
                rule: &case.rule,
                sigma: &s,
            };
            let mut o = SolverOptions::new(Method::Dop853, 100.0);
            o.rtol = 1e-10;
            o.atol = 1e-12;
            o.output_dt = 1.0;
            let (y, _) = integrate(
                &sys,
                0.0,
                w0.as_slice(),
                &o,
                &mut |_: f64, _: &[f64], _: &[f64]| -> lmser::Result<()> { Ok(()) },
            )
            .unwrap();
            let w = DMatrix::from_column_slice(N1, N0, &y);
            let mut err = 0.0f64;
            for i in 0..N1 {
                let (r, t) = (w.row(i), target.row(i));
                err = err.max((r - t).amax().min((r + t).amax()));
            }
            assert!(
                err < 1e-6,
                "{} start {start}: {err:e} from the fixed point",
                case.name
            );
        }
    }
}

// ------------------------------------------------------- gradient flows

/// J_c (feedback) and J_d (hebbian) of the module docs; G = the gain matrix 2A or
/// I + A of the Hebbian term: J = 1/2 tr C - 1/2 tr(G W C W^T) + 1/2 tr(W C W^T W W^T).
fn potential(g: &DMatrix<f64>, w: &DMatrix<f64>, c: &DMatrix<f64>) -> f64 {
    let s = w * c * w.transpose();
    0.5 * c.trace() - 0.5 * (g * &s).trace() + 0.5 * (&s * w * w.transpose()).trace()
}

/// (c) and (d) are -grad of J_c and J_d: fourth-order central differences of the
/// quartic J with h = 1e-3 are exact up to rounding (~eps |J| / h ~ 1e-12), so they
/// agree with F to 1e-9 (1 + max|F|). Their Jacobians are symmetric (Hessians) to
/// the same accuracy, while those of (b) and of Oja's weighted rule are not
/// (asymmetry > 1e-2 of the Jacobian's size): they are not gradient flows.
#[test]
fn feedback_and_hebbian_are_gradient_flows_output_and_oja_weighted_are_not() {
    let (_, s) = sigma(17);
    let a = DMatrix::from_diagonal(&gains());
    let id = DMatrix::<f64>::identity(N1, N1);
    let rules = cases();
    let potentials = [("feedback (c)", &id + &a), ("hebbian (d)", &a * 2.0)];
    for seed in 0..3u64 {
        let w = gaussian(400 + seed, N1, N0) * 0.6;
        for (name, g) in &potentials {
            let rule = &rules.iter().find(|c| c.name == *name).unwrap().rule;
            let f = flow_of(rule, &w, &Moment::Matrix(&s));
            let h = 1e-3;
            let mut worst = 0.0f64;
            for k in 0..N1 * N0 {
                let j = |t: f64| {
                    let mut wk = w.clone();
                    wk[k] += t * h;
                    potential(g, &wk, &s)
                };
                let dj = (8.0 * (j(1.0) - j(-1.0)) - (j(2.0) - j(-2.0))) / (12.0 * h);
                worst = worst.max((f[k] + dj).abs());
            }
            let tol = 1e-9 * (1.0 + max_abs(&f));
            assert!(worst < tol, "{name}: F vs -grad J off by {worst:e}");
        }
        for case in &rules {
            let jac = jacobian(&case.rule, &w, &s);
            let asym = max_abs(&(&jac - jac.transpose())) / max_abs(&jac);
            let gradient = case.name.starts_with("feedback") || case.name.starts_with("hebbian");
            if gradient {
                assert!(
                    asym < 1e-9,
                    "{}: Jacobian asymmetric by {asym:e}",
                    case.name
                );
            } else {
                assert!(asym > 1e-2, "{}: Jacobian symmetric ({asym:e})", case.name);
            }
        }
    }
}
