//! A durable ledger of consumed approvals in an append-only JSON-lines file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ApprovalError;
use super::ledger::{ConsumedIds, ConsumedLedger};
use super::statement::{Gate, is_lower_hex};
use super::verified::VerifiedApproval;

/// Consumed approvals, one JSON object per line, appended and fsynced:
///
/// `{"approval_id":"<32 hex>","review_decision_id":"<32 hex>","run_id":"…","gate":"sg1","evidence_digest":"<64 hex>","key_id":"<16 hex>","issued_at":…,"expires_at":…}`
///
/// Opening reads every line; any unparsable line, a last line without its
/// newline (a torn write) or a duplicated approval id is an
/// [`ApprovalError::Ledger`] error — the ledger fails closed and is never
/// silently repaired. [`ConsumedLedger::consume`] takes an exclusive lock
/// on the file, re-reads it (so several processes sharing the file cannot
/// consume the same approval twice), checks, appends and fsyncs.
/// `is_consumed` and `review_decision_seen` answer from what was read at
/// open or at the last consume.
#[derive(Debug)]
pub struct FileLedger {
    path: PathBuf,
    file: File,
    ids: ConsumedIds,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerRecord {
    approval_id: String,
    review_decision_id: String,
    run_id: String,
    gate: Gate,
    evidence_digest: String,
    key_id: String,
    issued_at: u64,
    expires_at: u64,
}

/// Holds an exclusive lock on the ledger file until dropped.
struct LockGuard<'a>(&'a File);

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // Closing the file releases the lock too; nothing to do on failure.
        let _ = self.0.unlock();
    }
}

impl FileLedger {
    /// Opens (creating if absent) the ledger file and reads every record.
    pub fn open(path: &Path) -> Result<Self, ApprovalError> {
        let io = |what: &str, e: std::io::Error| {
            ApprovalError::ledger(format!("{}: {what}: {e}", path.display()))
        };
        let existed = path.exists();
        // Never through a symlink, and only a regular file (a FIFO here
        // would hang every approval): the KB may be writable by others.
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| io("cannot open (a symlink is refused)", e))?;
        if !file.metadata().map_err(|e| io("cannot stat", e))?.is_file() {
            return Err(ApprovalError::ledger(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        if !existed {
            sync_parent_dir(path).map_err(|e| io("cannot sync its directory", e))?;
        }
        let mut ledger = Self {
            path: path.to_owned(),
            file,
            ids: ConsumedIds::default(),
        };
        let ids = {
            let _guard = ledger.lock()?;
            ledger.read_all()?
        };
        ledger.ids = ids;
        Ok(ledger)
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of consumed approvals known.
    pub fn len(&self) -> usize {
        self.ids.approvals.len()
    }

    /// True when no approval was consumed.
    pub fn is_empty(&self) -> bool {
        self.ids.approvals.is_empty()
    }

    fn lock(&self) -> Result<LockGuard<'_>, ApprovalError> {
        self.file.lock().map_err(|e| {
            ApprovalError::ledger(format!("{}: cannot lock: {e}", self.path.display()))
        })?;
        Ok(LockGuard(&self.file))
    }

    fn read_all(&self) -> Result<ConsumedIds, ApprovalError> {
        let mut text = String::new();
        let mut reader = &self.file;
        reader
            .seek(SeekFrom::Start(0))
            .and_then(|_| reader.read_to_string(&mut text))
            .map_err(|e| {
                ApprovalError::ledger(format!("{}: cannot read: {e}", self.path.display()))
            })?;
        parse_records(&text).map_err(|detail| {
            ApprovalError::ledger(format!("{} is corrupt: {detail}", self.path.display()))
        })
    }
}

/// Parses the whole ledger text into the consumed id sets.
fn parse_records(text: &str) -> Result<ConsumedIds, String> {
    let mut ids = ConsumedIds::default();
    if text.is_empty() {
        return Ok(ids);
    }
    let Some(body) = text.strip_suffix('\n') else {
        let last = text.split('\n').count();
        return Err(format!("line {last} is incomplete (no newline)"));
    };
    for (index, line) in body.split('\n').enumerate() {
        let number = index + 1;
        let record: LedgerRecord =
            serde_json::from_str(line).map_err(|e| format!("line {number}: {e}"))?;
        if !is_lower_hex(&record.approval_id, 32) || !is_lower_hex(&record.review_decision_id, 32) {
            return Err(format!("line {number}: ids must be 32 lowercase hex"));
        }
        if !ids.insert(&record.approval_id, &record.review_decision_id) {
            return Err(format!(
                "line {number}: approval {} is recorded twice",
                record.approval_id
            ));
        }
    }
    Ok(ids)
}

impl ConsumedLedger for FileLedger {
    fn is_consumed(&self, approval_id: &str) -> Result<bool, ApprovalError> {
        Ok(self.ids.approvals.contains(approval_id))
    }

    fn review_decision_seen(&self, review_decision_id: &str) -> Result<bool, ApprovalError> {
        Ok(self.ids.reviews.contains(review_decision_id))
    }

    fn consume(&mut self, approval: &VerifiedApproval) -> Result<(), ApprovalError> {
        let guard = self.lock()?;
        let current = self.read_all()?;
        current.check_consumable(approval)?;
        let statement = approval.statement();
        let record = LedgerRecord {
            approval_id: statement.approval_id.clone(),
            review_decision_id: statement.review_decision_id.clone(),
            run_id: statement.run_id.clone(),
            gate: statement.gate.clone(),
            evidence_digest: statement.evidence_digest.clone(),
            key_id: statement.key_id.clone(),
            issued_at: statement.issued_at,
            expires_at: statement.expires_at,
        };
        let mut line = serde_json::to_string(&record)
            .map_err(|e| ApprovalError::ledger(format!("cannot encode record: {e}")))?;
        line.push('\n');
        let mut writer = &self.file;
        writer
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| {
                ApprovalError::ledger(format!("{}: cannot append: {e}", self.path.display()))
            })?;
        drop(guard);
        self.ids = current;
        self.ids
            .insert(&statement.approval_id, &statement.review_decision_id);
        Ok(())
    }
}

/// Makes a newly created file's directory entry durable (unix).
fn sync_parent_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_empty_and_refuses_torn_blank_and_duplicate_lines() {
        assert!(parse_records("").unwrap().approvals.is_empty());
        let line = |a: &str| {
            format!(
                "{{\"approval_id\":\"{a}\",\"review_decision_id\":\"{}\",\"run_id\":\"r\",\"gate\":\"sg1\",\"evidence_digest\":\"{}\",\"key_id\":\"0123456789abcdef\",\"issued_at\":1,\"expires_at\":2}}\n",
                "11".repeat(16),
                "ab".repeat(32)
            )
        };
        let a = line(&"aa".repeat(16));
        let b = line(&"bb".repeat(16));
        assert_eq!(
            parse_records(&format!("{a}{b}")).unwrap().approvals.len(),
            2
        );
        let torn = format!("{a}{}", &b[..b.len() - 1]);
        assert!(parse_records(&torn).unwrap_err().contains("line 2"));
        assert!(parse_records(&format!("{a}\n{b}")).is_err());
        assert!(
            parse_records(&format!("{a}{a}"))
                .unwrap_err()
                .contains("twice")
        );
        let bad_id = line("not-hex");
        assert!(parse_records(&bad_id).is_err());
        let unknown = a.replace("\"run_id\"", "\"extra\":0,\"run_id\"");
        assert!(parse_records(&unknown).is_err());
    }
}
