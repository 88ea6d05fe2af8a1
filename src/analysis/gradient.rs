//! The gradient-flow identity checked by finite differences: the averaged rule F(W)
//! against -dJ/dW (docs/theory.md §2.3).

use crate::dynamics::rules::{Moment, Rule, Workspace, flow, reconstruction_error};
use nalgebra::DMatrix;

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
