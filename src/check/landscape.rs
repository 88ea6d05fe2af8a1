//! The one-layer landscape: Theorem 2 (critical sets, plateau levels, saddle count),
//! LMSER as a gradient flow, and the escape time from a saddle (docs/theory.md §2-§3).

use super::{CheckRow, Verdict, averaged_spec, row};
use crate::analysis::{Spectrum, Theorem2, critical_weights, landscape};
use crate::data;
use crate::data::{Dataset, Distribution};
use crate::dynamics::rules::{Moment, Rule};
use crate::error::Result;
use crate::executor::Metrics;
use crate::experiment::learning::simulate;
use crate::io::output::RunDir;
use crate::io::plot::{Figure, Series};
use nalgebra::DMatrix;

/// A Sigma with eigenvalues `lam` in a seeded random basis.
pub fn random_sigma(lam: &[f64], seed: u64) -> DMatrix<f64> {
    let mut rng = data::rng(seed, 4);
    Dataset::from_eigenvalues(lam, true, Distribution::Gaussian, &mut rng)
        .sigma()
        .clone()
}

/// Theorem 2: stationarity, plateau levels and classification of every critical set.
pub fn theorem2() -> Vec<CheckRow> {
    let cases: [(&[f64], usize); 3] = [
        (&[5.0, 3.0, 1.5, 0.8, 0.3], 2),
        (&[4.0, 3.0, 2.0, 1.0, 0.5, 0.25], 3),
        (&[2.0, 1.0, 0.5, 0.25], 1),
    ];
    let (mut max_grad, mut max_j, mut tol) = (0.0f64, 0.0f64, 0.0f64);
    let (mut stationary, mut counts_ok) = (true, true);
    let (mut saddles_total, mut predicted_total) = (0u64, 0u64);
    let mut counts = Vec::new();
    for (i, (lam, n1)) in cases.iter().enumerate() {
        let sigma = random_sigma(lam, 50 + i as u64);
        let pts = landscape(&sigma, *n1, 1e-6 * lam[0]);
        let t2 = Theorem2::of(&pts, lam.len(), *n1, lam[0]);
        max_grad = max_grad.max(t2.max_grad_norm);
        max_j = max_j.max(t2.max_abs_j_error);
        tol = tol.max(t2.tolerance());
        stationary &= t2.stationary();
        counts_ok &= t2.counts_hold();
        saddles_total += t2.saddles;
        predicted_total += t2.saddles_predicted;
        counts.push(format!(
            "(n0={}, n1={}): {} saddles (predicted {}), {} minimum, {} maximum",
            lam.len(),
            n1,
            t2.saddles,
            t2.saddles_predicted,
            t2.minima.len(),
            t2.maxima
        ));
    }
    vec![
        row(
            "theorem2-critical-points",
            "critical points are W = R D P Phi^T",
            format!(
                "max ||dW/dt|| at the {} representatives: {max_grad:.1e}; max |J - 1/2(tr Sigma - sum_S lambda)|: {max_j:.1e}",
                "enumerated"
            ),
            if stationary {
                Verdict::Holds
            } else {
                Verdict::Fails
            },
            true,
        )
        .key("max(||F||, |J - J(S)|)", max_grad.max(max_j), Some(tol)),
        row(
            "landscape-saddle-count",
            "one minimum (principal subspace) and sum_{i<=n1} C(n0,i) - 1 saddles",
            counts.join("; "),
            if counts_ok {
                Verdict::Holds
            } else {
                Verdict::Fails
            },
            true,
        )
        .key(
            "saddles (3 cases)",
            saddles_total as f64,
            Some(predicted_total as f64),
        ),
    ]
}

/// The averaged LMSER ODE is -grad J: central differences of J at random W.
pub fn gradient_flow() -> CheckRow {
    let sigma = random_sigma(&[5.0, 3.0, 1.5, 0.8, 0.3], 7);
    let c = Moment::Matrix(&sigma);
    let mut rng = data::rng(8, 1);
    let worst = (0..20)
        .map(|_| {
            let w = DMatrix::from_fn(2, 5, |_, _| 0.7 * data::normal(&mut rng));
            let (err, f_max) = crate::analysis::gradient_mismatch(&Rule::lmser(), &w, &c, 1e-5);
            err / (1.0 + f_max)
        })
        .fold(0.0, f64::max);
    row(
        "averaged-is-gradient-flow",
        "LMSER learning is gradient descent on J",
        format!(
            "max |dJ/dW (central differences, h = 1e-5) + F(W)| / (1 + max|F|) over 20 random W: {worst:.1e} (tolerance 1e-7)"
        ),
        if worst < 1e-7 {
            Verdict::Holds
        } else {
            Verdict::Fails
        },
        true,
    )
    .key("rel. gradient mismatch", worst, Some(1e-7))
}

