//! `kind = "learning"`: the weight dynamics tau_w dW/dt of a one-layer net (THEORY.md
//! sections 2-5) in `averaged` mode (an ODE in W driven by Sigma, integrated by the
//! solver driver) or `stochastic` mode (W += eta/tau_w F(W; x x^T) on fresh samples,
//! with t advancing by eta per step so both modes share a time axis).

use super::{Recorder, Run, RunOptions, RunReport, check_gains, solver_from, stream};
use crate::analysis::{ALIGNED, alignment, rows_aligned_in_order};
use crate::data;
use crate::dynamics::coupled::{self, CoupledAveraged, CoupledParams, CoupledSamples, Settling};
use crate::dynamics::rules::{
    Moment, Rule, Workspace, flow, orth_error, reconstruction_error, subspace_error,
};
use crate::error::{Error, Result};
use crate::io::config::Config;
use crate::io::output::Decimator;
use crate::io::plot::{Figure, Series};
use crate::solver::{self, Observer, ResumePoint};
use nalgebra::DMatrix;
use serde_json::json;

mod spec;
pub use crate::dynamics::averaged::AveragedLearning;
pub use spec::*;

/// Overlap columns c{i}_{j} are written when n1 n0 is at most this.
pub const MAX_OVERLAP_COLUMNS: usize = 64;

/// Per-output metrics of a weight matrix.
struct Metrics<'a> {
    spec: &'a LearningSpec,
    phi_top: DMatrix<f64>,
    ws: Workspace,
    f: DMatrix<f64>,
}

impl<'a> Metrics<'a> {
    fn new(spec: &'a LearningSpec) -> Self {
        let (n1, n0) = spec.w0.shape();
        Metrics {
            spec,
            phi_top: spec.spectrum.top(n1),
            ws: Workspace::new(n1, n0),
            f: DMatrix::zeros(n1, n0),
        }
    }

    fn header(&self) -> Vec<String> {
        let (n1, n0) = self.spec.w0.shape();
        let mut h: Vec<String> = ["t", "J", "grad_norm", "subspace_error", "orth_error"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if n1 * n0 <= MAX_OVERLAP_COLUMNS {
            for i in 1..=n1 {
                for j in 1..=n0 {
                    h.push(format!("c{i}_{j}"));
                }
            }
        }
        h
    }

    /// t, J, ||F||, subspace error, orthonormality error, overlaps w_i . phi_j.
    fn row(&mut self, t: f64, w: &DMatrix<f64>, row: &mut Vec<f64>) {
        let sigma = self.spec.moment();
        let j = reconstruction_error(&self.spec.rule, w, &sigma, &mut self.ws);
        flow(&self.spec.rule, w, &sigma, &mut self.ws, &mut self.f);
        row.clear();
        row.extend([
            t,
            j,
            self.f.norm() / self.spec.tau_w,
            subspace_error(w, &self.phi_top),
            orth_error(w),
        ]);
        let (n1, n0) = w.shape();
        if n1 * n0 <= MAX_OVERLAP_COLUMNS {
            let c = w * &self.spec.spectrum.vectors;
            for i in 0..n1 {
                for k in 0..n0 {
                    row.push(c[(i, k)]);
                }
            }
        }
    }
}

/// Where a learning run stands after an output: enough to continue it exactly.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum LearningState {
    /// The solver driver's resume point (state = vec W).
    Averaged(ResumePoint),
    /// The stochastic loop: time, steps taken, next output index, W (column-major)
    /// and the position of the sample stream (a u128 as a decimal string).
    Stochastic {
        t: f64,
        k: u64,
        next: u64,
        w: Vec<f64>,
        word_pos: String,
    },
    /// Held-sample runs (coupled over samples, two-phase): samples presented so far,
    /// next output index, the state (z, vec W), and the sample stream's position at
    /// the start of the current block of samples.
    Held {
        samples_done: u64,
        next: u64,
        y: Vec<f64>,
        block_word_pos: String,
    },
}

