//! Grids of grey-level images (originals, reconstructions, receptive fields) as one
//! PNG: one labelled row per entry, white background, dark ink (0 = white, 1 = black).

use super::register_font;
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Side of an image on screen, in pixels, that the scale aims at (at least).
const TARGET: usize = 56;
const GAP: i32 = 8;
const MARGIN: i32 = 12;
const LABEL_FONT: u32 = 16;
const TITLE_FONT: u32 = 20;
/// Largest PNG side accepted, in pixels.
const MAX_SIDE: usize = 16_000;

/// Writes a PNG at `path` (its name should end in `.png`): `title` on top, then one
/// row per entry of `rows_of_images`, its label at the left and its images (each
/// `side.0` rows x `side.1` columns of pixels, stored row by row) to the right. Values
/// are clamped to [0, 1] and drawn as grey, 0 white and 1 black; non-finite values are
/// red. Each image pixel becomes a square of ceil(56 / max(side)) screen pixels
/// (8x8 images are 56 px wide, 28x28 ones 56 px) in a thin grey frame.
pub fn image_grid(
    path: &std::path::Path,
    title: &str,
    rows_of_images: &[(String, Vec<Vec<f64>>)],
    side: (usize, usize),
) -> Result<()> {
    let bad = |field: String, message: String| Error::config("image_grid", field, message);
    let (h, w) = side;
    if h == 0 || w == 0 {
        return Err(bad(
            "side".into(),
            format!("{h}x{w} has no pixels; give (rows, columns) of one image"),
        ));
    }
    if rows_of_images.is_empty() {
        return Err(bad(
            "rows_of_images".into(),
            "is empty; give at least one labelled row".into(),
        ));
    }
    for (label, images) in rows_of_images {
        for (k, im) in images.iter().enumerate() {
            if im.len() != h * w {
                return Err(bad(
                    format!("rows_of_images[{label:?}][{k}]"),
                    format!(
                        "has {} values but a {h}x{w} image has {}; give images of the side passed",
                        im.len(),
                        h * w
                    ),
                ));
            }
        }
    }
    register_font();
    let scale = TARGET.div_ceil(h.max(w)).max(1);
    let (ih, iw) = ((h * scale) as i32, (w * scale) as i32);
    let label_w = rows_of_images
        .iter()
        .map(|(l, _)| text_width(l, LABEL_FONT))
        .max()
        .unwrap_or(0) as i32
        + 2 * MARGIN;
    let title_h = if title.is_empty() {
        MARGIN
    } else {
        TITLE_FONT as i32 * 2
    };
    let per_row = rows_of_images
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(0)
        .max(1) as i32;
    let width = label_w as i64 + per_row as i64 * (iw + GAP) as i64 + MARGIN as i64;
    let height = title_h as i64 + rows_of_images.len() as i64 * (ih + GAP) as i64 + MARGIN as i64;
    if width > MAX_SIDE as i64 || height > MAX_SIDE as i64 {
        return Err(bad(
            "rows_of_images".into(),
            format!(
                "the grid would be {width}x{height} px (at most {MAX_SIDE}); draw fewer images per row or fewer rows"
            ),
        ));
    }
    let fail = |e: String| Error::output(path, std::io::Error::other(e));
    let root = BitMapBackend::new(path, (width as u32, height as u32)).into_drawing_area();
    let layout = Layout {
        scale: scale as i32,
        side,
        label_w,
        title_h,
        ih,
        iw,
        width: width as i32,
    };
    draw(&root, title, rows_of_images, &layout).map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// Pixel positions of a grid.
struct Layout {
    scale: i32,
    side: (usize, usize),
    label_w: i32,
    title_h: i32,
    ih: i32,
    iw: i32,
    width: i32,
}

fn text_width(text: &str, size: u32) -> u32 {
    ("sans-serif", size)
        .into_font()
        .box_size(text)
        .map(|b| b.0)
        .unwrap_or(8 * text.chars().count() as u32)
}

/// The colour of pixel value `v`: white (0) to black (1), red if not finite.
fn grey(v: f64) -> RGBColor {
    if !v.is_finite() {
        return RGBColor(220, 30, 30);
    }
    let g = (255.0 * (1.0 - v.clamp(0.0, 1.0))).round() as u8;
    RGBColor(g, g, g)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    rows_of_images: &[(String, Vec<Vec<f64>>)],
    l: &Layout,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    if !title.is_empty() {
        let style = ("sans-serif", TITLE_FONT)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Center));
        root.draw_text(title, &style, (l.width / 2, l.title_h / 2))?;
    }
    let label_style = ("sans-serif", LABEL_FONT)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let frame = RGBColor(170, 170, 170);
    for (r, (label, images)) in rows_of_images.iter().enumerate() {
        let y0 = l.title_h + r as i32 * (l.ih + GAP);
        root.draw_text(label, &label_style, (MARGIN, y0 + l.ih / 2))?;
        for (k, im) in images.iter().enumerate() {
            let x0 = l.label_w + k as i32 * (l.iw + GAP);
            for (p, &v) in im.iter().enumerate() {
                let (pr, pc) = ((p / l.side.1) as i32, (p % l.side.1) as i32);
                let (x, y) = (x0 + pc * l.scale, y0 + pr * l.scale);
                let c = grey(v);
                if c != WHITE {
                    root.draw(&Rectangle::new(
                        [(x, y), (x + l.scale - 1, y + l.scale - 1)],
                        c.filled(),
                    ))?;
                }
            }
            root.draw(&Rectangle::new(
                [(x0 - 1, y0 - 1), (x0 + l.iw, y0 + l.ih)],
                frame.stroke_width(1),
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Images;

    #[test]
    fn two_rows_write_a_png_and_bad_images_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let ramp: Vec<f64> = (0..64).map(|k| k as f64 / 63.0).collect();
        let inv: Vec<f64> = ramp.iter().map(|v| 1.0 - v).collect();
        let rows = vec![
            ("original".to_string(), vec![ramp.clone(), inv.clone()]),
            (
                "reconstruction".to_string(),
                vec![inv, vec![f64::NAN; 64], vec![2.0; 64]],
            ),
        ];
        let png = dir.path().join("grid.png");
        image_grid(&png, "two rows", &rows, (8, 8)).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.len() > 500, "{} bytes", bytes.len());
        assert_eq!(&bytes[1..4], b"PNG");

        let mut short = rows.clone();
        short[1].1[2].pop();
        let e = image_grid(&dir.path().join("bad.png"), "", &short, (8, 8)).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let m = e.to_string();
        assert!(
            m.contains("\"reconstruction\"][2]") && m.contains("63 values"),
            "{m}"
        );
        assert!(!dir.path().join("bad.png").exists());

        for (side, rows) in [((0, 8), rows.clone()), ((8, 8), vec![])] {
            assert!(image_grid(&dir.path().join("x.png"), "", &rows, side).is_err());
        }
        let huge = vec![("wide".to_string(), vec![vec![0.0; 64]; 1000])];
        let e = image_grid(&dir.path().join("x.png"), "", &huge, (8, 8)).unwrap_err();
        assert!(e.to_string().contains("fewer images"), "{e}");
        let e = image_grid(&dir.path().join("no/such/dir.png"), "", &rows, (8, 8)).unwrap_err();
        assert!(e.to_string().contains("cannot write"), "{e}");
    }

    #[test]
    fn grey_levels_run_from_white_to_black() {
        assert_eq!(grey(0.0), WHITE);
        assert_eq!(grey(1.0), BLACK);
        assert_eq!(grey(-3.0), WHITE);
        assert_eq!(grey(7.0), BLACK);
        assert_eq!(grey(0.5), RGBColor(128, 128, 128));
        assert_eq!(grey(f64::INFINITY), RGBColor(220, 30, 30));
    }

    /// One digit of each class, drawn to `$TMPDIR/lmser-digits-grid.png` for a look.
    #[test]
    fn one_digit_per_class() {
        let d = Images::digits().unwrap();
        let first: Vec<Vec<f64>> = d
            .first_of_each_class()
            .into_iter()
            .map(|i| d.image(i.unwrap()))
            .collect();
        let second: Vec<Vec<f64>> = (0..10)
            .map(|k| {
                let i = d.labels.iter().rposition(|&l| l == k).unwrap();
                d.image(i)
            })
            .collect();
        let png = std::env::temp_dir().join("lmser-digits-grid.png");
        let rows = vec![
            ("first of class".to_string(), first),
            ("last of class".to_string(), second),
        ];
        image_grid(&png, "8x8 digits 0-9", &rows, (8, 8)).unwrap();
        assert!(std::fs::metadata(&png).unwrap().len() > 1000);
    }
}
