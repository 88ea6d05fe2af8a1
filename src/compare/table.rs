//! The runner of the comparison table: every model of a list, for every seed, trained
//! by the same minibatch iterations with the same optimizer settings, and measured at
//! each checkpoint (default 500 / 5000 / 20000 iterations).
//!
//! One run (model, seed) owns its model, its [`Optimizer`] and its random streams
//! ([`super::stream`]): minibatches come in epochs, each a fresh shuffle of the train
//! set cut into batches of B columns (a last partial batch is skipped), so the
//! results do not depend on the number of threads (runs go in parallel with rayon).
//! One iteration is one call of [`TableModel::step`] on one minibatch.
//!
//! At each checkpoint: the reconstruction error PER PIXEL (mean over samples and
//! pixels of `(x - x̂)^2`, [`super::recon_error`]) on the train and test sets, the
//! accuracy (the model's own scores if it has them, else the ridge readout
//! [`Readout`] fitted on the train codes), and the training wall time so far
//! (evaluation excluded). A learning curve records the test error at about 30
//! log-spaced iteration counts. Models whose schedule depends on the budget (the
//! greedy [`RbmStack`]) are trained afresh for each checkpoint and curve point, with
//! that count as the budget ([`TableModel::budgeted`]).

use super::{
    Autoencoder, BiAutoencoder, Optimizer, OptimizerSpec, RbmStack, Readout, TableModel, accuracy,
    one_hot, readout::LAMBDA, recon_error, stream,
};
use crate::data::random::rng;
use crate::error::{Error, Result};
use nalgebra::DMatrix;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use std::time::Instant;

/// The columns of `table.csv`, in order.
pub const TABLE_COLUMNS: [&str; 8] = [
    "model",
    "iterations",
    "seed",
    "recon_error_train",
    "recon_error_test",
    "accuracy_train",
    "accuracy_test",
    "wall_s",
];

/// The columns of `curves.csv`, in order.
pub const CURVE_COLUMNS: [&str; 4] = ["model", "seed", "iterations", "recon_error_test"];

/// The models of [`baseline_model`].
pub const BASELINES: &[&str] = &[Autoencoder::NAME, BiAutoencoder::NAME, RbmStack::NAME];

/// Every model of the table: the baselines and the LMSER models.
pub const MODELS: &[&str] = &[
    Autoencoder::NAME,
    BiAutoencoder::NAME,
    RbmStack::NAME,
    super::LmserModel::UNSUPERVISED,
    super::LmserModel::SUPERVISED,
    super::SkipLmser::NAME,
];

/// The factory of every model in [`MODELS`].
pub fn table_model(
    name: &str,
    sizes: &[usize],
    seed: u64,
    budget: usize,
) -> Result<Box<dyn TableModel>> {
    Ok(match name {
        super::LmserModel::UNSUPERVISED => Box::new(super::LmserModel::new(sizes, seed, false)),
        super::LmserModel::SUPERVISED => Box::new(super::LmserModel::new(sizes, seed, true)),
        super::SkipLmser::NAME => Box::new(super::SkipLmser::new(sizes, seed)),
        _ => return baseline_model(name, sizes, seed, budget),
    })
}

/// Builds a model from its table name, layer sizes `[n0, ..., nK]`, seed and the
/// iteration budget of the run (the last checkpoint; only schedules that depend on it,
/// like the greedy [`RbmStack`], use it).
pub type ModelFactory = dyn Fn(&str, &[usize], u64, usize) -> Result<Box<dyn TableModel>> + Sync;

/// The factory of the baselines: "autoencoder", "bi-autoencoder", "rbm-stack"
/// (CD-1); any other name is an error listing the valid ones.
pub fn baseline_model(
    name: &str,
    sizes: &[usize],
    seed: u64,
    budget: usize,
) -> Result<Box<dyn TableModel>> {
    Ok(match name {
        Autoencoder::NAME => Box::new(Autoencoder::new(sizes, seed)),
        BiAutoencoder::NAME => Box::new(BiAutoencoder::new(sizes, seed)),
        RbmStack::NAME => Box::new(RbmStack::new(sizes, seed, budget, 1)),
        _ => {
            return Err(Error::config(
                "compare::baseline_model",
                "models",
                format!("unknown model '{name}'; valid names: {}", MODELS.join(", ")),
            ));
        }
    })
}

