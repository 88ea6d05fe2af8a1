//! The output contract of `lmser run CONFIG --out DIR --quiet`, by spawning the
//! binary on configs written into temporary directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_lmser");

fn run(config: &Path, out: &Path) -> Output {
    Command::new(BIN)
        .arg("run")
        .arg(config)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .output()
        .expect("spawn lmser")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn summary(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

/// A parsed trajectory.csv: header and rows of numbers. Every row must have as many
/// fields as the header and every field must parse as a finite number.
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<f64>>,
}

impl Csv {
    fn read(path: &Path) -> Csv {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        let mut rows = Vec::new();
        for (i, rec) in r.records().enumerate() {
            let rec = rec.unwrap_or_else(|e| panic!("row {}: {e}", i + 1));
            assert_eq!(rec.len(), header.len(), "row {} field count", i + 1);
            let row: Vec<f64> = rec
                .iter()
                .map(|f| {
                    let v: f64 = f
                        .parse()
                        .unwrap_or_else(|_| panic!("row {}: {f:?} is not a number", i + 1));
                    assert!(v.is_finite(), "row {}: {f} is not finite", i + 1);
                    v
                })
                .collect();
            rows.push(row);
        }
        Csv { header, rows }
    }

    fn col(&self, name: &str) -> Vec<f64> {
        let c = self
            .header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        self.rows.iter().map(|r| r[c]).collect()
    }
}

fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A logistic perceptron config with random weights and input.
fn logistic_config(layers: &[usize], seed: u64, t_end: f64, output_dt: f64) -> String {
    format!(
        r#"name = "cli-test"
kind = "perceptron"
seed = {seed}
[network]
layers = {layers:?}
activation = "logistic"
tau = 1.0
init = {{ scale = 2.5 }}
[input]
scale = 1.0
[solver]
method = "dopri5"
rtol = 1e-9
atol = 1e-12
t_end = {t_end}
output_dt = {output_dt}
"#
    )
}

/// The unit columns the contract promises: z{k}_{j}, layers k = 1..K and units
/// j = 1..n_k, both 1-based, in order.
fn unit_columns(layers: &[usize]) -> Vec<String> {
    let mut v = Vec::new();
    for (k, &n) in layers.iter().enumerate().skip(1) {
        for j in 1..=n {
            v.push(format!("z{k}_{j}"));
        }
    }
    v
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path)
        .map(|b| b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() > 1000)
        .unwrap_or(false)
}

/// The full contract on a small net: exit 0, trajectory.csv with the promised header
/// (t,E,E_printed first, then dE_dt, dz_norm and one 1-based z{k}_{j} column per
/// unit), one row per output time 0, 0.1, ..., 8 (81 rows, times equal to
/// i * 0.1 to printing precision 1e-12), activities inside the logistic range,
/// E non-increasing (solver tolerance rtol = 1e-9 on E of size ~10: 1e-6 is
/// generous), summary.json finished with theorem1.E.monotone true, and the plots.
#[test]
fn run_writes_the_output_contract() {
    let tmp = TempDir::new().unwrap();
    let layers = [4, 3, 3, 2];
    let cfg = write(tmp.path(), "c.toml", &logistic_config(&layers, 5, 8.0, 0.1));
    let out = tmp.path().join("out");
    let o = run(&cfg, &out);
    assert_ok(&o);

    let csv = Csv::read(&out.join("trajectory.csv"));
    assert_eq!(&csv.header[..3], ["t", "E", "E_printed"]);
    assert_eq!(&csv.header[3..5], ["dE_dt", "dz_norm"]);
    assert_eq!(csv.header[5..], unit_columns(&layers)[..]);
    assert_eq!(csv.rows.len(), 81);
    for (i, t) in csv.col("t").iter().enumerate() {
        assert!((t - i as f64 * 0.1).abs() < 1e-12, "row {i}: t = {t}");
    }
    for name in unit_columns(&layers) {
        assert!(
            csv.col(&name).iter().all(|z| *z > 0.0 && *z < 1.0),
            "{name}"
        );
    }
    let e = csv.col("E");
    assert!(e.windows(2).all(|w| w[1] <= w[0] + 1e-6), "E increased");
    assert!(csv.col("dE_dt").iter().all(|r| *r <= 0.0));

    let s = summary(&out);
    assert_eq!(s["status"], "finished");
    assert_eq!(s["kind"], "perceptron");
    assert_eq!(s["theorem1"]["E"]["monotone"], true);
    assert_eq!(s["seed"], 5);
    for f in ["energy.png", "activities.png"] {
        assert!(is_png(&out.join(f)), "{f} missing or not a PNG");
    }
    let svg = std::fs::read_to_string(out.join("energy.svg")).expect("energy.svg");
    assert!(svg.contains("<svg"));
    assert!(!out.join("summary.tmp").exists(), "temporary file left");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("finished"), "stdout: {stdout}");
}

