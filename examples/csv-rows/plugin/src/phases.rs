//! The four phases of csv-rows, generic over the SDK's [`Caps`]:
//!
//! 1. `pin` (source): sha256, size, UTF-8 without control characters;
//! 2. `plan` (source): parse strictly, count the records, digest them — the
//!    approval `load_ok` binds to `plan.rows_digest`;
//! 3. `load` (source, store `csv_files`/`csv_rows` insert): parse again,
//!    refuse unless the digest is the approved one, insert in batches
//!    (idempotent, so a resumed load inserts nothing twice);
//! 4. `verify` (store read): read the rows back, recompute every row's
//!    digest and the rows digest.

use phasehost_sdk::{CapError, Caps, EvidenceSet, Input, Level, Refusal, RefusalKind, evidence};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::{self, FILES_TABLE, Problem, ProblemKind, ROWS_TABLE};

/// How many rows of the file the approver sees in the review.
const REVIEW_ROWS: usize = 5;

fn refusal(p: Problem) -> Refusal {
    let kind = match p.kind {
        ProblemKind::Empty => RefusalKind::EmptyInput,
        ProblemKind::Encoding => RefusalKind::BadEncoding,
        ProblemKind::Cap => RefusalKind::CapExceeded,
        ProblemKind::Malformed => RefusalKind::UnknownDocument,
    };
    Refusal::new(kind, p.message)
}

fn cap_failed(what: &'static str) -> impl Fn(CapError) -> Refusal {
    move |e| Refusal::new(RefusalKind::CapabilityFailed, format!("{what}: {e}"))
}

fn evidence_of(input: &Input) -> Result<EvidenceSet, Refusal> {
    EvidenceSet::parse(input.evidence.iter().map(|(p, j)| (p.as_str(), j.as_str())))
        .map_err(Refusal::invariant)
}

fn config<T: for<'de> Deserialize<'de>>(input: &Input) -> Result<T, Refusal> {
    let text = if input.config.trim().is_empty() {
        "{}"
    } else {
        &input.config
    };
    phasehost_sdk::parse_config(text).map_err(Refusal::invariant)
}

/// `[phases.config]` of `pin`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PinConfig {
    /// The largest file accepted, in bytes.
    #[serde(default = "default_max_bytes")]
    max_bytes: u64,
}

fn default_max_bytes() -> u64 {
    16 << 20
}

/// `[phases.config]` of `plan`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanConfig {
    /// The most records accepted.
    #[serde(default = "default_max_rows")]
    max_rows: u64,
}

fn default_max_rows() -> u64 {
    100_000
}

/// `[phases.config]` of `load`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadConfig {
    /// Rows per insert call.
    #[serde(default = "default_batch")]
    batch_size: usize,
}

fn default_batch() -> usize {
    1000
}

/// `pin`: the file's sha256 and size; refuses an empty file, one that is
/// not UTF-8 or holds control characters, and one over `max_bytes`.
pub fn run_pin<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let cfg: PinConfig = config(input)?;
    let bytes = caps.read_source().map_err(cap_failed("read the source"))?;
    let pinned = domain::pin(&bytes, cfg.max_bytes).map_err(refusal)?;
    caps.log(
        Level::Info,
        &format!("pinned {} bytes, sha256 {}", pinned.bytes, pinned.sha256),
    );
    Ok(evidence([
        ("sha256", json!(pinned.sha256)),
        ("bytes", json!(pinned.bytes)),
        ("encoding", json!("utf-8")),
        ("bom", json!(pinned.bom)),
        ("line_ending", json!(pinned.line_ending)),
        ("max_bytes", json!(cfg.max_bytes)),
    ]))
}

/// The source, checked to be the bytes `pin` pinned, parsed.
fn pinned_source<C: Caps>(
    ev: &EvidenceSet,
    caps: &mut C,
    max_rows: u64,
) -> Result<(String, domain::Parsed), Refusal> {
    let pinned = ev.str_field("pin", "sha256").map_err(Refusal::invariant)?;
    let bytes = caps.read_source().map_err(cap_failed("read the source"))?;
    let sha256 = domain::sha256_hex(&bytes);
    if sha256 != pinned {
        return Err(Refusal::invariant(format!(
            "the source's sha256 is {sha256}, but pin pinned {pinned}"
        )));
    }
    let text = domain::text_of(&bytes).map_err(refusal)?;
    Ok((sha256, domain::parse(text, max_rows).map_err(refusal)?))
}

/// `plan`: parse the pinned file, count and digest its records; the review
/// shows the approver the columns, the count and the first rows.
pub fn run_plan<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let cfg: PlanConfig = config(input)?;
    let ev = evidence_of(input)?;
    let (sha256, parsed) = pinned_source(&ev, caps, cfg.max_rows)?;
    let digest = parsed.rows_digest();
    let rows = parsed.records.len();
    caps.log(
        Level::Info,
        &format!(
            "{rows} records of {} columns, rows digest {digest}",
            parsed.header.len()
        ),
    );
    let sample: Vec<Value> = parsed
        .records
        .iter()
        .take(REVIEW_ROWS)
        .map(|r| json!(r.fields))
        .collect();
    let review = json!({
        "title": format!("Load {rows} CSV rows of {} (version {})", input.document_id, input.version),
        "facts": [
            {"label": "File sha256", "value": sha256},
            {"label": "Columns", "value": parsed.header.join(", ")},
            {"label": "Records", "value": rows.to_string()},
            {"label": "Rows digest", "value": digest},
        ],
        "warnings": [],
        "tables": [{
            "title": format!("First {} of {rows} rows", sample.len()),
            "columns": parsed.header,
            "rows": sample,
        }],
    });
    Ok(evidence([
        ("source_sha256", json!(sha256)),
        ("columns", json!(parsed.header)),
        ("rows", json!(rows)),
        ("max_rows", json!(cfg.max_rows)),
        ("rows_digest", json!(digest)),
        ("review", review),
    ]))
}

