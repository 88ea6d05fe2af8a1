//! The metrics of a weight matrix at an output time (the columns of a learning run's
//! `trajectory.csv`).

use super::LearningSpec;
use crate::dynamics::rules::{
    Moment, Rule, Workspace, flow_and_error, orth_error, orth_error_of_gram, reconstruction_error,
    subspace_error,
};
use crate::executor::{Metrics, Probe};
use crate::linalg::{Block, BlockMut, symmetric_block};
use nalgebra::DMatrix;

/// Overlap columns c{i}_{j} are written when n1 n0 is at most this.
pub const MAX_OVERLAP_COLUMNS: usize = 64;

/// J, the norm of the averaged rule, the subspace and orthonormality errors, and the
/// overlaps c{i}_{j} = w_i . phi_j of W (read from a flat state at `offset`); or,
/// for a state V = W Phi in Sigma's eigenbasis, the same metrics from V (each is
/// invariant under the rotation, and the overlaps are V itself).
pub struct WeightProbe<'a> {
    spec: &'a LearningSpec,
    eigenbasis: bool,
    phi_top: DMatrix<f64>,
    ws: Workspace,
    f: DMatrix<f64>,
    w: DMatrix<f64>,
    /// V_b V_b^T (n1 x n1) for the subspace error in the eigenbasis.
    off_top: DMatrix<f64>,
    offset: usize,
}

impl<'a> WeightProbe<'a> {
    /// The probe of a run of `spec` whose state holds vec W from `offset`.
    pub fn new(spec: &'a LearningSpec, offset: usize) -> Self {
        let (n1, n0) = spec.w0.shape();
        WeightProbe {
            spec,
            eigenbasis: false,
            phi_top: spec.spectrum.top(n1),
            ws: Workspace::new(n1, n0),
            f: DMatrix::zeros(n1, n0),
            w: DMatrix::zeros(n1, n0),
            off_top: DMatrix::zeros(n1, n1),
            offset,
        }
    }

    /// The probe of an averaged run on Sigma whose state is vec V, V = W Phi
    /// (`AveragedLearning::in_eigenbasis`).
    pub fn in_eigenbasis(spec: &'a LearningSpec) -> Self {
        let (n1, n0) = spec.w0.shape();
        WeightProbe {
            eigenbasis: true,
            phi_top: DMatrix::identity(n0, n1),
            ..Self::new(spec, 0)
        }
    }

    /// (n1, n0).
    pub fn shape(&self) -> (usize, usize) {
        self.w.shape()
    }

    /// The metric names, `t` first.
    pub fn header(&self) -> Vec<String> {
        let mut n = vec!["t".to_string()];
        n.extend(self.metric_names());
        n
    }

