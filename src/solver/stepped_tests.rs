//! The dense outputs of the carried Rodas4, IMEX and RK4 ([`super::stepped`]):
//! their order, one step of fixed size from an exact state (unit tests: a single
//! step of a given size is not reachable through the public options), and how they
//! behave on a stiff problem.

use super::carry::hermite;
use super::imex::Imex;
use super::rk4::Rk4Work;
use super::rosenbrock::Rosenbrock;
use super::stepped::{Ctx, Stepper};
use super::{Method, OdeSystem, SolverOptions, SolverStats, SplitSystem};
use nalgebra::DMatrix;

/// A fast component slaved to a slow one, stiff for lambda << -1 (after Kaps'
/// problem, with a time-dependent slow part): y2' = -cos(t) y2 and
/// y1' = lambda (y1 - y2^2) - 2 cos(t) y2^2, with y = (e^{-2 sin t}, e^{-sin t}) for
/// any lambda; y1 fast (implicit, affine with J_I = lambda), y2 slow.
struct Slaved {
    lambda: f64,
}

impl OdeSystem for Slaved {
    fn dim(&self) -> usize {
        2
    }
    fn rhs(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        self.rhs_implicit(t, y, &mut dy[..1]);
        dy[1] = -t.cos() * y[1];
    }
    fn jacobian(&self, t: f64, y: &[f64], jac: &mut DMatrix<f64>) -> bool {
        let (l, c) = (self.lambda, t.cos());
        jac.copy_from_slice(&[l, 0.0, -2.0 * l * y[1] - 4.0 * c * y[1], -c]);
        true
    }
    fn as_split(&self) -> Option<&dyn SplitSystem> {
        Some(self)
    }
}

impl SplitSystem for Slaved {
    fn implicit_is_linear(&self) -> bool {
        true
    }
    fn solve_implicit(&self, hg: f64, r: &mut [f64]) {
        r[0] /= 1.0 - hg * self.lambda;
    }
    fn rhs_explicit(&self, t: f64, y: &[f64], fe: &mut [f64]) {
        (fe[0], fe[1]) = (0.0, -t.cos() * y[1]);
    }
    fn rhs_implicit(&self, t: f64, y: &[f64], g: &mut [f64]) {
        let w2 = y[1] * y[1];
        g[0] = self.lambda * (y[0] - w2) - 2.0 * t.cos() * w2;
    }
    fn n_fast(&self) -> usize {
        1
    }
}

fn exact(t: f64) -> [f64; 2] {
    let s = (-t.sin()).exp();
    [s * s, s]
}

/// The largest error over theta = 0.1 .. 0.9 of `at(theta, out)` against the exact
/// solution inside the step h from t0.
fn worst_inside(t0: f64, h: f64, mut at: impl FnMut(f64, &mut [f64])) -> f64 {
    let mut out = [0.0; 2];
    let mut worst = 0.0f64;
    for i in 1..10 {
        let theta = f64::from(i) / 10.0;
        at(theta, &mut out);
        let e = exact(t0 + theta * h);
        worst = worst.max((out[0] - e[0]).abs()).max((out[1] - e[1]).abs());
    }
    worst
}

/// (error of the step end, largest error of the dense output inside the step,
/// largest error inside of the cubic Hermite interpolant with f evaluated at both
/// step ends) of one step h from the exact state at t = 0.3 (tolerances 1e6: every
/// step is accepted with size h).
fn step_errors<Sys: OdeSystem + ?Sized, M: Stepper<Sys>>(mut m: M, sys: &Sys, h: f64) -> [f64; 3] {
    let opts = SolverOptions::new(Method::Rodas4, 100.0)
        .rtol(1e6)
        .atol(1e6);
    let mut stats = SolverStats::start(0.0);
    let mut cx = Ctx {
        t_end: 100.0,
        attempts: 0,
        opts: &opts,
        stats: &mut stats,
    };
    let (t0, y0) = (0.3, exact(0.3));
    let mut y = y0.to_vec();
    let s = m.step(sys, t0, &mut y, h, &mut cx).expect("one step");
    assert_eq!((s.h, cx.stats.rejected_steps), (h, 0), "one step of size h");
    m.prepare_dense(sys, t0, h, &y, cx.stats);
    let dense = worst_inside(t0, h, |theta, out| m.interpolate(theta, h, &y, out));
    let (mut f0, mut f1) = ([0.0; 2], [0.0; 2]);
    sys.rhs(t0, &y0, &mut f0);
    sys.rhs(t0 + h, &y, &mut f1);
    let hermite = worst_inside(t0, h, |theta, out| {
        hermite(theta, h, &y0, &y, |k| f0[k], |k| f1[k], out)
    });
    let e = exact(t0 + h);
    [(y[0] - e[0]).abs().max((y[1] - e[1]).abs()), dense, hermite]
}

