//! Drawing [`Panels`] and [`Figure`]s on a plotters drawing area.

use super::axis::{self, Axis};
use super::{Figure, Panels, Rgb, Style, palette};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

type Res = std::result::Result<(), String>;
/// A drawing-area result of backend `DB`.
type AreaResult<T, DB> =
    std::result::Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

const LEGEND_FONT: u32 = 14;
const LEGEND_ROW: i32 = 20;
const LEVEL_GREY: Rgb = Rgb(110, 110, 110);

/// One legend entry: a sample of the line style and the label.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    label: String,
    style: Style,
    color: Rgb,
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

fn text_width(text: &str, size: u32) -> u32 {
    ("sans-serif", size)
        .into_font()
        .box_size(text)
        .map(|b| b.0)
        .unwrap_or(8 * text.len() as u32)
}

/// The legend entries of a figure: labelled series (first of each label), then the
/// levels' entry.
fn entries(fig: &Figure) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for (i, s) in fig.series.iter().enumerate() {
        if !s.label.is_empty() && !out.iter().any(|e| e.label == s.label) {
            out.push(Entry {
                label: s.label.clone(),
                style: s.style,
                color: s.color.unwrap_or(palette(i)),
            });
        }
    }
    if let (Some(l), false) = (&fig.levels_legend, fig.levels.is_empty()) {
        out.push(Entry {
            label: l.clone(),
            style: Style::Dashed,
            color: LEVEL_GREY,
        });
    }
    out
}

fn legend_width(entries: &[Entry]) -> u32 {
    entries
        .iter()
        .map(|e| text_width(&e.label, LEGEND_FONT) + 60)
        .max()
        .map_or(0, |w| w.min(420))
}

fn shared_entries(p: &Panels) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for e in p.panels.iter().flat_map(entries) {
        if !out.iter().any(|o| o.label == e.label) {
            out.push(e);
        }
    }
    out
}

fn grid(p: &Panels) -> (usize, usize) {
    let cols = p.columns.clamp(1, p.panels.len().max(1));
    (p.panels.len().div_ceil(cols).max(1), cols)
}

/// The canvas size of `p`: 960 x 600 for one panel, smaller cells for several, each
/// widened by its legend.
pub(super) fn size(p: &Panels) -> (u32, u32) {
    let (rows, cols) = grid(p);
    let own = if p.shared_legend {
        0
    } else {
        p.panels
            .iter()
            .map(|f| legend_width(&entries(f)))
            .max()
            .unwrap_or(0)
    };
    let shared = if p.shared_legend {
        legend_width(&shared_entries(p))
    } else {
        0
    };
    let (w, h) = match (p.panels.len(), cols) {
        (0 | 1, _) => (960, 600),
        (_, 1) => (960, 340),
        _ => (620, 380),
    };
    let width = cols as u32 * (w + own) + shared;
    let title = title_height(&wrap(&p.title, 22, width), 22);
    (width, rows as u32 * h + title as u32)
}

/// `text` cut into lines at spaces, each at most `width` pixels wide in `size`.
fn wrap(text: &str, size: u32, width: u32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(l) if text_width(&format!("{l} {word}"), size) <= width => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

fn title_height(lines: &[String], size: u32) -> i32 {
    if lines.is_empty() {
        0
    } else {
        8 + lines.len() as i32 * (size as i32 * 13 / 10)
    }
}

/// Draws `text` centred at the top of `area`, wrapped to its width; returns the area
/// below it and the title's height.
fn title<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: u32,
) -> AreaResult<(DrawingArea<DB, Shift>, i32), DB> {
    let (w, _) = area.dim_in_pixel();
    let lines = wrap(text, size, w.saturating_sub(24));
    if lines.is_empty() {
        return Ok((area.clone(), 0));
    }
    let style = ("sans-serif", size)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (k, l) in lines.iter().enumerate() {
        let y = 6 + k as i32 * (size as i32 * 13 / 10);
        area.draw_text(l, &style, (w as i32 / 2, y))?;
    }
    let h = title_height(&lines, size);
    Ok((area.split_vertically(h).1, h))
}

