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
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    fn idx_images(n: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [IDX_IMAGES_MAGIC, n, rows, cols] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(pixels);
        b
    }

    fn idx_labels(labels: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [IDX_LABELS_MAGIC, labels.len() as u32] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(labels);
        b
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// 3 images of 2x3 pixels with labels 2, 0, 1.
    fn small() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let pixels: Vec<u8> = (0..18u8).map(|k| k * 15).collect();
        let labels = vec![2, 0, 1];
        (idx_images(3, 2, 3, &pixels), idx_labels(&labels), pixels)
    }

    /// The message of `from_idx(images, labels)`, which must fail with a data error
    /// naming `culprit`.
    fn data_error(images: &Path, labels: &Path, culprit: &Path) -> String {
        let e = Images::from_idx(images, labels).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        match &e {
            Error::Data { path, .. } => assert_eq!(path, culprit, "{e}"),
            other => panic!("not a data error: {other}"),
        }
        let msg = e.to_string();
        assert!(msg.contains(&culprit.display().to_string()), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        msg
    }

    #[test]
    fn digits_are_the_uci_set() {
        let d = Images::digits().unwrap();
        assert_eq!((d.x.nrows(), d.x.ncols()), (1797, 64));
        assert_eq!((d.rows, d.cols, d.classes, d.len()), (8, 8, 10, 1797));
        assert!(d.x.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(d.x.iter().any(|&v| v == 1.0), "grey level 16 maps to 1");
        let counts = d.class_counts();
        assert_eq!(counts.iter().sum::<usize>(), 1797);
        for (k, &c) in counts.iter().enumerate() {
            assert!((170..=190).contains(&c), "class {k}: {c} images");
        }
        // Known blank pixels: left column of rows 0, 4 and the top-left corner.
        for j in [0, 32, 39] {
            assert!(d.x.column(j).iter().all(|&v| v == 0.0), "pixel {j}");
        }
        let mean = d.x.row_mean();
        let (lo, hi) = (mean.min(), mean.max());
        assert!(hi - lo > 0.5, "mean image spans {lo}..{hi}");
        // Centre pixels are inked on average, the corners are not.
        assert!(mean[27] > 0.3 && mean[0] == 0.0, "{mean}");
        let hot = d.one_hot();
        assert_eq!((hot.nrows(), hot.ncols()), (1797, 10));
        assert!(hot.row_iter().all(|r| r.sum() == 1.0));
        assert_eq!(hot[(0, d.labels[0] as usize)], 1.0);
        assert!(d.first_of_each_class().iter().all(Option::is_some));
    }

    #[test]
    fn idx_round_trip_raw_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let (img, lab, pixels) = small();
        for (tag, img, lab) in [
            ("raw", img.clone(), lab.clone()),
            ("gz", gzip(&img), gzip(&lab)),
        ] {
            let ip = write(dir.path(), &format!("{tag}-images"), &img);
            let lp = write(dir.path(), &format!("{tag}-labels"), &lab);
            let s = Images::from_idx(&ip, &lp).unwrap();
            assert_eq!((s.len(), s.rows, s.cols, s.classes), (3, 2, 3, 3), "{tag}");
            assert_eq!(s.labels, vec![2, 0, 1]);
            for i in 0..3 {
                for k in 0..6 {
                    assert_eq!(s.x[(i, k)], pixels[6 * i + k] as f64 / 255.0, "{tag}");
                }
            }
            assert_eq!(s.x[(2, 5)], 1.0);
            assert_eq!(s.image(1), s.x.row(1).iter().copied().collect::<Vec<_>>());
        }
    }

    #[test]
    fn idx_errors_name_the_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (img, lab, _) = small();
        let ip = write(d, "images", &img);
        let lp = write(d, "labels", &lab);

        let missing = d.join("nope.gz");
        let m = data_error(&missing, &lp, &missing);
        assert!(
            m.contains("cannot read") && m.contains("check the path"),
            "{m}"
        );
        let m = data_error(&ip, &missing, &missing);
        assert!(m.contains("cannot read"), "{m}");

        // Swapped files: both magics named.
        let m = data_error(&lp, &ip, &lp);
        assert!(
            m.contains("expected 0x00000803") && m.contains("found 0x00000801"),
            "{m}"
        );
        assert!(m.contains("swapped"), "{m}");
        let junk = write(d, "junk", b"hello world, not idx");
        let m = data_error(&ip, &junk, &junk);
        assert!(
            m.contains("expected 0x00000801") && m.contains("found 0x68656c6c"),
            "{m}"
        );

        // Truncated body, raw and gzip; truncated header.
        let cut = write(d, "cut", &img[..img.len() - 1]);
        let m = data_error(&cut, &lp, &cut);
        assert!(
            m.contains("truncated") && m.contains("need 34 bytes, found 33"),
            "{m}"
        );
        let cutgz = write(d, "cut.gz", &gzip(&img[..20]));
        let m = data_error(&cutgz, &lp, &cutgz);
        assert!(m.contains("found 20 (after gunzip)"), "{m}");
        let head = write(d, "head", &lab[..6]);
        let m = data_error(&ip, &head, &head);
        assert!(
            m.contains("expected at least 8 header bytes, found 6"),
            "{m}"
        );
        let tiny = write(d, "tiny", &[0, 0]);
        let m = data_error(&tiny, &lp, &tiny);
        assert!(m.contains("truncated"), "{m}");

        // Trailing bytes, corrupt gzip, counts that differ, label 255, no pixels.
        let mut long = img.clone();
        long.push(7);
        let long = write(d, "long", &long);
        let m = data_error(&long, &lp, &long);
        assert!(m.contains("1 bytes after the data"), "{m}");
        let mut bad_gz = gzip(&img);
        let k = bad_gz.len() / 2;
        bad_gz.truncate(k);
        let bad_gz = write(d, "bad.gz", &bad_gz);
        let m = data_error(&bad_gz, &lp, &bad_gz);
        assert!(m.contains("gzip"), "{m}");
        let two = write(d, "two", &idx_labels(&[0, 1]));
        let m = data_error(&ip, &two, &two);
        assert!(
            m.contains("holds 2 labels") && m.contains("holds 3 images"),
            "{m}"
        );
        let l255 = write(d, "l255", &idx_labels(&[0, 255, 1]));
        let m = data_error(&ip, &l255, &l255);
        assert!(m.contains("label 1 is 255"), "{m}");
        let empty = write(d, "empty", &idx_images(0, 28, 28, &[]));
        let m = data_error(&empty, &lp, &empty);
        assert!(m.contains("no pixels"), "{m}");
        let m = data_error(d, &lp, d);
        assert!(m.contains("directory"), "{m}");
    }

    #[test]
    fn split_is_seeded_disjoint_and_complete() {
        let d = Images::digits().unwrap();
        let (tr, te) = d.split(0.25, 7).unwrap();
        assert_eq!((tr.len(), te.len()), (1348, 449));
        assert_eq!((tr.rows, te.cols, te.classes), (8, 8, 10));
        let (tr2, te2) = d.split(0.25, 7).unwrap();
        assert_eq!((&tr, &te), (&tr2, &te2));
        let (tr3, _) = d.split(0.25, 8).unwrap();
        assert_ne!(tr.labels, tr3.labels);

        // Split an index-tagged set so rows identify originals exactly.
        let n = 50;
        let tagged = Images {
            x: DMatrix::from_fn(n, 1, |i, _| i as f64),
            labels: (0..n).map(|i| (i % 3) as u8).collect(),
            rows: 1,
            cols: 1,
            classes: 3,
        };
        let (a, b) = tagged.split(0.3, 1).unwrap();
        assert_eq!((a.len(), b.len()), (35, 15));
        let mut all: Vec<usize> = a.x.iter().chain(b.x.iter()).map(|&v| v as usize).collect();
        for (s, i) in [(&a, 0), (&b, 3)] {
            assert_eq!(s.labels[i] as usize, s.x[(i, 0)] as usize % 3);
        }
        let shuffled = all.clone();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
        assert_ne!(shuffled, all, "the split shuffles");

        let (all_train, none) = tagged.split(0.0, 1).unwrap();
        assert_eq!((all_train.len(), none.len()), (50, 0));
        for bad in [-0.1, 1.5, f64::NAN] {
            let e = tagged.split(bad, 1).unwrap_err();
            assert!(e.to_string().contains("test_fraction"), "{e}");
        }
        let sub = d.subset(5);
        assert_eq!(sub.len(), 5);
        assert_eq!(sub.labels, d.labels[..5].to_vec());
        assert_eq!(d.subset(5000).len(), 1797);
    }
}
