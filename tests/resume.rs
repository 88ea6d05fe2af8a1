//! Checkpoints and `--resume`: a run killed (SIGKILL) or interrupted (SIGINT) part way
//! and resumed from its checkpoint ends with a trajectory.csv byte-identical to the
//! uninterrupted run's, for adaptive, fixed-step and stochastic runs (every output
//! interval restarts from its saved state and step size, and the sample stream from
//! its saved position, so the continuation is exact, not just within tolerance).

mod common;
use common::{send, wait_for_file, wait_for_rows};

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn lmser(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lmser"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs `config` to completion in `full`, and again in `part` stopped by `signal`
/// once at least `rows` data rows and a checkpoint are on disk, then resumes `part`;
/// both CSVs must match.
fn interrupted_then_resumed_matches(config: &str, signal: &str, rows: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("c.toml"), config).unwrap();
    let out = lmser(d, &["run", "c.toml", "--quiet", "--out", "full"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_lmser"))
        .args(["run", "c.toml", "--quiet", "--out", "part"])
        .current_dir(d)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Events, not sleeps: `rows` rows on disk and a checkpoint to resume from.
    wait_for_rows(&mut child, &d.join("part/trajectory.csv"), rows);
    wait_for_file(&mut child, &d.join("part/checkpoint.json"));
    send(signal, child.id());
    let status = child.wait().unwrap();
    assert!(!status.success(), "the run was not interrupted");
    let summary = std::fs::read_to_string(d.join("part/summary.json")).unwrap();
    assert!(!summary.contains("\"finished\""));

    let out = lmser(d, &["run", "c.toml", "--quiet", "--resume", "part"]);
    assert!(
        out.status.success(),
        "resume failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (a, b) = (
        std::fs::read(d.join("full/trajectory.csv")).unwrap(),
        std::fs::read(d.join("part/trajectory.csv")).unwrap(),
    );
    assert!(
        a == b,
        "resumed trajectory differs from the uninterrupted one"
    );
    let summary = std::fs::read_to_string(d.join("part/summary.json")).unwrap();
    assert!(summary.contains("\"finished\"") && summary.contains("resumed_from_t"));

    // Resuming a finished run, or with another config, is refused with exit code 2.
    let out = lmser(d, &["run", "c.toml", "--quiet", "--resume", "part"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(d.join("other.toml"), config.replace("seed = 1", "seed = 2")).unwrap();
    std::fs::write(
        d.join("part/summary.json"),
        summary.replace("\"finished\"", "\"interrupted\""),
    )
    .unwrap();
    let out = lmser(d, &["run", "other.toml", "--quiet", "--resume", "part"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another config"));
}

const PERCEPTRON: &str = r#"
name = "p"
kind = "perceptron"
seed = 1
[network]
layers = [30, 20, 10]
activation = "logistic"
init = { scale = 2.0 }
[input]
scale = 1.0
[solver]
method = "METHOD"
rtol = 1e-9
t_end = 40.0
output_dt = 0.001
step = 0.001
checkpoint_interval = 0.05
"#;

#[test]
fn perceptron_dopri5_resumes_exactly_after_sigkill() {
    interrupted_then_resumed_matches(&PERCEPTRON.replace("METHOD", "dopri5"), "-KILL", 8000);
}

#[test]
fn perceptron_rk4_resumes_exactly_after_sigint() {
    interrupted_then_resumed_matches(&PERCEPTRON.replace("METHOD", "rk4"), "-INT", 8000);
}

#[test]
fn averaged_learning_resumes_exactly_after_sigkill() {
    let cfg = r#"
name = "l"
kind = "learning"
seed = 1
[network]
layers = [40, 6]
[data]
eigenvalues = [EIG]
[learning]
t_end = 60.0
[init]
scale = 0.01
[solver]
method = "dop853"
rtol = 1e-10
output_dt = 0.002
checkpoint_interval = 0.05
"#
    .replace(
        "EIG",
        &(1..=40)
            .map(|i| format!("{}", 4.0 / i as f64))
            .collect::<Vec<_>>()
            .join(", "),
    );
    interrupted_then_resumed_matches(&cfg, "-KILL", 5000);
}

#[test]
fn stochastic_learning_resumes_exactly_after_sigint() {
    let cfg = r#"
name = "s"
kind = "learning"
seed = 1
[network]
layers = [20, 4]
[data]
eigenvalues = [EIG]
[learning]
mode = "stochastic"
eta = 0.0005
batch = 2
t_end = 40.0
[init]
scale = 0.3
[solver]
output_dt = 0.001
checkpoint_interval = 0.05
"#
    .replace(
        "EIG",
        &(1..=20)
            .map(|i| format!("{}", 4.0 / i as f64))
            .collect::<Vec<_>>()
            .join(", "),
    );
    interrupted_then_resumed_matches(&cfg, "-INT", 5000);
}

/// The config hash covers the files a config names: after editing a weight file, the
/// run cannot be resumed with it (exit code 2, "another config").
#[test]
fn resume_refuses_changed_data_files() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("w1.csv"), "0.5,-0.2\n0.1,0.3\n").unwrap();
    let cfg = r#"
name = "f"
kind = "perceptron"
[network]
layers = [2, 2]
activation = "tanh"
weights = ["w1.csv"]
[input]
x = [0.3, -0.1]
[solver]
t_end = 2.0
checkpoint_interval = 0.0
"#;
    std::fs::write(d.join("c.toml"), cfg).unwrap();
    assert!(
        lmser(d, &["run", "c.toml", "--quiet", "--out", "r"])
            .status
            .success()
    );
    // Pretend the run was interrupted, so only the hash can refuse the resume.
    let summary = std::fs::read_to_string(d.join("r/summary.json")).unwrap();
    std::fs::write(
        d.join("r/summary.json"),
        summary.replace("\"finished\"", "\"interrupted\""),
    )
    .unwrap();
    std::fs::write(d.join("w1.csv"), "0.5,-0.2\n0.1,0.4\n").unwrap();
    let out = lmser(d, &["run", "c.toml", "--quiet", "--resume", "r"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another config"));
}

const HELD: &str = r#"
name = "h"
kind = "learning"
seed = 1
[network]
layers = [5, 2]
[data]
eigenvalues = [5.0, 3.0, 1.5, 0.8, 0.3]
[learning]
mode = "MODE"
tau = 0.001
tau_w = 100.0
presentation = 0.1
t_end = T_END
[init]
scale = 0.3
[solver]
rtol = 1e-7
atol = 1e-10
output_dt = 0.1
checkpoint_interval = 0.05
"#;

#[test]
fn coupled_samples_resume_exactly_after_sigkill() {
    let cfg = HELD.replace("MODE", "coupled").replace("T_END", "600.0");
    interrupted_then_resumed_matches(&cfg, "-KILL", 1500);
}

#[test]
fn two_phase_resumes_exactly_after_sigint() {
    let cfg = HELD
        .replace("MODE", "two-phase")
        .replace("T_END", "2000.0")
        .replace("[init]", "settle = \"ode\"\n[init]");
    interrupted_then_resumed_matches(&cfg, "-INT", 5000);
}
