//! The plots of a learning run: `learning` (J on a log time axis with the plateau
//! levels J visits, each labelled with its subset), `overlaps` (w_i · φ_j, one panel
//! per row of W) and `alignment` (|cos| of each row with its best-matched
//! eigenvector).

use super::LearningSpec;
use crate::dynamics::rules::{Placement, Rule};
use crate::error::Result;
use crate::experiment::{PlotBuffer, Run};
use crate::io::plot::{Figure, Level, Panels, Series, palette};

/// Writes the plots of a learning run from its kept rows.
pub(super) fn plots(run: &Run, plot: &PlotBuffer, spec: &LearningSpec) -> Result<()> {
    if plot.rows().is_empty() {
        return Ok(());
    }
    let title = net_title(spec);
    let j = positive_t(plot.series("J"));
    Figure {
        title: format!("J(t), {title}"),
        x_label: "t (log scale)".into(),
        y_label: "J".into(),
        log_x: true,
        levels: plateau_levels(spec, &j),
        levels_legend: Some("plateau 1/2 (tr Σ - Σ_S λ) of subset S".into()),
        series: vec![Series::new("J", j)],
        ..Default::default()
    }
    .save(&run.dir().file("learning"))?;
    let (n1, n0) = spec.w0.shape();
    if !plot.names().iter().any(|n| n == "c1_1") {
        return Ok(());
    }
    // overlaps[i][j]: (t, w_i · φ_j) at the kept rows with t > 0.
    let overlaps: Vec<Vec<Vec<(f64, f64)>>> = (1..=n1)
        .map(|i| {
            (1..=n0)
                .map(|j| positive_t(plot.series(&format!("c{i}_{j}"))))
                .collect()
        })
        .collect();
    overlap_panels(&overlaps, &title).save(&run.dir().file("overlaps"))?;
    alignment_figure(&overlaps, &title).save(&run.dir().file("alignment"))
}

fn positive_t(s: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    s.into_iter().filter(|p| p.0 > 0.0).collect()
}

fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// "LMSER averaged, n0 = 6, n1 = 3" and the like: the rule, the mode and the net.
pub(super) fn net_title(spec: &LearningSpec) -> String {
    let (n1, n0) = spec.w0.shape();
    let rule = match &spec.rule {
        Rule::Lmser { gains: None, .. } => "LMSER".to_string(),
        Rule::Lmser {
            gains: Some(a),
            placement,
        } => format!(
            "LMSER (A = diag({}), placement {})",
            join(a.as_slice()),
            placement.name()
        ),
        Rule::Oja => "Oja".into(),
        Rule::OjaWeighted { theta } => {
            format!("weighted Oja (Θ = diag({}))", join(theta.as_slice()))
        }
        Rule::LmserTanh { beta } => format!("LMSER, tanh units (β = {beta})"),
    };
    format!("{rule} {}, n0 = {n0}, n1 = {n1}", spec.mode.name())
}

/// "{1,3}", 1-based; "{} (W = 0)" for the empty subset.
fn subset_label(s: &[usize]) -> String {
    if s.is_empty() {
        return "{} (W = 0)".into();
    }
    let idx: Vec<String> = s.iter().map(|i| (i + 1).to_string()).collect();
    format!("{{{}}}", idx.join(","))
}

/// Fraction of the log-time span of `j` spent within `tol` of `level`.
fn dwell(j: &[(f64, f64)], level: f64, tol: f64) -> f64 {
    let (Some(first), Some(last)) = (j.first(), j.last()) else {
        return 0.0;
    };
    let span = (last.0 / first.0).ln();
    if span <= 0.0 {
        return 0.0;
    }
    let near = |v: f64| (v - level).abs() <= tol;
    j.windows(2)
        .filter(|w| near(w[0].1) && near(w[1].1))
        .map(|w| (w[1].0 / w[0].0).ln())
        .sum::<f64>()
        / span
}

