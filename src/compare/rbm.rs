//! Restricted Boltzmann machines of binary (logistic) units trained by contrastive
//! divergence CD-k (Hinton, "Training products of experts by minimizing contrastive
//! divergence", Neural Computation 14, 2002), stacked greedily layer by layer (Hinton &
//! Salakhutdinov, Science 313, 2006) WITHOUT the backprop fine-tuning of that paper.
//!
//! Energy `E(v, h) = -b^T v - c^T h - h^T W v` (`W` is `n_h x n_v`); conditionals
//! `p(h_j = 1 | v) = s(c_j + W_j v)`, `p(v_i = 1 | h) = s(b_i + W_{:,i}^T h)`; free energy
//! `F(v) = -b^T v - sum_j log(1 + exp(c_j + W_j v))`, `p(v) ∝ exp(-F(v))`. The
//! log-likelihood gradient `<v h^T>_data - <v h^T>_model` is estimated by CD-k:
//! positive statistics `p(h | v_0) v_0^T` from the data `v_0`, negative statistics
//! `p(h | v_k) v_k^T` from a Gibbs chain `v_0 -> h_0 -> v_1 -> ... -> v_k` started at the
//! data, with every `h` and `v` of the chain sampled (so that for large k the negative
//! statistics are those of the model; the data itself may be real-valued in [0, 1]).

use super::{Optimizer, TableModel, init_weights, layer, stream};
use crate::data::random::rng;
use nalgebra::DMatrix;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One binary-binary RBM.
#[derive(Debug, Clone)]
pub struct Rbm {
    /// Weights `n_h x n_v`.
    pub w: DMatrix<f64>,
    /// Visible biases `b` (`n_v x 1`).
    pub b: DMatrix<f64>,
    /// Hidden biases `c` (`n_h x 1`).
    pub c: DMatrix<f64>,
}

/// Bernoulli samples with the probabilities of `p`, column by column.
fn sample(p: &DMatrix<f64>, r: &mut ChaCha8Rng) -> DMatrix<f64> {
    p.map(|p| if r.random::<f64>() < p { 1.0 } else { 0.0 })
}

/// Row means of `m` as an `n x 1` matrix.
fn row_means(m: &DMatrix<f64>) -> DMatrix<f64> {
    super::row_sums(m) / m.ncols().max(1) as f64
}

impl Rbm {
    /// `n_v` visible and `n_h` hidden units, weights `N(0, 1/n_v)`, biases zero.
    pub fn new(n_v: usize, n_h: usize, r: &mut ChaCha8Rng) -> Rbm {
        Rbm {
            w: init_weights(n_h, n_v, r),
            b: DMatrix::zeros(n_v, 1),
            c: DMatrix::zeros(n_h, 1),
        }
    }

    /// `p(h = 1 | v)` for every column of `v`.
    pub fn up(&self, v: &DMatrix<f64>) -> DMatrix<f64> {
        layer(&self.w, &self.c, v)
    }

    /// `p(v = 1 | h)` for every column of `h`.
    pub fn down(&self, h: &DMatrix<f64>) -> DMatrix<f64> {
        layer(&self.w.transpose(), &self.b, h)
    }

    /// Free energy `F(v) = -b^T v - sum_j log(1 + exp(c_j + W_j v))` of the column `v`.
    pub fn free_energy(&self, v: &DMatrix<f64>) -> f64 {
        let u = &self.w * v + &self.c;
        let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        -(self.b.transpose() * v)[(0, 0)] - u.iter().map(|&x| softplus(x)).sum::<f64>()
    }