/// Receives (t, W, metrics row) at every output time, and optionally the state to
/// resume from after it.
pub trait LearningObserver {
    /// Called at every output time.
    fn observe(&mut self, t: f64, w: &DMatrix<f64>, row: &[f64]) -> Result<()>;
    /// True when [`LearningObserver::state`] is wanted after each output.
    fn wants_states(&self) -> bool {
        false
    }
    /// The state after the last output.
    fn state(&mut self, _s: LearningState) -> Result<()> {
        Ok(())
    }
}

impl<F: FnMut(f64, &DMatrix<f64>, &[f64]) -> Result<()>> LearningObserver for F {
    fn observe(&mut self, t: f64, w: &DMatrix<f64>, row: &[f64]) -> Result<()> {
        self(t, w, row)
    }
}

/// Runs a learning spec, calling `observe(t, W, row)` at every output time; returns
/// the final W and a JSON description of the solver work.
pub fn simulate(
    spec: &LearningSpec,
    mut observe: impl FnMut(f64, &DMatrix<f64>, &[f64]) -> Result<()>,
) -> Result<(DMatrix<f64>, serde_json::Value)> {
    simulate_from(spec, None, &mut observe)
}

/// Adapts a [`LearningObserver`] to the solver driver for the averaged ODE.
struct AveragedObserver<'a> {
    metrics: Metrics<'a>,
    /// Where vec W starts in the state.
    offset: usize,
    w: DMatrix<f64>,
    row: Vec<f64>,
    inner: &'a mut dyn LearningObserver,
}

impl Observer for AveragedObserver<'_> {
    fn observe(&mut self, t: f64, y: &[f64], _dy: &[f64]) -> Result<()> {
        let n = self.w.len();
        self.w
            .as_mut_slice()
            .copy_from_slice(&y[self.offset..self.offset + n]);
        self.metrics.row(t, &self.w, &mut self.row);
        self.inner.observe(t, &self.w, &self.row)
    }
    fn wants_resume_points(&self) -> bool {
        self.inner.wants_states()
    }
    fn resume_point(&mut self, point: &ResumePoint) -> Result<()> {
        self.inner.state(LearningState::Averaged(point.clone()))
    }
}

