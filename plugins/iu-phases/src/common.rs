//! Helpers the phases share: evidence and config access, recomputing the
//! pinned text / regions / plan, refusals for capability errors, rows.

use iu_core::{CutPlan, MarkError, MarkReport, Marked, Pinned, Region, SourceError};
use phasehost_sdk::EvidenceSet;
use serde_json::{Map, Value};

use crate::artifact::{self, PLAN_ARTIFACT, PlannedSource};
use crate::{CapError, Caps, Input, Level, Refusal, RefusalKind};

/// Lists in evidence are capped at this many entries (full counts are kept).
pub const LIST_CAP: usize = 200;

/// Default batch size for inserts (rows per `insert` call).
pub const DEFAULT_BATCH_SIZE: u64 = 2000;

/// The evidence of earlier phases (pseudo-evidence included).
pub fn evidence(input: &Input) -> Result<EvidenceSet, Refusal> {
    EvidenceSet::parse(input.evidence.iter().map(|(p, j)| (p.as_str(), j.as_str())))
        .map_err(Refusal::invariant)
}

/// A string field of earlier evidence, or `invariant-failed`.
pub fn ev_str<'a>(ev: &'a EvidenceSet, phase: &str, field: &str) -> Result<&'a str, Refusal> {
    ev.str_field(phase, field).map_err(Refusal::invariant)
}

/// The phase's config object (an empty or missing config is `{}`).
pub struct Config(Map<String, Value>);

impl Config {
    /// Parses `input.config`; anything but a JSON object is refused.
    pub fn parse(input: &Input) -> Result<Self, Refusal> {
        if input.config.trim().is_empty() {
            return Ok(Self(Map::new()));
        }
        match serde_json::from_str::<Value>(&input.config) {
            Ok(Value::Object(m)) => Ok(Self(m)),
            Ok(_) => Err(Refusal::invariant("phase config is not a JSON object")),
            Err(e) => Err(Refusal::invariant(format!("phase config is not JSON: {e}"))),
        }
    }

    /// An optional unsigned integer.
    pub fn u64(&self, key: &str) -> Result<Option<u64>, Refusal> {
        match self.0.get(key) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                Refusal::invariant(format!("config `{key}` is not an unsigned integer"))
            }),
        }
    }

    /// An optional boolean (missing = `false`).
    pub fn flag(&self, key: &str) -> Result<bool, Refusal> {
        match self.0.get(key) {
            None => Ok(false),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| Refusal::invariant(format!("config `{key}` is not a boolean"))),
        }
    }

    /// An optional list of strings (missing = empty).
    pub fn str_list(&self, key: &str) -> Result<Vec<String>, Refusal> {
        match self.0.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        Refusal::invariant(format!("config `{key}` has a non-string entry"))
                    })
                })
                .collect(),
            Some(_) => Err(Refusal::invariant(format!("config `{key}` is not a list"))),
        }
    }

    /// `batch_size` (default [`DEFAULT_BATCH_SIZE`], at least 1).
    pub fn batch_size(&self) -> Result<usize, Refusal> {
        let n = self.u64("batch_size")?.unwrap_or(DEFAULT_BATCH_SIZE);
        if n == 0 {
            return Err(Refusal::invariant("config `batch_size` must be at least 1"));
        }
        Ok(n as usize)
    }
}

/// Mark caps from a config (`max_units`, `max_unit_bytes`, `max_depth`;
/// iu-core defaults for what is missing).
pub fn caps_from_config(cfg: &Config) -> Result<iu_core::Caps, Refusal> {
    let d = iu_core::Caps::default();
    Ok(iu_core::Caps {
        max_units: cfg.u64("max_units")?.map_or(d.max_units, |v| v as usize),
        max_unit_bytes: cfg
            .u64("max_unit_bytes")?
            .map_or(d.max_unit_bytes, |v| v as usize),
        max_depth: cfg.u64("max_depth")?.map_or(d.max_depth, |v| v as usize),
    })
}

/// The caps `mark` ran with (its evidence's `caps`), so later phases that
/// recompute the regions use the same; iu-core defaults if mark has not run.
pub fn caps_of_mark(ev: &EvidenceSet) -> iu_core::Caps {
    ev.get("mark")
        .and_then(|m| m.get("caps"))
        .and_then(|c| serde_json::from_value::<iu_core::Caps>(c.clone()).ok())
        .unwrap_or_default()
}

/// A capability call failed: `capability-failed` naming what was asked.
pub fn cap_failed(what: &str) -> impl FnOnce(CapError) -> Refusal + '_ {
    move |e| Refusal::new(RefusalKind::CapabilityFailed, format!("{what}: {e}"))
}

