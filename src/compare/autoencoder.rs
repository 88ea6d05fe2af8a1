//! Feed-forward autoencoders trained by backpropagation (Hinton & Salakhutdinov,
//! "Reducing the dimensionality of data with neural networks", Science 313, 2006,
//! here without RBM pretraining): [`Autoencoder`] with a separate decoder and
//! [`BiAutoencoder`] whose decoder uses the transposed encoder weights. Both share one
//! forward/backward pass ([`Net`]) with a `tied` switch.
//!
//! Encoder `h_0 = x`, `h_k = s(W_k h_{k-1} + b_k)` (k = 1..K); decoder `g_K = h_K`,
//! `g_{k-1} = s(D_k g_k + c_k)` with `D_k = V_k` (untied) or `D_k = W_k^T` (tied);
//! `x̂ = g_0`. Objective over a batch of B columns: `J = 1/(2B) sum ||x - x̂||^2`.
//! Backprop: `e_0 = (x̂ - x) ⊙ x̂ ⊙ (1 - x̂) / B`; decoder layer k:
//! `dJ/dD_k = e_{k-1} g_k^T`, `dJ/dc_k = e_{k-1} 1`, `e_k = (D_k^T e_{k-1}) ⊙ g_k ⊙ (1 - g_k)`;
//! encoder layer k: `d_K = e_K`, `dJ/dW_k += d_k h_{k-1}^T`, `dJ/db_k = d_k 1`,
//! `d_{k-1} = (W_k^T d_k) ⊙ h_{k-1} ⊙ (1 - h_{k-1})`; tied: `dJ/dW_k += (e_{k-1} g_k^T)^T`.

use super::{Optimizer, TableModel, init_weights, layer, row_sums, stream};
use crate::data::random::rng;
use nalgebra::DMatrix;

/// An encoder-decoder net of logistic units, tied or not.
#[derive(Debug, Clone)]
struct Net {
    /// Encoder weights `W_k` (`n_k x n_{k-1}`).
    w: Vec<DMatrix<f64>>,
    /// Encoder biases `b_k` (`n_k x 1`).
    b: Vec<DMatrix<f64>>,
    /// Decoder weights `V_k` (`n_{k-1} x n_k`); empty when tied.
    v: Vec<DMatrix<f64>>,
    /// Decoder biases `c_k` (`n_{k-1} x 1`).
    c: Vec<DMatrix<f64>>,
}

/// Activities of one forward pass: encoder `h_0..h_K`, decoder `g_0..g_K`.
struct Pass {
    h: Vec<DMatrix<f64>>,
    g: Vec<DMatrix<f64>>,
}

/// `dm ⊙ a ⊙ (1 - a)`: back through logistic units of activity `a`.
fn through(dm: DMatrix<f64>, a: &DMatrix<f64>) -> DMatrix<f64> {
    dm.zip_map(a, |d, a| d * a * (1.0 - a))
}

impl Net {
    /// Weights from `N(0, 1/fan_in)` (encoder W_1..W_K, then decoder V_1..V_K when
    /// untied), biases zero.
    fn new(sizes: &[usize], tied: bool, seed: u64) -> Net {
        assert!(sizes.len() >= 2, "layer sizes [n0, ..., nK] with K >= 1");
        let mut r = rng(seed, stream::WEIGHTS);
        let pairs: Vec<(usize, usize)> = sizes.windows(2).map(|p| (p[0], p[1])).collect();
        let w = pairs
            .iter()
            .map(|&(a, b)| init_weights(b, a, &mut r))
            .collect();
        let v = if tied {
            Vec::new()
        } else {
            pairs
                .iter()
                .map(|&(a, b)| init_weights(a, b, &mut r))
                .collect()
        };
        Net {
            w,
            b: pairs.iter().map(|&(_, b)| DMatrix::zeros(b, 1)).collect(),
            v,
            c: pairs.iter().map(|&(a, _)| DMatrix::zeros(a, 1)).collect(),
        }
    }

    fn tied(&self) -> bool {
        self.v.is_empty()
    }

