//! Run outputs: the run directory, streamed CSV rows (written every half second by a
//! flusher thread),
//! a bounded in-memory copy for plots, and `summary.json` written atomically.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Writes `bytes` to `path` through a temporary file and a rename, so readers see
/// either the old or the new content, never a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| Error::output(path, e))
}

/// Writes records of text fields as one CSV file (quoted where needed, by the csv
/// crate), atomically.
pub fn write_csv<R, F>(path: &Path, records: R) -> Result<()>
where
    R: IntoIterator<Item = F>,
    F: IntoIterator,
    F::Item: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in records {
        w.write_record(r)
            .map_err(|e| Error::output(path, std::io::Error::other(e)))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::output(path, std::io::Error::other(e.to_string())))?;
    write_atomic(path, &bytes)
}

/// Stems of the files a run writes (plots as `.png` and `.svg`; atomic writes go
/// through `<stem>.tmp`), besides the weight files `W<k>.csv`.
const RUN_FILES: &[&str] = &[
    "trajectory",
    "summary",
    "checkpoint",
    "critical_points",
    "energy",
    "activities",
    "learning",
    "overlaps",
    "alignment",
    // The comparison table (crate::compare).
    "table",
    "curves",
    "learning_curves",
    "recall_reconstruction",
    "recall_generation",
    "recall_association",
];

/// True for a file name that a run writes.
pub(crate) fn is_run_file(name: &str) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    let weights = stem
        .strip_prefix('W')
        .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
    let known = RUN_FILES.contains(&stem) || weights;
    known && matches!(ext, "csv" | "json" | "png" | "svg" | "tmp")
}

/// The output directory of one run.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates the directory (and parents) and checks that it can be written.
    pub fn create(path: &Path) -> Result<RunDir> {
        if path.exists() && !path.is_dir() {
            return Err(Error::output(
                path,
                std::io::Error::other("exists and is not a directory"),
            ));
        }
        std::fs::create_dir_all(path).map_err(|e| Error::output(path, e))?;
        let probe = path.join(".write-test");
        File::create(&probe).map_err(|e| Error::output(path, e))?;
        let _ = std::fs::remove_file(probe);
        Ok(RunDir {
            path: path.to_path_buf(),
        })
    }

    /// Prepares `path` for a new run. A new or empty directory is used as is. A
    /// directory that holds a run (`summary.json`) is refused unless `force`, which
    /// removes every file a run writes first; any other non-empty directory (one
    /// holding a file a run does not write, or no `summary.json`) is refused, naming
    /// the files, and so is a run directory holding one of the run's own inputs
    /// (`inputs`); in every refusal nothing is deleted.
    pub fn prepare(path: &Path, force: bool, inputs: &[PathBuf]) -> Result<RunDir> {
        let refuse = |message: String| Error::RunDir {
            dir: path.to_path_buf(),
            message,
        };
        if path.is_dir() {
            let mut names: Vec<String> = std::fs::read_dir(path)
                .map_err(|e| Error::output(path, e))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            let foreign: Vec<&String> = names.iter().filter(|n| !is_run_file(n)).collect();
            let is_run = names.iter().any(|n| n == "summary.json");
            if !is_run && !names.is_empty() {
                let list: Vec<&str> = names.iter().take(5).map(|s| s.as_str()).collect();
                let more = if names.len() > 5 { ", ..." } else { "" };
                return Err(refuse(format!(
                    "is not empty but holds no run (no summary.json; it holds {}{more}); nothing was changed, choose a new or empty directory with --out",
                    list.join(", ")
                )));
            }
            let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            };
            if let Some(n) = names
                .iter()
                .find(|n| inputs.iter().any(|i| same(&path.join(n), i)))
            {
                return Err(refuse(format!(
                    "holds {n}, which the config reads; nothing was changed, write the run elsewhere with --out"
                )));
            }
            if !foreign.is_empty() {
                let list: Vec<&str> = foreign.iter().take(5).map(|s| s.as_str()).collect();
                let more = if foreign.len() > 5 { ", ..." } else { "" };
                return Err(refuse(format!(
                    "holds files a run does not write ({}{more}); nothing was changed, choose a new or empty directory with --out",
                    list.join(", ")
                )));
            }
            if is_run && !force {
                return Err(refuse(format!(
                    "holds a run already; replace it with --force, or continue it with --resume {}",
                    path.display()
                )));
            }
            for n in &names {
                std::fs::remove_file(path.join(n)).map_err(|e| Error::output(path.join(n), e))?;
            }
        }
        Self::create(path)
    }

    /// Path of a file in the run directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `summary.json` atomically.
    pub fn write_summary(&self, summary: &crate::io::summary::Summary) -> Result<()> {
        let text = serde_json::to_string_pretty(summary).expect("summaries serialize");
        write_atomic(&self.file("summary.json"), text.as_bytes())
    }
}

