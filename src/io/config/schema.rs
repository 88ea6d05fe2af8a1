//! The config schema as types: one struct per section, one enum per choice, and one
//! struct per experiment kind holding exactly the sections that kind reads. Every
//! struct denies unknown keys, so a section or key a kind (or a learning mode) does not
//! use fails to parse, and the choice enums let serde list the valid names.

use crate::data::Distribution;
use crate::solver::Method;
use serde::Deserialize;

/// `kind`: which experiment a config describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KindName {
    /// Neuron dynamics of a fixed net (Theorem 1).
    Perceptron,
    /// Weight dynamics of a one-layer net.
    Learning,
    /// Critical sets of the one-layer landscape (Theorem 2).
    Landscape,
    /// The slides' table: LMSER against autoencoders and RBMs on images.
    Comparison,
}

impl KindName {
    /// Config name.
    pub fn name(self) -> &'static str {
        match self {
            KindName::Perceptron => "perceptron",
            KindName::Learning => "learning",
            KindName::Landscape => "landscape",
            KindName::Comparison => "comparison",
        }
    }
}

/// A parsed config: one variant per `kind`.
#[derive(Debug, Clone)]
pub enum Experiment {
    /// `kind = "perceptron"`.
    Perceptron(PerceptronConfig),
    /// `kind = "learning"`.
    Learning(LearningConfig),
    /// `kind = "landscape"`.
    Landscape(LandscapeConfig),
    /// `kind = "learning"` with a multilayer net, rule or image data.
    Multilayer(MultilayerConfig),
    /// `kind = "comparison"`.
    Comparison(ComparisonConfig),
}

impl Experiment {
    /// The variant's kind.
    pub fn kind(&self) -> KindName {
        match self {
            Experiment::Perceptron(_) => KindName::Perceptron,
            Experiment::Learning(_) => KindName::Learning,
            Experiment::Landscape(_) => KindName::Landscape,
            Experiment::Multilayer(_) => KindName::Learning,
            Experiment::Comparison(_) => KindName::Comparison,
        }
    }

    /// `name`.
    pub fn name(&self) -> &str {
        match self {
            Experiment::Perceptron(c) => &c.name,
            Experiment::Learning(c) => &c.name,
            Experiment::Landscape(c) => &c.name,
            Experiment::Multilayer(c) => &c.name,
            Experiment::Comparison(c) => &c.name,
        }
    }

    /// `seed`.
    pub fn seed(&self) -> u64 {
        match self {
            Experiment::Perceptron(c) => c.seed,
            Experiment::Learning(c) => c.seed,
            Experiment::Landscape(c) => c.seed,
            Experiment::Multilayer(c) => c.seed,
            Experiment::Comparison(c) => c.seed,
        }
    }

    /// `[solver]`, if given.
    pub fn solver(&self) -> Option<&SolverSection> {
        match self {
            Experiment::Perceptron(c) => c.solver.as_ref(),
            Experiment::Learning(c) => c.solver.as_ref(),
            Experiment::Landscape(c) => c.solver.as_ref(),
            Experiment::Multilayer(c) => c.solver.as_ref(),
            Experiment::Comparison(_) => None,
        }
    }
}

/// `kind = "perceptron"`: the neuron dynamics of a fixed net with the input clamped.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerceptronConfig {
    /// Run name (output goes to `runs/<name>/` by default).
    pub name: String,
    /// `"perceptron"`.
    pub kind: KindName,
    /// Master seed; every random stream of the run derives from it.
    #[serde(default)]
    pub seed: u64,
    /// Free text shown in the summary.
    pub description: Option<String>,
    /// `[network]`: the fixed net.
    pub network: NetworkSection,
    /// `[input]`: the clamped input x.
    pub input: Option<InputSection>,
    /// `[initial]`: the initial activities (default random).
    pub initial: Option<InitialSection>,
    /// `[solver]`.
    pub solver: Option<SolverSection>,
}

/// `kind = "learning"`: the weight dynamics of a one-layer net. `L` is the type of
/// `[learning]`: [`LearningSection`] once parsed; while parsing, the table type of
/// the chosen mode (see `Config::parse`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearningConfig<L = LearningSection> {
    /// Run name (output goes to `runs/<name>/` by default).
    pub name: String,
    /// `"learning"`.
    pub kind: KindName,
    /// Master seed; every random stream of the run derives from it.
    #[serde(default)]
    pub seed: u64,
    /// Free text echoed in the summary.
    pub description: Option<String>,
    /// `[network]`: sizes [n0, n1] and the units.
    pub network: LearningNetwork,
    /// `[data]`: the input distribution.
    pub data: Option<DataSection>,
    /// `[learning]`: rule, mode (with its keys), tau_w, t_end.
    pub learning: Option<L>,
    /// `[init]`: W0.
    pub init: Option<InitSection>,
    /// `[solver]`.
    pub solver: Option<SolverSection>,
}

