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
        use std::io::IsTerminal;
        let bar = ProgressBar::new(1000);
        if quiet || !std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        } else {
            bar.set_style(
                ProgressStyle::with_template("{bar:40} t = {msg} [{elapsed_precise} < {eta}]")
                    .expect("valid template"),
            );
        }
        Progress { bar, t_end }
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
