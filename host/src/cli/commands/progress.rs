//! The progress bar for people: drawn in place on stderr by `indicatif`,
//! and only when stderr is a terminal (otherwise it draws nothing; machines
//! read the JSON lines on stdout).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicBool, Ordering};

/// `[#####     ] done/total label`, on stderr.
pub(super) struct Progress {
    bar: ProgressBar,
    shown: AtomicBool,
}

impl Progress {
    /// A bar of `total` steps (the total may change as it goes).
    pub(super) fn new(total: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg:50!}")
                .expect("a valid progress template")
                .progress_chars("## "),
        );
        Self {
            bar,
            shown: AtomicBool::new(false),
        }
    }

    /// Show `done` of `total` steps, with `label` (cut to 50 characters).
    pub(super) fn show(&self, done: u64, total: u64, label: &str) {
        self.bar.set_length(total);
        self.bar.set_position(done);
        self.bar.set_message(label.to_string());
        self.shown.store(true, Ordering::Relaxed);
    }

    /// Print to stdout (through `print`) with the bar cleared while it does,
    /// so the two do not mix on one terminal.
    pub(super) fn suspend(&self, print: impl FnOnce()) {
        self.bar.suspend(print);
    }

    /// Leave the bar as it is and the cursor on the next line (or draw
    /// nothing when there was no step).
    pub(super) fn finish(&self) {
        if self.shown.load(Ordering::Relaxed) {
            self.bar.finish();
        } else {
            self.bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Progress;

    #[test]
    fn the_template_parses_and_the_bar_takes_steps() {
        let bar = Progress::new(2);
        bar.show(1, 2, "first");
        bar.show(2, 3, "a label longer than fifty characters is cut to fifty");
        bar.suspend(|| {});
        bar.finish();
    }
}
