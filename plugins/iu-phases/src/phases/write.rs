//! cut_leg_a, structural_verify, leg_b_record, write_verify: the writes
//! between SG_1 and SG_2 and their read-back checks.

use std::collections::{BTreeMap, BTreeSet};

use iu_core::{CutPlan, Pinned, StoredUnit};
use serde_json::{Map, Value, json};

use crate::common::{
    Config, LIST_CAP, approved_plan, cap_failed, col_str, col_u64, ev_str, evidence, info,
    insert_batches, recompute, require_plan_digest, select_rows, with_texts,
};
use crate::domain::{
    Diff, EnvelopeKey, UnitKey, diff_eids, envelope_id, envelopes_digest, id_digest, units_digest,
    verify_digest,
};
use crate::review::{Verified, diff_field, write_verify_review};
use crate::{Caps, Input, Refusal, RefusalKind};

fn unit_keys<'a>(plan: &'a CutPlan) -> impl Iterator<Item = UnitKey<'a>> {
    plan.units.iter().enumerate().map(|(i, u)| UnitKey {
        seq: i as u64,
        eid: &u.eid,
        parent_eid: u.parent_eid.as_deref(),
        kind: u.kind.as_str(),
        ordinal: u64::from(u.ordinal),
        text_sha: &u.text_sha,
    })
}

fn row_key(r: &Map<String, Value>) -> Option<UnitKey<'_>> {
    Some(UnitKey {
        seq: col_u64(r, "seq")?,
        eid: col_str(r, "eid")?,
        parent_eid: col_str(r, "parent_eid"),
        kind: col_str(r, "kind")?,
        ordinal: col_u64(r, "ordinal")?,
        text_sha: col_str(r, "text_sha")?,
    })
}

/// `cut_leg_a`: recompute the plan and check its digest against cutplan's
/// and SG_1's; register the document (if absent) and the version (seq =
/// 1 + the highest seq of the document's other versions, status `staged`),
/// then insert the units (status `staged`) in batches of config
/// `batch_size` (default 2000), one `insert` call per batch. Idempotent: rows
/// already present are checked, not rewritten; a re-run inserts 0.
pub fn run_cut_leg_a<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let ev = evidence(input)?;
    let cfg = Config::parse(input)?;
    let batch_size = cfg.batch_size()?;
    let mut planned = approved_plan(&ev, caps)?;
    with_texts(input, &mut planned, caps)?;
    let (pinned, plan) = (&planned.pinned, &planned.plan);
    let approved = ev_str(&ev, "@sg1", "evidence_digest")?;
    if approved != plan.digest {
        return Err(Refusal::invariant(format!(
            "SG_1 approved plan digest {approved}, the plan is {}",
            plan.digest
        )));
    }

    let documents_inserted = register_document(input, &planned.title, caps)?;
    let (seq, version_inserted) = register_version(input, pinned, caps)?;

    // units: check what is already there, insert the rest in batches.
    let v = input.version.as_str();
    let (present, rows) = units_to_insert(input, plan, caps)?;
    let batches = insert_batches(caps, "units", &rows, batch_size)?;
    let inserted: u64 = batches.iter().sum();
    let in_store = caps
        .count("units", &[("version", v)])
        .map_err(cap_failed("count units"))?;
    info(
        caps,
        &format!(
            "leg A: {inserted} unit(s) inserted in {} batch(es), {present} already present, {in_store} in store",
            batches.len(),
        ),
    );
    Ok(json!({
        "plan_digest": plan.digest,
        "batch_size": batch_size,
        "batch_count": batches.len(),
        "batches": batches.iter().take(LIST_CAP).collect::<Vec<_>>(),
        "units_planned": plan.units.len(),
        "units_inserted": inserted,
        "units_already_present": present,
        "units_in_store": in_store,
        "documents_inserted": documents_inserted,
        "source_version_inserted": version_inserted,
        "source_version_seq": seq,
        "written_digest": units_digest(v, unit_keys(plan)),
    })
    .to_string())
}

/// The `documents` row of the run's document: inserted if absent. Returns
/// how many rows were inserted (0 or 1).
fn register_document<C: Caps>(input: &Input, title: &str, caps: &mut C) -> Result<u64, Refusal> {
    let docs = select_rows(caps, "documents", &[])?;
    if !docs.is_empty() {
        return Ok(0);
    }
    let row = json!({
        "document_id": input.document_id,
        "title": title,
        "first_seen_run": input.run_id,
    })
    .to_string();
    caps.insert("documents", &[row])
        .map_err(cap_failed("insert into documents"))
}