/// (eps, escape time) pairs, the fitted slope of t_esc against ln(1/eps), and 1/mu.
pub type EscapeTimes = (Vec<(f64, f64)>, f64, f64);

/// Escape from the saddle S = {1, 3}: start at the saddle plus a random perturbation
/// of norm eps and record when J first falls below the plateau by half the gap to the
/// next level. The linearisation predicts t_esc = (1/mu) ln(1/eps) + const, mu the
/// unstable eigenvalue of the ODE's Jacobian (= -smallest Hessian eigenvalue).
/// Returns (eps, t_esc) pairs, the fitted slope and 1/mu.
pub fn escape_times() -> Result<EscapeTimes> {
    let lam = [5.0, 3.0, 1.5, 0.8, 0.3];
    let dataset =
        Dataset::from_eigenvalues(&lam, true, Distribution::Gaussian, &mut data::rng(12, 4));
    let spec = Spectrum::of(dataset.sigma());
    let saddle = [0usize, 2];
    let ws = critical_weights(&spec, 2, &saddle);
    let mu = -crate::analysis::hessian(&Rule::lmser(), &ws, dataset.sigma())
        .symmetric_eigenvalues()
        .min();
    let level = spec.plateau(&saddle);
    let threshold = level - 0.5 * (level - spec.plateau(&[0, 1]));
    let mut rng = data::rng(13, 1);
    let dir = DMatrix::from_fn(2, 5, |_, _| data::normal(&mut rng));
    let dir = &dir / dir.norm();
    let mut points = Vec::new();
    for e in 2..=10 {
        let eps = 10f64.powi(-e);
        let t_end = 4.0 + 1.2 * (1.0 / eps).ln() / mu;
        let s = averaged_spec(&dataset, Rule::lmser(), &ws + &dir * eps, t_end, 4000.0);
        let mut t_esc = f64::NAN;
        simulate(&s, &mut |m: &Metrics| {
            if t_esc.is_nan() && m.value("J") < threshold {
                t_esc = m.t();
            }
            Ok(())
        })?;
        points.push((eps, t_esc));
    }
    let xs: Vec<f64> = points.iter().map(|p| (1.0 / p.0).ln()).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let slope = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (x - mx) * (y - my))
        .sum::<f64>()
        / xs.iter().map(|x| (x - mx).powi(2)).sum::<f64>();
    Ok((points, slope, 1.0 / mu))
}

/// The escape-time row of the table.
pub fn escape_row(slope: f64, predicted: f64) -> CheckRow {
    let rel = (slope - predicted).abs() / predicted;
    row(
        "saddle-escape-time",
        "learning sits on saddle plateaux before escaping",
        format!(
            "escape time from saddle {{1,3}} vs ln(1/eps), eps = 1e-2..1e-10: fitted slope {slope:.4}, linearisation 1/mu = {predicted:.4} (relative difference {rel:.2e})"
        ),
        if rel < 0.05 {
            Verdict::Holds
        } else {
            Verdict::Fails
        },
        true,
    )
    .key("rel. slope error", rel, Some(0.05))
}

/// escape_times.png: the measured escape times (markers) against the linearisation's
/// slope 1/mu per e-fold of 1/eps (dashed, its intercept fitted to the points).
pub(crate) fn escape_figure(dir: &RunDir, escape: &[(f64, f64)], predicted: f64) -> Result<()> {
    let ln_inv = |e: f64| (1.0 / e).ln();
    let n = escape.len().max(1) as f64;
    let intercept = escape
        .iter()
        .map(|&(e, t)| t - predicted * ln_inv(e))
        .sum::<f64>()
        / n;
    let line = escape
        .iter()
        .map(|&(e, _)| (e, intercept + predicted * ln_inv(e)))
        .collect();
    Figure {
        title: "Escape time from the saddle {1,3} against the perturbation size".into(),
        x_label: "perturbation eps (log scale)".into(),
        y_label: "escape time".into(),
        log_x: true,
        series: vec![
            Series::new(
                format!("linearisation: slope 1/mu = {predicted:.4} per e-fold"),
                line,
            )
            .dashed()
            .color(crate::io::plot::palette(0)),
            Series::new("measured", escape.to_vec())
                .markers()
                .color(crate::io::plot::palette(3)),
        ],
        ..Default::default()
    }
    .save(&dir.file("escape_times"))
}
