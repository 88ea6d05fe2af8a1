//! Closed forms and analyses of the one-layer linear net: the spectrum of Sigma, the
//! critical sets of Theorem 2 with their Hessians, the Theorem 4 projection, and the
//! alignment of rows of W with eigenvectors (THEORY.md sections 3-5).

use crate::dynamics::rules::{Moment, Rule, Workspace, flow, reconstruction_error};
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

/// Type of a critical point from the signs of its Hessian eigenvalues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CriticalKind {
    Minimum,
    Saddle,
    Maximum,
}

impl CriticalKind {
    /// Name written to CSV.
    pub fn name(self) -> &'static str {
        match self {
            CriticalKind::Minimum => "minimum",
            CriticalKind::Saddle => "saddle",
            CriticalKind::Maximum => "maximum",
        }
    }
}

/// One critical set W = D P Phi^T of Theorem 2, fixed by the eigenvectors S it keeps.
#[derive(Debug, Clone)]
pub struct CriticalPoint {
    /// Kept eigenvector indices (0-based, ascending).
    pub subset: Vec<usize>,
    /// The representative W: row r = phi_{S_r}^T, remaining rows zero.
    pub w: DMatrix<f64>,
    /// J at W.
    pub j: f64,
    /// The predicted plateau 1/2 (tr Sigma - sum_S lambda).
    pub j_predicted: f64,
    /// ||F(W)||_F: zero at a critical point.
    pub grad_norm: f64,
    /// Hessian eigenvalues of J, ascending.
    pub hessian_eigenvalues: Vec<f64>,
    pub n_negative: usize,
    pub n_zero: usize,
    pub n_positive: usize,
    pub kind: CriticalKind,
}

/// The representative W of a subset S: row r = phi_{S_r}^T, others zero.
pub fn critical_weights(spec: &Spectrum, n1: usize, subset: &[usize]) -> DMatrix<f64> {
    let n0 = spec.values.len();
    let mut w = DMatrix::zeros(n1, n0);
    for (r, &i) in subset.iter().enumerate() {
        w.row_mut(r).copy_from(&spec.vectors.column(i).transpose());
    }
    w
}

/// All subsets of {0..n-1} with at most k elements, by size then lexicographically.
pub fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for size in 1..=k.min(n) {
        let mut idx: Vec<usize> = (0..size).collect();
        loop {
            out.push(idx.clone());
            let Some(p) = (0..size).rev().find(|&p| idx[p] < n - size + p) else {
                break;
            };
            idx[p] += 1;
            for q in p + 1..size {
                idx[q] = idx[q - 1] + 1;
            }
        }
    }
    out
}

/// Finite-difference step of [`hessian`]. The gradient is a cubic polynomial in W, so
/// the central difference is exact up to h^2/6 times its third derivative (of order
/// lambda_max) plus rounding eps/h: about 1e-8 lambda_max at h = 1e-4.
pub const HESSIAN_STEP: f64 = 1e-4;

/// Hessian of J = 1/2 E||x - u_0||^2 with respect to vec(W) (column-major), by central
/// differences of the analytic gradient -F(W) of the averaged rule, symmetrised.
pub fn hessian(rule: &Rule, w: &DMatrix<f64>, sigma: &DMatrix<f64>) -> DMatrix<f64> {
    let (n1, n0) = w.shape();
    let n = n1 * n0;
    let mut ws = Workspace::new(n1, n0);
    let mut fp = DMatrix::zeros(n1, n0);
    let mut fm = DMatrix::zeros(n1, n0);
    let mut h = DMatrix::zeros(n, n);
    let c = Moment::Matrix(sigma);
    let mut wp = w.clone();
    for j in 0..n {
        let orig = wp[j];
        wp[j] = orig + HESSIAN_STEP;
        flow(rule, &wp, &c, &mut ws, &mut fp);
        wp[j] = orig - HESSIAN_STEP;
        flow(rule, &wp, &c, &mut ws, &mut fm);
        wp[j] = orig;
        for i in 0..n {
            h[(i, j)] = -(fp[i] - fm[i]) / (2.0 * HESSIAN_STEP);
        }
    }
    (&h + h.transpose()) * 0.5
}

/// Enumerates every critical set of the one-layer LMSER landscape for Sigma and n1
/// (Theorem 2), checks stationarity, and classifies each by its Hessian: eigenvalues
/// with |mu| <= `zero_tol` count as zero.
pub fn landscape(sigma: &DMatrix<f64>, n1: usize, zero_tol: f64) -> Vec<CriticalPoint> {
    landscape_until(sigma, n1, zero_tol, &|| false)
}

