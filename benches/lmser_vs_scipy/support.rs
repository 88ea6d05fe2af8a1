//! The benchmark's problems, result rows and output files.

use lmser::experiment::learning::LearningSpec;
use lmser::io::config::Config;
use lmser::io::files::write_matrix;
use std::fmt::Write as _;
use std::path::Path;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// One averaged LMSER problem: eigenvalues 1/i (i = 1..n0) rotated by the seed's
/// Haar rotation, W0 with entries N(0, 0.1^2 / n0) from the seed, tau_w = 1.
pub struct Problem {
    pub n0: usize,
    pub n1: usize,
    pub t_end: f64,
    pub rtol: f64,
    pub atol: f64,
}

impl Problem {
    pub fn new(n0: usize, n1: usize) -> Self {
        Problem {
            n0,
            n1,
            t_end: 50.0,
            rtol: 1e-6,
            atol: 1e-9,
        }
    }

    pub fn name(&self) -> String {
        format!("{}x{}", self.n0, self.n1)
    }

    /// A learning config; `data` is its `[data]` body, `init` its `[init]` body,
    /// `output_dt` the solver's output interval (None: the default t_end / 500).
    fn config(&self, data: &str, init: &str, output_dt: Option<f64>) -> String {
        let mut s = format!(
            "name = \"bench-{}\"\nkind = \"learning\"\nseed = 1\n[network]\nlayers = [{}, {}]\n\
             activation = \"linear\"\n[data]\n{data}\n[learning]\nrule = \"lmser\"\n\
             mode = \"averaged\"\nt_end = {:?}\n[init]\n{init}\n[solver]\nmethod = \"dop853\"\n\
             rtol = {:e}\natol = {:e}\n",
            self.name(),
            self.n0,
            self.n1,
            self.t_end,
            self.rtol,
            self.atol
        );
        if let Some(dt) = output_dt {
            let _ = writeln!(s, "output_dt = {dt:?}");
        }
        s
    }

    /// Writes config.toml (Sigma from the eigenvalues, outputs at 0 and t_end),
    /// config-500.toml (the default 500 outputs), sigma.csv and w0.csv (from that
    /// config's spec), config-cov.toml (Sigma and W0 from those files) and
    /// problem.json (for the SciPy script); returns the spec of config.toml.
    pub fn write_files(&self, dir: &Path) -> Res<LearningSpec> {
        std::fs::create_dir_all(dir)?;
        let ev: Vec<String> = (1..=self.n0)
            .map(|i| format!("{:?}", 1.0 / i as f64))
            .collect();
        let data = format!("eigenvalues = [{}]", ev.join(", "));
        let init = "scale = 0.1";
        std::fs::write(
            dir.join("config.toml"),
            self.config(&data, init, Some(self.t_end)),
        )?;
        std::fs::write(dir.join("config-500.toml"), self.config(&data, init, None))?;
        let spec = LearningSpec::from_config(&Config::load(&dir.join("config.toml"))?)?;
        write_matrix(&dir.join("sigma.csv"), spec.dataset.sigma())?;
        write_matrix(&dir.join("w0.csv"), &spec.w0)?;
        let cov = self.config(
            "covariance = \"sigma.csv\"",
            "weights = [\"w0.csv\"]",
            Some(self.t_end),
        );
        std::fs::write(dir.join("config-cov.toml"), cov)?;
        let json = format!(
            "{{\"n0\": {}, \"n1\": {}, \"t_end\": {:?}, \"rtol\": {:e}, \"atol\": {:e}, \"tau_w\": 1.0}}\n",
            self.n0, self.n1, self.t_end, self.rtol, self.atol
        );
        std::fs::write(dir.join("problem.json"), json)?;
        Ok(spec)
    }
}

/// One measurement: repeated wall-clock times and what the run did.
pub struct Row {
    pub problem: String,
    pub side: String,
    pub variant: String,
    pub measure: String,
    pub times: Vec<f64>,
    /// (right-hand-side evaluations, accepted steps).
    pub work: Option<(u64, u64)>,
    /// max |W - W_ref| / max |W_ref| at t_end.
    pub diff: Option<f64>,
}

impl Row {
    pub fn new(p: &Problem, side: &str, variant: &str, measure: &str, times: Vec<f64>) -> Self {
        Self::named(&p.name(), side, variant, measure, times)
    }

    /// A row of a problem that is not a [`Problem`] (the digits cases).
    pub fn named(problem: &str, side: &str, variant: &str, measure: &str, times: Vec<f64>) -> Self {
        Row {
            problem: problem.into(),
            side: side.into(),
            variant: variant.into(),
            measure: measure.into(),
            times,
            work: None,
            diff: None,
        }
    }
}

