//! The spectrum of Sigma: eigenvalues in descending order with their eigenvectors,
//! and the plateau level of J at a critical set (docs/theory.md §3).

use nalgebra::{DMatrix, DVector};

/// Eigen-decomposition Sigma = Phi Lambda Phi^T with lambda_1 >= ... >= lambda_n0.
#[derive(Debug, Clone)]
pub struct Spectrum {
    /// Eigenvalues, descending.
    pub values: DVector<f64>,
    /// Eigenvectors phi_j as columns, in the order of `values`.
    pub vectors: DMatrix<f64>,
}

impl Spectrum {
    /// Decomposes a symmetric matrix.
    pub fn of(sigma: &DMatrix<f64>) -> Spectrum {
        let e = sigma.clone().symmetric_eigen();
        let mut order: Vec<usize> = (0..e.eigenvalues.len()).collect();
        order.sort_by(|&a, &b| e.eigenvalues[b].total_cmp(&e.eigenvalues[a]));
        let values = DVector::from_iterator(order.len(), order.iter().map(|&i| e.eigenvalues[i]));
        let cols: Vec<_> = order
            .iter()
            .map(|&i| {
                // Fix the sign: the largest-magnitude component is positive.
                let v = e.eigenvectors.column(i).into_owned();
                let imax = v.iamax();
                if v[imax] < 0.0 { -v } else { v }
            })
            .collect();
        Spectrum {
            values,
            vectors: DMatrix::from_columns(&cols),
        }
    }

    /// The first `n` eigenvectors as columns.
    pub fn top(&self, n: usize) -> DMatrix<f64> {
        self.vectors.columns(0, n).into_owned()
    }

    /// 1/2 (tr Sigma - sum_{i in S} lambda_i): J on the critical set S (0-based).
    pub fn plateau(&self, subset: &[usize]) -> f64 {
        0.5 * (self.values.sum() - subset.iter().map(|&i| self.values[i]).sum::<f64>())
    }
}
