//! The LMSER models of the comparison table, trained with the table's shared
//! optimizer on the direction of their own rule (docs/theory.md §10):
//! - [`LmserModel`] `unsup-lmser`: the slides' rule (as printed) at each sample's
//!   settled state; reconstruction u_0 = W_1^T z_1*; no biases, as in the slides;
//! - the same with `supervised`, `sup-lmser`: the top layer's first `classes` units are
//!   pushed toward the one-hot label, and classification reads them (settled freely);
//! - [`SkipLmser`] `skip-lmser`: the net unfolded once, encoder z_k = s(W_k z_{k-1}),
//!   decoder d_k = s(W_k z_{k-1} + W_{k+1}^T d_{k+1}) (d_K = z_K), u_0 = W_1^T d_1:
//!   each decoder neuron gets its paired encoder neuron's bottom-up input as a
//!   short-cut (in the spirit of U-net and of the "paired neurons" Lmser), with the
//!   weights tied; trained by the exact gradient of the unfolded computation.

use super::{Optimizer, TableModel, init_weights, stream};
use crate::dynamics::multilayer::{
    MultiRule, SettleOptions, Stack, apply_ds, apply_s, settle, update,
};
use crate::error::Result;
use crate::model::activation::Activation;
use nalgebra::DMatrix;

fn weights(sizes: &[usize], seed: u64) -> Vec<DMatrix<f64>> {
    let mut rng = crate::data::rng(seed, stream::WEIGHTS);
    sizes
        .windows(2)
        .map(|p| init_weights(p[1], p[0], &mut rng))
        .collect()
}

fn nan_like(x: &DMatrix<f64>) -> DMatrix<f64> {
    DMatrix::from_element(x.nrows(), x.ncols(), f64::NAN)
}

/// Settled LMSER (unsupervised or supervised) with logistic units.
pub struct LmserModel {
    name: &'static str,
    stack: Stack,
    w: Vec<DMatrix<f64>>,
    supervised: bool,
    rule: MultiRule,
    /// Label rows seen in training (the units classification reads).
    classes: usize,
}

impl LmserModel {
    /// `unsup-lmser`.
    pub const UNSUPERVISED: &'static str = "unsup-lmser";
    /// `sup-lmser`.
    pub const SUPERVISED: &'static str = "sup-lmser";

    /// A net with layer sizes `sizes`, the slides' printed rule.
    pub fn new(sizes: &[usize], seed: u64, supervised: bool) -> Self {
        LmserModel {
            name: if supervised {
                Self::SUPERVISED
            } else {
                Self::UNSUPERVISED
            },
            stack: Stack::uniform(Activation::Logistic, sizes.len() - 1),
            w: weights(sizes, seed),
            supervised,
            rule: MultiRule::Lmser,
            classes: 0,
        }
    }

    /// The weights W_1..W_K.
    pub fn weights(&self) -> &[DMatrix<f64>] {
        &self.w
    }

    /// The units of layers 1..K.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    fn settled_top(&self, x: &DMatrix<f64>) -> Option<DMatrix<f64>> {
        settle(&self.stack, &self.w, x, SettleOptions::default())
            .ok()
            .map(|s| s.top().clone())
    }
}

impl TableModel for LmserModel {
    fn name(&self) -> &str {
        self.name
    }
    fn step(&mut self, x: &DMatrix<f64>, labels: &DMatrix<f64>, opt: &mut Optimizer) -> Result<()> {
        let s = settle(&self.stack, &self.w, x, SettleOptions::default())?;
        self.classes = labels.nrows();
        let target = self.supervised.then_some(labels);
        let g = update(self.rule, &self.stack, &self.w, &s, target)?;
        let mut params: Vec<&mut DMatrix<f64>> = self.w.iter_mut().collect();
        opt.apply(0, &mut params, &g.dw);
        Ok(())
    }
    fn reconstruct(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
        match settle(&self.stack, &self.w, x, SettleOptions::default()) {
            Ok(s) => s.reconstruction(&self.w),
            Err(_) => nan_like(x),
        }
    }
    fn code(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
        self.settled_top(x).unwrap_or_else(|| nan_like(x))
    }
    fn scores(&self, x: &DMatrix<f64>) -> Option<DMatrix<f64>> {
        if !self.supervised || self.classes == 0 {
            return None;
        }
        let top = self.settled_top(x)?;
        Some(top.rows(0, self.classes.min(top.nrows())).into_owned())
    }
}

/// The unfolded, tied LMSER with paired-neuron short-cuts.
pub struct SkipLmser {
    w: Vec<DMatrix<f64>>,
}

/// The passes of [`SkipLmser`]: encoder z, decoder pre-activations a and outputs d.
struct Passes {
    z: Vec<DMatrix<f64>>,
    a: Vec<DMatrix<f64>>,
    d: Vec<DMatrix<f64>>,
}

impl SkipLmser {
    /// `skip-lmser`.
    pub const NAME: &'static str = "skip-lmser";

    /// A net with layer sizes `sizes`.
    pub fn new(sizes: &[usize], seed: u64) -> Self {
        SkipLmser {
            w: weights(sizes, seed),
        }
    }

    /// The weights W_1..W_K.
    pub fn weights_mut(&mut self) -> &mut [DMatrix<f64>] {
        &mut self.w
    }

