//! Oja's subspace rule against LMSER: Theorem 4's sign and printed equality, and the
//! speed of both flows from the same starts (docs/theory.md §4).

use super::{CheckRow, Verdict, averaged_spec, random_sigma, row};
use crate::analysis::{Spectrum, critical_weights, theorem4};
use crate::data;
use crate::data::{Dataset, Distribution, random_orthogonal};
use crate::dynamics::rules::Rule;
use crate::error::Result;
use crate::executor::Metrics;
use crate::experiment::learning::simulate;
use crate::io::output::RunDir;
use crate::io::plot::{Figure, Series};
use nalgebra::DMatrix;

/// Theorem 4's printed equality over random W of several scales, W with orthonormal
/// rows, and W near critical points (the sign claim is searched by
/// [`super::sign_search::theorem4_sign`]). Returns the row and the ratios per family.
pub fn theorem4_check() -> (Vec<CheckRow>, Vec<(String, Vec<f64>)>) {
    let lam = [5.0, 3.0, 1.5, 0.8, 0.3];
    let sigma = random_sigma(&lam, 9);
    let spec = Spectrum::of(&sigma);
    let mut rng = data::rng(10, 1);
    let mut families: Vec<(String, Vec<f64>)> = Vec::new();
    let push = |name: &str, w: DMatrix<f64>, fam: &mut Vec<(String, Vec<f64>)>| {
        let (_, ratio) = theorem4(&w, &sigma);
        match fam.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(ratio),
            None => fam.push((name.to_string(), vec![ratio])),
        }
    };
    for scale in [0.1, 0.5, 1.0, 2.0, 5.0] {
        for _ in 0..100 {
            let w = DMatrix::from_fn(2, 5, |_, _| scale / 5f64.sqrt() * data::normal(&mut rng));
            push(&format!("random, scale {scale}"), w, &mut families);
        }
    }
    for _ in 0..200 {
        let q = random_orthogonal(5, &mut rng);
        push("orthonormal rows", q.rows(0, 2).into_owned(), &mut families);
    }
    for subset in crate::analysis::subsets(5, 2).into_iter().skip(1) {
        for _ in 0..10 {
            let p = DMatrix::from_fn(2, 5, |_, _| 1e-3 * data::normal(&mut rng));
            push(
                "near critical points",
                critical_weights(&spec, 2, &subset) + p,
                &mut families,
            );
        }
    }
    let mut parts = Vec::new();
    let mut max_dev = 0.0f64;
    for (name, r) in &families {
        let (lo, hi) = r
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        max_dev = r.iter().fold(max_dev, |m, v| m.max((v - 2.0).abs()));
        parts.push(format!("{name}: ratio in [{lo:.3}, {hi:.3}]"));
    }
    let rows = vec![
        row(
            "theorem4-equality",
            "<E vec G_0, E vec G> = 2 ||E vec G_0||^2",
            format!(
                "ratio <G_0,G>/||G_0||^2 (2 if the equality held; max |ratio - 2| = {max_dev:.3}): {}",
                parts.join("; ")
            ),
            if max_dev < 1e-6 {
                Verdict::Holds
            } else {
                Verdict::Fails
            },
            false,
        )
        .key("max |ratio - 2|", max_dev, Some(1e-6)),
    ];
    (rows, families)
}