/// At most 64 units get z columns: 64 free units do, 65 do not (then the header is
/// exactly the five scalar columns).
#[test]
fn unit_columns_only_up_to_64_units() {
    let tmp = TempDir::new().unwrap();
    for (layers, with_units) in [(vec![3, 32, 32], true), (vec![3, 33, 32], false)] {
        let cfg = write(tmp.path(), "c.toml", &logistic_config(&layers, 1, 1.0, 0.1));
        let out = tmp.path().join(format!("out{}", layers[1]));
        assert_ok(&run(&cfg, &out));
        let csv = Csv::read(&out.join("trajectory.csv"));
        if with_units {
            assert_eq!(csv.header.len(), 5 + 64);
            assert_eq!(csv.header[5..], unit_columns(&layers)[..]);
        } else {
            assert_eq!(csv.header, ["t", "E", "E_printed", "dE_dt", "dz_norm"]);
        }
        assert_eq!(csv.rows.len(), 11);
        assert_eq!(summary(&out)["status"], "finished");
        assert!(is_png(&out.join("energy.png")));
    }
}

/// The shipped example runs as documented and satisfies Theorem 1.
#[test]
fn shipped_energy_from_files_example_runs() {
    let cfg =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/energy-from-files/config.toml");
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    assert_ok(&run(&cfg, &out));
    let s = summary(&out);
    assert_eq!(s["status"], "finished");
    assert_eq!(s["theorem1"]["E"]["monotone"], true);
    let csv = Csv::read(&out.join("trajectory.csv"));
    // layers = [5, 4, 3, 2], t_end = 30, output_dt = 0.01
    assert_eq!(csv.header[5..], unit_columns(&[5, 4, 3, 2])[..]);
    assert_eq!(csv.rows.len(), 3001);
    assert_eq!(csv.rows.last().unwrap()[0], 30.0);
    for f in ["energy.png", "activities.png"] {
        assert!(is_png(&out.join(f)), "{f}");
    }
}

/// A linear net with I - T not positive definite: W_1 = I, W_2 = 2 I, so T has
/// eigenvalues +-2 and I - T has -1; the activities grow like e^t. Exit code 3,
/// one-line error naming the divergence, summary status "diverged", and the CSV
/// written up to the divergence parses (finite numbers, full rows).
#[test]
fn diverging_linear_net_exits_3() {
    let tmp = TempDir::new().unwrap();
    write(tmp.path(), "w1.csv", "1,0\n0,1\n");
    write(tmp.path(), "w2.csv", "2,0\n0,2\n");
    let cfg = write(
        tmp.path(),
        "c.toml",
        r#"name = "diverging"
kind = "perceptron"
[network]
layers = [2, 2, 2]
activation = "linear"
weights = ["w1.csv", "w2.csv"]
[input]
x = [1.0, -0.5]
[initial]
z = "zero"
[solver]
t_end = 100.0
output_dt = 0.1
divergence_bound = 1e6
"#,
    );
    let out = tmp.path().join("out");
    let o = run(&cfg, &out);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.contains("diverged"), "{stderr}");
    assert!(!stderr.contains("panicked"));
    let s = summary(&out);
    assert_eq!(s["status"], "diverged");
    assert_eq!(s["linear_stability"]["stable"], false);
    let t_reached = s["t_reached"].as_f64().expect("t_reached");
    // |z| ~ e^t reaches 1e6 near t = ln(1e6) ~ 14.
    assert!(
        t_reached > 5.0 && t_reached < 30.0,
        "t_reached = {t_reached}"
    );
    let csv = Csv::read(&out.join("trajectory.csv"));
    assert!(csv.rows.len() > 10);
    let last_t = *csv.col("t").last().unwrap();
    assert!(last_t <= t_reached);
}