impl<L> LearningConfig<L> {
    /// The same config with `[learning]` converted.
    pub(super) fn map_learning<M>(self, f: impl FnOnce(L) -> M) -> LearningConfig<M> {
        LearningConfig {
            name: self.name,
            kind: self.kind,
            seed: self.seed,
            description: self.description,
            network: self.network,
            data: self.data,
            learning: self.learning.map(f),
            init: self.init,
            solver: self.solver,
        }
    }
}

/// `kind = "landscape"`: the critical sets of the one-layer LMSER landscape.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandscapeConfig {
    /// Run name (output goes to `runs/<name>/` by default).
    pub name: String,
    /// `"landscape"`.
    pub kind: KindName,
    /// Master seed (the random rotation of `eigenvalues`).
    #[serde(default)]
    pub seed: u64,
    /// Free text echoed in the summary.
    pub description: Option<String>,
    /// Only `layers` is read; the other keys parse as for perceptron runs and are
    /// ignored (landscape configs with them were valid before the typed schema).
    pub network: NetworkSection,
    /// `[data]`: Sigma.
    pub data: Option<LandscapeData>,
    /// `[landscape]`: the Hessian's zero tolerance.
    pub landscape: Option<LandscapeSection>,
    /// Accepted and ignored: the landscape is enumerated, not integrated (configs
    /// with a `[solver]` were valid before the typed schema and one ships with one).
    pub solver: Option<SolverSection>,
}

/// A value given once for all layers or as one value per layer.
#[derive(Debug, Clone)]
pub enum OneOrMany<T> {
    /// The same value for every layer.
    One(T),
    /// One value per layer 1..K.
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    /// Expands to `n` values; `None` when a list has the wrong length.
    pub fn expand(&self, n: usize) -> Option<Vec<T>> {
        match self {
            OneOrMany::One(v) => Some(vec![v.clone(); n]),
            OneOrMany::Many(v) if v.len() == n => Some(v.clone()),
            OneOrMany::Many(_) => None,
        }
    }

    /// Every value given.
    pub fn values(&self) -> &[T] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(v) => v,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(OneOrManyVisitor(std::marker::PhantomData))
    }
}

/// Hands a list to `Vec<T>` and anything else to `T`, so their own errors (e.g. the
/// valid names of a choice) reach the message.
struct OneOrManyVisitor<T>(std::marker::PhantomData<T>);

impl<T> OneOrManyVisitor<T> {
    fn one<'de, E, V>(v: V) -> std::result::Result<OneOrMany<T>, E>
    where
        T: Deserialize<'de>,
        E: serde::de::Error,
        V: serde::de::IntoDeserializer<'de, E>,
    {
        T::deserialize(v.into_deserializer())
            .map(OneOrMany::One)
            .map_err(|e| {
                let e = e.to_string();
                E::custom(format!(
                    "{} (give one value or an array of them, one per layer)",
                    e.trim()
                ))
            })
    }
}

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for OneOrManyVisitor<T> {
    type Value = OneOrMany<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("one value or an array of them, one per layer")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(OneOrMany::Many)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Self::one(v.to_string())
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
        Self::one(v)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Self::one(v)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Self::one(v)
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Self::one(v)
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Self::one(v)
    }
}

/// A vector given inline or as a CSV file.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum VectorSource {
    /// Values in the config.
    Inline(Vec<f64>),
    /// A CSV file (one row or one column), relative to the config.
    File(String),
}

/// Unit activations by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivationName {
    /// s(v) = v.
    Linear,
    /// s(v) = 1 / (1 + e^-v).
    Logistic,
    /// s(v) = tanh(beta v).
    Tanh,
    /// z_j = a_j y_j (gains in `network.gains`).
    Amplified,
}

fn linear() -> OneOrMany<ActivationName> {
    OneOrMany::One(ActivationName::Linear)
}

fn one() -> OneOrMany<f64> {
    OneOrMany::One(1.0)
}

/// `[network]` of perceptron runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// Layer sizes n_0 (input), n_1, ..., n_K.
    pub layers: Vec<usize>,
    /// One activation for all layers 1..K or one per layer (default linear).
    #[serde(default = "linear")]
    pub activation: OneOrMany<ActivationName>,
    /// Gain beta of tanh units (default 1).
    pub beta: Option<f64>,
    /// Gains a_1 > ... > a_n > 0 of amplified units (one per unit).
    pub gains: Option<Vec<f64>>,
    /// Time constant(s) tau > 0, one for all layers or one per layer (default 1).
    #[serde(default = "one")]
    pub tau: OneOrMany<f64>,
    /// Weight files W_1..W_K (n_k rows, n_{k-1} columns, no header).
    pub weights: Option<Vec<String>>,
    /// Random weights instead of files.
    pub init: Option<WeightInit>,
    /// Clamp the top layer to this label (supervised mode).
    pub label: Option<VectorSource>,
}

