//! Tests of images.rs.

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