/// Runs a learning spec from its start or from a saved [`LearningState`] (whose output
/// is not repeated); same spec and state give the same numbers bit for bit.
pub fn simulate_from(
    spec: &LearningSpec,
    start: Option<&LearningState>,
    observer: &mut dyn LearningObserver,
) -> Result<(DMatrix<f64>, serde_json::Value)> {
    let (n1, n0) = spec.w0.shape();
    match spec.mode {
        Mode::Averaged => {
            let sys = match &spec.samples {
                Some(x) => {
                    AveragedLearning::over_samples(spec.rule.clone(), x.clone(), spec.tau_w, n1)
                }
                None => AveragedLearning::new(
                    spec.rule.clone(),
                    spec.dataset.sigma().clone(),
                    spec.tau_w,
                    n1,
                ),
            };
            let mut obs = AveragedObserver {
                metrics: Metrics::new(spec),
                offset: 0,
                w: DMatrix::zeros(n1, n0),
                row: Vec::new(),
                inner: observer,
            };
            let (y, stats) = match start {
                None => solver::integrate(&sys, 0.0, spec.w0.as_slice(), &spec.solver, &mut obs)?,
                Some(LearningState::Averaged(p)) => {
                    solver::integrate_from(&sys, p, &spec.solver, &mut obs)?
                }
                Some(_) => return Err(resume_mismatch()),
            };
            Ok((
                DMatrix::from_column_slice(n1, n0, &y),
                solver_json(spec, &stats),
            ))
        }
        Mode::Coupled {
            tau,
            averaged_input: true,
            ..
        } => {
            let sys =
                CoupledAveraged::new(coupled_params(spec, tau), spec.dataset.sigma().clone(), n1);
            let mut obs = AveragedObserver {
                metrics: Metrics::new(spec),
                offset: n1 * n0,
                w: DMatrix::zeros(n1, n0),
                row: Vec::new(),
                inner: observer,
            };
            let (y, stats) = match start {
                None => solver::integrate(
                    &sys,
                    0.0,
                    &sys.settled_state(&spec.w0),
                    &spec.solver,
                    &mut obs,
                )?,
                Some(LearningState::Averaged(p)) => {
                    solver::integrate_from(&sys, p, &spec.solver, &mut obs)?
                }
                Some(_) => return Err(resume_mismatch()),
            };
            Ok((sys.split(&y).1, solver_json(spec, &stats)))
        }
        Mode::Coupled {
            tau, presentation, ..
        }
        | Mode::TwoPhase {
            tau, presentation, ..
        } => held_samples(
            spec,
            coupled_params(spec, tau),
            presentation,
            start,
            observer,
        ),
        Mode::Stochastic { eta, decay, batch } => {
            let mut metrics = Metrics::new(spec);
            let mut row = Vec::new();
            let mut rng = data::rng(spec.seed, stream::SAMPLES);
            let mut x = DMatrix::zeros(batch, n0);
            let mut ws = Workspace::new(n1, n0);
            let mut f = DMatrix::zeros(n1, n0);
            let (t_end, dt) = (spec.solver.t_end, spec.solver.output_dt);
            let (mut t, mut k, mut next, mut w) = match start {
                None => {
                    let w = spec.w0.clone();
                    metrics.row(0.0, &w, &mut row);
                    observer.observe(0.0, &w, &row)?;
                    (0.0, 0u64, 1u64, w)
                }
                Some(LearningState::Stochastic {
                    t,
                    k,
                    next,
                    w,
                    word_pos,
                }) => {
                    rng.set_word_pos(word_pos.parse().map_err(|_| resume_mismatch())?);
                    (*t, *k, *next, DMatrix::from_column_slice(n1, n0, w))
                }
                Some(_) => return Err(resume_mismatch()),
            };
            let save =
                |t: f64, k: u64, next: u64, w: &DMatrix<f64>, rng: &rand_chacha::ChaCha8Rng| {
                    LearningState::Stochastic {
                        t,
                        k,
                        next,
                        w: w.as_slice().to_vec(),
                        word_pos: rng.get_word_pos().to_string(),
                    }
                };
            if start.is_none() && observer.wants_states() {
                observer.state(save(t, k, next, &w, &rng))?;
            }
            while t < t_end {
                let step = decay
                    .map_or(eta, |d| eta / (1.0 + k as f64 / d))
                    .min(t_end - t);
                spec.dataset.sample_into(&mut x, &mut rng);
                flow(&spec.rule, &w, &Moment::Samples(&x), &mut ws, &mut f);
                w += &f * (step / spec.tau_w);
                t = if t_end - t - step < 1e-12 * t_end {
                    t_end
                } else {
                    t + step
                };
                k += 1;
                if let Some(v) = w
                    .iter()
                    .find(|&&v| solver::beyond(v, spec.solver.divergence_bound))
                {
                    return Err(Error::Diverged {
                        time: t,
                        quantity: "W".into(),
                        value: *v,
                        hint:
                            "the stochastic step is too large; lower learning.eta or add eta_decay"
                                .into(),
                    });
                }
                if solver::interrupted(&spec.solver) {
                    return Err(Error::Interrupted { time: t });
                }
                if t >= next as f64 * dt - 1e-12 * dt || t >= t_end {
                    next = (t / dt + 1e-9).floor() as u64 + 1;
                    metrics.row(t, &w, &mut row);
                    observer.observe(t, &w, &row)?;
                    if observer.wants_states() {
                        observer.state(save(t, k, next, &w, &rng))?;
                    }
                }
            }
            Ok((
                w,
                json!({"method": "stochastic", "eta": eta, "eta_decay": decay, "batch": batch, "steps": k}),
            ))
        }
    }
}

