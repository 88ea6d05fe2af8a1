//! [`LearningBuilder`]: a [`LearningSpec`] from values in code.

use super::{LearningSpec, Mode, check_gains, solver_from, stiff_choice, stream};
use crate::analysis::{Spectrum, critical_weights};
use crate::data::{self, Dataset};
use crate::dynamics::rules::{Placement, Rule};
use crate::error::Result;
use crate::io::config::validate::{
    check_held, check_n_samples, check_saddle, check_stochastic, held_rule, positive,
};
use crate::io::config::{Origin, SolverSection};
use nalgebra::DMatrix;

/// W0 of a learning run (`[init]`).
#[derive(Debug, Clone, PartialEq)]
pub enum InitialWeights {
    /// W0 itself (n1 rows, n0 columns).
    Given(DMatrix<f64>),
    /// n1 x n0 entries i.i.d. N(0, scale^2 / n0) from the seed's weight stream.
    Random {
        /// Rows of W0 (units).
        n1: usize,
        /// scale > 0: the entries are N(0, scale^2 / n0).
        scale: f64,
    },
    /// The critical point keeping eigenvectors `keep` (1-based, by decreasing
    /// eigenvalue of the second moment the rule sees) plus a random perturbation of
    /// Frobenius norm `eps` from the seed's weight stream.
    Saddle {
        /// Rows of W0 (units).
        n1: usize,
        /// At most n1 distinct eigenvector indices in 1..=n0; row r is phi_{keep_r}^T in
        /// ascending index order, the remaining rows zero.
        keep: Vec<usize>,
        /// Frobenius norm (>= 0) of the perturbation.
        eps: f64,
    },
}

impl From<DMatrix<f64>> for InitialWeights {
    fn from(w0: DMatrix<f64>) -> Self {
        InitialWeights::Given(w0)
    }
}

impl InitialWeights {
    /// n1.
    fn rows(&self) -> usize {
        match self {
            InitialWeights::Given(w) => w.nrows(),
            InitialWeights::Random { n1, .. } | InitialWeights::Saddle { n1, .. } => *n1,
        }
    }
}

impl LearningSpec {
    /// A builder for learning on `dataset` (n0 = its dimension) from `w0` (a matrix
    /// or an [`InitialWeights`]; n1 = its rows) until `t_end`. Defaults as in a
    /// config: plain LMSER, averaged mode, tau_w = 1, seed 0, 2000 fixed samples
    /// for tanh units, dopri5 (coupled mode: chosen by stiffness) with rtol 1e-6,
    /// atol 1e-9 and output_dt = t_end / 500. Errors name the config key a setting
    /// corresponds to (e.g. `learning.tau_w`, `solver.rtol`).
    ///
    /// ```
    /// use lmser::data::{self, Dataset, Distribution};
    /// use lmser::dynamics::rules::Rule;
    /// use lmser::experiment::learning::{InitialWeights, LearningSpec, Mode};
    /// use lmser::solver::Method;
    /// use nalgebra::DMatrix;
    ///
    /// let lam = [4.0, 2.0, 1.0, 0.5];
    /// let dataset = Dataset::from_eigenvalues(&lam, true, Distribution::Gaussian, &mut data::rng(1, 4));
    /// // Averaged LMSER from a given W0 (2 x 4), Dop853 with tight tolerances.
    /// let w0 = DMatrix::from_fn(2, 4, |i, j| if i == j { 0.5 } else { 0.1 });
    /// let spec = LearningSpec::builder(dataset.clone(), w0, 50.0)
    ///     .method(Method::Dop853)
    ///     .rtol(1e-10)
    ///     .atol(1e-14)
    ///     .output_dt(0.5)
    ///     .build()?;
    /// assert_eq!(spec.mode, Mode::Averaged);
    /// // Oja's rule, stochastic, random W0 with the seed's weight stream.
    /// let spec = LearningSpec::builder(dataset, InitialWeights::Random { n1: 2, scale: 0.3 }, 50.0)
    ///     .rule(Rule::Oja)
    ///     .mode(Mode::Stochastic { eta: 0.01, decay: None, batch: 1 })
    ///     .seed(7)
    ///     .build()?;
    /// assert_eq!(spec.w0.shape(), (2, 4));
    /// # Ok::<(), lmser::Error>(())
    /// ```
    pub fn builder(dataset: Dataset, w0: impl Into<InitialWeights>, t_end: f64) -> LearningBuilder {
        LearningBuilder {
            dataset,
            init: w0.into(),
            t_end,
            rule: Rule::lmser(),
            mode: Mode::Averaged,
            tau_w: 1.0,
            seed: 0,
            samples: None,
            n_samples: 2000,
            solver: SolverSection::default(),
            origin: Origin::code("LearningSpec::builder"),
        }
    }
}