/// Reads and pins the source (empty → `empty-input`, not UTF-8 or a C0
/// control character → `bad-encoding`, with its byte offset and line).
pub fn read_pinned<C: Caps>(input: &Input, caps: &mut C) -> Result<Pinned, Refusal> {
    let raw = caps
        .read_source()
        .map_err(cap_failed("reading the source"))?;
    iu_core::pin(&raw).map_err(|e| {
        let kind = match e {
            SourceError::Empty | SourceError::OnlyWhitespace => RefusalKind::EmptyInput,
            SourceError::NotUtf8 { .. } | SourceError::ControlChar { .. } => {
                RefusalKind::BadEncoding
            }
        };
        Refusal::new(
            kind,
            format!("source of `{}` refused: {e}", input.document_id),
        )
    })
}

/// Why the pinned text cannot be marked: no structure → `unknown-document`,
/// a cap → `cap-exceeded`.
fn mark_refusal(input: &Input, e: MarkError) -> Refusal {
    let kind = match e {
        MarkError::NoStructure => RefusalKind::UnknownDocument,
        MarkError::CapExceeded { .. } => RefusalKind::CapExceeded,
    };
    Refusal::new(
        kind,
        format!("`{}` cannot be marked: {e}", input.document_id),
    )
}

/// Marks the pinned text: the regions, with the report of the
/// marker-looking lines that did not become regions.
pub fn marked_report(
    input: &Input,
    pinned: &Pinned,
    caps: &iu_core::Caps,
) -> Result<(Vec<Region>, MarkReport), Refusal> {
    iu_core::mark_report(&pinned.normalized, caps).map_err(|e| mark_refusal(input, e))
}

/// [`marked_report`], the regions kept with the pinned text for [`planned`].
pub fn marked_text<'p>(
    input: &Input,
    pinned: &'p Pinned,
    caps: &iu_core::Caps,
) -> Result<Marked<'p>, Refusal> {
    iu_core::mark_text(&pinned.normalized, caps).map_err(|e| mark_refusal(input, e))
}

/// The cut plan of the marked text.
pub fn planned(input: &Input, marked: &Marked<'_>) -> Result<CutPlan, Refusal> {
    marked
        .cut(&input.document_id, &input.version)
        .map_err(|e| Refusal::invariant(format!("no cut plan for `{}`: {e}", input.document_id)))
}

/// Source → pin → mark (with mark's caps) → plan, for the phases that
/// recompute the plan instead of trusting earlier evidence.
pub fn recompute<C: Caps>(
    input: &Input,
    ev: &EvidenceSet,
    caps: &mut C,
) -> Result<(Pinned, Vec<Region>, CutPlan), Refusal> {
    let pinned = read_pinned(input, caps)?;
    let marked = marked_text(input, &pinned, &caps_of_mark(ev))?;
    let plan = planned(input, &marked)?;
    let (regions, _) = marked.into_parts();
    Ok((pinned, regions, plan))
}

/// `cutplan`: put the plan of `pinned` into the plan artifact (see
/// [`artifact`](crate::artifact): without the units' texts, which are the
/// source's again and would double the bytes the run folder holds, the
/// host scans and every later phase reads); returns the sha256 the host
/// reports for what it stored.
pub fn put_plan<C: Caps>(caps: &mut C, plan: &CutPlan, pinned: &Pinned) -> Result<String, Refusal> {
    let bytes = artifact::encode(plan, pinned, &title_of(&pinned.normalized))
        .map_err(|e| Refusal::invariant(format!("the plan artifact: {e}")))?;
    caps.put_artifact(PLAN_ARTIFACT, &bytes)
        .map_err(cap_failed("put the plan artifact"))
}

/// The plan `cutplan` derived, for the phases after SG_1, instead of
/// deriving it again from the source (without the units' texts: see
/// [`with_texts`]). The artifact lies in the run folder
/// across the pause, so nothing in it is trusted: it is used only when its
/// sha256 is the one `cutplan`'s evidence recorded (evidence the host
/// checks against the state and the store before any phase sees it), its
/// plan digest the one `cutplan` recorded and SG_1 approved, and its source
/// the one `source_pin` pinned.
pub fn approved_plan<C: Caps>(ev: &EvidenceSet, caps: &mut C) -> Result<PlannedSource, Refusal> {
    let bytes = caps
        .get_artifact(PLAN_ARTIFACT)
        .map_err(cap_failed("get the plan artifact"))?;
    let recorded = ev_str(ev, "cutplan", "plan_artifact_sha256")?;
    let held = iu_core::sha256_hex(&bytes);
    if held != recorded {
        return Err(Refusal::invariant(format!(
            "the plan artifact's sha256 is {held}, cutplan recorded {recorded}: it changed after cutplan ran"
        )));
    }
    let planned = artifact::decode(&bytes)
        .map_err(|e| Refusal::invariant(format!("the plan artifact is refused: {e}")))?;
    require_plan_digest(ev, &planned.plan)?;
    let pinned_raw = ev_str(ev, "source_pin", "raw_sha256")?;
    if planned.pinned.raw_sha256 != pinned_raw {
        return Err(Refusal::invariant(format!(
            "the plan was cut from source {}, source_pin pinned {pinned_raw}",
            planned.pinned.raw_sha256
        )));
    }
    Ok(planned)
}

