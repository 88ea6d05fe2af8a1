//! Multilayer LMSER over a batch of samples (docs/theory.md §10): the settled state of
//! a K-layer net with the input clamped ([`settle`]), the slides' learning rules and
//! the exact gradient of the reconstruction error through the settled state
//! ([`rules`]).
//!
//! Conventions: a batch is n_0 x B with one sample per column; `w[k-1]` is W_k
//! (n_k x n_{k-1}); `z[k]` is layer k (z_0 = x); units carry no biases, as in the
//! slides.

mod coupled;
mod rules;
mod settle;
mod split;

pub use coupled::CoupledNet;
pub use rules::{Gradients, MultiRule, cosine, reconstruction_error, update};
pub use settle::{Clamp, SettleOptions, Settled, settle, settle_clamped};

use crate::model::activation::Activation;
use nalgebra::DMatrix;

/// The units of a K-layer net: one activation per layer 1..K.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Activation of layer k at index k-1.
    pub activations: Vec<Activation>,
}

impl Stack {
    /// The same activation for all K layers.
    pub fn uniform(activation: Activation, depth: usize) -> Self {
        Stack {
            activations: vec![activation; depth],
        }
    }

    /// Number of layers K above the input.
    pub fn depth(&self) -> usize {
        self.activations.len()
    }

    /// Activation of layer k = 1..K.
    pub fn activation(&self, k: usize) -> &Activation {
        &self.activations[k - 1]
    }
}

/// s applied entrywise to a layer's pre-activations (row j is unit j).
pub fn apply_s(act: &Activation, a: &DMatrix<f64>) -> DMatrix<f64> {
    let mut out = a.clone();
    map_rows(act, &mut out, |act, j, v| act.s(j, v));
    out
}

/// s' applied entrywise to a layer's pre-activations.
pub fn apply_ds(act: &Activation, a: &DMatrix<f64>) -> DMatrix<f64> {
    let mut out = a.clone();
    map_rows(act, &mut out, |act, j, v| act.ds(j, v));
    out
}

fn map_rows(act: &Activation, m: &mut DMatrix<f64>, f: impl Fn(&Activation, usize, f64) -> f64) {
    let rows = m.nrows();
    for (i, v) in m.iter_mut().enumerate() {
        *v = f(act, i % rows, *v);
    }
}