/// tau, tau_w and the gains of a coupled run.
fn coupled_params(spec: &LearningSpec, tau: f64) -> CoupledParams {
    match &spec.rule {
        Rule::Lmser { gains: Some(a), .. } => CoupledParams::amplified(tau, spec.tau_w, a.clone()),
        _ => CoupledParams::new(tau, spec.tau_w),
    }
}

fn solver_json(spec: &LearningSpec, stats: &solver::SolverStats) -> serde_json::Value {
    json!({"method": spec.solver.method.name(), "why": spec.solver_reason, "rtol": spec.solver.rtol,
           "atol": spec.solver.atol, "accepted_steps": stats.accepted_steps,
           "rejected_steps": stats.rejected_steps, "rhs_evals": stats.rhs_evals,
           "outputs": stats.outputs})
}

/// Samples held for `presentation` each, drawn in blocks from the run's sample stream
/// (so coupled and two-phase runs of one seed see the same sequence), driving the
/// coupled ODE or the two-phase procedure; a row at t = 0 and whenever an output time
/// is reached at the end of a presentation.
fn held_samples(
    spec: &LearningSpec,
    params: CoupledParams,
    presentation: f64,
    start: Option<&LearningState>,
    observer: &mut dyn LearningObserver,
) -> Result<(DMatrix<f64>, serde_json::Value)> {
    const BLOCK: usize = 1024;
    let (n1, n0) = spec.w0.shape();
    let mut metrics = Metrics::new(spec);
    let mut row = Vec::new();
    let mut rng = data::rng(spec.seed, stream::SAMPLES);
    let total = (spec.solver.t_end / presentation).round().max(1.0) as usize;
    let dt = spec.solver.output_dt;
    let (mut y, mut done, mut next) = match start {
        None => {
            metrics.row(0.0, &spec.w0, &mut row);
            observer.observe(0.0, &spec.w0, &row)?;
            let y = coupled::pack_state(&vec![0.0; n1], &spec.w0);
            if observer.wants_states() {
                observer.state(LearningState::Held {
                    samples_done: 0,
                    next: 1,
                    y: y.clone(),
                    block_word_pos: rng.get_word_pos().to_string(),
                })?;
            }
            (y, 0usize, 1u64)
        }
        Some(LearningState::Held {
            samples_done,
            next,
            y,
            block_word_pos,
        }) => {
            rng.set_word_pos(block_word_pos.parse().map_err(|_| resume_mismatch())?);
            (y.clone(), *samples_done as usize, *next)
        }
        Some(_) => return Err(resume_mismatch()),
    };
    let mut stats = solver::SolverStats::start(done as f64 * presentation);
    let mut sys = CoupledSamples::new(params.clone(), n1, n0);
    let settling = match spec.mode {
        Mode::TwoPhase {
            ode_settling: true,
            tau,
            ..
        } => Settling::ode(tau, 1e-9),
        _ => Settling::FixedPoint,
    };
    while done < total {
        // Blocks start at multiples of BLOCK, so a resumed run redraws the same block
        // from its saved stream position and skips the samples already presented.
        let block_start = done / BLOCK * BLOCK;
        let b = BLOCK.min(total - block_start);
        let block_word_pos = rng.get_word_pos().to_string();
        let block = spec.dataset.sample(b, &mut rng);
        let x = block
            .rows(done - block_start, b - (done - block_start))
            .into_owned();
        let mut callback = |t: f64, z: &[f64], w: &DMatrix<f64>| -> Result<()> {
            if t >= next as f64 * dt - 1e-9 * dt
                || (t - total as f64 * presentation).abs() < 1e-9 * presentation
            {
                next = (t / dt + 1e-9).floor() as u64 + 1;
                metrics.row(t, w, &mut row);
                observer.observe(t, w, &row)?;
                if observer.wants_states() {
                    observer.state(LearningState::Held {
                        samples_done: (t / presentation).round() as u64,
                        next,
                        y: coupled::pack_state(z, w),
                        block_word_pos: block_word_pos.clone(),
                    })?;
                }
            }
            Ok(())
        };
        let held = coupled::Presentations {
            samples: &x,
            hold: presentation,
            first: done,
        };
        let (y1, s) = match spec.mode {
            Mode::Coupled { .. } => {
                coupled::run_samples(&mut sys, &y, &held, &spec.solver, &mut callback)?
            }
            _ => coupled::two_phase(&params, &y, &held, &settling, &spec.solver, &mut callback)?,
        };
        y = y1;
        stats.add(&s);
        done = block_start + b;
    }
    let (_, w) = coupled::unpack_state(&y, n1);
    let mut json = solver_json(spec, &stats);
    json["samples"] = json!(total);
    json["presentation"] = json!(presentation);
    if let Mode::TwoPhase { ode_settling, .. } = spec.mode {
        json["method"] = json!(if ode_settling {
            "two-phase, neuron ODE settled by dopri5"
        } else {
            "two-phase, closed-form settling"
        });
        json["why"] = json!("the slides' procedure: settle z, then one weight step per sample");
    }
    Ok((w, json))
}

