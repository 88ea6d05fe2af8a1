//! Neurons and weights of a K-layer net in one ODE over a held batch X (n_0 x B,
//! docs/theory.md §10.7):
//!
//! tau_k dZ_k/dt = -Z_k + s_k(W_k Z_{k-1} + W_{k+1}^T Z_{k+1}),  Z_0 = X,
//! tau_w dW_k/dt = the rule's update at the current Z (mean over the held samples),
//!
//! with the rule's S'_k taken at the current pre-activations. The state is
//! (vec Z_1, ..., vec Z_K, vec W_1, ..., vec W_K). Its fast/slow split for the IMEX
//! method (the neurons implicit) is in [`super::split`].

use super::split::SplitWork;
use super::{MultiRule, Settled, Stack, apply_ds, settle::drive, update};
use crate::solver::OdeSystem;
use nalgebra::{DMatrix, DMatrixView};
use std::cell::RefCell;

/// The coupled system for one held batch.
pub struct CoupledNet<'a> {
    stack: &'a Stack,
    rule: MultiRule,
    /// tau_k of layer k at index k-1.
    tau: Vec<f64>,
    tau_w: f64,
    x: DMatrix<f64>,
    target: Option<DMatrix<f64>>,
    /// Shapes of W_1..W_K.
    shapes: Vec<(usize, usize)>,
    /// Work arrays and LU factors of the split ([`super::split`]).
    pub(super) work: RefCell<SplitWork>,
}

impl<'a> CoupledNet<'a> {
    /// The system for weights shaped like `w`, time constants tau_1..tau_K (neurons,
    /// one per layer) and tau_w (weights), holding `x` (and pushing the top toward
    /// `target`, if given).
    pub fn new(
        stack: &'a Stack,
        rule: MultiRule,
        (tau, tau_w): (Vec<f64>, f64),
        w: &[DMatrix<f64>],
        x: DMatrix<f64>,
        target: Option<DMatrix<f64>>,
    ) -> Self {
        let shapes: Vec<(usize, usize)> = w.iter().map(|m| m.shape()).collect();
        let work = RefCell::new(SplitWork::new(&shapes, x.ncols()));
        CoupledNet {
            stack,
            rule,
            tau,
            tau_w,
            x,
            target,
            shapes,
            work,
        }
    }

    /// Holds another batch (the state's size follows the number of samples).
    pub fn hold(&mut self, x: DMatrix<f64>, target: Option<DMatrix<f64>>) {
        if x.ncols() != self.x.ncols() {
            *self.work.get_mut() = SplitWork::new(&self.shapes, x.ncols());
        }
        self.x = x;
        self.target = target;
    }

    /// Number of layers K.
    pub fn depth(&self) -> usize {
        self.shapes.len()
    }

    /// n_k, k = 1..K.
    pub(super) fn width(&self, k: usize) -> usize {
        self.shapes[k - 1].0
    }

    /// Number of held samples B.
    pub fn samples(&self) -> usize {
        self.x.ncols()
    }

    /// tau_k, k = 1..K.
    pub(super) fn tau(&self, k: usize) -> f64 {
        self.tau[k - 1]
    }

    /// The units of layer k = 1..K.
    pub(super) fn activation(&self, k: usize) -> &crate::model::activation::Activation {
        self.stack.activation(k)
    }

    /// Offset of Z_k (n_k x B, column-major) in the state, k = 1..K.
    pub(super) fn layer_offset(&self, k: usize) -> usize {
        self.shapes[..k - 1].iter().map(|s| s.0).sum::<usize>() * self.x.ncols()
    }

    /// Z_k of a flat state, k = 0..K (Z_0: the held X).
    pub(super) fn layer<'y>(&'y self, y: &'y [f64], k: usize) -> DMatrixView<'y, f64> {
        if k == 0 {
            return self.x.as_view();
        }
        let (n, b, at) = (self.width(k), self.x.ncols(), self.layer_offset(k));
        DMatrixView::from_slice(&y[at..at + n * b], n, b)
    }