/// Draws the panels of `p` on `root`.
pub(super) fn panels<DB: DrawingBackend>(p: &Panels, root: &DrawingArea<DB, Shift>) -> Res {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let (area, _) = title(root, &p.title, 22).map_err(err)?;
    let single = p.panels.len() <= 1 && p.title.is_empty();
    let caption = if single { 22 } else { 16 };
    let shared = if p.shared_legend {
        shared_entries(p)
    } else {
        Vec::new()
    };
    let (w, _) = area.dim_in_pixel();
    let (cells, legend_area) = area.split_horizontally(w.saturating_sub(legend_width(&shared)));
    let (rows, cols) = grid(p);
    for (fig, cell) in p.panels.iter().zip(cells.split_evenly((rows, cols))) {
        panel(fig, &cell, !p.shared_legend, caption)?;
    }
    let first_title = p.panels.first().is_some_and(|f| !f.title.is_empty());
    let top = 10
        + if first_title {
            title_height(&[String::new()], caption)
        } else {
            0
        };
    legend(&legend_area, &shared, top).map_err(err)
}

/// Plotted coordinates of a data point (log10 on log axes), None when not finite.
fn transform(fig: &Figure, (x, y): (f64, f64)) -> Option<(f64, f64)> {
    let x = if fig.log_x { x.log10() } else { x };
    let y = if fig.log_y { y.log10() } else { y };
    (x.is_finite() && y.is_finite()).then_some((x, y))
}

/// The plotted ranges: x over the data (padded 3% when markers are drawn) or `x_range`,
/// y over the data and the levels padded by 5%, or `y_range`.
fn ranges(fig: &Figure, lines: &[Vec<(f64, f64)>], levels: &[f64]) -> [f64; 4] {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in lines.iter().flatten() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    for &y in levels {
        (y0, y1) = (y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if y0 > y1 {
        (y0, y1) = (0.0, 1.0);
    }
    let pad = |a: f64, b: f64, f: f64| {
        let d = b - a;
        if d > 1e-12 * a.abs().max(b.abs()).max(1e-300) {
            (a - f * d, b + f * d)
        } else {
            let h = (0.05 * a.abs()).max(0.5);
            (a - h, b + h)
        }
    };
    let markers = fig.series.iter().any(|s| s.style == Style::Markers);
    let (x0, x1) = match fig.x_range {
        Some((a, b)) => (
            transform(fig, (a, 1.0)).map_or(x0, |p| p.0),
            transform(fig, (b, 1.0)).map_or(x1, |p| p.0),
        ),
        None => pad(x0, x1, if markers { 0.03 } else { 0.0 }),
    };
    let (y0, y1) = match fig.y_range {
        Some((a, b)) => (
            transform(fig, (1.0, a)).map_or(y0, |p| p.1),
            transform(fig, (1.0, b)).map_or(y1, |p| p.1),
        ),
        None => pad(y0, y1, 0.05),
    };
    [x0, x1, y0, y1]
}

/// Draws one figure in `area`, with its legend at the right when `with_legend`.
fn panel<DB: DrawingBackend>(
    fig: &Figure,
    area: &DrawingArea<DB, Shift>,
    with_legend: bool,
    caption: u32,
) -> Res {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let lines: Vec<Vec<(f64, f64)>> = fig
        .series
        .iter()
        .map(|s| s.points.iter().filter_map(|&p| transform(fig, p)).collect())
        .collect();
    let levels: Vec<(f64, &str)> = fig
        .levels
        .iter()
        .filter_map(|l| transform(fig, (1.0, l.y)).map(|p| (p.1, l.label.as_str())))
        .collect();
    let ys: Vec<f64> = levels.iter().map(|l| l.0).collect();
    let [x0, x1, y0, y1] = ranges(fig, &lines, &ys);
    let own = if with_legend {
        entries(fig)
    } else {
        Vec::new()
    };
    let (w, _) = area.dim_in_pixel();
    let (plot_area, legend_area) = area.split_horizontally(w.saturating_sub(legend_width(&own)));
    let (xt, yt) = (
        axis::ticks(x0, x1, fig.log_x),
        axis::ticks(y0, y1, fig.log_y),
    );
    let y_label_w = yt
        .labels
        .iter()
        .map(|l| text_width(l, 14))
        .chain([text_width("-0.000", 14)])
        .max()
        .unwrap_or(20);
    let (plot_area, title_h) = title(&plot_area, &fig.title, caption).map_err(err)?;
    // Level labels are written in a gutter right of the plotting area.
    let gutter = 20
        + levels
            .iter()
            .map(|l| text_width(l.1, 14) + 4)
            .max()
            .unwrap_or(0);
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(10)
        .margin_right(gutter)
        .x_label_area_size(if fig.x_label.is_empty() { 28 } else { 46 })
        .y_label_area_size(y_label_w + if fig.y_label.is_empty() { 14 } else { 38 })
        .build_cartesian_2d(Axis::new(x0, x1, &xt), Axis::new(y0, y1, &yt))
        .map_err(err)?;
    let fx = |v: &f64| xt.label_of(*v);
    let fy = |v: &f64| yt.label_of(*v);
    chart
        .configure_mesh()
        .x_desc(&fig.x_label)
        .y_desc(&fig.y_label)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .bold_line_style(BLACK.mix(0.15))
        .light_line_style(BLACK.mix(0.05))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    let grey = rgb(LEVEL_GREY);
    for &(y, label) in &levels {
        let style = ShapeStyle::from(&grey).stroke_width(1);
        let dashes = DashedLineSeries::new(vec![(x0, y), (x1, y)], 6, 4, style);
        chart.draw_series(dashes).map_err(err)?;
        if !label.is_empty() {
            let font = ("sans-serif", 14)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center));
            let text = EmptyElement::at((x1, y)) + Text::new(label.to_string(), (6, 0), font);
            chart.draw_series(std::iter::once(text)).map_err(err)?;
        }
    }
    for (i, (s, pts)) in fig.series.iter().zip(lines).enumerate() {
        let c = rgb(s.color.unwrap_or(palette(i)));
        match s.style {
            Style::Line => chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                .map(|_| ()),
            Style::Dashed => chart
                .draw_series(DashedLineSeries::new(pts, 9, 6, c.stroke_width(2)))
                .map(|_| ()),
            Style::Markers => chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled())))
                .map(|_| ()),
        }
        .map_err(err)?;
    }
    legend(&legend_area, &own, title_h + 10).map_err(err)
}