    /// The metric names after `t`.
    pub fn metric_names(&self) -> Vec<String> {
        let (n1, n0) = self.spec.w0.shape();
        let mut h: Vec<String> = ["J", "grad_norm", "subspace_error", "orth_error"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if n1 * n0 <= MAX_OVERLAP_COLUMNS {
            for i in 1..=n1 {
                for j in 1..=n0 {
                    h.push(format!("c{i}_{j}"));
                }
            }
        }
        h
    }

    /// Appends the metrics of W (of V = W Phi for a probe in the eigenbasis) to `row`.
    pub fn weight_values(&mut self, w: &DMatrix<f64>, row: &mut Vec<f64>) {
        self.values_of(w, None, row);
    }

    /// [`WeightProbe::weight_values`]; `dy`, when given, is tau_w dW/dt = F(W) / tau_w
    /// at W as the run's right-hand side computed it (the averaged ODE's state is W,
    /// or V = W Phi for a probe in the eigenbasis).
    fn values_of(&mut self, w: &DMatrix<f64>, dy: Option<&[f64]>, row: &mut Vec<f64>) {
        let spec = self.spec;
        let tanh = matches!(spec.rule, Rule::LmserTanh { .. });
        match dy {
            Some(dy) if self.eigenbasis && !tanh => {
                // In the eigenbasis every metric is invariant (Phi is orthogonal):
                // ||F|| = ||dV/dt|| tau_w, W W^T = V V^T, and the subspace error
                // needs no SVD ([`eigenbasis_subspace_error`]).
                let lam = Moment::Diagonal(&spec.spectrum.values);
                let j = reconstruction_error(&spec.rule, w, &lam, &mut self.ws);
                let k = self.ws.gram();
                let sub = eigenbasis_subspace_error(w, k, &mut self.off_top)
                    .unwrap_or_else(|| subspace_error(w, &self.phi_top));
                let grad = crate::simd::sum_of_squares(dy).sqrt();
                row.extend([j, grad, sub, orth_error_of_gram(k)]);
            }
            _ => {
                let sigma = if self.eigenbasis {
                    Moment::Diagonal(&spec.spectrum.values)
                } else {
                    spec.moment()
                };
                let j = flow_and_error(&spec.rule, w, &sigma, &mut self.ws, &mut self.f);
                // The flow formed W W^T, except the tanh rule's.
                let orth = if tanh {
                    orth_error(w)
                } else {
                    orth_error_of_gram(self.ws.gram())
                };
                row.extend([
                    j,
                    self.f.norm() / spec.tau_w,
                    subspace_error(w, &self.phi_top),
                    orth,
                ]);
            }
        }
        let (n1, n0) = w.shape();
        if n1 * n0 <= MAX_OVERLAP_COLUMNS {
            let c = if self.eigenbasis {
                w.clone()
            } else {
                w * &spec.spectrum.vectors
            };
            for i in 0..n1 {
                for k in 0..n0 {
                    row.push(c[(i, k)]);
                }
            }
        }
    }
}

/// The largest 1-norm condition number of V V^T for which the subspace error is
/// computed from it (relative rounding about 1e-16 times this, times n1).
const MAX_GRAM_CONDITION: f64 = 1e3;

/// The subspace error ([`subspace_error`]) of V = W Phi against the top n1
/// eigenvectors, which in the eigenbasis are the first n1 unit vectors, from
/// K = V V^T and without an SVD. With V of full rank n1, Q = V^T L^-T (K = L L^T) is
/// an orthonormal basis of its row space and, both subspaces having dimension n1,
/// ||P_V - P_top||_F^2 = 2 ||Q_b||_F^2 = 2 tr(K^-1 V_b V_b^T), V_b the columns
/// n1.. of V (its components off the top eigenvectors): no difference of nearly
/// equal quantities is formed, so a small error keeps its relative accuracy. None
/// unless K is well conditioned (cond_1 K < [`MAX_GRAM_CONDITION`]): K^-1 carries
/// the rounding of K magnified by cond K = (cond V)^2, where the SVD's error grows
/// with cond V only, so an ill-conditioned V (a tiny W0 on its saddle plateaux, a
/// rank-deficient one) goes to [`subspace_error`]. `off_top` (n1 x n1) receives
/// V_b V_b^T.
fn eigenbasis_subspace_error(
    v: &DMatrix<f64>,
    k: &DMatrix<f64>,
    off_top: &mut DMatrix<f64>,
) -> Option<f64> {
    let (n1, n0) = v.shape();
    let kinv = spd_inverse(k)?;
    // cond_1(K) = ||K||_1 ||K^-1||_1 (at most n1 times the 2-norm condition).
    let norm1 = |m: &DMatrix<f64>| {
        m.column_iter()
            .map(|c| c.iter().map(|v| v.abs()).sum::<f64>())
            .fold(0.0, f64::max)
    };
    let cond = norm1(k) * norm1(&kinv);
    if cond.is_nan() || cond >= MAX_GRAM_CONDITION {
        return None;
    }
    if n0 == n1 {
        return Some(0.0);
    }
    let vb = Block {
        data: &v.as_slice()[n1 * n1..],
        rows: n1,
        cols: n0 - n1,
        stride: n1,
    };
    let out = BlockMut {
        data: off_top.as_mut_slice(),
        rows: n1,
        cols: n1,
        stride: n1,
    };
    symmetric_block(out, vb, vb);
    let x: f64 = kinv.iter().zip(off_top.iter()).map(|(a, b)| a * b).sum();
    Some((2.0 * x.max(0.0)).sqrt())
}

impl Probe for WeightProbe<'_> {
    fn names(&self) -> Vec<String> {
        self.metric_names()
    }

    fn values(&mut self, _t: f64, y: &[f64], dy: &[f64], row: &mut Vec<f64>) {
        let n = self.w.len();
        let mut w = std::mem::replace(&mut self.w, DMatrix::zeros(0, 0));
        w.as_mut_slice()
            .copy_from_slice(&y[self.offset..self.offset + n]);
        let dy = dy.get(self.offset..self.offset + n);
        self.values_of(&w, dy, row);
        self.w = w;
    }

    /// In the eigenbasis, grad_norm is ||dV/dt|| tau_w from the driver's dy/dt (the
    /// run's own right-hand side: cheaper than a second flow); elsewhere the probe
    /// forms the flow with J from one set of products and reads no dy/dt.
    fn needs_derivative(&self) -> bool {
        self.eigenbasis && !matches!(self.spec.rule, Rule::LmserTanh { .. })
    }
}

