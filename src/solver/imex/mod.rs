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
//! err^(-1/4) within [0.2, 1] after a rejection); outputs are step ends (the last
//! step of each output interval is cut to land on it, as the Rosenbrock methods do),
//! the step size carried across. The first stage at a step start, f at y_n, is the
//! previous step's f at its end and is reused (also after a rejection).
//!
//! Cost: each counted right-hand side is one evaluation of f_E plus one of g (the
//! fast block), together about one f; extra Newton iterations count one each.

mod tableau;

use super::{SolverOptions, SolverStats, SplitSystem, check_bound, poll};
use crate::error::{Error, Result};
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
                let (ae, ai) = (h * AE[i][j], h * AI[i][j]);
                for (v, f) in self.stage.iter_mut().zip(&self.fe[j]) {
                    *v += ae * f;
                }
                for (v, f) in self.stage[..nf].iter_mut().zip(&self.fi[j]) {
                    *v += ai * f;
                }
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
            let iter = self.y_new.iter_mut().zip(self.err.iter_mut());
            for ((yn, er), f) in iter.zip(&self.fe[i]) {
                *yn += b * f;
                *er += e * f;
            }
            let iter = self.y_new[..nf].iter_mut().zip(self.err[..nf].iter_mut());
            for ((yn, er), f) in iter.zip(&self.fi[i]) {
                *yn += b * f;
                *er += e * f;
            }
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

    /// Integrates from t to t_next starting with step h (0 = estimate); the state y
    /// must be the one of the previous call's end (or a new [`Imex`]). Returns the
    /// step size to continue with.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn interval<Y: SplitSystem + ?Sized>(
        &mut self,
        sys: &Y,
        mut t: f64,
        t_next: f64,
        y: &mut [f64],
        mut h: f64,
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> Result<f64> {
        let span = t_next - t;
        let mut steps = 0u32;
        self.first_stage(sys, t, y, stats);
        if h <= 0.0 {
            h = self.initial_step(sys, t, y, opts, stats);
        }
        let too_many = |t: f64| Error::SolverFailed {
            time: t,
            reason: format!("more than {} steps in one output interval", opts.max_steps),
            hint: "raise solver.max_steps or loosen solver.rtol".into(),
        };
        while t < t_next {
            let mut rejected = false;
            loop {
                if steps >= opts.max_steps {
                    return Err(too_many(t));
                }
                steps += 1;
                let remaining = t_next - t;
                let landing = h >= remaining - 1e-12 * span.abs();
                let h_step = if landing { remaining } else { h };
                let attempt = self.attempt(sys, t, y, h_step, opts, stats);
                if let Attempt::Error(err) = attempt
                    && err <= 1.0
                {
                    // PI control (Gustafsson 1991; Hairer & Wanner, Solving ODEs II,
                    // §IV.2): once the explicit part's stability bounds the step, the
                    // plain err^(-1/4) rule alternates accepted and rejected steps.
                    let mut fac = (0.9
                        * err.max(1e-10).powf(-0.7 / ERR_ORDER)
                        * self.err_prev.powf(0.4 / ERR_ORDER))
                    .clamp(0.2, 5.0);
                    self.err_prev = err.max(1e-4);
                    if rejected {
                        fac = fac.min(1.0);
                    }
                    let h_new = h_step * fac;
                    h = if landing && !rejected {
                        h_new.max(h)
                    } else {
                        h_new
                    };
                    y.copy_from_slice(&self.y_new);
                    t = if landing { t_next } else { t + h_step };
                    self.fresh = false;
                    self.first_stage(sys, t, y, stats);
                    stats.accepted_steps += 1;
                    check_bound(
                        t,
                        y,
                        opts.divergence_bound,
                        |i| sys.state_name(i),
                        || sys.divergence_hint(),
                    )?;
                    poll(&opts.interrupt, t)?;
                    break;
                }
                stats.rejected_steps += 1;
                rejected = true;
                let fac = match attempt {
                    Attempt::Error(err) if err.is_finite() => {
                        (0.9 * err.powf(-1.0 / ERR_ORDER)).clamp(0.2, 1.0)
                    }
                    _ => 0.25,
                };
                h = h_step * fac;
                if 0.1 * h.abs() <= t.abs() * f64::EPSILON {
                    return Err(Error::SolverFailed {
                        time: t,
                        reason: "step size underflow".into(),
                        hint: "the solution may blow up here; loosen solver.rtol/atol or \
                               choose rodas4"
                            .into(),
                    });
                }
            }
        }
        Ok(h)
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
