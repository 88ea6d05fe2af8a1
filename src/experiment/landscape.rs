//! `kind = "landscape"`: every critical set of the one-layer LMSER landscape
//! (Theorem 2, docs/theory.md §3), checked for stationarity and classified by the
//! eigenvalues of the Hessian of J.

use super::{Kind, Run, RunOptions};
use crate::analysis::{Spectrum, Theorem2, landscape_until};
use crate::error::Result;
use crate::io::config::{Config, DataSection, Experiment, KindName};
use crate::io::output::write_csv;
use nalgebra::DMatrix;
use serde::Serialize;

/// Largest n0 enumerated (the number of subsets grows like C(n0, n1)).
pub const MAX_N0: usize = crate::io::config::MAX_LANDSCAPE_N0;

/// The landscape kind.
pub(crate) struct Landscape;

/// A landscape experiment ready to run: Sigma, its spectrum, the sizes and the
/// Hessian's zero tolerance.
pub struct LandscapeSpec {
    /// Sigma = E[x x^T] (n0 x n0), with distinct positive eigenvalues.
    pub sigma: DMatrix<f64>,
    /// Eigenvalues lambda_1 > ... > lambda_n0 > 0 and eigenvectors phi_i of Sigma.
    pub spectrum: Spectrum,
    /// Number of inputs (at most MAX_N0).
    pub n0: usize,
    /// Number of units, 1 <= n1 < n0 (rows of W).
    pub n1: usize,
    /// Hessian eigenvalues with |mu| <= zero_tol count as zero (default 1e-6 lambda_1).
    pub zero_tol: f64,
}

impl Kind for Landscape {
    type Spec = LandscapeSpec;

    fn spec(cfg: &Config) -> Result<LandscapeSpec> {
        LandscapeSpec::from_config(cfg)
    }

    fn run(s: &LandscapeSpec, run: &mut Run, opts: &RunOptions) -> Result<()> {
        let stop = || crate::solver::raised(&opts.interrupt);
        let points = landscape_until(&s.sigma, s.n1, s.zero_tol, &stop);
        crate::solver::poll(&opts.interrupt, 0.0)?;
        write_points(run, &points, &s.spectrum, s.n0, s.n1, s.zero_tol)
    }
}

impl LandscapeSpec {
    /// Builds the spec from a config (reads every file it names): parse (done by
    /// [`Config`]), [`validate`](crate::io::config::LandscapeConfig::validate), then
    /// the dataset.
    pub fn from_config(cfg: &Config) -> Result<LandscapeSpec> {
        let Experiment::Landscape(c) = &cfg.experiment else {
            return Err(cfg.wrong_kind(KindName::Landscape));
        };
        let at = cfg.origin();
        c.validate(at)?;
        let (n0, n1) = (c.network.layers[0], c.network.layers[1]);
        let data = DataSection::from(c.data.clone().expect("validated"));
        let dataset = super::dataset_from(&data, at, n0, c.seed)?;
        let sigma = dataset.sigma();
        let spec = dataset.spectrum().clone();
        let lam1 = spec.values[0];
        let zero_tol = c
            .landscape
            .as_ref()
            .and_then(|l| l.zero_tol)
            .unwrap_or(1e-6 * lam1);
        let gaps = spec
            .values
            .as_slice()
            .windows(2)
            .map(|w| w[0] - w[1])
            .fold(f64::MAX, f64::min);
        if gaps <= 1e-9 * lam1 || spec.values[n0 - 1] <= 0.0 {
            return Err(cfg.err(
                "data",
                "Theorem 2 needs distinct positive eigenvalues of Sigma; perturb repeated ones",
            ));
        }
        Ok(LandscapeSpec {
            sigma: sigma.clone(),
            spectrum: spec,
            n0,
            n1,
            zero_tol,
        })
    }
}

/// `landscape` in `summary.json`.
#[derive(Serialize)]
struct LandscapeResults<'a> {
    n0: usize,
    n1: usize,
    eigenvalues: &'a [f64],
    critical_sets: usize,
    minima: Vec<String>,
    principal_subset: String,
    saddles: usize,
    saddles_predicted: u64,
    maxima: usize,
    max_grad_norm: f64,
    #[serde(rename = "max_abs_J_minus_predicted")]
    max_abs_j_minus_predicted: f64,
    hessian: HessianMethod,
    theorem2_holds: bool,
}

/// How the Hessian was computed.
#[derive(Serialize)]
struct HessianMethod {
    method: &'static str,
    step: f64,
    zero_tol: f64,
}

/// 1-based indices joined by `-` (empty for W = 0).
fn subset_name(subset: &[usize]) -> String {
    subset
        .iter()
        .map(|i| (i + 1).to_string())
        .collect::<Vec<_>>()
        .join("-")
}

/// critical_points.csv and the landscape summary.
fn write_points(
    run: &mut Run,
    points: &[crate::analysis::CriticalPoint],
    spec: &Spectrum,
    n0: usize,
    n1: usize,
    zero_tol: f64,
) -> Result<()> {
    let header = [
        "subset",
        "J",
        "grad_norm",
        "n_negative",
        "n_zero",
        "n_positive",
        "kind",
        "hessian_eigenvalues",
        "J_predicted",
    ];
    let mut records = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for p in points {
        let mu: Vec<String> = p
            .hessian_eigenvalues
            .iter()
            .map(|m| format!("{m:.10e}"))
            .collect();
        records.push(vec![
            subset_name(&p.subset),
            p.j.to_string(),
            p.grad_norm.to_string(),
            p.n_negative.to_string(),
            p.n_zero.to_string(),
            p.n_positive.to_string(),
            p.kind.name().to_string(),
            mu.join(" "),
            p.j_predicted.to_string(),
        ]);
    }
    write_csv(&run.dir().file("critical_points.csv"), records)?;
    let t2 = Theorem2::of(points, n0, n1, spec.values[0]);
    let verdict = t2.holds();
    let results = LandscapeResults {
        n0,
        n1,
        eigenvalues: spec.values.as_slice(),
        critical_sets: points.len(),
        minima: t2.minima.iter().map(|s| subset_name(s)).collect(),
        principal_subset: subset_name(&(0..n1).collect::<Vec<_>>()),
        saddles: t2.saddles as usize,
        saddles_predicted: t2.saddles_predicted,
        maxima: t2.maxima,
        max_grad_norm: t2.max_grad_norm,
        max_abs_j_minus_predicted: t2.max_abs_j_error,
        hessian: HessianMethod {
            method: "central differences of the analytic gradient",
            step: crate::analysis::HESSIAN_STEP,
            zero_tol,
        },
        theorem2_holds: verdict,
    };
    run.say(format!(
        "  {} critical sets: minima {:?} (predicted [{}]), {} saddles (predicted {}), {} maxima (predicted 1); Theorem 2 holds: {}",
        results.critical_sets,
        results.minima,
        results.principal_subset,
        results.saddles,
        results.saddles_predicted,
        results.maxima,
        verdict
    ));
    run.set("landscape", &results);
    Ok(())
}
