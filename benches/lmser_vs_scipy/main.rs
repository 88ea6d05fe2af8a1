//! Benchmark: the averaged one-layer LMSER ODE, tau_w dW/dt = 2 W S - W S W^T W -
//! W W^T W S, integrated by lmser (Dop853) and by SciPy's DOP853 (bench/reference.py)
//! on the same problems at the same tolerances, side by side in one run.
//!
//! `bash bench/run.sh` runs it (`cargo bench --bench lmser_vs_scipy -- [--reps N]
//! [--out DIR] [--python PY] [--no-python] [--digits-only]`). For each problem (n0 x n1 = 784 x 32
//! and 64 x 8; eigenvalues 1/i, a seeded rotation, W0 with entries
//! N(0, 0.1^2 / n0), t = 50, rtol 1e-6, atol 1e-9) it writes a config, Sigma and W0
//! as CSV, then times, `reps` times each:
//! - solve, lmser: the library's averaged run (`simulate`: Sigma's eigenbasis,
//!   metrics at t = 0 and t_end, W = V Phi^T), the same with 500 outputs (metrics
//!   at each), and the direct form in the input basis (`AveragedLearning::new`
//!   under `solver::integrate`);
//! - whole process, lmser: `lmser run` on the config (Sigma from the eigenvalues),
//!   on the same config reading `sigma.csv` (one eigendecomposition), and with the
//!   default 500 outputs;
//! - SciPy: solve (inside the script) and whole process (`python3 reference.py`),
//!   for the one-product and the as-written right-hand side.
//!
//! Each final W is compared with a reference solution (the direct form at rtol 1e-12,
//! atol 1e-15); the bench fails if any is off by more than 10 rtol (of max |W|).
//! Then the digits cases ([`digits`]): stochastic LMSER 64 -> 16 against a NumPy
//! minibatch loop on the same permutations, and held samples, coupled against
//! two-phase. Results go to DIR/results.csv, DIR/table.md and DIR/results.png.

mod digits;
mod roofline;
mod support;

use lmser::dynamics::averaged::AveragedLearning;
use lmser::dynamics::rules::Rule;
use lmser::executor::Metrics;
use lmser::experiment::learning::{LearningSpec, simulate};
use lmser::io::files::read_matrix;
use lmser::solver::{Method, SolverOptions, integrate};
use nalgebra::DMatrix;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use support::{Problem, Row, median, write_outputs};

pub(crate) type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Command-line settings.
pub(crate) struct Args {
    pub(crate) reps: usize,
    pub(crate) out: PathBuf,
    pub(crate) python: String,
    pub(crate) no_python: bool,
    digits_only: bool,
}

