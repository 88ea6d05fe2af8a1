//! Experiments: a config is turned into a typed spec, run by the
//! [`Executor`] with observers, and written to a run
//! directory (`trajectory.csv`, `summary.json`, plots). One module per kind, each
//! implementing a small `Kind` trait (spec from config, run of the spec); the run
//! lifecycle is shared: `summary.json` says
//! `running` from the start and is rewritten with the final status (`finished`,
//! `diverged`, `solver-failed`, `interrupted`) when the run ends.

mod build;
pub mod comparison;
pub mod landscape;
pub mod learning;
pub mod multilayer;
pub(crate) mod observers;
pub mod perceptron;

pub use build::*;
pub(crate) use observers::{EnergyVerdict, PlotBuffer};

use crate::error::{Error, Result};
use crate::executor::{Executor, Journal, Observer, Stepper};
use crate::io::config::{Config, Experiment};
use crate::io::output::RunDir;
use crate::io::summary::{Checkpoint, Status, Summary};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

pub use crate::data::stream;

/// How to run an experiment.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Output directory (default `runs/<name>`).
    pub out: Option<PathBuf>,
    /// No progress bar.
    pub quiet: bool,
    /// Raised by a signal handler to stop the run cleanly.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Continue the run in `out` from its checkpoint instead of starting afresh.
    pub resume: bool,
    /// Replace a run already in `out` (its files are removed first).
    pub force: bool,
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run directory.
    pub dir: PathBuf,
    /// `summary.json` as written.
    pub summary: Summary,
    /// The results worth printing on the terminal, one line each.
    pub lines: Vec<String>,
}

/// One kind of experiment: a spec from a config, and a run of the spec.
pub(crate) trait Kind {
    /// Everything the run needs, built (and every file read) before the run
    /// directory is touched.
    type Spec;
    /// Builds the spec; bad input fails here, before anything is written.
    fn spec(cfg: &Config) -> Result<Self::Spec>;
    /// Runs the spec in `run`; results go to the summary with [`Run::set`].
    fn run(spec: &Self::Spec, run: &mut Run, opts: &RunOptions) -> Result<()>;
}

/// Loads a config file and runs it.
pub fn run_file(path: &Path, opts: &RunOptions) -> Result<RunReport> {
    let cfg = Config::load(path)?;
    run(&cfg, opts)
}

/// Runs a parsed config.
pub fn run(cfg: &Config, opts: &RunOptions) -> Result<RunReport> {
    match &cfg.experiment {
        Experiment::Perceptron(_) => execute::<perceptron::Perceptron>(cfg, opts),
        Experiment::Learning(_) => execute::<learning::Learning>(cfg, opts),
        Experiment::Landscape(_) => execute::<landscape::Landscape>(cfg, opts),
        Experiment::Multilayer(_) => execute::<multilayer::Multilayer>(cfg, opts),
        Experiment::Comparison(_) => execute::<comparison::Comparison>(cfg, opts),
    }
}

/// Checks a parsed config as [`run`] would before writing anything: builds its spec,
/// reading every file it names, and drops it.
pub fn validate(cfg: &Config) -> Result<()> {
    match &cfg.experiment {
        Experiment::Perceptron(_) => perceptron::Perceptron::spec(cfg).map(drop),
        Experiment::Learning(_) => learning::Learning::spec(cfg).map(drop),
        Experiment::Landscape(_) => landscape::Landscape::spec(cfg).map(drop),
        Experiment::Multilayer(_) => multilayer::Multilayer::spec(cfg).map(drop),
        Experiment::Comparison(_) => comparison::Comparison::spec(cfg).map(drop),
    }
}

/// Runs `stepper` to its end in `run` (rows, checkpoints, resume) with a progress bar
/// over [0, t_end] and `observers`; returns the stepper and the outcome.
fn drive<'a, S: Stepper>(
    stepper: S,
    run: &mut Run,
    opts: &RunOptions,
    t_end: f64,
    observers: impl IntoIterator<Item = &'a mut dyn Observer>,
) -> (S, Result<()>) {
    Executor::new(stepper)
        .observe_all(observers)
        .progress(t_end, opts.quiet)
        .interrupt(opts.interrupt.clone())
        .journal(run.journal())
        .run()
}

fn execute<K: Kind>(cfg: &Config, opts: &RunOptions) -> Result<RunReport> {
    let spec = K::spec(cfg)?;
    let mut run = Run::start(cfg, opts)?;
    let outcome = K::run(&spec, &mut run, opts);
    run.finish(outcome)
}

