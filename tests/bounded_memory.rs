//! Rows stream to disk: a run's peak memory does not grow with the number of outputs.
//! (At 10^6 outputs, 64 x 8 averaged LMSER, the peak RSS was 12 MB: docs/numerics.md
//! §2.8; this test uses 2 x 10^5 rows to stay cheap.)

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_lmser");

/// A 5 -> 2 averaged LMSER run to t = 20 with outputs every `output_dt`.
fn config(output_dt: f64) -> String {
    format!(
        "name = \"rows\"\nkind = \"learning\"\nseed = 3\n[network]\nlayers = [5, 2]\n\
         activation = \"linear\"\n[data]\neigenvalues = [5.0, 3.0, 1.5, 0.8, 0.3]\n\
         [learning]\nrule = \"lmser\"\nmode = \"averaged\"\nt_end = 20.0\n[init]\n\
         scale = 0.3\n[solver]\noutput_dt = {output_dt:?}\n"
    )
}

/// Runs `lmser run` on `config` into `out`; returns the child's peak RSS in bytes
/// (wait4's rusage of that child alone, so other tests' children do not count).
#[allow(clippy::zombie_processes)] // reaped by wait4, not Child::wait
fn peak_rss(dir: &Path, name: &str, config: &str) -> i64 {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, config).unwrap();
    let child = Command::new(BIN)
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(dir.join(name))
        .arg("--quiet")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn lmser");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: wait4(2) on our own child, not waited for otherwise; `ru` is plain data.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "lmser run {name} failed: status {status}"
    );
    ru.ru_maxrss * 1024 // kilobytes on Linux
}

fn rows(path: &Path) -> usize {
    let b = std::fs::read(path).unwrap();
    b.iter().filter(|&&c| c == b'\n').count() - 1
}

#[test]
fn peak_memory_does_not_grow_with_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let few = peak_rss(dir.path(), "few", &config(0.01));
    let many = peak_rss(dir.path(), "many", &config(1e-4));
    assert_eq!(rows(&dir.path().join("few/trajectory.csv")), 2_001);
    assert_eq!(rows(&dir.path().join("many/trajectory.csv")), 200_001);
    // 2 x 10^5 rows of 15 numbers held in memory would take >= 24 MB.
    let grown = many - few;
    assert!(
        grown < 8 << 20,
        "peak RSS {many} B with 2e5 rows against {few} B with 2e3 (+{grown} B): rows kept in memory?"
    );
}