/// LMSER against Oja from the same starts: time to reach the principal subspace
/// (subspace error below 1e-3) and the largest rise of J along Oja's flow.
pub fn lmser_vs_oja(starts: u64) -> Result<(CheckRow, Vec<Series>)> {
    let lam = [5.0, 3.0, 1.5, 0.8, 0.3];
    let dataset =
        Dataset::from_eigenvalues(&lam, true, Distribution::Gaussian, &mut data::rng(14, 4));
    let (mut t_l, mut t_o, mut rise) = (Vec::new(), Vec::new(), 0.0f64);
    let mut curves = Vec::new();
    for s in 0..starts {
        let mut rng = data::rng(200 + s, 1);
        let w0 = DMatrix::from_fn(2, 5, |_, _| 0.1 * data::normal(&mut rng));
        for (name, rule) in [("lmser", Rule::lmser()), ("oja", Rule::Oja)] {
            let spec = averaged_spec(&dataset, rule, w0.clone(), 20.0, 400.0);
            let (mut hit, mut last, mut curve) = (f64::NAN, f64::INFINITY, Vec::new());
            simulate(&spec, &mut |m: &Metrics| {
                let (t, j) = (m.t(), m.value("J"));
                if hit.is_nan() && m.value("subspace_error") < 1e-3 {
                    hit = t;
                }
                if name == "oja" {
                    rise = rise.max(j - last);
                }
                last = j;
                curve.push((t, j));
                Ok(())
            })?;
            if name == "lmser" {
                t_l.push(hit)
            } else {
                t_o.push(hit)
            }
            if s == 0 {
                curves.push(Series::new(format!("J along {name}"), curve));
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let measured = format!(
        "mean time to subspace error < 1e-3 over {starts} starts: LMSER {:.3}, Oja {:.3} (ratio {:.2}); largest rise of J along Oja's flow {:.2e}",
        mean(&t_l),
        mean(&t_o),
        mean(&t_o) / mean(&t_l),
        rise
    );
    Ok((
        row(
            "lmser-vs-oja",
            "Oja's rule is not a gradient flow but shares LMSER's global picture",
            measured,
            if t_l.iter().chain(&t_o).all(|t| t.is_finite()) {
                Verdict::Holds
            } else {
                Verdict::Fails
            },
            false,
        )
        .key(
            "slowest t to subspace",
            t_l.iter().chain(&t_o).fold(
                0.0,
                |m, &t| if t.is_nan() { f64::INFINITY } else { m.max(t) },
            ),
            Some(20.0),
        ),
        curves,
    ))
}

/// theorem4.png: the ratio <E G_0, E G> / ||E G_0||^2 of each sampled W as a marker,
/// the families one after another along x, against the slides' 2.
pub(crate) fn theorem4_figure(dir: &RunDir, families: &[(String, Vec<f64>)]) -> Result<()> {
    let mut start = 0usize;
    let mut series = Vec::new();
    for (i, (name, ratios)) in families.iter().enumerate() {
        let pts = ratios
            .iter()
            .enumerate()
            .map(|(k, v)| ((start + k) as f64, *v))
            .collect();
        start += ratios.len();
        series.push(
            Series::new(name.clone(), pts)
                .markers()
                .color(crate::io::plot::palette(i)),
        );
    }
    Figure {
        title: "Theorem 4: <E G_0, E G> / ||E G_0||^2 at sampled W (the slides claim 2)".into(),
        x_label: "sampled W (families one after another)".into(),
        y_label: "ratio".into(),
        series,
        levels: vec![crate::io::plot::Level::new(2.0, "printed value 2")],
        ..Default::default()
    }
    .save(&dir.file("theorem4"))
}

/// lmser_vs_oja.png: J(t) along both flows from the same start (LMSER solid, Oja
/// dashed: they meet at the minimum).
pub(crate) fn lmser_vs_oja_figure(dir: &RunDir, curves: Vec<Series>) -> Result<()> {
    Figure {
        title: "J(t) along LMSER and Oja's subspace rule from the same W0".into(),
        x_label: "t (log scale)".into(),
        y_label: "J".into(),
        log_x: true,
        series: curves
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let s = Series::new(
                    s.label,
                    s.points.into_iter().filter(|p| p.0 > 0.0).collect(),
                )
                .color(crate::io::plot::palette(i));
                if i == 0 { s } else { s.dashed() }
            })
            .collect(),
        ..Default::default()
    }
    .save(&dir.file("lmser_vs_oja"))
}