    /// W_k of a flat state, k = 1..K.
    pub(super) fn weight<'y>(&self, y: &'y [f64], k: usize) -> DMatrixView<'y, f64> {
        let at = self.neuron_dim()
            + self.shapes[..k - 1]
                .iter()
                .map(|s| s.0 * s.1)
                .sum::<usize>();
        let (r, c) = self.shapes[k - 1];
        DMatrixView::from_slice(&y[at..at + r * c], r, c)
    }

    /// The pre-activations a_k = W_k Z_{k-1} + W_{k+1}^T Z_{k+1} (no top-down term at
    /// k = K) of a flat state into `a` (n_k x B each), without allocation.
    pub(super) fn drives_into(&self, y: &[f64], a: &mut [DMatrix<f64>]) {
        let depth = self.depth();
        for k in 1..=depth {
            let ak = &mut a[k - 1];
            ak.gemm(1.0, &self.weight(y, k), &self.layer(y, k - 1), 0.0);
            if k < depth {
                ak.gemm_tr(1.0, &self.weight(y, k + 1), &self.layer(y, k + 1), 1.0);
            }
        }
    }

    /// The neuron block dZ_k = (s_k(a_k) - Z_k) / tau_k from the pre-activations a.
    pub(super) fn neurons_from(&self, a: &[DMatrix<f64>], y: &[f64], dz: &mut [f64]) {
        let mut at = 0;
        for (k, ak) in (1..=self.depth()).zip(a) {
            let (act, rows, tau) = (self.activation(k), ak.nrows(), self.tau(k));
            let z = &y[at..at + ak.len()];
            for (v, (zk, a)) in z.iter().zip(ak.iter()).enumerate() {
                dz[at + v] = (act.s(v % rows, *a) - zk) / tau;
            }
            at += ak.len();
        }
    }

    /// The weight block dW_k = (the rule's update at the current Z) / tau_w; NaN when
    /// the exact rule's adjoint has no solution (the run stops as diverged there).
    pub(super) fn weights_from(
        &self,
        z: Vec<DMatrix<f64>>,
        w: &[DMatrix<f64>],
        drives: &[DMatrix<f64>],
        dw: &mut [f64],
    ) {
        let current = Settled {
            ds: (1..=w.len())
                .map(|k| apply_ds(self.stack.activation(k), &drives[k - 1]))
                .collect(),
            z,
            sweeps: 0,
        };
        match update(self.rule, self.stack, w, &current, self.target.as_ref()) {
            Ok(g) => {
                let mut at = 0;
                for m in &g.dw {
                    for (d, v) in dw[at..at + m.len()].iter_mut().zip(m.iter()) {
                        *d = v / self.tau_w;
                    }
                    at += m.len();
                }
            }
            Err(_) => dw.fill(f64::NAN),
        }
    }

    /// Number of neuron states n_1 B + ... + n_K B.
    pub fn neuron_dim(&self) -> usize {
        self.shapes.iter().map(|s| s.0).sum::<usize>() * self.x.ncols()
    }

    /// (Z_0 = X, Z_1..Z_K) and (W_1..W_K) of a flat state.
    pub fn unpack(&self, y: &[f64]) -> (Vec<DMatrix<f64>>, Vec<DMatrix<f64>>) {
        let b = self.x.ncols();
        let mut at = 0;
        let mut take = |r: usize, c: usize| {
            at += r * c;
            DMatrix::from_column_slice(r, c, &y[at - r * c..at])
        };
        let mut z = vec![self.x.clone()];
        z.extend(
            self.shapes
                .iter()
                .map(|&(r, _)| take(r, b))
                .collect::<Vec<_>>(),
        );
        let w = self.shapes.iter().map(|&(r, c)| take(r, c)).collect();
        (z, w)
    }

    /// The neuron energy E = mean over the held samples of
    /// -sum_k z_k^T W_k z_{k-1} + sum_k sum_j int_0^{z_kj} s^-1 (docs/theory.md §1.4, the
    /// input term at k = 1; not eqn 3 as printed, §1.5).
    pub fn energy(&self, y: &[f64]) -> f64 {
        let (z, w) = self.unpack(y);
        let mut e = 0.0;
        for k in 1..z.len() {
            e -= (&w[k - 1] * &z[k - 1]).dot(&z[k]);
            let act = self.stack.activation(k);
            let rows = z[k].nrows();
            e += z[k]
                .iter()
                .enumerate()
                .map(|(i, &v)| act.energy_integral(i % rows, v))
                .sum::<f64>();
        }
        e / self.x.ncols() as f64
    }
}

impl OdeSystem for CoupledNet<'_> {
    fn dim(&self) -> usize {
        self.neuron_dim() + self.shapes.iter().map(|s| s.0 * s.1).sum::<usize>()
    }

    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let (z, w) = self.unpack(y);
        let drives: Vec<DMatrix<f64>> = (1..=w.len()).map(|k| drive(&w, &z, k)).collect();
        let (dz, dw) = dy.split_at_mut(self.neuron_dim());
        self.neurons_from(&drives, y, dz);
        self.weights_from(z, &w, &drives, dw);
    }

    fn as_split(&self) -> Option<&dyn crate::solver::SplitSystem> {
        Some(self)
    }

    fn autonomous(&self) -> bool {
        true
    }
}
