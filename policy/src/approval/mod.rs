//! Ed25519-signed human approvals for the gates SG_1 and SG_2.
//!
//! An operator signs an [`ApprovalStatement`] that binds one run, one gate,
//! the evidence digest the gate protects (SG_1: the cut plan digest; SG_2:
//! the write-verify digest), a review decision id, an approval id and a
//! validity window. The host [`verify`]s it against an [`Expectation`], a
//! [`TrustStore`] of public keys and a [`ConsumedLedger`], then consumes it
//! so it can never be used again.
//!
//! # File formats
//!
//! All files are UTF-8 JSON, hex is lowercase, unknown fields are refused.
//!
//! - Signing key, `<name>.key` (mode 0600 on unix; loading refuses a key file
//!   readable by group or others):
//!   `{"format":"phasehost-ed25519-signing-key-v1","key_id":"<16 hex>","secret_key":"<64 hex>"}`
//! - Public key, `<name>.pub`:
//!   `{"format":"phasehost-ed25519-public-key-v1","key_id":"<16 hex>","public_key":"<64 hex>"}`
//! - Key id: the first 16 hex characters of sha256 over the 32 public key
//!   bytes ([`key_id`]); a file whose `key_id` does not match its key is
//!   malformed.
//! - Approval: a [`SignedApproval`] as JSON:
//!   `{"statement":{…},"signature":"<128 hex>","public_key":"<64 hex>"}`.
//!   The signature covers [`ApprovalStatement::canonical_bytes`], a
//!   length-prefixed encoding with the domain prefix
//!   `phasehost-approval-v1`, never the JSON text.
//! - Ledger ([`FileLedger`]): append-only JSON lines, one consumed approval
//!   per line, see [`FileLedger`].
//!
//! # Checks, in order
//!
//! [`verify`] checks the shape of the statement (Malformed), that the
//! public key is trusted (UntrustedKey), the signature (BadSignature), the
//! binding to run, gate and evidence digest (Mismatch), the validity window
//! (NotYetValid, Expired, TtlTooLong) and finally the ledger (Replayed,
//! ReviewDecisionReused). Only authenticated statements get their fields
//! compared, so a forged statement is reported as badly signed, not as a
//! mismatch.

mod error;
mod file_ledger;
mod keys;
mod ledger;
mod signed;
mod start;
mod statement;
mod trust;
mod verified;
mod verify;

pub use error::ApprovalError;
pub use file_ledger::FileLedger;
pub use keys::{
    KeyError, KeyFilePaths, MAX_HOLDER_CHARS, PUBLIC_KEY_FORMAT, PublicKeyFile, SIGNING_KEY_FORMAT,
    SigningKeyFile, generate_keypair, key_id, load_public_key, load_signing_key, valid_holder,
    write_held_key_files, write_key_files,
};
pub use ledger::{ConsumedLedger, MemoryLedger};
pub use signed::{
    MAX_APPROVAL_FILE_BYTES, SignedApproval, load_approval, load_approval_in, save_approval,
    save_approval_in, sign,
};
pub use start::{
    RunStartStatement, START_DOMAIN, SignedStart, StartKind, load_start_in, save_start_in,
    sign_start, verify_start,
};
pub use statement::{ApprovalStatement, DOMAIN, Gate, MAX_CLOCK_SKEW_SECS, random_id};
pub use trust::TrustStore;
pub use verified::VerifiedApproval;
pub use verify::{Expectation, check_signature, verify, verify_and_consume, verify_consumed};

#[cfg(test)]
mod tests;