/// `load`: parse the pinned file again and refuse unless its rows digest
/// is the one `plan` reported (and the approval bound to); then insert the
/// file's row and its records in batches. Idempotent: rows already there
/// with the same content are skipped.
pub fn run_load<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let cfg: LoadConfig = config(input)?;
    if cfg.batch_size == 0 {
        return Err(Refusal::invariant("batch_size must be at least 1"));
    }
    let ev = evidence_of(input)?;
    let approved = ev
        .str_field("plan", "rows_digest")
        .map_err(Refusal::invariant)?;
    let max_rows = ev
        .u64_field("plan", "max_rows")
        .map_err(Refusal::invariant)?;
    let (sha256, parsed) = pinned_source(&ev, caps, max_rows)?;
    let digest = parsed.rows_digest();
    if digest != approved {
        return Err(Refusal::invariant(format!(
            "the rows digest is {digest}, not the planned (and approved) {approved}"
        )));
    }
    let file = json!({
        "version": input.version,
        "source_sha256": sha256,
        "columns": domain::fields_json(&parsed.header),
        "rows": parsed.records.len(),
        "rows_digest": digest,
    });
    let mut inserted = caps
        .insert(FILES_TABLE, &[file.to_string()])
        .map_err(cap_failed("insert into csv_files"))?;
    let mut batches = 0u64;
    for chunk in parsed.records.chunks(cfg.batch_size) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|r| {
                json!({
                    "version": input.version,
                    "seq": r.seq,
                    "line": r.line,
                    "fields": r.fields_json(),
                    "row_sha256": r.sha256(),
                })
                .to_string()
            })
            .collect();
        inserted += caps
            .insert(ROWS_TABLE, &rows)
            .map_err(cap_failed("insert into csv_rows"))?;
        batches += 1;
    }
    caps.log(
        Level::Info,
        &format!(
            "{} rows in {batches} batches, {inserted} rows inserted (files row included)",
            parsed.records.len()
        ),
    );
    Ok(evidence([
        ("rows", json!(parsed.records.len())),
        ("inserted", json!(inserted)),
        ("batches", json!(batches)),
        ("rows_digest", json!(digest)),
    ]))
}

/// One stored row, parsed.
fn row_object(json: &str) -> Result<serde_json::Map<String, Value>, Refusal> {
    match serde_json::from_str(json) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(Refusal::invariant(
            "the store returned a row that is not a JSON object",
        )),
    }
}

/// `verify`: read the version's rows back and recompute each row's digest
/// from its stored fields and the rows digest over them; reports what it
/// found (the gates decide).
pub fn run_verify<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    let filter = [("version", input.version.as_str())];
    let files = caps
        .select(FILES_TABLE, &filter)
        .map_err(cap_failed("select from csv_files"))?;
    let [file] = files.as_slice() else {
        return Err(Refusal::invariant(format!(
            "csv_files has {} rows for version {}, expected 1",
            files.len(),
            input.version
        )));
    };
    let file = row_object(file)?;
    let rows = caps
        .select(ROWS_TABLE, &filter)
        .map_err(cap_failed("select from csv_rows"))?;
    let mut digests = Vec::with_capacity(rows.len());
    let mut mismatched = 0u64;
    let mut first_mismatch = Value::Null;
    for (i, text) in rows.iter().enumerate() {
        let row = row_object(text)?;
        let seq = row.get("seq").and_then(Value::as_i64).unwrap_or(0);
        let fields = row.get("fields").and_then(Value::as_str).unwrap_or("");
        let recomputed = domain::sha256_hex(fields.as_bytes());
        let stored = row.get("row_sha256").and_then(Value::as_str).unwrap_or("");
        let wants_seq = i as i64 + 1;
        if recomputed != stored || seq != wants_seq {
            mismatched += 1;
            if first_mismatch.is_null() {
                first_mismatch = json!({"seq": seq, "expected_seq": wants_seq});
            }
        }
        digests.push((seq, recomputed));
    }
    let digest = domain::rows_digest(digests);
    caps.log(
        Level::Info,
        &format!(
            "read back {} rows, digest {digest}, {mismatched} mismatched",
            rows.len()
        ),
    );
    Ok(evidence([
        ("rows", json!(rows.len())),
        ("rows_digest", json!(digest)),
        (
            "file_rows",
            file.get("rows").cloned().unwrap_or(Value::Null),
        ),
        (
            "file_rows_digest",
            file.get("rows_digest").cloned().unwrap_or(Value::Null),
        ),
        ("mismatched_rows", json!(mismatched)),
        ("first_mismatch", first_mismatch),
    ]))
}
