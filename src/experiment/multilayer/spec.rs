//! The spec of a multilayer learning run: units, initial weights, the train and test
//! sample sets (columns = samples) and the rule and mode.

use crate::data::Images;
use crate::dynamics::multilayer::{MultiRule, Stack};
use crate::error::Result;
use crate::io::config::{
    ActivationName, Builtin, Config, Experiment, KindName, MultilayerConfig, MultilayerData,
    MultilayerMode, Origin,
};
use crate::model::activation::Activation;
use crate::solver::SolverOptions;
use nalgebra::DMatrix;

/// Samples as columns, with their class labels when known.
#[derive(Debug, Clone)]
pub struct SampleSet {
    /// n_0 x N, one sample per column.
    pub x: DMatrix<f64>,
    /// Class of each sample.
    pub labels: Option<Vec<usize>>,
    /// Number of classes (0 without labels).
    pub classes: usize,
}

impl SampleSet {
    /// Number of samples N.
    pub fn len(&self) -> usize {
        self.x.ncols()
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.x.ncols() == 0
    }

    /// One-hot labels (classes x N), if labelled.
    pub fn one_hot(&self) -> Option<DMatrix<f64>> {
        let labels = self.labels.as_ref()?;
        Some(crate::compare::one_hot(labels, self.classes))
    }

    /// The samples with these column indices.
    pub fn select(&self, idx: &[usize]) -> SampleSet {
        SampleSet {
            x: self.x.select_columns(idx),
            labels: self
                .labels
                .as_ref()
                .map(|l| idx.iter().map(|&i| l[i]).collect()),
            classes: self.classes,
        }
    }

    fn from_images(images: &Images) -> SampleSet {
        SampleSet {
            x: images.x.transpose(),
            labels: Some(images.labels.iter().map(|&l| l as usize).collect()),
            classes: images.classes,
        }
    }
}

/// Everything a multilayer run needs.
#[derive(Debug, Clone)]
pub struct MultilayerSpec {
    /// Units of layers 1..K.
    pub stack: Stack,
    /// W_1..W_K at t = 0.
    pub w0: Vec<DMatrix<f64>>,
    /// The training set (the averaged mode's sample set).
    pub train: SampleSet,
    /// The held-out set, if any.
    pub test: Option<SampleSet>,
    /// Image height and width, for image grids.
    pub image_shape: Option<(usize, usize)>,
    /// The learning rule.
    pub rule: MultiRule,
    /// Averaged or stochastic.
    pub mode: MultilayerMode,
    /// Time constant of the weights.
    pub tau_w: f64,
    /// Push the top layer toward the one-hot label.
    pub supervised: bool,
    /// Stochastic step size and minibatch size.
    pub eta: f64,
    /// Step-size schedule eta_k = eta / (1 + k / eta_decay) (stochastic mode).
    pub eta_decay: Option<f64>,
    /// Minibatch size (samples per step, or held together).
    pub batch: usize,
    /// Neuron time constants tau_1..tau_K (coupled mode).
    pub tau: Vec<f64>,
    /// How long a sample is held (two-phase and coupled modes).
    pub presentation: f64,
    /// Master seed.
    pub seed: u64,
    /// Solver options (t_end, output grid, tolerances).
    pub solver: SolverOptions,
    /// Why the solver's method (`summary.json`): named in the config, or chosen.
    pub solver_reason: String,
}

