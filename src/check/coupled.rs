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

/// coupled_vs_two_phase.png: J(t) of the three runs.
pub(crate) fn figure(dir: &RunDir, curves: Vec<Series>) -> Result<()> {
    Figure {
        title: "J(t): coupled z-W ODE, two-phase procedure, averaged ODE (same samples)".into(),
        x_label: "t (log scale)".into(),
        y_label: "J".into(),
        log_x: true,
        series: curves,
        ..Default::default()
    }
    .save(&dir.file("coupled_vs_two_phase"))
}
