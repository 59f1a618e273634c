//! Reusable domain pieces of the iu-cut phases, each a pure function with
//! native tests: envelope ids, the digests of what was written and read,
//! the lifecycle diff of two versions, and the grant-matrix comparison.

use std::collections::{BTreeMap, BTreeSet};

use iu_core::CanonicalHasher;

/// The envelope id of (document, version, eid): the first 32 hex of the
/// SHA-256 over the length-prefixed ("phasehost-envelope-v1", document_id,
/// version, eid).
pub fn envelope_id(document_id: &str, version: &str, eid: &str) -> String {
    let mut h = CanonicalHasher::new("phasehost-envelope-v1");
    h.str(document_id).str(version).str(eid);
    let mut id = h.finish();
    id.truncate(32);
    id
}

/// Digest of a list of envelope ids, in the given order.
pub fn id_digest<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = CanonicalHasher::new("phasehost/envelope-ids/v1");
    for id in ids {
        h.str(id);
    }
    h.finish()
}

/// One unit row's identifying fields, as written or read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitKey<'a> {
    /// Position in document order.
    pub seq: u64,
    /// eId.
    pub eid: &'a str,
    /// Parent eId.
    pub parent_eid: Option<&'a str>,
    /// Kind name.
    pub kind: &'a str,
    /// Ordinal.
    pub ordinal: u64,
    /// SHA-256 of the text.
    pub text_sha: &'a str,
}

/// Digest of unit rows (seq, eid, parent, kind, ordinal, text_sha), in order.
/// The same function digests what cut_leg_a wrote and what write_verify read.
pub fn units_digest<'a>(version: &str, rows: impl IntoIterator<Item = UnitKey<'a>>) -> String {
    let mut h = CanonicalHasher::new("phasehost/units/v1");
    h.str(version);
    for r in rows {
        h.u64(r.seq)
            .str(r.eid)
            .opt_str(r.parent_eid)
            .str(r.kind)
            .u64(r.ordinal)
            .str(r.text_sha);
    }
    h.finish()
}

/// One envelope row's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeKey<'a> {
    /// Envelope id.
    pub envelope_id: &'a str,
    /// eId of the unit.
    pub eid: &'a str,
    /// text_sha of the unit.
    pub text_sha: &'a str,
    /// Plan digest it was recorded under.
    pub plan_digest: &'a str,
    /// Raw source sha256.
    pub source_sha256: &'a str,
}

/// Digest of envelope rows, in the given order.
pub fn envelopes_digest<'a>(rows: impl IntoIterator<Item = EnvelopeKey<'a>>) -> String {
    let mut h = CanonicalHasher::new("phasehost/envelopes/v1");
    for r in rows {
        h.str(r.envelope_id)
            .str(r.eid)
            .str(r.text_sha)
            .str(r.plan_digest)
            .str(r.source_sha256);
    }
    h.finish()
}

/// write_verify's digest: what SG_2 binds to.
pub fn verify_digest(plan_digest: &str, units_digest: &str, envelopes_digest: &str) -> String {
    let mut h = CanonicalHasher::new("phasehost/write-verify/v1");
    h.str(plan_digest).str(units_digest).str(envelopes_digest);
    h.finish()
}

/// The eId-level difference between the version in force and a new one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// eIds only in the new version.
    pub added: Vec<String>,
    /// eIds in both whose text_sha differs.
    pub changed: Vec<String>,
    /// eIds only in the old version.
    pub removed: Vec<String>,
    /// eIds in both with the same text_sha.
    pub unchanged: u64,
}

/// Diffs `(eid, text_sha)` lists; the lists come out in the order of the
/// new version (added, changed) and of the old one (removed).
pub fn diff_eids<'a>(old: &[(&'a str, &'a str)], new: &[(&'a str, &'a str)]) -> Diff {
    let old_map: BTreeMap<&str, &str> = old.iter().copied().collect();
    let new_set: BTreeSet<&str> = new.iter().map(|(e, _)| *e).collect();
    let mut d = Diff::default();
    for (eid, sha) in new {
        match old_map.get(eid) {
            None => d.added.push((*eid).to_string()),
            Some(old_sha) if old_sha != sha => d.changed.push((*eid).to_string()),
            Some(_) => d.unchanged += 1,
        }
    }
    for (eid, _) in old {
        if !new_set.contains(eid) {
            d.removed.push((*eid).to_string());
        }
    }
    d
}

