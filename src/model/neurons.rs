//! The perceptron phase: fast neuron dynamics with the input x clamped,
//!
//!   tau_k dz_k/dt = -z_k + s(y_k + u_k),  y_k = W_k z_{k-1},  u_k = W_{k+1}^T z_{k+1},
//!
//! (Xu 1993, eqn 2; slides "The perceptron phase") and its two energies:
//! the Lyapunov energy E of docs/theory.md §1.4 (Theorem 1) and the slides' printed
//! J_net (eqn 3), which is not monotone.

use crate::model::activation::Activation;
use crate::model::network::{Network, Top};
use crate::solver::OdeSystem;
use nalgebra::{DVector, DVectorView, DVectorViewMut};
use std::cell::RefCell;

/// The neuron ODE of a network with a clamped input, over the flat state of the free
/// layers z = (z_1, ..., z_K). The right-hand side does not allocate.
#[derive(Debug)]
pub struct NeuronDynamics {
    net: Network,
    x: DVector<f64>,
    /// Scratch for the net input h_k = y_k + u_k of one layer.
    h: RefCell<DVector<f64>>,
}

impl NeuronDynamics {
    /// The dynamics of `net` with input x (n_0 values).
    pub fn new(net: Network, x: DVector<f64>) -> Self {
        assert_eq!(x.len(), net.sizes()[0], "input length must be n_0");
        let widest = net.sizes().iter().copied().max().unwrap_or(0);
        NeuronDynamics {
            net,
            x,
            h: RefCell::new(DVector::zeros(widest)),
        }
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// The clamped input x.
    pub fn input(&self) -> &DVector<f64> {
        &self.x
    }

    /// Activity z_k of layer k = 0..K read from the flat state (input, free, or clamped).
    pub fn layer<'a>(&'a self, z: &'a [f64], k: usize) -> DVectorView<'a, f64> {
        if k == 0 {
            return self.x.rows(0, self.x.len());
        }
        if let Top::Clamped(label) = self.net.top()
            && k == self.net.depth()
        {
            return label.rows(0, label.len());
        }
        let (off, n) = (self.net.offset(k), self.net.sizes()[k]);
        DVectorView::from_slice(&z[off..off + n], n)
    }

    /// h_k = W_k z_{k-1} + W_{k+1}^T z_{k+1} (no top-down term for k = K) into `h`.
    fn net_input(&self, z: &[f64], k: usize, h: &mut DVectorViewMut<f64>) {
        h.gemv(1.0, self.net.weight(k), &self.layer(z, k - 1), 0.0);
        if k < self.net.depth() {
            h.gemv_tr(1.0, self.net.weight(k + 1), &self.layer(z, k + 1), 1.0);
        }
    }

    /// Calls `f(i, k, j, z_kj, h_kj, s_k)` for every free unit (i its flat index).
    fn for_each_unit(
        &self,
        z: &[f64],
        mut f: impl FnMut(usize, usize, usize, f64, f64, &Activation),
    ) {
        let mut scratch = self.h.borrow_mut();
        for k in self.net.free_layers() {
            let n = self.net.sizes()[k];
            let mut h = scratch.rows_mut(0, n);
            self.net_input(z, k, &mut h);
            let off = self.net.offset(k);
            let s = self.net.activation(k);
            for j in 0..n {
                f(off + j, k, j, z[off + j], h[j], s);
            }
        }
    }

    /// Sum over the free layers of the coupling sum_{k>=2} z_k^T W_k z_{k-1} (k = K
    /// included when clamped), the input term z_1^T W_1 x, and sum int_0^z s^-1.
    fn energy_terms(&self, z: &[f64]) -> (f64, f64, f64) {
        let mut coupling = 0.0;
        for k in 2..=self.net.depth() {
            let zk = self.layer(z, k);
            coupling += zk.dot(&(self.net.weight(k) * self.layer(z, k - 1)));
        }
        let input = self.layer(z, 1).dot(&(self.net.weight(1) * &self.x));
        let mut integral = 0.0;
        for k in self.net.free_layers() {
            let s = self.net.activation(k);
            for (j, &v) in self.layer(z, k).iter().enumerate() {
                integral += s.energy_integral(j, v);
            }
        }
        (coupling, input, integral)
    }

    /// Lyapunov energy (docs/theory.md §1.4, Theorem 1):
    /// E(z) = -sum_{k>=2} z_k^T W_k z_{k-1} - z_1^T W_1 x + sum int_0^{z} s^-1.
    pub fn energy(&self, z: &[f64]) -> f64 {
        let (coupling, input, integral) = self.energy_terms(z);
        -coupling - input + integral
    }

    /// The slides' printed J_net (Xu 1993 eqn 3 as printed):
    /// -1/2 sum_{k>=2} z_k^T W_k z_{k-1} + sum int_0^{z} s^-1 + z_1^T W_1 x.
    pub fn printed_energy(&self, z: &[f64]) -> f64 {
        let (coupling, input, integral) = self.energy_terms(z);
        -0.5 * coupling + input + integral
    }

    /// tau dE/dt = -sum_j (s^-1(z_j) - h_j)(z_j - s(h_j)) / tau_j summed as dE/dt
    /// (<= 0 term by term because s is increasing).
    pub fn energy_rate(&self, z: &[f64]) -> f64 {
        let mut rate = 0.0;
        self.for_each_unit(z, |_, k, j, zj, hj, s| {
            rate -= (s.inverse(j, zj) - hj) * (zj - s.s(j, hj)) / self.net.tau(k);
        });
        rate
    }

    /// dE/dt (as [`Self::energy_rate`]) and a first-order bound B on how far rounding can
    /// push it above the exact value, which is <= 0 (docs/theory.md §1.4). Each term is
    /// t_j = -p_j q_j / tau_j with p_j = s^-1(z_j) - h_j, q_j = z_j - s(h_j); the exact
    /// p_j and q_j have the same sign, so the computed t_j exceeds the exact one by at
    /// most (e_p |q_j| + |p_j| e_q + e_p e_q) / tau_j, with
    ///   e_h = gamma sum |terms of h_j|,  gamma = (fan-in + 2) u,  u = 2^-53,
    ///   e_p = e_h + 8 u (|s^-1(z_j)| + 1 / s'(0)),
    ///   e_q = 4 u (|z_j| + |s(h_j)|) + s'(h_j) e_h,
    /// and B sums these plus n u sum |t_j| for the sum itself. Returns (dE/dt, B).
    pub fn energy_rate_bound(&self, z: &[f64]) -> (f64, f64) {
        let u = f64::EPSILON / 2.0;
        let (mut rate, mut bound, mut magnitude, mut units) = (0.0, 0.0, 0.0, 0.0);
        for k in self.net.free_layers() {
            let n = self.net.sizes()[k];
            let below = self.layer(z, k - 1).abs();
            let mut habs = self.net.weight(k).abs() * &below;
            let mut fan_in = below.len();
            if k < self.net.depth() {
                let above = self.layer(z, k + 1).abs();
                habs.gemv_tr(1.0, &self.net.weight(k + 1).abs(), &above, 1.0);
                fan_in += above.len();
            }
            let mut h = DVector::zeros(n);
            self.net_input(z, k, &mut h.rows_mut(0, n));
            let gamma = (fan_in as f64 + 2.0) * u;
            let (s, tau, off) = (self.net.activation(k), self.net.tau(k), self.net.offset(k));
            for j in 0..n {
                let (zj, hj) = (z[off + j], h[j]);
                let (inv, sh) = (s.inverse(j, zj), s.s(j, hj));
                let (p, q) = (inv - hj, zj - sh);
                let e_h = gamma * habs[j];
                let e_p = e_h + 8.0 * u * (inv.abs() + 1.0 / s.ds(j, 0.0));
                let e_q = 4.0 * u * (zj.abs() + sh.abs()) + s.ds(j, hj) * e_h;
                let t = -p * q / tau;
                rate += t;
                magnitude += t.abs();
                bound += (e_p * q.abs() + p.abs() * e_q + e_p * e_q) / tau;
                units += 1.0;
            }
        }
        (rate, bound + units * u * magnitude)
    }

    /// The steady state of a net whose free layers are all linear or amplified solves
    /// (A^-1 - T) z = I; it is stable iff A^-1 - T is positive definite. Returns the
    /// smallest eigenvalue of A^-1 - T, or None when some layer is nonlinear.
    pub fn linear_stability_margin(&self) -> Option<f64> {
        if !self
            .net
            .free_layers()
            .all(|k| self.net.activation(k).is_linear())
        {
            return None;
        }
        let mut m = -self.net.coupling();
        for k in self.net.free_layers() {
            let off = self.net.offset(k);
            let s = self.net.activation(k);
            for j in 0..self.net.sizes()[k] {
                m[(off + j, off + j)] += 1.0 / s.ds(j, 0.0);
            }
        }
        Some(m.symmetric_eigenvalues().min())
    }

    /// The feed-forward pass z_k = s(W_k z_{k-1}) (no top-down signal), a natural
    /// initial state.
    pub fn feedforward(&self) -> Vec<f64> {
        let mut z = vec![0.0; self.net.free_units()];
        for k in self.net.free_layers() {
            let y = self.net.weight(k) * self.layer(&z, k - 1);
            let off = self.net.offset(k);
            let s = self.net.activation(k);
            for (j, v) in y.iter().enumerate() {
                z[off + j] = s.s(j, *v);
            }
        }
        z
    }
}

impl OdeSystem for NeuronDynamics {
    fn dim(&self) -> usize {
        self.net.free_units()
    }

