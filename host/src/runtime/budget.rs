//! What a plugin may make the host do for it in one run, beyond its own
//! memory and deadline: bytes per argument, per call and per run, rows per
//! call, log lines and log bytes, evidence bytes (the plan's `limits`).
//!
//! Every capability call is charged before the host does any work for it
//! (parsing, scanning, hashing, storing), so that work is bounded by the
//! budget; and since the epoch deadline keeps running during host calls,
//! the host work done inside them counts against the plugin's deadline.

use crate::plan::Limits;
use std::fmt;

/// A limit a plugin exceeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    /// The plan key (`max_arg_bytes`, …).
    pub limit: &'static str,
    /// What the plugin asked for.
    pub wanted: u64,
    /// What the plan allows.
    pub allowed: u64,
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "limits.{} is {} and the plugin needed {}",
            self.limit, self.allowed, self.wanted
        )
    }
}

fn within(limit: &'static str, wanted: u64, allowed: u64) -> Result<(), Exceeded> {
    if wanted > allowed {
        Err(Exceeded {
            limit,
            wanted,
            allowed,
        })
    } else {
        Ok(())
    }
}

/// The running totals of one plugin run against its limits.
#[derive(Debug, Clone)]
pub struct Budget {
    limits: Limits,
    phase_bytes: u64,
    log_lines: u64,
    log_bytes: u64,
}

impl Budget {
    /// A fresh budget under `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            phase_bytes: 0,
            log_lines: 0,
            log_bytes: 0,
        }
    }

    /// Charge one call whose arguments are `args` bytes long and carry
    /// `rows` rows.
    pub fn charge_call(&mut self, args: &[usize], rows: usize) -> Result<(), Exceeded> {
        let l = &self.limits;
        let mut total = 0u64;
        for &len in args {
            within("max_arg_bytes", len as u64, l.max_arg_bytes)?;
            total = total.saturating_add(len as u64);
        }
        within("max_call_bytes", total, l.max_call_bytes)?;
        within("max_call_rows", rows as u64, l.max_call_rows)?;
        let phase = self.phase_bytes.saturating_add(total);
        within("max_phase_bytes", phase, l.max_phase_bytes)?;
        self.phase_bytes = phase;
        Ok(())
    }

    /// Charge one kept log line of `bytes` bytes.
    pub fn charge_log(&mut self, bytes: usize) -> Result<(), Exceeded> {
        let lines = self.log_lines + 1;
        let total = self.log_bytes.saturating_add(bytes as u64);
        within("max_log_lines", lines, self.limits.max_log_lines)?;
        within("max_log_bytes", total, self.limits.max_log_bytes)?;
        self.log_lines = lines;
        self.log_bytes = total;
        Ok(())
    }
}

/// Check evidence (or a gate's detail) of `bytes` bytes against `limits`.
pub fn check_evidence(limits: &Limits, bytes: usize) -> Result<(), Exceeded> {
    within(
        "max_evidence_bytes",
        bytes as u64,
        limits.max_evidence_bytes,
    )
}

/// Cut `text` to at most `max` bytes on a character boundary.
pub fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits {
            max_arg_bytes: 10,
            max_call_bytes: 15,
            max_call_rows: 2,
            max_phase_bytes: 20,
            max_log_lines: 2,
            max_log_bytes: 8,
            ..Limits::default()
        }
    }

    #[test]
    fn every_limit_refuses_one_past_it() {
        let mut b = Budget::new(small());
        assert_eq!(b.charge_call(&[11], 0).unwrap_err().limit, "max_arg_bytes");
        assert_eq!(
            b.charge_call(&[8, 8], 0).unwrap_err().limit,
            "max_call_bytes"
        );
        assert_eq!(b.charge_call(&[1], 3).unwrap_err().limit, "max_call_rows");
        b.charge_call(&[10], 2).unwrap();
        b.charge_call(&[10], 0).unwrap();
        assert_eq!(b.charge_call(&[1], 0).unwrap_err().limit, "max_phase_bytes");
        b.charge_log(4).unwrap();
        assert_eq!(b.charge_log(5).unwrap_err().limit, "max_log_bytes");
        b.charge_log(4).unwrap();
        assert_eq!(b.charge_log(0).unwrap_err().limit, "max_log_lines");
    }

    #[test]
    fn cuts_on_a_character_boundary() {
        assert_eq!(cut("Điều", 2), "Đ");
        assert_eq!(cut("abc", 10), "abc");
    }
}