/// |cos(w_i, phi_i)| for each row i from the overlap columns of a row of metrics
/// (||w_i||^2 = sum_j c_ij^2, as Phi is orthonormal); None without overlap columns.
pub fn row_alignment(m: &Metrics, n1: usize, n0: usize) -> Option<Vec<f64>> {
    (0..n1)
        .map(|i| {
            let c: Option<Vec<f64>> = (0..n0)
                .map(|j| m.get(&format!("c{}_{}", i + 1, j + 1)))
                .collect();
            let c = c?;
            let norm = c.iter().map(|v| v * v).sum::<f64>().sqrt();
            Some(if norm > 0.0 { c[i].abs() / norm } else { 0.0 })
        })
        .collect()
}

/// K^-1 of a small symmetric positive definite K by Cholesky, K = L L^T and
/// K^-1 = L^-T L^-1; None unless every pivot is positive.
fn spd_inverse(k: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let n = k.nrows();
    let mut l = DMatrix::<f64>::zeros(n, n);
    for j in 0..n {
        let d = k[(j, j)] - (0..j).map(|p| l[(j, p)] * l[(j, p)]).sum::<f64>();
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        let d = d.sqrt();
        l[(j, j)] = d;
        for i in j + 1..n {
            let s = k[(i, j)] - (0..j).map(|p| l[(i, p)] * l[(j, p)]).sum::<f64>();
            l[(i, j)] = s / d;
        }
    }
    // M = L^-1, lower triangular, column by column.
    let mut m = DMatrix::<f64>::zeros(n, n);
    for j in 0..n {
        m[(j, j)] = 1.0 / l[(j, j)];
        for i in j + 1..n {
            let s: f64 = (j..i).map(|p| l[(i, p)] * m[(p, j)]).sum();
            m[(i, j)] = -s / l[(i, i)];
        }
    }
    Some(m.tr_mul(&m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(n1: usize, n0: usize, seed: u64, scale_off: f64) -> DMatrix<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        DMatrix::from_fn(n1, n0, |i, j| {
            let v: f64 = rng.random_range(-1.0..1.0);
            if j < n1 {
                v + if i == j { 2.0 } else { 0.0 }
            } else {
                v * scale_off
            }
        })
    }

    /// The eigenbasis formula agrees with the SVD's, also for a row space within
    /// 1e-9 of the top eigenvectors (relative accuracy kept), and gives way to the
    /// SVD for an ill-conditioned or rank-deficient V.
    #[test]
    fn eigenbasis_subspace_error_matches_the_svd() {
        for (seed, (n1, n0), off) in [(1, (3, 7), 1.0), (2, (8, 64), 1e-3), (3, (5, 40), 1e-9)] {
            let v = random(n1, n0, seed, off);
            let k = &v * v.transpose();
            let mut scratch = DMatrix::zeros(n1, n1);
            let fast = eigenbasis_subspace_error(&v, &k, &mut scratch).expect("full rank");
            let svd = subspace_error(&v, &DMatrix::identity(n0, n1));
            assert!((fast - svd).abs() <= 1e-6 * svd, "{fast} vs {svd}");
            assert!(fast > 0.0);
        }
        // Well defined but ill conditioned (cond K = 1e6): the SVD's turn.
        let mut v = random(3, 7, 4, 1.0);
        v.row_mut(2).scale_mut(1e-3);
        let k = &v * v.transpose();
        let mut scratch = DMatrix::zeros(3, 3);
        assert!(eigenbasis_subspace_error(&v, &k, &mut scratch).is_none());
        let row = v.row(0).into_owned();
        v.set_row(1, &row);
        let k = &v * v.transpose();
        assert!(eigenbasis_subspace_error(&v, &k, &mut scratch).is_none());
        assert!((orth_error_of_gram(&k) - orth_error(&v)).abs() < 1e-12);
    }

    #[test]
    fn spd_inverse_inverts_and_refuses_indefinite() {
        let v = random(6, 9, 5, 1.0);
        let k = &v * v.transpose();
        let inv = spd_inverse(&k).expect("positive definite");
        assert!((&k * &inv - DMatrix::identity(6, 6)).amax() < 1e-12);
        let mut bad = k.clone();
        bad[(3, 3)] = -1.0;
        assert!(spd_inverse(&bad).is_none());
        let x: Vec<f64> = (0..21).map(|i| i as f64 - 7.5).collect();
        let plain: f64 = x.iter().map(|v| v * v).sum();
        assert!((crate::simd::sum_of_squares(&x) - plain).abs() < 1e-12 * plain);
    }
}