/// A run in progress: its directory and summary, rewritten on every status change.
pub(crate) struct Run {
    dir: RunDir,
    summary: Summary,
    started: Instant,
    checkpoint_interval: f64,
    /// The checkpoint this run resumes from, if any.
    resumed: Option<Checkpoint<Value>>,
    lines: Vec<String>,
}

impl Run {
    /// Creates the output directory and writes a `running` summary; with
    /// `opts.resume`, checks that the directory holds an unfinished run of the same
    /// config and loads its checkpoint.
    pub fn start(cfg: &Config, opts: &RunOptions) -> Result<Run> {
        let path = opts
            .out
            .clone()
            .unwrap_or_else(|| Path::new("runs").join(cfg.name()));
        let config_hash = cfg.hash();
        let resumed = if opts.resume {
            Some(load_checkpoint(&path, &config_hash)?)
        } else {
            None
        };
        let dir = if opts.resume {
            RunDir::create(&path)?
        } else {
            RunDir::prepare(&path, opts.force, &cfg.named_files())?
        };
        let summary = Summary {
            name: cfg.name().to_string(),
            kind: cfg.kind().to_string(),
            status: Status::Running,
            config_file: cfg.file.display().to_string(),
            config_hash,
            config: serde_json::to_value(&cfg.table).unwrap_or(Value::Null),
            seed: cfg.seed(),
            resumed_from_t: resumed.as_ref().map(|c| c.t),
            wall_time_s: None,
            error: None,
            t_reached: None,
            results: Default::default(),
        };
        let run = Run {
            dir,
            summary,
            started: Instant::now(),
            checkpoint_interval: cfg.checkpoint_interval(),
            resumed,
            lines: Vec::new(),
        };
        run.dir.write_summary(&run.summary)?;
        Ok(run)
    }

    /// The journal (rows and checkpoints) of this run, resuming from its checkpoint
    /// when there is one.
    pub(crate) fn journal(&mut self) -> Journal {
        Journal::new(
            self.dir.path(),
            &self.summary.config_hash,
            self.checkpoint_interval,
            self.resumed.take(),
        )
    }

    /// The run directory.
    pub fn dir(&self) -> &RunDir {
        &self.dir
    }

    /// Puts a typed result under `key` in the summary.
    pub fn set<R: Serialize + ?Sized>(&mut self, key: &str, value: &R) {
        let v = serde_json::to_value(value).expect("results serialize");
        self.summary.results.insert(key.into(), v);
    }

    /// Adds a line to print on the terminal when the run ends.
    pub fn say(&mut self, line: String) {
        self.lines.push(line);
    }

    /// Writes the final summary with the status of `outcome` and returns the
    /// report, or the run's error.
    pub fn finish(mut self, outcome: Result<()>) -> Result<RunReport> {
        let s = &mut self.summary;
        s.wall_time_s = Some(self.started.elapsed().as_secs_f64());
        match &outcome {
            Ok(()) => s.status = Status::Finished,
            Err(e) => {
                s.status = e.status();
                s.error = Some(e.to_string());
                if let Error::Diverged { time, .. }
                | Error::SolverFailed { time, .. }
                | Error::Interrupted { time } = e
                {
                    s.t_reached = Some(*time);
                }
            }
        }
        self.dir.write_summary(&self.summary)?;
        outcome.map(|()| RunReport {
            dir: self.dir.path().to_path_buf(),
            summary: self.summary,
            lines: self.lines,
        })
    }
}

/// Reads `checkpoint.json` of an unfinished run of the config with `hash` in `dir`.
fn load_checkpoint(dir: &Path, hash: &str) -> Result<Checkpoint<Value>> {
    let fail = |message: String| Error::Resume {
        dir: dir.to_path_buf(),
        message,
    };
    let read = |name: &str| -> Result<String> {
        std::fs::read_to_string(dir.join(name)).map_err(|e| {
            fail(format!(
                "{name}: {e}; resume needs a directory written by `lmser run`"
            ))
        })
    };
    let summary: Summary = serde_json::from_str(&read("summary.json")?)
        .map_err(|e| fail(format!("summary.json is not a run summary ({e})")))?;
    if summary.config_hash != hash {
        return Err(fail(
            "it holds a run of another config; resume with the config that started it".into(),
        ));
    }
    if summary.status == Status::Finished {
        return Err(fail("the run already finished; nothing to resume".into()));
    }
    let ck: Checkpoint<Value> = serde_json::from_str(&read("checkpoint.json")?)
        .map_err(|e| fail(format!("checkpoint.json is not a checkpoint ({e})")))?;
    if ck.config_hash != hash {
        return Err(fail("checkpoint.json belongs to another config".into()));
    }
    Ok(ck)
}
