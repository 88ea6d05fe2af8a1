//! Experiment configs: TOML files deserialized with unknown keys rejected, then
//! validated into typed specs. Every error names the file and the field.
//! Paths inside a config are relative to the config file.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A value given once for all layers or as one value per layer.
#[derive(Debug, Clone)]
pub enum OneOrMany<T> {
    One(T),
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
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = toml::Value::deserialize(d)?;
        let what = std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or("value");
        match v {
            toml::Value::Array(a) => toml::Value::Array(a)
                .try_into()
                .map(OneOrMany::Many)
                .map_err(|_| D::Error::custom(format!("expected an array of {what} values"))),
            other => other.try_into().map(OneOrMany::One).map_err(|_| {
                D::Error::custom(format!(
                    "expected a {what} or an array of them, one per layer"
                ))
            }),
        }
    }
}

/// A vector given inline or as a CSV file.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum VectorSource {
    Inline(Vec<f64>),
    File(String),
}

/// The whole config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Run name (output goes to `runs/<name>/` by default).
    pub name: String,
    /// "perceptron", "learning" or "landscape".
    pub kind: String,
    /// Master seed; every random stream of the run derives from it.
    #[serde(default)]
    pub seed: u64,
    /// Free text shown in the summary.
    pub description: Option<String>,
    pub network: RawNetwork,
    pub input: Option<RawInput>,
    pub initial: Option<RawInitial>,
    pub solver: Option<RawSolver>,
    pub data: Option<RawData>,
    pub learning: Option<RawLearning>,
    pub init: Option<RawInit>,
    pub landscape: Option<RawLandscape>,
}

/// `[data]`: the input distribution of learning runs. Exactly one of `eigenvalues`,
/// `covariance`, `samples`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    /// Zero-mean data with these covariance eigenvalues (descending, > 0).
    pub eigenvalues: Option<Vec<f64>>,
    /// Rotate the eigenbasis by a seeded random orthogonal matrix (default true).
    pub rotation: Option<bool>,
    /// "gaussian" (default), "uniform" or "laplace" (unit-variance sources, scaled).
    pub distribution: Option<String>,
    /// A covariance matrix file (n0 x n0, symmetric, positive semi-definite).
    pub covariance: Option<String>,
    /// A data file, rows = samples; Sigma = X^T X / N.
    pub samples: Option<String>,
    /// Size of the fixed sample set averaged over by nonlinear (tanh) units.
    pub n_samples: Option<usize>,
}

/// `[learning]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLearning {
    /// "lmser", "oja" or "oja-weighted".
    #[serde(default = "default_rule")]
    pub rule: String,
    /// "averaged", "stochastic", "two-phase" or "coupled".
    #[serde(default = "default_mode")]
    pub mode: String,
    /// Time constant of the weights.
    pub tau_w: Option<f64>,
    /// End time of learning.
    pub t_end: f64,
    /// Gains a_1 > ... > a_n > 0 of the amplified outputs z = A y.
    pub amplification: Option<Vec<f64>>,
    /// Where A enters LMSER: "gradient", "output", "feedback", "hebbian".
    pub placement: Option<String>,
    /// Oja's weighted rule: "inverse" (Theta = A^-1) or "direct" (Theta = A).
    pub theta: Option<String>,
    /// Step size of stochastic learning (t advances by eta per step).
    pub eta: Option<f64>,
    /// eta_k = eta / (1 + k / eta_decay) when given.
    pub eta_decay: Option<f64>,
    /// Minibatch size of stochastic learning (default 1).
    pub batch: Option<usize>,
    /// Time constant of the neurons (coupled and two-phase modes).
    pub tau: Option<f64>,
    /// How long each sample is held (coupled and two-phase modes).
    pub presentation: Option<f64>,
    /// Coupled mode: "samples" (held for `presentation`) or "averaged" (in Z = E[z x^T]).
    pub input: Option<String>,
    /// Two-phase mode: "ode" (integrate the neuron ODE) or "closed-form" (z* = A W x).
    pub settle: Option<String>,
}

fn default_rule() -> String {
    "lmser".into()
}
fn default_mode() -> String {
    "averaged".into()
}

/// `[init]`: the initial weights of learning runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInit {
    /// W0 from a file (n1 rows, n0 columns).
    pub weights: Option<Vec<String>>,
    /// W0 entries i.i.d. N(0, scale^2 / n0).
    pub scale: Option<f64>,
    /// Start at the critical point keeping these eigenvectors (1-based) ...
    pub saddle: Option<Vec<usize>>,
    /// ... plus a random perturbation of Frobenius norm eps.
    pub eps: Option<f64>,
}

/// `[landscape]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLandscape {
    /// Hessian eigenvalues with |mu| below this count as zero (default 1e-6 lambda_1).
    pub zero_tol: Option<f64>,
}

/// `[network]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Layer sizes n_0 (input), n_1, ..., n_K.
    pub layers: Vec<usize>,
    /// "linear", "logistic", "tanh", "amplified", or one per layer 1..K.
    #[serde(default = "default_activation")]
    pub activation: OneOrMany<String>,
    /// Gain beta of tanh units.
    pub beta: Option<f64>,
    /// Gains a_1 > ... > a_n > 0 of amplified units (one per unit).
    pub gains: Option<Vec<f64>>,
    /// Time constant(s) tau > 0, one for all layers or one per layer.
    #[serde(default = "default_tau")]
    pub tau: OneOrMany<f64>,
    /// Weight files W_1..W_K (n_k rows, n_{k-1} columns, no header).
    pub weights: Option<Vec<String>>,
    /// Random weights instead of files.
    pub init: Option<RawWeightInit>,
    /// Clamp the top layer to this label (supervised mode).
    pub label: Option<VectorSource>,
}

