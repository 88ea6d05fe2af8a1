//! `lmser sweep` and `lmser merge`: the index does not depend on the thread count or
//! on sharding; run seeds follow the documented formula; a rerun skips finished runs
//! and redoes the rest; a changed config is refused without --force; bad sweep tables
//! are one-line errors; Ctrl-C stops a sweep with its rows saying so.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::SystemTime;

const BIN: &str = env!("CARGO_BIN_EXE_lmser");

/// 2 x 2 points x 2 seeds = 8 fast averaged learning runs.
const SWEEP: &str = "name = \"grid\"
kind = \"learning\"
seed = 11
[network]
layers = [4, 2]
[data]
eigenvalues = [4.0, 2.0, 1.0, 0.5]
[learning]
t_end = 4.0
[init]
scale = 0.1
[solver]
output_dt = 0.1
[sweep]
\"learning.tau_w\" = [1.0, 2]
\"init.scale\" = [0.05, 0.5]
seeds = 2
";

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("sweep.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn sweep(config: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .arg("sweep")
        .arg(config)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .output()
        .expect("spawn lmser")
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

/// The reference SplitMix64 (Steele, Lea, Flood 2014): state += gamma, then mix;
/// the documented run seed is output index + 1, shifted right by one bit.
fn documented_seed(seed: u64, index: u64) -> u64 {
    let mut state = seed;
    let mut out = 0;
    for _ in 0..=index {
        state = state.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        out = z ^ (z >> 31);
    }
    out >> 1
}

/// index.csv from 1 thread, 2 threads and 3 merged shards is byte-identical (and so
/// is every run's trajectory); merge refuses while a shard is missing.
#[test]
fn threads_and_shards_give_the_same_index() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), SWEEP);
    let (one, two, shards) = (
        tmp.path().join("one"),
        tmp.path().join("two"),
        tmp.path().join("shards"),
    );
    ok(sweep(&cfg, &one, &["--threads", "1"]));
    ok(sweep(&cfg, &two, &["--threads", "2"]));
    for i in 0..3 {
        if i == 2 {
            let o = Command::new(BIN)
                .arg("merge")
                .arg(&shards)
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(2));
            assert!(
                String::from_utf8_lossy(&o.stderr).contains("index.shard-2-of-3.csv is missing")
            );
        }
        ok(sweep(
            &cfg,
            &shards,
            &["--threads", "2", "--shard", &format!("{i}/3")],
        ));
    }
    assert!(!shards.join("index.csv").exists());
    let merged = ok(Command::new(BIN)
        .arg("merge")
        .arg(&shards)
        .output()
        .unwrap());
    assert!(merged.contains("8 runs"), "{merged}");
    let index = read(&one.join("index.csv"));
    assert_eq!(index, read(&two.join("index.csv")));
    assert_eq!(index, read(&shards.join("index.csv")));
    for k in 0..8 {
        let t = |d: &Path| read(&d.join(format!("runs/000{k}/trajectory.csv")));
        assert_eq!(t(&one), t(&two), "run {k}");
        assert_eq!(t(&one), t(&shards), "run {k}");
    }
    // The contract: columns, grid order (sorted keys, last fastest, replicates
    // innermost), every run finished with its final metrics.
    let text = String::from_utf8(index).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "run,init.scale,learning.tau_w,replicate,seed,status,t,J,grad_norm,subspace_error,orth_error"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 8);
    let points: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[1], r[2], r[3])).collect();
    assert_eq!(
        &points[..4],
        [
            ("0.05", "1.0", "0"),
            ("0.05", "1.0", "1"),
            ("0.05", "2", "0"),
            ("0.05", "2", "1")
        ]
    );
    assert_eq!(points[4], ("0.5", "1.0", "0"));
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r[0], k.to_string());
        assert_eq!(r[5], "finished");
        assert_eq!(r[6], "4");
        let traj =
            String::from_utf8(read(&one.join(format!("runs/000{k}/trajectory.csv")))).unwrap();
        assert_eq!(
            traj.lines()
                .last()
                .unwrap()
                .split(',')
                .take(5)
                .collect::<Vec<_>>(),
            r[6..]
        );
    }
}

/// Every run's seed (in its summary, its config echo and the index) is the
/// documented formula of the config's seed and the run index, and all differ.
#[test]
fn run_seeds_follow_the_documented_formula() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), SWEEP);
    let out = tmp.path().join("out");
    ok(sweep(&cfg, &out, &[]));
    let index = String::from_utf8(read(&out.join("index.csv"))).unwrap();
    let mut seeds = Vec::new();
    for (k, line) in index.lines().skip(1).enumerate() {
        let s: serde_json::Value =
            serde_json::from_slice(&read(&out.join(format!("runs/000{k}/summary.json")))).unwrap();
        let want = documented_seed(11, k as u64);
        assert_eq!(s["seed"], want, "run {k}");
        assert_eq!(s["config"]["seed"], want, "run {k}");
        assert_eq!(line.split(',').nth(4).unwrap(), want.to_string());
        seeds.push(want);
    }
    seeds.sort_unstable();
    seeds.dedup();
    assert_eq!(seeds.len(), 8);
}

