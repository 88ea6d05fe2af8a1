//! `lmser check`: fast numerical checks of every theorem the simulator implements and
//! of the slides' printed claims, as a table (claim, what the slides say, measured,
//! verdict). A failed check of mathematics the simulator itself implements (Theorem 1
//! for E, Theorem 2, the gradient-flow identity) is a bug and makes the command fail;
//! a printed claim of the slides that measures false is reported, not an error.

mod coupled;
mod energy;
mod energy_search;
mod landscape;
pub mod multilayer;
mod oja;
pub mod search;
pub mod sign_search;
mod symmetry;
pub mod symmetry_search;
mod tanh;

pub use coupled::coupled_vs_two_phase;
pub use energy::theorem1;
pub use landscape::{EscapeTimes, escape_row, escape_times, gradient_flow, random_sigma, theorem2};
pub use multilayer::multilayer_rows;
pub use oja::{lmser_vs_oja, theorem4_check};
pub use symmetry::{SymmetryCount, symmetry_breaking, symmetry_row, symmetry_rules};
pub use tanh::{TANH_ALIGNED, TanhRun, tanh_row, tanh_symmetry};

use crate::data::Dataset;
use crate::dynamics::rules::Rule;
use crate::error::Result;
use crate::experiment::learning::LearningSpec;
use crate::io::output::{RunDir, write_csv};
use crate::solver::Method;
use nalgebra::DMatrix;
use std::path::Path;

/// Verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The claim held in every case tested, searches included.
    Holds,
    /// The measurement contradicts the claim (for an `implemented` claim: a bug).
    Fails,
    /// True for some of the rules or data tried, false for others (docs/theory.md §8).
    HoldsWithConditions,
}

impl Verdict {
    /// Name written to check.csv.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Fails => "fails",
            Verdict::HoldsWithConditions => "holds-with-conditions",
        }
    }
}

/// One row of the check table.
#[derive(Debug, Clone)]
pub struct CheckRow {
    /// Claim identifier as in docs/theory.md §8, e.g. "theorem4-sign".
    pub claim: &'static str,
    /// The claim as the slides (or the paper) state it, in plain-text formulas.
    pub slides: &'static str,
    /// What the test measured, in free text (check.csv column `measured`).
    pub measured: String,
    /// Outcome of the test.
    pub verdict: Verdict,
    /// True when a failure means the simulator disagrees with mathematics it
    /// implements (a bug), false for claims of the slides under test.
    pub implemented: bool,
    /// Short name of the key figure (terminal table), e.g. "min r".
    pub key: &'static str,
    /// The claim's key figure.
    pub value: f64,
    /// What `value` was compared against (None only where no bound is meaningful).
    pub bound: Option<f64>,
}

impl CheckRow {
    /// True when this row reveals a bug.
    pub fn is_bug(&self) -> bool {
        self.implemented && self.verdict == Verdict::Fails
    }

    /// Sets the key figure: its short name, its value and the bound it was compared to.
    pub(crate) fn key(mut self, key: &'static str, value: f64, bound: Option<f64>) -> CheckRow {
        self.key = key;
        self.value = value;
        self.bound = bound;
        self
    }

    /// One line of the terminal table (at most [`LINE_WIDTH`] characters): claim,
    /// verdict, and the key figure against its bound.
    pub fn terminal_line(&self) -> String {
        let figure = match self.bound {
            Some(b) => format!("{} = {} vs {}", self.key, number(self.value), number(b)),
            None => format!("{} = {}", self.key, number(self.value)),
        };
        let line = format!("{:<26} {:<21} {}", self.claim, self.verdict.name(), figure);
        line.chars().take(LINE_WIDTH).collect()
    }
}

/// Widest line of the terminal table.
pub const LINE_WIDTH: usize = 100;

/// The header line of the terminal table.
pub fn terminal_header() -> String {
    format!(
        "{:<26} {:<21} {}",
        "claim", "verdict", "key figure vs bound"
    )
}

/// A number in at most 10 characters: plain for moderate magnitudes, else scientific.
pub fn number(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() {
        format!("{v}")
    } else if v == v.round() && a < 1e6 {
        format!("{v:.0}")
    } else if (1e-3..1e4).contains(&a) {
        format!("{v:.4}")
    } else {
        format!("{v:.3e}")
    }
}

