//! `index.csv` of a sweep: one row per run (index, swept values, replicate, seed,
//! status, final metrics), written by the csv crate; shard files and their merge.

use super::plan::Plan;
use crate::error::{Error, Result};
use crate::io::config::KindName;
use crate::io::output::write_csv;
use crate::io::summary::Summary;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The final metrics of a kind: columns of the last row of `trajectory.csv`
/// (perceptron, learning) or values of the summary's `landscape` results.
pub fn metric_names(kind: KindName) -> &'static [&'static str] {
    match kind {
        KindName::Perceptron => &["t", "E", "E_printed", "dE_dt", "dz_norm"],
        KindName::Learning => &["t", "J", "grad_norm", "subspace_error", "orth_error"],
        KindName::Comparison => &[],
        KindName::Landscape => &[
            "critical_sets",
            "saddles",
            "saddles_predicted",
            "maxima",
            "max_grad_norm",
            "theorem2_holds",
        ],
    }
}

/// The header of a sweep's index: `run`, the swept keys, `replicate`, `seed`,
/// `status`, the kind's metrics.
pub fn header(plan: &Plan) -> Vec<String> {
    let mut h = vec!["run".to_string()];
    h.extend(plan.axes.iter().map(|a| a.key.clone()));
    h.extend(["replicate", "seed", "status"].map(String::from));
    h.extend(metric_names(plan.kind).iter().map(|s| s.to_string()));
    h
}

/// A swept value as a cell: strings bare, other values as TOML.
fn cell(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The row of run `index` with `status`; the metrics are read from `dir` when
/// `summary` (the run's summary.json) is given, and left empty otherwise.
pub fn row(
    plan: &Plan,
    index: u64,
    status: &str,
    dir: &Path,
    summary: Option<&Summary>,
) -> Vec<String> {
    let p = plan.point(index);
    let mut r = vec![index.to_string()];
    r.extend(p.values.iter().map(cell));
    r.extend([
        p.replicate.to_string(),
        p.seed.to_string(),
        status.to_string(),
    ]);
    let names = metric_names(plan.kind);
    let values = match summary {
        None => vec![String::new(); names.len()],
        Some(s) if plan.kind == KindName::Landscape => names
            .iter()
            .map(
                |n| match s.results.get("landscape").and_then(|l| l.get(n)) {
                    Some(v) => v.to_string(),
                    None => String::new(),
                },
            )
            .collect(),
        Some(_) => {
            let last = last_row(&dir.join("trajectory.csv"));
            names
                .iter()
                .map(|n| {
                    last.as_ref()
                        .and_then(|(h, r)| h.iter().position(|x| x == n).and_then(|i| r.get(i)))
                        .cloned()
                        .unwrap_or_default()
                })
                .collect()
        }
    };
    r.extend(values);
    r
}

/// The header and the last complete data row of a CSV file of numbers (reading only
/// its start and its end); `None` without a data row.
fn last_row(path: &Path) -> Option<(Vec<String>, Vec<String>)> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut head = Vec::new();
    (&mut f).take(1 << 20).read_to_end(&mut head).ok()?;
    let header_end = head.iter().position(|&b| b == b'\n')?;
    let header = String::from_utf8_lossy(&head[..header_end]).into_owned();
    let mut tail_len = 1u64 << 16;
    loop {
        let start = len.saturating_sub(tail_len).max(header_end as u64 + 1);
        f.seek(SeekFrom::Start(start)).ok()?;
        let mut tail = Vec::new();
        f.by_ref().read_to_end(&mut tail).ok()?;
        // Only newline-terminated rows count (a killed run can leave a fragment).
        let at_start = start == header_end as u64 + 1;
        let body = match tail.iter().rposition(|&b| b == b'\n') {
            Some(end) => &tail[..end],
            None if at_start => return None,
            None => {
                tail_len *= 4;
                continue;
            }
        };
        match body.iter().rposition(|&b| b == b'\n') {
            Some(i) => return Some(split(&header, &body[i + 1..])),
            None if at_start => return Some(split(&header, body)),
            None => tail_len *= 4,
        }
    }
}

/// The header and the row as fields, read by the csv crate (as every CSV here).
fn split(header: &str, row: &[u8]) -> (Vec<String>, Vec<String>) {
    let fields = |bytes: &[u8]| -> Vec<String> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes)
            .records()
            .next()
            .and_then(|r| r.ok())
            .map(|r| r.iter().map(String::from).collect())
            .unwrap_or_default()
    };
    (fields(header.as_bytes()), fields(row))
}

/// The index file of a sweep (`index.csv`) or of shard `i` of `n`
/// (`index.shard-i-of-n.csv`).
pub fn file_name(shard: Option<(u64, u64)>) -> String {
    match shard {
        None => "index.csv".into(),
        Some((i, n)) => format!("index.shard-{i}-of-{n}.csv"),
    }
}

/// Writes an index: the header, then the rows.
pub fn write(path: &Path, header: &[String], rows: &[Vec<String>]) -> Result<()> {
    write_csv(
        path,
        std::iter::once(header).chain(rows.iter().map(|r| r.as_slice())),
    )
}

