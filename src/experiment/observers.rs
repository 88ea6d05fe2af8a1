//! Observers every kind uses: the plot buffer, and the verdict
//! tracker of a quantity that must not rise (E along the neuron dynamics, J along a
//! gradient flow).

use crate::error::Result;
use crate::executor::{Metrics, Observer};
use crate::io::output::Decimator;
use serde::Serialize;

/// A bounded, evenly thinned copy of the rows for the plots.
pub(crate) struct PlotBuffer {
    names: Vec<String>,
    rows: Decimator,
}

impl PlotBuffer {
    pub(crate) fn new() -> Self {
        PlotBuffer {
            names: Vec::new(),
            rows: Decimator::new(4000),
        }
    }

    /// The kept rows.
    pub(crate) fn rows(&self) -> Vec<Vec<f64>> {
        self.rows.rows()
    }

    /// Column index of the metric `name`.
    pub(crate) fn column(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no metric named {name:?}"))
    }

    /// (t, metric) pairs of the kept rows.
    pub(crate) fn series(&self, name: &str) -> Vec<(f64, f64)> {
        self.rows.series(self.column(name))
    }

    /// The metric names.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }
}

impl Observer for PlotBuffer {
    fn observe_init(&mut self, names: &[String]) -> Result<()> {
        self.names = names.to_vec();
        Ok(())
    }
    fn observe(&mut self, m: &Metrics) -> Result<()> {
        self.rows.push(m.values());
        Ok(())
    }
}

/// Largest increase between consecutive values and how many exceed a tolerance.
#[derive(Debug, Clone, Copy)]
struct Monotonicity {
    first: f64,
    last: f64,
    max_increase: f64,
    increases: u64,
}

/// The verdict on one quantity in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MonotoneVerdict {
    initial: f64,
    #[serde(rename = "final")]
    last: f64,
    pub(crate) max_increase: f64,
    increases_above_tolerance: u64,
    pub(crate) monotone: bool,
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
    fn verdict(&self, tol: f64) -> MonotoneVerdict {
        MonotoneVerdict {
            initial: self.first,
            last: self.last,
            max_increase: self.max_increase,
            increases_above_tolerance: self.increases,
            monotone: self.max_increase <= tol,
        }
    }
}

/// The Theorem 1 verdict over the rows of a run: E and the printed J_net. Solver
/// noise can move E by about rtol relative to its size, so an increase counts only
/// above `rel` times the largest |E| seen.
pub(crate) struct EnergyVerdict {
    e: Monotonicity,
    printed: Monotonicity,
    scale: f64,
    rel: f64,
}

/// `theorem1` in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Theorem1Verdict {
    claim: &'static str,
    tolerance: f64,
    #[serde(rename = "E")]
    pub(crate) e: MonotoneVerdict,
    #[serde(rename = "E_printed")]
    pub(crate) printed: MonotoneVerdict,
}

impl EnergyVerdict {
    /// Increases above `rel` x the largest |E| count.
    pub(crate) fn new(rel: f64) -> Self {
        EnergyVerdict {
            e: Monotonicity::new(),
            printed: Monotonicity::new(),
            scale: 1.0,
            rel,
        }
    }

    pub(crate) fn verdict(&self) -> Theorem1Verdict {
        let tol = self.rel * self.scale;
        Theorem1Verdict {
            claim: "E never increases along trajectories (Theorem 1, docs/theory.md §1.4)",
            tolerance: tol,
            e: self.e.verdict(tol),
            printed: self.printed.verdict(tol),
        }
    }
}

impl Observer for EnergyVerdict {
    fn observe(&mut self, m: &Metrics) -> Result<()> {
        let (e, p) = (m.value("E"), m.value("E_printed"));
        self.scale = self.scale.max(e.abs()).max(p.abs());
        self.e.push(e, self.rel * self.scale);
        self.printed.push(p, self.rel * self.scale);
        Ok(())
    }
}
