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
    /// Decomposes a symmetric matrix (its lower triangle is read).
    pub fn of(sigma: &DMatrix<f64>) -> Spectrum {
        let (values, vectors) = crate::linalg::symmetric_eigen(sigma);
        Spectrum::from_decomposition(&values, vectors)
    }

    /// The spectrum of Phi diag(`values`) Phi^T for orthonormal columns Phi =
    /// `vectors` (any order): sorted by decreasing eigenvalue (ties keep their
    /// order), each eigenvector's largest-magnitude component made positive.
    pub fn from_decomposition(values: &DVector<f64>, vectors: DMatrix<f64>) -> Spectrum {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let sorted = DVector::from_iterator(order.len(), order.iter().map(|&i| values[i]));
        let n = vectors.nrows();
        let mut out = DMatrix::zeros(n, order.len());
        for (k, &i) in order.iter().enumerate() {
            let v = vectors.column(i);
            // Fix the sign: the largest-magnitude component is positive.
            let sign = if v[v.iamax()] < 0.0 { -1.0 } else { 1.0 };
            out.column_mut(k).copy_from(&(v * sign));
        }
        Spectrum {
            values: sorted,
            vectors: out,
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