/// What `lmser merge` did.
#[derive(Debug, Clone)]
pub struct MergeReport {
    /// The index written.
    pub index: PathBuf,
    /// Shards merged.
    pub shards: u64,
    /// Rows (runs) in the index.
    pub runs: usize,
    /// Runs whose status is not `finished`.
    pub unfinished: usize,
}

/// Joins the shard indexes `index.shard-i-of-n.csv` of `dir` into `index.csv`, the
/// same file an unsharded sweep writes. Every shard of one `n` must be there, with
/// the same header, and together they must hold runs 0, 1, ... once each.
pub fn merge(dir: &Path) -> Result<MergeReport> {
    let refuse = |message: String| Error::RunDir {
        dir: dir.to_path_buf(),
        message,
    };
    let n = shard_count(dir)?;
    let mut header: Option<csv::StringRecord> = None;
    let mut rows: Vec<(u64, Vec<String>)> = Vec::new();
    for i in 0..n {
        let path = dir.join(file_name(Some((i, n))));
        if !path.exists() {
            return Err(refuse(format!(
                "{} is missing; run lmser sweep CONFIG --out DIR --shard {i}/{n} first",
                file_name(Some((i, n)))
            )));
        }
        let bad = |m: String| Error::data(&path, m);
        let mut reader = csv::Reader::from_path(&path).map_err(|e| bad(e.to_string()))?;
        let h = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
        match &header {
            Some(first) if first != &h => {
                return Err(bad(
                    "has another header than shard 0; were the shards run with the same config?"
                        .into(),
                ));
            }
            _ => header = Some(h),
        }
        for rec in reader.records() {
            let rec = rec.map_err(|e| bad(e.to_string()))?;
            let index: u64 = rec.get(0).and_then(|s| s.parse().ok()).ok_or_else(|| {
                bad(format!(
                    "row {:?}: the run column is not a run index",
                    rec.get(0)
                ))
            })?;
            if index % n != i {
                return Err(bad(format!(
                    "holds run {index}, which belongs to shard {}/{n}",
                    index % n
                )));
            }
            rows.push((index, rec.iter().map(String::from).collect()));
        }
    }
    rows.sort_by_key(|r| r.0);
    if let Some((k, _)) = rows.iter().enumerate().find(|(k, r)| r.0 != *k as u64) {
        return Err(refuse(format!(
            "the shard indexes do not hold run {k} exactly once; rerun its shard ({}/{n})",
            k as u64 % n
        )));
    }
    let header: Vec<String> = header.expect("n >= 1").iter().map(String::from).collect();
    let status = header.iter().position(|h| h == "status");
    let unfinished = rows
        .iter()
        .filter(|r| {
            status
                .and_then(|s| r.1.get(s))
                .is_none_or(|s| s != "finished")
        })
        .count();
    let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.1).collect();
    let index = dir.join(file_name(None));
    write(&index, &header, &rows)?;
    Ok(MergeReport {
        index,
        shards: n,
        runs: rows.len(),
        unfinished,
    })
}

/// The shard count n of the shard indexes in `dir` (there must be one).
fn shard_count(dir: &Path) -> Result<u64> {
    let refuse = |message: String| Error::RunDir {
        dir: dir.to_path_buf(),
        message,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| Error::output(dir, e))?;
    let mut counts: Vec<u64> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| shard_of(&e.file_name().to_string_lossy()).map(|(_, n)| n))
        .collect();
    counts.sort_unstable();
    counts.dedup();
    match counts.as_slice() {
        [n] => Ok(*n),
        [] => Err(refuse(
            "holds no shard index (index.shard-I-of-N.csv); run lmser sweep CONFIG --out DIR --shard I/N first".into(),
        )),
        many => {
            let list: Vec<String> = many.iter().map(|n| format!("-of-{n}")).collect();
            Err(refuse(format!(
                "holds shard indexes of different shard counts ({}); remove the stale ones",
                list.join(", ")
            )))
        }
    }
}

/// (i, n) of a shard index file name `index.shard-i-of-n.csv`.
fn shard_of(name: &str) -> Option<(u64, u64)> {
    let rest = name.strip_prefix("index.shard-")?.strip_suffix(".csv")?;
    let (i, n) = rest.split_once("-of-")?;
    let (i, n) = (i.parse().ok()?, n.parse().ok()?);
    (i < n).then_some((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last complete row, past an unterminated fragment and across chunk ends.
    #[test]
    fn last_row_skips_fragments() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        let mut text = String::from("t,x\n");
        for i in 0..20000 {
            text.push_str(&format!("{i},{}\n", 2 * i));
        }
        text.push_str("20000,4");
        std::fs::write(&p, &text).unwrap();
        let (h, r) = last_row(&p).unwrap();
        assert_eq!(
            (h, r),
            (
                vec!["t".into(), "x".into()],
                vec!["19999".into(), "39998".into()]
            )
        );
        std::fs::write(&p, "t,x\n").unwrap();
        assert!(last_row(&p).is_none());
        std::fs::write(&p, "t,x\n1,2\n").unwrap();
        assert_eq!(last_row(&p).unwrap().1, ["1", "2"]);
    }
}
