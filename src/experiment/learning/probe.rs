//! The metrics of a weight matrix at an output time (the columns of a learning run's
//! `trajectory.csv`).

use super::LearningSpec;
use crate::dynamics::rules::{Moment, Workspace, flow_and_error, orth_error, subspace_error};
use crate::executor::{Metrics, Probe};
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
        let spec = self.spec;
        let sigma = if self.eigenbasis {
            Moment::Diagonal(&spec.spectrum.values)
        } else {
            spec.moment()
        };
        let j = flow_and_error(&spec.rule, w, &sigma, &mut self.ws, &mut self.f);
        row.extend([
            j,
            self.f.norm() / spec.tau_w,
            subspace_error(w, &self.phi_top),
            orth_error(w),
        ]);
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

impl Probe for WeightProbe<'_> {
    fn names(&self) -> Vec<String> {
        self.metric_names()
    }

    fn values(&mut self, _t: f64, y: &[f64], _dy: &[f64], row: &mut Vec<f64>) {
        let n = self.w.len();
        let mut w = std::mem::replace(&mut self.w, DMatrix::zeros(0, 0));
        w.as_mut_slice()
            .copy_from_slice(&y[self.offset..self.offset + n]);
        self.weight_values(&w, row);
        self.w = w;
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
