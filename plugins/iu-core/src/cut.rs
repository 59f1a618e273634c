//! `cutplan`: regions → units, with a checked 100 % coverage and a canonical
//! plan digest.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

use crate::digest::{CanonicalHasher, sha256_hex};
use crate::region::{Region, RegionKind};

/// One information unit: a region with its exact own text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Akoma-Ntoso-style eId, unique in the document.
    pub eid: String,
    /// eId of the enclosing unit, if any.
    pub parent_eid: Option<String>,
    /// Unit kind.
    pub kind: RegionKind,
    /// 1-based position among siblings of the same kind under the same parent.
    pub ordinal: u32,
    /// The label as written.
    pub number: String,
    /// Heading (may be empty).
    pub heading: String,
    /// The unit's own span of the normalized text, exactly. Left out when
    /// empty (a plan read back from the plan artifact, which carries the
    /// spans, not the texts: see `iu-phases` `artifact`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// SHA-256 (hex) of `text`.
    pub text_sha: String,
    /// Start byte offset in the normalized text.
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
    /// Natural eId when this unit's eId carries a `_dupN` suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

/// The cut plan of one document version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutPlan {
    /// Document identifier.
    pub document_id: String,
    /// Version identifier.
    pub version: String,
    /// Units in document order.
    pub units: Vec<Unit>,
    /// Number of units per kind name.
    pub counts: BTreeMap<String, u64>,
    /// Bytes of the normalized text covered by units (= `body_bytes`).
    pub coverage_bytes: u64,
    /// Bytes of the normalized text.
    pub body_bytes: u64,
    /// Canonical digest of (document, version, every unit's eid, parent,
    /// kind, ordinal, text_sha); see [`plan_digest`].
    pub digest: String,
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum CutError {
    /// The document id or version is empty.
    InvalidId {
        /// `document_id` or `version`.
        field: String,
    },
    /// The regions do not cover every byte of the text exactly once.
    Coverage {
        /// Byte offset where coverage breaks.
        at: u64,
        /// What is wrong there.
        detail: String,
    },
    /// A region's `region_sha` is not the SHA-256 of its span.
    RegionSha {
        /// The region.
        eid: String,
    },
    /// Two regions have the same eId.
    DuplicateEid {
        /// The eId.
        eid: String,
    },
    /// A region names a parent that does not precede it.
    MissingParent {
        /// The region.
        eid: String,
        /// The parent it names.
        parent_eid: String,
    },
}

impl fmt::Display for CutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CutError::InvalidId { field } => write!(f, "{field} is empty"),
            CutError::Coverage { at, detail } => {
                write!(f, "coverage broken at byte {at}: {detail}")
            }
            CutError::RegionSha { eid } => write!(f, "region_sha of {eid} does not match its text"),
            CutError::DuplicateEid { eid } => write!(f, "eId {eid} occurs twice"),
            CutError::MissingParent { eid, parent_eid } => {
                write!(
                    f,
                    "{eid} names parent {parent_eid}, which does not precede it"
                )
            }
        }
    }
}

fn coverage(at: usize, detail: &str) -> CutError {
    CutError::Coverage {
        at: at as u64,
        detail: detail.to_string(),
    }
}

/// Turns the regions of `normalized` into the cut plan of
/// (`doc_id`, `version`). Fails unless the regions' spans are in order,
/// non-empty, on character boundaries, and tile the whole text exactly.
pub fn cut_plan(
    doc_id: &str,
    version: &str,
    normalized: &str,
    regions: &[Region],
) -> Result<CutPlan, CutError> {
    cut_regions(doc_id, version, normalized, regions, Digests::Check)
}

/// Whether the regions' `region_sha`s are checked against their spans or
/// known to be their spans' digests (regions [`crate::Marked`] holds).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digests {
    Check,
    Known,
}

