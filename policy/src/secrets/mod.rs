//! The secret scanner: nothing secret crosses the plugin boundary.
//!
//! Everything a plugin sends out (logs, evidence, artifacts, store rows,
//! pins) goes through these checks:
//!
//! - [`scan_value`] / [`scan_all`] find secret-shaped values in text:
//!   PEM private keys, AWS access key ids, GitHub, Slack, Google and Stripe
//!   keys, JWTs, `Bearer` tokens, passwords in URLs and high-entropy blobs.
//!   [`redact`] replaces them with `[REDACTED:<kind>]`.
//! - [`is_secret_key`] recognises secret-shaped JSON keys (`password`,
//!   `apiKey`, `X-Auth-Token`, …); [`scan_json`] refuses a JSON value with
//!   a secret-shaped key or value, [`strip_secret_keys`] removes the keys.
//!
//! - [`StreamScanner`] scans consecutive chunks of one stream (log lines,
//!   rows of one call) and also finds a secret split across two chunks:
//!   create one per stream, call [`StreamScanner::feed`] with each chunk,
//!   act on the [`StreamFinding`]s it returns (see its docs).
//!
//! A [`SecretFinding`], [`StreamFinding`] or [`SecretViolation`] never
//! contains the secret: only its kind, its byte position, and a JSON path
//! whose keys are redacted when they are secret-shaped themselves.
//!
//! Disguises do not hide a secret: the detectors also run over the text's
//! NFKC form without invisible characters (fullwidth letters, zero-width
//! spaces, bidi controls), with spaced-out runs collapsed (`g h p _ …`),
//! reversed, and over the decoded text of hex and base64 runs that decode
//! to text (see `scan.rs`); a finding there is reported at the range of the
//! original text it comes from.
//!
//! Every detector and every derived view is O(n) in the text's length
//! (tested by counting the bytes each examines, and benchmarked in
//! `benches/scanner.rs`): an adversarial text cannot hold the host.
//!
//! Hex is never flagged as high-entropy: SHA-256 digests, ids and
//! signatures are the project's evidence, and an entropy test cannot tell
//! them from a hex-encoded key (those are caught by their key names).

mod b64;
mod decode;
mod entropy;
mod finding;
mod json;
mod keys;
mod normalize;
mod scan;
mod steps;
mod stream;
mod structured;
mod tokens;

pub use entropy::{HIGH_ENTROPY_MIN_LEN, entropy_threshold, shannon_entropy};
pub use finding::{SecretFinding, SecretKind};
pub use json::{SecretViolation, scan_json, strip_secret_keys};
pub use keys::is_secret_key;
pub(crate) use keys::split_words as key_words;
pub use scan::{redact, scan_all, scan_value};
pub use stream::{StreamFinding, StreamScanner};

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_disguise;
#[cfg(test)]
mod tests_linear;
#[cfg(test)]
mod tests_stream;
