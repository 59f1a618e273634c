//! `structural_verify`: 11 boolean probes comparing the rows read back from
//! a store with the plan, the pinned source and the marked regions.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cut::CutPlan;
use crate::digest::sha256_hex;
use crate::region::Region;

/// One unit row as read back from the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredUnit {
    /// Document the row belongs to.
    pub document_id: String,
    /// Version the row belongs to.
    pub version: String,
    /// Position of the unit in document order (0-based); the read-back scan
    /// orders by it, reassembly follows it.
    pub seq: u64,
    /// eId.
    pub eid: String,
    /// Parent eId.
    pub parent_eid: Option<String>,
    /// Kind name ([`crate::RegionKind::as_str`]).
    pub kind: String,
    /// Ordinal among same-kind siblings.
    pub ordinal: u32,
    /// Stored text.
    pub text: String,
    /// Stored SHA-256 (hex) of the text.
    pub text_sha: String,
}

/// The rows a faithful store would hold for `plan`.
pub fn stored_from_plan(plan: &CutPlan) -> Vec<StoredUnit> {
    plan.units
        .iter()
        .enumerate()
        .map(|(i, u)| StoredUnit {
            document_id: plan.document_id.clone(),
            version: plan.version.clone(),
            seq: i as u64,
            eid: u.eid.clone(),
            parent_eid: u.parent_eid.clone(),
            kind: u.kind.as_str().to_string(),
            ordinal: u.ordinal,
            text: u.text.clone(),
            text_sha: u.text_sha.clone(),
        })
        .collect()
}

/// The 11 structural probes; any false stops the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probes {
    /// As many rows as planned units, and the same count per kind.
    pub count_matches: bool,
    /// No eId occurs twice among the rows.
    pub eids_unique: bool,
    /// Every parent eId names another stored row.
    pub parents_exist: bool,
    /// Under each (parent, kind), ordinals in seq order are 1, 2, 3, …
    pub ordinals_contiguous: bool,
    /// Article eIds in seq order have strictly increasing (number, letter
    /// suffix, duplicate index) — a `_dupN` row may repeat the number of
    /// the row before it, nothing else may.
    pub article_numbers_increasing: bool,
    /// No row's text is empty or whitespace only.
    pub no_empty_text: bool,
    /// Every row's text_sha is the SHA-256 of its text.
    pub text_sha_ok: bool,
    /// Every marked region has a row with its eId whose text hashes to the
    /// region's region_sha, and there are no other rows.
    pub region_sha_ok: bool,
    /// The texts concatenated in seq order hash to the pinned normalized
    /// SHA-256.
    pub reassembly_matches_source: bool,
    /// Every row is on the plan's version.
    pub all_on_pinned_version: bool,
    /// Every row belongs to the plan's document.
    pub no_other_document: bool,
}

impl Probes {
    /// Whether every probe holds.
    pub fn all_true(&self) -> bool {
        self.as_array().iter().all(|(_, v)| *v)
    }

    /// The probes by name, in a fixed order.
    pub fn as_array(&self) -> [(&'static str, bool); 11] {
        [
            ("count_matches", self.count_matches),
            ("eids_unique", self.eids_unique),
            ("parents_exist", self.parents_exist),
            ("ordinals_contiguous", self.ordinals_contiguous),
            (
                "article_numbers_increasing",
                self.article_numbers_increasing,
            ),
            ("no_empty_text", self.no_empty_text),
            ("text_sha_ok", self.text_sha_ok),
            ("region_sha_ok", self.region_sha_ok),
            ("reassembly_matches_source", self.reassembly_matches_source),
            ("all_on_pinned_version", self.all_on_pinned_version),
            ("no_other_document", self.no_other_document),
        ]
    }

    /// Names of the probes that failed.
    pub fn failed(&self) -> Vec<&'static str> {
        self.as_array()
            .iter()
            .filter(|(_, v)| !*v)
            .map(|(n, _)| *n)
            .collect()
    }
}

