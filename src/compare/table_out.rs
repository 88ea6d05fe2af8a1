//! Outputs of the table: `table.csv`, `curves.csv`, `learning_curves.png` (and
//! `.svg`), and the Markdown summary for the README.

use super::{CURVE_COLUMNS, Row, TABLE_COLUMNS, TableOutput};
use crate::error::{Error, Result};
use crate::io::output::write_csv;
use crate::io::plot::{Figure, Series, palette};
use std::path::Path;

/// Files [`write_outputs`] writes.
const FILES: [&str; 4] = [
    "table.csv",
    "curves.csv",
    "learning_curves.png",
    "learning_curves.svg",
];

/// Writes `table.csv` (columns [`TABLE_COLUMNS`]), `curves.csv` ([`CURVE_COLUMNS`])
/// and `learning_curves.png`/`.svg` into `dir` (created if needed). A directory that
/// already holds one of these files is refused unless `force` (nothing is changed).
/// Numbers are written in shortest round-trip form.
pub fn write_outputs(dir: &Path, out: &TableOutput, force: bool) -> Result<()> {
    if !force && let Some(f) = FILES.iter().find(|f| dir.join(f).exists()) {
        return Err(Error::RunDir {
            dir: dir.to_path_buf(),
            message: format!(
                "holds {f} of an earlier table; nothing was changed, replace it with --force or choose another directory with --out"
            ),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
    let header = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let rows = out.rows.iter().map(|r| {
        vec![
            r.model.clone(),
            r.iterations.to_string(),
            r.seed.to_string(),
            r.recon_error_train.to_string(),
            r.recon_error_test.to_string(),
            r.accuracy_train.to_string(),
            r.accuracy_test.to_string(),
            r.wall_s.to_string(),
        ]
    });
    write_csv(
        &dir.join("table.csv"),
        std::iter::once(header(&TABLE_COLUMNS)).chain(rows),
    )?;
    let curves = out.curves.iter().map(|c| {
        vec![
            c.model.clone(),
            c.seed.to_string(),
            c.iterations.to_string(),
            c.recon_error_test.to_string(),
        ]
    });
    write_csv(
        &dir.join("curves.csv"),
        std::iter::once(header(&CURVE_COLUMNS)).chain(curves),
    )?;
    curves_figure(out).save(&dir.join("learning_curves"))
}

/// The models of `names` in order of first appearance.
fn distinct<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// Test error against iterations (both log): per model the mean over seeds (solid,
/// labelled) and the min and max over seeds (dashed, same colour) when there are
/// several seeds.
fn curves_figure(out: &TableOutput) -> Figure {
    let mut series = Vec::new();
    for (i, m) in distinct(out.curves.iter().map(|c| c.model.as_str()))
        .into_iter()
        .enumerate()
    {
        let pts: Vec<_> = out.curves.iter().filter(|c| c.model == m).collect();
        let iters = distinct_iters(&pts);
        let (mut mean, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new());
        let mut seeds = 0;
        for t in iters {
            let v: Vec<f64> = pts
                .iter()
                .filter(|c| c.iterations == t)
                .map(|c| c.recon_error_test)
                .collect();
            seeds = seeds.max(v.len());
            let x = t as f64;
            mean.push((x, v.iter().sum::<f64>() / v.len() as f64));
            lo.push((x, v.iter().copied().fold(f64::INFINITY, f64::min)));
            hi.push((x, v.iter().copied().fold(f64::NEG_INFINITY, f64::max)));
        }
        let color = palette(i);
        series.push(Series::new(m, mean).color(color));
        if seeds > 1 {
            series.push(Series::new("", lo).dashed().color(color));
            series.push(Series::new("", hi).dashed().color(color));
        }
    }
    Figure {
        title: "Test reconstruction error (mean over seeds; dashed: min and max)".into(),
        x_label: "iterations (minibatches)".into(),
        y_label: "mean squared error per pixel".into(),
        log_x: true,
        log_y: true,
        series,
        ..Default::default()
    }
}

fn distinct_iters(pts: &[&super::CurvePoint]) -> Vec<usize> {
    let mut t: Vec<usize> = pts.iter().map(|c| c.iterations).collect();
    t.sort_unstable();
    t.dedup();
    t
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// A Markdown table of mean ± sample std over seeds per (model, iterations), in order
/// of first appearance: reconstruction errors per pixel, accuracies, wall time.
pub fn summary_table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| model | iterations | seeds | recon error train | recon error test | accuracy train | accuracy test | wall s |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut keys: Vec<(&str, usize)> = Vec::new();
    for r in rows {
        if !keys.contains(&(r.model.as_str(), r.iterations)) {
            keys.push((r.model.as_str(), r.iterations));
        }
    }
    for (m, t) in keys {
        let g: Vec<&Row> = rows
            .iter()
            .filter(|r| r.model == m && r.iterations == t)
            .collect();
        let col = |f: fn(&Row) -> f64| mean_std(&g.iter().map(|r| f(r)).collect::<Vec<_>>());
        let e = |(a, b): (f64, f64)| format!("{a:.2e} ± {b:.1e}");
        let a = |(a, b): (f64, f64)| format!("{a:.3} ± {b:.3}");
        s.push_str(&format!(
            "| {m} | {t} | {} | {} | {} | {} | {} | {:.1} |\n",
            g.len(),
            e(col(|r| r.recon_error_train)),
            e(col(|r| r.recon_error_test)),
            a(col(|r| r.accuracy_train)),
            a(col(|r| r.accuracy_test)),
            col(|r| r.wall_s).0,
        ));
    }
    s
}
