//! Modes of a trained supervised LMSER net (the slides' "applications",
//! docs/theory.md §10.8), each with an image grid:
//! - reconstruction: originals beside u_0 = W_1^T z_1*;
//! - generation (imaginary recall): the top's label units clamped to a one-hot class,
//!   every input unit free (z_0 = clip(W_1^T z_1) to [0, 1], from the mean image), settled;
//! - association recall: the lower half of each test image hidden (free, from the mean
//!   image) and the upper half clamped; the completion's error on the hidden half
//!   against the mean image's;
//! - attention: accuracy on noisy test inputs read from the settled top (with the
//!   top-down signal) and from the feed-forward pass (without), with the same two on
//!   clean inputs as the control.

use super::{LmserModel, Split, TableModel, TableSpec, accuracy, train_model};
use crate::dynamics::multilayer::{Clamp, SettleOptions, apply_s, settle, settle_clamped};
use crate::error::Result;
use crate::io::plot::image_grid;
use nalgebra::DMatrix;
use serde::Serialize;
use std::path::Path;

/// The measured results of the recall modes for one seed.
#[derive(Debug, Clone, Serialize)]
pub struct RecallReport {
    /// Seed of the trained net.
    pub seed: u64,
    /// MSE per pixel of the completed (hidden) half, over the test set.
    pub association_error: f64,
    /// MSE per pixel of the mean training image on the hidden half.
    pub mean_image_error: f64,
    /// Test accuracy on noisy inputs read from the settled top (top-down on).
    pub noisy_accuracy_settled: f64,
    /// Test accuracy on the same noisy inputs read from the feed-forward pass.
    pub noisy_accuracy_feedforward: f64,
    /// The control: test accuracy on clean inputs read from the settled top.
    pub clean_accuracy_settled: f64,
    /// The control: test accuracy on clean inputs read from the feed-forward pass.
    pub clean_accuracy_feedforward: f64,
}

impl RecallReport {
    /// What the top-down signal adds on noisy inputs beyond what it adds on clean
    /// ones (the net is trained on settled states, so the settled readout gains on
    /// clean inputs too).
    pub fn attention_gain(&self) -> f64 {
        (self.noisy_accuracy_settled - self.noisy_accuracy_feedforward)
            - (self.clean_accuracy_settled - self.clean_accuracy_feedforward)
    }
}

/// A trained supervised net with what the modes share: the mean training image
/// (the start of every free input unit), the free lower half and the settling rule.
struct Trained {
    net: LmserModel,
    mean: DMatrix<f64>,
    lower: Vec<bool>,
    opts: SettleOptions,
}

impl Trained {
    /// `x` with its lower half replaced by the mean image.
    fn masked(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
        let mut m = x.clone();
        for (i, _) in self.lower.iter().enumerate().filter(|(_, f)| **f) {
            m.row_mut(i).fill(self.mean[(i, 0)]);
        }
        m
    }

