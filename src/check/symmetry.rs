//! Symmetry breaking: amplified outputs in every placement, Oja-weighted, and tanh
//! units; where the rows of W end (docs/theory.md §5).

use super::symmetry_search::{Outcome, SymmetryRun, describe};
use super::{CheckRow, Verdict, averaged_spec, row};
use crate::analysis::{ALIGNED, alignment, rows_aligned_in_order, rows_on_eigenvectors};
use crate::data;
use crate::data::{Dataset, Distribution};
use crate::dynamics::rules::{Placement, Rule};
use crate::error::Result;
use crate::executor::Metrics;
use crate::experiment::learning::{row_alignment, simulate};
use crate::io::output::RunDir;
use crate::io::plot::{Figure, Series};
use nalgebra::{DMatrix, DVector};

/// The rules compared for symmetry breaking, with their labels.
pub fn symmetry_rules(gains: &DVector<f64>) -> Vec<(String, Rule)> {
    let mut rules = vec![("lmser (no amplification)".to_string(), Rule::lmser())];
    for p in Placement::ALL {
        rules.push((
            format!("lmser placement {}", p.name()),
            Rule::Lmser {
                gains: Some(gains.clone()),
                placement: p,
            },
        ));
    }
    rules.push((
        "oja-weighted theta A^-1".into(),
        Rule::OjaWeighted {
            theta: gains.map(|a| 1.0 / a),
        },
    ));
    rules.push((
        "oja-weighted theta A".into(),
        Rule::OjaWeighted {
            theta: gains.clone(),
        },
    ));
    rules
}

/// How often the rows of the final W ended on individual eigenvectors.
#[derive(Debug, Clone)]
pub struct SymmetryCount {
    /// The rule's label from [`symmetry_rules`], e.g. "lmser placement output".
    pub label: String,
    /// Runs with row i on eigenvector i for every i.
    pub in_order: u64,
    /// Runs with every row on its own eigenvector, in some order.
    pub any_order: u64,
    /// Runs started.
    pub runs: u64,
    /// Runs that ended with an error (counted as not breaking the symmetry).
    pub failed: u64,
    /// Smallest over runs and rows of a row's largest |cos| with an eigenvector.
    pub min_best_cos: f64,
    /// Largest ||F(W)|| / tau_w at the end of a run (how far from converged).
    pub max_grad: f64,
}

impl SymmetryCount {
    fn new(label: String) -> Self {
        SymmetryCount {
            label,
            in_order: 0,
            any_order: 0,
            runs: 0,
            failed: 0,
            min_best_cos: 1.0,
            max_grad: 0.0,
        }
    }

    /// Counts one finished run with |cos| matrix `cos` (rows x eigenvectors).
    fn add(&mut self, cos: &DMatrix<f64>, threshold: f64) {
        self.runs += 1;
        self.in_order += u64::from(rows_aligned_in_order(cos, threshold));
        self.any_order += u64::from(rows_on_eigenvectors(cos, threshold));
        self.min_best_cos = cos
            .row_iter()
            .map(|r| r.max())
            .fold(self.min_best_cos, f64::min);
    }

    fn describe(&self) -> String {
        let failed = if self.failed > 0 {
            format!(", {} runs failed", self.failed)
        } else {
            String::new()
        };
        format!(
            "{}: {}/{} runs in order, {}/{} in any order (smallest row max |cos| {:.4}, final ||F|| <= {:.1e}){failed}",
            self.label,
            self.in_order,
            self.runs,
            self.any_order,
            self.runs,
            self.min_best_cos,
            self.max_grad
        )
    }
}

/// A verdict over counts: holds when every family puts rows on eigenvectors in every
/// run, with conditions when some family does, fails when none does.
fn symmetry_verdict(counts: &[SymmetryCount]) -> Verdict {
    let breaks = |c: &SymmetryCount| c.runs > 0 && c.any_order == c.runs;
    if counts.iter().all(breaks) {
        Verdict::Holds
    } else if counts.iter().any(breaks) {
        Verdict::HoldsWithConditions
    } else {
        Verdict::Fails
    }
}

