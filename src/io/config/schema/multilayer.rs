//! `kind = "learning"` for multilayer nets (docs/theory.md §10): `[network] layers`
//! with more than one layer above the input, a multilayer-only rule
//! (`lmser-derived`, `lmser-exact`) or image data (`dataset`, `images`) select this
//! schema; one-layer linear runs keep [`super::LearningConfig`].

use super::{ActivationName, KindName, OneOrMany, SolverSection};
use crate::dynamics::multilayer::MultiRule;
use serde::Deserialize;

/// A multilayer learning config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultilayerConfig {
    /// Run name (output goes to `runs/<name>/` by default).
    pub name: String,
    /// `"learning"`.
    pub kind: KindName,
    /// Master seed: weights, the train/test split and the minibatch order derive from it.
    #[serde(default)]
    pub seed: u64,
    /// Free text echoed in the summary.
    pub description: Option<String>,
    /// `[network]`: layer sizes and units.
    pub network: MultilayerNetwork,
    /// `[data]`: the sample set.
    pub data: MultilayerData,
    /// `[init]`: the initial weights.
    pub init: Option<MultilayerInit>,
    /// `[learning]`: rule, mode and their keys.
    pub learning: MultilayerLearning,
    /// `[solver]` (averaged mode integrates the ODE in W with it).
    pub solver: Option<SolverSection>,
}

fn logistic() -> OneOrMany<ActivationName> {
    OneOrMany::One(ActivationName::Logistic)
}

/// `[network]` of a multilayer run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultilayerNetwork {
    /// Layer sizes n_0 (input), n_1, ..., n_K.
    pub layers: Vec<usize>,
    /// `linear`, `logistic` (default) or `tanh`, once or one per layer 1..K.
    #[serde(default = "logistic")]
    pub activation: OneOrMany<ActivationName>,
    /// Gain beta of tanh units (default 1).
    pub beta: Option<f64>,
}

/// A data set shipped inside a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Builtin {
    /// The 8x8 handwritten digits (1797 images, 10 classes; smartcore).
    Digits,
}

/// `[data]` of a multilayer run: exactly one of `dataset`, `images` (+ `labels`),
/// `samples`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultilayerData {
    /// A built-in image set.
    pub dataset: Option<Builtin>,
    /// An IDX image file (raw or gzip), e.g. Fashion-MNIST's train-images-idx3-ubyte.gz.
    pub images: Option<String>,
    /// The IDX label file that goes with `images`.
    pub labels: Option<String>,
    /// A CSV file, one sample per row (no labels).
    pub samples: Option<String>,
    /// Fraction held out for testing (default 0.2 for images, 0 for samples).
    pub test_fraction: Option<f64>,
    /// Use only the first n training samples (after the seeded split).
    pub n_train: Option<usize>,
}

/// `[init]` of a multilayer run: exactly one of `weights`, `scale` (default scale 1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultilayerInit {
    /// Weight files W1.csv, ..., WK.csv (n_k rows, n_{k-1} columns), e.g. a trained run's.
    pub weights: Option<Vec<String>>,
    /// Entries of W_k i.i.d. N(0, scale^2 / n_{k-1}).
    pub scale: Option<f64>,
}

/// `learning.mode` of a multilayer run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MultilayerMode {
    /// tau_w dW/dt = the mean of the rule over the sample set at each settled state.
    #[default]
    Averaged,
    /// Settle a minibatch, then W += (eta / tau_w) dW; t advances by eta per step.
    Stochastic,
    /// The slides' two-phase scheme: settle each held sample (or batch), then one
    /// weight step W += (presentation / tau_w) dW.
    TwoPhase,
    /// Neurons and weights in one ODE, each sample (or batch) held for `presentation`.
    Coupled,
}

/// `[learning]` of a multilayer run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultilayerLearning {
    /// `lmser` (the slides' rule as printed, default), `lmser-derived` or `lmser-exact`.
    #[serde(default = "printed")]
    pub rule: MultiRule,
    /// `averaged` (default) or `stochastic`.
    #[serde(default)]
    pub mode: MultilayerMode,
    /// Time constant of the weights (default 1).
    pub tau_w: Option<f64>,
    /// End time.
    pub t_end: f64,
    /// Push the top layer's first `classes` units toward the one-hot label
    /// (supervised LMSER; needs labels).
    #[serde(default)]
    pub supervised: bool,
    /// Stochastic mode: step size (default 0.1).
    pub eta: Option<f64>,
    /// Stochastic mode: eta_k = eta / (1 + k / eta_decay) at step k.
    pub eta_decay: Option<f64>,
    /// Stochastic, two-phase and coupled modes: samples per step or held together
    /// (default 32 stochastic, 1 otherwise).
    pub batch: Option<usize>,
    /// Coupled mode: the neuron time constant, once or one per layer 1..K (default
    /// tau_w / 100).
    pub tau: Option<OneOrMany<f64>>,
    /// Two-phase and coupled modes: how long each sample is held (default 10 times
    /// the largest tau).
    pub presentation: Option<f64>,
}

fn printed() -> MultiRule {
    MultiRule::Lmser
}

/// What decides between the one-layer and the multilayer schema, read leniently.
#[derive(Debug, Default, Deserialize)]
pub(in crate::io::config) struct Route {
    #[serde(default)]
    network: RouteNetwork,
    #[serde(default)]
    learning: RouteLearning,
    #[serde(default)]
    data: RouteData,
}

#[derive(Debug, Default, Deserialize)]
struct RouteNetwork {
    #[serde(default)]
    layers: Vec<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
struct RouteLearning {
    rule: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RouteData {
    dataset: Option<toml::Value>,
    images: Option<toml::Value>,
}

impl Route {
    /// True when the config describes a multilayer run.
    pub(in crate::io::config) fn multilayer(&self) -> bool {
        self.network.layers.len() > 2
            || matches!(
                self.learning.rule.as_deref(),
                Some("lmser-derived" | "lmser-exact")
            )
            || self.data.dataset.is_some()
            || self.data.images.is_some()
    }
}

/// `kind = "comparison"`: the slides' table, every model on the same data, layer
/// sizes, minibatches and optimizer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonConfig {
    /// Run name (output goes to `runs/<name>/` by default).
    pub name: String,
    /// `"comparison"`.
    pub kind: KindName,
    /// Seed of the train/test split.
    #[serde(default)]
    pub seed: u64,
    /// Free text echoed in the summary.
    pub description: Option<String>,
    /// `[network]`: `layers` only (every model has logistic units).
    pub network: ComparisonNetwork,
    /// `[data]`: labelled images (`dataset` or `images` + `labels`).
    pub data: MultilayerData,
    /// `[comparison]`: models, seeds, budget.
    #[serde(default)]
    pub comparison: ComparisonSection,
}

/// `[network]` of a comparison.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonNetwork {
    /// Layer sizes n_0 (input), n_1, ..., n_K, the same for every model.
    pub layers: Vec<usize>,
}

/// `[comparison]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonSection {
    /// Table names of the models (default all six).
    pub models: Option<Vec<String>>,
    /// Seeds of the model runs (default [1, 2, 3]).
    pub seeds: Option<Vec<u64>>,
    /// Iteration counts measured (default [500, 5000, 20000]).
    pub checkpoints: Option<Vec<usize>>,
    /// Minibatch size (default 32).
    pub batch: Option<usize>,
    /// Adam's step size (default 1e-3).
    pub eta: Option<f64>,
}