/// [`cut_plan`], with the regions' digests checked or known.
pub(crate) fn cut_regions(
    doc_id: &str,
    version: &str,
    normalized: &str,
    regions: &[Region],
    digests: Digests,
) -> Result<CutPlan, CutError> {
    for (field, v) in [("document_id", doc_id), ("version", version)] {
        if v.is_empty() {
            return Err(CutError::InvalidId {
                field: field.to_string(),
            });
        }
    }
    let mut expected = 0usize;
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut units = Vec::with_capacity(regions.len());
    for r in regions {
        if r.start != expected {
            let what = if r.start > expected {
                "gap before"
            } else {
                "overlap with"
            };
            return Err(coverage(expected, &alloc::format!("{what} {}", r.eid)));
        }
        if r.end <= r.start || r.end > normalized.len() {
            return Err(coverage(r.start, &alloc::format!("bad span of {}", r.eid)));
        }
        let text = normalized
            .get(r.start..r.end)
            .ok_or_else(|| coverage(r.start, &alloc::format!("{} splits a character", r.eid)))?;
        if let Some(p) = r.parent_eid.as_deref()
            && !seen.contains(p)
        {
            return Err(CutError::MissingParent {
                eid: r.eid.clone(),
                parent_eid: p.to_string(),
            });
        }
        if !seen.insert(&r.eid) {
            return Err(CutError::DuplicateEid { eid: r.eid.clone() });
        }
        let text_sha = match digests {
            Digests::Known => r.region_sha.clone(),
            Digests::Check => {
                let text_sha = sha256_hex(text.as_bytes());
                if text_sha != r.region_sha {
                    return Err(CutError::RegionSha { eid: r.eid.clone() });
                }
                text_sha
            }
        };
        expected = r.end;
        units.push(Unit {
            eid: r.eid.clone(),
            parent_eid: r.parent_eid.clone(),
            kind: r.kind,
            ordinal: r.ordinal,
            number: r.number.clone(),
            heading: r.heading.clone(),
            text: text.to_string(),
            text_sha,
            start: r.start,
            end: r.end,
            duplicate_of: r.duplicate_of.clone(),
        });
    }
    if expected != normalized.len() {
        return Err(coverage(
            expected,
            "text after the last region is not covered",
        ));
    }
    Ok(CutPlan::of_units(
        doc_id.to_string(),
        version.to_string(),
        units,
        normalized.len() as u64,
    ))
}

impl CutPlan {
    /// The plan of `units` (in document order) of a text of `body_bytes`:
    /// the counts per kind, the coverage (the bytes the units' spans cover)
    /// and the plan digest follow from the units. [`cut_plan`] makes its
    /// plans with it, and a plan read back without its texts (iu-phases'
    /// plan artifact) is made again with it, the same way.
    pub fn of_units(
        document_id: String,
        version: String,
        units: Vec<Unit>,
        body_bytes: u64,
    ) -> Self {
        let mut counts = BTreeMap::new();
        for u in &units {
            *counts.entry(u.kind.as_str().to_string()).or_insert(0u64) += 1;
        }
        let coverage_bytes = units.iter().map(|u| (u.end - u.start) as u64).sum();
        let digest = plan_digest(&document_id, &version, &units);
        CutPlan {
            document_id,
            version,
            units,
            counts,
            coverage_bytes,
            body_bytes,
            digest,
        }
    }
}

/// The canonical plan digest: SHA-256 over the length-prefixed encoding of
/// the domain "iu-core/cutplan/v1", `doc_id`, `version`, the unit count, and
/// for every unit in order its eid, parent (None ≠ ""), kind name, ordinal
/// and text_sha.
pub fn plan_digest(doc_id: &str, version: &str, units: &[Unit]) -> String {
    let mut h = CanonicalHasher::new("iu-core/cutplan/v1");
    h.str(doc_id).str(version).u64(units.len() as u64);
    for u in units {
        h.str(&u.eid)
            .opt_str(u.parent_eid.as_deref())
            .str(u.kind.as_str())
            .u64(u64::from(u.ordinal))
            .str(&u.text_sha);
    }
    h.finish()
}

/// Concatenates the units' texts in the given order.
pub fn reassemble(units: &[Unit]) -> String {
    let mut out = String::with_capacity(units.iter().map(|u| u.text.len()).sum());
    for u in units {
        out.push_str(&u.text);
    }
    out
}
