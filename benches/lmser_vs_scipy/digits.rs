//! The digits cases of the benchmark (the 8x8 digits, 1797 x 64, pixels in [0, 1]):
//!
//! - stochastic one-layer LMSER 64 -> 16, 100 epochs of minibatches of 32 (the last
//!   batch of an epoch holds the 1797 mod 32 = 5 left over), W += (eta / tau_w)
//!   F(W; X_b^T X_b / b), F the library's `flow` with `Moment::Samples`, against the
//!   same loop in NumPy (`bench/reference.py DIR stochastic`). The Rust side writes
//!   the images, W0 and the 100 permutations as CSV, so both sides do the same
//!   arithmetic; their final W must agree to 1e-8 of max |W|;
//! - held samples at tau_w / tau = 1e4 (no peer): `lmser run` of one-layer 64 -> 16
//!   configs on the digits (`samples = "digits.csv"`), mode coupled against mode
//!   two-phase on the same samples, and the multilayer 64-16-10 configs
//!   (`dataset = "digits"`) in both modes; the coupled runs with the automatic
//!   method and with IMEX and Dopri5 named.

use super::support::Row;
use super::{Args, Res, lmser_run};
use lmser::data::{Images, rng};
use lmser::dynamics::rules::{Moment, Rule, Workspace, flow, reconstruction_error};
use lmser::io::files::{read_matrix, write_matrix};
use nalgebra::DMatrix;
use rand::Rng;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The problem's name in the results.
const STOCHASTIC: &str = "digits 64x16 stochastic";
const HELD: &str = "digits held samples";
const EPOCHS: usize = 100;
const BATCH: usize = 32;
const N1: usize = 16;
const ETA: f64 = 0.01;
const TAU_W: f64 = 1.0;

/// Every digits row: the stochastic loop on both sides, then the held-sample runs.
pub fn run_digits(a: &Args) -> Res<Vec<Row>> {
    let dir = a.out.join("digits");
    std::fs::create_dir_all(&dir)?;
    let x = Images::digits()?.x;
    write_matrix(&dir.join("digits.csv"), &x)?;
    let mut rows = stochastic(&dir, &x, a)?;
    rows.extend(held(&dir, a)?);
    Ok(rows)
}

