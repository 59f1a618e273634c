//! pre_write_backup and grant_probe: the last checks before SG_1.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::common::{Config, cap_failed, evidence, info, select_rows};
use crate::domain::{Bits, Matrix, compare_matrix};
use crate::{Caps, Input, Refusal, RefusalKind};

/// The tables a run of iu-cut may touch, in backup order.
pub const BACKUP_TABLES: [&str; 4] = ["documents", "source_versions", "units", "envelopes"];

/// `pre_write_backup`: snapshot every row of the document in the four
/// plugin tables into the artifact `backup.json` (canonical JSON: keys
/// sorted, rows sorted); in a dry run also put the artifact `DRYRUN`.
pub fn run_pre_write_backup<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let mut tables = Map::new();
    let mut counts = Map::new();
    for t in BACKUP_TABLES {
        let rows = select_rows(caps, t, &[])?;
        let mut texts: Vec<(String, Map<String, Value>)> = rows
            .into_iter()
            .map(|r| (Value::Object(r.clone()).to_string(), r))
            .collect();
        texts.sort_by(|a, b| a.0.cmp(&b.0));
        counts.insert(t.into(), Value::from(texts.len()));
        tables.insert(
            t.into(),
            Value::Array(texts.into_iter().map(|(_, r)| Value::Object(r)).collect()),
        );
    }
    // serde_json's Map is ordered by key: this serialization is canonical.
    let backup = json!({
        "format": "phasehost-backup-v1",
        "document_id": input.document_id,
        "version": input.version,
        "tables": tables,
    })
    .to_string();
    let local_sha = iu_core::sha256_hex(backup.as_bytes());
    let stored_sha = caps
        .put_artifact("backup.json", backup.as_bytes())
        .map_err(cap_failed("put artifact backup.json"))?;
    if stored_sha != local_sha {
        return Err(Refusal::invariant(format!(
            "the host stored backup.json with sha256 {stored_sha}, expected {local_sha}"
        )));
    }
    let mut marker = false;
    if input.dry_run {
        let text = format!(
            "DRY RUN {} of {} {}: store writes are rolled back\n",
            input.run_id, input.document_id, input.version
        );
        caps.put_artifact("DRYRUN", text.as_bytes())
            .map_err(cap_failed("put artifact DRYRUN"))?;
        marker = true;
    }
    info(
        caps,
        &format!("backup.json: {} bytes, sha256 {local_sha}", backup.len()),
    );
    Ok(json!({
        "backup_sha256": local_sha,
        "stored_sha256": stored_sha,
        "backup_bytes": backup.len(),
        "rows": counts,
        "dry_run": input.dry_run,
        "dry_run_marker": marker,
    })
    .to_string())
}

fn matrix_of(v: &Value, what: &str) -> Result<Matrix, Refusal> {
    let obj = v
        .as_object()
        .ok_or_else(|| Refusal::invariant(format!("@host.{what} is not an object")))?;
    obj.iter()
        .map(|(t, l)| {
            let letters = l
                .as_str()
                .ok_or_else(|| Refusal::invariant(format!("@host.{what}.{t} is not a string")))?;
            Bits::parse(letters)
                .map(|b| (t.clone(), b))
                .map_err(|e| Refusal::invariant(format!("@host.{what}.{t}: {e}")))
        })
        .collect()
}

fn letters_of(m: &Matrix) -> BTreeMap<String, String> {
    m.iter().map(|(t, b)| (t.clone(), b.letters())).collect()
}

/// `grant_probe`: compare the store role's 4-bit matrix (`@host.
/// role_privileges`, or on SQLite — where it is null — the plan's own
/// grants) with what the plan needs (`@host.plan_needs`). A missing bit is
/// refused; an extra bit is refused unless config `allow_extra` lists it
/// (`"table:letter"`).
pub fn run_grant_probe<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let ev = evidence(input)?;
    let cfg = Config::parse(input)?;
    let allow = cfg.str_list("allow_extra")?;
    let host = ev.require("@host").map_err(Refusal::invariant)?;
    let needs_v = host
        .get("plan_needs")
        .ok_or_else(|| Refusal::invariant("@host has no plan_needs"))?;
    let needed = matrix_of(needs_v, "plan_needs")?;
    let (present, source) = match host.get("role_privileges") {
        None | Some(Value::Null) => (needed.clone(), "plan"),
        Some(v) => (matrix_of(v, "role_privileges")?, "role"),
    };
    let diff = compare_matrix(&needed, &present);
    let unallowed: Vec<&String> = diff.extra.iter().filter(|e| !allow.contains(e)).collect();
    let matrix: Map<String, Value> = present
        .iter()
        .map(|(t, b)| {
            (
                t.clone(),
                json!({"select": b.r, "insert": b.i, "update": b.u, "delete": b.d}),
            )
        })
        .collect();
    if !diff.missing.is_empty() {
        return Err(Refusal::new(
            RefusalKind::GrantMismatch,
            format!(
                "the store role lacks rights the plan needs: {}",
                diff.missing.join(", ")
            ),
        ));
    }
    if !unallowed.is_empty() {
        let list: Vec<&str> = unallowed.iter().map(|s| s.as_str()).collect();
        return Err(Refusal::new(
            RefusalKind::GrantMismatch,
            format!(
                "the store role has rights the plan does not need: {} (allow them with config allow_extra = [\"{}\"])",
                list.join(", "),
                list.join("\", \"")
            ),
        ));
    }
    info(
        caps,
        &format!(
            "grant matrix of {} table(s) matches the plan ({} allowed extra)",
            present.len(),
            diff.extra.len()
        ),
    );
    Ok(json!({
        "store_kind": host.get("store_kind").cloned().unwrap_or(Value::Null),
        "present_from": source,
        "matrix": matrix,
        "needed": letters_of(&needed),
        "present": letters_of(&present),
        "missing": diff.missing,
        "extra": diff.extra,
        "allowed_extra": allow,
    })
    .to_string())
}
