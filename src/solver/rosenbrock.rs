//! An adaptive Rosenbrock method (linearly implicit, L-stable) for stiff systems such
//! as the coupled neuron-weight ODE with tau_w / tau >> 1, where an explicit method's
//! step is held to ~3 tau by stability: Rodas4 (Hairer & Wanner's RODAS, order 4(3)).
//! Each step evaluates the Jacobian at its
//! start (the system's own, or forward differences: dim right-hand sides, see
//! [`super::jacobian`]), f_t for non-autonomous systems (one more), and one dense
//! nalgebra LU (O(dim^3)); carried across output times by [`super::stepped`] with a
//! dense output from the stages u_i (no extra right-hand side; stiffly stable, as
//! the stages are solved with (I / (h gamma) - J)): Rodas4's own, order 3 (Hairer's
//! rodas.f, CONTRO; Hairer & Wanner, Solving ODEs II, §VI.4),
//! y(t_old + theta h) = (1 - theta) y_old + theta (y_new + (1 - theta)(r2 + theta r3)),
//! r_k = sum_i d_ki u_i.

mod carried;

use super::jacobian::Jacobian;
use super::options::too_many;
use super::{Method, OdeSystem, SolverOptions, SolverStats};
use crate::error::{Error, Result};
use faer::linalg::solvers::Solve;
use faer::{Mat, MatMut};
use nalgebra::DVector;

/// Coefficients of a Rosenbrock method in the form of Hairer & Wanner (IV.7.25):
/// (I / (h gamma) - J) u_i = f(t + alpha_i h, y + sum_j a_ij u_j)
///                           + sum_j (c_ij / h) u_j + gamma_i h f_t,
/// y_new = y + sum_i m_i u_i, error estimate sum_i e_i u_i.
struct Tableau {
    gamma: f64,
    alpha: Vec<f64>,
    gamma_i: Vec<f64>,
    a: Vec<Vec<f64>>,
    c: Vec<Vec<f64>>,
    m: Vec<f64>,
    e: Vec<f64>,
    /// The error estimate is O(h^q).
    q: f64,
    /// The dense-output rows d_2i, d_3i (rodas.f D21..D35).
    dense: [[f64; 5]; 2],
}

impl Tableau {
    /// Rodas4. A Jacobian at every step, as Hairer's RODAS: its order needs the exact
    /// Jacobian, and reusing one over up to 4 steps took about twice the steps on the
    /// stiff test set, a third of them rejected (docs/numerics.md §5.3).
    fn rodas4() -> Tableau {
        // rodas.f (METH = 1), Hairer & Wanner, Solving ODEs II, section VI.4.
        let a5 = vec![
            1.221224509226641,
            6.019134481288629,
            12.53708332932087,
            -0.687_886_036_105_895,
        ];
        let mut a6 = a5.clone();
        a6.push(1.0);
        let mut m = a6.clone();
        m.push(1.0);
        Tableau {
            gamma: 0.25,
            alpha: vec![0.0, 0.386, 0.21, 0.63, 1.0, 1.0],
            gamma_i: vec![0.25, -0.1043, 0.1035, -0.036_200_000_000_000_23, 0.0, 0.0],
            a: vec![
                vec![],
                vec![1.544],
                vec![0.9466785280815826, 0.2557011698983284],
                vec![3.314825187068521, 2.896124015972201, 0.9986419139977817],
                a5,
                a6,
            ],
            c: vec![
                vec![],
                vec![-5.6688],
                vec![-2.430093356833875, -0.2063599157091915],
                vec![-0.1073529058151375, -9.594562251023355, -20.47028614809616],
                vec![
                    7.496443313967647,
                    -10.24680431464352,
                    -33.99990352819905,
                    11.7089089320616,
                ],
                vec![
                    8.083246795921522,
                    -7.981132988064893,
                    -31.52159432874371,
                    16.31930543123136,
                    -6.058818238834054,
                ],
            ],
            m,
            e: vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            q: 4.0,
            dense: [
                [
                    10.12623508344586,
                    -7.487995877610167,
                    -34.80091861555747,
                    -7.992771707568823,
                    1.025137723295662,
                ],
                [
                    -0.6762803392801253,
                    6.087714651680015,
                    16.43084320892478,
                    24.76722511418386,
                    -6.594389125716872,
                ],
            ],
        }
    }

    fn stages(&self) -> usize {
        self.alpha.len()
    }
}

/// Below this dimension the step matrix is factored by nalgebra, from it on by faer.
/// Measured: at n = 12 (coupled-samples.toml) nalgebra's LU run took 0.22 s against
/// faer's 0.39 s (faer's setup per factorisation); at n = 1024 (the 64 x 8 averaged
/// coupled run, docs/numerics.md §5.5) faer's blocked LU took 11 s against 51 s. The
/// crossover between them was not measured.
const FAER_FROM: usize = 64;

