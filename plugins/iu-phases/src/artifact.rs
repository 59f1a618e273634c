//! The plan artifact: how `cutplan` hands its plan to the phases after
//! SG_1 (`cut_leg_a`, `leg_b_record`, `write_verify`), in a compact binary
//! form.
//!
//! The bytes are [`MAGIC`], then the [postcard] encoding of one
//! [`Encoded`] value, and nothing after it. Per unit they hold its eId,
//! parent, kind, ordinal, number, heading, span and `text_sha` as 32 raw
//! bytes; not its text (the source's bytes again: see
//! `common::with_texts`), and not what follows from the units (the plan
//! digest, the counts per kind, the coverage), which [`decode`] computes
//! again. About 65 bytes per unit, a third of the JSON form it replaced.
//!
//! Nothing read back is believed: `common::approved_plan` takes the
//! artifact only when its sha256 is the one `cutplan` recorded and the plan
//! digest computed from the decoded units is the one SG_1 approved.

use iu_core::{CutPlan, Pinned, RegionKind, Unit};
use serde::{Deserialize, Serialize};

/// The artifact's name in the run folder.
pub const PLAN_ARTIFACT: &str = "cutplan.bin";

/// The first bytes of every plan artifact: the format and its version.
pub const MAGIC: &[u8] = b"iu-cut plan artifact v2\n";

/// A plan as [`decode`] gives it back: the plan without its units' texts
/// (each unit's span of the normalized source and its `text_sha` stand for
/// it) and the facts of the pinned source (its text excepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSource {
    /// The cut plan (every unit's `text` empty).
    pub plan: CutPlan,
    /// The pinned source's facts (`normalized` is empty).
    pub pinned: Pinned,
    /// The first non-empty line of the text (the document's title).
    pub title: String,
}

/// A SHA-256 digest as its 32 bytes.
type Digest = [u8; 32];

#[derive(Serialize, Deserialize)]
struct Encoded {
    document_id: String,
    version: String,
    title: String,
    body_bytes: u64,
    source: EncodedSource,
    units: Vec<EncodedUnit>,
}

#[derive(Serialize, Deserialize)]
struct EncodedSource {
    raw_sha256: Digest,
    normalized_sha256: Digest,
    raw_bytes: u64,
    normalized_bytes: u64,
    chars: u64,
    was_nfc: bool,
    bom_stripped: bool,
    line_endings_normalized: bool,
}

#[derive(Serialize, Deserialize)]
struct EncodedUnit {
    eid: String,
    parent_eid: Option<String>,
    kind: RegionKind,
    ordinal: u32,
    number: String,
    heading: String,
    text_sha: Digest,
    start: u64,
    end: u64,
    duplicate_of: Option<String>,
}

/// The artifact of `plan`, cut from the source `pinned`, titled `title`.
/// Fails only on a digest that is not 64 hex digits (never, for a plan
/// and a pin iu-core made).
pub fn encode(plan: &CutPlan, pinned: &Pinned, title: &str) -> Result<Vec<u8>, String> {
    let units = plan
        .units
        .iter()
        .map(|u| {
            Ok(EncodedUnit {
                eid: u.eid.clone(),
                parent_eid: u.parent_eid.clone(),
                kind: u.kind,
                ordinal: u.ordinal,
                number: u.number.clone(),
                heading: u.heading.clone(),
                text_sha: digest_bytes(&u.text_sha, "a unit's text_sha")?,
                start: u.start as u64,
                end: u.end as u64,
                duplicate_of: u.duplicate_of.clone(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let encoded = Encoded {
        document_id: plan.document_id.clone(),
        version: plan.version.clone(),
        title: title.to_string(),
        body_bytes: plan.body_bytes,
        source: EncodedSource {
            raw_sha256: digest_bytes(&pinned.raw_sha256, "the raw sha256")?,
            normalized_sha256: digest_bytes(&pinned.normalized_sha256, "the normalized sha256")?,
            raw_bytes: pinned.raw_bytes,
            normalized_bytes: pinned.normalized_bytes,
            chars: pinned.chars,
            was_nfc: pinned.was_nfc,
            bom_stripped: pinned.bom_stripped,
            line_endings_normalized: pinned.line_endings_normalized,
        },
        units,
    };
    postcard::to_extend(&encoded, MAGIC.to_vec())
        .map_err(|e| format!("the plan does not encode: {e}"))
}

/// The plan an artifact holds: refused unless it starts with [`MAGIC`],
/// decodes whole (no byte after the value) and every span is a range
/// (`start <= end`, within `usize`). The plan digest, the counts per kind
/// and the coverage are computed from the decoded units.
pub fn decode(bytes: &[u8]) -> Result<PlannedSource, String> {
    let body = bytes
        .strip_prefix(MAGIC)
        .ok_or("it is not a plan artifact of this format (v2)")?;
    let (encoded, rest): (Encoded, &[u8]) =
        postcard::take_from_bytes(body).map_err(|e| format!("it does not decode: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("{} bytes follow the plan", rest.len()));
    }
    let units = encoded
        .units
        .into_iter()
        .map(unit_of)
        .collect::<Result<Vec<_>, String>>()?;
    let s = encoded.source;
    Ok(PlannedSource {
        plan: CutPlan::of_units(
            encoded.document_id,
            encoded.version,
            units,
            encoded.body_bytes,
        ),
        pinned: Pinned {
            raw_sha256: hex::encode(s.raw_sha256),
            normalized_sha256: hex::encode(s.normalized_sha256),
            raw_bytes: s.raw_bytes,
            normalized_bytes: s.normalized_bytes,
            chars: s.chars,
            was_nfc: s.was_nfc,
            bom_stripped: s.bom_stripped,
            line_endings_normalized: s.line_endings_normalized,
            normalized: String::new(),
        },
        title: encoded.title,
    })
}

fn unit_of(u: EncodedUnit) -> Result<Unit, String> {
    let offset = |at: u64| {
        usize::try_from(at).map_err(|_| format!("unit {} has an offset past memory: {at}", u.eid))
    };
    let (start, end) = (offset(u.start)?, offset(u.end)?);
    if start > end {
        return Err(format!("unit {} spans bytes {start}..{end}", u.eid));
    }
    Ok(Unit {
        eid: u.eid,
        parent_eid: u.parent_eid,
        kind: u.kind,
        ordinal: u.ordinal,
        number: u.number,
        heading: u.heading,
        text: String::new(),
        text_sha: hex::encode(u.text_sha),
        start,
        end,
        duplicate_of: u.duplicate_of,
    })
}

fn digest_bytes(hex_digest: &str, what: &str) -> Result<Digest, String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_digest, &mut out)
        .map_err(|e| format!("{what} is not a sha256 in hex: {e}"))?;
    Ok(out)
}
