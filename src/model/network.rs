//! The LMSER network: layers 0..K with n_k units, weights W_k (n_k x n_{k-1}) used
//! bottom-up (y_k = W_k z_{k-1}) and, transposed, top-down (u_{k-1} = W_k^T z_k)
//! (Xu 1993, section 2; docs/theory.md §0).

use crate::error::{Error, Result};
use crate::model::activation::Activation;
use nalgebra::{DMatrix, DVector};

/// What the top layer K does during the perceptron phase.
#[derive(Debug, Clone, PartialEq)]
pub enum Top {
    /// Unsupervised: the top layer is a free hidden code.
    Free,
    /// Supervised: the top layer is clamped to a label vector.
    Clamped(DVector<f64>),
}

/// A K-layer LMSER net. Layer k = 1..K is stored at index k-1 of the per-layer vectors.
#[derive(Debug, Clone)]
pub struct Network {
    sizes: Vec<usize>,
    weights: Vec<DMatrix<f64>>,
    activations: Vec<Activation>,
    tau: Vec<f64>,
    top: Top,
}

impl Network {
    /// Builds a net from layer sizes n_0..n_K, weights W_1..W_K, one activation and
    /// one time constant per layer 1..K, and the top-layer mode. Shapes are checked.
    pub fn new(
        sizes: Vec<usize>,
        weights: Vec<DMatrix<f64>>,
        activations: Vec<Activation>,
        tau: Vec<f64>,
        top: Top,
    ) -> Result<Self> {
        let bad = |field: &str, message: String| Err(Error::config("network", field, message));
        if sizes.len() < 2 || sizes.contains(&0) {
            return bad(
                "layers",
                format!("need at least two layers of size >= 1 (got {sizes:?})"),
            );
        }
        let k = sizes.len() - 1;
        if weights.len() != k {
            return bad(
                "weights",
                format!("need {k} weight matrices, got {}", weights.len()),
            );
        }
        for (i, w) in weights.iter().enumerate() {
            if w.shape() != (sizes[i + 1], sizes[i]) {
                return bad(
                    "weights",
                    format!(
                        "W{} must be {} x {} (n_{} rows, n_{} columns), got {} x {}",
                        i + 1,
                        sizes[i + 1],
                        sizes[i],
                        i + 1,
                        i,
                        w.nrows(),
                        w.ncols()
                    ),
                );
            }
        }
        if activations.len() != k || tau.len() != k {
            return bad(
                "activation",
                format!("need one activation and one tau per layer 1..{k}"),
            );
        }
        for (i, a) in activations.iter().enumerate() {
            if let Activation::Amplified { gains } = a
                && gains.len() != sizes[i + 1]
            {
                return bad(
                    "activation",
                    format!(
                        "layer {} has {} units but {} gains; give one gain per unit",
                        i + 1,
                        sizes[i + 1],
                        gains.len()
                    ),
                );
            }
        }
        if matches!(top, Top::Clamped(_)) && k < 2 {
            return bad(
                "label",
                "a clamped top layer needs at least two layers above the input".into(),
            );
        }
        if let Top::Clamped(label) = &top
            && label.len() != sizes[k]
        {
            return bad(
                "label",
                format!(
                    "the label must have n_K = {} values, got {}",
                    sizes[k],
                    label.len()
                ),
            );
        }
        Ok(Network {
            sizes,
            weights,
            activations,
            tau,
            top,
        })
    }

    /// Layer sizes n_0..n_K.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }
    /// Number of layers K above the input.
    pub fn depth(&self) -> usize {
        self.sizes.len() - 1
    }
    /// W_k for k = 1..K.
    pub fn weight(&self, k: usize) -> &DMatrix<f64> {
        &self.weights[k - 1]
    }
    /// All weights W_1..W_K.
    pub fn weights(&self) -> &[DMatrix<f64>] {
        &self.weights
    }
    /// Activation of layer k = 1..K.
    pub fn activation(&self, k: usize) -> &Activation {
        &self.activations[k - 1]
    }
    /// Time constant of layer k = 1..K.
    pub fn tau(&self, k: usize) -> f64 {
        self.tau[k - 1]
    }
    /// The top-layer mode.
    pub fn top(&self) -> &Top {
        &self.top
    }
    /// Layers whose activities evolve: 1..K, or 1..K-1 when the top is clamped.
    pub fn free_layers(&self) -> std::ops::RangeInclusive<usize> {
        match self.top {
            Top::Free => 1..=self.depth(),
            Top::Clamped(_) => 1..=self.depth() - 1,
        }
    }
    /// Offset of free layer k in the flat state z = (z_1, ..., z_K).
    pub fn offset(&self, k: usize) -> usize {
        self.sizes[1..k].iter().sum()
    }
    /// Number of free units (the dimension of the neuron state).
    pub fn free_units(&self) -> usize {
        self.free_layers().map(|k| self.sizes[k]).sum()
    }

    /// The symmetric coupling T of the stacked neuron dynamics
    /// tau dz/dt = -z + s(T z + I): T_{k,k-1} = W_k, T_{k-1,k} = W_k^T over the free
    /// layers (docs/theory.md §1.3).
    pub fn coupling(&self) -> DMatrix<f64> {
        let n = self.free_units();
        let mut t = DMatrix::zeros(n, n);
        for k in self.free_layers().skip(1) {
            let (r, c) = (self.offset(k), self.offset(k - 1));
            let w = self.weight(k);
            t.view_mut((r, c), w.shape()).copy_from(w);
            t.view_mut((c, r), (w.ncols(), w.nrows()))
                .copy_from(&w.transpose());
        }
        t
    }
}
