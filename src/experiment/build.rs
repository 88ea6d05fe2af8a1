//! From config sections to model objects: the network, weights, vectors and solver
//! options, each validated with errors that name the field and the fix.

use crate::data;
use crate::data::stream;
use crate::error::{Error, Result};
use crate::io::config::{Config, positive};
use crate::model::activation::Activation;
use crate::model::network::{Network, Top};
use crate::solver::{Method, SolverOptions};
use nalgebra::{DMatrix, DVector};

/// Builds the network of `[network]`: sizes, activations, tau, weights (files or
/// seeded random), and the clamped label if any.
pub fn network_from(cfg: &Config) -> Result<Network> {
    let n = &cfg.raw.network;
    if n.layers.len() < 2 {
        return Err(cfg.err(
            "network.layers",
            "needs at least two sizes [n_0, n_1, ...] (input and one layer)",
        ));
    }
    if let Some(i) = n.layers.iter().position(|&s| s == 0) {
        return Err(cfg.err(
            "network.layers",
            format!("layer {i} has size 0; every layer needs at least one unit"),
        ));
    }
    check_layer_sizes(cfg, &n.layers)?;
    let k = n.layers.len() - 1;
    let names = n.activation.expand(k).ok_or_else(|| {
        cfg.err(
            "network.activation",
            format!("give one activation or one per layer ({k})"),
        )
    })?;
    let mut activations = Vec::with_capacity(k);
    for (i, name) in names.iter().enumerate() {
        activations.push(activation_from(cfg, name, n.layers[i + 1])?);
    }
    if n.beta.is_some() && !names.iter().any(|a| a == "tanh") {
        return Err(cfg.err("network.beta", "is only used by tanh units; remove it"));
    }
    if n.gains.is_some() && !names.iter().any(|a| a == "amplified") {
        return Err(cfg.err(
            "network.gains",
            "is only used by amplified units; remove it",
        ));
    }
    let tau = n.tau.expand(k).ok_or_else(|| {
        cfg.err(
            "network.tau",
            format!("give one tau or one per layer ({k})"),
        )
    })?;
    for t in &tau {
        positive(cfg, "network.tau", *t)?;
    }
    let weights = match (&n.weights, &n.init) {
        (Some(_), Some(_)) => {
            return Err(cfg.err(
                "network.init",
                "give either weights (files) or init, not both",
            ));
        }
        (Some(files), None) => weights_from_files(cfg, "network.weights", files, &n.layers)?,
        (None, Some(init)) => {
            let scale = positive(cfg, "network.init.scale", init.scale)?;
            random_weights(&n.layers, scale, cfg.raw.seed)
        }
        (None, None) => {
            return Err(cfg.err(
                "network.weights",
                "missing; give weight files or init = { scale = ... }",
            ));
        }
    };
    let top = match &n.label {
        None => Top::Free,
        Some(src) => {
            if k < 2 {
                return Err(cfg.err(
                    "network.label",
                    "a clamped top layer needs at least two layers above the input",
                ));
            }
            Top::Clamped(vector_from(cfg, "network.label", src, n.layers[k])?)
        }
    };
    Network::new(n.layers.clone(), weights, activations, tau, top)
        .map_err(|e| cfg.err("network", e.to_string()))
}

/// Fails when the config has one of `sections`, which its kind does not use.
pub fn reject_sections(cfg: &Config, sections: &[&str]) -> Result<()> {
    for s in sections {
        if cfg.table.contains_key(*s) {
            return Err(cfg.err(
                s,
                format!("[{s}] is not used by kind = {:?}; remove it", cfg.raw.kind),
            ));
        }
    }
    Ok(())
}

/// Largest weight matrix accepted (entries): 2^28 doubles = 2 GiB.
pub const MAX_WEIGHTS: usize = 1 << 28;

/// Rejects layer sizes whose weight matrices would not fit in memory.
pub fn check_layer_sizes(cfg: &Config, layers: &[usize]) -> Result<()> {
    for w in layers.windows(2) {
        if w[0].saturating_mul(w[1]) > MAX_WEIGHTS {
            return Err(cfg.err(
                "network.layers",
                format!(
                    "a {} x {} weight matrix is too large (limit {MAX_WEIGHTS} entries)",
                    w[1], w[0]
                ),
            ));
        }
    }
    Ok(())
}

/// One activation by name with the `[network]` parameters it needs.
fn activation_from(cfg: &Config, name: &str, units: usize) -> Result<Activation> {
    let n = &cfg.raw.network;
    Ok(match name {
        "linear" => Activation::Linear,
        "logistic" => Activation::Logistic,
        "tanh" => Activation::Tanh {
            beta: positive(cfg, "network.beta", n.beta.unwrap_or(1.0))?,
        },
        "amplified" => {
            let gains = n.gains.clone().ok_or_else(|| {
                cfg.err(
                    "network.gains",
                    "amplified units need gains = [a_1, ..., a_n]",
                )
            })?;
            Activation::Amplified {
                gains: check_gains(cfg, "network.gains", gains, units)?,
            }
        }
        other => {
            return Err(cfg.err(
                "network.activation",
                format!("unknown activation {other:?}; use linear, logistic, tanh or amplified"),
            ));
        }
    })
}

