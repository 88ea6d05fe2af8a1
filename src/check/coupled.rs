//! The coupled z-W ODE against the slides' two-phase procedure and the averaged ODE
//! (docs/theory.md §6).

use super::{CheckRow, Verdict, row};
use crate::error::Result;
use crate::executor::Metrics;
use crate::experiment::learning::{LearningSpec, simulate};
use crate::io::output::RunDir;
use crate::io::plot::{Figure, Series};
use std::path::Path;

/// Coupled (samples held for T_p, Rodas4), two-phase (settle with the neuron ODE, then
/// a weight step) and the averaged ODE from one config and sample sequence: the final
/// W of coupled and two-phase differ by the adiabatic error ~ tau/T_p + T_p/tau_w, and
/// the cost of each is measured. Returns the row and J(t) of each run.
pub fn coupled_vs_two_phase() -> Result<(CheckRow, Vec<Series>)> {
    let text = r#"
name = "c"
kind = "learning"
seed = 3
[network]
layers = [5, 2]
[data]
eigenvalues = [5.0, 3.0, 1.5, 0.8, 0.3]
[learning]
mode = "MODE"
tau = 0.001
tau_w = 100.0
presentation = 0.1
t_end = 400.0
[init]
scale = 0.3
[solver]
rtol = 1e-7
atol = 1e-10
output_dt = 1.0
"#;
    let mut series = Vec::new();
    let mut finals = Vec::new();
    let mut costs = Vec::new();
    for (mode, label) in [
        ("coupled", "coupled (Rodas4)"),
        ("two-phase", "two-phase (ODE settling)"),
        ("averaged", "averaged ODE"),
    ] {
        let mut text = text.replace("MODE", mode);
        if mode == "averaged" {
            text = text
                .replace("tau = 0.001\n", "")
                .replace("presentation = 0.1\n", "");
        }
        let cfg = crate::io::config::Config::parse(&text, Path::new("check.toml"))?;
        let spec = LearningSpec::from_config(&cfg)?;
        let mut curve = Vec::new();
        let start = std::time::Instant::now();
        let (w, report) = simulate(&spec, &mut |m: &Metrics| {
            curve.push((m.t(), m.value("J")));
            Ok(())
        })?;
        costs.push(format!(
            "{label}: {:.3} s, {} rhs evals",
            start.elapsed().as_secs_f64(),
            report.rhs_evals.unwrap_or(0)
        ));
        series.push(Series::new(
            label,
            curve.into_iter().filter(|p| p.0 > 0.0).collect(),
        ));
        finals.push((w, spec.w0.clone()));
    }
    let moved = (&finals[1].0 - &finals[1].1).norm();
    let rel = (&finals[0].0 - &finals[1].0).norm() / moved;
    let predicted = 0.001 / 0.1 + 0.1 / 100.0;
    Ok((
        row(
            "coupled-vs-two-phase",
            "the two-phase procedure (settle, then learn) is the slow-weight limit",
            format!(
                "4000 samples, tau = 1e-3, T_p = 0.1, tau_w = 100: ||W_coupled - W_two-phase|| / ||W - W0|| = {rel:.2e} (tau/T_p + T_p/tau_w = {predicted:.1e}); cost {}",
                costs.join("; ")
            ),
            if rel < 2.0 * predicted {
                Verdict::Holds
            } else {
                Verdict::Fails
            },
            true,
        )
        .key("relative W gap", rel, Some(2.0 * predicted)),
        series,
    ))
}

/// coupled_vs_two_phase.png: J(t) of the three runs (coupled solid, two-phase dashed
/// on top of it, averaged ODE grey) and, below, J_coupled - J_two-phase: the curves in
/// `curves` are coupled, two-phase, averaged, in that order.
pub(crate) fn figure(dir: &RunDir, curves: Vec<Series>) -> Result<()> {
    use crate::io::plot::{Panels, Rgb, palette};
    let at = |s: &Series, t: f64| {
        let k = s
            .points
            .partition_point(|p| p.0 < t)
            .min(s.points.len() - 1);
        let (a, b) = (s.points[k.saturating_sub(1)], s.points[k]);
        if b.0 > a.0 {
            a.1 + (b.1 - a.1) * (t - a.0) / (b.0 - a.0)
        } else {
            b.1
        }
    };
    let diff: Vec<(f64, f64)> = match (curves.first(), curves.get(1)) {
        (Some(c), Some(p)) if !p.points.is_empty() => {
            c.points.iter().map(|&(t, j)| (t, j - at(p, t))).collect()
        }
        _ => Vec::new(),
    };
    let styled = curves
        .into_iter()
        .enumerate()
        .map(|(i, s)| match i {
            0 => s.color(palette(0)),
            1 => s.color(palette(1)).dashed(),
            _ => s.color(Rgb(120, 120, 120)),
        })
        .collect();
    let top = Figure {
        title: "J(t)".into(),
        y_label: "J".into(),
        log_x: true,
        series: styled,
        ..Default::default()
    };
    let bottom = Figure {
        title: "difference of the coupled and two-phase runs".into(),
        x_label: "t (log scale)".into(),
        y_label: "J_coupled - J_two-phase".into(),
        log_x: true,
        series: vec![Series::new("J_coupled - J_two-phase", diff).color(palette(3))],
        levels: vec![crate::io::plot::Level::new(0.0, "")],
        ..Default::default()
    };
    Panels {
        title: "Coupled z-W ODE, two-phase procedure and averaged ODE on the same samples".into(),
        panels: vec![top, bottom],
        columns: 1,
        shared_legend: true,
    }
    .save(&dir.file("coupled_vs_two_phase"))
}