pub fn median(t: &[f64]) -> f64 {
    let mut s = t.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

fn min(t: &[f64]) -> f64 {
    t.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(t: &[f64]) -> f64 {
    t.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// The median SciPy solve time of `problem` with the right-hand side `variant`.
fn scipy_solve(rows: &[Row], problem: &str, variant: &str) -> Option<f64> {
    rows.iter()
        .find(|r| {
            r.problem == problem
                && r.side != "lmser"
                && r.measure == "solve"
                && r.variant.contains(variant)
        })
        .map(|r| median(&r.times))
}

/// The median time of the first row of `problem` on `side` whose variant contains
/// `variant`, measured as `measure`.
fn find(rows: &[Row], problem: &str, side: &str, variant: &str, measure: &str) -> Option<f64> {
    rows.iter()
        .find(|r| {
            r.problem == problem
                && r.side == side
                && r.measure == measure
                && r.variant.contains(variant)
        })
        .map(|r| median(&r.times))
}

/// The ratios the targets are stated in: (what, ratio, target).
pub fn ratios(rows: &[Row]) -> Vec<(String, f64, Option<f64>)> {
    let mut out = Vec::new();
    let mut push = |what: String, a: Option<f64>, b: Option<f64>, target| {
        if let (Some(a), Some(b)) = (a, b) {
            out.push((what, a / b, target));
        }
    };
    for p in ["784x32", "64x8"] {
        let solve = |v| find(rows, p, "lmser", v, "solve");
        let whole = |v| find(rows, p, "lmser", v, "whole process");
        let scipy = find(rows, p, "scipy", "one-product", "solve");
        push(
            format!("{p}: lmser solve / SciPy solve"),
            solve("(default)"),
            scipy,
            Some(0.05),
        );
        push(
            format!("{p}: lmser run, 500 outputs / 1"),
            whole("500 outputs"),
            whole("eigenvalues config"),
            Some(1.5),
        );
        push(
            format!("{p}: solve, 500 outputs / 1"),
            solve("500 outputs"),
            solve("(default)"),
            Some(1.5),
        );
    }
    let d = "digits 64x16 stochastic";
    push(
        "digits stochastic: lmser / NumPy (solve)".into(),
        find(rows, d, "lmser", "epochs", "solve"),
        find(rows, d, "numpy", "minibatch", "solve"),
        Some(0.1),
    );
    push(
        "digits stochastic: flop bound / NumPy (solve)".into(),
        find(rows, d, "bound", "flop bound", "solve"),
        find(rows, d, "numpy", "minibatch", "solve"),
        None,
    );
    push(
        "digits stochastic: flop bound / lmser (fraction of peak)".into(),
        find(rows, d, "bound", "flop bound", "solve"),
        find(rows, d, "lmser", "epochs", "solve"),
        None,
    );
    for net in ["one layer", "multilayer"] {
        let mode = |m: &str| {
            rows.iter()
                .find(|r| {
                    r.problem == "digits held samples"
                        && r.variant.starts_with(net)
                        && r.variant.contains(m)
                })
                .map(|r| median(&r.times))
        };
        push(
            format!("digits held, {net}: coupled / two-phase"),
            mode("(automatic)"),
            mode(", two-phase,"),
            None,
        );
        push(
            format!("digits held, {net}: coupled imex / coupled dopri5"),
            mode("imex (named)"),
            mode("dopri5 (named)"),
            None,
        );
    }
    out
}

/// Writes results.csv and table.md (markdown, for the README) into `dir`.
pub fn write_outputs(dir: &Path, rows: &[Row], reps: usize, before: &str, after: &str) -> Res<()> {
    let mut csv = csv::Writer::from_path(dir.join("results.csv"))?;
    csv.write_record([
        "problem",
        "side",
        "variant",
        "measure",
        "reps",
        "median_s",
        "min_s",
        "max_s",
        "rhs_evals",
        "accepted_steps",
        "max_rel_diff_vs_reference",
        "ratio_to_scipy_one_product_solve",
        "ratio_to_scipy_as_written_solve",
    ])?;
    let mut md = String::from(
        "| problem | side | variant | measure | median s (min-max) | rhs evals / steps | \
         rel. diff to reference | / SciPy solve (one-product; as-written) |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let m = median(&r.times);
        let ratio = |v| scipy_solve(rows, &r.problem, v).map(|s| m / s);
        let (r1, r2) = (ratio("one-product"), ratio("as-written"));
        let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map(f).unwrap_or_default();
        let (evals, steps) = r.work.map_or((String::new(), String::new()), |(e, s)| {
            (e.to_string(), s.to_string())
        });
        csv.write_record([
            r.problem.to_string(),
            r.side.to_string(),
            r.variant.to_string(),
            r.measure.to_string(),
            r.times.len().to_string(),
            format!("{m:.6}"),
            format!("{:.6}", min(&r.times)),
            format!("{:.6}", max(&r.times)),
            evals,
            steps,
            opt(r.diff, &|d| format!("{d:.2e}")),
            opt(r1, &|v| format!("{v:.4}")),
            opt(r2, &|v| format!("{v:.4}")),
        ])?;
        writeln!(
            md,
            "| {} | {} | {} | {} | {} ({}-{}) | {} | {} | {}; {} |",
            r.problem,
            r.side,
            r.variant,
            r.measure,
            secs(m),
            secs(min(&r.times)),
            secs(max(&r.times)),
            r.work.map_or(String::new(), |(e, s)| format!("{e} / {s}")),
            opt(r.diff, &|d| format!("{d:.1e}")),
            opt(r1, &|v| format!("{v:.3}")),
            opt(r2, &|v| format!("{v:.3}")),
        )?;
    }
    let _ = writeln!(
        md,
        "\n{reps} repetitions each; load average before: {}, after: {}",
        before.trim(),
        after.trim()
    );
    csv.flush()?;
    let ratios = ratios(rows);
    let mut rc = csv::Writer::from_path(dir.join("ratios.csv"))?;
    rc.write_record(["ratio", "value", "target"])?;
    md.push_str("\n| ratio | value | target |\n|---|---|---|\n");
    for (what, v, target) in &ratios {
        let t = target.map_or(String::new(), |t| format!("{t}"));
        rc.write_record([what.clone(), format!("{v:.4}"), t.clone()])?;
        let _ = writeln!(md, "| {what} | {v:.3} | {t} |");
    }
    rc.flush()?;
    std::fs::write(dir.join("table.md"), &md)?;
    print!("{md}");
    plot(dir, rows, &ratios)?;
    Ok(())
}

/// results.png/.svg: solve time against the error of W(t_end), one panel per
/// problem, one marker per variant; last, the targets' ratios ([`ratios`]).
fn plot(dir: &Path, rows: &[Row], ratios: &[(String, f64, Option<f64>)]) -> Res<()> {
    use lmser::io::plot::{Figure, Level, Panels, Series};
    let mut problems: Vec<&str> = rows
        .iter()
        .filter(|r| r.measure == "solve" && r.diff.is_some())
        .map(|r| r.problem.as_str())
        .collect();
    problems.dedup();
    let panels = problems
        .iter()
        .map(|p| Figure {
            title: format!("{p}: solve time against accuracy"),
            x_label: "max |W - W_ref| / max |W_ref| at t_end".into(),
            y_label: "solve time, median (s)".into(),
            log_x: true,
            log_y: true,
            series: rows
                .iter()
                .filter(|r| r.problem == *p && r.measure == "solve")
                .filter_map(|r| {
                    let d = r.diff?.max(1e-16);
                    let label = format!("{}: {}", r.side, r.variant);
                    Some(Series::new(label, vec![(d, median(&r.times))]).markers())
                })
                .collect(),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let mut panels = panels;
    panels.push(Figure {
        title: "the targets' ratios (median times; dashed: targets 1/20, 1/10 and 1.5, parity 1)"
            .into(),
        x_label: "case (legend)".into(),
        y_label: "ratio".into(),
        log_y: true,
        series: ratios
            .iter()
            .enumerate()
            .map(|(i, (what, v, _))| {
                Series::new(format!("{what}: {v:.3}"), vec![((i + 1) as f64, *v)]).markers()
            })
            .collect(),
        levels: vec![
            Level::new(0.05, "1/20"),
            Level::new(0.1, "1/10"),
            Level::new(1.0, "1"),
            Level::new(1.5, "1.5"),
        ],
        levels_legend: Some("targets, parity".into()),
        x_range: Some((0.0, ratios.len() as f64 + 1.0)),
        ..Default::default()
    });
    let fig = Panels {
        title: "lmser against SciPy (averaged LMSER, DOP853) and NumPy (stochastic LMSER)".into(),
        panels,
        columns: 1,
        shared_legend: false,
    };
    fig.save(&dir.join("results"))?;
    Ok(())
}

/// Seconds with three significant digits.
fn secs(s: f64) -> String {
    let digits = if s > 0.0 {
        (2.0 - s.log10().floor()).max(0.0) as usize
    } else {
        3
    };
    format!("{s:.digits$}")
}