/// The `source_versions` row of this version: an existing one is kept (it
/// must be of the same source and not retired), else one is added with
/// seq = 1 + the highest seq of the other versions. Returns (seq, rows
/// inserted).
fn register_version<C: Caps>(
    input: &Input,
    pinned: &Pinned,
    caps: &mut C,
) -> Result<(u64, u64), Refusal> {
    let versions = select_rows(caps, "source_versions", &[])?;
    if let Some(row) = versions
        .iter()
        .find(|r| col_str(r, "version") == Some(input.version.as_str()))
    {
        if col_str(row, "raw_sha256") != Some(pinned.raw_sha256.as_str()) {
            return Err(Refusal::new(
                RefusalKind::DuplicateDocument,
                format!(
                    "version {} is registered with another source",
                    input.version
                ),
            ));
        }
        if col_str(row, "status") == Some("retired") {
            return Err(Refusal::new(
                RefusalKind::DuplicateDocument,
                format!("version {} is retired", input.version),
            ));
        }
        return Ok((col_u64(row, "seq").unwrap_or(0), 0));
    }
    let seq = 1 + versions
        .iter()
        .filter_map(|r| col_u64(r, "seq"))
        .max()
        .unwrap_or(0);
    let row = json!({
        "document_id": input.document_id,
        "version": input.version,
        "seq": seq,
        "raw_sha256": pinned.raw_sha256,
        "normalized_sha256": pinned.normalized_sha256,
        "raw_bytes": pinned.raw_bytes,
        "normalized_bytes": pinned.normalized_bytes,
        "chars": pinned.chars,
        "status": "staged",
    })
    .to_string();
    let inserted = caps
        .insert("source_versions", &[row])
        .map_err(cap_failed("insert into source_versions"))?;
    Ok((seq, inserted))
}

/// The plan's units not yet stored for this version, as rows; a unit that
/// is stored must be stored as planned. Returns (how many are already
/// present, the rows to insert).
fn units_to_insert<C: Caps>(
    input: &Input,
    plan: &CutPlan,
    caps: &mut C,
) -> Result<(usize, Vec<String>), Refusal> {
    let v = input.version.as_str();
    let already = caps
        .count("units", &[("version", v)])
        .map_err(cap_failed("count units"))?;
    let mut present: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    if already > 0 {
        for r in select_rows(caps, "units", &[("version", v)])? {
            let eid = col_str(&r, "eid").unwrap_or_default().to_string();
            present.insert(eid, r);
        }
    }
    let mut rows = Vec::with_capacity(plan.units.len() - present.len().min(plan.units.len()));
    for (key, u) in unit_keys(plan).zip(&plan.units) {
        if let Some(existing) = present.get(key.eid) {
            if row_key(existing).as_ref() != Some(&key) {
                return Err(Refusal::invariant(format!(
                    "unit {} of version {v} is stored differently from the plan",
                    key.eid
                )));
            }
            continue;
        }
        rows.push(
            json!({
                "document_id": input.document_id,
                "version": v,
                "eid": u.eid,
                "parent_eid": u.parent_eid,
                "kind": u.kind.as_str(),
                "ordinal": u.ordinal,
                "number": u.number,
                "heading": u.heading,
                "text": u.text,
                "text_sha": u.text_sha,
                "seq": key.seq,
                "status": "staged",
            })
            .to_string(),
        );
    }
    Ok((present.len(), rows))
}

fn stored_unit(r: &Map<String, Value>) -> Option<StoredUnit> {
    Some(StoredUnit {
        document_id: col_str(r, "document_id")?.to_string(),
        version: col_str(r, "version")?.to_string(),
        seq: col_u64(r, "seq")?,
        eid: col_str(r, "eid")?.to_string(),
        parent_eid: col_str(r, "parent_eid").map(str::to_string),
        kind: col_str(r, "kind")?.to_string(),
        ordinal: u32::try_from(col_u64(r, "ordinal")?).ok()?,
        text: col_str(r, "text")?.to_string(),
        text_sha: col_str(r, "text_sha")?.to_string(),
    })
}

