//! Numeric CSV files: matrices and vectors (no header, comma separated), read with
//! the csv crate and written atomically.

use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use std::path::Path;

/// Reads a matrix with the csv crate: one row per line, values separated by commas,
/// no header, `#` comments and blank lines skipped. Every row must have the same length
/// and every value must be a finite number.
pub fn read_matrix(path: &Path) -> Result<DMatrix<f64>> {
    if path.is_dir() {
        return Err(Error::data(path, "is a directory; give a CSV file"));
    }
    let text = std::fs::read(path).map_err(|e| {
        Error::data(
            path,
            format!("cannot read ({e}); check the path (relative to the config file)"),
        )
    })?;
    let text = String::from_utf8(text)
        .map_err(|_| Error::data(path, "is not UTF-8 text; give a plain CSV file"))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (r, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::data(path, format!("row {}: {e}", r + 1)))?;
        let line = record.position().map_or(r as u64 + 1, |p| p.line());
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        let mut row = Vec::with_capacity(record.len());
        for (j, cell) in record.iter().enumerate() {
            let v: f64 = cell.parse().map_err(|_| {
                Error::data(
                    path,
                    format!("line {line}, column {}: {cell:?} is not a number", j + 1),
                )
            })?;
            if !v.is_finite() {
                return Err(Error::data(
                    path,
                    format!(
                        "line {line}, column {}: {cell} is not finite; give finite values",
                        j + 1
                    ),
                ));
            }
            row.push(v);
        }
        if let Some(first) = rows.first()
            && first.len() != row.len()
        {
            return Err(Error::data(
                path,
                format!(
                    "line {line} has {} values but the first row has {}; make all rows the same length",
                    row.len(),
                    first.len()
                ),
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(Error::data(
            path,
            "is empty; give at least one row of numbers",
        ));
    }
    let (r, c) = (rows.len(), rows[0].len());
    Ok(DMatrix::from_row_iterator(r, c, rows.into_iter().flatten()))
}

/// Reads a vector of n values written as one row or one column.
pub fn read_vector(path: &Path, n: usize) -> Result<DVector<f64>> {
    let m = read_matrix(path)?;
    if m.nrows() != 1 && m.ncols() != 1 || m.len() != n {
        return Err(Error::data(
            path,
            format!(
                "is {} x {} but must hold {n} values in one row or one column",
                m.nrows(),
                m.ncols()
            ),
        ));
    }
    Ok(DVector::from_iterator(n, m.iter().copied()))
}

/// Writes a matrix as CSV (no header) in the format [`read_matrix`] reads.
pub fn write_matrix(path: &Path, m: &DMatrix<f64>) -> Result<()> {
    let rows = (0..m.nrows()).map(|i| m.row(i).iter().map(|v| v.to_string()).collect::<Vec<_>>());
    crate::io::output::write_csv(path, rows)
}
