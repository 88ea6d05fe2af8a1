//! End-to-end tests of the table runner on a small synthetic set.

use super::*;
use crate::data::random::normal;
use std::path::Path;

/// Three classes of noisy binary prototypes in 16 dimensions, pixels clipped to [0, 1].
fn synthetic(n: usize, seed: u64) -> Split {
    let mut p = rng(99, 1);
    let protos = DMatrix::from_fn(16, 3, |_, _| {
        if rand::Rng::random::<f64>(&mut p) < 0.5 {
            0.9
        } else {
            0.1
        }
    });
    let mut r = rng(seed, 2);
    let labels: Vec<usize> = (0..n).map(|j| j % 3).collect();
    let x = DMatrix::from_fn(16, n, |i, j| {
        (protos[(i, labels[j])] + 0.1 * normal(&mut r)).clamp(0.0, 1.0)
    });
    Split { x, labels }
}

fn spec() -> TableSpec {
    let mut s = TableSpec::new(vec![16, 8, 4], 3);
    s.seeds = vec![1, 2];
    s.checkpoints = vec![10, 50];
    s.batch = 8;
    s.optimizer = OptimizerSpec::adam(0.01);
    s
}

fn read(path: &Path) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

/// Every column but wall_s.
fn without_wall(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r[..7].to_vec()).collect()
}

#[test]
fn runner_writes_deterministic_tables_and_curves() {
    let (train, test) = (synthetic(60, 1), synthetic(30, 2));
    let s = spec();
    let out = run_table(&train, &test, &s, &baseline_model).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_outputs(dir.path(), &out, false).unwrap();

    let table = read(&dir.path().join("table.csv"));
    assert_eq!(table[0], TABLE_COLUMNS);
    assert_eq!(table.len(), 1 + 3 * 2 * 2);
    let curves = read(&dir.path().join("curves.csv"));
    assert_eq!(curves[0], CURVE_COLUMNS);
    assert_eq!(curves.len(), 1 + 3 * 2 * curve_iterations(50, 30).len());
    let png = std::fs::metadata(dir.path().join("learning_curves.png")).unwrap();
    assert!(png.len() > 1000);
    for r in &table[1..] {
        for v in &r[3..] {
            let v: f64 = v.parse().unwrap();
            assert!(v.is_finite() && v >= 0.0, "{r:?}");
        }
    }

    // Same seeds, one thread: the same numbers (wall time aside).
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let again = pool
        .install(|| run_table(&train, &test, &s, &baseline_model))
        .unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    write_outputs(dir2.path(), &again, false).unwrap();
    assert_eq!(
        without_wall(&table),
        without_wall(&read(&dir2.path().join("table.csv")))
    );
    assert_eq!(
        std::fs::read(dir.path().join("curves.csv")).unwrap(),
        std::fs::read(dir2.path().join("curves.csv")).unwrap()
    );

    // The autoencoder learns between the checkpoints.
    for seed in [1, 2] {
        let err = |t: usize| {
            out.rows
                .iter()
                .find(|r| r.model == "autoencoder" && r.seed == seed && r.iterations == t)
                .unwrap()
                .recon_error_test
        };
        assert!(err(50) < err(10), "seed {seed}: {} -> {}", err(10), err(50));
    }

    // A second write into the same directory is refused without force.
    assert!(write_outputs(dir.path(), &out, false).is_err());
    write_outputs(dir.path(), &out, true).unwrap();

    let md = summary_table(&out.rows);
    assert_eq!(md.lines().count(), 2 + 3 * 2);
    assert!(md.contains("| autoencoder | 50 | 2 |"), "{md}");
}

#[test]
fn unknown_models_and_bad_specs_are_refused() {
    let e = baseline_model("lmser", &[4, 2], 1, 10).err().unwrap();
    let msg = e.to_string();
    assert!(msg.contains("lmser") && msg.contains("rbm-stack"), "{msg}");
    let (train, test) = (synthetic(12, 1), synthetic(6, 2));
    let mut s = spec();
    s.checkpoints = vec![50, 10];
    assert!(run_table(&train, &test, &s, &baseline_model).is_err());
    let mut s = spec();
    s.sizes = vec![15, 4];
    assert!(run_table(&train, &test, &s, &baseline_model).is_err());
    let mut s = spec();
    s.batch = 13;
    assert!(run_table(&train, &test, &s, &baseline_model).is_err());
}

#[test]
fn curve_iterations_are_log_spaced_and_end_at_the_budget() {
    let c = curve_iterations(20000, 30);
    assert_eq!((c[0], *c.last().unwrap()), (1, 20000));
    assert!(c.len() >= 25 && c.windows(2).all(|w| w[0] < w[1]));
}

/// A budgeted model (the greedy RBM stack) gets a fresh run per checkpoint: its row at
/// 10 iterations of a [10, 50] table is the row of a table that stops at 10. The
/// autoencoder's row at 10 is the state of its one run, which the curve shares.
#[test]
fn budgeted_models_are_trained_afresh_per_checkpoint() {
    let (train, test) = (synthetic(60, 1), synthetic(30, 2));
    let mut s = spec();
    s.seeds = vec![3];
    let full = run_table(&train, &test, &s, &baseline_model).unwrap();
    s.checkpoints = vec![10];
    let short = run_table(&train, &test, &s, &baseline_model).unwrap();
    let row = |o: &TableOutput, m: &str| {
        let r = o
            .rows
            .iter()
            .find(|r| r.model == m && r.iterations == 10)
            .unwrap();
        (r.recon_error_train, r.recon_error_test, r.accuracy_test)
    };
    for m in BASELINES {
        assert_eq!(row(&full, m), row(&short, m), "{m}");
    }
    let c = full
        .curves
        .iter()
        .find(|c| c.model == "autoencoder" && c.iterations == 50)
        .unwrap();
    assert_eq!(c.recon_error_test, full.rows[1].recon_error_test);
    assert!(
        baseline_model("rbm-stack", &[4, 2], 1, 10)
            .unwrap()
            .budgeted()
    );
}