fn resume_mismatch() -> Error {
    Error::Resume {
        dir: ".".into(),
        message: "checkpoint.json holds the state of another mode".into(),
    }
}

/// J never increasing is the verdict of a gradient flow: the largest rise seen.
struct JTracker {
    last: f64,
    max_increase: f64,
}

/// Records rows and checkpoints of a learning run.
struct LearningRecorder<'r, 'a> {
    rec: &'r mut Recorder<'a>,
    last_t: f64,
}

impl LearningObserver for LearningRecorder<'_, '_> {
    fn observe(&mut self, t: f64, _w: &DMatrix<f64>, row: &[f64]) -> Result<()> {
        self.last_t = t;
        self.rec.record(row)
    }
    fn wants_states(&self) -> bool {
        true
    }
    fn state(&mut self, s: LearningState) -> Result<()> {
        // A state follows the output it belongs to.
        self.rec.checkpoint(self.last_t, json!(s))
    }
}

/// Runs a learning experiment and writes its outputs.
pub fn run(cfg: &Config, opts: &RunOptions) -> Result<RunReport> {
    let mut spec = LearningSpec::from_config(cfg)?;
    spec.solver.interrupt = opts.interrupt.clone();
    let mut run = Run::start(cfg, opts)?;
    let outcome = record(&mut run, cfg, opts, &spec);
    run.finish(outcome)
}

/// Everything after the run directory exists; any error ends up in the summary.
fn record(run: &mut Run, cfg: &Config, opts: &RunOptions, spec: &LearningSpec) -> Result<()> {
    let start: Option<LearningState> = run.resumed()?;
    let head = Metrics::new(spec).header();
    let mut jt = JTracker {
        last: f64::NAN,
        max_increase: 0.0,
    };
    let mut track = |row: &[f64]| {
        let d = row[1] - jt.last;
        if d > 0.0 {
            jt.max_increase = jt.max_increase.max(d);
        }
        jt.last = row[1];
    };
    let mut rec = Recorder::new(run, cfg, opts, &head, spec.solver.t_end, &mut track)?;
    let result = simulate_from(
        spec,
        start.as_ref(),
        &mut LearningRecorder {
            rec: &mut rec,
            last_t: 0.0,
        },
    )
    .map_err(|e| match e {
        // simulate_from does not know the directory it resumes.
        Error::Resume { message, .. } => Error::Resume {
            dir: run.dir().path().into(),
            message,
        },
        other => other,
    });
    let plot = rec.finish()?;
    let (n1, _) = spec.w0.shape();
    let lam = &spec.spectrum.values;
    run.set(
        "learning",
        json!({
            "rule": spec.rule.describe(),
            "mode": spec.mode.name(),
            "tau_w": spec.tau_w,
            "eigenvalues": lam.as_slice(),
            "J_min_predicted": spec.spectrum.plateau(&(0..n1).collect::<Vec<_>>()),
            "J_max_increase": jt.max_increase,
        }),
    );
    let outcome = result.and_then(|(w, solver_json)| {
        run.set("solver", solver_json);
        crate::io::files::write_matrix(&run.dir().file("W1.csv"), &w)?;
        let cos = alignment(&w, &spec.spectrum);
        let last = plot.rows().last().cloned().unwrap_or_default();
        run.set(
            "final",
            json!({
                "t": last.first(), "J": last.get(1), "grad_norm": last.get(2),
                "subspace_error": last.get(3), "orth_error": last.get(4),
                "abs_cos_rows_vs_eigenvectors": (0..n1).map(|i| cos.row(i).iter().copied().collect::<Vec<_>>()).collect::<Vec<_>>(),
                "rows_aligned_in_order": rows_aligned_in_order(&cos, ALIGNED),
            }),
        );
        Ok(())
    });
    plots(run, &plot, &head, spec)?;
    outcome
}