    /// Decoder weights `D_k` of layer k (0-based index `k - 1`).
    fn decoder(&self, i: usize) -> DMatrix<f64> {
        if self.tied() {
            self.w[i].transpose()
        } else {
            self.v[i].clone()
        }
    }

    fn encode(&self, x: &DMatrix<f64>) -> Vec<DMatrix<f64>> {
        let mut h = vec![x.clone()];
        for (w, b) in self.w.iter().zip(&self.b) {
            let next = layer(w, b, h.last().expect("h_0"));
            h.push(next);
        }
        h
    }

    fn forward(&self, x: &DMatrix<f64>) -> Pass {
        let h = self.encode(x);
        let k = self.w.len();
        let mut g = vec![DMatrix::zeros(0, 0); k + 1];
        g[k] = h[k].clone();
        for i in (0..k).rev() {
            g[i] = layer(&self.decoder(i), &self.c[i], &g[i + 1]);
        }
        Pass { h, g }
    }

    /// The objective `J` of the batch `x` and its gradient, in the order of
    /// [`Net::params`]: W_1..W_K, b_1..b_K, (V_1..V_K,) c_1..c_K.
    fn gradient(&self, x: &DMatrix<f64>) -> (f64, Vec<DMatrix<f64>>) {
        let k = self.w.len();
        let bsz = x.ncols().max(1) as f64;
        let p = self.forward(x);
        let diff = &p.g[0] - x;
        let j = 0.5 * diff.norm_squared() / bsz;
        let mut e = through(diff / bsz, &p.g[0]);
        let mut gw: Vec<DMatrix<f64>> = self.w.iter().map(|w| w * 0.0).collect();
        let mut gv = Vec::new();
        let mut gc = vec![DMatrix::zeros(0, 0); k];
        for i in 0..k {
            // Decoder layer i + 1: from g_{i+1} to g_i.
            let gd = &e * p.g[i + 1].transpose();
            gc[i] = row_sums(&e);
            let back = self.decoder(i).transpose() * &e;
            if self.tied() {
                gw[i] += gd.transpose();
            } else {
                gv.push(gd);
            }
            e = if i + 1 < k {
                through(back, &p.g[i + 1])
            } else {
                back
            };
        }
        // e is now dJ/dh_K; back through the encoder.
        let mut gb = vec![DMatrix::zeros(0, 0); k];
        let mut d = through(e, &p.h[k]);
        for i in (0..k).rev() {
            gw[i] += &d * p.h[i].transpose();
            gb[i] = row_sums(&d);
            if i > 0 {
                d = through(self.w[i].transpose() * &d, &p.h[i]);
            }
        }
        let mut grads = gw;
        grads.extend(gb);
        grads.extend(gv);
        grads.extend(gc);
        (j, grads)
    }

    /// Every parameter, slot i of the optimizer: W_1..W_K, b_1..b_K, (V_1..V_K,) c_1..c_K.
    fn params(&mut self) -> Vec<&mut DMatrix<f64>> {
        let mut p: Vec<&mut DMatrix<f64>> = self.w.iter_mut().collect();
        p.extend(self.b.iter_mut());
        p.extend(self.v.iter_mut());
        p.extend(self.c.iter_mut());
        p
    }

    /// One gradient step: direction `-dJ/dtheta` for every slot.
    fn step(&mut self, x: &DMatrix<f64>, opt: &mut Optimizer) {
        let (_, grads) = self.gradient(x);
        let dirs: Vec<DMatrix<f64>> = grads.into_iter().map(|g| -g).collect();
        opt.apply(0, &mut self.params(), &dirs);
    }
}

