//! lifecycle_enact and closeout: after SG_2.

use serde_json::{Map, Value, json};

use crate::common::{LIST_CAP, cap_failed, capped, col_str, ev_str, evidence, info, select_rows};
use crate::domain::diff_eids;

fn as_refs(p: &[(String, String)]) -> Vec<(&str, &str)> {
    p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}
use crate::{Caps, Input, PHASES, Refusal};

fn updated<C: Caps>(
    caps: &mut C,
    table: &str,
    version: &str,
    from: &str,
    to: &str,
) -> Result<u64, Refusal> {
    caps.update(
        table,
        &[("version", version), ("status", from)],
        &json!({ "status": to }).to_string(),
    )
    .map_err(cap_failed(&format!("update {table}")))
}

/// Whether version `v` (which must be registered) is already in force, and
/// the other versions in force, which enacting `v` retires.
fn versions_in_force<C: Caps>(caps: &mut C, v: &str) -> Result<(bool, Vec<String>), Refusal> {
    let versions = select_rows(caps, "source_versions", &[])?;
    let this = versions
        .iter()
        .find(|r| col_str(r, "version") == Some(v))
        .ok_or_else(|| Refusal::invariant(format!("version {v} is not registered")))?;
    let already_in_force = col_str(this, "status") == Some("in_force");
    let previous: Vec<String> = versions
        .iter()
        .filter(|r| col_str(r, "status") == Some("in_force") && col_str(r, "version") != Some(v))
        .filter_map(|r| col_str(r, "version").map(str::to_string))
        .collect();
    Ok((already_in_force, previous))
}

/// The (eid, text_sha) of each unit row.
fn eid_text_pairs(rows: &[Map<String, Value>]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            (
                col_str(r, "eid").unwrap_or_default().to_string(),
                col_str(r, "text_sha").unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Retire the units and source_versions rows of each of `previous` that
/// are in force: (units retired, versions retired).
fn retire<C: Caps>(caps: &mut C, previous: &[String]) -> Result<(u64, u64), Refusal> {
    let mut retired = 0;
    let mut versions_retired = 0;
    for p in previous {
        retired += updated(caps, "units", p, "in_force", "retired")?;
        versions_retired += updated(caps, "source_versions", p, "in_force", "retired")?;
    }
    Ok((retired, versions_retired))
}

/// How many units of `version` are in force.
fn count_in_force<C: Caps>(caps: &mut C, version: &str) -> Result<u64, Refusal> {
    caps.count("units", &[("version", version), ("status", "in_force")])
        .map_err(cap_failed("count units"))
}

/// `lifecycle_enact`: in this phase's transaction, put this version's units
/// and source_versions row in force and retire the version(s) in force
/// before; report the eId diff (added / changed / removed, lists capped at
/// 200, full counts). Only rows in the expected status are updated, so a
/// re-run on a version already in force changes nothing and succeeds.
pub fn run_lifecycle_enact<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let ev = evidence(input)?;
    let verify = ev_str(&ev, "write_verify", "verify_digest")?;
    let approved = ev_str(&ev, "@sg2", "evidence_digest")?;
    if approved != verify {
        return Err(Refusal::invariant(format!(
            "SG_2 approved {approved}, write_verify produced {verify}"
        )));
    }
    let v = input.version.as_str();
    let (already_in_force, previous) = versions_in_force(caps, v)?;

    let new_rows = select_rows(caps, "units", &[("version", v)])?;
    let mut old_rows = Vec::new();
    for p in &previous {
        old_rows.extend(select_rows(caps, "units", &[("version", p.as_str())])?);
    }
    let (new_pairs, old_pairs) = (eid_text_pairs(&new_rows), eid_text_pairs(&old_rows));
    let diff = diff_eids(&as_refs(&old_pairs), &as_refs(&new_pairs));

    let enacted = updated(caps, "units", v, "staged", "in_force")?;
    let version_enacted = updated(caps, "source_versions", v, "staged", "in_force")?;
    let (retired, versions_retired) = retire(caps, &previous)?;
    let in_force = count_in_force(caps, v)?;
    let mut previous_still_in_force = 0;
    for p in &previous {
        previous_still_in_force += count_in_force(caps, p)?;
    }
    info(
        caps,
        &format!(
            "enacted {enacted} unit(s) of {v}, retired {retired} of {}; +{} ~{} -{}",
            if previous.is_empty() {
                "-".to_string()
            } else {
                previous.join(",")
            },
            diff.added.len(),
            diff.changed.len(),
            diff.removed.len()
        ),
    );
    let list = |l: &[String]| json!({ "count": l.len(), "eids": capped(l), "truncated": l.len() > LIST_CAP });
    Ok(json!({
        "version": v,
        "already_in_force": already_in_force,
        "enacted": enacted,
        "version_enacted": version_enacted,
        "retired": retired,
        "versions_retired": versions_retired,
        "previous_version": previous.first(),
        "previous_versions": previous,
        "units": new_rows.len(),
        "previous_units": old_rows.len(),
        "units_in_force": in_force,
        "previous_units_still_in_force": previous_still_in_force,
        "added": list(&diff.added),
        "changed": list(&diff.changed),
        "removed": list(&diff.removed),
        "unchanged": diff.unchanged,
    })
    .to_string())
}

/// `closeout`: audit that every phase from source_pin to lifecycle_enact
/// has evidence, and produce the runs-index entry (the host appends it to
/// the hash-chained runs index and records its hash).
pub fn run_closeout<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let ev = evidence(input)?;
    let required = &PHASES[..PHASES.len() - 1];
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|p| ev.get(p).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(Refusal::invariant(format!(
            "no evidence of phase(s) {}",
            missing.join(", ")
        )));
    }
    let num = |phase: &str, field: &str| -> Result<u64, Refusal> {
        ev.u64_field(phase, field).map_err(Refusal::invariant)
    };
    let mode = ev
        .get("@host")
        .and_then(|h| h.get("mode"))
        .and_then(Value::as_str)
        .unwrap_or(if input.dry_run { "dry" } else { "live" })
        .to_string();
    let lifecycle = ev.require("lifecycle_enact").map_err(Refusal::invariant)?;
    let count_of = |k: &str| {
        lifecycle
            .get(k)
            .and_then(|d| d.get("count"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let entry = json!({
        "run_id": input.run_id,
        "document_id": input.document_id,
        "version": input.version,
        "mode": mode,
        "raw_sha256": ev_str(&ev, "source_pin", "raw_sha256")?,
        "normalized_sha256": ev_str(&ev, "source_pin", "normalized_sha256")?,
        "plan_digest": ev_str(&ev, "cutplan", "plan_digest")?,
        "verify_digest": ev_str(&ev, "write_verify", "verify_digest")?,
        "backup_sha256": ev_str(&ev, "pre_write_backup", "backup_sha256")?,
        "previous_version": lifecycle.get("previous_version").cloned().unwrap_or(Value::Null),
        "counts": {
            "units": num("cutplan", "units")?,
            "units_inserted": num("cut_leg_a", "units_inserted")?,
            "envelopes": num("leg_b_record", "envelopes_in_store")?,
            "enacted": num("lifecycle_enact", "enacted")?,
            "retired": num("lifecycle_enact", "retired")?,
            "added": count_of("added"),
            "changed": count_of("changed"),
            "removed": count_of("removed"),
        },
    });
    info(
        caps,
        &format!("closeout: {} phases evidenced", required.len()),
    );
    Ok(json!({
        "phases_evidenced": required,
        "index_entry": entry,
    })
    .to_string())
}