/// The LU factors of the step matrix I / (h gamma) - J.
enum Lu {
    Small(nalgebra::LU<f64, nalgebra::Dyn, nalgebra::Dyn>),
    /// faer's blocked partial-pivoting LU (single thread: faer is built without rayon).
    Large(faer::linalg::solvers::PartialPivLu<f64>),
}

impl Lu {
    fn of(jac: &nalgebra::DMatrix<f64>, diag: f64) -> Lu {
        let n = jac.nrows();
        if n < FAER_FROM {
            let mut mat = -jac;
            for i in 0..n {
                mat[(i, i)] += diag;
            }
            Lu::Small(mat.lu())
        } else {
            let mat = Mat::<f64>::from_fn(n, n, |i, j| {
                if i == j {
                    diag - jac[(i, j)]
                } else {
                    -jac[(i, j)]
                }
            });
            Lu::Large(mat.as_ref().partial_piv_lu())
        }
    }

    /// Solves in place; false when the matrix is singular (non-finite values).
    fn solve(&self, b: &mut DVector<f64>) -> bool {
        match self {
            Lu::Small(lu) => lu.solve_mut(b),
            Lu::Large(lu) => {
                let n = b.len();
                lu.solve_in_place(MatMut::from_column_major_slice_mut(b.as_mut_slice(), n, 1));
                b.iter().all(|v| v.is_finite())
            }
        }
    }
}

/// State and work arrays of a Rosenbrock integration.
pub(super) struct Rosenbrock {
    tab: Tableau,
    n: usize,
    jw: Jacobian,
    /// f at the step start.
    f0: Vec<f64>,
    /// The last step's start, and its dense-output rows r2, r3.
    y_old: Vec<f64>,
    r: [Vec<f64>; 2],
    u: Vec<DVector<f64>>,
    b: DVector<f64>,
    arg: Vec<f64>,
    fi: Vec<f64>,
    y_new: Vec<f64>,
    err: Vec<f64>,
}

impl Rosenbrock {
    /// Work arrays of Rodas4 in dimension n.
    pub(super) fn new(n: usize) -> Self {
        let tab = Tableau::rodas4();
        let s = tab.stages();
        Rosenbrock {
            tab,
            n,
            jw: Jacobian::new(n),
            f0: vec![0.0; n],
            y_old: vec![0.0; n],
            r: [vec![0.0; n], vec![0.0; n]],
            u: (0..s).map(|_| DVector::zeros(n)).collect(),
            b: DVector::zeros(n),
            arg: vec![0.0; n],
            fi: vec![0.0; n],
            y_new: vec![0.0; n],
            err: vec![0.0; n],
        }
    }

