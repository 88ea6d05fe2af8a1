//! Plots written as PNG and SVG with plotters, pure Rust: the DejaVu Sans font is
//! embedded (no system font libraries needed). One way to draw: a [`Figure`] is one
//! panel (series as lines, dashed lines or markers, labelled horizontal levels, linear
//! or log axes); [`Panels`] lays figures out as small multiples with one title and an
//! optional shared legend; `Figure::save` is a single panel. Legends sit outside the
//! plotting area, to the right. Log axes plot log10 of the data with plain labels
//! (module `axis`). [`image_grid`] draws rows of grey-level images (originals,
//! reconstructions) as one PNG.

mod axis;
mod draw;
mod grid;

pub use grid::image_grid;

use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// A solid line.
    #[default]
    Line,
    /// A dashed line (predictions, reference curves).
    Dashed,
    /// A filled circle at each point, unjoined (independent samples, measurements).
    Markers,
}

/// An RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// Ten distinguishable colours (Tableau 10); series without a colour take them in turn.
pub const PALETTE: [Rgb; 10] = [
    Rgb(31, 119, 180),
    Rgb(255, 127, 14),
    Rgb(44, 160, 44),
    Rgb(214, 39, 40),
    Rgb(148, 103, 189),
    Rgb(140, 86, 75),
    Rgb(227, 119, 194),
    Rgb(127, 127, 127),
    Rgb(188, 189, 34),
    Rgb(23, 190, 207),
];

/// Colour `i` of the palette (cycling).
pub fn palette(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

/// Shade `k` of `n` of `base`, from darker (k = 0) to lighter (k = n - 1): the units
/// of one layer in the colour of their layer.
pub fn shade(base: Rgb, k: usize, n: usize) -> Rgb {
    let t = if n <= 1 {
        0.5
    } else {
        k as f64 / (n - 1) as f64
    };
    let f = |c: u8| {
        let c = c as f64;
        // t = 0: 35% darker; t = 1: 55% of the way to white.
        let v = if t < 0.4 {
            c * (0.65 + 0.35 * t / 0.4)
        } else {
            c + (255.0 - c) * 0.55 * (t - 0.4) / 0.6
        };
        v.round().clamp(0.0, 255.0) as u8
    };
    Rgb(f(base.0), f(base.1), f(base.2))
}

/// One series of a figure. An empty label leaves it out of the legend.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend entry ("" for none).
    pub label: String,
    /// Data points (x, y) in data units; non-finite ones (also <= 0 on a log axis) are
    /// skipped.
    pub points: Vec<(f64, f64)>,
    /// Line, dashed line or markers.
    pub style: Style,
    /// None: the palette colour of its position.
    pub color: Option<Rgb>,
}

impl Series {
    /// A named solid line in the palette colour of its position.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points,
            style: Style::Line,
            color: None,
        }
    }

    /// Drawn dashed.
    pub fn dashed(mut self) -> Self {
        self.style = Style::Dashed;
        self
    }

    /// Drawn as unjoined markers.
    pub fn markers(mut self) -> Self {
        self.style = Style::Markers;
        self
    }

    /// In colour `c`.
    pub fn color(mut self, c: Rgb) -> Self {
        self.color = Some(c);
        self
    }
}

/// A horizontal dashed grey line, its label written just right of the plotting area.
#[derive(Debug, Clone)]
pub struct Level {
    /// Height in data units (log10 taken on a log y axis).
    pub y: f64,
    /// Text written at the right end of the line, e.g. a plateau level J(S).
    pub label: String,
}

impl Level {
    /// The level `y` labelled `label`.
    pub fn new(y: f64, label: impl Into<String>) -> Self {
        Level {
            y,
            label: label.into(),
        }
    }
}

/// One panel: axes, series and horizontal levels.
#[derive(Debug, Clone, Default)]
pub struct Figure {
    /// Caption drawn above this panel.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Plot log10 x with plain tick labels; points with x <= 0 are skipped.
    pub log_x: bool,
    /// Plot log10 y with plain tick labels; points with y <= 0 are skipped.
    pub log_y: bool,
    /// The curves, drawn in order.
    pub series: Vec<Series>,
    /// Horizontal dashed grey reference lines.
    pub levels: Vec<Level>,
    /// The legend entry of the levels (what the dashed grey lines are), if any.
    pub levels_legend: Option<String>,
    /// Fixed data range of the x axis (else the data's).
    pub x_range: Option<(f64, f64)>,
    /// Fixed data range of the y axis (else the data's, padded by 5%).
    pub y_range: Option<(f64, f64)>,
}

