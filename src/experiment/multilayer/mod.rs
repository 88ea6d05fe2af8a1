//! `kind = "learning"` for multilayer nets (docs/theory.md §10): the weights of a
//! K-layer LMSER net learn at each sample's settled state, by the averaged ODE or by
//! minibatch steps ([`steppers`]). Outputs: `trajectory.csv` (t, J, grad_norm,
//! cos_exact, accuracy ...), `W1.csv` .. `WK.csv`, `summary.json` and plots.

mod coupled;
pub(crate) mod spec;
pub mod steppers;

pub use spec::{MultilayerSpec, SampleSet};
pub use steppers::{MultilayerSimulation, MultilayerState};

use super::{Kind, PlotBuffer, Run, RunOptions, drive};
use crate::error::Result;
use crate::executor::Observer;
use crate::io::config::Config;
use crate::io::plot::{Figure, Panels, Series};
use serde::Serialize;

/// The multilayer learning kind.
pub(crate) struct Multilayer;

/// `learning` in `summary.json`.
#[derive(Serialize)]
struct MultilayerResults {
    layers: Vec<usize>,
    activations: Vec<&'static str>,
    rule: crate::dynamics::multilayer::MultiRule,
    mode: crate::io::config::MultilayerMode,
    supervised: bool,
    tau_w: f64,
    train_samples: usize,
    test_samples: usize,
    #[serde(rename = "final")]
    last: Vec<(String, f64)>,
}

impl Kind for Multilayer {
    type Spec = MultilayerSpec;

    fn spec(cfg: &Config) -> Result<MultilayerSpec> {
        MultilayerSpec::from_config(cfg)
    }

    fn run(spec: &MultilayerSpec, run: &mut Run, opts: &RunOptions) -> Result<()> {
        let mut plot = PlotBuffer::new();
        let sim = MultilayerSimulation::new(spec)?;
        let observers: [&mut dyn Observer; 1] = [&mut plot];
        let (sim, result) = drive(sim, run, opts, spec.solver.t_end, observers);
        if let Some(report) = sim.report() {
            run.set("solver", &report);
        }
        let w = sim.weights();
        for (k, m) in w.iter().enumerate() {
            crate::io::files::write_matrix(&run.dir().file(&format!("W{}.csv", k + 1)), m)?;
        }
        // The plot's names start with t, like its rows.
        let names = plot.names().to_vec();
        let last = plot.rows().last().cloned().unwrap_or_default();
        let mut layers = vec![spec.train.x.nrows()];
        layers.extend(spec.w0.iter().map(|m| m.nrows()));
        run.set(
            "learning",
            &MultilayerResults {
                layers,
                activations: spec.stack.activations.iter().map(|a| a.name()).collect(),
                rule: spec.rule,
                mode: spec.mode,
                supervised: spec.supervised,
                tau_w: spec.tau_w,
                train_samples: spec.train.len(),
                test_samples: spec.test.as_ref().map_or(0, |t| t.len()),
                last: names.iter().cloned().zip(last.iter().copied()).collect(),
            },
        );
        if let (Some(j), Some(c)) = (plot.column_opt("J"), plot.column_opt("cos_exact")) {
            run.say(format!(
                "  J = {:.6e}, cos_exact = {:.4}",
                last.get(j).copied().unwrap_or(f64::NAN),
                last.get(c).copied().unwrap_or(f64::NAN)
            ));
        }
        let plotted = curves(run, &plot);
        result.and(plotted)
    }
}

/// `learning.png`: J (log; train, and test dashed) and cos_exact against t.
fn curves(run: &Run, plot: &PlotBuffer) -> Result<()> {
    let series = |name: &str| {
        plot.column_opt(name)
            .map(|_| Series::new(name, plot.series(name)))
    };
    let mut panels = Vec::new();
    if let Some(j) = series("J") {
        let mut lines = vec![j];
        lines.extend(series("J_test").map(Series::dashed));
        panels.push(Figure {
            title: "reconstruction error J".into(),
            x_label: "t".into(),
            y_label: "J".into(),
            log_y: true,
            series: lines,
            ..Figure::default()
        });
    }
    if let Some(c) = series("cos_exact") {
        panels.push(Figure {
            title: "cosine of the slides' update with -dJ/dW".into(),
            x_label: "t".into(),
            y_label: "cos_exact".into(),
            series: vec![c],
            y_range: Some((-1.0, 1.0)),
            ..Figure::default()
        });
    }
    Panels {
        title: "multilayer LMSER".into(),
        columns: panels.len(),
        panels,
        shared_legend: false,
    }
    .save(&run.dir().file("learning"))
}