/// Rows waiting to be written, shared with the flusher thread.
struct Pending {
    text: Vec<u8>,
    file: File,
    error: Option<std::io::Error>,
}

impl Pending {
    /// Writes the collected (whole) rows in one call.
    fn write_out(&mut self) {
        if self.text.is_empty() || self.error.is_some() {
            return;
        }
        match self.file.write_all(&self.text) {
            Ok(()) => self.text.clear(),
            Err(e) => self.error = Some(e),
        }
    }
}

/// Flush interval of [`CsvStream`].
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(500);

/// A CSV file written row by row: rows are collected in memory and a flusher thread
/// writes them every [`FLUSH_INTERVAL`], however long the simulation takes between
/// rows. A clean stop leaves only complete rows; SIGKILL can cut the write in
/// progress (Linux stops a write(2) between pages), leaving at most an unterminated
/// last fragment.
pub struct CsvStream {
    path: PathBuf,
    fields: Vec<String>,
    pending: Arc<Mutex<Pending>>,
    stop: Arc<AtomicBool>,
    flusher: Option<std::thread::JoinHandle<()>>,
}

impl CsvStream {
    /// Creates (truncates) the file and writes the header.
    pub fn create(path: &Path, header: &[String]) -> Result<CsvStream> {
        let file = File::create(path).map_err(|e| Error::output(path, e))?;
        let mut s = Self::start(path, file);
        s.record(header.iter().map(String::as_str))?;
        s.flush()?;
        Ok(s)
    }

    /// Opens an existing file for appending (resume).
    pub fn append(path: &Path) -> Result<CsvStream> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::output(path, e))?;
        Ok(Self::start(path, file))
    }

    fn start(path: &Path, file: File) -> CsvStream {
        let pending = Arc::new(Mutex::new(Pending {
            text: Vec::new(),
            file,
            error: None,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, st) = (pending.clone(), stop.clone());
        let flusher = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                std::thread::park_timeout(FLUSH_INTERVAL);
                if let Ok(mut p) = p.lock() {
                    p.write_out();
                }
            }
        });
        CsvStream {
            path: path.to_path_buf(),
            fields: Vec::new(),
            pending,
            stop,
            flusher: Some(flusher),
        }
    }

    fn check(&self, p: &mut Pending) -> Result<()> {
        match p.error.take() {
            Some(e) => Err(Error::output(&self.path, e)),
            None => Ok(()),
        }
    }

    /// Appends one row of numbers (shortest round-trip formatting).
    pub fn row(&mut self, values: &[f64]) -> Result<()> {
        use std::fmt::Write as _;
        let mut fields = std::mem::take(&mut self.fields);
        fields.resize(values.len(), String::new());
        for (f, v) in fields.iter_mut().zip(values) {
            f.clear();
            let _ = write!(f, "{v}");
        }
        let r = self.record(fields.iter().map(String::as_str));
        self.fields = fields;
        r
    }

    /// Appends one record of text fields.
    pub fn record<'a>(&mut self, fields: impl IntoIterator<Item = &'a str>) -> Result<()> {
        let pending = self.pending.clone();
        let mut p = pending.lock().expect("flusher never panics");
        self.check(&mut p)?;
        {
            // The csv crate formats the record (quoting where needed) into the buffer.
            let mut w = csv::WriterBuilder::new()
                .buffer_capacity(1024)
                .from_writer(&mut p.text);
            let io = |e: csv::Error| Error::output(&self.path, std::io::Error::other(e));
            w.write_record(fields).map_err(io)?;
            w.flush().map_err(|e| Error::output(&self.path, e))?;
        }
        if p.text.len() > 1 << 20 {
            p.write_out();
        }
        self.check(&mut p)
    }

    /// Writes the collected rows now.
    pub fn flush(&mut self) -> Result<()> {
        let pending = self.pending.clone();
        let mut p = pending.lock().expect("flusher never panics");
        p.write_out();
        self.check(&mut p)
    }
}