/// Runs the 11 probes of `stored` against `plan`, the pinned
/// `normalized_sha256` and the marked `regions`.
pub fn structural_probes(
    plan: &CutPlan,
    stored: &[StoredUnit],
    normalized_sha256: &str,
    regions: &[Region],
) -> Probes {
    let mut rows: Vec<&StoredUnit> = stored.iter().collect();
    rows.sort_by_key(|r| r.seq);
    let hashes: Vec<String> = rows.iter().map(|r| sha256_hex(r.text.as_bytes())).collect();

    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for r in &rows {
        *kinds.entry(r.kind.clone()).or_insert(0) += 1;
    }
    let count_matches = rows.len() == plan.units.len() && kinds == plan.counts;

    let mut eids = BTreeSet::new();
    let eids_unique = rows.iter().all(|r| eids.insert(r.eid.as_str()));

    let parents_exist = rows.iter().all(|r| {
        r.parent_eid
            .as_deref()
            .is_none_or(|p| p != r.eid && eids.contains(p))
    });

    let mut last_ordinal: BTreeMap<(Option<&str>, &str), u32> = BTreeMap::new();
    let ordinals_contiguous = rows.iter().all(|r| {
        let last = last_ordinal
            .entry((r.parent_eid.as_deref(), r.kind.as_str()))
            .or_insert(0);
        let ok = r.ordinal == *last + 1;
        *last = r.ordinal;
        ok
    });

    let mut prev = None;
    let article_numbers_increasing =
        rows.iter()
            .filter(|r| r.kind == "article")
            .all(|r| match article_key(&r.eid) {
                Some(k) => {
                    let ok = prev.is_none_or(|p| k > p);
                    prev = Some(k);
                    ok
                }
                None => false,
            });

    let no_empty_text = rows.iter().all(|r| !r.text.trim().is_empty());
    let text_sha_ok = rows.iter().zip(&hashes).all(|(r, h)| r.text_sha == *h);

    let by_eid: BTreeMap<&str, &String> = rows
        .iter()
        .zip(&hashes)
        .map(|(r, h)| (r.eid.as_str(), h))
        .collect();
    let region_sha_ok = regions.len() == rows.len()
        && regions.iter().all(|g| {
            by_eid
                .get(g.eid.as_str())
                .is_some_and(|h| **h == g.region_sha)
        });

    let mut whole = Sha256::new();
    for r in &rows {
        whole.update(r.text.as_bytes());
    }
    let reassembly_matches_source = hex::encode(whole.finalize()) == normalized_sha256;

    Probes {
        count_matches,
        eids_unique,
        parents_exist,
        ordinals_contiguous,
        article_numbers_increasing,
        no_empty_text,
        text_sha_ok,
        region_sha_ok,
        reassembly_matches_source,
        all_on_pinned_version: rows.iter().all(|r| r.version == plan.version),
        no_other_document: rows.iter().all(|r| r.document_id == plan.document_id),
    }
}

/// Parses `art_<digits>[<letter>][_dup<n>]` → (number, suffix, dup index).
fn article_key(eid: &str) -> Option<(u32, Option<char>, u32)> {
    let rest = eid.strip_prefix("art_")?;
    let (main, dup) = match rest.split_once("_dup") {
        Some((m, d)) => (m, d.parse::<u32>().ok().filter(|&d| d >= 2)?),
        None => (rest, 1),
    };
    let digits = main.bytes().take_while(u8::is_ascii_digit).count();
    let num = main[..digits].parse().ok()?;
    let mut tail = main[digits..].chars();
    let suffix = tail.next();
    if tail.next().is_some() || suffix.is_some_and(|c| !c.is_ascii_lowercase()) {
        return None;
    }
    Some((num, suffix, dup))
}

#[cfg(test)]
mod tests {
    use super::article_key;

    #[test]
    fn article_keys() {
        assert_eq!(article_key("art_5"), Some((5, None, 1)));
        assert_eq!(article_key("art_19a"), Some((19, Some('a'), 1)));
        assert_eq!(article_key("art_5_dup2"), Some((5, None, 2)));
        assert_eq!(article_key("art_x"), None);
        assert_eq!(article_key("art_5_dup1"), None);
        assert_eq!(article_key("chp_5"), None);
    }
}