/// A rerun skips finished runs (their files untouched), redoes a deleted run and an
/// unfinished one, and writes the same index.
#[test]
fn a_rerun_skips_finished_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), SWEEP);
    let out = tmp.path().join("out");
    ok(sweep(&cfg, &out, &[]));
    let index = read(&out.join("index.csv"));
    let summary = |k: usize| out.join(format!("runs/000{k}/summary.json"));
    std::fs::remove_dir_all(out.join("runs/0003")).unwrap();
    let unfinished = String::from_utf8(read(&summary(5)))
        .unwrap()
        .replace("\"status\": \"finished\"", "\"status\": \"interrupted\"");
    std::fs::write(summary(5), unfinished).unwrap();
    let before: Vec<SystemTime> = (0..8)
        .filter(|k| *k != 3)
        .map(|k| mtime(&summary(k)))
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let said = ok(sweep(&cfg, &out, &["--threads", "2"]));
    assert!(
        said.contains("8 runs (6 already finished, skipped): 8 finished"),
        "{said}"
    );
    let after: Vec<SystemTime> = (0..8)
        .filter(|k| *k != 3)
        .map(|k| mtime(&summary(k)))
        .collect();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let k = if i >= 3 { i + 1 } else { i };
        assert_eq!(b == a, k != 5, "run {k}: rerun only when unfinished");
    }
    assert!(summary(3).exists());
    assert_eq!(read(&out.join("index.csv")), index);
}

/// Rerunning into a sweep directory with another config (here a --set) is refused,
/// naming --force, and changes nothing; --force redoes every run.
#[test]
fn another_config_is_refused_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), SWEEP);
    let out = tmp.path().join("out");
    ok(sweep(&cfg, &out, &[]));
    let index = read(&out.join("index.csv"));
    let o = sweep(&cfg, &out, &["--set", "learning.t_end=2"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("another config") && e.contains("--force"), "{e}");
    assert_eq!(read(&out.join("index.csv")), index);
    ok(sweep(&cfg, &out, &["--set", "learning.t_end=2", "--force"]));
    let redone = String::from_utf8(read(&out.join("index.csv"))).unwrap();
    assert!(
        redone
            .lines()
            .skip(1)
            .all(|l| l.split(',').nth(6) == Some("2")),
        "{redone}"
    );
}

/// Bad sweep tables and clashing --set are one-line errors (exit 2) naming the
/// key, before anything is written.
#[test]
fn bad_sweeps_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "\"init.scale\" = [0.05, 0.5]",
            "\"init.scale\" = [0.1, -1]",
            "sweep.\"init.scale\" = -1",
        ),
        (
            "\"init.scale\" = [0.05, 0.5]",
            "\"init.scal\" = [0.1]",
            "sweep.\"init.scal\" = 0.1",
        ),
        (
            "\"init.scale\" = [0.05, 0.5]",
            "\"init.scale\" = 0.1",
            "sweep.\"init.scale\"",
        ),
        (
            "\"init.scale\" = [0.05, 0.5]",
            "\"init.scale\" = []",
            "sweep.\"init.scale\"",
        ),
        ("seeds = 2", "seeds = 0", "sweep.seeds"),
        ("seeds = 2", "seed = [1, 2]", "sweep.\"seed\""),
        ("[sweep]\n", "", "no [sweep] table"),
    ];
    for (i, (from, to, names)) in cases.iter().enumerate() {
        let text = match *to {
            "" => SWEEP.split(from).next().unwrap().to_string(),
            _ => SWEEP.replace(from, to),
        };
        let cfg = write_config(tmp.path(), &text);
        let out = tmp.path().join(format!("out{i}"));
        let o = sweep(&cfg, &out, &[]);
        assert_eq!(o.status.code(), Some(2), "{to}: {o:?}");
        let e = String::from_utf8_lossy(&o.stderr).trim_end().to_string();
        assert!(!e.contains('\n') && e.contains(names), "{to}: {e}");
        assert!(!out.exists(), "{to}");
    }
    let cfg = write_config(tmp.path(), SWEEP);
    let clash = sweep(
        &cfg,
        &tmp.path().join("clash"),
        &["--set", "init.scale=0.2"],
    );
    assert_eq!(clash.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&clash.stderr)
            .contains("--set init.scale=0.2: [sweep] sets init.scale too")
    );
    let bad_shard = sweep(&cfg, &tmp.path().join("shard"), &["--shard", "3/3"]);
    assert_eq!(bad_shard.status.code(), Some(2));
}

/// Ctrl-C stops a sweep: the two running runs end interrupted, the other two never
/// start; index.csv says so, the exit code is 130 and stderr gives the resume command.
#[test]
fn interrupt_stops_the_sweep_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let slow = SWEEP
        .replace("t_end = 4.0", "t_end = 1e6")
        .replace("output_dt = 0.1", "output_dt = 0.01")
        .replace("\"learning.tau_w\" = [1.0, 2]\n", "");
    let cfg = write_config(tmp.path(), &slow);
    let out = tmp.path().join("out");
    let mut child = Command::new(BIN)
        .arg("sweep")
        .arg(&cfg)
        .args(["--quiet", "--threads", "2", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let running = || {
        (0..4)
            .filter(|k| common::csv_rows(&out.join(format!("runs/000{k}/trajectory.csv"))) > 10)
            .count()
    };
    common::wait_until(&mut child, "two runs writing rows", || running() == 2);
    common::send("-INT", child.id());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{o:?}");
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("resume with: lmser sweep"), "{e}");
    let index = String::from_utf8(read(&out.join("index.csv"))).unwrap();
    let status: Vec<&str> = index
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap())
        .collect();
    let count = |s: &str| status.iter().filter(|x| **x == s).count();
    assert_eq!((count("interrupted"), count("pending")), (2, 2), "{index}");
}