pub(crate) fn row(
    claim: &'static str,
    slides: &'static str,
    measured: String,
    verdict: Verdict,
    implemented: bool,
) -> CheckRow {
    CheckRow {
        claim,
        slides,
        measured,
        verdict,
        implemented,
        key: "",
        value: f64::NAN,
        bound: None,
    }
}

/// A learning spec of the averaged ODE on `dataset` from `w0`.
pub(crate) fn averaged_spec(
    dataset: &Dataset,
    rule: Rule,
    w0: DMatrix<f64>,
    t_end: f64,
    outputs: f64,
) -> LearningSpec {
    LearningSpec::builder(dataset.clone(), w0, t_end)
        .rule(rule)
        .method(Method::Dop853)
        .rtol(1e-10)
        .atol(1e-14)
        .output_dt(t_end / outputs)
        .build()
        .expect("the checks' own specs are valid")
}

/// Runs every check; writes `check.csv` and the plots into `out`; returns the rows.
pub fn run_all(out: &Path) -> Result<Vec<CheckRow>> {
    let dir = RunDir::create(out)?;
    let mut rows = theorem1(20)?;
    rows.extend(theorem2());
    rows.push(gradient_flow());
    let sign = sign_search::theorem4_sign();
    if let Some((w, sigma)) = &sign.counterexample {
        sign_search::write_matrix(&dir.file("w.csv"), w)?;
        sign_search::write_matrix(&dir.file("sigma.csv"), sigma)?;
    }
    rows.extend(sign.rows);
    let (t4, families) = theorem4_check();
    rows.extend(t4);
    oja::theorem4_figure(&dir, &families)?;
    let (sym, sym_curves) = symmetry_breaking(4, 150.0);
    rows.push(symmetry_row(&sym, &symmetry_search::search_symmetry()));
    symmetry::figure(&dir, sym_curves)?;
    rows.push(tanh_row(&tanh_symmetry()));
    let (escape, slope, predicted) = escape_times()?;
    rows.push(escape_row(slope, predicted));
    landscape::escape_figure(&dir, &escape, predicted)?;
    let (oja_row, oja_curves) = lmser_vs_oja(4)?;
    rows.push(oja_row);
    oja::lmser_vs_oja_figure(&dir, oja_curves)?;
    let (cp_row, cp_curves) = coupled_vs_two_phase()?;
    rows.push(cp_row);
    coupled::figure(&dir, cp_curves)?;
    let (ml_rows, uphill) = multilayer_rows();
    if let Some(net) = &uphill {
        multilayer::write_uphill(&dir, net)?;
    }
    rows.extend(ml_rows);
    write_table(&dir, &rows)?;
    Ok(rows)
}

/// The columns of check.csv.
pub const TABLE_COLUMNS: [&str; 6] = ["claim", "slides", "measured", "value", "bound", "verdict"];

/// check.csv: one row per claim (the csv crate quotes the free text); `value` and
/// `bound` as numbers (`bound` empty only where no bound is meaningful).
fn write_table(dir: &RunDir, rows: &[CheckRow]) -> Result<()> {
    let mut records = vec![TABLE_COLUMNS.iter().map(|c| c.to_string()).collect()];
    for r in rows {
        records.push(vec![
            r.claim.to_string(),
            r.slides.to_string(),
            r.measured.clone(),
            format!("{:e}", r.value),
            r.bound.map(|b| format!("{b:e}")).unwrap_or_default(),
            r.verdict.name().to_string(),
        ]);
    }
    write_csv(&dir.file("check.csv"), records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_lines_fit_whatever_the_numbers() {
        for (v, b) in [
            (f64::NAN, None),
            (f64::INFINITY, Some(f64::NEG_INFINITY)),
            (-1.234567e-300, Some(1e300)),
            (123456789.0, Some(0.0)),
        ] {
            let r = row(
                "a-claim-name-of-exactly-26",
                "s",
                "m".into(),
                Verdict::HoldsWithConditions,
                false,
            )
            .key("a long key figure name that goes on", v, b);
            let line = r.terminal_line();
            assert!(line.chars().count() <= LINE_WIDTH, "{line}");
            assert!(line.starts_with("a-claim-name-of-exactly-26 holds-with-conditions"));
        }
        assert_eq!(number(-0.99322), "-0.9932");
        assert_eq!(number(57.0), "57");
        assert_eq!(number(5.797e-15), "5.797e-15");
    }
}
