//! Perceptron configs to a [`PerceptronSpec`]: the net, the clamped input, the initial
//! activities and the solver options.

use crate::data;
use crate::error::Result;
use crate::experiment::{network_from, solver_from, stream, vector_from};
use crate::io::config::{Config, VectorSource};
use crate::model::neurons::NeuronDynamics;
use crate::solver::{OdeSystem, SolverOptions};
use nalgebra::DVector;
use rand::Rng;

/// A perceptron-phase experiment ready to run.
#[derive(Debug)]
pub struct PerceptronSpec {
    pub dynamics: NeuronDynamics,
    pub z0: Vec<f64>,
    pub solver: SolverOptions,
}

impl PerceptronSpec {
    /// Builds the spec from a config (reads every file it names).
    pub fn from_config(cfg: &Config) -> Result<PerceptronSpec> {
        crate::experiment::reject_sections(cfg, &["data", "learning", "init", "landscape"])?;
        let net = network_from(cfg)?;
        let n0 = net.sizes()[0];
        let input = cfg.raw.input.as_ref().ok_or_else(|| {
            cfg.err(
                "input",
                "missing [input]; give x = [...] or a CSV file, or scale",
            )
        })?;
        let x = match (&input.x, input.scale) {
            (Some(src), None) => vector_from(cfg, "input.x", src, n0)?,
            (None, Some(scale)) => {
                let scale = crate::io::config::positive(cfg, "input.scale", scale)?;
                let mut rng = data::rng(cfg.raw.seed, stream::INPUT);
                DVector::from_fn(n0, |_, _| scale * data::normal(&mut rng))
            }
            _ => {
                return Err(cfg.err(
                    "input",
                    "give exactly one of x (values or file) or scale (random)",
                ));
            }
        };
        let solver = solver_from(cfg, None)?;
        let dynamics = NeuronDynamics::new(net, x);
        let z0 = initial_state(cfg, &dynamics)?;
        Ok(PerceptronSpec {
            dynamics,
            z0,
            solver,
        })
    }
}

/// The initial state of `[initial] z` (default "random").
fn initial_state(cfg: &Config, dyn_: &NeuronDynamics) -> Result<Vec<f64>> {
    let n = dyn_.dim();
    let src = cfg
        .raw
        .initial
        .as_ref()
        .map(|i| i.z.clone())
        .unwrap_or(VectorSource::File("random".into()));
    let net = dyn_.network();
    let z = match &src {
        VectorSource::File(s) if s == "zero" => vec![0.0; n],
        VectorSource::File(s) if s == "feedforward" => dyn_.feedforward(),
        VectorSource::File(s) if s == "random" => {
            let mut rng = data::rng(cfg.raw.seed, stream::INITIAL);
            let mut z = vec![0.0; n];
            for k in net.free_layers() {
                let (lo, hi) = match net.activation(k).range() {
                    (lo, hi) if lo.is_finite() => (lo, hi),
                    _ => (-1.0, 1.0),
                };
                for j in 0..net.sizes()[k] {
                    z[net.offset(k) + j] = lo + (hi - lo) * rng.random::<f64>();
                }
            }
            z
        }
        other => vector_from(cfg, "initial.z", other, n)?.as_slice().to_vec(),
    };
    for k in net.free_layers() {
        let (lo, hi) = net.activation(k).range();
        for j in 0..net.sizes()[k] {
            let v = z[net.offset(k) + j];
            // Bounded activations: the open range, where s^-1 (and dE/dt) is finite.
            if !(v.is_finite() && lo < v && v < hi) {
                let fix = match &src {
                    VectorSource::File(s) if s == "feedforward" => {
                        "the feed-forward pass saturates there; use \"random\" or values inside the range"
                    }
                    _ => "use \"random\" or \"feedforward\" or values inside it",
                };
                return Err(cfg.err(
                    "initial.z",
                    format!(
                        "z{k}_{} = {v} is outside the open range ({lo}, {hi}) of layer {k}'s activation; {fix}",
                        j + 1
                    ),
                ));
            }
        }
    }
    Ok(z)
}
