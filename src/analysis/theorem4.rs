//! Theorem 4: the projection of Oja's rule on LMSER's (docs/theory.md §4).

use crate::dynamics::rules::{Moment, Rule, Workspace, flow};
use nalgebra::DMatrix;

/// Theorem 4 at one W: (<E G_0, E G>, <E G_0, E G> / ||E G_0||^2) with G_0 Oja's rule
/// and G LMSER's, both averaged over Sigma (vec inner products = Frobenius).
pub fn theorem4(w: &DMatrix<f64>, sigma: &DMatrix<f64>) -> (f64, f64) {
    let t = theorem4_terms(w, sigma);
    (t.inner, t.inner / (t.oja_norm * t.oja_norm))
}

/// The terms of Theorem 4 at one W.
#[derive(Debug, Clone, Copy)]
pub struct Theorem4 {
    /// <E G_0, E G>.
    pub inner: f64,
    /// ||E G_0||.
    pub oja_norm: f64,
    /// ||E G||.
    pub lmser_norm: f64,
}

/// <E G_0, E G>, ||E G_0|| and ||E G|| at W, averaged over Sigma.
pub fn theorem4_terms(w: &DMatrix<f64>, sigma: &DMatrix<f64>) -> Theorem4 {
    let (n1, n0) = w.shape();
    let mut ws = Workspace::new(n1, n0);
    let c = Moment::Matrix(sigma);
    let mut g0 = DMatrix::zeros(n1, n0);
    let mut g = DMatrix::zeros(n1, n0);
    flow(&Rule::Oja, w, &c, &mut ws, &mut g0);
    flow(&Rule::lmser(), w, &c, &mut ws, &mut g);
    Theorem4 {
        inner: g0.dot(&g),
        oja_norm: g0.norm(),
        lmser_norm: g.norm(),
    }
}
