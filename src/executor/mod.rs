//! The run loop, laid out like argmin's `Executor`: a [`Stepper`] advances a
//! simulation from one output time to the next and reports named metrics there; the
//! [`Executor`] owns everything around it, once: interrupt polling between outputs,
//! the check that every recorded metric is finite, the output rows, checkpoint
//! cadence and resume; [`Observer`]s (verdict trackers, plot buffers, progress,
//! `lmser check`) receive every row as [`Metrics`] and look values up by name.
//!
//! A learning mode is one [`Stepper`]; the ODE driver of [`crate::solver`] becomes one
//! through [`OdeStepper`].
//!
//! ```
//! use lmser::executor::{Control, Executor, Metrics, Stepper};
//! // The explicit Euler map x <- x - h x for x' = -x, one step per output.
//! struct Euler { t: f64, x: f64 }
//! impl Stepper for Euler {
//!     type State = (f64, f64);
//!     fn names(&self) -> Vec<String> { vec!["t".into(), "x".into()] }
//!     fn metrics(&mut self, row: &mut Vec<f64>) { row.extend([self.t, self.x]) }
//!     fn time(&self) -> f64 { self.t }
//!     fn is_done(&self) -> bool { self.t >= 1.0 - 1e-12 }
//!     fn advance(&mut self, _: &Control) -> lmser::Result<()> {
//!         self.x -= 0.1 * self.x;
//!         self.t += 0.1;
//!         Ok(())
//!     }
//!     fn state(&self) -> (f64, f64) { (self.t, self.x) }
//!     fn restore(&mut self, s: (f64, f64)) -> lmser::Result<()> {
//!         (self.t, self.x) = s;
//!         Ok(())
//!     }
//! }
//! let mut xs = Vec::new();
//! let mut record = |m: &Metrics| {
//!     xs.push(m.value("x"));
//!     Ok(())
//! };
//! let (end, outcome) = Executor::new(Euler { t: 0.0, x: 1.0 }).observe(&mut record).run();
//! outcome?;
//! assert_eq!(xs.len(), 11); // t = 0, 0.1, ..., 1
//! assert!((end.x - 0.9f64.powi(10)).abs() < 1e-15);
//! # Ok::<(), lmser::Error>(())
//! ```

mod journal;
mod ode;
mod progress;

pub(crate) use journal::Journal;
pub use ode::{OdeStepper, Probe};
pub use progress::Progress;
pub(crate) use progress::stderr_bar;

/// The output grid of steppers that advance by steps of their own (stochastic and
/// held-batch modes): true once `t` has reached output `next` (t = next dt, to 1e-12 dt)
/// or `t_end`, and then `next` moves past `t`.
pub(crate) fn output_due(t: f64, t_end: f64, dt: f64, next: &mut u64) -> bool {
    let due = t >= *next as f64 * dt - 1e-12 * dt || t >= t_end;
    if due {
        *next = (t / dt + 1e-9).floor() as u64 + 1;
    }
    due
}

use crate::error::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Advances a simulation output by output.
pub trait Stepper {
    /// Everything needed to continue bit for bit from the current output
    /// (`checkpoint.json`'s `state`).
    type State: Serialize + DeserializeOwned;
    /// Names of the metrics, `t` first (the CSV header).
    fn names(&self) -> Vec<String>;
    /// The metrics at the current output, in the order of [`Stepper::names`].
    fn metrics(&mut self, row: &mut Vec<f64>);
    /// Time of the current output.
    fn time(&self) -> f64;
    /// True once the end is reached.
    fn is_done(&self) -> bool;
    /// Advances to the next output; long advances poll `control`.
    fn advance(&mut self, control: &Control) -> Result<()>;
    /// The state at the current output.
    fn state(&self) -> Self::State;
    /// Continues from a saved state (whose output was recorded before).
    fn restore(&mut self, state: Self::State) -> Result<()>;
}

/// What a stepper may poll during a long advance: the interrupt flag.
#[derive(Debug, Clone, Default)]
pub struct Control {
    interrupt: Option<Arc<AtomicBool>>,
}

impl Control {
    /// A control raised through `flag` (e.g. by a signal handler).
    pub fn new(interrupt: Option<Arc<AtomicBool>>) -> Self {
        Control { interrupt }
    }

    /// The interrupt flag, for integrators that poll it after every step.
    pub fn flag(&self) -> Option<Arc<AtomicBool>> {
        self.interrupt.clone()
    }

    /// [`Error::Interrupted`] at time t once the flag is raised.
    pub fn poll(&self, t: f64) -> Result<()> {
        crate::solver::poll(&self.interrupt, t)
    }
}

/// The named metrics of one output row.
#[derive(Debug, Clone, Copy)]
pub struct Metrics<'a> {
    names: &'a [String],
    values: &'a [f64],
}

impl<'a> Metrics<'a> {
    /// Pairs names with values (same length).
    pub fn new(names: &'a [String], values: &'a [f64]) -> Self {
        debug_assert_eq!(names.len(), values.len());
        Metrics { names, values }
    }
    /// The time (the first metric).
    pub fn t(&self) -> f64 {
        self.values[0]
    }
    /// The value named `name`, if the row has it.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.values[i])
    }
    /// The value named `name`; panics when the stepper has no such metric (a bug).
    pub fn value(&self, name: &str) -> f64 {
        self.get(name)
            .unwrap_or_else(|| panic!("no metric named {name:?}"))
    }
    /// All names.
    pub fn names(&self) -> &'a [String] {
        self.names
    }
    /// All values, in the order of the names.
    pub fn values(&self) -> &'a [f64] {
        self.values
    }
}