    /// dz_kj/dt = (-z_kj + s(h_kj)) / tau_k.
    fn rhs(&self, _t: f64, z: &[f64], dz: &mut [f64]) {
        self.for_each_unit(z, |i, k, j, zj, hj, s| {
            dz[i] = (-zj + s.s(j, hj)) / self.net.tau(k);
        });
    }

    /// One odd-even sweep of the discrete form z_k = s(y_k + u_k): first all odd
    /// layers, then all even ones. T couples only neighbouring layers, so each half
    /// sweep minimises E exactly over one parity class given the other (E is convex in
    /// each z_kj): E never increases (block-coordinate descent).
    fn discrete_step(&self, z: &mut [f64]) -> bool {
        let mut scratch = self.h.borrow_mut();
        for parity in [1, 0] {
            for k in self.net.free_layers().filter(|k| k % 2 == parity) {
                let n = self.net.sizes()[k];
                let mut h = scratch.rows_mut(0, n);
                self.net_input(z, k, &mut h);
                let off = self.net.offset(k);
                let s = self.net.activation(k);
                for j in 0..n {
                    z[off + j] = s.s(j, h[j]);
                }
            }
        }
        true
    }

    fn autonomous(&self) -> bool {
        true
    }

    fn state_name(&self, i: usize) -> String {
        let k = self
            .net
            .free_layers()
            .rfind(|&k| self.net.offset(k) <= i)
            .unwrap_or(1);
        format!("z{}_{}", k, i - self.net.offset(k) + 1)
    }

    fn divergence_hint(&self) -> String {
        match self.linear_stability_margin() {
            Some(m) if m <= 0.0 => format!(
                "the linear net is unstable: I - T (A^-1 - T) is not positive definite \
                 (smallest eigenvalue {m:.4}); scale the weights down"
            ),
            _ => "reduce the weight scale or the solver tolerances".into(),
        }
    }
}
