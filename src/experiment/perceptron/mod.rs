//! `kind = "perceptron"`: the neuron dynamics of a fixed net with the input clamped,
//! recording the Lyapunov energy E and the slides' printed J_net (Theorem 1).

use super::{Recorder, Run, RunOptions, RunReport, network_from, solver_from, stream, vector_from};
use crate::error::Result;
use crate::io::config::Config;
use crate::io::output::Decimator;
use crate::io::plot::{Figure, Series};
use crate::model::neurons::NeuronDynamics;
use crate::solver::{self, Observer, OdeSystem, ResumePoint, SolverOptions, StopReason};
use serde_json::json;

/// At most this many units get their own `z{k}_{j}` columns.
pub const MAX_UNIT_COLUMNS: usize = 64;

mod spec;
pub use spec::*;

/// Largest increase between consecutive values and how many exceed a tolerance.
#[derive(Debug, Clone, Copy)]
struct Monotonicity {
    first: f64,
    last: f64,
    max_increase: f64,
    increases: u64,
}

impl Monotonicity {
    fn new() -> Self {
        Monotonicity {
            first: f64::NAN,
            last: f64::NAN,
            max_increase: 0.0,
            increases: 0,
        }
    }
    fn push(&mut self, v: f64, tol: f64) {
        if self.first.is_nan() {
            self.first = v;
        }
        let d = v - self.last;
        if d > 0.0 {
            self.max_increase = self.max_increase.max(d);
            if d > tol {
                self.increases += 1;
            }
        }
        self.last = v;
    }
    fn json(&self, tol: f64) -> serde_json::Value {
        json!({
            "initial": self.first,
            "final": self.last,
            "max_increase": self.max_increase,
            "increases_above_tolerance": self.increases,
            "monotone": self.max_increase <= tol,
        })
    }
}

/// The Theorem 1 verdict over the rows of a run: E (column 1) and the printed J_net
/// (column 2). Solver noise can move E by about rtol relative to its size, so an
/// increase counts only above `rel` times the largest |E| seen.
struct EnergyVerdict {
    e: Monotonicity,
    printed: Monotonicity,
    scale: f64,
    rel: f64,
}

impl EnergyVerdict {
    fn new(spec: &SolverOptions) -> Self {
        let rel = if spec.method.is_adaptive() {
            (10.0 * spec.rtol).max(1e-9)
        } else {
            1e-9
        };
        EnergyVerdict {
            e: Monotonicity::new(),
            printed: Monotonicity::new(),
            scale: 1.0,
            rel,
        }
    }
    fn push(&mut self, row: &[f64]) {
        self.scale = self.scale.max(row[1].abs()).max(row[2].abs());
        self.e.push(row[1], self.rel * self.scale);
        self.printed.push(row[2], self.rel * self.scale);
    }
    fn json(&self) -> serde_json::Value {
        let tol = self.rel * self.scale;
        json!({
            "claim": "E never increases along trajectories (Theorem 1, THEORY.md section 1)",
            "tolerance": tol,
            "E": self.e.json(tol),
            "E_printed": self.printed.json(tol),
        })
    }
}

/// Records rows and offers every output as a resume point.
struct PerceptronObserver<'r, 'a> {
    dyn_: &'r NeuronDynamics,
    rec: &'r mut Recorder<'a>,
    row: Vec<f64>,
}

impl Observer for PerceptronObserver<'_, '_> {
    fn observe(&mut self, t: f64, z: &[f64], dz: &[f64]) -> Result<()> {
        let d = self.dyn_;
        self.row.clear();
        self.row.extend([
            t,
            d.energy(z),
            d.printed_energy(z),
            d.energy_rate(z),
            norm(dz),
        ]);
        if z.len() <= MAX_UNIT_COLUMNS {
            self.row.extend_from_slice(z);
        }
        self.rec.record(&self.row)
    }
    fn wants_resume_points(&self) -> bool {
        true
    }
    fn resume_point(&mut self, point: &ResumePoint) -> Result<()> {
        self.rec.checkpoint(point.t, json!(point))
    }
}