/// The 4-bit access of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Bits {
    /// select
    pub r: bool,
    /// insert
    pub i: bool,
    /// update
    pub u: bool,
    /// delete
    pub d: bool,
}

impl Bits {
    /// Parses letters (`r`, `i`, `u`, `d`, any order); anything else is an error.
    pub fn parse(letters: &str) -> Result<Self, String> {
        let mut b = Bits::default();
        for c in letters.chars() {
            match c {
                'r' => b.r = true,
                'i' => b.i = true,
                'u' => b.u = true,
                'd' => b.d = true,
                other => return Err(format!("unknown access letter `{other}` in \"{letters}\"")),
            }
        }
        Ok(b)
    }

    /// Letters in `riud` order.
    pub fn letters(self) -> String {
        [(self.r, 'r'), (self.i, 'i'), (self.u, 'u'), (self.d, 'd')]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| *c)
            .collect()
    }

    fn each(self) -> [(char, bool); 4] {
        [('r', self.r), ('i', self.i), ('u', self.u), ('d', self.d)]
    }
}

/// A grant matrix: table → bits.
pub type Matrix = BTreeMap<String, Bits>;

/// What differs between the bits a plan needs and those present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatrixDiff {
    /// `table:letter` needed but not present.
    pub missing: Vec<String>,
    /// `table:letter` present but not needed.
    pub extra: Vec<String>,
}

/// Compares `needed` with `present`, bit by bit, every table of either.
pub fn compare_matrix(needed: &Matrix, present: &Matrix) -> MatrixDiff {
    let tables: BTreeSet<&String> = needed.keys().chain(present.keys()).collect();
    let mut out = MatrixDiff::default();
    for t in tables {
        let n = needed.get(t).copied().unwrap_or_default();
        let p = present.get(t).copied().unwrap_or_default();
        for ((letter, need), (_, have)) in n.each().into_iter().zip(p.each()) {
            if need && !have {
                out.missing.push(format!("{t}:{letter}"));
            }
            if have && !need {
                out.extra.push(format!("{t}:{letter}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_ids_are_32_hex_and_separate_their_inputs() {
        let a = envelope_id("doc", "v1", "art_1");
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, envelope_id("doc", "v1", "art_1"));
        assert_ne!(a, envelope_id("doc", "v2", "art_1"));
        assert_ne!(envelope_id("do", "cv1", "x"), envelope_id("doc", "v1", "x"));
    }

    #[test]
    fn diff_finds_added_changed_removed() {
        let old = [("a", "1"), ("b", "2"), ("c", "3")];
        let new = [("a", "1"), ("b", "X"), ("d", "4")];
        let d = diff_eids(&old, &new);
        assert_eq!(d.added, ["d"]);
        assert_eq!(d.changed, ["b"]);
        assert_eq!(d.removed, ["c"]);
        assert_eq!(d.unchanged, 1);
        assert_eq!(diff_eids(&old, &old).unchanged, 3);
    }

    #[test]
    fn matrix_comparison_reports_missing_and_extra_bits() {
        let m = |pairs: &[(&str, &str)]| -> Matrix {
            pairs
                .iter()
                .map(|(t, l)| (t.to_string(), Bits::parse(l).unwrap()))
                .collect()
        };
        let needed = m(&[("units", "riu"), ("envelopes", "ri")]);
        let present = m(&[("units", "rid"), ("documents", "r")]);
        let d = compare_matrix(&needed, &present);
        assert_eq!(d.missing, ["envelopes:r", "envelopes:i", "units:u"]);
        assert_eq!(d.extra, ["documents:r", "units:d"]);
        assert_eq!(compare_matrix(&needed, &needed), MatrixDiff::default());
        assert_eq!(Bits::parse("dur").unwrap().letters(), "rud");
        assert!(Bits::parse("x").is_err());
    }

    #[test]
    fn digests_depend_on_every_field() {
        let k = |sha| UnitKey {
            seq: 0,
            eid: "art_1",
            parent_eid: None,
            kind: "article",
            ordinal: 1,
            text_sha: sha,
        };
        assert_ne!(units_digest("v", [k("a")]), units_digest("v", [k("b")]));
        assert_ne!(verify_digest("a", "b", "c"), verify_digest("a", "c", "b"));
        assert_ne!(id_digest(["ab", "c"]), id_digest(["a", "bc"]));
    }
}