/// Builds a [`LearningSpec`] (see [`LearningSpec::builder`]).
#[derive(Debug, Clone)]
pub struct LearningBuilder {
    dataset: Dataset,
    init: InitialWeights,
    t_end: f64,
    rule: Rule,
    mode: Mode,
    tau_w: f64,
    seed: u64,
    samples: Option<DMatrix<f64>>,
    n_samples: usize,
    solver: SolverSection,
    origin: Origin,
}

impl LearningBuilder {
    /// The learning rule (default plain LMSER).
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rule = rule;
        self
    }

    /// How the weights are driven (default [`Mode::Averaged`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The weights' time constant (default 1).
    pub fn tau_w(mut self, tau_w: f64) -> Self {
        self.tau_w = tau_w;
        self
    }

    /// The master seed (default 0): random W0, samples and sample streams.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// A fixed sample set (rows, n0 columns) replacing Sigma in the averaged rule
    /// and in J; the spectrum is then that of its second moment.
    pub fn samples(mut self, x: DMatrix<f64>) -> Self {
        self.samples = Some(x);
        self
    }

    /// How many fixed samples tanh units draw when none are given (default 2000).
    pub fn n_samples(mut self, n: usize) -> Self {
        self.n_samples = n;
        self
    }

    /// Every solver setting at once, as a `[solver]` section.
    pub fn solver(mut self, solver: SolverSection) -> Self {
        self.solver = solver;
        self
    }

    crate::experiment::solver_setters!();

    /// Where the values come from, for error messages (default
    /// `LearningSpec::builder`; `from_config` passes the config file).
    pub fn origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    /// Checks the settings with the config's checks.
    fn check(&self) -> Result<()> {
        let at = &self.origin;
        let (n0, n1) = (self.dataset.dim(), self.init.rows());
        if n1 == 0 || n1 >= n0 {
            return Err(at.err(
                "network.layers",
                format!(
                    "principal subspace analysis needs 1 <= n1 < n0 (got n0 = {n0}, n1 = {n1})"
                ),
            ));
        }
        positive(at, "learning.t_end", self.t_end)?;
        positive(at, "learning.tau_w", self.tau_w)?;
        match &self.init {
            InitialWeights::Given(w) if w.ncols() != n0 => {
                return Err(at.err(
                    "init.weights",
                    format!("W0 has {} columns but n0 = {n0}", w.ncols()),
                ));
            }
            InitialWeights::Random { scale, .. } => {
                positive(at, "init.scale", *scale)?;
            }
            InitialWeights::Saddle { keep, eps, .. } => check_saddle(at, keep, *eps, n0, n1)?,
            InitialWeights::Given(_) => {}
        }
        match &self.rule {
            Rule::Lmser { gains: Some(a), .. } => {
                check_gains(at, "learning.amplification", a.as_slice(), n1)?;
            }
            Rule::OjaWeighted { theta }
                if theta.len() != n1 || theta.iter().any(|t| !(t.is_finite() && *t > 0.0)) =>
            {
                return Err(at.err(
                    "learning.amplification",
                    format!("oja-weighted needs {n1} positive weights theta"),
                ));
            }
            Rule::LmserTanh { beta } => {
                positive(at, "network.beta", *beta)?;
            }
            _ => {}
        }
        match &self.samples {
            Some(x) if x.ncols() != n0 || x.nrows() == 0 => {
                return Err(at.err(
                    "data.n_samples",
                    format!("the sample set needs n0 = {n0} columns and at least one row"),
                ));
            }
            None if matches!(self.rule, Rule::LmserTanh { .. }) => {
                check_n_samples(at, self.n_samples, n0)?;
            }
            _ => {}
        }
        match self.mode {
            Mode::Averaged => {}
            Mode::Stochastic { eta, decay, batch } => check_stochastic(at, eta, decay, batch, n0)?,
            Mode::Coupled {
                tau, presentation, ..
            }
            | Mode::TwoPhase {
                tau, presentation, ..
            } => {
                let gradient = matches!(
                    self.rule,
                    Rule::Lmser {
                        placement: Placement::Gradient,
                        ..
                    }
                );
                if !gradient {
                    return Err(held_rule(at));
                }
                check_held(at, tau, presentation, self.t_end)?;
            }
        }
        self.solver.validate_learning(at, self.t_end)
    }

    /// Checks the settings and builds the spec.
    pub fn build(self) -> Result<LearningSpec> {
        self.check()?;
        let n0 = self.dataset.dim();
        let samples = match (self.samples, &self.rule) {
            (Some(x), _) => Some(x),
            (None, Rule::LmserTanh { .. }) => Some(
                self.dataset
                    .sample(self.n_samples, &mut data::rng(self.seed, stream::EVAL)),
            ),
            (None, _) => None,
        };
        // With a fixed sample set the rule sees its second moment: compare with that.
        let spectrum = match &samples {
            Some(x) => Spectrum::of(&(x.transpose() * x / x.nrows() as f64)),
            None => self.dataset.spectrum().clone(),
        };
        let w0 = initial_weights(self.init, &spectrum, n0, self.seed);
        let t_end = self.t_end;
        let mut solver = solver_from(&self.solver, t_end, t_end / 500.0);
        let solver_reason = if self.solver.method.is_some() {
            super::CONFIG_CHOICE.to_string()
        } else if let Mode::Coupled {
            tau,
            presentation,
            averaged_input,
        } = self.mode
        {
            let held = (!averaged_input).then_some(presentation);
            let (method, reason) = stiff_choice(self.tau_w, tau, held, "Jacobian -I/tau");
            solver.method = method;
            reason
        } else {
            "default".to_string()
        };
        Ok(LearningSpec {
            dataset: self.dataset,
            spectrum,
            rule: self.rule,
            mode: self.mode,
            tau_w: self.tau_w,
            w0,
            solver,
            seed: self.seed,
            samples,
            solver_reason,
        })
    }
}

/// W0: given, random N(0, scale^2/n0) entries, or a critical point plus a random
/// perturbation of Frobenius norm eps (both from the seed's weight stream).
fn initial_weights(init: InitialWeights, spec: &Spectrum, n0: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = data::rng(seed, stream::WEIGHTS);
    let mut random =
        |n1: usize, scale: f64| DMatrix::from_fn(n1, n0, |_, _| scale * data::normal(&mut rng));
    match init {
        InitialWeights::Given(w) => w,
        InitialWeights::Random { n1, scale } => random(n1, scale / (n0 as f64).sqrt()),
        InitialWeights::Saddle { n1, keep, eps } => {
            let mut subset: Vec<usize> = keep.iter().map(|i| i - 1).collect();
            subset.sort_unstable();
            let p = random(n1, 1.0);
            let p = if p.norm() > 0.0 {
                p.clone() / p.norm() * eps
            } else {
                p
            };
            critical_weights(spec, n1, &subset) + p
        }
    }
}
