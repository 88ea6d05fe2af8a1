//! Labelled grey-level image sets: the 8x8 handwritten digits bundled with smartcore
//! (UCI "Optical Recognition of Handwritten Digits", 1797 images) and IDX files, the
//! format of MNIST and Fashion-MNIST described on Y. LeCun's MNIST page
//! (<http://yann.lecun.com/exdb/mnist/>), raw or gzip-compressed.

use crate::data::random::{rng, stream};
use crate::error::{Error, Result};
use nalgebra::DMatrix;
use rand::Rng;
use std::io::Read;
use std::path::Path;

/// IDX magic of an image file: unsigned bytes, 3 dimensions (count, rows, columns).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// IDX magic of a label file: unsigned bytes, 1 dimension (count).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Labelled images, one per row of `x`, pixels scaled to [0, 1] and stored row by
/// row (pixel `(r, c)` of image `i` is `x[(i, r * cols + c)]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    /// N x (rows * cols): one image per row, pixels in [0, 1].
    pub x: DMatrix<f64>,
    /// The class of each image, 0..classes.
    pub labels: Vec<u8>,
    /// Pixel rows of an image.
    pub rows: usize,
    /// Pixel columns of an image.
    pub cols: usize,
    /// Number of classes: 10 for the digits, the largest label + 1 for IDX files.
    pub classes: usize,
}

impl Images {
    /// The 8x8 handwritten digits of smartcore's `datasets` feature: 1797 images of
    /// the classes 0..9, grey levels 0..16 divided by 16.
    pub fn digits() -> Result<Images> {
        let d = smartcore::dataset::digits::load_dataset();
        let bad = |m: String| Error::data("smartcore digits", m);
        let (n, p) = (d.num_samples, d.num_features);
        if p != 64 || d.data.len() != n * p || d.target.len() != n {
            return Err(bad(format!(
                "expected 8x8 images, found {n} samples of {p} features with {} values and {} labels",
                d.data.len(),
                d.target.len()
            )));
        }
        let mut labels = Vec::with_capacity(n);
        for (i, &t) in d.target.iter().enumerate() {
            if !(0.0..=9.0).contains(&t) || t.fract() != 0.0 {
                return Err(bad(format!("image {i} has label {t}, expected 0..9")));
            }
            labels.push(t as u8);
        }
        let x = DMatrix::from_row_iterator(n, p, d.data.iter().map(|&v| v as f64 / 16.0));
        if x.iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(bad("grey levels outside 0..16".into()));
        }
        Ok(Images {
            x,
            labels,
            rows: 8,
            cols: 8,
            classes: 10,
        })
    }

    /// Images and labels from IDX files (MNIST / Fashion-MNIST), each raw or gzip
    /// (recognised by its 0x1f 0x8b magic). Images: big-endian u32 magic 0x00000803,
    /// count, rows, columns, then count * rows * columns bytes (divided by 255);
    /// labels: magic 0x00000801, count, then count bytes.
    pub fn from_idx(images: &Path, labels: &Path) -> Result<Images> {
        let (n, rows, cols, pixels) = read_idx_images(images)?;
        let lab = read_idx_labels(labels)?;
        if lab.len() != n {
            return Err(Error::data(
                labels,
                format!(
                    "holds {} labels but {} holds {n} images; give the label file of that image file",
                    lab.len(),
                    images.display()
                ),
            ));
        }
        let classes = lab.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
        let x =
            DMatrix::from_row_iterator(n, rows * cols, pixels.iter().map(|&b| b as f64 / 255.0));
        Ok(Images {
            x,
            labels: lab,
            rows,
            cols,
            classes,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True if there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `i`, row by row.
    pub fn image(&self, i: usize) -> Vec<f64> {
        self.x.row(i).iter().copied().collect()
    }

    /// The images at `indices`, in that order (indices must be < `len()`).
    pub fn select(&self, indices: &[usize]) -> Images {
        Images {
            x: self.x.select_rows(indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            rows: self.rows,
            cols: self.cols,
            classes: self.classes,
        }
    }

    /// The first `n` images (all if there are fewer).
    pub fn subset(&self, n: usize) -> Images {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        self.select(&idx)
    }

    /// A seeded random split into (train, test): the images are shuffled with stream
    /// [`stream::SPLIT`] of `seed` and the first round(test_fraction * N) go to test.
    /// Both parts keep the shuffled order. `test_fraction` must be in [0, 1].
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Images, Images)> {
        if !(0.0..=1.0).contains(&test_fraction) {
            return Err(Error::config(
                "Images::split",
                "test_fraction",
                format!("{test_fraction} is not in [0, 1]; give e.g. 0.2"),
            ));
        }
        let n = self.len();
        let mut perm: Vec<usize> = (0..n).collect();
        let mut r = rng(seed, stream::SPLIT);
        for i in (1..n).rev() {
            perm.swap(i, r.random_range(0..=i));
        }
        let n_test = ((test_fraction * n as f64).round() as usize).min(n);
        let (test, train) = perm.split_at(n_test);
        Ok((self.select(train), self.select(test)))
    }

    /// One-hot targets: N x classes, 1 in the column of each image's label.
    pub fn one_hot(&self) -> DMatrix<f64> {
        let mut t = DMatrix::zeros(self.len(), self.classes);
        for (i, &l) in self.labels.iter().enumerate() {
            t[(i, l as usize)] = 1.0;
        }
        t
    }

    /// The number of images of each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.classes];
        for &l in &self.labels {
            c[l as usize] += 1;
        }
        c
    }

    /// The index of the first image of each class (None for a class without images).
    pub fn first_of_each_class(&self) -> Vec<Option<usize>> {
        (0..self.classes)
            .map(|k| self.labels.iter().position(|&l| l as usize == k))
            .collect()
    }
}

/// Reads `path` whole, gunzipping it if it starts with the gzip magic.
fn read_maybe_gzip(path: &Path) -> Result<(Vec<u8>, bool)> {
    if path.is_dir() {
        return Err(Error::data(path, "is a directory; give an IDX file"));
    }
    let raw = std::fs::read(path).map_err(|e| {
        Error::data(
            path,
            format!("cannot read ({e}); check the path (relative to the config file)"),
        )
    })?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| {
                Error::data(
                    path,
                    format!("is not a valid gzip file ({e}); download it again or gunzip it"),
                )
            })?;
        Ok((out, true))
    } else {
        Ok((raw, false))
    }
}

