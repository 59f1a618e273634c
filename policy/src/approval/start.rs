//! Who started (or resumed) a run: a statement signed by the operator's key,
//! stored in the run folder, so the run's record names a person and
//! separation of duties can refuse that person as its approver.
//!
//! File format (`start.json`, `resumes/<n>-<key id>.json`): a [`SignedStart`]
//! as JSON, `{"statement":{…},"signature":"<128 hex>","public_key":"<64 hex>"}`.
//! The signature covers [`RunStartStatement::canonical_bytes`], a
//! length-prefixed encoding with the domain prefix [`START_DOMAIN`] — never
//! the JSON text, and never mistakable for an approval.

use crate::safe_dir::SafeDir;

use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};

use super::error::ApprovalError;
use super::keys::key_id;
use super::statement::is_lower_hex;
use super::trust::TrustStore;
use super::verify::verify_signature;

/// Domain-separation prefix of the signed encoding.
pub const START_DOMAIN: &str = "phasehost-run-start-v1";

/// Run-start files larger than this are refused unread.
const MAX_START_FILE_BYTES: u64 = 16 * 1024;

/// Whether the statement opens a run or goes on with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartKind {
    /// `phasehost run`.
    Start,
    /// `phasehost resume`.
    Resume,
}

impl StartKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Resume => "resume",
        }
    }
}

/// "I start (or resume) this run, of this plan, on this source."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunStartStatement {
    /// Start or resume.
    pub kind: StartKind,
    /// The run.
    pub run_id: String,
    /// sha256 of the plan file.
    pub plan_sha256: String,
    /// sha256 of the source's raw bytes.
    pub source_sha256: String,
    /// When (unix seconds).
    pub at: u64,
    /// Key id of the signing key.
    pub key_id: String,
}

impl RunStartStatement {
    /// The bytes that are signed: [`START_DOMAIN`], kind, run id, plan and
    /// source digests, time (8 bytes big-endian) and key id, each preceded
    /// by its length as 8 bytes big-endian.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let mut put = |item: &[u8]| {
            out.extend_from_slice(&(item.len() as u64).to_be_bytes());
            out.extend_from_slice(item);
        };
        put(START_DOMAIN.as_bytes());
        put(self.kind.as_str().as_bytes());
        put(self.run_id.as_bytes());
        put(self.plan_sha256.as_bytes());
        put(self.source_sha256.as_bytes());
        put(&self.at.to_be_bytes());
        put(self.key_id.as_bytes());
        out
    }

    fn validate(&self) -> Result<(), String> {
        if self.run_id.is_empty() || self.run_id.len() > 256 {
            return Err("run_id must be 1-256 bytes".into());
        }
        for (name, digest) in [
            ("plan_sha256", &self.plan_sha256),
            ("source_sha256", &self.source_sha256),
        ] {
            if !is_lower_hex(digest, 64) {
                return Err(format!("{name} must be 64 lowercase hex characters"));
            }
        }
        if !is_lower_hex(&self.key_id, 16) {
            return Err("key_id must be 16 lowercase hex characters".into());
        }
        Ok(())
    }
}

/// A run-start statement with its signature and the signer's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedStart {
    /// What was signed.
    pub statement: RunStartStatement,
    /// Ed25519 signature over the canonical bytes, 128 lowercase hex.
    pub signature: String,
    /// The signer's public key, 64 lowercase hex (trust comes from the
    /// trust store, never from this field).
    pub public_key: String,
}

/// Sign `statement` with `key` (its `key_id` is set to the key's).
pub fn sign_start(mut statement: RunStartStatement, key: &SigningKey) -> SignedStart {
    statement.key_id = key_id(&key.verifying_key());
    let signature = key.sign(&statement.canonical_bytes());
    SignedStart {
        statement,
        signature: hex::encode(signature.to_bytes()),
        public_key: hex::encode(key.verifying_key().as_bytes()),
    }
}

/// Check a signed start: well formed, signed by a key `trust` holds.
/// Returns the statement.
pub fn verify_start<'a>(
    signed: &'a SignedStart,
    trust: &TrustStore,
) -> Result<&'a RunStartStatement, ApprovalError> {
    signed
        .statement
        .validate()
        .map_err(ApprovalError::malformed)?;
    verify_signature(
        &signed.statement.canonical_bytes(),
        &signed.signature,
        &signed.public_key,
        &signed.statement.key_id,
        trust,
    )?;
    Ok(&signed.statement)
}

/// Write the signed start `relative` of `dir`, never overwriting a file.
pub fn save_start_in(dir: &SafeDir, relative: &str, signed: &SignedStart) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = dir.create_new_mode(relative, 0o644)?;
    let mut text = serde_json::to_string_pretty(signed).map_err(std::io::Error::other)?;
    text.push('\n');
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Read the signed start `relative` of `dir` ([`ApprovalError::Missing`]
/// when there is none).
pub fn load_start_in(dir: &SafeDir, relative: &str) -> Result<SignedStart, ApprovalError> {
    let bytes = super::signed::read_kb_file(dir, relative, MAX_START_FILE_BYTES)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApprovalError::malformed(format!("{}: {e}", dir.shown(relative).display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::generate_keypair;

    fn statement() -> RunStartStatement {
        RunStartStatement {
            kind: StartKind::Start,
            run_id: "doc.20261202T000000Z.0123abcd".into(),
            plan_sha256: "a".repeat(64),
            source_sha256: "b".repeat(64),
            at: 1,
            key_id: String::new(),
        }
    }

    #[test]
    fn a_signed_start_verifies_only_against_a_trusted_key_and_unaltered() {
        let (key, public) = generate_keypair();
        let signed = sign_start(statement(), key.signing_key());
        let mut trust = TrustStore::new();
        assert!(matches!(
            verify_start(&signed, &trust),
            Err(ApprovalError::UntrustedKey { .. })
        ));
        trust.insert(*public.verifying_key());
        assert_eq!(
            verify_start(&signed, &trust).unwrap().run_id,
            statement().run_id
        );
        let mut altered = signed.clone();
        altered.statement.run_id = "other.20261202T000000Z.0123abcd".into();
        assert!(matches!(
            verify_start(&altered, &trust),
            Err(ApprovalError::BadSignature)
        ));
        let mut resumed = signed;
        resumed.statement.kind = StartKind::Resume;
        assert!(verify_start(&resumed, &trust).is_err(), "kind is signed");
    }
}
