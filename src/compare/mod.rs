//! The reconstruction-error comparison table of the slides (Fashion-MNIST: Sup-LMSER,
//! Unsup-LMSER, Bi-Autoencoder, Autoencoder after 500 / 5000 / 20000 iterations),
//! rerun on our data: every model implements [`TableModel`], is trained by the same
//! minibatch iterations with the same [`Optimizer`], and is measured by [`table`].
//!
//! Conventions shared by every model of the table (the LMSER models must match them):
//! - a batch is an `n0 x B` matrix, ONE SAMPLE PER COLUMN; labels are one-hot
//!   `classes x B`;
//! - every hidden and top unit is logistic, `s(u) = 1 / (1 + exp(-u))`; the
//!   autoencoders and RBMs reconstruct through logistic units with biases (pixels lie
//!   in [0, 1]), the LMSER models through the linear top-down signal u_0 = W_1^T z_1
//!   without biases, as in the slides;
//! - weights start as `N(0, 1 / fan_in)` ([`init_weights`]), biases at zero;
//! - one call of [`TableModel::step`] is one iteration: one minibatch, one optimizer
//!   update of the parameters it changes;
//! - the random numbers of a run come from [`crate::data::random::rng`] with the
//!   streams of [`stream`], so the same seed gives the same numbers.
//!
//! Baselines here: [`Autoencoder`] and [`BiAutoencoder`] (Hinton & Salakhutdinov
//! 2006, without pretraining) and [`RbmStack`] (greedy CD-k, Hinton 2002; Hinton &
//! Salakhutdinov 2006, without fine-tuning).

mod autoencoder;
mod lmser;
pub mod optim;
mod rbm;
pub mod readout;
pub mod recall;
pub mod table;

pub use autoencoder::{Autoencoder, BiAutoencoder};
pub use lmser::{LmserModel, SkipLmser};
pub use optim::{Method, Optimizer, OptimizerSpec};
pub use rbm::{Rbm, RbmStack};
pub use readout::{Readout, accuracy};
pub use table::{
    BASELINES, CURVE_COLUMNS, CurvePoint, MODELS, ModelFactory, Row, Split, TABLE_COLUMNS,
    TableOutput, TableSpec, baseline_model, curve_iterations, mean_std, run_table, summary_table,
    table_model, train_model, write_outputs,
};

use crate::error::Result;
use nalgebra::DMatrix;
use rand_chacha::ChaCha8Rng;

/// Random streams of one run of the table (see [`crate::data::random::rng`]).
pub mod stream {
    /// Initial weights of the model.
    pub const WEIGHTS: u64 = crate::data::random::stream::WEIGHTS;
    /// The order of the minibatches.
    pub const BATCHES: u64 = crate::data::random::stream::SAMPLES;
    /// Gibbs sampling of RBMs (and any other sampling inside a model's step).
    pub const GIBBS: u64 = 101;
}

/// One model of the comparison table, trained by minibatch iterations.
pub trait TableModel: Send {
    /// Table name ("autoencoder", ...).
    fn name(&self) -> &str;
    /// One training iteration on a minibatch x (n0 x B) with one-hot labels (classes x
    /// B; unsupervised models ignore them). An error (e.g. a net that does not settle)
    /// ends the model's run.
    fn step(&mut self, x: &DMatrix<f64>, labels: &DMatrix<f64>, opt: &mut Optimizer) -> Result<()>;
    /// Reconstructions of the columns of x.
    fn reconstruct(&self, x: &DMatrix<f64>) -> DMatrix<f64>;
    /// The top-layer code (n_K x N) for a linear readout.
    fn code(&self, x: &DMatrix<f64>) -> DMatrix<f64>;
    /// Class scores (classes x N) when the model classifies by itself (supervised
    /// models), else None.
    fn scores(&self, _x: &DMatrix<f64>) -> Option<DMatrix<f64>> {
        None
    }
    /// True when the training schedule depends on the iteration budget given to the
    /// factory (greedy layer-wise stacks): the runner then trains a fresh model for
    /// every checkpoint and curve point, with that count as the budget, so a row at N
    /// iterations is a model given N iterations. Default false: one run, measured as
    /// it goes.
    fn budgeted(&self) -> bool {
        false
    }
}

/// The logistic function `1 / (1 + exp(-u))`.
pub fn logistic(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

/// Logistic units of a layer: `s(W x + b)` for every column of `x` (`b` is `n x 1`).
pub fn layer(w: &DMatrix<f64>, b: &DMatrix<f64>, x: &DMatrix<f64>) -> DMatrix<f64> {
    let mut z = w * x;
    for mut col in z.column_iter_mut() {
        col += b.column(0);
    }
    z.apply(|u| *u = logistic(*u));
    z
}

/// Row sums of `m` as an `n x 1` matrix: the gradient of a bias from per-sample terms.
pub fn row_sums(m: &DMatrix<f64>) -> DMatrix<f64> {
    DMatrix::from_iterator(m.nrows(), 1, m.row_iter().map(|r| r.sum()))
}

/// Initial weights `rows x cols`, entries `N(0, 1 / cols)` (fan-in scaling), drawn
/// column by column from `rng`.
pub fn init_weights(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
    let scale = 1.0 / (cols as f64).sqrt();
    DMatrix::from_fn(rows, cols, |_, _| crate::data::normal(rng) * scale)
}

/// Mean squared reconstruction error PER PIXEL: the mean over samples and pixels of
/// `(x - x̂)^2`, i.e. `||X - X̂||_F^2 / (n0 N)`. (The training objective
/// `J = 1/2 mean_samples ||x - x̂||^2` is `n0 / 2` times it.)
pub fn recon_error(model: &dyn TableModel, x: &DMatrix<f64>) -> f64 {
    let r = model.reconstruct(x);
    (x - r).norm_squared() / (x.len().max(1) as f64)
}

/// One-hot labels `classes x N` of `labels`.
pub fn one_hot(labels: &[usize], classes: usize) -> DMatrix<f64> {
    let mut y = DMatrix::zeros(classes, labels.len());
    for (j, &l) in labels.iter().enumerate() {
        y[(l, j)] = 1.0;
    }
    y
}
