//! `kind = "perceptron"`: the neuron dynamics of a fixed net with the input clamped,
//! recording the Lyapunov energy E and the slides' printed J_net (Theorem 1,
//! docs/theory.md §1).

mod plots;
mod spec;
pub use spec::*;

use super::{EnergyVerdict, Kind, PlotBuffer, Run, RunOptions, drive};
use crate::error::Result;
use crate::executor::{Observer, OdeStepper, Probe};
use crate::io::config::Config;
use crate::io::summary::SolverReport;
use crate::model::neurons::NeuronDynamics;
use crate::solver::{OdeSystem, StopReason, norm};
use serde::Serialize;

/// At most this many units get their own `z{k}_{j}` columns.
pub const MAX_UNIT_COLUMNS: usize = 64;

/// The perceptron kind.
pub(crate) struct Perceptron;

/// The metrics of a neuron state: E, the printed J_net, dE/dt, ||dz/dt|| and (for
/// nets of at most [`MAX_UNIT_COLUMNS`] units) every activity.
pub struct EnergyProbe<'a> {
    dynamics: &'a NeuronDynamics,
}

impl<'a> EnergyProbe<'a> {
    /// The probe of `dynamics`.
    pub fn new(dynamics: &'a NeuronDynamics) -> Self {
        EnergyProbe { dynamics }
    }
}

impl Probe for EnergyProbe<'_> {
    fn names(&self) -> Vec<String> {
        let d = self.dynamics;
        let mut h: Vec<String> = ["E", "E_printed", "dE_dt", "dz_norm"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if d.dim() <= MAX_UNIT_COLUMNS {
            h.extend((0..d.dim()).map(|i| d.state_name(i)));
        }
        h
    }

    fn values(&mut self, _t: f64, z: &[f64], dz: &[f64], row: &mut Vec<f64>) {
        let d = self.dynamics;
        row.extend([d.energy(z), d.printed_energy(z), d.energy_rate(z), norm(dz)]);
        if z.len() <= MAX_UNIT_COLUMNS {
            row.extend_from_slice(z);
        }
    }
}

/// `final` in the summary of a perceptron run.
#[derive(Serialize)]
struct Final<'a> {
    t: f64,
    #[serde(rename = "E")]
    e: f64,
    #[serde(rename = "E_printed")]
    e_printed: f64,
    dz_norm: f64,
    z: &'a [f64],
}

/// `linear_stability` in the summary.
#[derive(Serialize)]
struct LinearStability {
    #[serde(rename = "min_eigenvalue_of_I_minus_T")]
    min_eigenvalue: f64,
    stable: bool,
}

impl Kind for Perceptron {
    type Spec = PerceptronSpec;

    fn spec(cfg: &Config) -> Result<PerceptronSpec> {
        PerceptronSpec::from_config(cfg)
    }

    fn run(spec: &PerceptronSpec, run: &mut Run, opts: &RunOptions) -> Result<()> {
        let dynamics = &spec.dynamics;
        let solver = &spec.solver;
        let stepper = OdeStepper::new(dynamics, 0.0, &spec.z0, solver, EnergyProbe::new(dynamics))?;
        let rel = if solver.method.is_adaptive() {
            (10.0 * solver.rtol).max(1e-9)
        } else {
            1e-9
        };
        let mut verdict = EnergyVerdict::new(rel);
        let mut plot = PlotBuffer::new();
        let observers: [&mut dyn Observer; 2] = [&mut verdict, &mut plot];
        let (stepper, result) = drive(stepper, run, opts, solver.t_end, observers);
        let v = verdict.verdict();
        for (name, m) in [("E", &v.e), ("E_printed", &v.printed)] {
            run.say(format!(
                "  {name:<10} monotone: {:<5}  largest increase: {:.3e}",
                m.monotone, m.max_increase
            ));
        }
        run.set("theorem1", &v);
        if let Some(m) = dynamics.linear_stability_margin() {
            let stability = LinearStability {
                min_eigenvalue: m,
                stable: m > 0.0,
            };
            run.set("linear_stability", &stability);
        }
        if result.is_ok() {
            let d = stepper.driver();
            let stats = d.stats();
            let mut report = SolverReport::of(solver, &stats);
            report.t_final = Some(stats.t_final);
            report.stop = Some(
                match stats.stop {
                    StopReason::EndTime => "t_end",
                    StopReason::SteadyState => "steady-state",
                }
                .into(),
            );
            run.set("solver", &report);
            let z = d.y();
            let last = Final {
                t: stats.t_final,
                e: dynamics.energy(z),
                e_printed: dynamics.printed_energy(z),
                dz_norm: norm(d.dy().unwrap_or_default()),
                z,
            };
            run.set("final", &last);
        }
        // A failed plot must not hide the run's own outcome.
        let plotted = plots::plots(run, &plot, spec);
        result.and(plotted)
    }
}
