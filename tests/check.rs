//! `lmser check` end to end: the binary's terminal table, check.csv's columns and
//! numbers, and the counterexample files of theorem4-sign.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_lmser");

#[test]
fn check_writes_six_numeric_columns_and_a_narrow_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("check");
    let o = Command::new(BIN)
        .args(["check", "--out"])
        .arg(&out)
        .output()
        .expect("spawn lmser");
    let stdout = String::from_utf8(o.stdout).unwrap();
    // No implemented claim fails, so the exit code is 0.
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    for l in &lines {
        assert!(l.chars().count() <= 100, "{} chars: {l}", l.chars().count());
    }
    assert!(lines.last().unwrap().ends_with("check.csv"), "{stdout}");

    let mut csv = csv::Reader::from_path(out.join("check.csv")).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        ["claim", "slides", "measured", "value", "bound", "verdict"]
    );
    let mut claims = Vec::new();
    let mut uphill = None;
    for rec in csv.records() {
        let rec = rec.unwrap();
        multilayer_row(&rec);
        if &rec[0] == "slides-rule-vs-gradient" {
            uphill = Some(&rec[5] == "fails");
        }
        let value: f64 = rec[3]
            .parse()
            .unwrap_or_else(|_| panic!("value of {}", &rec[0]));
        assert!(value.is_finite(), "{}: {value}", &rec[0]);
        // Every claim here has a meaningful bound.
        let bound: f64 = rec[4]
            .parse()
            .unwrap_or_else(|_| panic!("bound of {}", &rec[0]));
        assert!(bound.is_finite());
        assert!(["holds", "fails", "holds-with-conditions"].contains(&&rec[5]));
        // One terminal line per claim, naming it and its verdict.
        let line = lines
            .iter()
            .find(|l| l.starts_with(&rec[0]))
            .expect("terminal line");
        assert!(line.contains(&rec[5]), "{line}");
        claims.push(rec[0].to_string());
    }
    for c in [
        "theorem1-energy",
        "theorem1-printed-energy",
        "theorem2-critical-points",
        "landscape-saddle-count",
        "averaged-is-gradient-flow",
        "theorem4-sign",
        "theorem4-sign-region",
        "theorem4-equality",
        "symmetry-breaking",
        "symmetry-breaking-tanh",
        "saddle-escape-time",
        "lmser-vs-oja",
        "coupled-vs-two-phase",
        "multilayer-exact-gradient",
        "slides-rule-vs-gradient",
    ] {
        assert!(claims.iter().any(|x| x == c), "missing {c}");
    }

    // slides-rule-vs-gradient writes its uphill net exactly when it reports one.
    assert_eq!(out.join("uphill_x.csv").exists(), uphill.unwrap());
    assert_eq!(out.join("uphill_w1.csv").exists(), uphill.unwrap());

    // theorem4-sign found a counterexample: W (n1 x n0) and Sigma (n0 x n0) whose
    // inner product, recomputed here from the files, is negative.
    let read = |name: &str| -> Vec<Vec<f64>> {
        std::fs::read_to_string(out.join(name))
            .unwrap()
            .lines()
            .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
            .collect()
    };
    let (w, s) = (read("w.csv"), read("sigma.csv"));
    let w = nalgebra::DMatrix::from_fn(w.len(), w[0].len(), |i, j| w[i][j]);
    let s = nalgebra::DMatrix::from_fn(s.len(), s.len(), |i, j| s[i][j]);
    let (inner, _) = lmser::analysis::theorem4(&w, &s);
    assert!(inner < 0.0, "{inner}");
}

/// The multilayer rows: the exact rule matches finite differences to its bound (an
/// implemented claim: it must hold), and the printed rule's cosines with the exact
/// gradient are ordered within [-1, 1], the key figure being the smallest.
fn multilayer_row(rec: &csv::StringRecord) {
    let value: f64 = rec[3].parse().unwrap();
    match &rec[0] {
        "multilayer-exact-gradient" => {
            assert_eq!(&rec[5], "holds", "{}", &rec[2]);
            assert!(value < 1e-6 && value <= rec[4].parse::<f64>().unwrap());
        }
        "slides-rule-vs-gradient" => {
            let after = |key: &str| -> f64 {
                let tail =
                    &rec[2][rec[2].find(key).unwrap_or_else(|| panic!("{key}")) + key.len()..];
                let end = tail.find([',', ';']).unwrap_or(tail.len());
                tail[..end].trim().parse().unwrap()
            };
            let (lo, med, hi) = (after("min "), after("median "), after("max "));
            assert!(
                -1.0 <= lo && lo <= med && med <= hi && hi <= 1.0 + 1e-12,
                "{}",
                &rec[2]
            );
            assert!(value <= lo + 1e-4, "{value} vs min {lo}");
            assert_eq!(rec[4].parse::<f64>().unwrap(), 0.0);
            // Holds exactly when no net (sampled or searched) points uphill.
            assert_eq!(&rec[5] == "holds", value > 0.0, "{}", &rec[2]);
        }
        _ => {}
    }
}
