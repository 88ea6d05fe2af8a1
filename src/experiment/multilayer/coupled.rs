//! Coupled mode of a multilayer run: neurons and weights in one ODE
//! ([`CoupledNet`]), each minibatch of the training set held for `presentation`
//! (batches drawn as in stochastic mode), the neurons carried over from one batch to
//! the next. Outputs add `E`, the neuron energy of the held batch.

use super::spec::MultilayerSpec;
use super::steppers::{
    Epochs, MultilayerState, flatten, metric_names, metric_values, resume_error, unflatten,
};
use crate::dynamics::multilayer::{CoupledNet, SettleOptions, settle};
use crate::error::Result;
use crate::executor::{Control, Stepper};
use crate::io::summary::SolverReport;
use crate::solver::{self, SolverStats};
use nalgebra::DMatrix;

/// Held batches driving the coupled ODE, one presentation per advance of the loop.
pub struct CoupledStepper<'a> {
    spec: &'a MultilayerSpec,
    sys: CoupledNet<'a>,
    epochs: Epochs,
    y: Vec<f64>,
    t: f64,
    k: u64,
    next: u64,
    /// Counters of the integrations so far (one per presentation).
    stats: SolverStats,
}

impl<'a> CoupledStepper<'a> {
    /// Starts with the first batch held and the neurons settled on it at W0.
    pub fn new(spec: &'a MultilayerSpec) -> Result<Self> {
        let mut epochs = Epochs::new(spec);
        let (x, target) = batch(spec, &mut epochs, 0);
        let z = settle(&spec.stack, &spec.w0, &x, SettleOptions::default())?;
        let sys = CoupledNet::new(
            &spec.stack,
            spec.rule,
            (spec.tau.clone(), spec.tau_w),
            &spec.w0,
            x,
            target,
        );
        let mut y = flatten(&z.z[1..]);
        y.extend(flatten(&spec.w0));
        Ok(CoupledStepper {
            spec,
            sys,
            epochs,
            y,
            t: 0.0,
            k: 0,
            next: 1,
            stats: SolverStats::start(0.0),
        })
    }

    /// The current weights.
    pub fn weights(&self) -> Vec<DMatrix<f64>> {
        unflatten(&self.y[self.sys.neuron_dim()..], &self.spec.w0)
    }

    /// The method, why, and the work of all presentations, for `summary.json`.
    pub fn report(&self) -> SolverReport {
        let mut r = SolverReport::of(&self.spec.solver, &self.stats);
        r.why = Some(self.spec.solver_reason.clone());
        r.samples = Some(self.k * self.sys.samples() as u64);
        r.presentation = Some(self.spec.presentation);
        r
    }

    /// Holds batch k for one presentation.
    fn present(&mut self, control: &Control) -> Result<()> {
        let (x, target) = batch(self.spec, &mut self.epochs, self.k);
        self.sys.hold(x, target);
        let hold = self.spec.presentation;
        let end = ((self.k + 1) as f64 * hold).min(self.spec.solver.t_end);
        let mut opts = self.spec.solver.clone();
        opts.t_end = end;
        opts.output_dt = end - self.t;
        opts.steady_tol = 0.0;
        opts.interrupt = control.flag();
        let (y, stats) = solver::integrate(
            &self.sys,
            self.t,
            &self.y,
            &opts,
            &mut |_, _: &[f64], _: &[f64]| Ok(()),
        )?;
        self.y = y;
        self.stats.add(&stats);
        self.k += 1;
        self.t = end;
        Ok(())
    }
}

/// The columns and one-hot targets (supervised runs) of batch k.
fn batch(
    spec: &MultilayerSpec,
    epochs: &mut Epochs,
    k: u64,
) -> (DMatrix<f64>, Option<DMatrix<f64>>) {
    let set = spec.train.select(&epochs.columns(k));
    let target = if spec.supervised { set.one_hot() } else { None };
    (set.x, target)
}

impl Stepper for CoupledStepper<'_> {
    type State = MultilayerState;

    fn names(&self) -> Vec<String> {
        let mut n = vec!["t".to_string()];
        n.extend(metric_names(self.spec));
        n
    }
    fn metrics(&mut self, row: &mut Vec<f64>) {
        row.push(self.t);
        metric_values(self.spec, &self.weights(), row);
        row.push(self.sys.energy(&self.y));
    }
    fn time(&self) -> f64 {
        self.t
    }
    fn is_done(&self) -> bool {
        self.t >= self.spec.solver.t_end
    }
    fn advance(&mut self, control: &Control) -> Result<()> {
        let (t_end, dt) = (self.spec.solver.t_end, self.spec.solver.output_dt);
        loop {
            self.present(control)?;
            control.poll(self.t)?;
            if crate::executor::output_due(self.t, t_end, dt, &mut self.next) {
                return Ok(());
            }
        }
    }
    fn state(&self) -> MultilayerState {
        MultilayerState::Coupled {
            t: self.t,
            k: self.k,
            next: self.next,
            y: self.y.clone(),
            stats: Some(self.stats),
        }
    }
    fn restore(&mut self, state: MultilayerState) -> Result<()> {
        let MultilayerState::Coupled {
            t,
            k,
            next,
            y,
            stats,
        } = state
        else {
            return Err(resume_error(
                "checkpoint.json holds the state of another mode".into(),
            ));
        };
        if y.len() != self.y.len() {
            return Err(resume_error(format!(
                "checkpoint.json has {} states, the run {}",
                y.len(),
                self.y.len()
            )));
        }
        (self.t, self.k, self.next, self.y) = (t, k, next, y);
        // Checkpoints written before the counters were kept restart them here.
        self.stats = stats.unwrap_or_else(|| SolverStats::start(t));
        Ok(())
    }
}