fn default_activation() -> OneOrMany<String> {
    OneOrMany::One("linear".into())
}
fn default_tau() -> OneOrMany<f64> {
    OneOrMany::One(1.0)
}

/// `init = { scale = s }`: entries of W_k i.i.d. normal with standard deviation
/// s / sqrt(n_{k-1}).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeightInit {
    pub scale: f64,
}

/// `[input]`: the clamped input x.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    /// Inline values or a CSV file (one row or one column).
    pub x: Option<VectorSource>,
    /// Random input: entries i.i.d. normal with this standard deviation.
    pub scale: Option<f64>,
}

/// `[initial]`: the initial neuron state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInitial {
    /// "random" (uniform over the activation's range, (-1, 1) for linear units),
    /// "zero", "feedforward", inline values or a CSV file.
    pub z: VectorSource,
}

/// `[solver]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSolver {
    /// "dopri5" (default), "dop853", "rk4", "fixed-point", "rodas4" or "ros2";
    /// coupled learning picks one by stiffness when not given.
    pub method: Option<String>,
    pub rtol: Option<f64>,
    pub atol: Option<f64>,
    /// End time (learning runs take it from `[learning]`).
    pub t_end: Option<f64>,
    pub output_dt: Option<f64>,
    /// RK4 step.
    pub step: Option<f64>,
    pub max_steps: Option<u32>,
    /// Stop once ||dz/dt|| falls below this.
    pub steady_tol: Option<f64>,
    /// |state| beyond this counts as divergence.
    pub divergence_bound: Option<f64>,
    /// Wall-clock seconds between checkpoints (default 60; 0 = at every output).
    pub checkpoint_interval: Option<f64>,
}

/// A parsed config with its location.
#[derive(Debug, Clone)]
pub struct Config {
    pub raw: RawConfig,
    /// The config as a generic table, echoed into the summary.
    pub table: toml::Table,
    /// The config file.
    pub file: PathBuf,
}

impl Config {
    /// Reads and parses a config file (unknown keys and wrong types are errors).
    pub fn load(file: &Path) -> Result<Config> {
        let shown = file.display().to_string();
        if file.is_dir() {
            return Err(Error::config(
                shown,
                "(file)",
                "is a directory; give a .toml config file",
            ));
        }
        let text = std::fs::read_to_string(file).map_err(|e| {
            Error::config(
                &shown,
                "(file)",
                format!("cannot read ({e}); check the path"),
            )
        })?;
        Self::parse(&text, file)
    }

    /// Parses config text that lives at `file` (for relative paths and messages).
    pub fn parse(text: &str, file: &Path) -> Result<Config> {
        let shown = file.display().to_string();
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(&shown, text, &e))?;
        let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(&shown, text, &e))?;
        Ok(Config {
            raw,
            table,
            file: file.to_path_buf(),
        })
    }

    /// A stable hash of the parsed config and of every file it names (FNV-1a over the
    /// config's canonical JSON, then each named file's bytes): a resumed run must have
    /// the same hash as the run it continues, so editing a weight file is caught too.
    pub fn hash(&self) -> String {
        fn fnv(h: u64, bytes: &[u8]) -> u64 {
            bytes
                .iter()
                .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
        }
        fn strings<'a>(v: &'a toml::Value, out: &mut Vec<&'a str>) {
            match v {
                toml::Value::String(s) => out.push(s),
                toml::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
                toml::Value::Table(t) => t.values().for_each(|x| strings(x, out)),
                _ => {}
            }
        }
        let text = serde_json::to_string(&self.table).unwrap_or_default();
        let mut h = fnv(0xcbf29ce484222325, text.as_bytes());
        let mut names = Vec::new();
        self.table.values().for_each(|v| strings(v, &mut names));
        for name in names {
            if let Ok(bytes) = std::fs::read(self.path(name)) {
                h = fnv(h, &bytes);
            }
        }
        format!("{h:016x}")
    }

    /// The run name (`name`).
    pub fn name(&self) -> &str {
        &self.raw.name
    }

    /// The experiment kind as written (`kind`).
    pub fn kind(&self) -> &str {
        &self.raw.kind
    }

    /// The master seed (`seed`).
    pub fn seed(&self) -> u64 {
        self.raw.seed
    }

    /// Wall-clock seconds between checkpoints (`[solver] checkpoint_interval`,
    /// default 60).
    pub fn checkpoint_interval(&self) -> f64 {
        self.raw
            .solver
            .as_ref()
            .and_then(|s| s.checkpoint_interval)
            .unwrap_or(60.0)
    }

    /// Resolves a path written in the config relative to the config's directory.
    pub fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.file.parent().unwrap_or(Path::new(".")).join(p)
        }
    }

    /// A config error for `field` in this file.
    pub fn err(&self, field: &str, message: impl Into<String>) -> Error {
        Error::config(self.file.display().to_string(), field, message)
    }
}

/// One line from a toml error: the file, the line and its text, the message.
fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> Error {
    let message = e.message().trim().replace('\n', " ");
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        return Error::config(
            file,
            field,
            format!("{message}; add it (see the config reference in README.md)"),
        );
    }
    let Some(span) = e.span() else {
        return Error::config(file, "(syntax)", message);
    };
    let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .unwrap_or(line);
    Error::config(
        file,
        key,
        format!("line {line_no} (`{line}`): {message}; see the config reference in README.md"),
    )
}

/// Checks that a number is finite and positive.
pub fn positive(cfg: &Config, field: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(cfg.err(field, format!("must be a finite number > 0 (got {v})")))
    }
}

/// Checks that a number is finite and >= 0.
pub fn non_negative(cfg: &Config, field: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(cfg.err(field, format!("must be a finite number >= 0 (got {v})")))
    }
}
