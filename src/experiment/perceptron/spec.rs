//! Perceptron specs: [`PerceptronSpec::builder`] builds one in code (the net, the
//! clamped input, the end time, then optional settings with the config's defaults);
//! [`PerceptronSpec::from_config`] parses, validates and calls the builder.

use crate::data;
use crate::error::Result;
use crate::experiment::{network_from, solver_from, stream, vector_from};
use crate::io::config::validate::check_values;
use crate::io::config::{Config, Experiment, KindName, Origin, SolverSection, VectorSource};
use crate::model::network::Network;
use crate::model::neurons::NeuronDynamics;
use crate::solver::{OdeSystem, SolverOptions};
use nalgebra::DVector;
use rand::Rng;

/// A perceptron-phase experiment ready to run.
#[derive(Debug)]
pub struct PerceptronSpec {
    /// The neuron ODE tau . dz/dt = -z + s(T z + I) of the net with its input x clamped
    /// (docs/theory.md §1.3).
    pub dynamics: NeuronDynamics,
    /// Initial activities of the free units, stacked layer by layer (layer 1 first).
    pub z0: Vec<f64>,
    /// Solver settings (default output_dt = t_end / 200).
    pub solver: SolverOptions,
}

/// The initial neuron state (`[initial] z`).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum InitialState {
    /// Uniform over each activation's range, (-1, 1) for unbounded units, from the
    /// seed's initial-state stream.
    #[default]
    Random,
    /// z = 0 for every free unit (refused for logistic layers: 0 is the edge of (0, 1)).
    Zero,
    /// One feed-forward pass z_k = s(W_k z_{k-1}).
    Feedforward,
    /// The free units' activities, layer by layer.
    Values(Vec<f64>),
}

impl PerceptronSpec {
    /// Builds the spec from a config (reads every file it names): parse (done by
    /// [`Config`]), [`validate`](crate::io::config::PerceptronConfig::validate), then
    /// [`PerceptronSpec::builder`].
    pub fn from_config(cfg: &Config) -> Result<PerceptronSpec> {
        let Experiment::Perceptron(c) = &cfg.experiment else {
            return Err(cfg.wrong_kind(KindName::Perceptron));
        };
        let at = cfg.origin();
        c.validate(at)?;
        let net = network_from(&c.network, at, c.seed)?;
        let n0 = net.sizes()[0];
        let free = net.free_units();
        let input = c.input.as_ref().expect("validated");
        let x = match (&input.x, input.scale) {
            (Some(src), _) => vector_from(at, "input.x", src, n0)?,
            (None, scale) => {
                let scale = scale.expect("validated");
                let mut rng = data::rng(c.seed, stream::INPUT);
                DVector::from_fn(n0, |_, _| scale * data::normal(&mut rng))
            }
        };
        let initial = match c.initial.as_ref().map(|i| &i.z) {
            None => InitialState::Random,
            Some(VectorSource::File(s)) if s == "random" => InitialState::Random,
            Some(VectorSource::File(s)) if s == "zero" => InitialState::Zero,
            Some(VectorSource::File(s)) if s == "feedforward" => InitialState::Feedforward,
            Some(src) => {
                InitialState::Values(vector_from(at, "initial.z", src, free)?.as_slice().to_vec())
            }
        };
        let solver = c.solver.clone().expect("validated");
        let t_end = solver.t_end.expect("validated");
        PerceptronSpec::builder(net, x, t_end)
            .initial(initial)
            .seed(c.seed)
            .solver(solver)
            .origin(at.clone())
            .build()
    }

