//! `kind = "learning"`: the weight dynamics tau_w dW/dt of a one-layer net
//! (docs/theory.md §2-§6), one [`Stepper`](crate::executor::Stepper) per mode
//! ([`steppers`]): `averaged` (the ODE in W driven by Sigma), `stochastic`
//! (W += eta/tau_w F(W; x x^T) on fresh samples, t advancing by eta per step so all
//! modes share a time axis), `coupled` (neurons and weights in one ODE) and
//! `two-phase` (settle, then one weight step per sample).

mod held;
mod plots;
mod probe;
mod spec;
pub mod steppers;

pub use crate::dynamics::averaged::AveragedLearning;
pub use held::{HeldStepper, Presentations, Settling, run_samples, two_phase};
pub use probe::{MAX_OVERLAP_COLUMNS, WeightProbe, row_alignment};
pub use spec::*;
pub use steppers::{LearningState, Simulation, simulate};

use super::{Kind, PlotBuffer, Run, RunOptions, drive};
use crate::analysis::{ALIGNED, alignment, rows_aligned_in_order};
use crate::error::Result;
use crate::executor::{Metrics, Observer};
use crate::io::config::Config;
use plots::plots;
use serde::Serialize;

/// The learning kind.
pub(crate) struct Learning;

/// J never increasing is the verdict of a gradient flow: the largest rise seen.
struct JTracker {
    last: f64,
    max_increase: f64,
}

impl Observer for JTracker {
    fn observe(&mut self, m: &Metrics) -> Result<()> {
        let j = m.value("J");
        let d = j - self.last;
        if d > 0.0 {
            self.max_increase = self.max_increase.max(d);
        }
        self.last = j;
        Ok(())
    }
}

/// `learning` in `summary.json`.
#[derive(Serialize)]
struct LearningResults<'a> {
    rule: String,
    mode: &'static str,
    tau_w: f64,
    eigenvalues: &'a [f64],
    #[serde(rename = "J_min_predicted")]
    j_min_predicted: f64,
    #[serde(rename = "J_max_increase")]
    j_max_increase: f64,
}

/// `final` in `summary.json`.
#[derive(Serialize)]
struct FinalWeights {
    t: Option<f64>,
    #[serde(rename = "J")]
    j: Option<f64>,
    grad_norm: Option<f64>,
    subspace_error: Option<f64>,
    orth_error: Option<f64>,
    abs_cos_rows_vs_eigenvectors: Vec<Vec<f64>>,
    rows_aligned_in_order: bool,
}

impl Kind for Learning {
    type Spec = LearningSpec;

    fn spec(cfg: &Config) -> Result<LearningSpec> {
        LearningSpec::from_config(cfg)
    }

    fn run(spec: &LearningSpec, run: &mut Run, opts: &RunOptions) -> Result<()> {
        let mut jt = JTracker {
            last: f64::NAN,
            max_increase: 0.0,
        };
        let mut plot = PlotBuffer::new();
        let sim = Simulation::new(spec)?;
        let observers: [&mut dyn Observer; 2] = [&mut jt, &mut plot];
        let (sim, result) = drive(sim, run, opts, spec.solver.t_end, observers);
        let n1 = spec.w0.nrows();
        let lam = &spec.spectrum.values;
        let j_min = spec.spectrum.plateau(&(0..n1).collect::<Vec<_>>());
        run.set(
            "learning",
            &LearningResults {
                rule: spec.rule.describe(),
                mode: spec.mode.name(),
                tau_w: spec.tau_w,
                eigenvalues: lam.as_slice(),
                j_min_predicted: j_min,
                j_max_increase: jt.max_increase,
            },
        );
        if result.is_ok() {
            run.set("solver", &sim.report(spec));
            let w = sim.weights();
            crate::io::files::write_matrix(&run.dir().file("W1.csv"), &w)?;
            let cos = alignment(&w, &spec.spectrum);
            let last = plot.rows().last().cloned().unwrap_or_default();
            let col = |name: &str| last.get(plot.column(name)).copied();
            let fin = FinalWeights {
                t: last.first().copied(),
                j: col("J"),
                grad_norm: col("grad_norm"),
                subspace_error: col("subspace_error"),
                orth_error: col("orth_error"),
                abs_cos_rows_vs_eigenvectors: (0..n1)
                    .map(|i| cos.row(i).iter().copied().collect())
                    .collect(),
                rows_aligned_in_order: rows_aligned_in_order(&cos, ALIGNED),
            };
            run.say(format!(
                "  J = {:.6e} (predicted minimum {j_min:.6e}), subspace error {:.3e}, orthonormality error {:.3e}, rows aligned in order: {}",
                fin.j.unwrap_or(f64::NAN),
                fin.subspace_error.unwrap_or(f64::NAN),
                fin.orth_error.unwrap_or(f64::NAN),
                fin.rows_aligned_in_order
            ));
            run.set("final", &fin);
        }
        // A failed plot must not hide the run's own outcome.
        let plotted = plots(run, &plot, spec);
        result.and(plotted)
    }
}
