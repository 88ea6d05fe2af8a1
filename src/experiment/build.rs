//! From validated config sections to model objects: the network, weights, vectors,
//! datasets and solver options. Values are checked before (`validate()` of each
//! config section); what is checked here is the content of the files a config names.

use crate::data;
use crate::data::stream;
use crate::data::{Dataset, Distribution};
use crate::error::{Error, Result};
use crate::io::config::VectorSource;
use crate::io::config::{ActivationName, DataSection, NetworkSection, Origin, SolverSection};
use crate::model::activation::Activation;
use crate::model::network::{Network, Top};
use crate::solver::{Method, SolverOptions};
use nalgebra::{DMatrix, DVector};

pub(crate) use crate::io::config::validate::check_gains;

/// Builds the network of a validated `[network]`: activations, tau, weights (files or
/// random from the seed's weight stream) and the clamped label if any.
pub(crate) fn network_from(n: &NetworkSection, at: &Origin, seed: u64) -> Result<Network> {
    let k = n.layers.len() - 1;
    let names = n.activation.expand(k).unwrap_or_default();
    let activations = names
        .iter()
        .map(|name| match name {
            ActivationName::Linear => Activation::Linear,
            ActivationName::Logistic => Activation::Logistic,
            ActivationName::Tanh => Activation::Tanh {
                beta: n.beta.unwrap_or(1.0),
            },
            ActivationName::Amplified => Activation::Amplified {
                gains: n.gains.clone().unwrap_or_default(),
            },
        })
        .collect();
    let tau = n.tau.expand(k).unwrap_or_default();
    let weights = match (&n.weights, &n.init) {
        (Some(files), _) => weights_from_files(at, "network.weights", files, &n.layers)?,
        (None, Some(init)) => random_weights(&n.layers, init.scale, seed),
        (None, None) => Vec::new(),
    };
    let top = match &n.label {
        None => Top::Free,
        Some(src) => Top::Clamped(vector_from(at, "network.label", src, n.layers[k])?),
    };
    Network::new(n.layers.clone(), weights, activations, tau, top)
        .map_err(|e| at.err("network", e.to_string()))
}

/// Reads weight files W_1.. and checks each is n_k x n_{k-1}.
pub(crate) fn weights_from_files(
    at: &Origin,
    field: &str,
    files: &[String],
    layers: &[usize],
) -> Result<Vec<DMatrix<f64>>> {
    let k = layers.len() - 1;
    if files.len() != k {
        return Err(at.err(
            field,
            format!(
                "lists {} files but the net has {k} weight matrices",
                files.len()
            ),
        ));
    }
    let mut ws = Vec::with_capacity(k);
    for (i, f) in files.iter().enumerate() {
        let path = at.path(f);
        let w = crate::io::files::read_matrix(&path)?;
        if w.shape() != (layers[i + 1], layers[i]) {
            return Err(Error::data(
                path,
                format!(
                    "W{} is {} x {} but must be {} x {} (n_{} rows, n_{} columns)",
                    i + 1,
                    w.nrows(),
                    w.ncols(),
                    layers[i + 1],
                    layers[i],
                    i + 1,
                    i
                ),
            ));
        }
        ws.push(w);
    }
    Ok(ws)
}

/// W_k entries i.i.d. N(0, scale^2 / n_{k-1}) from the run's weight stream.
pub fn random_weights(layers: &[usize], scale: f64, seed: u64) -> Vec<DMatrix<f64>> {
    let mut rng = data::rng(seed, stream::WEIGHTS);
    layers
        .windows(2)
        .map(|w| {
            let sd = scale / (w[0] as f64).sqrt();
            DMatrix::from_fn(w[1], w[0], |_, _| sd * data::normal(&mut rng))
        })
        .collect()
}

/// A vector of n values given inline or as a CSV file.
pub(crate) fn vector_from(
    at: &Origin,
    field: &str,
    src: &VectorSource,
    n: usize,
) -> Result<DVector<f64>> {
    match src {
        VectorSource::Inline(v) => {
            crate::io::config::validate::check_values(at, field, v, n)?;
            Ok(DVector::from_column_slice(v))
        }
        VectorSource::File(f) => crate::io::files::read_vector(&at.path(f), n),
    }
}

/// Solver options of a validated `[solver]` with end time `t_end`. Defaults: dopri5,
/// output_dt = `default_output_dt`, step = output_dt / 10 where output_dt defaults to
/// t_end / 200 (so learning runs, with output_dt = t_end / 500, keep the step of
/// t_end / 2000 they always had).
pub(crate) fn solver_from(s: &SolverSection, t_end: f64, default_output_dt: f64) -> SolverOptions {
    let mut o = SolverOptions::new(s.method.unwrap_or(Method::Dopri5), t_end);
    if let Some(v) = s.rtol {
        o.rtol = v;
    }
    if let Some(v) = s.atol {
        o.atol = v;
    }
    let step_base = s.output_dt.unwrap_or(t_end / 200.0);
    o.output_dt = s.output_dt.unwrap_or(default_output_dt);
    o.step = s.step.unwrap_or(step_base / 10.0);
    if let Some(v) = s.max_steps {
        o.max_steps = v;
    }
    if let Some(v) = s.steady_tol {
        o.steady_tol = v;
    }
    if let Some(v) = s.divergence_bound {
        o.divergence_bound = v;
    }
    o
}

