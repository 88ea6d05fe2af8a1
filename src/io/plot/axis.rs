//! Tick positions and labels. Linear axes get ticks at multiples of a 1-2-5 step,
//! labelled with the decimals the step needs (a tick within rounding of 0 reads "0").
//! Log axes (plotted as log10 of the data) get ticks at 1, 1-3 or 1-2-5 times the
//! powers of ten, labelled plainly ("0.3", "1", "30"; "1e-8" far from 1).

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use std::ops::Range;

/// The ticks of one axis in plotted coordinates (log10 of the data on log axes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ticks {
    /// Labelled positions.
    pub(crate) major: Vec<f64>,
    /// The label of each major position.
    pub(crate) labels: Vec<String>,
    /// Unlabelled grid lines (2..9 times the powers of ten on log axes).
    pub(crate) minor: Vec<f64>,
}

impl Ticks {
    /// The label of the major tick nearest to `v`.
    pub(crate) fn label_of(&self, v: f64) -> String {
        self.major
            .iter()
            .zip(&self.labels)
            .min_by(|a, b| (a.0 - v).abs().total_cmp(&(b.0 - v).abs()))
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }
}

/// A linear plotters axis over lo..hi with the given ticks (bold lines at the major
/// ticks, light ones at the minor).
pub(crate) struct Axis {
    lo: f64,
    hi: f64,
    major: Vec<f64>,
    minor: Vec<f64>,
}

