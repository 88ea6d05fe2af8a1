//! Alignment of the rows of W with the eigenvectors of Sigma (docs/theory.md §5).

use super::Spectrum;
use nalgebra::DMatrix;

/// |cos| between row i of W and eigenvector phi_j, as an n1 x n0 matrix.
pub fn alignment(w: &DMatrix<f64>, spec: &Spectrum) -> DMatrix<f64> {
    let mut c = w * &spec.vectors;
    for (i, mut row) in c.row_iter_mut().enumerate() {
        let n = w.row(i).norm();
        if n > 0.0 {
            row /= n;
        }
        row.apply(|v| *v = v.abs());
    }
    c
}

/// |cos(w_i, phi_i)| at or above this counts as row i having become eigenvector i
/// (an angle below 2.6 degrees).
pub const ALIGNED: f64 = 0.999;

/// True when |cos(w_i, phi_i)| >= `threshold` for every row i: the rows have become the
/// individual eigenvectors in order (true PCA, not a rotation of the subspace).
pub fn rows_aligned_in_order(cos: &DMatrix<f64>, threshold: f64) -> bool {
    (0..cos.nrows()).all(|i| cos[(i, i)] >= threshold)
}

/// True when every row's largest |cos| with an eigenvector is >= `threshold` and the
/// rows pick distinct eigenvectors (individual eigenvectors, in any order).
pub fn rows_on_eigenvectors(cos: &DMatrix<f64>, threshold: f64) -> bool {
    let picks: Vec<usize> = cos.row_iter().map(|r| r.transpose().imax()).collect();
    let distinct = picks
        .iter()
        .enumerate()
        .all(|(i, p)| !picks[..i].contains(p));
    distinct && cos.row_iter().all(|r| r.max() >= threshold)
}