/// learning.png (J vs t on a log time axis with the plateau levels) and
/// overlaps.png (w_i . phi_j vs t).
fn plots(run: &Run, plot: &Decimator, head: &[String], spec: &LearningSpec) -> Result<()> {
    let (n1, n0) = spec.w0.shape();
    let rows = plot.rows();
    if rows.is_empty() {
        return Ok(());
    }
    let positive_t = |s: Vec<(f64, f64)>| s.into_iter().filter(|p| p.0 > 0.0).collect::<Vec<_>>();
    let mut levels: Vec<(f64, String)> = Vec::new();
    if n0 <= 12 {
        let mut seen: Vec<f64> = Vec::new();
        for k in 0..=n1 {
            // The plateau of the top-k eigenvectors (the staircase a tiny W0 descends).
            let v = spec.spectrum.plateau(&(0..k).collect::<Vec<_>>());
            if !seen.iter().any(|s| (s - v).abs() < 1e-12) {
                seen.push(v);
                levels.push((v, "plateau levels 1/2 (tr Sigma - sum_S lambda)".into()));
            }
        }
    }
    Figure {
        title: format!("Reconstruction error J(t), {}", spec.rule.describe()),
        x_label: "t (log scale)".into(),
        y_label: "J".into(),
        log_x: true,
        series: vec![Series::new("J", positive_t(plot.series(1)))],
        hlines: levels,
        ..Default::default()
    }
    .save(&run.dir().file("learning"))?;
    if head.len() > 5 {
        Figure {
            title: "Overlaps w_i . phi_j".into(),
            x_label: "t (log scale)".into(),
            y_label: "w_i . phi_j".into(),
            log_x: true,
            series: (5..head.len())
                .map(|c| Series::new(head[c].clone(), positive_t(plot.series(c))))
                .collect(),
            ..Default::default()
        }
        .save(&run.dir().file("overlaps"))?;
        // |cos(w_i, phi_i)| = |c_ii| / ||w_i|| with ||w_i||^2 = sum_j c_ij^2 (Phi is an
        // orthonormal basis): 1 for every row once the symmetry is broken.
        let series = (0..n1)
            .map(|i| {
                let pts = rows
                    .iter()
                    .filter(|r| r[0] > 0.0)
                    .map(|r| {
                        let c = &r[5 + i * n0..5 + (i + 1) * n0];
                        let norm = c.iter().map(|v| v * v).sum::<f64>().sqrt();
                        (r[0], if norm > 0.0 { c[i].abs() / norm } else { 0.0 })
                    })
                    .collect();
                Series::new(format!("|cos(w_{0}, phi_{0})|", i + 1), pts)
            })
            .collect();
        Figure {
            title: "Alignment of row i with eigenvector i".into(),
            x_label: "t (log scale)".into(),
            y_label: "|cos|".into(),
            log_x: true,
            series,
            ..Default::default()
        }
        .save(&run.dir().file("alignment"))?;
    }
    Ok(())
}
