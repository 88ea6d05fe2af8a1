//! Neurons and weights of a K-layer net in one ODE over a held batch X (n_0 x B,
//! docs/theory.md §10.7):
//!
//! tau_k dZ_k/dt = -Z_k + s_k(W_k Z_{k-1} + W_{k+1}^T Z_{k+1}),  Z_0 = X,
//! tau_w dW_k/dt = the rule's update at the current Z (mean over the held samples),
//!
//! with the rule's S'_k taken at the current pre-activations. The state is
//! (vec Z_1, ..., vec Z_K, vec W_1, ..., vec W_K).

use super::{MultiRule, Settled, Stack, apply_ds, apply_s, settle::drive, update};
use crate::solver::OdeSystem;
use nalgebra::DMatrix;

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
        CoupledNet {
            stack,
            rule,
            tau,
            tau_w,
            x,
            target,
            shapes: w.iter().map(|m| m.shape()).collect(),
        }
    }

    /// Holds another batch (same number of samples).
    pub fn hold(&mut self, x: DMatrix<f64>, target: Option<DMatrix<f64>>) {
        self.x = x;
        self.target = target;
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
        let depth = w.len();
        let drives: Vec<DMatrix<f64>> = (1..=depth).map(|k| drive(&w, &z, k)).collect();
        let mut at = 0;
        for k in 1..=depth {
            let target = apply_s(self.stack.activation(k), &drives[k - 1]);
            for (v, (zk, sk)) in z[k].iter().zip(target.iter()).enumerate() {
                dy[at + v] = (sk - zk) / self.tau[k - 1];
            }
            at += z[k].len();
        }
        let current = Settled {
            ds: (1..=depth)
                .map(|k| apply_ds(self.stack.activation(k), &drives[k - 1]))
                .collect(),
            z,
            sweeps: 0,
        };
        match update(self.rule, self.stack, &w, &current, self.target.as_ref()) {
            Ok(g) => {
                for m in &g.dw {
                    for (d, v) in dy[at..at + m.len()].iter_mut().zip(m.iter()) {
                        *d = v / self.tau_w;
                    }
                    at += m.len();
                }
            }
            // The exact rule's adjoint has no solution here: NaN stops the run as a
            // divergence at this time.
            Err(_) => dy[at..].fill(f64::NAN),
        }
    }

    fn autonomous(&self) -> bool {
        true
    }
}
