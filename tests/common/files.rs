//! Config and sample files written for end-to-end runs (the multilayer tests).

use std::path::{Path, PathBuf};

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// 30 samples in [0,1]^6 written to x.csv.
pub fn samples(dir: &Path) {
    let rows: Vec<String> = (0..30)
        .map(|i| {
            (0..6)
                .map(|j| format!("{}", ((i * 7 + j * 3) % 11) as f64 / 10.0))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    write(dir, "x.csv", &(rows.join("\n") + "\n"));
}