/// [`landscape`], stopping early (with the points found so far) once `stop()` is true.
pub fn landscape_until(
    sigma: &DMatrix<f64>,
    n1: usize,
    zero_tol: f64,
    stop: &dyn Fn() -> bool,
) -> Vec<CriticalPoint> {
    let spec = Spectrum::of(sigma);
    let n0 = sigma.nrows();
    let rule = Rule::lmser();
    let c = Moment::Matrix(sigma);
    let mut ws = Workspace::new(n1, n0);
    let mut f = DMatrix::zeros(n1, n0);
    subsets(n0, n1)
        .into_iter()
        .take_while(|_| !stop())
        .map(|subset| {
            let w = critical_weights(&spec, n1, &subset);
            flow(&rule, &w, &c, &mut ws, &mut f);
            let j = reconstruction_error(&rule, &w, &c, &mut ws);
            let mut mu: Vec<f64> = hessian(&rule, &w, sigma)
                .symmetric_eigenvalues()
                .iter()
                .copied()
                .collect();
            mu.sort_by(f64::total_cmp);
            let n_negative = mu.iter().filter(|&&m| m < -zero_tol).count();
            let n_positive = mu.iter().filter(|&&m| m > zero_tol).count();
            let kind = if n_negative == 0 {
                CriticalKind::Minimum
            } else if n_positive == 0 {
                CriticalKind::Maximum
            } else {
                CriticalKind::Saddle
            };
            CriticalPoint {
                j_predicted: spec.plateau(&subset),
                subset,
                j,
                grad_norm: f.norm(),
                n_zero: mu.len() - n_negative - n_positive,
                n_negative,
                n_positive,
                hessian_eigenvalues: mu,
                kind,
                w,
            }
        })
        .collect()
}

/// How far the flow F(W) of `rule` is from -grad J at W: (the largest
/// |dJ/dW_i + F_i| over all entries, max |F|), with dJ/dW_i by central differences of
/// step h (truncation error h^2/6 times the third derivative of J, plus rounding
/// eps J / h).
pub fn gradient_mismatch(rule: &Rule, w: &DMatrix<f64>, c: &Moment, h: f64) -> (f64, f64) {
    let (n1, n0) = w.shape();
    let mut ws = Workspace::new(n1, n0);
    let mut f = DMatrix::zeros(n1, n0);
    flow(rule, w, c, &mut ws, &mut f);
    let mut wp = w.clone();
    let mut worst = 0.0f64;
    for i in 0..w.len() {
        wp[i] = w[i] + h;
        let jp = reconstruction_error(rule, &wp, c, &mut ws);
        wp[i] = w[i] - h;
        let jm = reconstruction_error(rule, &wp, c, &mut ws);
        wp[i] = w[i];
        worst = worst.max(((jp - jm) / (2.0 * h) + f[i]).abs());
    }
    (worst, f.amax())
}

/// sum_{i=1}^{n1} C(n0, i) - 1: the slides' count of saddle plateaux.
pub fn predicted_saddles(n0: usize, n1: usize) -> u64 {
    (1..=n1.min(n0)).map(|i| binomial(n0, i)).sum::<u64>() - 1
}

/// Binomial coefficient C(n, k).
pub fn binomial(n: usize, k: usize) -> u64 {
    (0..k).fold(1u64, |acc, i| acc * (n - i) as u64 / (i + 1) as u64)
}

/// Theorem 4 at one W: (<E G_0, E G>, <E G_0, E G> / ||E G_0||^2) with G_0 Oja's rule
/// and G LMSER's, both averaged over Sigma (vec inner products = Frobenius).
pub fn theorem4(w: &DMatrix<f64>, sigma: &DMatrix<f64>) -> (f64, f64) {
    let (n1, n0) = w.shape();
    let mut ws = Workspace::new(n1, n0);
    let c = Moment::Matrix(sigma);
    let mut g0 = DMatrix::zeros(n1, n0);
    let mut g = DMatrix::zeros(n1, n0);
    flow(&Rule::Oja, w, &c, &mut ws, &mut g0);
    flow(&Rule::lmser(), w, &c, &mut ws, &mut g);
    let inner = g0.dot(&g);
    (inner, inner / g0.norm_squared())
}

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
