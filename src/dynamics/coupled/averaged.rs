//! The averaged coupled system [`CoupledAveraged`] (module docs of [`super`]), on a
//! general Sigma or in Sigma's eigenbasis ([`CoupledAveraged::in_eigenbasis`]).

use super::{CoupledParams, scale_rows};
use crate::solver::OdeSystem;
use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut, DVector};
use std::cell::RefCell;

/// Work matrices of [`CoupledAveraged`].
#[derive(Debug, Clone)]
struct AveragedWork {
    ws: DMatrix<f64>, // W Sigma          n1 x n0
    zs: DMatrix<f64>, // Z Sigma^+        n1 x n0
    zt: DMatrix<f64>, // Z^T              n0 x n1
    wt: DMatrix<f64>, // W^T              n0 x n1
    q: DMatrix<f64>,  // Z Sigma^+ Z^T    n1 x n1
    k: DMatrix<f64>,  // W W^T            n1 x n1
    /// W Sigma for the W in `w_of` (both halves of f need it at the same W: the IMEX
    /// stages evaluate them in separate calls).
    w_sigma: DMatrix<f64>,
    w_of: Vec<f64>,
}

/// A symmetric n0 x n0 factor M of the right-hand side: dense, or diagonal (Sigma's
/// eigenbasis), where X M is a column scaling, O(n1 n0) instead of O(n1 n0^2).
#[derive(Debug)]
pub(super) enum Factor {
    Dense(DMatrix<f64>),
    Diagonal(DVector<f64>),
}

impl Factor {
    /// out = X M.
    pub(super) fn right_mul(&self, x: &DMatrixView<f64>, out: &mut DMatrix<f64>) {
        match self {
            Factor::Dense(m) => out.gemm(1.0, x, m, 0.0),
            Factor::Diagonal(d) => {
                for (j, &dj) in d.iter().enumerate() {
                    let mut col = out.column_mut(j);
                    col.copy_from(&x.column(j));
                    col *= dj;
                }
            }
        }
    }
}

impl AveragedWork {
    /// W Sigma, recomputed only when W differs from the last one seen.
    fn w_sigma(&mut self, w: &[f64], sigma: &Factor) -> &DMatrix<f64> {
        if self.w_of != w {
            let (n1, n0) = self.w_sigma.shape();
            sigma.right_mul(&DMatrixView::from_slice(w, n1, n0), &mut self.w_sigma);
            self.w_of.copy_from_slice(w);
        }
        &self.w_sigma
    }
}

/// The averaged coupled system over the flat state (vec Z, vec W) (both n1 x n0,
/// column-major), Z = E[z x^T]:
/// tau dZ/dt = -Z + A W Sigma, tau_w dW/dt = Z - Z Sigma^+ Z^T W + S (W Sigma - W W^T Z)
/// (module docs). The right-hand side does not allocate.
#[derive(Debug)]
pub struct CoupledAveraged {
    pub(super) params: CoupledParams,
    pub(super) n1: usize,
    pub(super) n0: usize,
    /// Sigma (diag(lambda) in the eigenbasis).
    pub(super) sigma: DMatrix<f64>,
    /// Sigma and Sigma^+ as used by the right-hand side (and the Jacobian,
    /// super::jacobian).
    pub(super) right: (Factor, Factor),
    work: RefCell<AveragedWork>,
}

impl CoupledAveraged {
    /// The averaged coupled system of an n1 x n0 net on Sigma (n0 x n0, symmetric
    /// positive semi-definite).
    pub fn new(params: CoupledParams, sigma: DMatrix<f64>, n1: usize) -> Self {
        let n0 = sigma.nrows();
        assert_eq!(sigma.ncols(), n0, "Sigma must be square");
        if let Some(a) = &params.gains {
            assert_eq!(a.len(), n1, "one gain per unit");
        }
        let pinv = crate::linalg::pseudo_inverse(&sigma);
        let right = (Factor::Dense(sigma.clone()), Factor::Dense(pinv));
        Self::with(params, sigma, right, n1)
    }

    /// The same system in Sigma's eigenbasis Phi (Sigma = Phi diag(lambda) Phi^T): the
    /// state (vec Z Phi, vec W Phi) obeys the equations with Sigma = diag(lambda),
    /// every term being a product X Sigma, X Sigma^+ or X Y^T = (X Phi)(Y Phi)^T, and
    /// its right-hand side costs O(n1^2 n0) instead of O(n1 n0^2).
    pub fn in_eigenbasis(params: CoupledParams, lambda: DVector<f64>, n1: usize) -> Self {
        let cut = 1e-12 * lambda.len() as f64 * lambda.amax();
        let inv = lambda.map(|l| if l > cut && l > 0.0 { 1.0 / l } else { 0.0 });
        let right = (Factor::Diagonal(lambda.clone()), Factor::Diagonal(inv));
        Self::with(params, DMatrix::from_diagonal(&lambda), right, n1)
    }