/// Same config and seed give byte-identical trajectories (random weights, input
/// and initial state all come from the seed); another seed gives another one.
#[test]
fn same_seed_gives_identical_trajectory() {
    let tmp = TempDir::new().unwrap();
    let mut files = Vec::new();
    for (i, seed) in [11, 11, 12].into_iter().enumerate() {
        let cfg = write(
            tmp.path(),
            &format!("c{i}.toml"),
            &logistic_config(&[5, 4, 3], seed, 5.0, 0.05),
        );
        let out = tmp.path().join(format!("out{i}"));
        assert_ok(&run(&cfg, &out));
        files.push(std::fs::read(out.join("trajectory.csv")).unwrap());
    }
    assert!(files[0] == files[1], "same seed, different trajectory.csv");
    assert!(files[0] != files[2], "different seeds, same trajectory.csv");
}

/// Learning and landscape runs print their results, and the printed numbers are
/// the summary's: final J against its predicted minimum, the subspace and
/// orthonormality errors and the alignment; the counts of minima, saddles and maxima
/// against the prediction.
#[test]
fn learning_and_landscape_runs_print_their_results() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let run = |cfg: &str, out: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_lmser"))
            .arg("run")
            .arg(root.join(cfg))
            .args(["--quiet", "--out"])
            .arg(tmp.path().join(out))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let s: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(tmp.path().join(out).join("summary.json")).unwrap(),
        )
        .unwrap();
        (String::from_utf8_lossy(&o.stdout).into_owned(), s)
    };
    let (stdout, s) = run("experiments/psa-from-files/config.toml", "psa");
    let number_after = |text: &str, key: &str| -> f64 {
        let rest = text
            .split(key)
            .nth(1)
            .unwrap_or_else(|| panic!("no {key:?} in {text}"));
        rest.trim_start()
            .split([' ', ',', ')'])
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    // A number printed as {:.De} (D digits after the point of a mantissa in [1, 10))
    // is within half a unit of its last digit, 0.5e-D of the mantissa, i.e. within
    // 0.5e-D |b| of the value b (plus an ulp of parsing): J's are printed with D = 6,
    // the errors with D = 3.
    let close = |a: f64, b: f64, digits: i32| {
        (a - b).abs() <= 0.5 * 10f64.powi(-digits) * b.abs() * (1.0 + 1e-12)
    };
    for (key, value, digits) in [
        ("J = ", &s["final"]["J"], 6),
        ("predicted minimum ", &s["learning"]["J_min_predicted"], 6),
        ("subspace error ", &s["final"]["subspace_error"], 3),
        ("orthonormality error ", &s["final"]["orth_error"], 3),
    ] {
        let (printed, v) = (number_after(&stdout, key), value.as_f64().unwrap());
        assert!(close(printed, v, digits), "{key}{printed} vs {v}: {stdout}");
    }
    assert!(stdout.contains(&format!(
        "rows aligned in order: {}",
        s["final"]["rows_aligned_in_order"]
    )));
    let (stdout, s) = run("experiments/landscape.toml", "landscape");
    let l = &s["landscape"];
    assert!(
        stdout.contains(&format!(
            "{} saddles (predicted {})",
            l["saddles"], l["saddles_predicted"]
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} maxima (predicted 1)", l["maxima"])),
        "{stdout}"
    );
    assert!(stdout.contains("Theorem 2 holds: true"), "{stdout}");
}
