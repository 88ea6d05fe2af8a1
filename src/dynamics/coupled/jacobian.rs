//! Closed-form Jacobians of the one-layer coupled systems (module docs of
//! [`super`]), for the Rosenbrock methods ([`OdeSystem::jacobian`]): O(dim^2) work
//! where forward differences take dim right-hand sides of O(n1 n0^2) each.
//! `jacobian_mismatch` checks both against central differences (tests/jacobians.rs).
//!
//! Notation: E_ab is the unit matrix with a 1 at (a, b); a state entry (a, b) of an
//! n1 x n0 block is at a + b n1 within the block (column-major); u_k is the k-th unit
//! vector; S = A = diag(s).
//!
//! Averaged, state (vec Z, vec W) (or (vec Z Phi, vec W Phi) in Sigma's eigenbasis,
//! where Sigma is diag(lambda): the same formulas), P = Sigma^+, Q = Z P Z^T, R = P Z^T W, K = W W^T:
//! - d(tau dZ/dt)/dZ_ab = -E_ab;  d(tau dZ/dt)/dW_ab = A E_ab Sigma (row a: s_a Sigma[b, :]).
//! - d(tau_w dW/dt)/dZ_ab = E_ab - E_ab R - (Z P)[:, b] W[a, :] - S K[:, a] u_b^T.
//! - d(tau_w dW/dt)/dW_ab = -Q[:, a] u_b^T + S E_ab (Sigma - W^T Z) - S W[:, b] Z[a, :].
//!
//! Samples, state (z, vec W), e = x - W^T z:
//! - d(tau dz/dt)/dz_a = -u_a;  d(tau dz/dt)/dW_ab = s_a x_b u_a.
//! - d(tau_w dW/dt)/dz_a = u_a e^T - z W[a, :] - S K[:, a] x^T.
//! - d(tau_w dW/dt)/dW_ab = -z_a z u_b^T + S (e_b u_a - z_a W[:, b]) x^T (de = -z_a u_b).

use super::{CoupledAveraged, CoupledSamples};
use nalgebra::{DMatrix, DMatrixView, DVectorView};

fn gain(gains: Option<&nalgebra::DVector<f64>>, p: usize) -> f64 {
    gains.map_or(1.0, |a| a[p])
}

impl CoupledAveraged {
    /// The Jacobian of the averaged system at y (module docs), into `jac`.
    pub(super) fn jacobian_into(&self, y: &[f64], jac: &mut DMatrix<f64>) {
        let (n1, n0) = (self.n1, self.n0);
        let m = n1 * n0;
        let gains = self.params.gains.as_ref();
        let (tau, tau_w) = (self.params.tau, self.params.tau_w);
        let z = DMatrixView::from_slice(&y[..m], n1, n0);
        let w = DMatrixView::from_slice(&y[m..], n1, n0);
        // Z P with the right-hand side's own Sigma^+ (dense, or diagonal in Sigma's
        // eigenbasis, where `sigma` is diag(lambda): the same formulas hold).
        let mut zp = DMatrix::zeros(n1, n0); // n1 x n0
        self.right.1.right_mul(&z, &mut zp);
        let q = &zp * z.transpose(); // n1 x n1
        let r = zp.transpose() * w; // (Z P)^T W = P Z^T W, n0 x n0 (P symmetric)
        let k = w * w.transpose(); // n1 x n1
        let wtz = w.transpose() * z; // n0 x n0
        let s = |p| gain(gains, p);
        let at = |a: usize, b: usize| a + b * n1;
        jac.fill(0.0);
        for b in 0..n0 {
            for a in 0..n1 {
                // Column of Z_ab.
                let c = at(a, b);
                jac[(c, c)] -= 1.0 / tau;
                jac[(m + c, c)] += 1.0 / tau_w;
                for qq in 0..n0 {
                    jac[(m + at(a, qq), c)] -= r[(b, qq)] / tau_w;
                }
                for qq in 0..n0 {
                    for p in 0..n1 {
                        jac[(m + at(p, qq), c)] -= zp[(p, b)] * w[(a, qq)] / tau_w;
                    }
                }
                for p in 0..n1 {
                    jac[(m + at(p, b), c)] -= s(p) * k[(p, a)] / tau_w;
                }
                // Column of W_ab.
                let c = m + at(a, b);
                for qq in 0..n0 {
                    jac[(at(a, qq), c)] += s(a) * self.sigma[(b, qq)] / tau;
                    jac[(m + at(a, qq), c)] += s(a) * (self.sigma[(b, qq)] - wtz[(b, qq)]) / tau_w;
                }
                for p in 0..n1 {
                    jac[(m + at(p, b), c)] -= q[(p, a)] / tau_w;
                }
                for qq in 0..n0 {
                    for p in 0..n1 {
                        jac[(m + at(p, qq), c)] -= s(p) * w[(p, b)] * z[(a, qq)] / tau_w;
                    }
                }
            }
        }
    }
}

impl CoupledSamples {
    /// The Jacobian of the sample-driven system at y (module docs), into `jac`.
    pub(super) fn jacobian_into(&self, y: &[f64], jac: &mut DMatrix<f64>) {
        let (n1, n0) = (self.n1, self.n0);
        let gains = self.params.gains.as_ref();
        let (tau, tau_w) = (self.params.tau, self.params.tau_w);
        let x = &self.x;
        let z = DVectorView::from_slice(&y[..n1], n1);
        let w = DMatrixView::from_slice(&y[n1..], n1, n0);
        let e = x - w.transpose() * z; // n0
        let k = w * w.transpose(); // n1 x n1
        let s = |p| gain(gains, p);
        let at = |a: usize, b: usize| n1 + a + b * n1;
        jac.fill(0.0);
        for a in 0..n1 {
            // Column of z_a.
            jac[(a, a)] = -1.0 / tau;
            for qq in 0..n0 {
                jac[(at(a, qq), a)] += e[qq] / tau_w;
                for p in 0..n1 {
                    jac[(at(p, qq), a)] -= (z[p] * w[(a, qq)] + s(p) * k[(p, a)] * x[qq]) / tau_w;
                }
            }
        }
        for b in 0..n0 {
            for a in 0..n1 {
                // Column of W_ab.
                let c = at(a, b);
                jac[(a, c)] = s(a) * x[b] / tau;
                for p in 0..n1 {
                    jac[(at(p, b), c)] -= z[a] * z[p] / tau_w;
                }
                for qq in 0..n0 {
                    jac[(at(a, qq), c)] += s(a) * e[b] * x[qq] / tau_w;
                    for p in 0..n1 {
                        jac[(at(p, qq), c)] -= s(p) * z[a] * w[(p, b)] * x[qq] / tau_w;
                    }
                }
            }
        }
    }
}
