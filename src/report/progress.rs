//! A progress bar on stderr for work that takes more than a moment; indicatif hides it when
//! stderr is not a terminal, so scripts and pipes see nothing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress over a known number of samples.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar of `total` steps (hidden when `quiet` or when stderr is not a terminal).
    pub fn new(total: u64, quiet: bool) -> Progress {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {msg:<28} [{bar:30}] {pos}/{len} samples, {elapsed}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar }
    }

    /// Names what is running now.
    pub fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }

    /// One more step done.
    pub fn step(&self) {
        self.bar.inc(1);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
