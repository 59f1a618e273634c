//! source_pin, mark, cutplan: read-only phases before SG_1.

use serde_json::{Value, json};

use crate::common::{
    Config, LIST_CAP, cap_failed, capped, caps_from_config, col_str, col_u64, evidence, info,
    marked_report, marked_text, parse_rows, planned, read_pinned,
};
use crate::{Caps, Input, Refusal, RefusalKind, review};

/// `source_pin`: read the source, pin it (raw and normalized sha256,
/// counts), and look up the document's known versions (`source_versions`,
/// read). A version already `retired` is refused (`duplicate-document`).
/// Writes nothing: SG_1 comes before the first write.
pub fn run_source_pin<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let pinned = read_pinned(input, caps)?;
    let rows = caps
        .select("source_versions", &[])
        .map_err(cap_failed("select from source_versions"))?;
    let rows = parse_rows("source_versions", &rows)?;
    let mut known = Vec::new();
    let mut status: Option<String> = None;
    let mut registered_sha: Option<String> = None;
    for r in &rows {
        let v = col_str(r, "version").unwrap_or_default();
        let st = col_str(r, "status").unwrap_or_default();
        if v == input.version {
            status = Some(st.to_string());
            registered_sha = col_str(r, "raw_sha256").map(str::to_string);
        }
        if known.len() < LIST_CAP {
            known.push(json!({"version": v, "status": st, "seq": col_u64(r, "seq")}));
        }
    }
    if status.as_deref() == Some("retired") {
        return Err(Refusal::new(
            RefusalKind::DuplicateDocument,
            format!(
                "version {} of `{}` was retired; a retired version is not cut again",
                input.version, input.document_id
            ),
        ));
    }
    if let Some(sha) = &registered_sha
        && *sha != pinned.raw_sha256
    {
        return Err(Refusal::new(
            RefusalKind::DuplicateDocument,
            format!(
                "version {} of `{}` is registered with another source sha256",
                input.version, input.document_id
            ),
        ));
    }
    let version_matches = input.version == format!("v-{}", &pinned.raw_sha256[..16]);
    info(
        caps,
        &format!(
            "pinned {} bytes ({} chars), NFC already: {}, {} known version(s)",
            pinned.raw_bytes,
            pinned.chars,
            pinned.was_nfc,
            rows.len()
        ),
    );
    Ok(json!({
        "document_id": input.document_id,
        "version": input.version,
        "raw_sha256": pinned.raw_sha256,
        "normalized_sha256": pinned.normalized_sha256,
        "raw_bytes": pinned.raw_bytes,
        "normalized_bytes": pinned.normalized_bytes,
        "chars": pinned.chars,
        "was_nfc": pinned.was_nfc,
        "bom_stripped": pinned.bom_stripped,
        "line_endings_normalized": pinned.line_endings_normalized,
        "version_matches_source": version_matches,
        "version_status": status,
        "known_versions": known,
        "known_version_count": rows.len(),
    })
    .to_string())
}

/// `mark`: recompute the pin, find the structural regions under the caps of
/// the config (`max_units`, `max_unit_bytes`, `max_depth`), and report the
/// marker-looking lines outside quotations that did not become regions:
/// `absorbed_markers` (count, the first lines, and `allowed` = config
/// `allow_absorbed_markers`, default false; `G-MARK-NO-ABSORBED-MARKERS`
/// stops the run on them unless allowed) and `unmarked_lines` (all of them,
/// counted by kind and reason).
pub fn run_mark<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let cfg = Config::parse(input)?;
    let limits = caps_from_config(&cfg)?;
    let allow_absorbed = cfg.flag(ALLOW_ABSORBED_MARKERS)?;
    let pinned = read_pinned(input, caps)?;
    let (regions, report) = marked_report(input, &pinned, &limits)?;
    let (absorbed, unmarked) = review::mark_fields(&report, allow_absorbed);
    let usage = iu_core::evidence::cap_usage(&regions);
    let dups: Vec<&str> = iu_core::evidence::duplicates(&regions)
        .iter()
        .map(|r| r.eid.as_str())
        .collect();
    let counts = iu_core::evidence::counts(&regions);
    info(
        caps,
        &format!(
            "marked {} regions ({} articles), {} absorbed marker line(s)",
            regions.len(),
            counts.get("article").copied().unwrap_or(0),
            absorbed["count"]
        ),
    );
    Ok(json!({
        "normalized_sha256": pinned.normalized_sha256,
        "regions": regions.len(),
        "counts": counts,
        "region_list_digest": iu_core::evidence::region_list_digest(&regions),
        "caps": limits,
        "cap_usage": usage,
        "duplicates": dups.len(),
        "duplicate_eids": capped(&dups),
        "absorbed_markers": absorbed,
        "unmarked_lines": unmarked,
    })
    .to_string())
}

/// The mark config key that lets a plan accept absorbed markers.
pub const ALLOW_ABSORBED_MARKERS: &str = "allow_absorbed_markers";

/// Whether mark's evidence says the plan allows absorbed markers.
fn absorbed_allowed(ev: &phasehost_sdk::EvidenceSet) -> bool {
    ev.get("mark")
        .and_then(|m| m.get("absorbed_markers"))
        .and_then(|a| a.get("allowed"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The cutplan config key that lets a plan accept invisible bidirectional
/// formatting characters in the text (`G-PLAN-NO-BIDI-CONTROLS`).
pub const ALLOW_BIDI_CONTROLS: &str = "allow_bidi_controls";

/// `cutplan`: recompute pin and mark, cut the plan; evidence is its digest,
/// counts and coverage (the host runs it twice and compares), the hidden
/// control/bidi characters of the text (`control_chars`, with `allowed` =
/// config `allow_bidi_controls`, default false; `G-PLAN-NO-BIDI-CONTROLS`
/// stops the run on them unless allowed), and the `review` the SG_1
/// approver is shown (see [`review::cutplan_review`]).
pub fn run_cutplan<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let ev = evidence(input)?;
    let allow_bidi = Config::parse(input)?.flag(ALLOW_BIDI_CONTROLS)?;
    let pinned = read_pinned(input, caps)?;
    let marked = marked_text(input, &pinned, &crate::common::caps_of_mark(&ev))?;
    let plan = planned(input, &marked)?;
    let complete = plan.coverage_bytes == plan.body_bytes;
    if !complete {
        return Err(Refusal::invariant(format!(
            "coverage {} of {} bytes",
            plan.coverage_bytes, plan.body_bytes
        )));
    }
    info(
        caps,
        &format!("plan {} with {} units", plan.digest, plan.units.len()),
    );
    let artifact_sha256 = crate::common::put_plan(caps, &plan, &pinned)?;
    Ok(json!({
        "document_id": plan.document_id,
        "version": plan.version,
        "plan_digest": plan.digest,
        "plan_artifact_sha256": artifact_sha256,
        "units": plan.units.len(),
        "counts": plan.counts,
        "coverage_bytes": plan.coverage_bytes,
        "body_bytes": plan.body_bytes,
        "coverage_complete": complete,
        "normalized_sha256": pinned.normalized_sha256,
        "region_list_digest": iu_core::evidence::region_list_digest(marked.regions()),
        "max_unit_bytes": plan.units.iter().map(|u| u.text.len()).max().map_or(Value::Null, Value::from),
        "article_numbering": review::numbering_field(&plan),
        "control_chars": review::controls_field(&pinned, allow_bidi),
        "review": review::cutplan_review(&pinned, &plan, marked.report(), absorbed_allowed(&ev), allow_bidi).to_json(),
    })
    .to_string())
}
