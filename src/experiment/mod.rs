//! Experiments: a config is turned into a typed spec, run with the solver driver and
//! observers, and written to a run directory (`trajectory.csv`, `summary.json`,
//! plots). The run lifecycle is shared: `summary.json` says `running` from the
//! start and is rewritten with the final status (`finished`, `diverged`,
//! `solver-failed`, `interrupted`) when the run ends.

mod build;
pub use build::*;
pub mod landscape;
pub mod learning;
pub mod perceptron;

use crate::error::{Error, Result};
use crate::io::config::Config;
use crate::io::output::{CsvStream, Decimator, RunDir};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
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
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub dir: PathBuf,
    pub summary: Value,
}

/// Loads a config file and runs it.
pub fn run_file(path: &Path, opts: &RunOptions) -> Result<RunReport> {
    let cfg = Config::load(path)?;
    run(&cfg, opts)
}

/// Runs a parsed config.
pub fn run(cfg: &Config, opts: &RunOptions) -> Result<RunReport> {
    match cfg.kind() {
        "perceptron" => perceptron::run(cfg, opts),
        "learning" => learning::run(cfg, opts),
        "landscape" => landscape::run(cfg, opts),
        other => Err(cfg.err(
            "kind",
            format!("unknown kind {other:?}; use \"perceptron\", \"learning\" or \"landscape\""),
        )),
    }
}

/// A run in progress: its directory and summary, rewritten on every status change.
pub struct Run {
    dir: RunDir,
    summary: serde_json::Map<String, Value>,
    started: Instant,
    config_hash: String,
    /// The checkpoint this run resumes from, if any.
    resumed: Option<Value>,
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
        let dir = RunDir::create(&path)?;
        let mut summary = serde_json::Map::new();
        summary.insert("name".into(), json!(cfg.name()));
        summary.insert("kind".into(), json!(cfg.kind()));
        summary.insert("status".into(), json!("running"));
        summary.insert("config_file".into(), json!(cfg.file.display().to_string()));
        summary.insert("config_hash".into(), json!(config_hash));
        summary.insert(
            "config".into(),
            serde_json::to_value(&cfg.table).unwrap_or(Value::Null),
        );
        summary.insert("seed".into(), json!(cfg.seed()));
        if let Some(ck) = &resumed {
            summary.insert("resumed_from_t".into(), ck["t"].clone());
        }
        let run = Run {
            dir,
            summary,
            started: Instant::now(),
            config_hash,
            resumed,
        };
        run.dir.write_summary(&Value::Object(run.summary.clone()))?;
        Ok(run)
    }

    /// The checkpoint's state when resuming (None for a fresh run), as this kind's
    /// state type; an error names the run directory.
    pub fn resumed<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>> {
        let Some(ck) = &self.resumed else {
            return Ok(None);
        };
        serde_json::from_value(ck["state"].clone())
            .map(Some)
            .map_err(|e| Error::Resume {
                dir: self.dir.path().into(),
                message: format!(
                    "checkpoint.json has no {} state ({e})",
                    self.summary["kind"].as_str().unwrap_or("matching")
                ),
            })
    }

    /// Opens `trajectory.csv`: a new file with `header`, or, when resuming, the
    /// existing file cut back to the checkpoint's rows, each of which is handed to
    /// `replay` (so trackers and plots see the whole run).
    pub fn trajectory(
        &self,
        header: &[String],
        mut replay: impl FnMut(&[f64]),
    ) -> Result<CsvStream> {
        let path = self.dir.file("trajectory.csv");
        let Some(ck) = &self.resumed else {
            return CsvStream::create(&path, header);
        };
        let rows = ck["rows"].as_u64().unwrap_or(0) as usize;
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Resume {
            dir: self.dir.path().into(),
            message: format!("trajectory.csv: {e}"),
        })?;
        let mut kept = String::new();
        for (i, line) in text.lines().take(rows + 1).enumerate() {
            if i == 0 && line != header.join(",") {
                return Err(Error::Resume {
                    dir: self.dir.path().into(),
                    message: "trajectory.csv has another header; it belongs to another run".into(),
                });
            }
            if i > 0 {
                let v: Vec<f64> = line
                    .split(',')
                    .map(|c| c.parse().unwrap_or(f64::NAN))
                    .collect();
                replay(&v);
            }
            kept.push_str(line);
            kept.push('\n');
        }
        if kept.lines().count() != rows + 1 {
            return Err(Error::Resume {
                dir: self.dir.path().into(),
                message: format!("trajectory.csv has fewer than the checkpoint's {rows} rows"),
            });
        }
        crate::io::output::write_atomic(&path, kept.as_bytes())?;
        CsvStream::append(&path)
    }

    /// A checkpoint writer for this run (interval from `[solver] checkpoint_interval`).
    pub fn checkpointer(&self, cfg: &Config) -> Checkpointer {
        let secs = cfg.checkpoint_interval();
        Checkpointer {
            path: self.dir.file("checkpoint.json"),
            interval: std::time::Duration::from_secs_f64(secs.max(0.0)),
            last_write: Instant::now(),
            config_hash: self.config_hash.clone(),
            latest: None,
        }
    }

    /// The run directory.
    pub fn dir(&self) -> &RunDir {
        &self.dir
    }

    /// Sets a summary field.
    pub fn set(&mut self, key: &str, value: Value) {
        self.summary.insert(key.into(), value);
    }

    /// Writes the final summary with the status of `outcome` and returns the
    /// report, or the run's error.
    pub fn finish(mut self, outcome: Result<()>) -> Result<RunReport> {
        let secs = self.started.elapsed().as_secs_f64();
        self.set("wall_time_s", json!(secs));
        match &outcome {
            Ok(()) => self.set("status", json!("finished")),
            Err(e) => {
                self.set("status", json!(e.status()));
                self.set("error", json!(e.to_string()));
                if let Error::Diverged { time, .. }
                | Error::SolverFailed { time, .. }
                | Error::Interrupted { time } = e
                {
                    self.set("t_reached", json!(time));
                }
            }
        }
        let summary = Value::Object(self.summary);
        self.dir.write_summary(&summary)?;
        outcome.map(|()| RunReport {
            dir: self.dir.path().to_path_buf(),
            summary,
        })
    }
}

