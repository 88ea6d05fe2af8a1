//! The ODE driver as a [`Stepper`]: one output interval per advance, with the
//! metrics of each output computed by a [`Probe`].

use super::{Control, Stepper};
use crate::error::Result;
use crate::solver::{Driver, OdeSystem, ResumePoint, SolverOptions, SolverStats};

/// The metrics of an ODE state at an output time.
pub trait Probe {
    /// Names of the metrics (after `t`).
    fn names(&self) -> Vec<String>;
    /// Appends the metrics of (t, y, dy/dt) to `row`; dy/dt is empty unless
    /// [`Probe::needs_derivative`].
    fn values(&mut self, t: f64, y: &[f64], dy: &[f64], row: &mut Vec<f64>);
    /// True when [`Probe::values`] reads dy/dt: the driver then evaluates the
    /// right-hand side at every output (one evaluation each).
    fn needs_derivative(&self) -> bool {
        true
    }
}

/// Integrates an [`OdeSystem`] output by output with the solver [`Driver`].
pub struct OdeStepper<S: OdeSystem, P: Probe> {
    driver: Driver<S>,
    probe: P,
}

impl<S: OdeSystem, P: Probe> OdeStepper<S, P> {
    /// Starts at (t0, y0) with `opts`; dy/dt at the outputs only if the probe reads it.
    pub fn new(sys: S, t0: f64, y0: &[f64], opts: &SolverOptions, probe: P) -> Result<Self> {
        let opts = opts.clone().output_derivative(probe.needs_derivative());
        Ok(OdeStepper {
            driver: Driver::new(sys, t0, y0, &opts)?,
            probe,
        })
    }

    /// The driver (state, counters).
    pub fn driver(&self) -> &Driver<S> {
        &self.driver
    }

    /// The driver, to set it up (e.g. [`Driver::set_stiff_fallback`]).
    pub fn driver_mut(&mut self) -> &mut Driver<S> {
        &mut self.driver
    }

    /// The solver counters so far.
    pub fn stats(&self) -> SolverStats {
        self.driver.stats()
    }

    /// The probe.
    pub fn probe(&self) -> &P {
        &self.probe
    }
}

impl<S: OdeSystem, P: Probe> Stepper for OdeStepper<S, P> {
    type State = ResumePoint;

    fn names(&self) -> Vec<String> {
        let mut names = vec!["t".to_string()];
        names.extend(self.probe.names());
        names
    }

    fn metrics(&mut self, row: &mut Vec<f64>) {
        let d = &self.driver;
        row.push(d.t());
        self.probe
            .values(d.t(), d.y(), d.dy().unwrap_or_default(), row);
    }

    fn time(&self) -> f64 {
        self.driver.t()
    }

    fn is_done(&self) -> bool {
        self.driver.is_done()
    }

    fn advance(&mut self, control: &Control) -> Result<()> {
        if let Some(flag) = control.flag() {
            self.driver.set_interrupt(Some(flag));
        }
        self.driver.advance().map(|_| ())
    }

    fn state(&self) -> ResumePoint {
        self.driver.resume_point()
    }

    fn restore(&mut self, state: ResumePoint) -> Result<()> {
        self.driver.restore(&state)
    }
}