    /// The CD-k estimate of the gradient of the mean log-likelihood of the columns of
    /// `v0`, as update directions `[dW, db, dc]`.
    pub fn cd(&self, v0: &DMatrix<f64>, k: usize, r: &mut ChaCha8Rng) -> [DMatrix<f64>; 3] {
        let ph0 = self.up(v0);
        let mut h = sample(&ph0, r);
        let mut v = v0.clone();
        let mut ph = ph0.clone();
        for t in 1..=k.max(1) {
            v = sample(&self.down(&h), r);
            ph = self.up(&v);
            if t < k {
                h = sample(&ph, r);
            }
        }
        let n = v0.ncols().max(1) as f64;
        let dw = (&ph0 * v0.transpose() - &ph * v.transpose()) / n;
        [dw, row_means(&(v0 - &v)), row_means(&(ph0 - ph))]
    }
}

/// A greedy stack of RBMs `n0 - n1 - ... - nK`. The iteration budget N (given at
/// construction: the last checkpoint of the table) is split equally over the K
/// layers: iteration t (0-based) trains layer `floor(t K / N)` by one CD-k update on
/// the mean-field codes of the minibatch through the layers below; iterations past N
/// keep training the top layer. No fine-tuning. Reconstruction: mean-field up-pass to
/// the top, then mean-field down-pass to the visible layer. Its schedule depends on N,
/// so it is [`TableModel::budgeted`]: the table trains a fresh stack for each
/// checkpoint (within one run, before N the layers above the current one would still
/// be at their initial weights).
#[derive(Debug, Clone)]
pub struct RbmStack {
    rbms: Vec<Rbm>,
    budget: usize,
    k: usize,
    iter: usize,
    rng: ChaCha8Rng,
}

impl RbmStack {
    /// Table name of the model.
    pub const NAME: &'static str = "rbm-stack";

    /// A stack of layer sizes `[n0, ..., nK]` trained by CD-`k` over a budget of
    /// `budget` iterations (split equally over the layers); weights from stream
    /// WEIGHTS, Gibbs samples from stream GIBBS of `seed`.
    pub fn new(sizes: &[usize], seed: u64, budget: usize, k: usize) -> Self {
        assert!(sizes.len() >= 2, "layer sizes [n0, ..., nK] with K >= 1");
        let mut r = rng(seed, stream::WEIGHTS);
        RbmStack {
            rbms: sizes
                .windows(2)
                .map(|p| Rbm::new(p[0], p[1], &mut r))
                .collect(),
            budget: budget.max(1),
            k: k.max(1),
            iter: 0,
            rng: rng(seed, stream::GIBBS),
        }
    }

    /// The RBMs, bottom first.
    pub fn rbms(&self) -> &[Rbm] {
        &self.rbms
    }

    /// The layer (0-based) that iteration `iter` trains.
    pub fn layer_at(&self, iter: usize) -> usize {
        let k = self.rbms.len();
        (iter * k / self.budget).min(k - 1)
    }
}

impl TableModel for RbmStack {
    fn name(&self) -> &str {
        Self::NAME
    }

    /// One CD-k update of the layer the schedule trains now; optimizer slots
    /// `3l, 3l + 1, 3l + 2` are `W, b, c` of layer l.
    fn step(
        &mut self,
        x: &DMatrix<f64>,
        _labels: &DMatrix<f64>,
        opt: &mut Optimizer,
    ) -> crate::error::Result<()> {
        let l = self.layer_at(self.iter);
        let mut v = x.clone();
        for rbm in &self.rbms[..l] {
            v = rbm.up(&v);
        }
        let dirs = self.rbms[l].cd(&v, self.k, &mut self.rng);
        let rbm = &mut self.rbms[l];
        opt.apply(3 * l, &mut [&mut rbm.w, &mut rbm.b, &mut rbm.c], &dirs);
        self.iter += 1;
        Ok(())
    }

    fn budgeted(&self) -> bool {
        true
    }

    fn reconstruct(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
        let mut v = self.code(x);
        for rbm in self.rbms.iter().rev() {
            v = rbm.down(&v);
        }
        v
    }

    fn code(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
        let mut v = x.clone();
        for rbm in &self.rbms {
            v = rbm.up(&v);
        }
        v
    }
}

#[cfg(test)]
#[path = "rbm_tests.rs"]
mod tests;
