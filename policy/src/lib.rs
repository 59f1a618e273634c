//! Host-side policies of phasehost.
//!
//! Independent, fail-closed policies the host applies around the
//! sandboxed phases (see docs/THREAT_MODEL.md for whom each one stops):
//!
//! - [`approval`]: Ed25519-signed human approvals for the gates SG_1 and
//!   SG_2 — key files, signing, verification against a trust store, and a
//!   durable ledger of consumed approvals (property 5).
//! - [`secrets`]: the secret scanner for everything that crosses the plugin
//!   boundary — secret-shaped values and secret-shaped JSON keys, reported
//!   without ever echoing the secret (property 3).
//! - [`argguard`]: refuses command-line arguments that look like digests,
//!   ids or secrets, which must be read from files instead (property 4).
//! - [`safe_dir`]: folders others may write (the KB) held as cap-std
//!   handles: every subfolder opened from its parent's handle without
//!   following a symlink, files likewise, only regular files read, never a
//!   FIFO that hangs.
//! - [`safe_fs`]: files the operator names by path: bounded reads of
//!   regular files only, files created new (`O_EXCL`).
//!
//! The crate has no I/O except reading and writing key, approval and ledger
//! files, and takes the clock as an argument (`now`, unix seconds).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod approval;
pub mod argguard;
pub mod safe_dir;
pub mod safe_fs;
pub mod secrets;

pub use approval::{
    ApprovalError, ApprovalStatement, ConsumedLedger, Expectation, FileLedger, Gate, KeyError,
    MemoryLedger, PublicKeyFile, SignedApproval, SigningKeyFile, TrustStore, VerifiedApproval,
    generate_keypair, key_id, load_approval, load_approval_in, load_public_key, load_signing_key,
    save_approval, save_approval_in, sign, verify, verify_and_consume, write_key_files,
};
pub use argguard::{ArgKind, ArgRefusal, check_args};
pub use secrets::{
    SecretFinding, SecretKind, SecretViolation, is_secret_key, redact, scan_all, scan_json,
    scan_value, strip_secret_keys,
};
