//! The IMEX additive Runge-Kutta method ARK4(3)6L[2]SA (Kennedy & Carpenter 2003,
//! Appl. Numer. Math. 44; IMEX Runge-Kutta: Ascher, Ruuth & Spiteri 1997, Appl.
//! Numer. Math. 25) for a [`SplitSystem`]: the fast block (the neurons) implicit, the
//! rest (the weights) explicit. One step of size h from (t, y):
//!
//!   Y_i = y + h sum_{j<i} a^E_ij F^E_j + h sum_{j<=i} a^I_ij F^I_j,   i = 1..6,
//!   y_new = y + h sum_i b_i (F^E_i + F^I_i),
//!   err   = h sum_i (b_i - d_i) (F^E_i + F^I_i)   (O(h^4)),
//!
//! with F^E_i = f_E(t + c_i h, Y_i), F^I_i = (g(t + c_i h, Y_i), 0). Because F^I has no
//! slow components, Y_i's slow block is explicit and only its fast block z solves
//! z = base + gamma h g(t_i, (z, w)), by simplified Newton with I - gamma h J_I from
//! [`SplitSystem::prepare_implicit`] (one iteration when
//! [`SplitSystem::implicit_is_linear`]). F^I_i is then (z - base) / (gamma h), the
//! stage equation itself, not a new evaluation of g (Hairer & Wanner, Solving ODEs II,
//! §IV.8: re-evaluating g would amplify the Newton residual by the stiffness).
//!
//! Steps adapt with the scaled RMS norm of err (as [`super::rosenbrock`]) and the
//! PI step-size factor 0.9 err^(-0.7/4) err_prev^(0.4/4) within [0.2, 5] (0.9
//! err^(-1/4) within [0.2, 1] after a rejection). The first stage at a step start,
//! f at y_n, is the previous step's f at its end and is reused (also after a
//! rejection). Carried across output times by [`super::stepped`]: an output inside a
//! step is a cubic Hermite interpolant of (y_n, f_n, y_{n+1}, f_{n+1}) (order 3, as
//! ARKODE's default), f_{n+1} with the last stage's F^I_6 in the fast block
//! ([`carried`]); no extra right-hand side.
//!
//! Cost: each counted right-hand side is one evaluation of f_E plus one of g (the
//! fast block), together about one f; extra Newton iterations count one each.

mod carried;
mod tableau;

use super::{SolverOptions, SolverStats, SplitSystem};
use crate::simd::add_scaled;
use tableau::{AE, AI, B, C, D, ERR_ORDER, GAMMA, S};

/// Newton iterations per stage before the step is rejected (nonlinear g).
const MAX_NEWTON: usize = 8;

/// State and work arrays of an IMEX integration.
pub(super) struct Imex {
    n: usize,
    nf: usize,
    fe: Vec<Vec<f64>>,
    fi: Vec<Vec<f64>>,
    stage: Vec<f64>,
    base: Vec<f64>,
    r: Vec<f64>,
    y_new: Vec<f64>,
    err: Vec<f64>,
    /// fe[0], fi[0] hold f at the current (t, y).
    fresh: bool,
    /// The error of the last accepted step (PI controller), 1e-4 at least.
    err_prev: f64,
    /// The last step's start, and the derivatives at its ends for the dense output
    /// ([`carried`]); `f_end` is known once a step was taken.
    y_old: Vec<f64>,
    f_start: Vec<f64>,
    f_end: Vec<f64>,
    has_end: bool,
}

/// Why a step attempt failed.
enum Attempt {
    /// Scaled RMS error of an attempt that produced finite values.
    Error(f64),
    /// Newton did not converge or the matrix was singular: retry with a smaller h.
    NoConvergence,
}

impl Imex {
    /// Work arrays for a state of n components, the first nf fast.
    pub(super) fn new(n: usize, nf: usize) -> Self {
        assert!(nf <= n, "more fast components than states");
        Imex {
            n,
            nf,
            fe: (0..S).map(|_| vec![0.0; n]).collect(),
            fi: (0..S).map(|_| vec![0.0; nf]).collect(),
            stage: vec![0.0; n],
            base: vec![0.0; nf],
            r: vec![0.0; nf],
            y_new: vec![0.0; n],
            err: vec![0.0; n],
            fresh: false,
            err_prev: 1.0,
            y_old: vec![0.0; n],
            f_start: vec![0.0; n],
            f_end: vec![0.0; n],
            has_end: false,
        }
    }

    /// Evaluates the first stage f_E(t, y), g(t, y) unless already known.
    fn first_stage<Y: SplitSystem + ?Sized>(
        &mut self,
        sys: &Y,
        t: f64,
        y: &[f64],
        stats: &mut SolverStats,
    ) {
        if !self.fresh {
            sys.rhs_explicit(t, y, &mut self.fe[0]);
            sys.rhs_implicit(t, y, &mut self.fi[0]);
            stats.rhs_evals += 1;
            self.fresh = true;
        }
    }