fn be_u32(b: &[u8], k: usize) -> u32 {
    u32::from_be_bytes([b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]])
}

fn magic_name(m: u32) -> &'static str {
    match m {
        IDX_IMAGES_MAGIC => " (IDX images)",
        IDX_LABELS_MAGIC => " (IDX labels)",
        _ => "",
    }
}

/// Checks the magic and the length of an IDX file with `dims` dimensions; returns the
/// dimensions and the data bytes.
fn idx_body<'a>(
    path: &Path,
    bytes: &'a [u8],
    gz: bool,
    magic: u32,
    dims: usize,
) -> Result<(Vec<usize>, &'a [u8])> {
    let what = if gz { " (after gunzip)" } else { "" };
    let header = 4 * (1 + dims);
    let kind = if magic == IDX_IMAGES_MAGIC {
        "images"
    } else {
        "labels"
    };
    if bytes.len() < 4 {
        return Err(Error::data(
            path,
            format!(
                "truncated: expected at least {header} header bytes, found {}{what}; download the {kind} file again",
                bytes.len()
            ),
        ));
    }
    let found = be_u32(bytes, 0);
    if found != magic {
        let swap = if magic_name(found).is_empty() {
            "give an IDX file (MNIST format)"
        } else {
            "images and labels are swapped"
        };
        return Err(Error::data(
            path,
            format!(
                "wrong magic: expected 0x{magic:08x}{}, found 0x{found:08x}{}; {swap}",
                magic_name(magic),
                magic_name(found)
            ),
        ));
    }
    if bytes.len() < header {
        return Err(Error::data(
            path,
            format!(
                "truncated: expected at least {header} header bytes, found {}{what}; download the {kind} file again",
                bytes.len()
            ),
        ));
    }
    let shape: Vec<usize> = (1..=dims).map(|k| be_u32(bytes, k) as usize).collect();
    let body = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let expected = body.and_then(|b| b.checked_add(header)).ok_or_else(|| {
        Error::data(
            path,
            format!("header gives impossible dimensions {shape:?}; not an IDX {kind} file"),
        )
    })?;
    if bytes.len() < expected {
        return Err(Error::data(
            path,
            format!(
                "truncated: dimensions {shape:?} need {expected} bytes, found {}{what}; download the {kind} file again",
                bytes.len()
            ),
        ));
    }
    if bytes.len() > expected {
        return Err(Error::data(
            path,
            format!(
                "has {} bytes after the data of dimensions {shape:?} ({expected} bytes expected{what}); not an IDX {kind} file",
                bytes.len() - expected
            ),
        ));
    }
    Ok((shape, &bytes[header..]))
}

/// (count, rows, cols, pixels) of an IDX image file.
fn read_idx_images(path: &Path) -> Result<(usize, usize, usize, Vec<u8>)> {
    let (bytes, gz) = read_maybe_gzip(path)?;
    let (shape, body) = idx_body(path, &bytes, gz, IDX_IMAGES_MAGIC, 3)?;
    let (n, rows, cols) = (shape[0], shape[1], shape[2]);
    if n == 0 || rows == 0 || cols == 0 {
        return Err(Error::data(
            path,
            format!("holds no pixels ({n} images of {rows}x{cols}); give a non-empty image file"),
        ));
    }
    Ok((n, rows, cols, body.to_vec()))
}

/// The labels of an IDX label file.
fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    let (bytes, gz) = read_maybe_gzip(path)?;
    let (_, body) = idx_body(path, &bytes, gz, IDX_LABELS_MAGIC, 1)?;
    if let Some(i) = body.iter().position(|&l| l == u8::MAX) {
        return Err(Error::data(
            path,
            format!("label {i} is 255, not a class (at most 255 classes 0..254); check the file"),
        ));
    }
    Ok(body.to_vec())
}

#[cfg(test)]
#[path = "images_tests.rs"]
mod tests;
