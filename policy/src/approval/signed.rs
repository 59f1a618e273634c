//! Signing a statement, and reading and writing approval files.

use std::io::{ErrorKind, Read, Write};
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

/// Reads an approval file: [`ApprovalError::Missing`] when there is no
/// file, [`ApprovalError::Malformed`] when it cannot be read or parsed.
pub fn load_approval(path: &Path) -> Result<SignedApproval, ApprovalError> {
    let file = match crate::safe_fs::open_regular(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(ApprovalError::Missing {
                path: path.to_owned(),
            });
        }
        Err(e) => {
            return Err(ApprovalError::malformed(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_APPROVAL_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ApprovalError::malformed(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_APPROVAL_FILE_BYTES {
        return Err(ApprovalError::malformed(format!(
            "{} is larger than {MAX_APPROVAL_FILE_BYTES} bytes",
            path.display()
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| ApprovalError::malformed(format!("{} is not UTF-8", path.display())))?;
    SignedApproval::from_json(&text)
}

/// Writes an approval file (never overwriting one), fsynced.
pub fn save_approval(path: &Path, approval: &SignedApproval) -> std::io::Result<()> {
    let mut file = crate::safe_fs::create_new(path)?;
    file.write_all(approval.to_json().as_bytes())?;
    file.sync_all()
}