    fn with(
        params: CoupledParams,
        sigma: DMatrix<f64>,
        right: (Factor, Factor),
        n1: usize,
    ) -> Self {
        let n0 = sigma.nrows();
        let z = |r, c| DMatrix::zeros(r, c);
        CoupledAveraged {
            params,
            n1,
            n0,
            sigma,
            right,
            work: RefCell::new(AveragedWork {
                ws: z(n1, n0),
                zs: z(n1, n0),
                zt: z(n0, n1),
                wt: z(n0, n1),
                q: z(n1, n1),
                k: z(n1, n1),
                w_sigma: z(n1, n0),
                w_of: vec![f64::NAN; n1 * n0],
            }),
        }
    }

    /// The state with the neurons settled to W: (vec(A W Sigma), vec W).
    pub fn settled_state(&self, w: &DMatrix<f64>) -> Vec<f64> {
        assert_eq!(w.shape(), (self.n1, self.n0), "W must be n1 x n0");
        let mut z = w * &self.sigma;
        scale_rows(&mut z, self.params.gains.as_ref());
        let mut y = z.as_slice().to_vec();
        y.extend_from_slice(w.as_slice());
        y
    }

    /// Splits a state into (Z, W).
    pub fn split(&self, y: &[f64]) -> (DMatrix<f64>, DMatrix<f64>) {
        let m = self.n1 * self.n0;
        (
            DMatrix::from_column_slice(self.n1, self.n0, &y[..m]),
            DMatrix::from_column_slice(self.n1, self.n0, &y[m..]),
        )
    }

    /// Sigma.
    pub fn sigma(&self) -> &DMatrix<f64> {
        &self.sigma
    }

    /// The parameters.
    pub fn params(&self) -> &CoupledParams {
        &self.params
    }
}

impl CoupledAveraged {
    /// dZ = (-Z + A W Sigma) / tau: the neuron block (n1 n0 values).
    pub(crate) fn neuron_rhs(&self, y: &[f64], dz: &mut [f64]) {
        let (n1, n0) = (self.n1, self.n0);
        let m = n1 * n0;
        let mut guard = self.work.borrow_mut();
        let ws = guard.w_sigma(&y[m..], &self.right.0);
        let z = DMatrixView::from_slice(&y[..m], n1, n0);
        let mut dz = DMatrixViewMut::from_slice(dz, n1, n0);
        dz.copy_from(ws);
        scale_rows(&mut dz, self.params.gains.as_ref());
        dz -= &z;
        dz /= self.params.tau;
    }

    /// dW = (Z - (Z Sigma^+ Z^T) W + S (W Sigma - (W W^T) Z)) / tau_w: the weight
    /// block (n1 n0 values).
    pub(crate) fn weight_rhs(&self, y: &[f64], dw: &mut [f64]) {
        let (n1, n0) = (self.n1, self.n0);
        let m = n1 * n0;
        let mut guard = self.work.borrow_mut();
        let work = &mut *guard;
        work.w_sigma(&y[m..], &self.right.0);
        let AveragedWork {
            ws,
            zs,
            zt,
            wt,
            q,
            k,
            w_sigma,
            ..
        } = work;
        let z = DMatrixView::from_slice(&y[..m], n1, n0);
        let w = DMatrixView::from_slice(&y[m..], n1, n0);
        let mut dw = DMatrixViewMut::from_slice(dw, n1, n0);
        ws.copy_from(&*w_sigma); // W Sigma
        self.right.1.right_mul(&z, zs);
        z.transpose_to(zt);
        w.transpose_to(wt);
        q.gemm(1.0, &*zs, &*zt, 0.0);
        k.gemm(1.0, &w, &*wt, 0.0);
        ws.gemm(-1.0, &*k, &z, 1.0);
        scale_rows(ws, self.params.gains.as_ref());
        dw.copy_from(&z);
        dw += &*ws;
        dw.gemm(-1.0, &*q, &w, 1.0);
        dw /= self.params.tau_w;
    }
}

impl OdeSystem for CoupledAveraged {
    fn dim(&self) -> usize {
        2 * self.n1 * self.n0
    }

    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let (dz, dw) = dy.split_at_mut(self.n1 * self.n0);
        self.neuron_rhs(y, dz);
        self.weight_rhs(y, dw);
    }

    fn as_split(&self) -> Option<&dyn crate::solver::SplitSystem> {
        Some(self)
    }

    fn jacobian(&self, _t: f64, y: &[f64], jac: &mut DMatrix<f64>) -> bool {
        self.jacobian_into(y, jac);
        true
    }

    fn state_name(&self, i: usize) -> String {
        let m = self.n1 * self.n0;
        let (name, k) = if i < m { ("Z", i) } else { ("W", i - m) };
        format!("{name}[{},{}]", k % self.n1 + 1, k / self.n1 + 1)
    }

    fn divergence_hint(&self) -> String {
        "the weights blew up; start from smaller weights or check Sigma".into()
    }
}
