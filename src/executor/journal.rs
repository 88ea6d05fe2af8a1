//! What the executor writes into a run directory: `trajectory.csv` (streamed) and
//! `checkpoint.json` (at most once per interval, and when the run ends), and how it
//! picks a resumed run up: the CSV is cut back to the checkpoint's rows, which are
//! replayed to the observers.

use crate::error::{Error, Result};
use crate::io::output::{CsvStream, write_atomic};
use crate::io::summary::Checkpoint;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Rows and checkpoints of one run directory.
pub(crate) struct Journal {
    dir: PathBuf,
    config_hash: String,
    interval: Duration,
    last_write: Instant,
    csv: Option<CsvStream>,
    rows: u64,
    resume: Option<Checkpoint<Value>>,
}

impl Journal {
    /// A journal in `dir` for the config with `config_hash`, checkpointing every
    /// `interval_secs` of wall-clock time, resuming from `resume` when given.
    pub(crate) fn new(
        dir: &Path,
        config_hash: &str,
        interval_secs: f64,
        resume: Option<Checkpoint<Value>>,
    ) -> Journal {
        Journal {
            dir: dir.to_path_buf(),
            config_hash: config_hash.to_string(),
            interval: Duration::from_secs_f64(interval_secs.max(0.0)),
            last_write: Instant::now(),
            csv: None,
            rows: 0,
            resume,
        }
    }

    fn resume_error(&self, message: impl Into<String>) -> Error {
        Error::Resume {
            dir: self.dir.clone(),
            message: message.into(),
        }
    }

    /// Opens `trajectory.csv` with the header `names`: a new file, or, when resuming,
    /// the existing file cut back to the checkpoint's rows. Returns those rows and the
    /// checkpoint's state when resuming.
    pub(crate) fn open(&mut self, names: &[String]) -> Result<Option<(Vec<Vec<f64>>, Value)>> {
        let path = self.dir.join("trajectory.csv");
        let Some(ck) = self.resume.take() else {
            self.csv = Some(CsvStream::create(&path, names)?);
            return Ok(None);
        };
        let text =
            std::fs::read(&path).map_err(|e| self.resume_error(format!("trajectory.csv: {e}")))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_slice());
        let header = reader
            .headers()
            .map_err(|e| self.resume_error(format!("trajectory.csv: {e}")))?;
        if header.iter().ne(names.iter().map(String::as_str)) {
            return Err(
                self.resume_error("trajectory.csv has another header; it belongs to another run")
            );
        }
        let mut rows = Vec::new();
        let mut end = reader.position().byte();
        for record in reader.records().take(ck.rows as usize) {
            let record = record.map_err(|e| self.resume_error(format!("trajectory.csv: {e}")))?;
            let row = record
                .iter()
                .map(|c| c.parse::<f64>())
                .collect::<std::result::Result<Vec<f64>, _>>()
                .map_err(|_| {
                    self.resume_error(format!(
                        "trajectory.csv row {} is not a row of numbers",
                        rows.len() + 1
                    ))
                })?;
            if row.len() != names.len() {
                return Err(self.resume_error(format!(
                    "trajectory.csv row {} has {} values, the header {}",
                    rows.len() + 1,
                    row.len(),
                    names.len()
                )));
            }
            rows.push(row);
            end = record.position().map_or(end, |p| p.byte());
        }
        if rows.len() as u64 != ck.rows {
            return Err(self.resume_error(format!(
                "trajectory.csv has fewer than the checkpoint's {} rows",
                ck.rows
            )));
        }
        // Keep the header and the checkpoint's rows, each ending with its newline.
        let keep = kept_bytes(&text, end, rows.is_empty());
        write_atomic(&path, &text[..keep])?;
        self.csv = Some(CsvStream::append(&path)?);
        self.rows = ck.rows;
        Ok(Some((rows, ck.state)))
    }

    /// Appends one row.
    pub(crate) fn row(&mut self, row: &[f64]) -> Result<()> {
        self.rows += 1;
        self.csv
            .as_mut()
            .expect("journal opened before the first row")
            .row(row)
    }

    /// True when the checkpoint interval has passed since the last write.
    pub(crate) fn due(&self) -> bool {
        self.last_write.elapsed() >= self.interval
    }

    /// Writes `state`, the state after the last row at time `t`, as the checkpoint
    /// (flushing the CSV first, so a checkpoint never refers to rows not on disk).
    pub(crate) fn checkpoint<T: Serialize>(&mut self, t: f64, state: &T) -> Result<()> {
        if let Some(csv) = &mut self.csv {
            csv.flush()?;
        }
        self.last_write = Instant::now();
        let ck = Checkpoint {
            config_hash: self.config_hash.clone(),
            t,
            rows: self.rows,
            state,
        };
        let text = serde_json::to_string(&ck).expect("checkpoints serialize");
        write_atomic(&self.dir.join("checkpoint.json"), text.as_bytes())
    }

    /// Flushes the CSV (the executor writes the last checkpoint before).
    pub(crate) fn finish(mut self) -> Result<()> {
        match &mut self.csv {
            Some(csv) => csv.flush(),
            None => Ok(()),
        }
    }

    /// The run directory (for messages).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Bytes of `text` to keep: up to the start of the record after the last kept one
/// (`end` is where the last kept record starts), i.e. through its newline.
fn kept_bytes(text: &[u8], end: u64, header_only: bool) -> usize {
    let start = if header_only { 0 } else { end as usize };
    match text[start..].iter().position(|&b| b == b'\n') {
        Some(i) => start + i + 1,
        None => text.len(),
    }
}