/// W0 (entries uniform in +-0.1) and one permutation of the samples per epoch, from
/// a seeded stream; written as w0.csv and perm.csv (one epoch per line).
fn setup(dir: &Path, n: usize, n0: usize) -> Res<(DMatrix<f64>, Vec<Vec<usize>>)> {
    let mut r = rng(1, lmser::data::stream::SAMPLES);
    let w0 = DMatrix::from_fn(N1, n0, |_, _| r.random_range(-0.1..0.1));
    let perm: Vec<Vec<usize>> = (0..EPOCHS)
        .map(|_| {
            let mut p: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                p.swap(i, r.random_range(0..=i));
            }
            p
        })
        .collect();
    write_matrix(&dir.join("w0.csv"), &w0)?;
    let lines: Vec<String> = perm
        .iter()
        .map(|p| {
            p.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    std::fs::write(dir.join("perm.csv"), lines.join("\n") + "\n")?;
    let json = format!(
        "{{\"n1\": {N1}, \"epochs\": {EPOCHS}, \"batch\": {BATCH}, \"eta\": {ETA:?}, \"tau_w\": {TAU_W:?}}}\n"
    );
    std::fs::write(dir.join("stochastic.json"), json)?;
    Ok((w0, perm))
}

/// The minibatch loop: for each epoch's permutation, batches of BATCH consecutive
/// indices (the last one shorter), W += (eta / tau_w) F(W; X_b^T X_b / b).
fn train(x: &DMatrix<f64>, perm: &[Vec<usize>], w0: &DMatrix<f64>) -> DMatrix<f64> {
    let (n, n0) = x.shape();
    let xt = x.transpose();
    let rule = Rule::lmser();
    let (mut ws, mut f) = (Workspace::new(N1, n0), DMatrix::zeros(N1, n0));
    let mut w = w0.clone();
    let mut full = DMatrix::zeros(BATCH, n0);
    let mut part = DMatrix::zeros(n % BATCH, n0);
    let step = ETA / TAU_W;
    for p in perm {
        for chunk in p.chunks(BATCH) {
            let xb = if chunk.len() == BATCH {
                &mut full
            } else {
                &mut part
            };
            // Sample i is column i of X^T (contiguous); row r of the batch (in L1).
            let (b, dst) = (chunk.len(), xb.as_mut_slice());
            for (r, &i) in chunk.iter().enumerate() {
                let src = &xt.as_slice()[i * n0..(i + 1) * n0];
                for (j, &v) in src.iter().enumerate() {
                    dst[j * b + r] = v;
                }
            }
            flow(&rule, &w, &Moment::Samples(xb), &mut ws, &mut f);
            // W += (F step), as the library's stochastic mode and NumPy's `w += f * step`.
            for (wi, fi) in w.as_mut_slice().iter_mut().zip(f.as_slice()) {
                *wi += fi * step;
            }
        }
    }
    w
}

/// The stochastic rows: lmser's loop and NumPy's (solve and whole process).
fn stochastic(dir: &Path, x: &DMatrix<f64>, a: &Args) -> Res<Vec<Row>> {
    let (w0, perm) = setup(dir, x.nrows(), x.ncols())?;
    let (mut t, mut w) = (Vec::new(), w0.clone());
    for _ in 0..a.reps {
        let start = Instant::now();
        w = train(x, &perm, &w0);
        t.push(start.elapsed().as_secs_f64());
    }
    let mut ws = Workspace::new(N1, x.ncols());
    let j = reconstruction_error(&Rule::lmser(), &w, &Moment::Samples(x), &mut ws);
    eprintln!("{STOCHASTIC}: lmser J = {j:.12e} after {EPOCHS} epochs");
    write_matrix(&dir.join("w_lmser.csv"), &w)?;
    let batches = (EPOCHS * x.nrows().div_ceil(BATCH)) as u64;
    let label = format!("{EPOCHS} epochs, batch {BATCH}, eta {ETA}");
    let mut row = Row::named(STOCHASTIC, "lmser", &label, "solve", t);
    row.work = Some((batches, batches));
    row.diff = Some(0.0);
    let sizes: Vec<usize> = perm
        .iter()
        .flat_map(|p| p.chunks(BATCH).map(<[usize]>::len))
        .collect();
    let bound = super::roofline::stochastic_bound(STOCHASTIC, N1, x.ncols(), &sizes)?;
    let mut rows = vec![row, bound];
    if a.no_python {
        return Ok(rows);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/reference.py");
    let (mut solve, mut whole, mut info) = (Vec::new(), Vec::new(), serde_json::Value::Null);
    for _ in 0..a.reps {
        let start = Instant::now();
        let out = Command::new(&a.python)
            .args([script, &dir.display().to_string(), "stochastic"])
            .env("OPENBLAS_NUM_THREADS", "1")
            .env("OMP_NUM_THREADS", "1")
            .output()?;
        whole.push(start.elapsed().as_secs_f64());
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            return Err(format!("{script} stochastic failed: {err}").into());
        }
        info = serde_json::from_slice(&out.stdout)?;
        solve.push(info["solve_s"].as_f64().ok_or("no solve_s")?);
    }
    let wp = read_matrix(&dir.join("w_numpy.csv"))?;
    let diff = (&wp - &w).amax() / w.amax();
    let jp = info["J"].as_f64().unwrap_or(f64::NAN);
    eprintln!("{STOCHASTIC}: NumPy J = {jp:.12e}, max |W - W_lmser| / max |W| = {diff:.2e}");
    if diff.is_nan() || diff > 1e-8 {
        return Err(format!("{STOCHASTIC}: NumPy's W differs from lmser's by {diff:.2e}").into());
    }
    let label = format!(
        "minibatch loop, one-product algebra (NumPy {})",
        info["numpy"].as_str().unwrap_or("?")
    );
    for (measure, t) in [("solve", solve), ("whole process", whole)] {
        let mut r = Row::named(STOCHASTIC, "numpy", &label, measure, t);
        r.work = Some((batches, batches));
        r.diff = Some(diff);
        rows.push(r);
    }
    Ok(rows)
}

/// Samples held at tau_w / tau = 1e4 (tau_w = 1, tau = 1e-4, presentation 1e-3):
/// 500 samples, coupled against two-phase, one layer (64 -> 16, linear, the digits
/// as a sample file; two-phase settles by the neuron ODE with the same tau) and three
/// layers (64-16-10, logistic, the shipped digits; two-phase settles by sweeps). The
/// coupled runs go three ways: with the automatic choice (one layer: IMEX; three
/// layers: Dopri5, as a presentation is 10 tau, docs/numerics.md §6), then with IMEX
/// and with Dopri5 named. Coupled rows carry the run's rhs and steps (summary.json) and
/// the named methods' max |W - W_auto| / max |W_auto|.
fn held(dir: &Path, a: &Args) -> Res<Vec<Row>> {
    let one = "layers = [64, 16]\nactivation = \"linear\"\n[data]\nsamples = \"digits.csv\"\n\
               [init]\nscale = 0.1";
    let multi = "layers = [64, 16, 10]\nactivation = \"logistic\"\n[data]\n\
                 dataset = \"digits\"\ntest_fraction = 0.0\n[init]\nscale = 1.0";
    let mut rows = Vec::new();
    for (net, slug, body, depth) in [
        ("one layer 64-16", "one", one, 1),
        ("multilayer 64-16-10", "multi", multi, 2),
    ] {
        let coupled = if depth == 1 {
            "input = \"samples\"\ntau = 1e-4\n"
        } else {
            "tau = 1e-4\n"
        };
        let two = if depth == 1 {
            "settle = \"ode\"\ntau = 1e-4\n"
        } else {
            ""
        };
        let mut auto_w = None;
        for (mode, extra, method) in [
            ("coupled", coupled, None),
            ("coupled", coupled, Some("imex")),
            ("coupled", coupled, Some("dopri5")),
            ("two-phase", two, None),
        ] {
            let tag = method.map_or(String::new(), |m| format!("-{m}"));
            let named = method.map_or(String::new(), |m| format!("method = \"{m}\"\n"));
            let cfg = format!(
                "name = \"held-{slug}-{mode}{tag}\"\nkind = \"learning\"\nseed = 1\n[network]\n{body}\n\
                 [learning]\nrule = \"lmser\"\nmode = \"{mode}\"\ntau_w = 1.0\n{extra}\
                 presentation = 1e-3\nt_end = 0.5\n[solver]\noutput_dt = 0.05\n{named}"
            );
            let path = dir.join(format!("held-{slug}-{mode}{tag}.toml"));
            std::fs::write(&path, cfg)?;
            let out = dir.join(format!("run-held-{slug}-{mode}{tag}"));
            let t = lmser_run(&path, &out, a.reps)?;
            let summary: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out.join("summary.json"))?)?;
            let solver = &summary["solver"];
            let label = match (mode, method) {
                ("coupled", None) => format!(
                    "{net}, coupled, {} (automatic)",
                    solver["method"].as_str().unwrap_or("?")
                ),
                ("coupled", Some(m)) => format!("{net}, coupled, {m} (named)"),
                _ => format!("{net}, {mode}"),
            };
            let mut r = Row::named(
                HELD,
                "lmser",
                &format!("{label}, 500 samples, tau_w/tau = 1e4"),
                "whole process",
                t,
            );
            if let (Some(e), Some(s)) = (
                solver["rhs_evals"].as_u64(),
                solver["accepted_steps"].as_u64(),
            ) {
                r.work = Some((e, s));
            }
            if mode == "coupled" {
                let w: Vec<DMatrix<f64>> = (1..=depth)
                    .map(|k| read_matrix(&out.join(format!("W{k}.csv"))))
                    .collect::<Result<_, _>>()?;
                match &auto_w {
                    None => auto_w = Some(w),
                    Some(base) => r.diff = Some(relative_diff(&w, base)),
                }
            }
            rows.push(r);
        }
    }
    Ok(rows)
}

/// max |W - W_ref| / max |W_ref| over all layers.
fn relative_diff(w: &[DMatrix<f64>], reference: &[DMatrix<f64>]) -> f64 {
    let scale = reference.iter().map(|m| m.amax()).fold(0.0, f64::max);
    w.iter()
        .zip(reference)
        .map(|(a, b)| (a - b).amax())
        .fold(0.0, f64::max)
        / scale
}