/// Receives every output row (replayed rows of a resumed run included).
pub trait Observer {
    /// Called once with the metric names before the first row.
    fn observe_init(&mut self, _names: &[String]) -> Result<()> {
        Ok(())
    }
    /// Called at every output.
    fn observe(&mut self, m: &Metrics) -> Result<()>;
}

impl<F: FnMut(&Metrics) -> Result<()>> Observer for F {
    fn observe(&mut self, m: &Metrics) -> Result<()> {
        self(m)
    }
}

/// Runs a [`Stepper`] to its end, handing every row to the observers.
pub struct Executor<'a, S: Stepper> {
    stepper: S,
    observers: Vec<&'a mut dyn Observer>,
    progress: Option<Progress>,
    control: Control,
    journal: Option<Journal>,
    /// Time and state of the last recorded output, for the final checkpoint.
    latest: Option<(f64, S::State)>,
}

impl<'a, S: Stepper> Executor<'a, S> {
    /// An executor of `stepper` with no observers.
    pub fn new(stepper: S) -> Self {
        Executor {
            stepper,
            observers: Vec::new(),
            progress: None,
            control: Control::default(),
            journal: None,
            latest: None,
        }
    }

    /// Adds an observer.
    #[must_use]
    pub fn observe(mut self, observer: &'a mut dyn Observer) -> Self {
        self.observers.push(observer);
        self
    }

    /// Adds several observers.
    #[must_use]
    pub fn observe_all(
        mut self,
        observers: impl IntoIterator<Item = &'a mut dyn Observer>,
    ) -> Self {
        self.observers.extend(observers);
        self
    }

    /// Shows a progress bar over [0, t_end] on stderr unless `quiet`.
    #[must_use]
    pub fn progress(mut self, t_end: f64, quiet: bool) -> Self {
        self.progress = Some(Progress::new(quiet, t_end));
        self
    }

    /// Stops cleanly with [`Error::Interrupted`] once `flag` is raised.
    #[must_use]
    pub fn interrupt(mut self, flag: Option<Arc<AtomicBool>>) -> Self {
        self.control = Control::new(flag);
        self
    }

    /// Records rows and checkpoints into a run directory (and resumes from it).
    #[must_use]
    pub(crate) fn journal(mut self, journal: Journal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Runs to the end; returns the stepper (for final values) and the outcome. With
    /// a journal, the CSV is flushed and the state of the last recorded output written
    /// as the checkpoint whatever the outcome.
    pub fn run(mut self) -> (S, Result<()>) {
        let outcome = self.run_loop();
        self.progress = None;
        let closed = match self.journal.take() {
            Some(mut j) => {
                let last = match &self.latest {
                    Some((t, state)) => j.checkpoint(*t, state),
                    None => Ok(()),
                };
                // The steppers do not know the directory they resume.
                let dir = j.dir().to_path_buf();
                let outcome = outcome.map_err(|e| match e {
                    Error::Resume { message, .. } => Error::Resume { dir, message },
                    other => other,
                });
                return (self.stepper, outcome.and(last).and(j.finish()));
            }
            None => Ok(()),
        };
        (self.stepper, outcome.and(closed))
    }

    fn run_loop(&mut self) -> Result<()> {
        let names = self.stepper.names();
        for o in &mut self.observers {
            o.observe_init(&names)?;
        }
        let mut row = Vec::with_capacity(names.len());
        let resumed = match &mut self.journal {
            Some(j) => j.open(&names)?,
            None => None,
        };
        match resumed {
            Some((rows, state)) => {
                for r in &rows {
                    let m = Metrics::new(&names, r);
                    for o in &mut self.observers {
                        o.observe(&m)?;
                    }
                }
                let state = serde_json::from_value(state).map_err(|e| Error::Resume {
                    dir: ".".into(),
                    message: format!("checkpoint.json holds the state of another run ({e})"),
                })?;
                self.stepper.restore(state)?;
            }
            None => self.emit(&names, &mut row)?,
        }
        while !self.stepper.is_done() {
            self.control.poll(self.stepper.time())?;
            self.stepper.advance(&self.control)?;
            self.emit(&names, &mut row)?;
        }
        Ok(())
    }

    /// Records the current output: every metric must be finite.
    fn emit(&mut self, names: &[String], row: &mut Vec<f64>) -> Result<()> {
        row.clear();
        self.stepper.metrics(row);
        if let Some(i) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::Diverged {
                time: row[0],
                quantity: names[i].clone(),
                value: row[i],
                hint: "a recorded quantity is not finite; reduce the step size or the weights"
                    .into(),
            });
        }
        let m = Metrics::new(names, row);
        for o in &mut self.observers {
            o.observe(&m)?;
        }
        if let Some(p) = &mut self.progress {
            p.observe(&m)?;
        }
        if let Some(j) = &mut self.journal {
            j.row(row)?;
            let state = self.stepper.state();
            if j.due() {
                j.checkpoint(row[0], &state)?;
            }
            self.latest = Some((row[0], state));
        }
        Ok(())
    }
}
