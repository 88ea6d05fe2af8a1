//! Bad input never panics and never half-runs: every case of the corpus in
//! tests/bad_inputs/<case>/ (a config.toml plus the files it names, and `expect`:
//! line 1 the exit code, line 2 a substring -- the field or file at fault -- that the
//! one-line error message must contain) is run as
//! `lmser run <case>/config.toml --out <tmp>/<case> --quiet`.
//!
//! Checked for each case: the exit code; stderr is exactly one line, contains the
//! substring and no "panicked"; no summary.json with status "finished" is left.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_lmser");

/// Cases whose expectation src/ does not meet yet (see the report that came with
/// this file). They are run and their problems printed without failing the test;
/// once a case meets its expectation the test FAILS with "remove it from
/// KNOWN_GAPS", so a fixed gap cannot stay listed.
const KNOWN_GAPS: &[&str] = &[
    // The toml error is reported at the line where the parser noticed it (the
    // next key, `activation`), not at the unclosed `layers = [3, 2, 2` line.
    "toml_unclosed_array",
];

/// A case that runs longer than this is killed and fails (no case should take
/// more than a few milliseconds: bad input is rejected before any integration).
const CASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

/// Runs `lmser run CONFIG --out OUT --quiet` with stdout and stderr captured in
/// anonymous temporary files; kills it after [`CASE_TIMEOUT`] (the output then has
/// no exit code).
fn run(config: &Path, out: &Path) -> Output {
    use std::io::{Read, Seek};
    let (mut so, mut se) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
    let mut child = Command::new(BIN)
        .arg("run")
        .arg(config)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .stdout(so.try_clone().unwrap())
        .stderr(se.try_clone().unwrap())
        .spawn()
        .expect("spawn lmser");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > CASE_TIMEOUT {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let read = |f: &mut std::fs::File| {
        let mut v = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut v).unwrap();
        v
    };
    Output {
        status,
        stdout: read(&mut so),
        stderr: read(&mut se),
    }
}

/// Everything wrong with one run against its expectation (empty = passes).
fn problems(out_dir: &Path, o: &Output, code: i32, substring: &str) -> Vec<String> {
    let mut p = Vec::new();
    let stderr = String::from_utf8_lossy(&o.stderr);
    if o.status.code() != Some(code) {
        p.push(format!("exit code {:?}, expected {code}", o.status.code()));
    }
    let lines: Vec<&str> = stderr.lines().collect();
    if lines.len() != 1 || !stderr.ends_with('\n') || lines[0].trim().is_empty() {
        p.push(format!("stderr is not exactly one line: {stderr:?}"));
    }
    if !stderr.contains(substring) {
        p.push(format!("stderr does not name {substring:?}: {stderr:?}"));
    }
    if stderr.contains("panicked") {
        p.push(format!("panic: {stderr:?}"));
    }
    if let Ok(text) = std::fs::read_to_string(out_dir.join("summary.json")) {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if v["status"] == "finished" {
            p.push("a summary.json with status \"finished\" was written".into());
        }
    }
    p
}

#[test]
fn every_bad_input_is_rejected_with_a_one_line_message() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("tests/bad_inputs")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let names: Vec<String> = cases
        .iter()
        .map(|c| c.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for gap in KNOWN_GAPS {
        assert!(
            names.iter().any(|n| n == gap),
            "KNOWN_GAPS lists {gap}, no such case"
        );
    }

    let tmp = TempDir::new().unwrap();
    let mut failures = Vec::new();
    for (case, name) in cases.iter().zip(&names) {
        let expect = std::fs::read_to_string(case.join("expect"))
            .unwrap_or_else(|e| panic!("{name}/expect: {e}"));
        let mut lines = expect.lines();
        let code: i32 = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name}/expect: line 1 must be the exit code"));
        let substring = lines
            .next()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| panic!("{name}/expect: line 2 must be the substring"));
        let out_dir = tmp.path().join(name);
        let o = run(&case.join("config.toml"), &out_dir);
        let p = problems(&out_dir, &o, code, substring);
        let known = KNOWN_GAPS.contains(&name.as_str());
        match (p.is_empty(), known) {
            (true, true) => failures.push(format!(
                "{name}: known gap now passes: remove it from KNOWN_GAPS"
            )),
            (false, true) => eprintln!("known gap {name}: {}", p.join("; ")),
            (false, false) => failures.push(format!("{name}: {}", p.join("; "))),
            (true, false) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// --out pointing under a regular file cannot be created: exit 2, one line naming
/// the output path, nothing written.
#[test]
fn unwritable_output_directory() {
    let tmp = TempDir::new().unwrap();
    let cfg = tmp.path().join("config.toml");
    std::fs::write(
        &cfg,
        r#"name = "ok"
kind = "perceptron"
[network]
layers = [3, 2]
activation = "logistic"
init = { scale = 1.0 }
[input]
x = [0.5, -0.2, 0.1]
[solver]
t_end = 1.0
"#,
    )
    .unwrap();
    let file = tmp.path().join("plain-file");
    std::fs::write(&file, "not a directory").unwrap();
    for out in [file.join("out"), file.clone()] {
        let o = run(&cfg, &out);
        let p = problems(&out, &o, 2, "plain-file");
        assert!(p.is_empty(), "--out {}: {}", out.display(), p.join("; "));
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory");
}

/// The controls: the corpus' base configs (every case is one edit away from one of
/// them) run.
#[test]
fn the_base_config_of_the_corpus_runs() {
    let tmp = TempDir::new().unwrap();
    let cfg = tmp.path().join("config.toml");
    std::fs::write(
        &cfg,
        r#"name = "bad"
kind = "perceptron"
seed = 1
[network]
layers = [3, 2, 2]
activation = "logistic"
tau = 1.0
init = { scale = 1.0 }
[input]
x = [0.5, -0.2, 0.1]
[solver]
method = "dopri5"
t_end = 2.0
output_dt = 0.5
"#,
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = run(&cfg, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stderr.is_empty());
    // The base of the weights_* cases: the same net from files w1.csv (2 x 3) and
    // w2.csv (2 x 2).
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "init = { scale = 1.0 }",
        r#"weights = ["w1.csv", "w2.csv"]"#,
    );
    std::fs::write(&cfg, text).unwrap();
    std::fs::write(tmp.path().join("w1.csv"), "1.0,0.5,-0.5\n0.2,0.3,0.1\n").unwrap();
    std::fs::write(tmp.path().join("w2.csv"), "0.5,-0.5\n1.0,0.25\n").unwrap();
    let out = tmp.path().join("out2");
    let o = run(&cfg, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stderr.is_empty());
}