    /// One step of size h from (t, y) with the prepared f0, J, f_t: writes y_new and
    /// returns the scaled RMS error (infinite when the step failed).
    fn attempt<S: OdeSystem>(
        &mut self,
        sys: &S,
        t: f64,
        y: &[f64],
        h: f64,
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> f64 {
        let n = self.n;
        let tab = &self.tab;
        let lu = Lu::of(&self.jw.jac, 1.0 / (h * tab.gamma));
        for s in 0..tab.stages() {
            if s == 0 {
                self.fi.copy_from_slice(&self.f0);
            } else {
                self.arg.copy_from_slice(y);
                for (j, &a) in tab.a[s].iter().enumerate() {
                    for (v, uj) in self.arg.iter_mut().zip(self.u[j].iter()) {
                        *v += a * uj;
                    }
                }
                sys.rhs(t + tab.alpha[s] * h, &self.arg, &mut self.fi);
                stats.rhs_evals += 1;
            }
            for i in 0..n {
                self.b[i] = self.fi[i] + tab.gamma_i[s] * h * self.jw.ft[i];
            }
            for (j, &c) in tab.c[s].iter().enumerate() {
                self.b.axpy(c / h, &self.u[j], 1.0);
            }
            if !lu.solve(&mut self.b) {
                return f64::INFINITY;
            }
            self.u[s].copy_from(&self.b);
        }
        self.y_new.copy_from_slice(y);
        self.err.fill(0.0);
        for s in 0..tab.stages() {
            let (m, e) = (tab.m[s], tab.e[s]);
            for i in 0..n {
                self.y_new[i] += m * self.u[s][i];
                self.err[i] += e * self.u[s][i];
            }
        }
        let e = super::options::error_norm(y, &self.y_new, &self.err, opts);
        if e.is_finite() && self.y_new.iter().all(|v| v.is_finite()) {
            e
        } else {
            f64::INFINITY
        }
    }

    /// A first step size from f0 and one explicit Euler probe (Hairer's hinit).
    fn initial_step<S: OdeSystem>(
        &mut self,
        sys: &S,
        t: f64,
        y: &[f64],
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> f64 {
        let n = self.n;
        let sc = |i: usize| opts.atol + opts.rtol * y[i].abs();
        let rms = |v: &dyn Fn(usize) -> f64| {
            ((0..n).map(|i| (v(i) / sc(i)).powi(2)).sum::<f64>() / n.max(1) as f64).sqrt()
        };
        let d0 = rms(&|i| y[i]);
        let d1 = rms(&|i| self.f0[i]);
        let h0 = if d0 < 1e-5 || d1 < 1e-5 {
            1e-6
        } else {
            0.01 * d0 / d1
        };
        for ((a, yi), fi) in self.arg.iter_mut().zip(y).zip(&self.f0) {
            *a = yi + h0 * fi;
        }
        sys.rhs(t + h0, &self.arg, &mut self.fi);
        stats.rhs_evals += 1;
        let d2 = rms(&|i| self.fi[i] - self.f0[i]) / h0;
        let h1 = if d1.max(d2) <= 1e-15 {
            (h0 * 1e-3).max(1e-6)
        } else {
            (0.01 / d1.max(d2)).powf(1.0 / self.tab.q)
        };
        (100.0 * h0).min(h1)
    }

    /// One accepted step from (t, y) towards t_end with the prepared f0, J, f_t,
    /// tried with h first and retried with smaller steps after rejections. Writes y;
    /// returns the new t, the step's size and the next step size.
    #[allow(clippy::too_many_arguments)]
    fn accept_step<S: OdeSystem>(
        &mut self,
        sys: &S,
        t: f64,
        t_end: f64,
        y: &mut [f64],
        mut h: f64,
        steps: &mut u32,
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> Result<(f64, f64, f64)> {
        let q = self.tab.q;
        let mut tries = 0;
        loop {
            tries += 1;
            *steps += 1;
            let remaining = t_end - t;
            let landing = h >= remaining - 1e-12 * remaining.abs();
            let h_step = if landing { remaining } else { h };
            let err = self.attempt(sys, t, y, h_step, opts, stats);
            if err <= 1.0 {
                let mut fac = if err == 0.0 {
                    5.0
                } else {
                    (0.9 * err.powf(-1.0 / q)).clamp(0.2, 5.0)
                };
                if tries > 1 {
                    fac = fac.min(1.0);
                }
                self.y_old.copy_from_slice(y);
                y.copy_from_slice(&self.y_new);
                stats.accepted_steps += 1;
                let t_new = if landing { t_end } else { t + h_step };
                return Ok((t_new, h_step, h_step * fac));
            }
            stats.rejected_steps += 1;
            let fac = if err.is_finite() {
                (0.9 * err.powf(-1.0 / q)).clamp(0.2, 1.0)
            } else {
                0.2
            };
            h = h_step * fac;
            // Hairer's test (rodas.f): the step no longer changes t in floating
            // point. It scales with |t|, not with the output interval: a rejected
            // step of 1e-4 at t ~ 0 is fine even when the interval is [0, 1e11].
            if 0.1 * h.abs() <= t.abs() * f64::EPSILON {
                return Err(Error::SolverFailed {
                    time: t,
                    reason: "step size underflow".into(),
                    hint: "the solution may blow up here; loosen solver.rtol/atol or check the weights"
                        .into(),
                });
            }
            too_many(*steps, t, opts)?;
        }
    }
}

/// `steps` equal steps of Rodas4 from (t0, y0) to t_end without error control (for
/// convergence-order checks). Returns y(t_end).
pub fn rosenbrock_fixed<S: OdeSystem>(
    sys: &S,
    t0: f64,
    y0: &[f64],
    t_end: f64,
    steps: usize,
) -> Vec<f64> {
    let n = sys.dim();
    assert_eq!(y0.len(), n, "initial state has the wrong dimension");
    let mut rb = Rosenbrock::new(n);
    let mut stats = SolverStats::start(t0);
    let opts = SolverOptions::new(Method::Dopri5, t_end);
    let h = (t_end - t0) / steps as f64;
    let mut y = y0.to_vec();
    for k in 0..steps {
        let t = t0 + k as f64 * h;
        sys.rhs(t, &y, &mut rb.f0);
        rb.jw.evaluate(sys, t, &y, &rb.f0, h, &opts, &mut stats);
        rb.attempt(sys, t, &y, h, &opts, &mut stats);
        y.copy_from_slice(&rb.y_new);
    }
    y
}
