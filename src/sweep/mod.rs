//! Sweeps: one config with a `[sweep]` table run at every point of its grid (see
//! [`Plan`]), in parallel (rayon), each run an ordinary run directory
//! `DIR/runs/<index>/` written by [`experiment::run`], with one row per run in
//! `DIR/index.csv` (see [`index`]).
//!
//! Results do not depend on the thread count or on sharding: every run's seed is
//! [`run_seed`] of the config's seed and the run index, each run is deterministic, and
//! the index is written in run order from what the run directories hold. A sweep can
//! be resumed by running it again: runs whose directory holds a finished run of the
//! same config are skipped, the others are redone in their own directory.

pub mod index;
mod plan;

pub use index::{MergeReport, merge};
pub use plan::{Axis, MAX_RUNS, Plan, Point, run_seed};

use crate::error::{Error, Result};
use crate::experiment::{self, RunOptions};
use crate::io::config::Config;
use crate::io::summary::{Status, Summary};
use indicatif::ProgressBar;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// `--shard i/n`: the runs whose index is `i` modulo `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// i: this shard runs the runs whose index is i modulo n (0 <= i < n).
    pub index: u64,
    /// n: the number of shards.
    pub count: u64,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let parsed = s
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if index < count => Ok(Shard { index, count }),
            _ => Err(format!(
                "expected i/n with 0 <= i < n (e.g. 3/10 for the fourth of ten shards), got {s:?}"
            )),
        }
    }
}

/// How to run a sweep.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// The sweep directory (default `runs/<name>-sweep`).
    pub out: Option<PathBuf>,
    /// Runs at a time (default: one per CPU).
    pub threads: Option<usize>,
    /// Run only this shard and write its own index.
    pub shard: Option<Shard>,
    /// No progress bar.
    pub quiet: bool,
    /// Redo every run, even finished ones and runs of another config.
    pub force: bool,
    /// `--set key=value` overrides of the base config.
    pub set: Vec<String>,
    /// Raised by a signal handler: running runs stop as interrupted, no new run starts.
    pub interrupt: Option<Arc<AtomicBool>>,
}

/// What a sweep did.
#[derive(Debug)]
pub struct SweepReport {
    /// The sweep directory.
    pub dir: PathBuf,
    /// The index written (`index.csv` or the shard's).
    pub index: PathBuf,
    /// Runs in this shard (all runs when not sharded).
    pub runs: usize,
    /// Runs skipped because they had finished before.
    pub skipped: usize,
    /// Runs by status (`finished`, `diverged`, ..., `pending` for runs not started).
    pub statuses: BTreeMap<String, usize>,
    /// The runs that ended with an error, by index.
    pub errors: Vec<(u64, Error)>,
    /// True when the sweep was interrupted.
    pub interrupted: bool,
}

impl SweepReport {
    /// Process exit code: 130 interrupted, else 2 when a run failed on bad input,
    /// 3 when one diverged or its solver failed, 0 when all finished.
    pub fn exit_code(&self) -> i32 {
        if self.interrupted {
            return 130;
        }
        let codes: Vec<i32> = self.errors.iter().map(|(_, e)| e.exit_code()).collect();
        match codes.iter().find(|&&c| c == 2) {
            Some(&c) => c,
            None => codes.first().copied().unwrap_or(0),
        }
    }
}

/// One run of the shard: its config, hash and directory, and whether it is done.
struct Job {
    index: u64,
    config: Config,
    hash: String,
    dir: PathBuf,
    done: Option<Summary>,
}

/// How a job ended in this sweep.
enum Outcome {
    Skipped,
    Ran(Result<()>),
    Pending,
}

/// Runs the sweep of the config `file` (see the module docs).
pub fn sweep(file: &Path, opts: &SweepOptions) -> Result<SweepReport> {
    let plan = Plan::load(file, &opts.set)?;
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(format!("{}-sweep", plan.name)));
    check_dir(&dir)?;
    let shard = opts.shard.map(|s| (s.index, s.count));
    let (i, n) = shard.unwrap_or((0, 1));
    let indices: Vec<u64> = (0..plan.len()).filter(|k| k % n == i).collect();
    let jobs = prepare(&plan, &dir, &indices, opts.force)?;
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs).map_err(|e| Error::output(&runs, e))?;
    let outcomes = execute(&jobs, opts)?;

    let mut report = SweepReport {
        index: dir.join(index::file_name(shard)),
        dir,
        runs: jobs.len(),
        skipped: 0,
        statuses: BTreeMap::new(),
        errors: Vec::new(),
        interrupted: crate::solver::raised(&opts.interrupt),
    };
    let mut rows = Vec::with_capacity(jobs.len());
    for (job, outcome) in jobs.iter().zip(outcomes) {
        let (status, summary) = match outcome {
            Outcome::Skipped => {
                report.skipped += 1;
                (Status::Finished.name(), job.done.clone())
            }
            Outcome::Pending => ("pending", None),
            Outcome::Ran(result) => {
                let status = match &result {
                    Ok(()) => Status::Finished,
                    Err(e) => e.status(),
                };
                let written = read_summary(&job.dir)
                    .filter(|s| s.config_hash == job.hash && s.status == status);
                if let Err(e) = result {
                    report.errors.push((job.index, e));
                }
                (status.name(), written)
            }
        };
        *report.statuses.entry(status.to_string()).or_default() += 1;
        rows.push(index::row(
            &plan,
            job.index,
            status,
            &job.dir,
            summary.as_ref(),
        ));
    }
    index::write(&report.index, &index::header(&plan), &rows)?;
    Ok(report)
}