fn args() -> Args {
    let mut a = Args {
        reps: 5,
        out: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/out")),
        python: "python3".into(),
        no_python: false,
        digits_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--reps" => a.reps = it.next().and_then(|v| v.parse().ok()).expect("--reps N"),
            "--out" => a.out = it.next().expect("--out DIR").into(),
            "--python" => a.python = it.next().expect("--python PY"),
            "--no-python" => a.no_python = true,
            "--digits-only" => a.digits_only = true,
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

fn main() -> Res<()> {
    let a = args();
    std::fs::create_dir_all(&a.out)?;
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut rows = Vec::new();
    let odes: &[(usize, usize)] = if a.digits_only {
        &[]
    } else {
        &[(784, 32), (64, 8)]
    };
    for &(n0, n1) in odes {
        let p = Problem::new(n0, n1);
        rows.extend(run_problem(&p, &a)?);
    }
    rows.extend(digits::run_digits(&a)?);
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    write_outputs(&a.out, &rows, a.reps, &load_before, &load_after)?;
    // Same answer: every W(t_end) within 10 rtol (of max |W|) of the reference.
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| !r.problem.starts_with("digits")) // checked in `digits`
        .filter(|r| r.diff.is_none_or(|d| d.is_nan() || d > 1e-5))
        .map(|r| format!("{} {} {} {}", r.problem, r.side, r.variant, r.measure))
        .collect();
    if !bad.is_empty() {
        return Err(format!("W(t_end) off the reference by more than 1e-5: {bad:?}").into());
    }
    eprintln!("every W(t_end) within 1e-5 (10 rtol) of the reference");
    Ok(())
}

/// Every measurement of one problem.
fn run_problem(p: &Problem, a: &Args) -> Res<Vec<Row>> {
    let dir = a.out.join(p.name());
    let spec = p.write_files(&dir)?;
    eprintln!("{}: reference solution (direct form, rtol 1e-12)", p.name());
    let (w_ref, _) = direct(&spec, p, 1e-12, 1e-15)?;
    let diff = |w: &DMatrix<f64>| (w - &w_ref).amax() / w_ref.amax();
    let mut rows = Vec::new();
    // The library's averaged run at the problem's tolerances, then tighter: the
    // eigenbasis controls the error of V = W Phi componentwise, a weaker control of
    // W's own components than the direct form's at the same rtol. Then with 500
    // outputs instead of one (t_end): the integration is carried through the output
    // times (docs/numerics.md §2.6), so the difference is the dense output and the
    // metrics at every output.
    let one = p.t_end;
    for (variant, rtol, atol, output_dt) in [
        ("eigenbasis (default)", p.rtol, p.atol, one),
        ("eigenbasis, rtol 1e-7, atol 1e-10", 1e-7, 1e-10, one),
        ("eigenbasis, rtol 1e-8, atol 1e-11", 1e-8, 1e-11, one),
        ("eigenbasis, 500 outputs", p.rtol, p.atol, p.t_end / 500.0),
    ] {
        let mut s = spec.clone();
        (s.solver.rtol, s.solver.atol) = (rtol, atol);
        s.solver.output_dt = output_dt;
        let (mut t, mut last) = (Vec::new(), None);
        for _ in 0..a.reps {
            let start = Instant::now();
            let r = simulate(&s, &mut |_: &Metrics| Ok(()))?;
            t.push(start.elapsed().as_secs_f64());
            last = Some(r);
        }
        let (w, report) = last.expect("reps > 0");
        let mut row = Row::new(p, "lmser", variant, "solve", t);
        let work = (report.rhs_evals, report.accepted_steps);
        row.work = Some((work.0.unwrap_or(0), work.1.unwrap_or(0)));
        row.diff = Some(diff(&w));
        rows.push(row);
    }

    let (mut t, mut last) = (Vec::new(), None);
    for _ in 0..a.reps {
        let start = Instant::now();
        let r = direct(&spec, p, p.rtol, p.atol)?;
        t.push(start.elapsed().as_secs_f64());
        last = Some(r);
    }
    let (w, work) = last.expect("reps > 0");
    let mut row = Row::new(p, "lmser", "direct form (one product)", "solve", t);
    row.work = Some(work);
    row.diff = Some(diff(&w));
    rows.push(row);

    for (variant, config) in [
        ("eigenvalues config", "config.toml"),
        ("sigma.csv config", "config-cov.toml"),
        ("eigenvalues, 500 outputs", "config-500.toml"),
    ] {
        let run_dir = dir.join(format!("run-{}", config.trim_end_matches(".toml")));
        let t = lmser_run(&dir.join(config), &run_dir, a.reps)?;
        let mut row = Row::new(p, "lmser", variant, "whole process", t);
        row.diff = Some(diff(&read_matrix(&run_dir.join("W1.csv"))?));
        rows.push(row);
    }
    if !a.no_python {
        for variant in ["one-product", "as-written"] {
            rows.extend(scipy(p, &dir, variant, a, &diff)?);
        }
    }
    Ok(rows)
}

/// W(t_end) of the direct form (input basis, one product per call) and (rhs
/// evaluations, accepted steps).
fn direct(
    spec: &LearningSpec,
    p: &Problem,
    rtol: f64,
    atol: f64,
) -> Res<(DMatrix<f64>, (u64, u64))> {
    let sys = AveragedLearning::new(Rule::lmser(), spec.dataset.sigma().clone(), 1.0, p.n1);
    let opts = SolverOptions::new(Method::Dop853, p.t_end)
        .rtol(rtol)
        .atol(atol)
        .output_dt(p.t_end);
    let (y, stats) = integrate(&sys, 0.0, spec.w0.as_slice(), &opts, |_, _, _| Ok(()))?;
    let work = (stats.rhs_evals, stats.accepted_steps);
    Ok((DMatrix::from_column_slice(p.n1, p.n0, &y), work))
}

/// Wall-clock times of `lmser run CONFIG --out DIR --force --quiet`.
pub(crate) fn lmser_run(config: &Path, out: &Path, reps: usize) -> Res<Vec<f64>> {
    let mut t = Vec::new();
    for _ in 0..reps {
        let start = Instant::now();
        let st = Command::new(env!("CARGO_BIN_EXE_lmser"))
            .arg("run")
            .arg(config)
            .arg("--out")
            .arg(out)
            .args(["--force", "--quiet"])
            .stdout(std::process::Stdio::null())
            .status()?;
        t.push(start.elapsed().as_secs_f64());
        if !st.success() {
            return Err(format!("lmser run {} failed: {st}", config.display()).into());
        }
    }
    Ok(t)
}

/// SciPy's solve and whole-process rows for one right-hand-side variant.
fn scipy(
    p: &Problem,
    dir: &Path,
    variant: &str,
    a: &Args,
    diff: &dyn Fn(&DMatrix<f64>) -> f64,
) -> Res<Vec<Row>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/reference.py");
    let (mut solve, mut whole, mut info) = (Vec::new(), Vec::new(), serde_json::Value::Null);
    for _ in 0..a.reps {
        let start = Instant::now();
        let out = Command::new(&a.python)
            .arg(script)
            .arg(dir)
            .arg(variant)
            .env("OPENBLAS_NUM_THREADS", "1")
            .env("OMP_NUM_THREADS", "1")
            .output()?;
        whole.push(start.elapsed().as_secs_f64());
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            return Err(format!("{script} failed: {err}").into());
        }
        info = serde_json::from_slice(&out.stdout)?;
        solve.push(info["solve_s"].as_f64().ok_or("no solve_s")?);
    }
    let w = read_matrix(&dir.join(format!("w_scipy_{variant}.csv")))?;
    let label = format!(
        "DOP853, {variant} (SciPy {})",
        info["scipy"].as_str().unwrap_or("?")
    );
    let mut rows = vec![
        Row::new(p, "scipy", &label, "solve", solve),
        Row::new(p, "scipy", &label, "whole process", whole),
    ];
    let nfev = info["nfev"].as_u64().unwrap_or(0);
    for r in &mut rows {
        r.work = Some((nfev, info["steps"].as_u64().unwrap_or(0)));
        r.diff = Some(diff(&w));
    }
    eprintln!(
        "{} scipy {variant}: solve median {:.4} s (import {:.3} s, read {:.3} s)",
        p.name(),
        median(&rows[0].times),
        info["import_s"].as_f64().unwrap_or(f64::NAN),
        info["read_s"].as_f64().unwrap_or(f64::NAN)
    );
    Ok(rows)
}