    /// A builder for the neuron dynamics of `network` with input `x` clamped, run to
    /// `t_end`. Defaults as in a config: random initial state, seed 0, dopri5 with
    /// rtol 1e-6, atol 1e-9 and output_dt = t_end / 200. Errors name the config key
    /// a setting corresponds to (e.g. `solver.rtol`, `initial.z`).
    ///
    /// ```
    /// use lmser::experiment::perceptron::{InitialState, PerceptronSpec};
    /// use lmser::model::{activation::Activation, network::{Network, Top}};
    /// use lmser::solver::Method;
    /// use nalgebra::{DMatrix, DVector};
    ///
    /// let w = DMatrix::from_row_slice(2, 3, &[0.5, -0.2, 0.1, 0.3, 0.4, -0.6]);
    /// let net = Network::new(vec![3, 2], vec![w], vec![Activation::Logistic], vec![1.0], Top::Free)?;
    /// let spec = PerceptronSpec::builder(net, DVector::from_vec(vec![1.0, 0.5, -1.0]), 20.0)
    ///     .initial(InitialState::Feedforward)
    ///     .method(Method::Dop853)
    ///     .rtol(1e-9)
    ///     .build()?;
    /// assert_eq!(spec.z0.len(), 2);
    /// assert_eq!(spec.solver.output_dt, 0.1);
    /// # Ok::<(), lmser::Error>(())
    /// ```
    pub fn builder(network: Network, x: DVector<f64>, t_end: f64) -> PerceptronBuilder {
        PerceptronBuilder {
            network,
            x,
            initial: InitialState::Random,
            seed: 0,
            solver: SolverSection {
                t_end: Some(t_end),
                ..SolverSection::default()
            },
            origin: Origin::code("PerceptronSpec::builder"),
        }
    }
}

/// Builds a [`PerceptronSpec`] (see [`PerceptronSpec::builder`]).
#[derive(Debug, Clone)]
pub struct PerceptronBuilder {
    network: Network,
    x: DVector<f64>,
    initial: InitialState,
    seed: u64,
    solver: SolverSection,
    origin: Origin,
}

impl PerceptronBuilder {
    /// The initial state (default [`InitialState::Random`]).
    pub fn initial(mut self, z0: InitialState) -> Self {
        self.initial = z0;
        self
    }

    /// The master seed of the random initial state (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Every solver setting at once, as a `[solver]` section; its `t_end` is
    /// ignored (the end time is the builder's).
    pub fn solver(mut self, solver: SolverSection) -> Self {
        self.solver = SolverSection {
            t_end: self.solver.t_end,
            ..solver
        };
        self
    }

    crate::experiment::solver_setters!();

    /// Where the values come from, for error messages (default
    /// `PerceptronSpec::builder`; `from_config` passes the config file).
    pub fn origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    /// Checks the settings and builds the spec.
    pub fn build(self) -> Result<PerceptronSpec> {
        let at = &self.origin;
        let n0 = self.network.sizes()[0];
        check_values(at, "input.x", self.x.as_slice(), n0)?;
        self.solver.validate(at, None)?;
        if let InitialState::Values(z) = &self.initial {
            check_values(at, "initial.z", z, self.network.free_units())?;
        }
        let t_end = self.solver.t_end.unwrap_or_default();
        let solver = solver_from(&self.solver, t_end, t_end / 200.0);
        let dynamics = NeuronDynamics::new(self.network, self.x);
        let z0 = initial_state(at, &dynamics, &self.initial, self.seed)?;
        Ok(PerceptronSpec {
            dynamics,
            z0,
            solver,
        })
    }
}

/// The initial state, inside the open range of every bounded activation.
fn initial_state(
    at: &Origin,
    dyn_: &NeuronDynamics,
    initial: &InitialState,
    seed: u64,
) -> Result<Vec<f64>> {
    let n = dyn_.dim();
    let net = dyn_.network();
    let z = match initial {
        InitialState::Zero => vec![0.0; n],
        InitialState::Feedforward => dyn_.feedforward(),
        InitialState::Values(z) => z.clone(),
        InitialState::Random => {
            let mut rng = data::rng(seed, stream::INITIAL);
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
    };
    for k in net.free_layers() {
        let (lo, hi) = net.activation(k).range();
        for j in 0..net.sizes()[k] {
            let v = z[net.offset(k) + j];
            // Bounded activations: the open range, where s^-1 (and dE/dt) is finite.
            if !(v.is_finite() && lo < v && v < hi) {
                let fix = match initial {
                    InitialState::Feedforward => {
                        "the feed-forward pass saturates there; use \"random\" or values inside the range"
                    }
                    _ => "use \"random\" or \"feedforward\" or values inside it",
                };
                return Err(at.err(
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