impl MultilayerSpec {
    /// Builds the spec from a config, reading every file it names.
    pub fn from_config(cfg: &Config) -> Result<MultilayerSpec> {
        let Experiment::Multilayer(c) = &cfg.experiment else {
            return Err(cfg.wrong_kind(KindName::Learning));
        };
        let at = cfg.origin();
        c.validate(at)?;
        let layers = &c.network.layers;
        let (train, test, image_shape) = samples(&c.data, c.seed, at)?;
        if train.x.nrows() != layers[0] {
            return Err(at.err(
                "network.layers",
                format!(
                    "n0 = {} but the data have {} values per sample; set layers[0] = {}",
                    layers[0],
                    train.x.nrows(),
                    train.x.nrows()
                ),
            ));
        }
        let l = &c.learning;
        if l.supervised && *layers.last().unwrap() < train.classes {
            return Err(at.err(
                "network.layers",
                format!(
                    "supervised runs need n_K >= {} top units (one per class)",
                    train.classes
                ),
            ));
        }
        let w0 = match c.init.as_ref().and_then(|i| i.weights.as_ref()) {
            Some(files) => {
                crate::experiment::weights_from_files(at, "init.weights", files, layers)?
            }
            None => {
                let scale = c.init.as_ref().and_then(|i| i.scale).unwrap_or(1.0);
                crate::experiment::random_weights(layers, scale, c.seed)
            }
        };
        let t_end = l.t_end;
        let tau_w = l.tau_w.unwrap_or(1.0);
        let depth = layers.len() - 1;
        let tau = match &l.tau {
            Some(t) => t.expand(depth).ok_or_else(|| {
                at.err(
                    "learning.tau",
                    format!("give one tau or one per layer ({depth})"),
                )
            })?,
            None => vec![tau_w / 100.0; depth],
        };
        let slowest = tau.iter().copied().fold(0.0, f64::max);
        let presentation = l.presentation.unwrap_or(10.0 * slowest);
        let default = crate::io::config::SolverSection::default();
        let section = c.solver.as_ref().unwrap_or(&default);
        let mut solver = crate::experiment::solver_from(section, t_end, t_end / 100.0);
        let solver_reason = if section.method.is_some() {
            crate::experiment::learning::CONFIG_CHOICE.to_string()
        } else if l.mode == MultilayerMode::Coupled {
            let fastest = tau.iter().copied().fold(f64::INFINITY, f64::min);
            let (method, reason) = crate::experiment::learning::stiff_choice(
                tau_w,
                fastest,
                Some(presentation),
                "one LU per held sample",
            );
            solver.method = method;
            reason
        } else {
            "default".to_string()
        };
        Ok(MultilayerSpec {
            stack: stack(c),
            w0,
            train,
            test,
            image_shape,
            rule: l.rule,
            mode: l.mode,
            tau_w,
            supervised: l.supervised,
            eta: match l.mode {
                MultilayerMode::TwoPhase => presentation,
                _ => l.eta.unwrap_or(0.1),
            },
            eta_decay: l.eta_decay,
            batch: l.batch.unwrap_or(if l.mode == MultilayerMode::Stochastic {
                32
            } else {
                1
            }),
            tau,
            presentation,
            seed: c.seed,
            solver,
            solver_reason,
        })
    }
}

fn stack(c: &MultilayerConfig) -> Stack {
    let k = c.network.layers.len() - 1;
    let beta = c.network.beta.unwrap_or(1.0);
    Stack {
        activations: c
            .network
            .activation
            .expand(k)
            .unwrap_or_default()
            .into_iter()
            .map(|a| match a {
                ActivationName::Logistic => Activation::Logistic,
                ActivationName::Tanh => Activation::Tanh { beta },
                _ => Activation::Linear,
            })
            .collect(),
    }
}

pub(crate) type Split = (SampleSet, Option<SampleSet>, Option<(usize, usize)>);

/// The train and test sets: images split by the seed, or CSV samples.
pub(crate) fn samples(d: &MultilayerData, seed: u64, at: &Origin) -> Result<Split> {
    let images = match (&d.dataset, &d.images, &d.labels) {
        (Some(Builtin::Digits), _, _) => Some(Images::digits()?),
        (None, Some(im), Some(lb)) => Some(Images::from_idx(&at.path(im), &at.path(lb))?),
        _ => None,
    };
    let (mut train, test, shape) = match images {
        Some(images) => {
            let (tr, te) = images.split(d.test_fraction.unwrap_or(0.2), seed)?;
            let test = (!te.is_empty()).then(|| SampleSet::from_images(&te));
            (
                SampleSet::from_images(&tr),
                test,
                Some((images.rows, images.cols)),
            )
        }
        None => {
            let file = d.samples.as_ref().expect("validated");
            let x = crate::io::files::read_matrix(&at.path(file))?;
            let all = SampleSet {
                x: x.transpose(),
                labels: None,
                classes: 0,
            };
            let n_test = (d.test_fraction.unwrap_or(0.0) * all.len() as f64).round() as usize;
            let n = all.len() - n_test;
            let test = (n_test > 0).then(|| all.select(&(n..all.len()).collect::<Vec<_>>()));
            (all.select(&(0..n).collect::<Vec<_>>()), test, None)
        }
    };
    if let Some(n) = d.n_train
        && n < train.len()
    {
        train = train.select(&(0..n).collect::<Vec<_>>());
    }
    Ok((train, test, shape))
}