/// A data set: samples as columns (`n0 x N`, pixels in [0, 1]) and their labels.
#[derive(Debug, Clone)]
pub struct Split {
    /// Samples, one per column.
    pub x: DMatrix<f64>,
    /// Class of each column (`< classes`).
    pub labels: Vec<usize>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Layer sizes `[n0, ..., nK]`.
    pub sizes: Vec<usize>,
    /// Number of classes of the labels.
    pub classes: usize,
    /// Table names of the models.
    pub models: Vec<String>,
    /// Seeds, one run per model and seed.
    pub seeds: Vec<u64>,
    /// Iteration counts at which rows are measured, increasing (default 500, 5000,
    /// 20000); the last is the budget of a run.
    pub checkpoints: Vec<usize>,
    /// Minibatch size B (default 32).
    pub batch: usize,
    /// Optimizer of every run (default Adam, eta 1e-3).
    pub optimizer: OptimizerSpec,
    /// Points of the learning curve (default 30, log-spaced).
    pub curve_points: usize,
}

impl TableSpec {
    /// Defaults for layer sizes `sizes`, `classes` classes and the baseline models,
    /// seeds 1, 2, 3.
    pub fn new(sizes: Vec<usize>, classes: usize) -> Self {
        TableSpec {
            sizes,
            classes,
            models: BASELINES.iter().map(|s| s.to_string()).collect(),
            seeds: vec![1, 2, 3],
            checkpoints: vec![500, 5000, 20000],
            batch: 32,
            optimizer: OptimizerSpec::default(),
            curve_points: 30,
        }
    }
}

/// One row of `table.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Table name of the model.
    pub model: String,
    /// Iterations trained.
    pub iterations: usize,
    /// Seed of the run.
    pub seed: u64,
    /// Mean squared error per pixel on the train set.
    pub recon_error_train: f64,
    /// Mean squared error per pixel on the test set.
    pub recon_error_test: f64,
    /// Accuracy on the train set (NaN if the readout could not be fitted).
    pub accuracy_train: f64,
    /// Accuracy on the test set (NaN if the readout could not be fitted).
    pub accuracy_test: f64,
    /// Training wall time so far, seconds (evaluation excluded; for a budgeted model,
    /// the time of the fresh run that produced this row).
    pub wall_s: f64,
}

/// One point of `curves.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePoint {
    /// Table name of the model.
    pub model: String,
    /// Seed of the run.
    pub seed: u64,
    /// Iterations trained.
    pub iterations: usize,
    /// Mean squared error per pixel on the test set.
    pub recon_error_test: f64,
}

/// Everything a table run measured, in the order model, seed, iterations.
#[derive(Debug, Clone, Default)]
pub struct TableOutput {
    /// Checkpoint rows.
    pub rows: Vec<Row>,
    /// Learning-curve points.
    pub curves: Vec<CurvePoint>,
}

/// About `points` log-spaced iteration counts from 1 to `last` (rounded, distinct).
pub fn curve_iterations(last: usize, points: usize) -> Vec<usize> {
    let last = last.max(1);
    let p = points.max(2);
    let mut out: Vec<usize> = (0..p)
        .map(|i| {
            ((last as f64).ln() * i as f64 / (p - 1) as f64)
                .exp()
                .round() as usize
        })
        .map(|t| t.clamp(1, last))
        .collect();
    out.dedup();
    out
}