/// The plateau levels 1/2 (tr Σ - Σ_S λ) (Theorem 2) that J dwells on (at least 2%
/// of the log-time axis within 0.2% of J's range), and the minimum (S the top n1
/// eigenvectors), each labelled with its subset; subsets sharing a level share a
/// label. Only for the rules whose critical points reconstruct with the projection
/// onto span{φ_j : j in S} (LMSER, its gradient placement, Oja): amplified placements
/// (b)-(d), weighted Oja and tanh units stop at rows of other lengths, or other
/// points, with other values of J.
fn plateau_levels(spec: &LearningSpec, j: &[(f64, f64)]) -> Vec<Level> {
    let (n1, n0) = spec.w0.shape();
    let projective = matches!(
        spec.rule,
        Rule::Lmser { gains: None, .. }
            | Rule::Lmser {
                placement: Placement::Gradient,
                ..
            }
            | Rule::Oja
    );
    if !projective || n0 > 12 || j.is_empty() {
        return Vec::new();
    }
    let (lo, hi) = j
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let tol = 2e-3 * (hi - lo).max(1e-9 * hi.abs().max(1.0));
    let top: Vec<usize> = (0..n1.min(n0)).collect();
    let mut levels: Vec<(f64, Vec<String>)> = Vec::new();
    for s in crate::analysis::subsets(n0, n1) {
        let v = spec.spectrum.plateau(&s);
        if s != top && dwell(j, v, tol) < 0.02 {
            continue;
        }
        match levels
            .iter_mut()
            .find(|l| (l.0 - v).abs() <= 1e-9 * v.abs().max(1.0))
        {
            Some(l) => l.1.push(subset_label(&s)),
            None => levels.push((v, vec![subset_label(&s)])),
        }
    }
    levels
        .into_iter()
        .map(|(v, names)| Level::new(v, names.join(" = ")))
        .collect()
}

/// One panel per row i of W: w_i · φ_j against t, coloured by eigenvector j.
fn overlap_panels(overlaps: &[Vec<Vec<(f64, f64)>>], title: &str) -> Panels {
    let n1 = overlaps.len();
    let panels = overlaps
        .iter()
        .enumerate()
        .map(|(i, row)| Figure {
            title: format!("row {} of W", i + 1),
            x_label: if i + 1 == n1 {
                "t (log scale)".into()
            } else {
                String::new()
            },
            y_label: format!("w{} · φj", i + 1),
            log_x: true,
            series: row
                .iter()
                .enumerate()
                .map(|(j, pts)| Series::new(format!("φ{}", j + 1), pts.clone()).color(palette(j)))
                .collect(),
            levels: vec![Level::new(0.0, "")],
            ..Default::default()
        })
        .collect();
    Panels {
        title: format!("Overlaps w_i · φ_j of the rows of W with the eigenvectors, {title}"),
        panels,
        columns: if n1 <= 4 { 1 } else { 2 },
        shared_legend: true,
    }
}

/// |cos(w_i, φ_m(i))| against t for each row i, m(i) the eigenvector the row is
/// closest to at the end (||w_i||² = Σ_j (w_i · φ_j)², Φ being orthonormal).
fn alignment_figure(overlaps: &[Vec<Vec<(f64, f64)>>], title: &str) -> Figure {
    let series = overlaps
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let last = |j: usize| row[j].last().map_or(0.0, |p| p.1.abs());
            let best = (0..row.len())
                .max_by(|&a, &b| last(a).total_cmp(&last(b)))
                .unwrap_or(0);
            let pts = (0..row[best].len())
                .map(|k| {
                    let norm = row.iter().map(|c| c[k].1 * c[k].1).sum::<f64>().sqrt();
                    let c = row[best][k].1.abs();
                    (row[best][k].0, if norm > 0.0 { c / norm } else { 0.0 })
                })
                .collect();
            Series::new(format!("row {} → φ{}", i + 1, best + 1), pts).color(palette(i))
        })
        .collect();
    Figure {
        title: format!("Alignment of each row with the eigenvector it ends closest to, {title}"),
        x_label: "t (log scale)".into(),
        y_label: "|cos(w_i, φ_m(i))|".into(),
        log_x: true,
        y_range: Some((0.0, 1.02)),
        series,
        ..Default::default()
    }
}
