//! A run that is interrupted (SIGINT, SIGTERM) or killed (SIGKILL) keeps what it wrote:
//! the CSV parses up to the last flush, and the status says what happened.

mod common;
use common::{csv_rows, send, wait_for_rows};

use std::path::Path;
use std::process::{Child, Command, Stdio};

const LONG_RUN: &str = r#"
name = "long"
kind = "perceptron"
seed = 1
[network]
layers = [30, 20, 10]
activation = "logistic"
init = { scale = 2.0 }
[input]
scale = 1.0
[solver]
method = "rk4"
t_end = 5e4
output_dt = 0.001
step = 0.001
"#;

fn start(dir: &Path) -> Child {
    std::fs::write(dir.join("long.toml"), LONG_RUN).unwrap();
    Command::new(env!("CARGO_BIN_EXE_lmser"))
        .args(["run", "long.toml", "--quiet", "--out", "out"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for two flushes of the CSV: a first batch of rows, then more rows, so the
/// run is past start-up and writing in its steady state when the signal comes (the
/// flusher writes every 500 ms; this replaces a fixed 700 ms sleep after the first
/// rows). Panics if the run ends first or nothing comes within EVENT_TIMEOUT.
fn wait_for_two_flushes(child: &mut Child, csv: &Path) {
    let first = wait_for_rows(child, csv, 2);
    wait_for_rows(child, csv, first + 1);
}

/// Every line has the header's number of fields and every field is a number. With
/// `killed`, an unterminated last fragment is set aside first: SIGKILL can cut the
/// flusher's write(2) between pages (Linux checks for fatal signals per page), so
/// only newline-terminated rows are the file's content; resume cuts back to rows a
/// checkpoint counted, which were written before it.
fn assert_csv_complete(csv: &Path, killed: bool) -> usize {
    let mut text = std::fs::read_to_string(csv).unwrap();
    if killed && !text.ends_with('\n') {
        text.truncate(text.rfind('\n').map_or(0, |i| i + 1));
    }
    let mut lines = text.lines();
    let n = lines.next().unwrap().split(',').count();
    let mut rows = 0;
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), n, "ragged row {l:?}");
        assert!(f.iter().all(|v| v.parse::<f64>().is_ok()), "bad row {l:?}");
        rows += 1;
    }
    assert!(text.ends_with('\n'), "last row cut");
    rows
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("out/summary.json")).unwrap()).unwrap()
}

#[test]
fn sigint_and_sigterm_stop_cleanly_with_status_interrupted() {
    for sig in ["-INT", "-TERM"] {
        let tmp = tempfile::tempdir().unwrap();
        let mut child = start(tmp.path());
        wait_for_two_flushes(&mut child, &tmp.path().join("out/trajectory.csv"));
        send(sig, child.id());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(130),
            "{sig}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // One line on stderr that ends with the exact command that resumes the run.
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "stderr: {err}");
        let hint = err
            .trim_end()
            .split_once("resume with: ")
            .map(|(_, cmd)| cmd.to_string())
            .unwrap_or_else(|| panic!("no resume command in {err:?}"));
        assert_eq!(hint, "lmser run long.toml --resume out");
        let s = summary(tmp.path());
        assert_eq!(s["status"], "interrupted");
        let t = s["t_reached"].as_f64().unwrap();
        assert!(t > 0.0);
        let rows = assert_csv_complete(&tmp.path().join("out/trajectory.csv"), false);
        assert!(rows > 1);
        // The rows reach the time the summary reports (outputs every 0.001).
        let text = std::fs::read_to_string(tmp.path().join("out/trajectory.csv")).unwrap();
        let last_t: f64 = text
            .lines()
            .last()
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            last_t <= t && t - last_t <= 0.0011,
            "last row t = {last_t}, reached {t}"
        );
    }
}

#[test]
fn sigkill_leaves_complete_rows_and_status_running() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = start(tmp.path());
    wait_for_two_flushes(&mut child, &tmp.path().join("out/trajectory.csv"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(summary(tmp.path())["status"], "running");
    assert!(assert_csv_complete(&tmp.path().join("out/trajectory.csv"), true) > 1);
}

/// The command an interrupted run prints resumes it: run as printed (with this
/// build's binary for `lmser`), it continues from the checkpoint, appends rows, and
/// stops cleanly at the next interrupt.
#[test]
fn the_printed_resume_command_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("out/trajectory.csv");
    let mut child = start(tmp.path());
    wait_for_two_flushes(&mut child, &csv);
    send("-INT", child.id());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let cmd = err
        .trim_end()
        .split_once("resume with: ")
        .unwrap()
        .1
        .to_string();
    let words: Vec<&str> = cmd.split_whitespace().collect();
    assert_eq!(words[0], "lmser", "{cmd}");
    let before = csv_rows(&csv);
    let mut resumed = Command::new(env!("CARGO_BIN_EXE_lmser"))
        .args(&words[1..])
        .arg("--quiet")
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&mut resumed, &csv, before + 2);
    send("-INT", resumed.id());
    let out = resumed.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary(tmp.path())["status"], "interrupted");
    assert!(assert_csv_complete(&csv, false) > before);
}

/// A landscape run keeps no checkpoint: interrupted, it says so and prints the command
/// that reruns it (never a --resume that would fail).
#[test]
fn an_interrupted_landscape_run_says_how_to_rerun_it() {
    let tmp = tempfile::tempdir().unwrap();
    // n0 = 14, n1 = 7: 16,383 critical sets, several seconds of Hessians.
    let eigenvalues: Vec<String> = (1..=14).rev().map(|v| format!("{v}.0")).collect();
    let cfg = format!(
        "name = \"big\"\nkind = \"landscape\"\n[network]\nlayers = [14, 7]\n[data]\neigenvalues = [{}]\n",
        eigenvalues.join(", ")
    );
    std::fs::write(tmp.path().join("land.toml"), cfg).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lmser"))
        .args(["run", "land.toml", "--quiet", "--out", "out"])
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let summary = tmp.path().join("out/summary.json");
    common::wait_for_file(&mut child, &summary);
    send("-INT", child.id());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("--resume"), "{err}");
    assert!(
        err.trim_end()
            .ends_with("rerun it with: lmser run land.toml --out out --force"),
        "{err}"
    );
}