/// Refuses a sweep directory holding files a sweep does not write (`runs/`, the
/// index files), naming them; nothing is changed.
fn check_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(Error::output(
            dir,
            std::io::Error::other("exists and is not a directory"),
        ));
    }
    let mut foreign: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::output(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            let index = n.starts_with("index") && (n.ends_with(".csv") || n.ends_with(".tmp"));
            !(index || n == "runs")
        })
        .collect();
    foreign.sort();
    if foreign.is_empty() {
        return Ok(());
    }
    let more = if foreign.len() > 5 { ", ..." } else { "" };
    foreign.truncate(5);
    Err(Error::RunDir {
        dir: dir.to_path_buf(),
        message: format!(
            "holds files a sweep does not write ({}{more}); nothing was changed, choose a new or empty directory with --out",
            foreign.join(", ")
        ),
    })
}

/// The jobs of the shard: every run's config (each grid point validated once, so bad
/// values stop the sweep before anything is written) and what its directory holds.
/// A directory holding a run of another config is refused unless `force`.
fn prepare(plan: &Plan, dir: &Path, indices: &[u64], force: bool) -> Result<Vec<Job>> {
    let mut checked = HashSet::new();
    let mut jobs = Vec::with_capacity(indices.len());
    let mut foreign = Vec::new();
    for &index in indices {
        let config = plan.config(index)?;
        if checked.insert(index / plan.replicates) {
            experiment::validate(&config).map_err(|e| plan.overrides(index).attribute(e))?;
        }
        let hash = config.hash();
        let run_dir = dir.join("runs").join(plan.dir_name(index));
        let prior = read_summary(&run_dir);
        let done = match prior {
            Some(s) if s.config_hash != hash => {
                foreign.push(plan.dir_name(index));
                None
            }
            Some(s) if s.status == Status::Finished => Some(s),
            _ => None,
        };
        jobs.push(Job {
            index,
            config,
            hash,
            dir: run_dir,
            done: done.filter(|_| !force),
        });
    }
    if !foreign.is_empty() && !force {
        let more = if foreign.len() > 5 { ", ..." } else { "" };
        foreign.truncate(5);
        return Err(Error::RunDir {
            dir: dir.join("runs"),
            message: format!(
                "{}{more} hold runs of another config (the sweep config, a file it names or --set changed); use a new --out, or --force to redo every run",
                foreign.join(", ")
            ),
        });
    }
    Ok(jobs)
}

/// Runs the jobs not done on `opts.threads` threads (results in job order); after an
/// interrupt no new run starts.
fn execute(jobs: &[Job], opts: &SweepOptions) -> Result<Vec<Outcome>> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = opts.threads {
        pool = pool.num_threads(n);
    }
    let pool = pool
        .build()
        .map_err(|e| Error::output("threads", std::io::Error::other(e)))?;
    let todo = jobs.iter().filter(|j| j.done.is_none()).count();
    let bar = progress(todo as u64, opts.quiet);
    let outcomes = pool.install(|| {
        jobs.par_iter()
            .with_max_len(1)
            .map(|job| {
                if job.done.is_some() {
                    return Outcome::Skipped;
                }
                if crate::solver::raised(&opts.interrupt) {
                    return Outcome::Pending;
                }
                let run = RunOptions {
                    out: Some(job.dir.clone()),
                    quiet: true,
                    interrupt: opts.interrupt.clone(),
                    resume: false,
                    force: true,
                };
                let result = experiment::run(&job.config, &run).map(drop);
                bar.inc(1);
                Outcome::Ran(result)
            })
            .collect()
    });
    bar.finish_and_clear();
    Ok(outcomes)
}

/// A bar over the runs on stderr, hidden when quiet or not a terminal.
fn progress(len: u64, quiet: bool) -> ProgressBar {
    let template = "{bar:40} {pos}/{len} runs [{elapsed_precise} < {eta}]";
    crate::executor::stderr_bar(len, template, quiet)
}

/// The summary.json of a run directory, if it holds a readable one.
fn read_summary(dir: &Path) -> Option<Summary> {
    let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    serde_json::from_str(&text).ok()
}
