//! The iu-cut predicates. Each is a pure function of the evidence; an error
//! (missing or malformed evidence) fails closed in the host.

use phasehost_sdk::{EvidenceSet, is_sha256_hex};

/// What a predicate returns: holds, and why.
pub type Outcome = Result<(bool, String), String>;

/// One predicate.
pub struct Def {
    /// Unique name.
    pub name: &'static str,
    /// What it checks.
    pub description: &'static str,
    /// The phase it guards.
    pub phase: &'static str,
    /// Checked after the phase (else before).
    pub after: bool,
    /// The check.
    pub check: fn(&EvidenceSet) -> Outcome,
}

/// Every predicate of the iu-cut set.
pub const ALL: &[Def] = &[
    Def {
        name: "G-SOURCE-SHA-PINNED",
        description: "source_pin recorded sha256 digests of the raw and the normalized source",
        phase: "source_pin",
        after: true,
        check: |e| {
            let raw = e.str_field("source_pin", "raw_sha256")?;
            let norm = e.str_field("source_pin", "normalized_sha256")?;
            Ok((
                is_sha256_hex(raw) && is_sha256_hex(norm),
                format!("raw {raw}, normalized {norm}"),
            ))
        },
    },
    Def {
        name: "G-SOURCE-NONEMPTY",
        description: "the pinned source has at least one byte and one character",
        phase: "source_pin",
        after: true,
        check: |e| {
            let bytes = e.u64_field("source_pin", "raw_bytes")?;
            let chars = e.u64_field("source_pin", "chars")?;
            Ok((bytes > 0 && chars > 0, format!("{bytes} bytes, {chars} chars")))
        },
    },
];

/// Evaluate predicate `name`; an unknown name is an error.
pub fn evaluate(name: &str, evidence: &EvidenceSet) -> Outcome {
    let def = ALL
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| format!("unknown predicate `{name}`"))?;
    (def.check)(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(raw_sha: &str, bytes: u64) -> EvidenceSet {
        let json = format!(
            r#"{{"raw_sha256":"{raw_sha}","normalized_sha256":"{}","raw_bytes":{bytes},"chars":{bytes}}}"#,
            "b".repeat(64)
        );
        EvidenceSet::parse([("source_pin", json.as_str())]).unwrap()
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = ALL.iter().map(|d| d.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn sha_pinned_fails_on_a_bad_digest_and_errors_on_missing_evidence() {
        assert!(evaluate("G-SOURCE-SHA-PINNED", &pin(&"a".repeat(64), 5)).unwrap().0);
        assert!(!evaluate("G-SOURCE-SHA-PINNED", &pin("abc", 5)).unwrap().0);
        assert!(evaluate("G-SOURCE-SHA-PINNED", &EvidenceSet::default()).is_err());
    }

    #[test]
    fn nonempty_fails_on_zero_bytes() {
        assert!(evaluate("G-SOURCE-NONEMPTY", &pin(&"a".repeat(64), 5)).unwrap().0);
        assert!(!evaluate("G-SOURCE-NONEMPTY", &pin(&"a".repeat(64), 0)).unwrap().0);
    }

    #[test]
    fn unknown_predicate_is_an_error() {
        assert!(evaluate("G-NOPE", &EvidenceSet::default()).is_err());
    }
}
