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
        self.column_opt(name)
            .unwrap_or_else(|| panic!("no metric named {name:?}"))
    }

    /// Column index of the metric `name`, if recorded.
    pub(crate) fn column_opt(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
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

/// Rises between consecutive values of one quantity. Rounding moves a value by a
/// small multiple of its own size, so each rise is compared with `rel` times the
/// magnitude at that time, max(1, |before|, |after|), never with a magnitude
/// reached later (a run that grows large must not hide an early rise).
#[derive(Debug, Clone, Copy)]
struct Monotonicity {
    rel: f64,
    first: f64,
    last: f64,
    max_increase: f64,
    max_relative_increase: f64,
    increases: u64,
}

/// The verdict on one quantity in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MonotoneVerdict {
    initial: f64,
    #[serde(rename = "final")]
    last: f64,
    /// Largest rise between consecutive outputs.
    pub(crate) max_increase: f64,
    /// Largest rise divided by max(1, |value|) at that time.
    pub(crate) max_relative_increase: f64,
    /// Rises above the relative tolerance.
    increases_above_tolerance: u64,
    /// No rise above the relative tolerance.
    pub(crate) monotone: bool,
}

impl Monotonicity {
    fn new(rel: f64) -> Self {
        Monotonicity {
            rel,
            first: f64::NAN,
            last: f64::NAN,
            max_increase: 0.0,
            max_relative_increase: 0.0,
            increases: 0,
        }
    }

    fn push(&mut self, v: f64) {
        if self.first.is_nan() {
            self.first = v;
        }
        let d = v - self.last;
        if d > 0.0 {
            let scale = 1f64.max(self.last.abs()).max(v.abs());
            self.max_increase = self.max_increase.max(d);
            self.max_relative_increase = self.max_relative_increase.max(d / scale);
            if d > self.rel * scale {
                self.increases += 1;
            }
        }
        self.last = v;
    }

    fn verdict(&self) -> MonotoneVerdict {
        MonotoneVerdict {
            initial: self.first,
            last: self.last,
            max_increase: self.max_increase,
            max_relative_increase: self.max_relative_increase,
            increases_above_tolerance: self.increases,
            monotone: self.increases == 0,
        }
    }
}

/// The Theorem 1 verdict over the rows of a run: E and the printed J_net, each rise
/// judged against the magnitude of its own quantity at that time.
pub(crate) struct EnergyVerdict {
    e: Monotonicity,
    printed: Monotonicity,
    rel: f64,
}

/// `theorem1` in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Theorem1Verdict {
    claim: &'static str,
    /// Relative tolerance: a rise counts when above it times max(1, |value|) then.
    tolerance: f64,
    #[serde(rename = "E")]
    pub(crate) e: MonotoneVerdict,
    #[serde(rename = "E_printed")]
    pub(crate) printed: MonotoneVerdict,
}

impl EnergyVerdict {
    /// Rises above `rel` x max(1, |value|) at the time count.
    pub(crate) fn new(rel: f64) -> Self {
        EnergyVerdict {
            e: Monotonicity::new(rel),
            printed: Monotonicity::new(rel),
            rel,
        }
    }

    pub(crate) fn verdict(&self) -> Theorem1Verdict {
        Theorem1Verdict {
            claim: "E never increases along trajectories (Theorem 1, docs/theory.md §1.4)",
            tolerance: self.rel,
            e: self.e.verdict(),
            printed: self.printed.verdict(),
        }
    }
}

impl Observer for EnergyVerdict {
    fn observe(&mut self, m: &Metrics) -> Result<()> {
        self.e.push(m.value("E"));
        self.printed.push(m.value("E_printed"));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(values: &[f64], rel: f64) -> MonotoneVerdict {
        let mut m = Monotonicity::new(rel);
        values.iter().for_each(|&v| m.push(v));
        m.verdict()
    }

    /// An early rise of 0.1 at |E| ~ 1 is a rise, however large |E| becomes later
    /// (the old tracker took its tolerance from the largest |E| of the whole run and
    /// called this series monotone).
    #[test]
    fn an_early_rise_is_seen_when_the_value_grows_later() {
        let mut series = vec![1.0, 0.5, 0.6, 0.4];
        series.extend((1..=20).map(|k| -(10f64.powi(k / 3))));
        series.push(-1e7);
        let v = verdict(&series, 1e-5);
        assert!(!v.monotone);
        assert_eq!(v.increases_above_tolerance, 1);
        assert!((v.max_increase - 0.1).abs() < 1e-12);
    }

    /// Rounding-size wiggles relative to the current magnitude are not rises, at any
    /// magnitude; a wiggle of the same absolute size at a small magnitude is.
    #[test]
    fn rises_are_judged_against_the_magnitude_at_their_time() {
        let big = [-1e8, -1e8 - 10.0, -1e8 - 9.99, -1e8 - 20.0];
        assert!(
            verdict(&big, 1e-8).monotone,
            "0.01 at |E| = 1e8 is rounding at rel 1e-8"
        );
        let small = [-1.0, -1.1, -1.09, -1.2];
        assert!(!verdict(&small, 1e-8).monotone, "0.01 at |E| = 1 is a rise");
    }

    /// A strictly decreasing series is monotone with no rise at all.
    #[test]
    fn a_decreasing_series_is_monotone() {
        let v = verdict(&[3.0, 2.0, 1.0, -5.0, -1e9], 1e-9);
        assert!(v.monotone && v.max_increase == 0.0 && v.increases_above_tolerance == 0);
    }
}