/// Runs each rule of [`symmetry_rules`] from `starts` random W0 on the averaged ODE
/// and counts the runs whose rows end on individual eigenvectors (|cos| >= ALIGNED),
/// in order and in any order; also, for the first start of each rule,
/// min_i |cos(w_i, phi_i)| through time.
pub fn symmetry_breaking(starts: u64, t_end: f64) -> (Vec<SymmetryCount>, Vec<Series>) {
    let mut curves = Vec::new();
    let lam = [4.0, 2.5, 1.5, 0.8, 0.4, 0.2];
    let gains = DVector::from_vec(vec![3.0, 2.0, 1.0]);
    let dataset =
        Dataset::from_eigenvalues(&lam, true, Distribution::Gaussian, &mut data::rng(11, 4));
    let mut out = Vec::new();
    for (label, rule) in symmetry_rules(&gains) {
        let mut count = SymmetryCount::new(label.clone());
        for s in 0..starts {
            let mut rng = data::rng(100 + s, 1);
            let w0 = DMatrix::from_fn(3, 6, |_, _| 0.3 * data::normal(&mut rng));
            let mut spec = averaged_spec(&dataset, rule.clone(), w0, t_end, 400.0);
            spec.solver.rtol = 1e-9;
            spec.solver.atol = 1e-12;
            let spectrum = spec.spectrum.clone();
            let mut curve = Vec::new();
            let mut grad = f64::INFINITY;
            let result = simulate(&spec, &mut |m: &Metrics| {
                grad = m.value("grad_norm");
                let cos = row_alignment(m, 3, 6).expect("3 x 6 nets record their overlaps");
                curve.push((m.t(), cos.into_iter().fold(1.0, f64::min)));
                Ok(())
            });
            if s == 0 {
                curves.push(Series::new(
                    label.clone(),
                    curve.into_iter().filter(|p| p.0 > 0.0).collect(),
                ));
            }
            match result {
                Ok((w, _)) => {
                    count.add(&alignment(&w, &spectrum), ALIGNED);
                    count.max_grad = count.max_grad.max(grad);
                }
                // A run that fails is a run that did not break the symmetry.
                Err(_) => {
                    count.runs += 1;
                    count.failed += 1;
                }
            }
        }
        out.push(count);
    }
    (out, curves)
}

/// The symmetry-breaking row of the table: the counts of [`symmetry_breaking`] and the
/// adversarial search of [`super::symmetry_search`]; a stable end point off the
/// ordered eigenvectors for a breaking rule would make the claim fail for that rule.
pub fn symmetry_row(counts: &[SymmetryCount], search: &[SymmetryRun]) -> CheckRow {
    let measured: Vec<String> = counts.iter().map(SymmetryCount::describe).collect();
    let breaking = counts
        .iter()
        .filter(|c| c.runs > 0 && c.any_order == c.runs)
        .count();
    let counterexamples = search
        .iter()
        .filter(|r| r.outcome == Outcome::StableElsewhere)
        .count();
    let verdict = match symmetry_verdict(counts) {
        Verdict::Holds if counterexamples > 0 => Verdict::HoldsWithConditions,
        v => v,
    };
    row(
        "symmetry-breaking",
        "amplifying outputs z = A y makes rows converge to individual eigenvectors",
        format!(
            "A = diag(3, 2, 1), |cos| >= 0.999: {}; {}",
            measured.join("; "),
            describe(search)
        ),
        verdict,
        false,
    )
    .key(
        "rules breaking it",
        breaking as f64,
        Some(counts.len() as f64),
    )
}

/// symmetry_breaking.png: min_i |cos(w_i, phi_i)| through time for every rule (the
/// Oja-weighted rules dashed).
pub(crate) fn figure(dir: &RunDir, curves: Vec<Series>) -> Result<()> {
    Figure {
        title: "Symmetry breaking, A = diag(3, 2, 1): min_i |cos(w_i, phi_i)|, row i against eigenvector i".into(),
        x_label: "t (log scale)".into(),
        y_label: "min_i |cos(w_i, phi_i)|".into(),
        log_x: true,
        y_range: Some((0.0, 1.02)),
        series: curves
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let dashed = s.label.starts_with("oja");
                let s = s.color(crate::io::plot::palette(i));
                if dashed { s.dashed() } else { s }
            })
            .collect(),
        ..Default::default()
    }
    .save(&dir.file("symmetry_breaking"))
}
