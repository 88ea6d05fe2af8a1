//! The linear readout of unsupervised models: ridge regression from the top-layer
//! code (plus a bias) to the one-hot labels on the training set, then argmax.
//!
//! With `A = [code; 1]` (`(n_K + 1) x N`) and one-hot `Y` (`classes x N`), the weights
//! `M` (`classes x (n_K + 1)`) minimise `||Y - M A||_F^2 + λ ||M_code||_F^2` (the
//! bias column is not penalised), i.e. they solve the normal equations
//! `M (A A^T + Λ) = Y A^T`, `Λ = diag(λ, ..., λ, 0)`, with [`LAMBDA`] `= 1e-3` on the
//! SUM of squares (not the mean). `A A^T + Λ` is positive definite for any N >= 1
//! (a null vector would need zero code weights and then a zero bias), so it is solved
//! by Cholesky.

use crate::error::{Error, Result};
use nalgebra::DMatrix;

/// Ridge penalty λ of the readout (on the sum of squared errors over the train set).
pub const LAMBDA: f64 = 1e-3;

/// A fitted linear readout: class scores `M [code; 1]`.
#[derive(Debug, Clone)]
pub struct Readout {
    /// `classes x (n_K + 1)`; the last column is the bias.
    pub m: DMatrix<f64>,
}

/// `[code; 1]`.
fn augmented(code: &DMatrix<f64>) -> DMatrix<f64> {
    code.clone().insert_row(code.nrows(), 1.0)
}

impl Readout {
    /// Fits the readout on codes `n_K x N` and labels (each `< classes`) with penalty
    /// `lambda`.
    pub fn fit(
        code: &DMatrix<f64>,
        labels: &[usize],
        classes: usize,
        lambda: f64,
    ) -> Result<Readout> {
        let fail = |m: String| Error::config("compare::Readout", "code", m);
        if code.ncols() != labels.len() {
            return Err(fail(format!(
                "{} codes but {} labels",
                code.ncols(),
                labels.len()
            )));
        }
        if let Some(l) = labels.iter().find(|&&l| l >= classes) {
            return Err(fail(format!("label {l} is not below classes = {classes}")));
        }
        let a = augmented(code);
        let y = super::one_hot(labels, classes);
        let mut g = &a * a.transpose();
        for i in 0..code.nrows() {
            g[(i, i)] += lambda;
        }
        let chol = g
            .cholesky()
            .ok_or_else(|| fail("A A^T + Λ is not positive definite (non-finite codes?)".into()))?;
        let m = chol.solve(&(&a * y.transpose())).transpose();
        Ok(Readout { m })
    }

    /// Class scores `classes x N` of codes `n_K x N`.
    pub fn scores(&self, code: &DMatrix<f64>) -> DMatrix<f64> {
        &self.m * augmented(code)
    }
}

/// The fraction of columns of `scores` (`classes x N`) whose largest entry (the first
/// of equal ones) is at row `labels[j]`; 0 for no samples.
pub fn accuracy(scores: &DMatrix<f64>, labels: &[usize]) -> f64 {
    assert_eq!(scores.ncols(), labels.len(), "one label per column");
    if labels.is_empty() {
        return 0.0;
    }
    let hits = scores
        .column_iter()
        .zip(labels)
        .filter(|(c, l)| c.imax() == **l)
        .count();
    hits as f64 / labels.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::random::{normal, rng};

    /// Three well-separated Gaussian clusters in 5 dimensions.
    fn clusters(n: usize, seed: u64) -> (DMatrix<f64>, Vec<usize>) {
        let mut r = rng(seed, 1);
        let labels: Vec<usize> = (0..n).map(|j| j % 3).collect();
        let x = DMatrix::from_fn(5, n, |i, j| {
            let centre = if i == labels[j] { 4.0 } else { 0.0 };
            centre + 0.3 * normal(&mut r)
        });
        (x, labels)
    }

    #[test]
    fn separable_data_is_classified_perfectly() {
        let (x, l) = clusters(90, 1);
        let ro = Readout::fit(&x, &l, 3, LAMBDA).unwrap();
        assert_eq!(accuracy(&ro.scores(&x), &l), 1.0);
        let (xt, lt) = clusters(60, 2);
        assert_eq!(accuracy(&ro.scores(&xt), &lt), 1.0);
    }

    #[test]
    fn ridge_solution_satisfies_the_normal_equations() {
        let (x, l) = clusters(40, 3);
        let lambda = 0.5;
        let ro = Readout::fit(&x, &l, 3, lambda).unwrap();
        let a = augmented(&x);
        let mut g = &a * a.transpose();
        for i in 0..5 {
            g[(i, i)] += lambda;
        }
        let lhs = &ro.m * g;
        let rhs = crate::compare::one_hot(&l, 3) * a.transpose();
        let res = (&lhs - &rhs).amax() / rhs.amax();
        assert!(res < 1e-10, "normal-equation residual {res:e}");
    }

    #[test]
    fn bad_labels_are_refused() {
        let (x, _) = clusters(6, 4);
        assert!(Readout::fit(&x, &[0, 1, 2, 3, 0, 1], 3, LAMBDA).is_err());
        assert!(Readout::fit(&x, &[0, 1], 3, LAMBDA).is_err());
    }
}
