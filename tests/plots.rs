//! Every plot a run writes exists as PNG and SVG, for each kind: perceptron (settling
//! and diverging), learning, landscape (no plots) and `lmser check`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_lmser");

fn experiment(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("experiments")
        .join(rel)
}

fn lmser(args: &[&str], out: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("spawn lmser")
}

fn run(rel: &str, out: &Path) -> Output {
    let cfg = experiment(rel);
    lmser(&["run", cfg.to_str().unwrap(), "--quiet"], out)
}

/// `<stem>.png` is a PNG and `<stem>.svg` an SVG with text, for every stem.
fn assert_plots(out: &Path, stems: &[&str]) {
    for stem in stems {
        let png = std::fs::read(out.join(format!("{stem}.png"))).unwrap_or_default();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
            "{stem}.png missing or not a PNG in {}",
            out.display()
        );
        let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap_or_default();
        assert!(
            svg.contains("<svg") && svg.contains("<text"),
            "{stem}.svg missing or empty in {}",
            out.display()
        );
    }
}

fn plot_files(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png") || n.ends_with(".svg"))
        .collect();
    names.sort();
    names
}

#[test]
fn perceptron_runs_write_energy_and_activities() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("stable");
    assert!(run("linear-stable.toml", &out).status.success());
    assert_plots(&out, &["energy", "activities"]);
    assert_eq!(plot_files(&out).len(), 4, "{:?}", plot_files(&out));
    // A diverging run (exit code 3) keeps the plots up to where it stopped.
    let out = tmp.path().join("diverging");
    assert_eq!(run("linear-diverging.toml", &out).status.code(), Some(3));
    assert_plots(&out, &["energy", "activities"]);
}

#[test]
fn learning_runs_write_learning_overlaps_and_alignment() {
    let tmp = tempfile::tempdir().unwrap();
    for (cfg, name) in [
        ("psa-from-files/config.toml", "lmser"),
        ("psa-from-files/amplified-output.toml", "output"),
        ("psa-from-files/oja.toml", "oja"),
    ] {
        let out = tmp.path().join(name);
        assert!(run(cfg, &out).status.success(), "{cfg}");
        assert_plots(&out, &["learning", "overlaps", "alignment"]);
        assert_eq!(plot_files(&out).len(), 6, "{:?}", plot_files(&out));
    }
}

#[test]
fn landscape_runs_write_no_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("landscape");
    assert!(run("psa-from-files/landscape.toml", &out).status.success());
    assert!(plot_files(&out).is_empty(), "{:?}", plot_files(&out));
}

#[test]
fn check_writes_its_five_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("check");
    let o = lmser(&["check"], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_plots(
        &out,
        &[
            "theorem4",
            "symmetry_breaking",
            "escape_times",
            "lmser_vs_oja",
            "coupled_vs_two_phase",
        ],
    );
}