/// CSV header of a perceptron run.
pub fn header(dyn_: &NeuronDynamics) -> Vec<String> {
    let mut h: Vec<String> = ["t", "E", "E_printed", "dE_dt", "dz_norm"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if dyn_.dim() <= MAX_UNIT_COLUMNS {
        h.extend((0..dyn_.dim()).map(|i| dyn_.state_name(i)));
    }
    h
}

/// Runs a perceptron experiment and writes its outputs.
pub fn run(cfg: &Config, opts: &RunOptions) -> Result<RunReport> {
    let mut spec = PerceptronSpec::from_config(cfg)?;
    spec.solver.interrupt = opts.interrupt.clone();
    let mut run = Run::start(cfg, opts)?;
    let outcome = record(&mut run, cfg, opts, &spec);
    run.finish(outcome)
}

/// Everything after the run directory exists; any error ends up in the summary.
fn record(run: &mut Run, cfg: &Config, opts: &RunOptions, spec: &PerceptronSpec) -> Result<()> {
    let resume: Option<ResumePoint> = run.resumed()?;
    let dyn_ = &spec.dynamics;
    let head = header(dyn_);
    let mut verdict = EnergyVerdict::new(&spec.solver);
    let mut track = |row: &[f64]| verdict.push(row);
    let mut rec = Recorder::new(run, cfg, opts, &head, spec.solver.t_end, &mut track)?;
    let mut observer = PerceptronObserver {
        dyn_,
        rec: &mut rec,
        row: Vec::with_capacity(head.len()),
    };
    let result = match &resume {
        Some(point) => solver::integrate_from(dyn_, point, &spec.solver, &mut observer),
        None => solver::integrate(dyn_, 0.0, &spec.z0, &spec.solver, &mut observer),
    };
    let plot = rec.finish()?;
    run.set("theorem1", verdict.json());
    if let Some(m) = dyn_.linear_stability_margin() {
        run.set(
            "linear_stability",
            json!({"min_eigenvalue_of_I_minus_T": m, "stable": m > 0.0}),
        );
    }
    let outcome = result.map(|(z, stats)| {
        run.set(
            "solver",
            json!({
                "method": spec.solver.method.name(),
                "rtol": spec.solver.rtol,
                "atol": spec.solver.atol,
                "accepted_steps": stats.accepted_steps,
                "rejected_steps": stats.rejected_steps,
                "rhs_evals": stats.rhs_evals,
                "outputs": stats.outputs,
                "t_final": stats.t_final,
                "stop": match stats.stop {
                    StopReason::EndTime => "t_end",
                    StopReason::SteadyState => "steady-state",
                },
            }),
        );
        let mut dz = vec![0.0; z.len()];
        dyn_.rhs(stats.t_final, &z, &mut dz);
        run.set(
            "final",
            json!({"t": stats.t_final, "E": dyn_.energy(&z), "E_printed": dyn_.printed_energy(&z),
                   "dz_norm": norm(&dz), "z": z}),
        );
    });
    plots(run, &plot, &head)?;
    outcome
}

/// energy.png (E and E_printed vs t) and activities.png (every z vs t).
fn plots(run: &Run, plot: &Decimator, head: &[String]) -> Result<()> {
    if plot.rows().is_empty() {
        return Ok(());
    }
    Figure {
        title: "Energy along the neuron dynamics".into(),
        x_label: "t".into(),
        y_label: "energy".into(),
        series: vec![
            Series::new("E (Lyapunov energy)", plot.series(1)),
            Series::new("J_net as printed on the slides", plot.series(2)),
        ],
        ..Default::default()
    }
    .save(&run.dir().file("energy"))?;
    if head.len() > 5 {
        Figure {
            title: "Activities z_kj(t)".into(),
            x_label: "t".into(),
            y_label: "z".into(),
            series: (5..head.len())
                .map(|c| Series::new(head[c].clone(), plot.series(c)))
                .collect(),
            ..Default::default()
        }
        .save(&run.dir().file("activities"))?;
    }
    Ok(())
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}