    /// Encoder z_k = s(W_k z_{k-1}); decoder d_K = z_K, d_k = s(W_k z_{k-1} + W_{k+1}^T d_{k+1}).
    fn passes(&self, x: &DMatrix<f64>) -> Passes {
        let depth = self.w.len();
        let s = Activation::Logistic;
        let mut z = vec![x.clone()];
        for k in 1..=depth {
            let y = &self.w[k - 1] * &z[k - 1];
            z.push(apply_s(&s, &y));
        }
        // a[k] and d[k] for k = 1..K at index k (index 0 unused).
        let mut a = vec![DMatrix::zeros(0, 0); depth + 1];
        let mut d = vec![DMatrix::zeros(0, 0); depth + 1];
        d[depth] = z[depth].clone();
        for k in (1..depth).rev() {
            let mut ak = &self.w[k - 1] * &z[k - 1];
            ak.gemm_tr(1.0, &self.w[k], &d[k + 1], 1.0);
            d[k] = apply_s(&s, &ak);
            a[k] = ak;
        }
        Passes { z, a, d }
    }

    /// J = 1/(2B) ||X - W_1^T d_1||^2 and dJ/dW_k by backpropagation through both passes.
    pub fn gradient(&self, x: &DMatrix<f64>) -> (f64, Vec<DMatrix<f64>>) {
        let depth = self.w.len();
        let s = Activation::Logistic;
        let b = x.ncols() as f64;
        let p = self.passes(x);
        let e = x - self.w[0].tr_mul(&p.d[1]);
        let j = 0.5 * e.norm_squared() / b;
        let du = -e / b; // dJ/du_0
        let mut gw: Vec<DMatrix<f64>> = self
            .w
            .iter()
            .map(|m| DMatrix::zeros(m.nrows(), m.ncols()))
            .collect();
        gw[0] += &p.d[1] * du.transpose();
        // gy[k]: dJ/d(W_k z_{k-1}) through the decoder; gz[k]: dJ/dz_k.
        let mut gy: Vec<DMatrix<f64>> =
            p.z.iter()
                .map(|m| DMatrix::zeros(m.nrows(), m.ncols()))
                .collect();
        let mut gz = gy.clone();
        let mut gd = &self.w[0] * du; // dJ/dd_1
        for k in 1..depth {
            let ga = gd.component_mul(&apply_ds(&s, &p.a[k]));
            gy[k] += &ga;
            gw[k] += &p.d[k + 1] * ga.transpose();
            gd = &self.w[k] * ga;
        }
        gz[depth] += gd;
        for k in (1..=depth).rev() {
            let y = &self.w[k - 1] * &p.z[k - 1];
            let g = &gy[k] + gz[k].component_mul(&apply_ds(&s, &y));
            gw[k - 1] += &g * p.z[k - 1].transpose();
            if k >= 2 {
                gz[k - 1] += self.w[k - 1].tr_mul(&g);
            }
        }
        (j, gw)
    }
}

impl TableModel for SkipLmser {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn step(
        &mut self,
        x: &DMatrix<f64>,
        _labels: &DMatrix<f64>,
        opt: &mut Optimizer,
    ) -> Result<()> {
        let (_, g) = self.gradient(x);
        let dirs: Vec<DMatrix<f64>> = g.into_iter().map(|m| -m).collect();
        let mut params: Vec<&mut DMatrix<f64>> = self.w.iter_mut().collect();
        opt.apply(0, &mut params, &dirs);
        Ok(())
    }
    fn reconstruct(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
        let p = self.passes(x);
        self.w[0].tr_mul(&p.d[1])
    }
    fn code(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
        self.passes(x).z.pop().expect("at least one layer")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central differences (h = 1e-6) of J against the backpropagated gradient of the
    /// unfolded net: truncation ~h^2, rounding ~1e-16/h, so 1e-6 relative is ample.
    #[test]
    fn skip_lmser_gradient_matches_finite_differences() {
        let mut net = SkipLmser::new(&[5, 4, 3, 2], 3);
        let x = DMatrix::from_fn(5, 7, |i, j| ((i * 3 + j * 5) % 7) as f64 / 7.0);
        let (_, g) = net.gradient(&x);
        let h = 1e-6;
        let (mut diff, mut size) = (0.0, 0.0);
        for (k, gk) in g.iter().enumerate() {
            for (idx, &gi) in gk.iter().enumerate() {
                net.weights_mut()[k][idx] += h;
                let jp = net.gradient(&x).0;
                net.weights_mut()[k][idx] -= 2.0 * h;
                let jm = net.gradient(&x).0;
                net.weights_mut()[k][idx] += h;
                let fd = (jp - jm) / (2.0 * h);
                diff += (fd - gi).powi(2);
                size += fd * fd;
            }
        }
        assert!(size > 1e-6);
        assert!(
            diff.sqrt() <= 1e-6 * size.sqrt(),
            "{} vs {}",
            diff.sqrt(),
            size.sqrt()
        );
    }

    /// The LMSER models lower the reconstruction error on a toy set.
    #[test]
    fn lmser_models_learn() {
        let x = DMatrix::from_fn(8, 32, |i, j| if (i + j) % 4 == 0 { 0.9 } else { 0.1 });
        let labels = DMatrix::from_fn(3, 32, |i, j| if j % 3 == i { 1.0 } else { 0.0 });
        let models: Vec<Box<dyn TableModel>> = vec![
            Box::new(LmserModel::new(&[8, 6, 3], 1, false)),
            Box::new(LmserModel::new(&[8, 6, 3], 1, true)),
            Box::new(SkipLmser::new(&[8, 6, 3], 1)),
        ];
        for mut m in models {
            let mut opt = Optimizer::new(super::super::OptimizerSpec::default());
            let before = super::super::recon_error(m.as_ref(), &x);
            for _ in 0..300 {
                m.step(&x, &labels, &mut opt).unwrap();
            }
            let after = super::super::recon_error(m.as_ref(), &x);
            assert!(after < 0.5 * before, "{}: {before} -> {after}", m.name());
        }
    }
}
