//! The fast/slow splits ([`SplitSystem`]) of the coupled neuron-weight systems, for
//! the IMEX method ([`Method::Imex`](crate::solver::Method::Imex)): the neuron block
//! is the fast (implicit) part, with its whole right-hand side, the weights the slow
//! (explicit) part.
//!
//! One layer of linear (or amplified linear) units, [`CoupledSamples`] and
//! [`CoupledAveraged`]: g = (-z + A W x) / tau, resp. (-Z + A W Sigma) / tau, is affine
//! in the neurons with J_I = -I / tau, so I - hg J_I = (1 + hg / tau) I and a stage
//! is one division per component. Putting only -z / tau into g would leave the
//! coupling A W Sigma / tau, as stiff as -z / tau, to the explicit part (steps ~ tau);
//! inside g it is free, since a stage's W is known before its z is solved.

use super::coupled::{CoupledAveraged, CoupledSamples};
use crate::solver::{OdeSystem, SplitSystem};

/// r <- r / (1 + hg / tau): the solve with I - hg J_I for J_I = -I / tau.
fn diagonal_solve(tau: f64, hg: f64, r: &mut [f64]) {
    let d = 1.0 + hg / tau;
    r.iter_mut().for_each(|v| *v /= d);
}

impl SplitSystem for CoupledSamples {
    fn n_fast(&self) -> usize {
        self.shape().0
    }
    fn rhs_implicit(&self, _t: f64, y: &[f64], g: &mut [f64]) {
        self.neuron_rhs(y, g);
    }
    fn rhs_explicit(&self, _t: f64, y: &[f64], fe: &mut [f64]) {
        let (fz, fw) = fe.split_at_mut(self.n_fast());
        fz.fill(0.0);
        self.weight_rhs(y, fw);
    }
    fn solve_implicit(&self, hg: f64, r: &mut [f64]) {
        diagonal_solve(self.params().tau, hg, r);
    }
    fn implicit_is_linear(&self) -> bool {
        true
    }
}

impl SplitSystem for CoupledAveraged {
    fn n_fast(&self) -> usize {
        self.dim() / 2 // Z and W have the same shape n1 x n0
    }
    fn rhs_implicit(&self, _t: f64, y: &[f64], g: &mut [f64]) {
        self.neuron_rhs(y, g);
    }
    fn rhs_explicit(&self, _t: f64, y: &[f64], fe: &mut [f64]) {
        let (fz, fw) = fe.split_at_mut(self.n_fast());
        fz.fill(0.0);
        self.weight_rhs(y, fw);
    }
    fn solve_implicit(&self, hg: f64, r: &mut [f64]) {
        diagonal_solve(self.params().tau, hg, r);
    }
    fn implicit_is_linear(&self) -> bool {
        true
    }
}
