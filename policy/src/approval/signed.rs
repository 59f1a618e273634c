//! Signing a statement, and reading and writing approval files.

use std::io::{ErrorKind, Write};

use crate::safe_dir::SafeDir;
use std::path::Path;

use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};

use super::error::ApprovalError;
use super::statement::ApprovalStatement;

/// Approval files larger than this are refused unread.
pub const MAX_APPROVAL_FILE_BYTES: u64 = 64 * 1024;

/// A statement with its Ed25519 signature (over
/// [`ApprovalStatement::canonical_bytes`]) and the signer's public key, both
/// lowercase hex. Trust comes from the [`super::TrustStore`], never from
/// the embedded key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedApproval {
    /// What was approved.
    pub statement: ApprovalStatement,
    /// 128 hex characters: the Ed25519 signature.
    pub signature: String,
    /// 64 hex characters: the signer's public key.
    pub public_key: String,
}

/// Signs a statement. `statement.key_id` should be the id of `key`'s public
/// key; otherwise [`super::verify`] refuses the result as malformed.
pub fn sign(statement: ApprovalStatement, key: &SigningKey) -> SignedApproval {
    let signature = key.sign(&statement.canonical_bytes());
    SignedApproval {
        statement,
        signature: hex::encode(signature.to_bytes()),
        public_key: hex::encode(key.verifying_key().as_bytes()),
    }
}

impl SignedApproval {
    /// The approval file text: pretty JSON ending in a newline.
    pub fn to_json(&self) -> String {
        // Serializing strings, numbers and a unit enum cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parses approval file text (shape only; see [`super::verify`]).
    pub fn from_json(text: &str) -> Result<Self, ApprovalError> {
        serde_json::from_str(text)
            .map_err(|e| ApprovalError::malformed(format!("not an approval file: {e}")))
    }
}

/// [`load_approval_in`] for a file named by its path (the folder holding
/// it is opened by path, the file itself never through a symlink).
pub fn load_approval(path: &Path) -> Result<SignedApproval, ApprovalError> {
    let (dir, name) = SafeDir::open_parent(path)
        .map_err(|e| ApprovalError::malformed(format!("cannot read {}: {e}", path.display())))?;
    load_approval_in(&dir, &name)
}

/// [`save_approval_in`] for a file named by its path.
pub fn save_approval(path: &Path, approval: &SignedApproval) -> std::io::Result<()> {
    let (dir, name) = SafeDir::open_parent(path)?;
    save_approval_in(&dir, &name, approval)
}

/// Reads the approval file `relative` of KB folder `dir`:
/// [`ApprovalError::Missing`] when there is no file,
/// [`ApprovalError::Malformed`] when it cannot be read or parsed.
pub fn load_approval_in(dir: &SafeDir, relative: &str) -> Result<SignedApproval, ApprovalError> {
    let bytes = read_kb_file(dir, relative, MAX_APPROVAL_FILE_BYTES)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        ApprovalError::malformed(format!("{} is not UTF-8", dir.shown(relative).display()))
    })?;
    SignedApproval::from_json(&text)
}

/// Read `relative` of `dir` (bounded, no symlink): `Missing` when there is
/// no file, `Malformed` when it cannot be read.
pub(crate) fn read_kb_file(
    dir: &SafeDir,
    relative: &str,
    max: u64,
) -> Result<Vec<u8>, ApprovalError> {
    dir.read_regular(relative, max).map_err(|e| {
        let path = dir.shown(relative);
        if e.kind() == ErrorKind::NotFound {
            ApprovalError::Missing { path }
        } else {
            ApprovalError::malformed(format!("cannot read {}: {e}", path.display()))
        }
    })
}

/// Writes the approval file `relative` of `dir` (never overwriting one), fsynced.
pub fn save_approval_in(
    dir: &SafeDir,
    relative: &str,
    approval: &SignedApproval,
) -> std::io::Result<()> {
    let mut file = dir.create_new_mode(relative, 0o644)?;
    file.write_all(approval.to_json().as_bytes())?;
    file.sync_all()
}
