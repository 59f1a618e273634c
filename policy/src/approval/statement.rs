//! The approval statement, its gate, and its canonical (signed) encoding.

use std::fmt;

use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

/// Domain-separation prefix of the canonical encoding: a signature over an
/// approval can never be mistaken for a signature over anything else.
pub const DOMAIN: &str = "phasehost-approval-v1";

/// How far in the future `issued_at` may be (clock skew between the
/// signer's machine and the host), in seconds.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// Longest accepted run id, in bytes.
const MAX_RUN_ID_BYTES: usize = 256;

/// Longest approval gate name, in bytes.
pub const MAX_GATE_NAME_BYTES: usize = 32;

/// The name of a human approval gate, as the plan's `[[approvals.gates]]`
/// defines it (iu-cut: `sg1`, `sg2`): `[a-z][a-z0-9_-]{0,31}`. A signed
/// statement names its gate by this string, so an approval for one gate
/// never opens a gate named differently.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Gate(String);

impl Gate {
    /// The gate named `name`, if it is a valid gate name
    /// (`[a-z][a-z0-9_-]{0,31}`).
    pub fn new(name: &str) -> Result<Self, String> {
        if is_gate_name(name) {
            Ok(Self(name.to_owned()))
        } else {
            Err(format!(
                "`{}` is not a gate name: it must match [a-z][a-z0-9_-]{{0,{}}}",
                name.escape_debug(),
                MAX_GATE_NAME_BYTES - 1
            ))
        }
    }

    /// The name, e.g. `"sg1"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// True when `name` matches `[a-z][a-z0-9_-]{0,31}`.
pub fn is_gate_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_GATE_NAME_BYTES
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
}

impl<'de> Deserialize<'de> for Gate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::new(&name).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a human approves: one gate of one run, bound to the evidence digest
/// the gate protects, valid from `issued_at` to `expires_at` (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalStatement {
    /// The run this approval is for.
    pub run_id: String,
    /// The gate this approval opens.
    pub gate: Gate,
    /// Hex sha256 the gate binds (the plan's `digest` field of the gate).
    pub evidence_digest: String,
    /// Random 128-bit hex id of the human review decision behind the approval.
    pub review_decision_id: String,
    /// Random 128-bit hex id of this approval; consumed once.
    pub approval_id: String,
    /// When it was signed (unix seconds).
    pub issued_at: u64,
    /// When it stops being valid (unix seconds, exclusive).
    pub expires_at: u64,
    /// Key id of the signing key (see [`super::key_id`]).
    pub key_id: String,
    /// sha256 of the review the approver was shown (`review/<gate>.md`,
    /// made from the evidence); when present it is signed, and the host
    /// refuses the approval if the review made from the evidence now differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_sha256: Option<String>,
}

/// A fresh random 128-bit id as 32 lowercase hex characters.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl ApprovalStatement {
    /// A new statement with fresh random `review_decision_id` and
    /// `approval_id`, valid for `ttl_secs` from `issued_at`. `key_id` should
    /// be the id of the key that will sign it.
    pub fn new(
        run_id: impl Into<String>,
        gate: Gate,
        evidence_digest: impl Into<String>,
        issued_at: u64,
        ttl_secs: u64,
        key_id: impl Into<String>,
    ) -> Self {
        Self {
            run_id: run_id.into(),
            gate,
            evidence_digest: evidence_digest.into(),
            review_decision_id: random_id(),
            approval_id: random_id(),
            issued_at,
            expires_at: issued_at.saturating_add(ttl_secs),
            key_id: key_id.into(),
            review_sha256: None,
        }
    }

    /// The same statement, bound to the review the approver was shown.
    pub fn with_review(mut self, review_sha256: impl Into<String>) -> Self {
        self.review_sha256 = Some(review_sha256.into());
        self
    }

    /// The bytes that are signed: the [`DOMAIN`] prefix, then run_id, gate
    /// name, evidence_digest, review_decision_id, approval_id,
    /// issued_at and expires_at (8 bytes big-endian each) and key_id, every
    /// item preceded by its length as 8 bytes big-endian.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let mut put = |item: &[u8]| {
            out.extend_from_slice(&(item.len() as u64).to_be_bytes());
            out.extend_from_slice(item);
        };
        put(DOMAIN.as_bytes());
        put(self.run_id.as_bytes());
        put(self.gate.as_str().as_bytes());
        put(self.evidence_digest.as_bytes());
        put(self.review_decision_id.as_bytes());
        put(self.approval_id.as_bytes());
        put(&self.issued_at.to_be_bytes());
        put(&self.expires_at.to_be_bytes());
        put(self.key_id.as_bytes());
        // An optional field is appended with its name, so a statement with
        // it never encodes like one without.
        if let Some(review) = &self.review_sha256 {
            put(b"review_sha256");
            put(review.as_bytes());
        }
        out
    }

    /// Checks the shape of every field; returns what is wrong.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let run_id_ok = !self.run_id.is_empty()
            && self.run_id.len() <= MAX_RUN_ID_BYTES
            && !self.run_id.chars().any(char::is_control);
        if !run_id_ok {
            return Err(format!(
                "run_id must be 1-{MAX_RUN_ID_BYTES} bytes without control characters"
            ));
        }
        let hex_fields = [
            ("evidence_digest", &self.evidence_digest, 64),
            ("review_decision_id", &self.review_decision_id, 32),
            ("approval_id", &self.approval_id, 32),
            ("key_id", &self.key_id, 16),
        ];
        for (name, value, len) in hex_fields {
            if !is_lower_hex(value, len) {
                return Err(format!("{name} must be {len} lowercase hex characters"));
            }
        }
        if self.expires_at <= self.issued_at {
            return Err("expires_at must be later than issued_at".to_owned());
        }
        if let Some(review) = &self.review_sha256
            && !is_lower_hex(review, 64)
        {
            return Err("review_sha256 must be 64 lowercase hex characters".to_owned());
        }
        Ok(())
    }
}

