//! The progress line for people: a bar on a terminal (redrawn in place),
//! one line per step otherwise, always on stderr.

use std::io::{IsTerminal, Write};

/// `[#####     ] done/total`.
pub(super) fn bar(done: u64, total: u64) -> String {
    const WIDTH: u64 = 30;
    let filled = (done.min(total) * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH);
    format!(
        "[{}{}] {done}/{total}",
        "#".repeat(filled as usize),
        " ".repeat((WIDTH - filled) as usize)
    )
}

/// Draw `bar(done, total)` with `label` on stderr.
pub(super) fn show(done: u64, total: u64, label: &str) {
    let mut err = std::io::stderr().lock();
    if std::io::stderr().is_terminal() {
        let _ = write!(err, "\r{} {label:<50.50}", bar(done, total));
        if done >= total {
            let _ = writeln!(err);
        }
    } else {
        let _ = writeln!(err, "{} {label}", bar(done, total));
    }
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn the_bar_fills_in_proportion() {
        assert_eq!(bar(0, 4), format!("[{}] 0/4", " ".repeat(30)));
        assert_eq!(
            bar(2, 4),
            format!("[{}{}] 2/4", "#".repeat(15), " ".repeat(15))
        );
        assert_eq!(bar(4, 4), format!("[{}] 4/4", "#".repeat(30)));
        assert_eq!(bar(0, 0), format!("[{}] 0/0", "#".repeat(30)));
    }
}
