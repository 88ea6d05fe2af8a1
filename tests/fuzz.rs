//! Mutation fuzzing of the config loader, the spec builders and the CSV reader: seed
//! inputs (the shipped configs and CSV files) are mutated (byte flips, insertions,
//! deletions, duplicated or dropped lines, interesting tokens) for a time budget and fed
//! to every reader. Nothing may panic; every failure must be an `lmser::Error`.
//! Budget: LMSER_FUZZ_SECONDS (default 10; CI sets 60).

use lmser::data;
use lmser::io::config::Config;
use rand::Rng;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

const TOKENS: &[&str] = &[
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e308",
    "1e-320",
    "\"\"",
    "[]",
    "{}",
    "[[",
    "=",
    "\n",
    ",",
    "\"x.csv\"",
    "[1, 2]",
    "true",
    "9999999999999999999999",
    "\"linear\"",
    "\"amplified\"",
    "[network]",
    "[solver]",
    "method = \"fixed-point\"",
    "t_end = 0.5",
    "saddle = [1, 1]",
    "\u{0}",
    "é",
];

fn mutate(seed: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..rng.random_range(1..6) {
        let pos = if b.is_empty() {
            0
        } else {
            rng.random_range(0..b.len())
        };
        match rng.random_range(0..6) {
            0 if !b.is_empty() => b[pos] = rng.random(),
            1 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())].as_bytes();
                b.splice(pos..pos, t.iter().copied());
            }
            2 if !b.is_empty() => {
                let end = (pos + rng.random_range(1..20)).min(b.len());
                b.drain(pos..end);
            }
            3 => {
                let text = String::from_utf8_lossy(&b).to_string();
                let mut lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let i = rng.random_range(0..lines.len());
                    if rng.random::<bool>() {
                        lines.remove(i);
                    } else {
                        lines.insert(i, lines[i]);
                    }
                }
                b = lines.join("\n").into_bytes();
            }
            4 => {
                // Replace a number-looking run of bytes with a token.
                let t = TOKENS[rng.random_range(0..7)].as_bytes();
                let end = (pos + 3).min(b.len());
                b.splice(pos..end, t.iter().copied());
            }
            _ => b.truncate(pos),
        }
    }
    b
}

fn seeds(dir: &Path, ext: &str, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            seeds(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
}

/// Builds every spec a config can describe, as `lmser run` does before running.
fn build(cfg: &Config) {
    let _ = lmser::experiment::perceptron::PerceptronSpec::from_config(cfg);
    let _ = lmser::experiment::learning::LearningSpec::from_config(cfg);
}

#[test]
fn readers_never_panic_on_mutated_inputs() {
    let budget = std::env::var("LMSER_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let (mut tomls, mut csvs) = (Vec::new(), Vec::new());
    seeds(&root, "toml", &mut tomls);
    seeds(&root, "csv", &mut csvs);
    assert!(tomls.len() >= 5 && csvs.len() >= 4, "seed corpus missing");
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = data::rng(
        std::env::var("LMSER_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1),
        9,
    );
    let start = Instant::now();
    let mut cases = 0u64;
    while start.elapsed() < Duration::from_secs_f64(budget) {
        // A mutated config, parsed and built next to its own (unmutated) data files.
        let (path, text) = &tomls[rng.random_range(0..tomls.len())];
        let bytes = mutate(text, &mut rng);
        let text = String::from_utf8_lossy(&bytes).to_string();
        let r = catch_unwind(AssertUnwindSafe(|| {
            if let Ok(cfg) = Config::parse(&text, path) {
                build(&cfg);
            }
        }));
        assert!(
            r.is_ok(),
            "panic on config mutated from {}:\n{text}",
            path.display()
        );
        // A mutated CSV file read as a matrix and as a vector.
        let (cpath, ctext) = &csvs[rng.random_range(0..csvs.len())];
        let bytes = mutate(ctext, &mut rng);
        let f = tmp.path().join("m.csv");
        std::fs::write(&f, &bytes).unwrap();
        let r = catch_unwind(|| {
            let _ = lmser::io::files::read_matrix(&f);
            let _ = lmser::io::files::read_vector(&f, 5);
        });
        assert!(
            r.is_ok(),
            "panic on CSV mutated from {}: {:?}",
            cpath.display(),
            String::from_utf8_lossy(&bytes)
        );
        cases += 2;
    }
    eprintln!(
        "fuzz: {cases} inputs in {:.1} s, no panic",
        start.elapsed().as_secs_f64()
    );
    assert!(cases > 0);
}