    /// Solves stage i's fast block z = base + gamma h g(t_i, (z, w)) in `self.stage`
    /// (its slow block set, its fast block holding the start guess `base`); writes
    /// fi[i]. Returns false when Newton fails.
    fn solve_stage<Y: SplitSystem + ?Sized>(
        &mut self,
        sys: &Y,
        i: usize,
        ti: f64,
        hg: f64,
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> bool {
        let nf = self.nf;
        let linear = sys.implicit_is_linear();
        for iter in 0..MAX_NEWTON {
            sys.rhs_implicit(ti, &self.stage, &mut self.r);
            if iter > 0 {
                stats.rhs_evals += 1;
            }
            // r = base + hg g(z) - z: the stage equation's residual, then the update.
            let z = &mut self.stage[..nf];
            for ((r, b), zk) in self.r.iter_mut().zip(&self.base).zip(z.iter()) {
                *r = b + hg * *r - zk;
            }
            sys.solve_implicit(hg, &mut self.r);
            let mut size = 0.0;
            for (zk, r) in z.iter_mut().zip(&self.r) {
                *zk += r;
                if !linear {
                    size += (r / (opts.atol + opts.rtol * zk.abs())).powi(2);
                }
            }
            let size = (size / nf.max(1) as f64).sqrt();
            if !size.is_finite() {
                return false;
            }
            // Newton's error after this update is ~ its size squared (scaled); 1e-2
            // of the tolerance leaves the step's own error in control.
            if linear || size <= 1e-2 {
                let inv = 1.0 / hg;
                for ((f, zk), b) in self.fi[i].iter_mut().zip(z.iter()).zip(&self.base) {
                    *f = (zk - b) * inv;
                }
                return true;
            }
        }
        false
    }

    /// One step of size h from (t, y) (first stage evaluated): writes y_new.
    fn attempt<Y: SplitSystem + ?Sized>(
        &mut self,
        sys: &Y,
        t: f64,
        y: &[f64],
        h: f64,
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> Attempt {
        let nf = self.nf;
        let hg = GAMMA * h;
        if !sys.prepare_implicit(t, y, hg) {
            return Attempt::NoConvergence;
        }
        for i in 1..S {
            self.stage.copy_from_slice(y);
            for j in 0..i {
                add_scaled(&mut self.stage, h * AE[i][j], &self.fe[j]);
                add_scaled(&mut self.stage[..nf], h * AI[i][j], &self.fi[j]);
            }
            self.base.copy_from_slice(&self.stage[..nf]);
            let ti = t + C[i] * h;
            if !self.solve_stage(sys, i, ti, hg, opts, stats) {
                return Attempt::NoConvergence;
            }
            sys.rhs_explicit(ti, &self.stage, &mut self.fe[i]);
            stats.rhs_evals += 1;
        }
        self.y_new.copy_from_slice(y);
        self.err.fill(0.0);
        for i in 0..S {
            let (b, e) = (h * B[i], h * (B[i] - D[i]));
            add_scaled(&mut self.y_new, b, &self.fe[i]);
            add_scaled(&mut self.err, e, &self.fe[i]);
            add_scaled(&mut self.y_new[..nf], b, &self.fi[i]);
            add_scaled(&mut self.err[..nf], e, &self.fi[i]);
        }
        let e = crate::solver::options::error_norm(y, &self.y_new, &self.err, opts);
        if e.is_finite() && self.y_new.iter().all(|v| v.is_finite()) {
            Attempt::Error(e)
        } else {
            Attempt::NoConvergence
        }
    }

    /// A first step size from f(t, y) and one explicit Euler probe (Hairer's hinit,
    /// as the Rosenbrock methods), f = f_E + (g, 0).
    fn initial_step<Y: SplitSystem + ?Sized>(
        &mut self,
        sys: &Y,
        t: f64,
        y: &[f64],
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> f64 {
        let (n, nf) = (self.n, self.nf);
        let f0 = |k: usize| self.fe[0][k] + if k < nf { self.fi[0][k] } else { 0.0 };
        let sc = |k: usize| opts.atol + opts.rtol * y[k].abs();
        let rms = |v: &dyn Fn(usize) -> f64| {
            ((0..n).map(|k| (v(k) / sc(k)).powi(2)).sum::<f64>() / n.max(1) as f64).sqrt()
        };
        let (d0, d1) = (rms(&|k| y[k]), rms(&f0));
        let h0 = if d0 < 1e-5 || d1 < 1e-5 {
            1e-6
        } else {
            0.01 * d0 / d1
        };
        for (k, (s, yk)) in self.stage.iter_mut().zip(y).enumerate() {
            *s = yk + h0 * f0(k);
        }
        sys.rhs_explicit(t + h0, &self.stage, &mut self.y_new);
        sys.rhs_implicit(t + h0, &self.stage, &mut self.r);
        stats.rhs_evals += 1;
        let f1 = |k: usize| self.y_new[k] + if k < nf { self.r[k] } else { 0.0 };
        let d2 = rms(&|k| f1(k) - f0(k)) / h0;
        let h1 = if d1.max(d2) <= 1e-15 {
            (h0 * 1e-3).max(1e-6)
        } else {
            (0.01 / d1.max(d2)).powf(1.0 / ERR_ORDER)
        };
        (100.0 * h0).min(h1)
    }
}

/// `steps` equal steps of the IMEX method from (t0, y0) to t_end without error
/// control (for convergence-order checks). Returns y(t_end), or None when a stage's
/// Newton iteration failed.
pub fn imex_fixed<Y: SplitSystem + ?Sized>(
    sys: &Y,
    t0: f64,
    y0: &[f64],
    t_end: f64,
    steps: usize,
) -> Option<Vec<f64>> {
    let n = sys.dim();
    assert_eq!(y0.len(), n, "initial state has the wrong dimension");
    let mut im = Imex::new(n, sys.n_fast());
    let mut stats = SolverStats::start(t0);
    // Tight tolerances: only the Newton test of nonlinear g uses them.
    let opts = SolverOptions::new(super::Method::Imex, t_end)
        .rtol(1e-13)
        .atol(1e-15);
    let h = (t_end - t0) / steps as f64;
    let mut y = y0.to_vec();
    for k in 0..steps {
        let t = t0 + k as f64 * h;
        im.first_stage(sys, t, &y, &mut stats);
        if let Attempt::NoConvergence = im.attempt(sys, t, &y, h, &opts, &mut stats) {
            return None;
        }
        y.copy_from_slice(&im.y_new);
        im.fresh = false;
    }
    Some(y)
}
