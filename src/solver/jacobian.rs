//! The Jacobian df/dy and the time derivative f_t of the Rosenbrock methods: the
//! system's own Jacobian ([`OdeSystem::jacobian`]) when it has one, forward
//! differences otherwise.
//!
//! The difference increment of column j is CVODE's (Hindmarsh et al., SUNDIALS
//! cvode_ls.c, `cvLsDenseDQJac`): delta_j = max(sqrt(eps) |y_j|, min_inc sc_j) with
//! sc_j = atol + rtol |y_j| and min_inc = 1000 |h| eps n ||f||, ||f|| the RMS norm of
//! f_i / sc_i (min_inc = 1 when f = 0). It is relative to the component itself down
//! to a floor set by the error scale of that component, so a component far below the
//! others (ROBER's y2 ~ 1e-13 beside y1 ~ 1) still gets a small increment. The former
//! floor 1e-3 max_i |y_i| made ROBER's d f / d y2 wrong and cost Rodas4 its order
//! (docs/numerics.md §5.3).

use super::{OdeSystem, SolverOptions, SolverStats};
use nalgebra::DMatrix;

/// Work arrays of [`Jacobian::evaluate`].
pub(super) struct Jacobian {
    /// df/dy at the point of the last evaluation.
    pub jac: DMatrix<f64>,
    /// df/dt there (zero for autonomous systems).
    pub ft: Vec<f64>,
    arg: Vec<f64>,
    f1: Vec<f64>,
}

impl Jacobian {
    pub(super) fn new(n: usize) -> Self {
        Jacobian {
            jac: DMatrix::zeros(n, n),
            ft: vec![0.0; n],
            arg: vec![0.0; n],
            f1: vec![0.0; n],
        }
    }

    /// J and f_t at (t, y), where f(t, y) = `f0`, for steps of size about `h`.
    /// Counts the Jacobian and the right-hand sides it took.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn evaluate<S: OdeSystem>(
        &mut self,
        sys: &S,
        t: f64,
        y: &[f64],
        f0: &[f64],
        h: f64,
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) {
        stats.jacobians += 1;
        if !sys.jacobian(t, y, &mut self.jac) {
            self.differences(sys, t, y, f0, h, opts);
            stats.rhs_evals += y.len() as u64;
        }
        if sys.autonomous() {
            self.ft.fill(0.0);
        } else {
            let sqrt_eps = f64::EPSILON.sqrt();
            let dt = (t + sqrt_eps * t.abs().max(h.abs())) - t;
            sys.rhs(t + dt, y, &mut self.f1);
            for ((d, a), b) in self.ft.iter_mut().zip(&self.f1).zip(f0) {
                *d = (a - b) / dt;
            }
            stats.rhs_evals += 1;
        }
    }

    /// The forward-difference Jacobian with CVODE's increments (module docs).
    pub(super) fn differences<S: OdeSystem>(
        &mut self,
        sys: &S,
        t: f64,
        y: &[f64],
        f0: &[f64],
        h: f64,
        opts: &SolverOptions,
    ) {
        let n = y.len();
        let sqrt_eps = f64::EPSILON.sqrt();
        let sc = |v: f64| opts.atol + opts.rtol * v.abs();
        let fnorm = (y
            .iter()
            .zip(f0)
            .map(|(yi, fi)| (fi / sc(*yi)).powi(2))
            .sum::<f64>()
            / n.max(1) as f64)
            .sqrt();
        let min_inc = if fnorm > 0.0 && fnorm.is_finite() && h != 0.0 {
            1000.0 * h.abs() * f64::EPSILON * n as f64 * fnorm
        } else {
            1.0
        };
        self.arg.copy_from_slice(y);
        for (j, &yj) in y.iter().enumerate() {
            let inc = (sqrt_eps * yj.abs()).max(min_inc * sc(yj));
            self.arg[j] = yj + inc;
            let d = self.arg[j] - yj; // the increment actually represented
            sys.rhs(t, &self.arg, &mut self.f1);
            for (c, (a, b)) in self
                .jac
                .column_mut(j)
                .iter_mut()
                .zip(self.f1.iter().zip(f0))
            {
                *c = (a - b) / d;
            }
            self.arg[j] = yj;
        }
    }
}

/// The largest |J_ij - F_ij| / (|F_ij| + scale) between an analytic Jacobian J of
/// `sys` at (t, y) and its central-difference approximation F (increments
/// 1e-6 max(|y_j|, 1)), with `scale` = 1e-6 max |F|: a check of a hand-derived
/// Jacobian (central differences are accurate to ~1e-10 relative here, so a wrong
/// entry shows as O(1) and a correct one as < 1e-5). None when the system has no
/// Jacobian of its own.
pub fn jacobian_mismatch<S: OdeSystem + ?Sized>(sys: &S, t: f64, y: &[f64]) -> Option<f64> {
    let n = y.len();
    let mut jac = DMatrix::zeros(n, n);
    if !sys.jacobian(t, y, &mut jac) {
        return None;
    }
    let mut fd = DMatrix::zeros(n, n);
    let (mut fp, mut fm, mut arg) = (vec![0.0; n], vec![0.0; n], y.to_vec());
    for j in 0..n {
        let d = 1e-6 * y[j].abs().max(1.0);
        arg[j] = y[j] + d;
        sys.rhs(t, &arg, &mut fp);
        arg[j] = y[j] - d;
        sys.rhs(t, &arg, &mut fm);
        arg[j] = y[j];
        for i in 0..n {
            fd[(i, j)] = (fp[i] - fm[i]) / (2.0 * d);
        }
    }
    let scale = 1e-6 * fd.amax();
    let worst = jac
        .iter()
        .zip(fd.iter())
        .map(|(a, b)| (a - b).abs() / (b.abs() + scale))
        .fold(0.0, f64::max);
    Some(worst)
}
