//! Runs never overwrite silently: a directory that holds a run is refused (exit 2,
//! one line naming the directory and the two ways on, --force and --resume);
//! `--force` removes every file the old run wrote, so none survives beside the new
//! run's; a directory holding anything a run does not write is refused with or
//! without --force, and nothing in it is deleted.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_lmser");

fn run(config: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .arg("run")
        .arg(config)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .output()
        .unwrap()
}

fn experiment(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("experiments")
        .join(name)
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn one_line_error(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "stderr: {err}");
    err
}

#[test]
fn a_second_run_into_a_run_directory_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let cfg = experiment("psa-from-files/config.toml");
    assert!(run(&cfg, &out, &[]).status.success());
    let before = listing(&out);
    let err = one_line_error(&run(&cfg, &out, &[]));
    assert!(err.contains(&out.display().to_string()), "{err}");
    assert!(err.contains("--force") && err.contains("--resume"), "{err}");
    assert_eq!(
        listing(&out),
        before,
        "the refused run changed the directory"
    );
}

#[test]
fn force_replaces_a_run_of_another_kind_without_stale_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // A learning run writes W1.csv, learning/overlaps/alignment plots ...
    assert!(
        run(&experiment("psa-from-files/config.toml"), &out, &[])
            .status
            .success()
    );
    assert!(out.join("W1.csv").exists() && out.join("learning.png").exists());
    // ... a perceptron run with --force must leave none of them behind.
    let o = run(&experiment("linear-stable.toml"), &out, &["--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let names: Vec<String> = listing(&out).into_iter().map(|(n, _)| n).collect();
    for stale in [
        "W1.csv",
        "learning.png",
        "learning.svg",
        "overlaps.png",
        "alignment.png",
    ] {
        assert!(
            !names.contains(&stale.to_string()),
            "stale {stale} in {names:?}"
        );
    }
    for new in [
        "trajectory.csv",
        "summary.json",
        "energy.png",
        "activities.png",
    ] {
        assert!(
            names.contains(&new.to_string()),
            "missing {new} in {names:?}"
        );
    }
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"kind\": \"perceptron\""), "{summary}");
}

#[test]
fn a_directory_of_the_users_own_files_is_never_touched() {
    let cfg = experiment("linear-stable.toml");
    for force in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("mine");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("notes.txt"), "my notes").unwrap();
        std::fs::write(out.join("data.csv"), "1,2,3\n").unwrap();
        let before = listing(&out);
        let extra: &[&str] = if force { &["--force"] } else { &[] };
        let err = one_line_error(&run(&cfg, &out, extra));
        assert!(
            err.contains("notes.txt") && err.contains("data.csv"),
            "{err}"
        );
        assert_eq!(
            listing(&out),
            before,
            "force = {force}: the directory changed"
        );
    }
}

#[test]
fn a_run_directory_with_a_foreign_file_is_refused_even_with_force() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let cfg = experiment("linear-stable.toml");
    assert!(run(&cfg, &out, &[]).status.success());
    std::fs::write(out.join("analysis.ipynb"), "{}").unwrap();
    let before = listing(&out);
    let err = one_line_error(&run(&cfg, &out, &["--force"]));
    assert!(err.contains("analysis.ipynb"), "{err}");
    assert_eq!(listing(&out), before);
}

/// A directory holding only files with run names but no summary.json is not a run
/// (it may be the user's inputs): refused, nothing deleted.
#[test]
fn run_named_files_without_a_summary_are_not_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("W1.csv"), "1,0,0,0,0\n0,1,0,0,0\n").unwrap();
    std::fs::write(out.join("trajectory.csv"), "t\n0\n").unwrap();
    let before = listing(&out);
    for extra in [&[][..], &["--force"][..]] {
        let err = one_line_error(&run(&experiment("linear-stable.toml"), &out, extra));
        assert!(
            err.contains("W1.csv") && err.contains("no summary.json"),
            "{err}"
        );
        assert_eq!(listing(&out), before);
    }
}

/// A run directory that holds a file the config reads (here its initial weights
/// W1.csv, a name runs also write) is refused even with --force: replacing the run
/// would delete the run's own input.
#[test]
fn force_never_deletes_an_input_of_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let src = experiment("psa-from-files");
    let cfg = tmp.path().join("c.toml");
    let text = std::fs::read_to_string(src.join("config.toml"))
        .unwrap()
        .replace("\"w0.csv\"", "\"out/W1.csv\"")
        .replace("\"sigma.csv\"", &format!("{:?}", src.join("sigma.csv")));
    std::fs::write(&cfg, text).unwrap();
    // A first run into out/ from a W0 copied there ...
    std::fs::create_dir(&out).unwrap();
    let o = run(&experiment("psa-from-files/config.toml"), &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::copy(src.join("w0.csv"), out.join("W1.csv")).unwrap();
    let before = listing(&out);
    // ... then a config that reads out/W1.csv, forced into out/.
    let err = one_line_error(&run(&cfg, &out, &["--force"]));
    assert!(err.contains("W1.csv") && err.contains("reads"), "{err}");
    assert_eq!(listing(&out), before);
}