/// Defines a table model over a [`Net`] (tied or not): the two autoencoders differ
/// only in the switch.
macro_rules! autoencoder {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $tied:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty {
            net: Net,
        }

        impl $ty {
            /// Table name of the model.
            pub const NAME: &'static str = $name;

            /// A net of layer sizes `[n0, ..., nK]`, weights drawn from seed `seed`.
            pub fn new(sizes: &[usize], seed: u64) -> Self {
                $ty {
                    net: Net::new(sizes, $tied, seed),
                }
            }

            /// `J = 1/(2B) sum ||x - x̂||^2` of the batch `x` and its gradient, in
            /// optimizer-slot order: W_1..W_K, b_1..b_K, (V_1..V_K untied only,) c_1..c_K.
            pub fn gradient(&self, x: &DMatrix<f64>) -> (f64, Vec<DMatrix<f64>>) {
                self.net.gradient(x)
            }

            /// The parameters in optimizer-slot order (as [`Self::gradient`]).
            pub fn params(&mut self) -> Vec<&mut DMatrix<f64>> {
                self.net.params()
            }
        }

        impl TableModel for $ty {
            fn name(&self) -> &str {
                Self::NAME
            }

            fn step(
                &mut self,
                x: &DMatrix<f64>,
                _labels: &DMatrix<f64>,
                opt: &mut Optimizer,
            ) -> crate::error::Result<()> {
                self.net.step(x, opt);
                Ok(())
            }

            fn reconstruct(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
                self.net.forward(x).g.swap_remove(0)
            }

            fn code(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
                self.net.encode(x).pop().expect("h_K")
            }
        }
    };
}

autoencoder!(
    /// Autoencoder with a separate decoder: encoder W_1..W_K, decoder V_K..V_1, each
    /// layer with its own bias, trained by backprop of `J = 1/(2B) sum ||x - x̂||^2`.
    Autoencoder,
    "autoencoder",
    false
);

autoencoder!(
    /// Bi-autoencoder with tied weights: the decoder uses `W_k^T` (plus its own
    /// decoder biases `c_k`); one feed-forward encode, then decode, with no settling
    /// of the activities (unlike LMSER); trained by backprop of the same `J`.
    BiAutoencoder,
    "bi-autoencoder",
    true
);

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> DMatrix<f64> {
        let mut r = rng(7, 9);
        DMatrix::from_fn(5, 7, |_, _| rand::Rng::random::<f64>(&mut r))
    }

    /// Analytic gradient against central differences `(J(θ+h) - J(θ-h)) / 2h`, h = 1e-6:
    /// their truncation error is O(h^2) ~ 1e-12 and their rounding error ~ 1e-16 J / h ~
    /// 1e-10 per component, so a correct gradient agrees to ~1e-8 relative, and any
    /// wrong term (a missing transpose or derivative) shows at O(1).
    fn check(mut net: Net) {
        let x = batch();
        // Weights of order one so every term matters.
        for p in net.params() {
            p.apply(|v| *v *= 3.0);
        }
        for (i, p) in net.params().into_iter().enumerate() {
            p.apply(|v| *v += 0.1 * (i as f64 + 1.0).sin());
        }
        let (_, grads) = net.gradient(&x);
        let h = 1e-6;
        let (mut num, mut den) = (0.0, 0.0);
        for (slot, g) in grads.iter().enumerate() {
            for idx in 0..g.len() {
                let mut plus = net.clone();
                plus.params()[slot][idx] += h;
                let mut minus = net.clone();
                minus.params()[slot][idx] -= h;
                let fd = (plus.gradient(&x).0 - minus.gradient(&x).0) / (2.0 * h);
                num += (fd - g[idx]).powi(2);
                den += g[idx].powi(2);
            }
        }
        let rel = (num / den).sqrt();
        assert!(rel < 1e-6, "relative gradient error {rel:e}");
    }

    #[test]
    fn autoencoder_gradient_matches_finite_differences() {
        check(Net::new(&[5, 4, 3], false, 1));
    }

    #[test]
    fn bi_autoencoder_gradient_matches_finite_differences() {
        check(Net::new(&[5, 4, 3], true, 2));
    }

    #[test]
    fn autoencoder_training_lowers_the_error() {
        let x = batch();
        let mut ae = Autoencoder::new(&[5, 4, 3], 3);
        let mut opt = Optimizer::new(crate::compare::OptimizerSpec::adam(0.01));
        let before = ae.gradient(&x).0;
        for _ in 0..300 {
            ae.step(&x, &DMatrix::zeros(0, 7), &mut opt).unwrap();
        }
        assert!(ae.gradient(&x).0 < 0.5 * before);
    }
}
