//! `kind = "landscape"`: every critical set of the one-layer LMSER landscape
//! (Theorem 2, THEORY.md section 3), checked for stationarity and classified by the
//! eigenvalues of the Hessian of J.

use super::{Run, RunOptions, RunReport};
use crate::analysis::{CriticalKind, Spectrum, landscape_until, predicted_saddles};
use crate::error::Result;
use crate::io::config::{Config, positive};
use crate::io::output::write_atomic;
use serde_json::json;

/// Largest n0 enumerated (the number of subsets grows like C(n0, n1)).
pub const MAX_N0: usize = 14;

/// Runs a landscape experiment: writes `critical_points.csv` and the summary.
pub fn run(cfg: &Config, opts: &RunOptions) -> Result<RunReport> {
    super::reject_sections(cfg, &["input", "initial", "learning", "init"])?;
    if cfg.raw.data.as_ref().is_some_and(|d| d.n_samples.is_some()) {
        return Err(cfg.err(
            "data.n_samples",
            "is not used by kind = \"landscape\"; remove it",
        ));
    }
    let layers = &cfg.raw.network.layers;
    if layers.len() != 2 || layers.contains(&0) || layers[1] >= layers[0] {
        return Err(cfg.err(
            "network.layers",
            format!("the landscape needs one layer [n0, n1] with 1 <= n1 < n0 (got {layers:?})"),
        ));
    }
    let (n0, n1) = (layers[0], layers[1]);
    if n0 > MAX_N0 {
        return Err(cfg.err(
            "network.layers",
            format!("n0 = {n0} is too large to enumerate; use n0 <= {MAX_N0}"),
        ));
    }
    let dataset = super::learning::dataset_from(cfg, n0)?;
    let sigma = dataset.sigma();
    let spec = Spectrum::of(sigma);
    let lam1 = spec.values[0];
    let zero_tol = match cfg.raw.landscape.as_ref().and_then(|l| l.zero_tol) {
        Some(t) => positive(cfg, "landscape.zero_tol", t)?,
        None => 1e-6 * lam1,
    };
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
    let mut run = Run::start(cfg, opts)?;
    let stop = || {
        opts.interrupt
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
    };
    let points = landscape_until(sigma, n1, zero_tol, &stop);
    if stop() {
        return run.finish(Err(crate::Error::Interrupted { time: 0.0 }));
    }
    let outcome = write_points(&mut run, &points, &spec, n0, n1, zero_tol);
    run.finish(outcome)
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
    let lam1 = spec.values[0];
    let mut csv = String::from(
        "subset,J,grad_norm,n_negative,n_zero,n_positive,kind,hessian_eigenvalues,J_predicted\n",
    );
    for p in points {
        let subset: Vec<String> = p.subset.iter().map(|i| (i + 1).to_string()).collect();
        let mu: Vec<String> = p
            .hessian_eigenvalues
            .iter()
            .map(|m| format!("{m:.10e}"))
            .collect();
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            subset.join("-"),
            p.j,
            p.grad_norm,
            p.n_negative,
            p.n_zero,
            p.n_positive,
            p.kind.name(),
            mu.join(" "),
            p.j_predicted
        ));
    }
    write_atomic(&run.dir().file("critical_points.csv"), csv.as_bytes())?;
    let count = |k: CriticalKind| points.iter().filter(|p| p.kind == k).count();
    let max_grad = points.iter().map(|p| p.grad_norm).fold(0.0, f64::max);
    let max_j_err = points
        .iter()
        .map(|p| (p.j - p.j_predicted).abs())
        .fold(0.0, f64::max);
    let minima: Vec<String> = points
        .iter()
        .filter(|p| p.kind == CriticalKind::Minimum)
        .map(|p| {
            p.subset
                .iter()
                .map(|i| (i + 1).to_string())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect();
    let principal = (1..=n1)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("-");
    let predicted = predicted_saddles(n0, n1);
    let verdict = count(CriticalKind::Saddle) as u64 == predicted
        && minima == vec![principal.clone()]
        && count(CriticalKind::Maximum) == 1
        && max_grad < 1e-9 * lam1.max(1.0);
    run.set(
        "landscape",
        json!({
            "n0": n0, "n1": n1, "eigenvalues": spec.values.as_slice(),
            "critical_sets": points.len(),
            "minima": minima, "principal_subset": principal,
            "saddles": count(CriticalKind::Saddle), "saddles_predicted": predicted,
            "maxima": count(CriticalKind::Maximum),
            "max_grad_norm": max_grad, "max_abs_J_minus_predicted": max_j_err,
            "hessian": {"method": "central differences of the analytic gradient",
                        "step": crate::analysis::HESSIAN_STEP, "zero_tol": zero_tol},
            "theorem2_holds": verdict,
        }),
    );
    Ok(())
}