/// The units' texts of an approved plan, cut again from the source read
/// now: the source must be the one the plan was cut from (its raw
/// sha256), and every span must be whole characters of the normalized
/// text whose sha256 is the unit's `text_sha` (the digest SG_1 approved
/// through the plan digest).
pub fn with_texts<C: Caps>(
    input: &Input,
    planned: &mut PlannedSource,
    caps: &mut C,
) -> Result<(), Refusal> {
    let source = read_pinned(input, caps)?;
    if source.raw_sha256 != planned.pinned.raw_sha256 {
        return Err(Refusal::invariant(format!(
            "the source read now has sha256 {}, the plan was cut from {}",
            source.raw_sha256, planned.pinned.raw_sha256
        )));
    }
    for unit in &mut planned.plan.units {
        let text = source.normalized.get(unit.start..unit.end).ok_or_else(|| {
            Refusal::invariant(format!(
                "unit {} of the plan artifact spans bytes {}..{}, not text of the {}-byte source",
                unit.eid,
                unit.start,
                unit.end,
                source.normalized.len()
            ))
        })?;
        if iu_core::sha256_hex(text.as_bytes()) != unit.text_sha {
            return Err(Refusal::invariant(format!(
                "unit {}'s span of the source does not hash to its text_sha in the plan artifact",
                unit.eid
            )));
        }
        unit.text = text.to_string();
    }
    Ok(())
}

/// The first non-empty line of the text, at most 200 characters.
pub fn title_of(normalized: &str) -> String {
    normalized
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

/// Refuses unless the recomputed plan digest is the one `cutplan` recorded.
pub fn require_plan_digest(ev: &EvidenceSet, plan: &CutPlan) -> Result<(), Refusal> {
    let recorded = ev_str(ev, "cutplan", "plan_digest")?;
    if recorded != plan.digest {
        return Err(Refusal::invariant(format!(
            "recomputed plan digest {} differs from cutplan's {recorded}",
            plan.digest
        )));
    }
    Ok(())
}

/// Parses rows returned by `select`.
pub fn parse_rows(table: &str, rows: &[String]) -> Result<Vec<Map<String, Value>>, Refusal> {
    rows.iter()
        .map(|r| match serde_json::from_str::<Value>(r) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(Refusal::invariant(format!(
                "a `{table}` row is not a JSON object"
            ))),
        })
        .collect()
}

/// `select` + [`parse_rows`].
pub fn select_rows<C: Caps>(
    caps: &mut C,
    table: &str,
    filters: &[(&str, &str)],
) -> Result<Vec<Map<String, Value>>, Refusal> {
    let rows = caps
        .select(table, filters)
        .map_err(cap_failed(&format!("select from {table}")))?;
    parse_rows(table, &rows)
}

/// A text column of a row (`None` for null or missing).
pub fn col_str<'a>(row: &'a Map<String, Value>, col: &str) -> Option<&'a str> {
    row.get(col).and_then(Value::as_str)
}

/// An integer column of a row.
pub fn col_u64(row: &Map<String, Value>, col: &str) -> Option<u64> {
    row.get(col).and_then(Value::as_u64)
}

/// Inserts `rows` into `table` in batches of `batch_size` (one boundary
/// crossing per batch); returns rows inserted per batch.
pub fn insert_batches<C: Caps>(
    caps: &mut C,
    table: &str,
    rows: &[String],
    batch_size: usize,
) -> Result<Vec<u64>, Refusal> {
    let mut per_batch = Vec::with_capacity(rows.len().div_ceil(batch_size.max(1)));
    for chunk in rows.chunks(batch_size.max(1)) {
        let n = caps
            .insert(table, chunk)
            .map_err(cap_failed(&format!("insert into {table}")))?;
        per_batch.push(n);
    }
    Ok(per_batch)
}

/// The first [`LIST_CAP`] entries of a list, as JSON.
pub fn capped<T: AsRef<str>>(items: &[T]) -> Value {
    Value::Array(
        items
            .iter()
            .take(LIST_CAP)
            .map(|s| Value::String(s.as_ref().to_string()))
            .collect(),
    )
}

/// Logs one info line.
pub fn info<C: Caps>(caps: &mut C, message: &str) {
    caps.log(Level::Info, message);
}
