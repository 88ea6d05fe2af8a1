//! Benchmark (not a test): wall time of a 20-run sweep on 1 and on 2 threads
//! (`lmser sweep --threads N`), and the speed-up. Each thread count is timed
//! `LMSER_BENCH_REPEATS` times (default 3), alternating, into fresh directories; the
//! fastest time of each counts (other load on the machine only slows runs down). The
//! CPU time the sweeps used (user + sys of the children) is printed beside: a wall
//! time far above it means other processes took the cores.
//!
//! Run it with `cargo bench --bench sweep_threads`.

use std::process::Command;
use std::time::{Duration, Instant};

/// 2 initial scales x 10 seeds of tanh learning averaged over 500 samples
/// (about 0.26 s of CPU per run).
const CONFIG: &str = r#"name = "bench-sweep"
kind = "learning"
seed = 2
[network]
layers = [6, 3]
activation = "tanh"
[data]
eigenvalues = [4.0, 2.5, 1.5, 0.8, 0.4, 0.2]
distribution = "uniform"
n_samples = 500
[learning]
t_end = 60.0
[init]
scale = 0.5
[solver]
method = "dop853"
rtol = 1e-8
atol = 1e-10
[sweep]
"init.scale" = [0.3, 0.5]
seeds = 10
"#;

/// CPU time (user + sys) of all waited-for children so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_CHILDREN is valid.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut r) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(r.ru_utime) + tv(r.ru_stime)
}

fn main() {
    let repeats: usize = std::env::var("LMSER_BENCH_REPEATS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let config = tmp.path().join("bench.toml");
    std::fs::write(&config, CONFIG).expect("write the config");
    let mut best = [Duration::MAX; 2];
    let mut index = [Vec::new(), Vec::new()];
    for r in 0..repeats {
        for (k, threads) in ["1", "2"].iter().enumerate() {
            let out = tmp.path().join(format!("out-{threads}-{r}"));
            let cpu0 = children_cpu();
            let start = Instant::now();
            let o = Command::new(env!("CARGO_BIN_EXE_lmser"))
                .arg("sweep")
                .arg(&config)
                .args(["--quiet", "--threads", threads, "--out"])
                .arg(&out)
                .output()
                .expect("spawn lmser");
            let wall = start.elapsed();
            let cpu = children_cpu() - cpu0;
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            println!(
                "threads {threads}: wall {:.2} s, cpu {:.2} s",
                wall.as_secs_f64(),
                cpu.as_secs_f64()
            );
            best[k] = best[k].min(wall);
            index[k] = std::fs::read(out.join("index.csv")).expect("index.csv");
        }
    }
    assert_eq!(
        index[0], index[1],
        "index.csv differs between 1 and 2 threads"
    );
    println!(
        "20 runs, best of {repeats}: 1 thread {:.2} s, 2 threads {:.2} s, speed-up {:.2}x (index.csv identical)",
        best[0].as_secs_f64(),
        best[1].as_secs_f64(),
        best[0].as_secs_f64() / best[1].as_secs_f64()
    );
}
