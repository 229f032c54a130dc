//! A progress bar on stderr for work that takes more than a moment, ticking on its own, with
//! the unit of its steps and an estimate of the time left; indicatif hides it when
//! stderr is not a terminal, so scripts and pipes see nothing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress over a known number of samples.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar of `total` steps, each one `unit` (hidden when `quiet` or when stderr is not a
    /// terminal). It ticks on its own, so a long sample does not look like a hang.
    pub fn new(total: u64, unit: &str, quiet: bool) -> Progress {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let template = format!(
            "{{spinner}} {{msg:<28}} [{{bar:30}}] {{pos}}/{{len}} {unit}, {{elapsed}} (about {{eta}} left)"
        );
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        if !quiet {
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
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