/// `[network]` of learning runs: one layer of linear or tanh units; W0 comes from
/// `[init]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearningNetwork {
    /// [n0, n1].
    pub layers: Vec<usize>,
    /// "linear" (default) or "tanh".
    #[serde(default = "linear")]
    pub activation: OneOrMany<ActivationName>,
    /// Gain beta of tanh units (default 1).
    pub beta: Option<f64>,
    /// Accepted and ignored (valid before the typed schema): the neuron time
    /// constant of learning runs is `learning.tau`.
    pub tau: Option<OneOrMany<f64>>,
    /// Accepted and ignored (valid before the typed schema): learning runs amplify
    /// with `learning.amplification`.
    pub gains: Option<Vec<f64>>,
}

/// `init = { scale = s }`: entries of W_k i.i.d. normal with standard deviation
/// s / sqrt(n_{k-1}).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightInit {
    /// Standard deviation times sqrt(n_{k-1}) of the entries of W_k (> 0).
    pub scale: f64,
}

/// `[input]`: the clamped input x, exactly one of `x`, `scale`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSection {
    /// Inline values or a CSV file (one row or one column).
    pub x: Option<VectorSource>,
    /// Random input: entries i.i.d. normal with this standard deviation.
    pub scale: Option<f64>,
}

/// `[initial]`: the initial neuron state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitialSection {
    /// "random" (uniform over the activation's range, (-1, 1) for linear units),
    /// "zero", "feedforward", inline values or a CSV file.
    pub z: VectorSource,
}

/// `[solver]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverSection {
    /// Default dopri5; coupled learning picks one by stiffness when not given.
    pub method: Option<Method>,
    /// Relative tolerance of the adaptive methods (default 1e-6).
    pub rtol: Option<f64>,
    /// Absolute tolerance of the adaptive methods (default 1e-9).
    pub atol: Option<f64>,
    /// End time (learning runs take it from `[learning]`).
    pub t_end: Option<f64>,
    /// Interval between output rows (default t_end / 200, learning t_end / 500).
    pub output_dt: Option<f64>,
    /// RK4 step.
    pub step: Option<f64>,
    /// Step limit per output interval (default 1e6).
    pub max_steps: Option<u32>,
    /// Stop once ||dz/dt|| falls below this.
    pub steady_tol: Option<f64>,
    /// |state| beyond this counts as divergence.
    pub divergence_bound: Option<f64>,
    /// Wall-clock seconds between checkpoints (default 60; 0 = at every output).
    pub checkpoint_interval: Option<f64>,
}

/// `[data]` of learning runs: exactly one of `eigenvalues`, `covariance`, `samples`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Zero-mean data with these covariance eigenvalues (descending, > 0).
    pub eigenvalues: Option<Vec<f64>>,
    /// Rotate the eigenbasis by a seeded random orthogonal matrix (default true).
    pub rotation: Option<bool>,
    /// Shape of the unit-variance sources (default gaussian).
    pub distribution: Option<Distribution>,
    /// A covariance matrix file (n0 x n0, symmetric, positive semi-definite).
    pub covariance: Option<String>,
    /// A data file, rows = samples; Sigma = X^T X / N.
    pub samples: Option<String>,
    /// Size of the fixed sample set averaged over by nonlinear (tanh) units.
    pub n_samples: Option<usize>,
}

/// `[data]` of landscape runs: as for learning runs, without `n_samples`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandscapeData {
    /// Covariance eigenvalues (> 0), one per input, in a seeded random basis.
    pub eigenvalues: Option<Vec<f64>>,
    /// Rotate the eigenbasis by a seeded random orthogonal matrix (default true).
    pub rotation: Option<bool>,
    /// Shape of the independent sources (default gaussian).
    pub distribution: Option<Distribution>,
    /// A symmetric positive semi-definite n0 x n0 covariance file.
    pub covariance: Option<String>,
    /// A data file, one sample per row; Sigma = X^T X / N.
    pub samples: Option<String>,
}

impl From<LandscapeData> for DataSection {
    fn from(d: LandscapeData) -> DataSection {
        DataSection {
            eigenvalues: d.eigenvalues,
            rotation: d.rotation,
            distribution: d.distribution,
            covariance: d.covariance,
            samples: d.samples,
            n_samples: None,
        }
    }
}

/// `[init]`: W0 of learning runs, exactly one of `weights`, `scale`, `saddle`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitSection {
    /// W0 from a file (n1 rows, n0 columns).
    pub weights: Option<Vec<String>>,
    /// W0 entries i.i.d. N(0, scale^2 / n0).
    pub scale: Option<f64>,
    /// Start at the critical point keeping these eigenvectors (1-based) ...
    pub saddle: Option<Vec<usize>>,
    /// ... plus a random perturbation of Frobenius norm eps (default 1e-6).
    pub eps: Option<f64>,
}

/// `[landscape]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandscapeSection {
    /// Hessian eigenvalues with |mu| below this count as zero (default 1e-6 lambda_1).
    pub zero_tol: Option<f64>,
}

/// The first step of parsing: `name` and `kind` only (other keys are read in the
/// second step).
#[derive(Debug, Deserialize)]
pub(super) struct Head {
    #[serde(rename = "name")]
    pub _name: String,
    pub kind: KindName,
}

mod learning;
pub use learning::*;
mod multilayer;
pub use multilayer::*;
