//! A progress bar over the run's time axis, on stderr (hidden when quiet or when
//! stderr is not a terminal).

use super::{Metrics, Observer};
use crate::error::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar over [0, t_end] on stderr, hidden when quiet or not a terminal.
pub struct Progress {
    bar: ProgressBar,
    t_end: f64,
}

impl Progress {
    /// A bar over [0, t_end], hidden when `quiet`.
    pub fn new(quiet: bool, t_end: f64) -> Self {
        let template = "{bar:40} t = {msg} [{elapsed_precise} < {eta}]";
        Progress {
            bar: stderr_bar(1000, template, quiet),
            t_end,
        }
    }
}

impl Observer for Progress {
    fn observe(&mut self, m: &Metrics) -> Result<()> {
        let t = m.t();
        self.bar
            .set_position((1000.0 * t / self.t_end).round() as u64);
        self.bar.set_message(format!("{t:.4}"));
        Ok(())
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// A bar of `len` steps on stderr in the indicatif `template`, hidden when `quiet` or
/// when stderr is not a terminal.
pub(crate) fn stderr_bar(len: u64, template: &str, quiet: bool) -> ProgressBar {
    use std::io::IsTerminal;
    let bar = ProgressBar::new(len);
    if quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    } else {
        bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    }
    bar
}