/// `structural_verify`: read the version's units back (one select), run the
/// 11 structural probes against the recomputed plan and regions; any false
/// probe is refused (`invariant-failed`) naming it.
pub fn run_structural_verify<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let ev = evidence(input)?;
    let (pinned, regions, plan) = recompute(input, &ev, caps)?;
    require_plan_digest(&ev, &plan)?;
    let rows = select_rows(caps, "units", &[("version", input.version.as_str())])?;
    let stored: Vec<StoredUnit> = rows
        .iter()
        .map(|r| stored_unit(r).ok_or_else(|| Refusal::invariant("a units row lacks a column")))
        .collect::<Result<_, _>>()?;
    let probes = iu_core::structural_probes(&plan, &stored, &pinned.normalized_sha256, &regions);
    let failed = probes.failed();
    if !failed.is_empty() {
        return Err(Refusal::invariant(format!(
            "structural probes failed: {}",
            failed.join(", ")
        )));
    }
    info(
        caps,
        &format!("11 structural probes hold over {} rows", stored.len()),
    );
    let map: Map<String, Value> = probes
        .as_array()
        .iter()
        .map(|(n, b)| (n.to_string(), Value::Bool(*b)))
        .collect();
    Ok(json!({
        "plan_digest": plan.digest,
        "rows_read": stored.len(),
        "probes": map,
        "failed": failed,
    })
    .to_string())
}

/// `leg_b_record`: one envelope per unit, with the deterministic id
/// [`envelope_id`], inserted in batches; idempotent.
pub fn run_leg_b_record<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let ev = evidence(input)?;
    let cfg = Config::parse(input)?;
    let batch_size = cfg.batch_size()?;
    let planned = approved_plan(&ev, caps)?;
    let (pinned, plan) = (&planned.pinned, &planned.plan);
    let v = input.version.as_str();
    let ids: Vec<String> = plan
        .units
        .iter()
        .map(|u| envelope_id(&input.document_id, v, &u.eid))
        .collect();
    let rows: Vec<String> = plan
        .units
        .iter()
        .zip(&ids)
        .map(|(u, id)| {
            json!({
                "envelope_id": id,
                "document_id": input.document_id,
                "version": v,
                "eid": u.eid,
                "text_sha": u.text_sha,
                "plan_digest": plan.digest,
                "source_sha256": pinned.raw_sha256,
            })
            .to_string()
        })
        .collect();
    let batches = insert_batches(caps, "envelopes", &rows, batch_size)?;
    let inserted: u64 = batches.iter().sum();
    let in_store = caps
        .count("envelopes", &[("version", v)])
        .map_err(cap_failed("count envelopes"))?;
    info(
        caps,
        &format!("leg B: {inserted} envelope(s) inserted, {in_store} in store"),
    );
    Ok(json!({
        "plan_digest": plan.digest,
        "envelopes_planned": ids.len(),
        "envelopes_inserted": inserted,
        "envelopes_in_store": in_store,
        "batch_size": batch_size,
        "batch_count": batches.len(),
        "id_digest": id_digest(ids.iter().map(String::as_str)),
    })
    .to_string())
}

/// How the unit rows read back (in seq order) differ from the plan.
fn unit_problems(plan: &CutPlan, unit_rows: &[Option<UnitKey>]) -> Vec<String> {
    let mut problems = Vec::new();
    if unit_rows.len() != plan.units.len() {
        problems.push(format!(
            "{} unit rows, {} planned",
            unit_rows.len(),
            plan.units.len()
        ));
    }
    for (planned, read) in unit_keys(plan).zip(unit_rows) {
        if read.as_ref() != Some(&planned) {
            problems.push(format!("unit {} differs from the plan", planned.eid));
        }
    }
    problems
}

/// How the envelopes read back differ from one envelope per planned unit
/// with the right id, text_sha, plan digest and source.
fn envelope_problems(
    input: &Input,
    pinned: &Pinned,
    plan: &CutPlan,
    envs: &[Map<String, Value>],
) -> Vec<String> {
    let v = input.version.as_str();
    let mut problems = Vec::new();
    let mut by_eid: BTreeMap<&str, Vec<&Map<String, Value>>> = BTreeMap::new();
    for e in envs {
        by_eid
            .entry(col_str(e, "eid").unwrap_or_default())
            .or_default()
            .push(e);
    }
    if envs.len() != plan.units.len() {
        problems.push(format!(
            "{} envelopes, {} units planned",
            envs.len(),
            plan.units.len()
        ));
    }
    for u in &plan.units {
        let ok = match by_eid.get(u.eid.as_str()).map(Vec::as_slice) {
            Some([e]) => {
                col_str(e, "envelope_id")
                    == Some(envelope_id(&input.document_id, v, &u.eid).as_str())
                    && col_str(e, "text_sha") == Some(u.text_sha.as_str())
                    && col_str(e, "plan_digest") == Some(plan.digest.as_str())
                    && col_str(e, "source_sha256") == Some(pinned.raw_sha256.as_str())
            }
            _ => false,
        };
        if !ok {
            problems.push(format!(
                "envelope of {} is missing, doubled or wrong",
                u.eid
            ));
        }
    }
    problems
}

