//! The plots of a perceptron run: `energy` (E and the printed J_net) and `activities`
//! (the units coloured by layer, and ||dz/dt|| on a log axis; for linear nets the rate
//! the smallest eigenvalue of I - T predicts, and log |z| when the net diverges).

use super::PerceptronSpec;
use crate::error::Result;
use crate::experiment::{PlotBuffer, Run};
use crate::io::plot::{Figure, Panels, Series, palette, shade};

/// Writes energy.png and activities.png from the kept rows.
pub(super) fn plots(run: &Run, plot: &PlotBuffer, spec: &PerceptronSpec) -> Result<()> {
    if plot.rows().is_empty() {
        return Ok(());
    }
    let net = net_title(spec);
    Figure {
        title: format!("Energy along the neuron dynamics, {net}"),
        x_label: "t".into(),
        y_label: "energy".into(),
        series: vec![
            Series::new("E (Lyapunov energy)", plot.series("E")).color(palette(0)),
            Series::new("J_net as printed on the slides", plot.series("E_printed"))
                .color(palette(1)),
        ],
        ..Default::default()
    }
    .save(&run.dir().file("energy"))?;
    activities(plot, spec, &net).save(&run.dir().file("activities"))
}

/// "logistic net 8-6-4-3": the activations of the free layers and the layer sizes.
fn net_title(spec: &PerceptronSpec) -> String {
    let net = spec.dynamics.network();
    let mut names: Vec<&str> = net
        .free_layers()
        .map(|k| net.activation(k).name())
        .collect();
    names.dedup();
    let sizes: Vec<String> = net.sizes().iter().map(|n| n.to_string()).collect();
    format!("{} net {}", names.join("/"), sizes.join("-"))
}

/// The growth rate -λ_min(I - T)/τ of the slowest mode of a linear net with one τ
/// (negative: it settles), or None.
fn linear_rate(spec: &PerceptronSpec) -> Option<f64> {
    let net = spec.dynamics.network();
    let tau = net.tau(1);
    let one_tau = net.free_layers().all(|k| net.tau(k) == tau);
    let margin = spec.dynamics.linear_stability_margin()?;
    one_tau.then_some(-margin / tau)
}

/// exp(rate t) through the last point of `s`, over the last 60% of its time span.
fn predicted(s: &[(f64, f64)], rate: f64) -> Vec<(f64, f64)> {
    let Some(&(t1, y1)) = s.last() else {
        return Vec::new();
    };
    let t0 = s.first().map_or(0.0, |p| p.0);
    let from = t0 + 0.4 * (t1 - t0);
    (0..=50)
        .map(|k| {
            let t = from + (t1 - from) * k as f64 / 50.0;
            (t, y1 * (rate * (t - t1)).exp())
        })
        .collect()
}

/// One series per unit z{k}_{j} (|z| when `abs`), coloured by layer k with a shade per
/// unit; the middle unit of each layer carries the layer's legend entry.
fn unit_series(plot: &PlotBuffer, abs: bool) -> Vec<Series> {
    let units: Vec<&String> = plot.names().iter().filter(|n| n.starts_with('z')).collect();
    let layer_of = |n: &str| {
        n[1..]
            .split('_')
            .next()
            .and_then(|k| k.parse::<usize>().ok())
    };
    let mut series = Vec::new();
    for (i, name) in units.iter().enumerate() {
        let k = layer_of(name).unwrap_or(1);
        let same: Vec<usize> = (0..units.len())
            .filter(|&u| layer_of(units[u]) == Some(k))
            .collect();
        let pos = same.iter().position(|&u| u == i).unwrap_or(0);
        let label = if pos == same.len() / 2 {
            format!("layer {k} ({} units)", same.len())
        } else {
            String::new()
        };
        let mut pts = plot.series(name);
        if abs {
            pts.iter_mut().for_each(|p| p.1 = p.1.abs());
        }
        series.push(Series::new(label, pts).color(shade(palette(k - 1), pos, same.len())));
    }
    series
}

/// Activities (or log |z| for a diverging linear net), coloured by layer with a
/// shade per unit and one legend entry per layer, over ||dz/dt||.
fn activities(plot: &PlotBuffer, spec: &PerceptronSpec, net: &str) -> Panels {
    let rate = linear_rate(spec);
    let diverging = rate.is_some_and(|r| r > 0.0);
    let mut series = unit_series(plot, diverging);
    let has_units = !series.is_empty();
    let dz = plot.series("dz_norm");
    let margin = spec.dynamics.linear_stability_margin();
    let rate_label = |r: f64| format!("predicted exp(-λ_min t/τ) = exp({r:.4} t)");
    let mut dz_series = vec![Series::new("||dz/dt||", dz.clone()).color(palette(7))];
    if let Some(r) = rate {
        dz_series.push(
            Series::new(rate_label(r), predicted(&dz, r))
                .dashed()
                .color(palette(3)),
        );
        let biggest = series
            .iter()
            .filter(|s| !s.points.is_empty())
            .max_by(|a, b| {
                a.points[a.points.len() - 1]
                    .1
                    .total_cmp(&b.points[b.points.len() - 1].1)
            });
        if let (true, Some(b)) = (diverging, biggest) {
            let line = predicted(&b.points, r);
            series.push(Series::new(rate_label(r), line).dashed().color(palette(3)));
        }
    }
    let status = match margin {
        Some(m) if m > 0.0 => format!(" (I - T positive definite, λ_min = {m:.4})"),
        Some(m) => format!(" (I - T indefinite, λ_min = {m:.4})"),
        None => String::new(),
    };
    // Both panels over the run's time span (log |z| has no point at z = 0).
    let x_range = dz.first().zip(dz.last()).map(|(a, b)| (a.0, b.0));
    let z_panel = Figure {
        x_range,
        title: if diverging {
            "|z_kj(t)| (log scale)".into()
        } else {
            "activities z_kj(t)".into()
        },
        y_label: if diverging { "|z|" } else { "z" }.into(),
        log_y: diverging,
        series,
        ..Default::default()
    };
    let dz_panel = Figure {
        x_range,
        title: "||dz/dt|| (log scale)".into(),
        x_label: "t".into(),
        y_label: "||dz/dt||".into(),
        log_y: true,
        series: dz_series,
        ..Default::default()
    };
    let panels = if !has_units {
        vec![dz_panel]
    } else {
        vec![z_panel, dz_panel]
    };
    Panels {
        title: format!("Neuron activities, {net}{status}"),
        panels,
        columns: 1,
        shared_legend: true,
    }
}