/// Gains a_1 > a_2 > ... > a_n > 0, one per unit.
pub fn check_gains(cfg: &Config, field: &str, gains: Vec<f64>, units: usize) -> Result<Vec<f64>> {
    if gains.len() != units {
        return Err(cfg.err(
            field,
            format!(
                "has {} gains but the layer has {units} units; give one per unit",
                gains.len()
            ),
        ));
    }
    let ok =
        gains.iter().all(|g| g.is_finite() && *g > 0.0) && gains.windows(2).all(|w| w[0] > w[1]);
    if !ok {
        return Err(cfg.err(
            field,
            "gains must be positive and strictly decreasing (a_1 > a_2 > ... > 0)",
        ));
    }
    Ok(gains)
}

/// Reads weight files W_1.. and checks each is n_k x n_{k-1}.
pub fn weights_from_files(
    cfg: &Config,
    field: &str,
    files: &[String],
    layers: &[usize],
) -> Result<Vec<DMatrix<f64>>> {
    let k = layers.len() - 1;
    if files.len() != k {
        return Err(cfg.err(
            field,
            format!(
                "lists {} files but the net has {k} weight matrices",
                files.len()
            ),
        ));
    }
    let mut ws = Vec::with_capacity(k);
    for (i, f) in files.iter().enumerate() {
        let path = cfg.path(f);
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
pub fn vector_from(
    cfg: &Config,
    field: &str,
    src: &crate::io::config::VectorSource,
    n: usize,
) -> Result<DVector<f64>> {
    use crate::io::config::VectorSource;
    match src {
        VectorSource::Inline(v) => {
            if v.len() != n {
                return Err(cfg.err(field, format!("has {} values but needs {n}", v.len())));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(cfg.err(field, "contains NaN or inf; give finite values"));
            }
            Ok(DVector::from_column_slice(v))
        }
        VectorSource::File(f) => crate::io::files::read_vector(&cfg.path(f), n),
    }
}

/// Solver options from `[solver]`, validated; `t_end` overrides `solver.t_end`.
pub fn solver_from(cfg: &Config, t_end: Option<f64>) -> Result<SolverOptions> {
    let default = crate::io::config::RawSolver {
        method: None,
        rtol: None,
        atol: None,
        t_end: None,
        output_dt: None,
        step: None,
        max_steps: None,
        steady_tol: None,
        divergence_bound: None,
        checkpoint_interval: None,
    };
    let s = match (&cfg.raw.solver, t_end) {
        (Some(s), _) => s,
        (None, Some(_)) => &default,
        (None, None) => {
            return Err(cfg.err("solver", "missing [solver] section; give at least t_end"));
        }
    };
    let name = s.method.as_deref().unwrap_or("dopri5");
    let method = Method::from_name(name).ok_or_else(|| {
        cfg.err(
            "solver.method",
            format!(
                "unknown method {name:?}; use dopri5, dop853, rk4, fixed-point, rodas4 or ros2"
            ),
        )
    })?;
    let t_end = match (t_end, s.t_end) {
        (Some(t), _) => t,
        (None, Some(t)) => positive(cfg, "solver.t_end", t)?,
        (None, None) => return Err(cfg.err("solver.t_end", "missing; give the end time")),
    };
    let mut o = SolverOptions::new(method, t_end);
    if let Some(v) = s.rtol {
        o.rtol = positive(cfg, "solver.rtol", v)?;
    }
    if let Some(v) = s.atol {
        o.atol = positive(cfg, "solver.atol", v)?;
    }
    o.output_dt = positive(
        cfg,
        "solver.output_dt",
        s.output_dt.unwrap_or(t_end / 200.0),
    )?;
    if o.output_dt > t_end {
        return Err(cfg.err("solver.output_dt", format!("must be <= t_end = {t_end}")));
    }
    if t_end / o.output_dt > 1e8 {
        return Err(cfg.err(
            "solver.output_dt",
            format!(
                "t_end / output_dt = {:.1e} output rows is too many (limit 1e8); raise output_dt",
                t_end / o.output_dt
            ),
        ));
    }
    o.step = positive(cfg, "solver.step", s.step.unwrap_or(o.output_dt / 10.0))?;
    if let Some(v) = s.max_steps {
        if v == 0 {
            return Err(cfg.err("solver.max_steps", "must be >= 1"));
        }
        o.max_steps = v;
    }
    if let Some(v) = s.steady_tol {
        o.steady_tol = crate::io::config::non_negative(cfg, "solver.steady_tol", v)?;
    }
    if let Some(v) = s.divergence_bound {
        o.divergence_bound = positive(cfg, "solver.divergence_bound", v)?;
    }
    if let Some(v) = s.checkpoint_interval
        && !(v.is_finite() && (0.0..=1e6).contains(&v))
    {
        return Err(cfg.err(
            "solver.checkpoint_interval",
            format!("must be a number of seconds in [0, 1e6] (got {v})"),
        ));
    }
    if method == Method::FixedPoint {
        for (field, v) in [("solver.t_end", t_end), ("solver.output_dt", o.output_dt)] {
            if v.fract() != 0.0 {
                return Err(cfg.err(field, "counts sweeps for fixed-point; give a whole number"));
            }
        }
    }
    Ok(o)
}
