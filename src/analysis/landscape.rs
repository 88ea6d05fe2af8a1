//! The critical sets of Theorem 2: W = rows on a subset of eigenvectors, their
//! Hessians by central differences of the analytic gradient, their classification,
//! and the predicted counts (docs/theory.md §3).

use super::Spectrum;
use crate::dynamics::rules::{Moment, Rule, Workspace, flow, reconstruction_error};
use nalgebra::DMatrix;

/// Type of a critical point from the signs of its Hessian eigenvalues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CriticalKind {
    /// No Hessian eigenvalue below -zero_tol (flat directions allowed).
    Minimum,
    /// Eigenvalues below -zero_tol and above +zero_tol both present.
    Saddle,
    /// Some eigenvalue below -zero_tol and none above +zero_tol (only W = 0 predicted).
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
    /// Number of Hessian eigenvalues mu < -zero_tol (unstable directions).
    pub n_negative: usize,
    /// Number of Hessian eigenvalues with |mu| <= zero_tol (flat directions).
    pub n_zero: usize,
    /// Number of Hessian eigenvalues mu > zero_tol.
    pub n_positive: usize,
    /// Classification from the signs counted above (docs/theory.md §3.2).
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

/// sum_{i=1}^{n1} C(n0, i) - 1: the slides' count of saddle plateaux.
pub fn predicted_saddles(n0: usize, n1: usize) -> u64 {
    (1..=n1.min(n0)).map(|i| binomial(n0, i)).sum::<u64>() - 1
}

/// Binomial coefficient C(n, k).
pub fn binomial(n: usize, k: usize) -> u64 {
    (0..k).fold(1u64, |acc, i| acc * (n - i) as u64 / (i + 1) as u64)
}

/// Theorem 2 on an enumerated landscape: every representative is stationary with
/// J = 1/2 (tr Sigma - sum_S lambda), there is one minimum (the top n1
/// eigenvectors), one maximum (W = 0) and sum_{i<=n1} C(n0, i) - 1 saddles.
#[derive(Debug, Clone, PartialEq)]
pub struct Theorem2 {
    /// Number of critical sets classified as saddles.
    pub saddles: u64,
    /// sum_{i=1..n1} C(n0, i) - 1 (docs/theory.md §3.2).
    pub saddles_predicted: u64,
    /// Subsets (0-based) of the minima found.
    pub minima: Vec<Vec<usize>>,
    /// Number of critical sets classified as maxima (predicted: 1, W = 0).
    pub maxima: usize,
    /// Largest ||F(W)|| over the representatives.
    pub max_grad_norm: f64,
    /// Largest |J - J(S)| over the representatives.
    pub max_abs_j_error: f64,
    n1: usize,
    scale: f64,
}

/// Stationarity and J hold to rounding: 1e-10 max(1, lambda_1) (the representatives
/// are exact critical points, so only rounding separates F and J from their values).
pub const THEOREM2_TOL: f64 = 1e-10;

impl Theorem2 {
    /// The counts and errors of `points`, the critical sets of an n1 x n0 net whose
    /// largest eigenvalue is `lambda_1`.
    pub fn of(points: &[CriticalPoint], n0: usize, n1: usize, lambda_1: f64) -> Self {
        let count = |k: CriticalKind| points.iter().filter(|p| p.kind == k).count();
        Theorem2 {
            saddles: count(CriticalKind::Saddle) as u64,
            saddles_predicted: predicted_saddles(n0, n1),
            minima: points
                .iter()
                .filter(|p| p.kind == CriticalKind::Minimum)
                .map(|p| p.subset.clone())
                .collect(),
            maxima: count(CriticalKind::Maximum),
            max_grad_norm: points.iter().map(|p| p.grad_norm).fold(0.0, f64::max),
            max_abs_j_error: points
                .iter()
                .map(|p| (p.j - p.j_predicted).abs())
                .fold(0.0, f64::max),
            n1,
            scale: lambda_1.max(1.0),
        }
    }

    /// The tolerance of stationarity and of J: THEOREM2_TOL max(1, lambda_1).
    pub fn tolerance(&self) -> f64 {
        THEOREM2_TOL * self.scale
    }

    /// Every representative stationary with the predicted J.
    pub fn stationary(&self) -> bool {
        self.max_grad_norm < self.tolerance() && self.max_abs_j_error < self.tolerance()
    }

    /// The predicted counts: one minimum at the top n1 eigenvectors, one maximum,
    /// and the predicted number of saddles.
    pub fn counts_hold(&self) -> bool {
        self.saddles == self.saddles_predicted
            && self.minima == vec![(0..self.n1).collect::<Vec<_>>()]
            && self.maxima == 1
    }

    /// Both.
    pub fn holds(&self) -> bool {
        self.stationary() && self.counts_hold()
    }
}