/// Everything a run records per output row: the streamed CSV, the bounded plot
/// buffer, the progress bar, a kind-specific tracker (verdicts), and checkpoints.
pub struct Recorder<'a> {
    csv: CsvStream,
    /// Thinned rows for the plots.
    pub plot: Decimator,
    bar: ProgressBar,
    t_end: f64,
    checkpoints: Checkpointer,
    rows: u64,
    header: Vec<String>,
    track: &'a mut dyn FnMut(&[f64]),
}

impl<'a> Recorder<'a> {
    /// Opens the run's trajectory (replaying kept rows into `track` and the plot buffer
    /// when resuming) and starts the progress bar over [0, t_end].
    pub fn new(
        run: &Run,
        cfg: &Config,
        opts: &RunOptions,
        header: &[String],
        t_end: f64,
        track: &'a mut dyn FnMut(&[f64]),
    ) -> Result<Recorder<'a>> {
        let mut plot = Decimator::new(4000);
        let mut rows = 0u64;
        let csv = run.trajectory(header, |row| {
            track(row);
            plot.push(row);
            rows += 1;
        })?;
        Ok(Recorder {
            csv,
            plot,
            bar: progress(opts),
            t_end,
            checkpoints: run.checkpointer(cfg),
            rows,
            header: header.to_vec(),
            track,
        })
    }

    /// Records one output row.
    pub fn record(&mut self, row: &[f64]) -> Result<()> {
        if let Some(i) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::Diverged {
                time: row[0],
                quantity: self.header.get(i).cloned().unwrap_or_default(),
                value: row[i],
                hint: "a recorded quantity is not finite; reduce the step size or the weights"
                    .into(),
            });
        }
        (self.track)(row);
        self.csv.row(row)?;
        self.plot.push(row);
        self.rows += 1;
        tick(&self.bar, row[0], self.t_end);
        Ok(())
    }

    /// Offers the state after the last recorded row as a checkpoint. When one is
    /// written, the CSV is flushed first, so the checkpoint never refers to rows that
    /// are not on disk.
    pub fn checkpoint(&mut self, t: f64, state: Value) -> Result<()> {
        self.checkpoints.latest = Some((t, self.rows, state));
        if self.checkpoints.last_write.elapsed() >= self.checkpoints.interval {
            self.csv.flush()?;
            self.checkpoints.write()?;
        }
        Ok(())
    }

    /// Flushes the CSV and writes the last checkpoint; returns the plot buffer.
    pub fn finish(mut self) -> Result<Decimator> {
        self.bar.finish_and_clear();
        self.csv.flush()?;
        self.checkpoints.write()?;
        Ok(self.plot)
    }
}

/// Reads `checkpoint.json` of an unfinished run of the config with `hash` in `dir`.
fn load_checkpoint(dir: &Path, hash: &str) -> Result<Value> {
    let fail = |message: String| Error::Resume {
        dir: dir.to_path_buf(),
        message,
    };
    let read = |name: &str| -> Result<Value> {
        let text = std::fs::read_to_string(dir.join(name)).map_err(|e| {
            fail(format!(
                "{name}: {e}; resume needs a directory written by `lmser run`"
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| fail(format!("{name} is not valid JSON ({e})")))
    };
    let summary = read("summary.json")?;
    if summary["config_hash"] != json!(hash) {
        return Err(fail(
            "it holds a run of another config; resume with the config that started it".into(),
        ));
    }
    if summary["status"] == json!("finished") {
        return Err(fail("the run already finished; nothing to resume".into()));
    }
    let ck = read("checkpoint.json")?;
    if ck["config_hash"] != json!(hash) {
        return Err(fail("checkpoint.json belongs to another config".into()));
    }
    Ok(ck)
}

/// Writes `checkpoint.json` (atomically) at most once per interval, and on demand.
pub struct Checkpointer {
    path: PathBuf,
    interval: std::time::Duration,
    last_write: Instant,
    config_hash: String,
    latest: Option<(f64, u64, Value)>,
}

impl Checkpointer {
    /// Writes the latest recorded state now.
    pub fn write(&mut self) -> Result<()> {
        self.last_write = Instant::now();
        if let Some((t, rows, state)) = &self.latest {
            let v = json!({"config_hash": self.config_hash, "t": t, "rows": rows, "state": state});
            let text = serde_json::to_string(&v).expect("JSON values serialize");
            crate::io::output::write_atomic(&self.path, text.as_bytes())?;
        }
        Ok(())
    }
}

/// A progress bar over [0, t_end] on stderr, hidden when quiet or not a terminal.
pub fn progress(opts: &RunOptions) -> ProgressBar {
    use std::io::IsTerminal;
    let bar = ProgressBar::new(1000);
    if opts.quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    } else {
        bar.set_style(
            ProgressStyle::with_template("{bar:40} t = {msg} [{elapsed_precise} < {eta}]")
                .expect("valid template"),
        );
    }
    bar
}

/// Moves a [`progress`] bar to time t of [0, t_end].
pub fn tick(bar: &ProgressBar, t: f64, t_end: f64) {
    bar.set_position((1000.0 * t / t_end).round() as u64);
    bar.set_message(format!("{t:.4}"));
}