/// The input distribution of a validated `[data]` with n0 inputs (eigenvalues use the
/// seed's data stream).
pub(crate) fn dataset_from(d: &DataSection, at: &Origin, n0: usize, seed: u64) -> Result<Dataset> {
    if let Some(ev) = &d.eigenvalues {
        let dist = d.distribution.unwrap_or(Distribution::Gaussian);
        let mut rng = data::rng(seed, stream::DATA);
        Ok(Dataset::from_eigenvalues(
            ev,
            d.rotation.unwrap_or(true),
            dist,
            &mut rng,
        ))
    } else if let Some(f) = &d.covariance {
        let path = at.path(f);
        let s = crate::io::files::read_matrix(&path)?;
        check_covariance(&path, &s, n0)?;
        let scale = s.amax().max(1e-300);
        // The one eigendecomposition of the run: the dataset keeps it.
        let dataset = Dataset::from_covariance(s);
        check_psd(&path, dataset.spectrum().values.min(), scale)?;
        Ok(dataset)
    } else {
        let path = at.path(d.samples.as_deref().unwrap_or_default());
        let x = crate::io::files::read_matrix(&path)?;
        if x.ncols() != n0 {
            return Err(Error::data(
                path,
                format!(
                    "has {} columns but n0 = {n0}; one column per input",
                    x.ncols()
                ),
            ));
        }
        Ok(Dataset::from_samples(x))
    }
}

/// Sigma must be n0 x n0 and symmetric ([`check_psd`] then checks its spectrum).
pub(crate) fn check_covariance(path: &std::path::Path, s: &DMatrix<f64>, n0: usize) -> Result<()> {
    if s.nrows() != s.ncols() {
        return Err(Error::data(
            path,
            format!("Sigma is {} x {} but must be square", s.nrows(), s.ncols()),
        ));
    }
    if s.nrows() != n0 {
        return Err(Error::data(
            path,
            format!("Sigma is {0} x {0} but n0 = {n0}", s.nrows()),
        ));
    }
    let scale = s.amax().max(1e-300);
    if (s - s.transpose()).amax() > 1e-10 * scale {
        return Err(Error::data(
            path,
            "Sigma is not symmetric; give a symmetric matrix",
        ));
    }
    Ok(())
}

/// Sigma must be positive semi-definite: its smallest eigenvalue `min` at least
/// -1e-10 times its largest entry `scale`.
pub(crate) fn check_psd(path: &std::path::Path, min: f64, scale: f64) -> Result<()> {
    if min < -1e-10 * scale {
        return Err(Error::data(
            path,
            format!("Sigma is not positive semi-definite (smallest eigenvalue {min:.3e})"),
        ));
    }
    Ok(())
}

/// Setters for the `[solver]` keys, for builders with a `solver: SolverSection` field.
macro_rules! solver_setters {
    () => {
        /// `[solver] method` (default dopri5; coupled learning picks one by stiffness).
        pub fn method(mut self, method: $crate::solver::Method) -> Self {
            self.solver.method = Some(method);
            self
        }
        /// `[solver] rtol` (default 1e-6).
        pub fn rtol(mut self, rtol: f64) -> Self {
            self.solver.rtol = Some(rtol);
            self
        }
        /// `[solver] atol` (default 1e-9).
        pub fn atol(mut self, atol: f64) -> Self {
            self.solver.atol = Some(atol);
            self
        }
        /// `[solver] output_dt` (default t_end / 200, learning t_end / 500).
        pub fn output_dt(mut self, output_dt: f64) -> Self {
            self.solver.output_dt = Some(output_dt);
            self
        }
        /// `[solver] step` of rk4 (default output_dt / 10, with output_dt = t_end / 200
        /// when not given).
        pub fn step(mut self, step: f64) -> Self {
            self.solver.step = Some(step);
            self
        }
        /// `[solver] max_steps` per output interval (default 1e6).
        pub fn max_steps(mut self, max_steps: u32) -> Self {
            self.solver.max_steps = Some(max_steps);
            self
        }
        /// `[solver] steady_tol` (default 0: never stop early).
        pub fn steady_tol(mut self, steady_tol: f64) -> Self {
            self.solver.steady_tol = Some(steady_tol);
            self
        }
        /// `[solver] divergence_bound` (default 1e8).
        pub fn divergence_bound(mut self, bound: f64) -> Self {
            self.solver.divergence_bound = Some(bound);
            self
        }
    };
}
pub(crate) use solver_setters;