fn check(train: &Split, test: &Split, spec: &TableSpec) -> Result<()> {
    let fail = |field: &str, m: String| Err(Error::config("compare::TableSpec", field, m));
    let n0 = spec.sizes.first().copied().unwrap_or(0);
    if spec.sizes.len() < 2 || spec.sizes.contains(&0) {
        return fail(
            "sizes",
            format!("{:?}: need [n0, ..., nK], K >= 1, all > 0", spec.sizes),
        );
    }
    for (name, s) in [("train", train), ("test", test)] {
        if s.x.nrows() != n0 || s.x.ncols() != s.labels.len() || s.x.ncols() == 0 {
            return fail(
                name,
                format!(
                    "{} x {} samples with {} labels; need n0 = {n0} rows, one label per column, at least one",
                    s.x.nrows(),
                    s.x.ncols(),
                    s.labels.len()
                ),
            );
        }
        if let Some(l) = s.labels.iter().find(|&&l| l >= spec.classes) {
            return fail(
                name,
                format!("label {l} is not below classes = {}", spec.classes),
            );
        }
    }
    if spec.checkpoints.is_empty()
        || spec.checkpoints[0] == 0
        || spec.checkpoints.windows(2).any(|w| w[0] >= w[1])
    {
        return fail(
            "checkpoints",
            format!("{:?}: need increasing counts > 0", spec.checkpoints),
        );
    }
    if spec.batch == 0 || spec.batch > train.x.ncols() {
        return fail(
            "batch",
            format!("{}: need 1..={} (train size)", spec.batch, train.x.ncols()),
        );
    }
    if spec.models.is_empty() || spec.seeds.is_empty() {
        return fail("models", "need at least one model and one seed".into());
    }
    Ok(())
}

/// Minibatches in epochs of shuffled train indices.
struct Batches {
    order: Vec<usize>,
    pos: usize,
    size: usize,
    rng: rand_chacha::ChaCha8Rng,
}

impl Batches {
    fn new(n: usize, size: usize, seed: u64) -> Self {
        Batches {
            order: (0..n).collect(),
            pos: n,
            size,
            rng: rng(seed, stream::BATCHES),
        }
    }

    fn next(&mut self) -> &[usize] {
        if self.pos + self.size > self.order.len() {
            self.order.shuffle(&mut self.rng);
            self.pos = 0;
        }
        self.pos += self.size;
        &self.order[self.pos - self.size..self.pos]
    }
}

/// Trains `model` for `iterations` minibatches of `spec.batch` drawn as the table
/// draws them for `seed`, with a fresh optimizer of `spec`.
pub fn train_model(
    model: &mut dyn TableModel,
    seed: u64,
    iterations: usize,
    train: &Split,
    spec: &TableSpec,
) -> Result<()> {
    let mut opt = Optimizer::new(spec.optimizer);
    let mut batches = Batches::new(train.x.ncols(), spec.batch, seed);
    for _ in 0..iterations {
        let idx = batches.next();
        let x = train.x.select_columns(idx);
        let labels: Vec<usize> = idx.iter().map(|&j| train.labels[j]).collect();
        model.step(&x, &one_hot(&labels, spec.classes), &mut opt)?;
    }
    Ok(())
}

/// Accuracies on train and test: the model's own scores, else the ridge readout of
/// its codes fitted on the train set (NaN if that fails, e.g. non-finite codes).
fn accuracies(m: &dyn TableModel, train: &Split, test: &Split, classes: usize) -> (f64, f64) {
    if let (Some(a), Some(b)) = (m.scores(&train.x), m.scores(&test.x)) {
        return (accuracy(&a, &train.labels), accuracy(&b, &test.labels));
    }
    let code = m.code(&train.x);
    match Readout::fit(&code, &train.labels, classes, LAMBDA) {
        Ok(r) => (
            accuracy(&r.scores(&code), &train.labels),
            accuracy(&r.scores(&m.code(&test.x)), &test.labels),
        ),
        Err(_) => (f64::NAN, f64::NAN),
    }
}

/// A model in training: its optimizer, minibatch stream, iterations and training
/// wall time so far.
struct Run {
    model: Box<dyn TableModel>,
    opt: Optimizer,
    batches: Batches,
    t: usize,
    wall: f64,
}