/// `write_verify`: re-read the version's units and envelopes (one select
/// each) and compare them with the recomputed plan: every eid, text_sha,
/// parent, kind, ordinal and seq; exactly one envelope per unit with the
/// right id. Evidence carries `verify_digest`, which SG_2 binds to, the
/// eId `diff` against the version in force (counts, first eIds), and the
/// `review` the SG_2 approver is shown.
pub fn run_write_verify<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let ev = evidence(input)?;
    let planned = approved_plan(&ev, caps)?;
    let (pinned, plan) = (&planned.pinned, &planned.plan);
    let v = input.version.as_str();
    let mut units = select_rows(caps, "units", &[("version", v)])?;
    let mut envs = select_rows(caps, "envelopes", &[("version", v)])?;
    units.sort_by_key(|r| col_u64(r, "seq"));
    envs.sort_by(|a, b| col_str(a, "envelope_id").cmp(&col_str(b, "envelope_id")));

    let unit_rows: Vec<Option<UnitKey>> = units.iter().map(row_key).collect();
    let mut problems = unit_problems(plan, &unit_rows);
    problems.extend(envelope_problems(input, pinned, plan, &envs));
    if !problems.is_empty() {
        let shown: Vec<&str> = problems.iter().take(20).map(String::as_str).collect();
        return Err(Refusal::invariant(format!(
            "write_verify found {} mismatch(es): {}",
            problems.len(),
            shown.join("; ")
        )));
    }
    let ud = units_digest(v, unit_rows.into_iter().flatten());
    let ed = envelopes_digest(envs.iter().map(|e| EnvelopeKey {
        envelope_id: col_str(e, "envelope_id").unwrap_or_default(),
        eid: col_str(e, "eid").unwrap_or_default(),
        text_sha: col_str(e, "text_sha").unwrap_or_default(),
        plan_digest: col_str(e, "plan_digest").unwrap_or_default(),
        source_sha256: col_str(e, "source_sha256").unwrap_or_default(),
    }));
    let digest = verify_digest(&plan.digest, &ud, &ed);
    let (diff, against, this_in_force) = diff_against_in_force(caps, plan, v)?;
    let review = write_verify_review(
        &Verified {
            document_id: &input.document_id,
            version: v,
            plan_digest: &plan.digest,
            verify_digest: &digest,
            units_read: units.len(),
            envelopes_read: envs.len(),
        },
        &diff,
        &against,
        this_in_force,
    );
    info(
        caps,
        &format!(
            "verified {} units and {} envelopes: {digest}",
            units.len(),
            envs.len()
        ),
    );
    Ok(json!({
        "ok": true,
        "plan_digest": plan.digest,
        "units_read": units.len(),
        "envelopes_read": envs.len(),
        "mismatches": 0,
        "units_digest": ud,
        "envelopes_digest": ed,
        "verify_digest": digest,
        "diff": diff_field(&diff, &against, this_in_force),
        "review": review.to_json(),
    })
    .to_string())
}

/// The eId diff of the plan against the units in force (one select of the
/// document's in-force rows): the version(s) diffed against, and whether
/// this version's own rows are already in force. Normally the rows in force
/// belong to other versions, and `lifecycle_enact` enacts the same diff; on
/// a re-run of the version in force the diff is against its own rows (all
/// unchanged), where lifecycle_enact, which retires nothing, reports every
/// unit as added.
fn diff_against_in_force<C: Caps>(
    caps: &mut C,
    plan: &CutPlan,
    version: &str,
) -> Result<(Diff, Vec<String>, bool), Refusal> {
    let in_force = select_rows(caps, "units", &[("status", "in_force")])?;
    let this_in_force = in_force
        .iter()
        .any(|r| col_str(r, "version") == Some(version));
    let others = in_force
        .iter()
        .any(|r| col_str(r, "version") != Some(version));
    let mut old: Vec<&Map<String, Value>> = in_force
        .iter()
        .filter(|r| !others || col_str(r, "version") != Some(version))
        .collect();
    old.sort_by_key(|r| (col_str(r, "version"), col_u64(r, "seq")));
    let against: Vec<String> = old
        .iter()
        .filter_map(|r| col_str(r, "version"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(str::to_string)
        .collect();
    let old_pairs: Vec<(&str, &str)> = old
        .iter()
        .map(|r| {
            (
                col_str(r, "eid").unwrap_or_default(),
                col_str(r, "text_sha").unwrap_or_default(),
            )
        })
        .collect();
    let new_pairs: Vec<(&str, &str)> = plan
        .units
        .iter()
        .map(|u| (u.eid.as_str(), u.text_sha.as_str()))
        .collect();
    Ok((diff_eids(&old_pairs, &new_pairs), against, this_in_force))
}