    /// The lower half completed by settling with the upper half clamped.
    fn complete(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>> {
        let clamp = Clamp {
            free_input: Some(&self.lower),
            top: None,
        };
        let s = settle_clamped(
            self.net.stack(),
            self.net.weights(),
            &self.masked(x),
            clamp,
            self.opts,
        )?;
        Ok(s.z[0].clone())
    }

    /// One image per class: its label unit clamped, every input free.
    fn generate(&self, classes: usize) -> Result<DMatrix<f64>> {
        let n0 = self.mean.nrows();
        let one_hot = DMatrix::from_fn(classes, classes, |i, j| f64::from(u8::from(i == j)));
        let starts = DMatrix::from_fn(n0, classes, |i, _| self.mean[(i, 0)]);
        let free = vec![true; n0];
        let clamp = Clamp {
            free_input: Some(&free),
            top: Some(&one_hot),
        };
        let s = settle_clamped(
            self.net.stack(),
            self.net.weights(),
            &starts,
            clamp,
            self.opts,
        )?;
        Ok(s.z[0].clone())
    }

    /// Class scores of the settled top (with the top-down signal).
    fn settled_scores(&self, x: &DMatrix<f64>, classes: usize) -> Result<DMatrix<f64>> {
        let s = settle(self.net.stack(), self.net.weights(), x, self.opts)?;
        Ok(s.top().rows(0, classes).into_owned())
    }

    /// Class scores of the feed-forward pass z_k = s(W_k z_{k-1}) (no top-down signal).
    fn feedforward_scores(&self, x: &DMatrix<f64>, classes: usize) -> DMatrix<f64> {
        let mut z = x.clone();
        for (k, wk) in self.net.weights().iter().enumerate() {
            z = apply_s(self.net.stack().activation(k + 1), &(wk * z));
        }
        z.rows(0, classes).into_owned()
    }
}

/// Trains a `sup-lmser` net for `iterations` and measures every mode; with `grids`,
/// writes `recall_*.png` and the trained weights `W1.csv` .. `WK.csv` there (side =
/// image height x width).
pub fn recall_modes(
    train: &Split,
    test: &Split,
    spec: &TableSpec,
    iterations: usize,
    seed: u64,
    side: (usize, usize),
    grids: Option<&Path>,
) -> Result<RecallReport> {
    let mut net = LmserModel::new(&spec.sizes, seed, true);
    train_model(&mut net, seed, iterations, train, spec)?;
    let n0 = spec.sizes[0];
    let t = Trained {
        net,
        mean: DMatrix::from_fn(n0, 1, |i, _| train.x.row(i).mean()),
        lower: (0..n0).map(|i| i >= n0 / 2).collect(),
        opts: SettleOptions {
            tol: 1e-10,
            ..SettleOptions::default()
        },
    };
    // Association: MSE per pixel on the hidden half, completion against mean image.
    let hidden = |m: &DMatrix<f64>| m.rows(n0 / 2, n0 - n0 / 2).into_owned();
    let truth = hidden(&test.x);
    let pixels = truth.len() as f64;
    let association_error = (hidden(&t.complete(&test.x)?) - &truth).norm_squared() / pixels;
    let mean_image_error = (hidden(&t.masked(&test.x)) - &truth).norm_squared() / pixels;
    // Attention: noise of standard deviation 0.3, clipped to [0, 1].
    let mut rng = crate::data::rng(seed, super::stream::GIBBS);
    let noisy = test
        .x
        .map(|v| (v + 0.3 * crate::data::normal(&mut rng)).clamp(0.0, 1.0));
    let c = spec.classes;
    let report = RecallReport {
        seed,
        association_error,
        mean_image_error,
        noisy_accuracy_settled: accuracy(&t.settled_scores(&noisy, c)?, &test.labels),
        noisy_accuracy_feedforward: accuracy(&t.feedforward_scores(&noisy, c), &test.labels),
        clean_accuracy_settled: accuracy(&t.settled_scores(&test.x, c)?, &test.labels),
        clean_accuracy_feedforward: accuracy(&t.feedforward_scores(&test.x, c), &test.labels),
    };
    if let Some(dir) = grids {
        write_grids(&t, test, spec.classes, side, dir)?;
    }
    Ok(report)
}

/// The trained weights (loadable with `lmser run CONFIG --from DIR`) and the three
/// image grids, on the first test image of each class.
fn write_grids(
    t: &Trained,
    test: &Split,
    classes: usize,
    side: (usize, usize),
    dir: &Path,
) -> Result<()> {
    for (k, wk) in t.net.weights().iter().enumerate() {
        crate::io::files::write_matrix(&dir.join(format!("W{}.csv", k + 1)), wk)?;
    }
    let firsts: Vec<usize> = (0..classes)
        .filter_map(|c| test.labels.iter().position(|&l| l == c))
        .collect();
    let shown = test.x.select_columns(&firsts);
    let cols = |m: &DMatrix<f64>| -> Vec<Vec<f64>> {
        m.column_iter()
            .map(|c| c.iter().copied().collect())
            .collect()
    };
    image_grid(
        &dir.join("recall_reconstruction.png"),
        "reconstruction: originals and u0 = W1^T z1*",
        &[
            ("original".into(), cols(&shown)),
            ("reconstruction".into(), cols(&t.net.reconstruct(&shown))),
        ],
        side,
    )?;
    image_grid(
        &dir.join("recall_generation.png"),
        "generation: label unit clamped, input free (one image per class)",
        &[("class 0..9".into(), cols(&t.generate(classes)?))],
        side,
    )?;
    image_grid(
        &dir.join("recall_association.png"),
        "association: lower half hidden, completed by settling",
        &[
            ("original".into(), cols(&shown)),
            ("lower half = mean image".into(), cols(&t.masked(&shown))),
            ("completion".into(), cols(&t.complete(&shown)?)),
        ],
        side,
    )
}