/// The legend: one row per entry from `top`, as many as fit.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    top: i32,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    if entries.is_empty() {
        return Ok(());
    }
    let (_, h) = area.dim_in_pixel();
    let fit = (((h as i32 - top - 8) / LEGEND_ROW).max(1)) as usize;
    let shown = if entries.len() > fit {
        fit - 1
    } else {
        entries.len()
    };
    let font = ("sans-serif", LEGEND_FONT)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let (xa, xb) = (6, 38);
    for (k, e) in entries.iter().take(shown).enumerate() {
        let y = top + k as i32 * LEGEND_ROW + LEGEND_ROW / 2;
        let c = rgb(e.color);
        let width = if e.color == LEVEL_GREY { 1 } else { 2 };
        match e.style {
            Style::Line => {
                area.draw(&PathElement::new(vec![(xa, y), (xb, y)], c.stroke_width(2)))?
            }
            Style::Dashed => {
                for (a, b) in [(xa, xa + 9), (xa + 14, xa + 23), (xa + 28, xb)] {
                    area.draw(&PathElement::new(
                        vec![(a, y), (b, y)],
                        c.stroke_width(width),
                    ))?;
                }
            }
            Style::Markers => area.draw(&Circle::new(((xa + xb) / 2, y), 4, c.filled()))?,
        }
        area.draw_text(&e.label, &font, (xb + 8, y))?;
    }
    if shown < entries.len() {
        let y = top + shown as i32 * LEGEND_ROW + LEGEND_ROW / 2;
        let more = format!("... and {} more", entries.len() - shown);
        area.draw_text(&more, &font, (xa, y))?;
    }
    Ok(())
}