/// Small multiples: figures in a grid (row by row), one title, and either a legend per
/// panel or one legend shared by all (the union of their entries).
#[derive(Debug, Clone, Default)]
pub struct Panels {
    /// Title over the whole grid (wrapped to the width).
    pub title: String,
    /// The figures, laid out row by row.
    pub panels: Vec<Figure>,
    /// Figures per row (clamped to 1..=panels.len()).
    pub columns: usize,
    /// One legend at the right of the grid (the union of the entries) instead of one
    /// per panel.
    pub shared_legend: bool,
}

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| ())
            .expect("embedded DejaVu font is valid");
    });
}

impl Figure {
    /// Writes `<base>.png` and `<base>.svg` (one panel).
    pub fn save(&self, base: &Path) -> Result<()> {
        Panels {
            title: String::new(),
            panels: vec![self.clone()],
            columns: 1,
            shared_legend: false,
        }
        .save(base)
    }
}

impl Panels {
    /// Writes `<base>.png` and `<base>.svg`.
    pub fn save(&self, base: &Path) -> Result<()> {
        register_font();
        let png = base.with_extension("png");
        let svg = base.with_extension("svg");
        let fail = |p: &Path, e: String| Error::output(p, std::io::Error::other(e));
        let size = draw::size(self);
        {
            let root = BitMapBackend::new(&png, size).into_drawing_area();
            draw::panels(self, &root).map_err(|e| fail(&png, e))?;
            root.present().map_err(|e| fail(&png, e.to_string()))?;
        }
        {
            let root = SVGBackend::new(&svg, size).into_drawing_area();
            draw::panels(self, &root).map_err(|e| fail(&svg, e))?;
            root.present().map_err(|e| fail(&svg, e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize, f: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
        (1..=n).map(|i| (i as f64, f(i as f64))).collect()
    }

    #[test]
    fn every_style_and_layout_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let fig = Figure {
            title: "styles".into(),
            x_label: "t".into(),
            y_label: "y".into(),
            log_x: true,
            series: vec![
                Series::new("line", line(50, |t| 1.0 / t)),
                Series::new("dashed", line(50, |t| 2.0 / t)).dashed(),
                Series::new("", line(50, |t| 0.5 / t)).markers(),
            ],
            levels: vec![Level::new(0.0, "{1,3}")],
            levels_legend: Some("plateau levels".into()),
            ..Default::default()
        };
        fig.save(&dir.path().join("one")).unwrap();
        let mut log_y = fig.clone();
        log_y.log_y = true;
        log_y.levels.clear();
        Panels {
            title: "panels".into(),
            panels: vec![fig, log_y],
            columns: 2,
            shared_legend: true,
        }
        .save(&dir.path().join("two"))
        .unwrap();
        for f in ["one.png", "one.svg", "two.png", "two.svg"] {
            let len = std::fs::metadata(dir.path().join(f)).unwrap().len();
            assert!(len > 1000, "{f}: {len} bytes");
        }
    }

    #[test]
    fn empty_and_degenerate_figures_still_draw() {
        let dir = tempfile::tempdir().unwrap();
        Figure::default().save(&dir.path().join("empty")).unwrap();
        Figure {
            log_y: true,
            series: vec![Series::new("flat", vec![(0.0, 1.0), (1.0, 1.0)])],
            ..Default::default()
        }
        .save(&dir.path().join("flat"))
        .unwrap();
        assert!(dir.path().join("flat.png").exists());
    }

    #[test]
    fn shades_run_from_dark_to_light() {
        let b = palette(0);
        let (d, l) = (shade(b, 0, 4), shade(b, 3, 4));
        let sum = |c: Rgb| c.0 as u32 + c.1 as u32 + c.2 as u32;
        assert!(sum(d) < sum(b) && sum(b) < sum(l));
    }
}
