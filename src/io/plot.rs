//! Line plots written as PNG and SVG with plotters, pure Rust: the DejaVu Sans font
//! is embedded (no system font libraries needed). Log axes are drawn by plotting
//! log10 of the data with labels 10^v, which keeps tick labels clean.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// One line of a figure.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A named series.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points,
        }
    }
}

/// A figure: axes, lines, and optional horizontal reference lines.
#[derive(Debug, Clone, Default)]
pub struct Figure {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub series: Vec<Series>,
    /// Horizontal dashed lines (y value, label).
    pub hlines: Vec<(f64, String)>,
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
    /// Writes `<base>.png` and `<base>.svg`.
    pub fn save(&self, base: &Path) -> Result<()> {
        register_font();
        let png = base.with_extension("png");
        let svg = base.with_extension("svg");
        let fail = |p: &Path, e: String| Error::output(p, std::io::Error::other(e));
        {
            let root = BitMapBackend::new(&png, (960, 600)).into_drawing_area();
            self.draw(&root).map_err(|e| fail(&png, e))?;
            root.present().map_err(|e| fail(&png, e.to_string()))?;
        }
        {
            let root = SVGBackend::new(&svg, (960, 600)).into_drawing_area();
            self.draw(&root).map_err(|e| fail(&svg, e))?;
            root.present().map_err(|e| fail(&svg, e.to_string()))?;
        }
        Ok(())
    }

    fn transform(&self, (x, y): (f64, f64)) -> Option<(f64, f64)> {
        let x = if self.log_x { x.log10() } else { x };
        let y = if self.log_y { y.log10() } else { y };
        (x.is_finite() && y.is_finite()).then_some((x, y))
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let lines: Vec<Vec<(f64, f64)>> = self
            .series
            .iter()
            .map(|s| s.points.iter().filter_map(|&p| self.transform(p)).collect())
            .collect();
        let hl: Vec<f64> = self
            .hlines
            .iter()
            .filter_map(|(y, _)| self.transform((1.0, *y)).map(|p| p.1))
            .collect();
        let all = lines.iter().flatten();
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in all {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        for &y in &hl {
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        let pad = |a: f64, b: f64| {
            let d = (b - a).abs().max(1e-12 * a.abs().max(1.0));
            (a - 0.05 * d, b + 0.05 * d)
        };
        let (x0, x1) = if x1 > x0 { (x0, x1) } else { pad(x0, x1) };
        let (y0, y1) = pad(y0, y1);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 24))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        let fmt_x = |v: &f64| tick(*v, self.log_x);
        let fmt_y = |v: &f64| tick(*v, self.log_y);
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&fmt_x)
            .y_label_formatter(&fmt_y)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        for (i, (y, label)) in hl.iter().zip(self.hlines.iter().map(|h| &h.1)).enumerate() {
            let style = ShapeStyle::from(&BLACK.mix(0.45)).stroke_width(1);
            let dashes = DashedLineSeries::new(vec![(x0, *y), (x1, *y)], 6, 4, style);
            let s = chart.draw_series(dashes).map_err(err)?;
            if i == 0 {
                s.label(label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.45))
                });
            }
        }
        let legend = self.series.len() <= 12;
        for (i, (s, pts)) in self.series.iter().zip(lines).enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let drawn = chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(err)?;
            if legend {
                drawn.label(s.label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            }
        }
        if legend || !self.hlines.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(err)?;
        }
        Ok(())
    }
}

/// A tick label: plain for linear axes, 10^v (as 1e-3 style) for log axes.
fn tick(v: f64, log: bool) -> String {
    if log {
        let p = 10f64.powf(v);
        if (v - v.round()).abs() < 1e-9 {
            format!("1e{}", v.round() as i64)
        } else {
            format!("{p:.2e}")
        }
    } else if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        format!("{v:.2e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