impl Run {
    /// A fresh model `name` of seed `seed` with iteration budget `budget`.
    fn start(
        name: &str,
        seed: u64,
        budget: usize,
        n: usize,
        spec: &TableSpec,
        factory: &ModelFactory,
    ) -> Result<Run> {
        Ok(Run {
            model: factory(name, &spec.sizes, seed, budget)?,
            opt: Optimizer::new(spec.optimizer),
            batches: Batches::new(n, spec.batch, seed),
            t: 0,
            wall: 0.0,
        })
    }

    /// Trains until `stop` iterations.
    fn advance(&mut self, stop: usize, train: &Split, classes: usize) -> Result<()> {
        let start = Instant::now();
        while self.t < stop {
            let idx = self.batches.next();
            let x = train.x.select_columns(idx);
            let labels: Vec<usize> = idx.iter().map(|&j| train.labels[j]).collect();
            let name = self.model.name().to_string();
            self.model
                .step(&x, &one_hot(&labels, classes), &mut self.opt)
                .map_err(|e| {
                    Error::config(
                        "comparison",
                        "models",
                        format!("{name} failed at iteration {}: {e}", self.t + 1),
                    )
                })?;
            self.t += 1;
        }
        self.wall += start.elapsed().as_secs_f64();
        Ok(())
    }
}

/// One run: model `name` with seed `seed`, to the last checkpoint, measured at every
/// checkpoint and curve point. A model whose schedule depends on its budget
/// ([`TableModel::budgeted`]) is trained afresh for every such point with that point
/// as its budget (same seed, same minibatches), so each row is a model GIVEN that
/// many iterations.
fn run_one(
    name: &str,
    seed: u64,
    train: &Split,
    test: &Split,
    spec: &TableSpec,
    factory: &ModelFactory,
) -> Result<TableOutput> {
    let last = *spec.checkpoints.last().expect("checked");
    let n = train.x.ncols();
    let mut run = Run::start(name, seed, last, n, spec, factory)?;
    let budgeted = run.model.budgeted();
    let curve = curve_iterations(last, spec.curve_points);
    let mut stops: Vec<usize> = curve.iter().chain(&spec.checkpoints).copied().collect();
    stops.sort_unstable();
    stops.dedup();
    let mut out = TableOutput::default();
    for stop in stops {
        let mut fresh;
        let r = if budgeted && stop < last {
            fresh = Run::start(name, seed, stop, n, spec, factory)?;
            &mut fresh
        } else {
            &mut run
        };
        r.advance(stop, train, spec.classes)?;
        let model = r.model.as_ref();
        let test_err = recon_error(model, &test.x);
        if curve.contains(&stop) {
            out.curves.push(CurvePoint {
                model: name.to_string(),
                seed,
                iterations: stop,
                recon_error_test: test_err,
            });
        }
        if spec.checkpoints.contains(&stop) {
            let (accuracy_train, accuracy_test) = accuracies(model, train, test, spec.classes);
            out.rows.push(Row {
                model: name.to_string(),
                iterations: stop,
                seed,
                recon_error_train: recon_error(model, &train.x),
                recon_error_test: test_err,
                accuracy_train,
                accuracy_test,
                wall_s: r.wall,
            });
        }
    }
    Ok(out)
}

/// Runs every (model, seed) of `spec` (in parallel) on `train`, measuring on `train`
/// and `test`; models come from `factory` (e.g. [`baseline_model`]).
pub fn run_table(
    train: &Split,
    test: &Split,
    spec: &TableSpec,
    factory: &ModelFactory,
) -> Result<TableOutput> {
    check(train, test, spec)?;
    let jobs: Vec<(&str, u64)> = spec
        .models
        .iter()
        .flat_map(|m| spec.seeds.iter().map(move |&s| (m.as_str(), s)))
        .collect();
    let runs: Vec<TableOutput> = jobs
        .par_iter()
        .map(|&(m, s)| run_one(m, s, train, test, spec, factory))
        .collect::<Result<_>>()?;
    let mut out = TableOutput::default();
    for r in runs {
        out.rows.extend(r.rows);
        out.curves.extend(r.curves);
    }
    Ok(out)
}

#[path = "table_out.rs"]
mod table_out;
pub use table_out::{mean_std, summary_table, write_outputs};

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