/// The largest error inside one step h (see [`step_errors`]).
fn one_step_error<Sys: OdeSystem + ?Sized, M: Stepper<Sys>>(m: M, sys: &Sys, h: f64) -> f64 {
    step_errors(m, sys, h)[1]
}

/// log2 of the error ratios when h halves over `hs`, for the stepper `make(h)`, on
/// the non-stiff problem (lambda = -1).
fn slopes<M: Stepper<Slaved>>(hs: [f64; 3], make: impl Fn(f64) -> M) -> Vec<f64> {
    let sys = Slaved { lambda: -1.0 };
    let e: Vec<f64> = hs
        .iter()
        .map(|&h| one_step_error(make(h), &sys, h))
        .collect();
    println!("errors {e:?}");
    e.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

/// A dense output of order q has local error O(h^(q+1)): halving h divides the
/// error by 2^(q+1). Rodas4's (rodas.f's CONTRO coefficients) is of order 3: slope
/// 4, measured 3.89 and 3.95 at h = 0.1, 0.05, 0.025 (errors 1.5e-6 .. 6.6e-9, far
/// above rounding). The window 3.6..4.5 fails order 2 (slope 3): a wrong d_ki leaves
/// the interpolant at most of order 2 while its ends stay exact.
#[test]
fn rodas4_dense_output_has_order_3() {
    let s = slopes([0.1, 0.05, 0.025], |_| Rosenbrock::new(2));
    println!("Rodas4 slopes {s:?}");
    assert!(s.iter().all(|&v| (3.6..4.5).contains(&v)), "slopes {s:?}");
}

/// The IMEX Hermite interpolant is of order 3: slope 4, measured 3.94 and 3.98 at
/// h = 0.2 .. 0.05 (window 3.6..4.5 fails order 2). Its end derivative takes the
/// stage's F^I_6, so this also checks that F^I_6 is f at the step end to O(h^3).
#[test]
fn imex_dense_output_has_order_3() {
    let s = slopes([0.2, 0.1, 0.05], |_| Imex::new(2, 1));
    println!("IMEX slopes {s:?}");
    assert!(s.iter().all(|&v| (3.6..4.5).contains(&v)), "slopes {s:?}");
}

/// RK4's continuous extension is of order 3: slope 4, measured 3.93 and 3.97 at
/// h = 0.2 .. 0.05 (window 3.6..4.5 fails order 2).
#[test]
fn rk4_dense_output_has_order_3() {
    let s = slopes([0.2, 0.1, 0.05], |h| {
        Rk4Work::new(2, 0.3, 0.3 + 100.0 * h, h)
    });
    println!("RK4 slopes {s:?}");
    assert!(s.iter().all(|&v| (3.6..4.5).contains(&v)), "slopes {s:?}");
}

/// A stiff problem (lambda = -1e8, h |lambda| = 1e7 at h = 0.1), one step from the
/// exact state: the stage-based dense outputs against the cubic Hermite interpolant
/// with f evaluated at both step ends (the IMEX alternative), whose end derivative
/// is that of the boundary layer through the numerical y_new: lambda (y1 - y2^2)
/// with y1 - y2^2 the step's error. Printed: [step end, inside, Hermite inside];
/// measured inside 3.7e-5 (Rodas4), 3.1e-4 (IMEX) against Hermite 0.56, 0.43. The
/// IMEX stage-based output must be at least 10 times closer than that Hermite
/// interpolant.
#[test]
fn stage_dense_outputs_beat_hermite_on_a_stiff_problem() {
    let sys = Slaved { lambda: -1e8 };
    let h = 0.1;
    let rodas4 = step_errors(Rosenbrock::new(2), &sys, h);
    let imex = step_errors(Imex::new(2, 1), &sys, h);
    println!("stiff: Rodas4 {rodas4:?}, IMEX {imex:?}");
    let [_, inside, hermite] = imex;
    assert!(
        10.0 * inside <= hermite,
        "IMEX: {inside:e} vs Hermite {hermite:e}"
    );
}