impl Drop for CsvStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.flusher.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        if let Ok(mut p) = self.pending.lock() {
            p.write_out();
        }
    }
}

/// Keeps a bounded, evenly thinned copy of a row stream for plotting: when `cap` rows
/// are held, every other row is dropped and the stride doubles. The last row seen is
/// always kept.
#[derive(Debug, Clone)]
pub struct Decimator {
    cap: usize,
    stride: u64,
    seen: u64,
    rows: Vec<Vec<f64>>,
    last: Option<Vec<f64>>,
}

impl Decimator {
    /// A buffer of at most `cap` (>= 2) rows.
    pub fn new(cap: usize) -> Self {
        Decimator {
            cap: cap.max(2),
            stride: 1,
            seen: 0,
            rows: Vec::new(),
            last: None,
        }
    }

    /// Offers one row.
    pub fn push(&mut self, row: &[f64]) {
        if self.seen.is_multiple_of(self.stride) {
            if self.rows.len() == self.cap {
                let mut i = 0;
                self.rows.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
                self.stride *= 2;
            }
            if self.seen.is_multiple_of(self.stride) {
                self.rows.push(row.to_vec());
                self.last = None;
            } else {
                self.last = Some(row.to_vec());
            }
        } else {
            self.last = Some(row.to_vec());
        }
        self.seen += 1;
    }

    /// The kept rows, ending with the last row seen.
    pub fn rows(&self) -> Vec<Vec<f64>> {
        let mut r = self.rows.clone();
        if let Some(l) = &self.last {
            r.push(l.clone());
        }
        r
    }

    /// Column `c` of the kept rows paired with column 0 (t).
    pub fn series(&self, c: usize) -> Vec<(f64, f64)> {
        self.rows().iter().map(|r| (r[0], r[c])).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row reaches the file with no further call (no next row, no flush): the
    /// flusher thread writes it, every FLUSH_INTERVAL by construction. The test waits
    /// up to 5 s so a loaded machine cannot make it flaky.
    #[test]
    fn rows_reach_disk_without_further_calls() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut csv = CsvStream::create(&path, &["t".into(), "x".into()]).unwrap();
        csv.row(&[0.5, 1.25]).unwrap();
        let start = std::time::Instant::now();
        let want = "t,x\n0.5,1.25\n";
        while std::fs::read_to_string(&path).unwrap() != want {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "row never written"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(csv);
    }

    /// The buffer never exceeds its cap, keeps the first and last rows, and its
    /// rows stay in order and evenly spaced.
    #[test]
    fn decimator_is_bounded_and_keeps_ends() {
        let mut d = Decimator::new(16);
        for i in 0..1000 {
            d.push(&[i as f64]);
        }
        let rows = d.rows();
        assert!(rows.len() <= 17);
        assert_eq!(rows[0][0], 0.0);
        assert_eq!(rows.last().unwrap()[0], 999.0);
        let gaps: Vec<f64> = rows.windows(2).map(|w| w[1][0] - w[0][0]).collect();
        assert!(gaps[..gaps.len() - 1].iter().all(|&g| g == gaps[0]));
    }
}