impl Axis {
    pub(crate) fn new(lo: f64, hi: f64, t: &Ticks) -> Self {
        Axis {
            lo,
            hi,
            major: t.major.clone(),
            minor: t.minor.clone(),
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let f = if self.hi > self.lo {
            (v - self.lo) / (self.hi - self.lo)
        } else {
            0.5
        };
        let px = limit.0 as f64 + f * (limit.1 - limit.0) as f64;
        px.round().clamp(-1e7, 1e7) as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// The ticks of the plotted range lo..hi.
pub(crate) fn ticks(lo: f64, hi: f64, log: bool) -> Ticks {
    if log {
        log_ticks(lo, hi)
    } else {
        linear_ticks(lo, hi)
    }
}

/// The smallest 1-2-5 step that cuts `span` into at most `target` intervals.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = span / target;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag)
}

fn linear_ticks(lo: f64, hi: f64) -> Ticks {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return Ticks {
            major: vec![lo],
            labels: vec![linear_label(lo, lo.abs().max(1.0), lo.abs())],
            minor: vec![],
        };
    }
    let step = nice_step(span, 8.0);
    let (k0, k1) = (
        (lo / step - 1e-9).ceil() as i64,
        (hi / step + 1e-9).floor() as i64,
    );
    let major: Vec<f64> = (k0..=k1).map(|k| k as f64 * step).collect();
    let max_abs = major.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let labels = major
        .iter()
        .map(|&v| linear_label(v, step, max_abs))
        .collect();
    Ticks {
        major,
        labels,
        minor: vec![],
    }
}

/// The label of `v` on a linear axis with tick spacing `step` whose largest tick is
/// `max_abs`: "0" within 1e-6 steps of 0; fixed decimals as the step needs; scientific
/// ("2e6", "1.5e-5") when the ticks are at least 1e5 or all below 1e-3.
pub(crate) fn linear_label(v: f64, step: f64, max_abs: f64) -> String {
    if v.abs() <= step.abs() * 1e-6 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&max_abs) {
        let digits = (max_abs.log10().floor() - (step.log10() + 1e-9).floor()).clamp(0.0, 6.0);
        let s = format!("{v:.*e}", digits as usize);
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        return format!("{mantissa}e{exp}");
    }
    let decimals = (-(step.log10() + 1e-9).floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// The label of m 10^e: plain decimals ("0.03", "300") or, when `plain` is false,
/// "me<e>" ("3e-8"); "m" for e = 0 either way.
fn power_label(m: u32, e: i32, plain: bool) -> String {
    match e {
        0 => m.to_string(),
        1..=9 if plain => (m as u64 * 10u64.pow(e as u32)).to_string(),
        _ if plain => format!("{:.*}", (-e) as usize, m as f64 * 10f64.powi(e)),
        _ => format!("{m}e{e}"),
    }
}

fn log_ticks(lo: f64, hi: f64) -> Ticks {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return linear_ticks(lo, hi);
    }
    let mantissas: &[u32] = if span > 4.5 {
        &[1]
    } else if span > 2.2 {
        &[1, 3]
    } else if span > 0.9 {
        &[1, 2, 5]
    } else {
        &[1, 2, 3, 4, 5, 6, 7, 8, 9]
    };
    // Every `every`-th decade on very wide axes.
    let every = if span > 9.0 {
        (span / 7.0).ceil() as i32
    } else {
        1
    };
    let inside = |v: f64| v >= lo - 1e-9 && v <= hi + 1e-9;
    let (e0, e1) = (lo.floor() as i32, hi.ceil() as i32);
    let (mut major, mut powers, mut minor) = (Vec::new(), Vec::new(), Vec::new());
    for e in e0..=e1 {
        for m in 1..=9u32 {
            let v = (m as f64).log10() + e as f64;
            if !inside(v) {
                continue;
            }
            if mantissas.contains(&m) && e.rem_euclid(every) == 0 {
                major.push(v);
                powers.push((m, e));
            } else if span <= 6.0 {
                minor.push(v);
            }
        }
    }
    if major.len() < 3 && span < 1.0 {
        // Less than a decade: linear ticks on the data, placed at their log10.
        let lin = linear_ticks(10f64.powf(lo), 10f64.powf(hi));
        let keep: Vec<usize> = (0..lin.major.len())
            .filter(|&i| lin.major[i] > 0.0)
            .collect();
        return Ticks {
            major: keep.iter().map(|&i| lin.major[i].log10()).collect(),
            labels: keep.iter().map(|&i| lin.labels[i].clone()).collect(),
            minor: vec![],
        };
    }
    // Plain labels when every tick is between 0.001 and 1e4, exponents otherwise.
    let plain = powers.iter().all(|&(_, e)| (-3..=4).contains(&e));
    Ticks {
        major,
        labels: powers
            .iter()
            .map(|&(m, e)| power_label(m, e, plain))
            .collect(),
        minor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(lo: f64, hi: f64, log: bool) -> Vec<String> {
        ticks(lo, hi, log).labels
    }

    #[test]
    fn zero_reads_zero() {
        assert_eq!(linear_label(-1.11e-16, 0.2, 0.8), "0");
        assert_eq!(linear_label(2.2e-17, 0.05, 0.3), "0");
        let l = labels(-0.7, 0.85, false);
        assert!(l.contains(&"0".to_string()), "{l:?}");
        assert!(l.iter().all(|s| !s.contains('e')), "{l:?}");
        assert_eq!(
            labels(-0.6, 0.8, false),
            ["-0.6", "-0.4", "-0.2", "0", "0.2", "0.4", "0.6", "0.8"]
        );
    }

    #[test]
    fn linear_labels_use_the_decimals_of_the_step() {
        assert_eq!(labels(1.2, 5.4, false), ["2", "3", "4", "5"]);
        assert_eq!(
            labels(0.0, 0.3, false),
            ["0", "0.05", "0.10", "0.15", "0.20", "0.25", "0.30"]
        );
        assert_eq!(
            labels(0.0, 3e6, false),
            ["0", "5e5", "1e6", "1.5e6", "2e6", "2.5e6", "3e6"]
        );
        assert_eq!(labels(-2e-4, 4e-4, false)[..3], ["-2e-4", "-1e-4", "0"]);
    }

    #[test]
    fn log_axes_are_labelled_plainly() {
        // 0.01 .. 30 (3.5 decades): 1-3 decades.
        let l = labels(-2.0, 30f64.log10(), true);
        assert_eq!(l, ["0.01", "0.03", "0.1", "0.3", "1", "3", "10", "30"]);
        // 0.1 .. 3: 1-2-5.
        assert_eq!(
            labels(-1.0, 3f64.log10(), true),
            ["0.1", "0.2", "0.5", "1", "2"]
        );
        // 1e-10 .. 1e-2: decades, far from 1 in exponent form.
        let l = labels(-10.0, -2.0, true);
        assert_eq!(
            l,
            [
                "1e-10", "1e-9", "1e-8", "1e-7", "1e-6", "1e-5", "1e-4", "1e-3", "1e-2"
            ]
        );
        // 1e-7 .. 1: exponents, but 1 reads "1".
        let l = labels(-7.0, 0.0, true);
        assert_eq!(l.first().map(String::as_str), Some("1e-7"));
        assert_eq!(l.last().map(String::as_str), Some("1"));
        // Very wide: every other decade at most 8 labels.
        assert!(labels(-12.0, 3.0, true).len() <= 8);
        assert!(labels(0.0, 1.0, true).iter().all(|s| !s.contains("3.16")));
    }

    #[test]
    fn log_ticks_sit_on_the_values_they_name() {
        let t = ticks(-1.0, 1.0, true);
        for (v, l) in t.major.iter().zip(&t.labels) {
            let x: f64 = l.parse().unwrap();
            assert!((10f64.powf(*v) - x).abs() < 1e-12 * x, "{l} at {v}");
        }
        // Less than a decade falls back to linear ticks on the data.
        let t = ticks(2f64.log10(), 4f64.log10(), true);
        assert!(t.labels.len() >= 3, "{:?}", t.labels);
    }
}