/// True when `text` is exactly `len` lowercase hex characters.
pub(crate) fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn fixed() -> ApprovalStatement {
        ApprovalStatement {
            run_id: "run-1".to_owned(),
            gate: gate("sg1"),
            evidence_digest: "ab".repeat(32),
            review_decision_id: "cd".repeat(16),
            approval_id: "ef".repeat(16),
            issued_at: 1_700_000_000,
            expires_at: 1_700_003_600,
            key_id: "0123456789abcdef".to_owned(),
            review_sha256: None,
        }
    }

    #[test]
    fn a_review_digest_is_signed_and_changes_the_encoding() {
        let plain = fixed();
        let reviewed = fixed().with_review("1".repeat(64));
        assert_ne!(plain.canonical_bytes(), reviewed.canonical_bytes());
        assert_ne!(
            reviewed.canonical_bytes(),
            fixed().with_review("2".repeat(64)).canonical_bytes()
        );
        assert!(fixed().with_review("short").validate().is_err());
    }

    fn gate(name: &str) -> Gate {
        Gate::new(name).expect("gate name")
    }

    #[test]
    fn gate_serializes_as_its_name_and_refuses_bad_names() {
        assert_eq!(serde_json::to_string(&gate("sg1")).unwrap(), "\"sg1\"");
        assert_eq!(
            serde_json::to_string(&gate("sign-off_2")).unwrap(),
            "\"sign-off_2\""
        );
        assert_eq!(gate("sg2").to_string(), "sg2");
        assert_eq!(
            serde_json::from_str::<Gate>("\"sg2\"").unwrap(),
            gate("sg2")
        );
        for bad in ["SG1", "", "1a", "-a", "a b", "a.b", "é", &"a".repeat(33)] {
            assert!(Gate::new(bad).is_err(), "{bad:?}");
            assert!(
                serde_json::from_str::<Gate>(&format!("{bad:?}")).is_err(),
                "{bad:?}"
            );
        }
        assert!(Gate::new(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn canonical_encoding_is_pinned() {
        // Changing the encoding invalidates every issued approval: bump DOMAIN.
        let bytes = fixed().canonical_bytes();
        assert!(bytes.starts_with(&(DOMAIN.len() as u64).to_be_bytes()));
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            "aec9f2eb9f036cb89924825c4ce4a914c6c6f6e5df8e6437ffdcd0c871f2550c",
            "canonical encoding changed"
        );
    }

    #[test]
    fn every_field_changes_the_canonical_bytes() {
        let base = fixed().canonical_bytes();
        let mut variants = Vec::new();
        let mut s = fixed();
        s.run_id.push('x');
        variants.push(s);
        let mut s = fixed();
        s.gate = gate("sg2");
        variants.push(s);
        let mut s = fixed();
        s.evidence_digest = "ba".repeat(32);
        variants.push(s);
        let mut s = fixed();
        s.review_decision_id = "dc".repeat(16);
        variants.push(s);
        let mut s = fixed();
        s.approval_id = "fe".repeat(16);
        variants.push(s);
        let mut s = fixed();
        s.issued_at += 1;
        variants.push(s);
        let mut s = fixed();
        s.expires_at += 1;
        variants.push(s);
        let mut s = fixed();
        s.key_id = "fedcba9876543210".to_owned();
        variants.push(s);
        for (i, v) in variants.iter().enumerate() {
            assert_ne!(v.canonical_bytes(), base, "field {i}");
        }
    }

    #[test]
    fn length_prefixes_prevent_shifting_bytes_between_fields() {
        let mut a = fixed();
        a.run_id = "ab".to_owned();
        let mut b = fixed();
        b.run_id = "a".to_owned();
        // Same concatenation if lengths were not encoded.
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
    }

    #[test]
    fn new_statements_get_fresh_random_ids() {
        let a = ApprovalStatement::new("r", gate("sg1"), "ab".repeat(32), 10, 60, "k");
        let b = ApprovalStatement::new("r", gate("sg1"), "ab".repeat(32), 10, 60, "k");
        assert_ne!(a.approval_id, b.approval_id);
        assert_ne!(a.review_decision_id, b.review_decision_id);
        assert!(is_lower_hex(&a.approval_id, 32));
        assert_eq!(a.expires_at, 70);
    }

    #[test]
    fn validate_refuses_bad_shapes() {
        assert_eq!(fixed().validate(), Ok(()));
        let mut cases = Vec::new();
        let mut s = fixed();
        s.run_id.clear();
        cases.push(s);
        let mut s = fixed();
        s.run_id = "a\nb".to_owned();
        cases.push(s);
        let mut s = fixed();
        s.run_id = "r".repeat(MAX_RUN_ID_BYTES + 1);
        cases.push(s);
        let mut s = fixed();
        s.evidence_digest = "AB".repeat(32);
        cases.push(s);
        let mut s = fixed();
        s.approval_id = "ef".repeat(15);
        cases.push(s);
        let mut s = fixed();
        s.review_decision_id = "zz".repeat(16);
        cases.push(s);
        let mut s = fixed();
        s.key_id = "0123".to_owned();
        cases.push(s);
        let mut s = fixed();
        s.expires_at = s.issued_at;
        cases.push(s);
        for (i, s) in cases.iter().enumerate() {
            assert!(s.validate().is_err(), "case {i}");
        }
    }
}
