//! Every config shipped in `experiments/` runs as it is (the README's experiments and
//! the example configs with their variants): exit code 0 and status
//! "finished", except the one built to diverge (exit code 3, status "diverged").

use std::path::{Path, PathBuf};
use std::process::Command;

fn configs(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            configs(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

#[test]
fn every_shipped_experiment_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut all = Vec::new();
    configs(&root, &mut all);
    all.sort();
    assert!(all.len() >= 20, "only {} configs found", all.len());
    let tmp = tempfile::tempdir().unwrap();
    for (i, cfg) in all.iter().enumerate() {
        let out = tmp.path().join(i.to_string());
        let o = Command::new(env!("CARGO_BIN_EXE_lmser"))
            .args([
                "run",
                cfg.to_str().unwrap(),
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let diverging = cfg.file_stem().unwrap() == "linear-diverging";
        let (code, status) = if diverging {
            (3, "diverged")
        } else {
            (0, "finished")
        };
        assert_eq!(
            o.status.code(),
            Some(code),
            "{}: {}",
            cfg.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["status"], status, "{}", cfg.display());
    }
}
