//! The iu-cut predicates. Each is a pure function of the evidence of the
//! phases that ran (the host's pseudo-evidence `@host`, `@sg1`, `@sg2`,
//! `@cutplan-rerun` included); missing or malformed evidence is an error,
//! which the host treats as "does not hold" (fail closed).
//!
//! The table of predicates is in `plugins/iu-gates/README.md`.

use phasehost_sdk::{EvidenceSet, is_sha256_hex};
use serde_json::Value;

/// What a predicate returns: holds, and why.
pub type Outcome = Result<(bool, String), String>;

/// One predicate.
pub struct Def {
    /// Unique name.
    pub name: &'static str,
    /// What it checks.
    pub description: &'static str,
    /// The phase it guards.
    pub phase: &'static str,
    /// Checked after the phase (else before).
    pub after: bool,
    /// The check.
    pub check: fn(&EvidenceSet) -> Outcome,
}

// ---------------------------------------------------------------- helpers

fn s<'a>(e: &'a EvidenceSet, phase: &str, field: &str) -> Result<&'a str, String> {
    e.str_field(phase, field)
}

fn n(e: &EvidenceSet, phase: &str, field: &str) -> Result<u64, String> {
    e.u64_field(phase, field)
}

fn at<'a>(e: &'a EvidenceSet, phase: &str, path: &[&str]) -> Result<&'a Value, String> {
    e.path(phase, path)
}

fn at_u64(e: &EvidenceSet, phase: &str, path: &[&str]) -> Result<u64, String> {
    at(e, phase, path)?
        .as_u64()
        .ok_or_else(|| format!("`{phase}.{}` is not an unsigned integer", path.join(".")))
}

fn obj<'a>(
    e: &'a EvidenceSet,
    phase: &str,
    path: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, String> {
    at(e, phase, path)?
        .as_object()
        .ok_or_else(|| format!("`{phase}.{}` is not an object", path.join(".")))
}

fn strings<'a>(e: &'a EvidenceSet, phase: &str, field: &str) -> Result<Vec<&'a str>, String> {
    e.field(phase, field)?
        .as_array()
        .ok_or_else(|| format!("`{phase}.{field}` is not a list"))?
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| format!("`{phase}.{field}` has a non-string entry"))
        })
        .collect()
}

/// Two string fields are equal.
fn same(e: &EvidenceSet, a: (&str, &str), b: (&str, &str)) -> Outcome {
    let x = s(e, a.0, a.1)?;
    let y = s(e, b.0, b.1)?;
    Ok((
        x == y,
        format!("{}.{} = {x}, {}.{} = {y}", a.0, a.1, b.0, b.1),
    ))
}

fn hex(e: &EvidenceSet, phase: &str, field: &str) -> Outcome {
    let v = s(e, phase, field)?;
    Ok((is_sha256_hex(v), format!("{phase}.{field} = {v}")))
}

fn nonempty(e: &EvidenceSet, phase: &str, field: &str) -> Result<bool, String> {
    Ok(e.field(phase, field)?
        .as_str()
        .is_some_and(|v| !v.trim().is_empty()))
}

fn probe(e: &EvidenceSet, name: &str) -> Outcome {
    let v = at(e, "structural_verify", &["probes", name])?
        .as_bool()
        .ok_or_else(|| format!("probe `{name}` is not a boolean"))?;
    Ok((v, format!("probe {name} = {v}")))
}

fn sg_present(e: &EvidenceSet, sg: &str) -> Outcome {
    let phase = format!("@{sg}");
    let gate = s(e, &phase, "gate")?;
    let ok = gate == sg && nonempty(e, &phase, "approval_id")? && nonempty(e, &phase, "key_id")?;
    Ok((
        ok,
        format!("{phase}: gate {gate}, approval and key named: {ok}"),
    ))
}

/// The phases that must have evidence before closeout: every iu-cut phase
/// but closeout itself (the run order is `iu_phases::PHASES`).
pub fn run_phases() -> &'static [&'static str] {
    let (last, before) = iu_phases::PHASES.split_last().expect("iu-cut has phases");
    debug_assert_eq!(*last, "closeout");
    before
}

const BACKUP_TABLES: [&str; 4] = ["documents", "source_versions", "units", "envelopes"];

macro_rules! probe_def {
    ($name:literal, $probe:literal, $what:literal) => {
        Def {
            name: $name,
            description: $what,
            phase: "structural_verify",
            after: true,
            check: |e| probe(e, $probe),
        }
    };
}

// ------------------------------------------------------------- predicates

/// Every predicate of the iu-cut set.
pub const ALL: &[Def] = &[
    // source_pin
    Def {
        name: "G-HOST-CONTEXT",
        description: "the host described the run: store kind sqlite/postgres, mode dry/live, the plan's store needs",
        phase: "source_pin",
        after: false,
        check: |e| {
            let kind = s(e, "@host", "store_kind")?;
            let mode = s(e, "@host", "mode")?;
            obj(e, "@host", &["plan_needs"])?;
            Ok((
                matches!(kind, "sqlite" | "postgres") && matches!(mode, "dry" | "live"),
                format!("store {kind}, mode {mode}"),
            ))
        },
    },
    Def {
        name: "G-SOURCE-SHA-PINNED",
        description: "source_pin recorded sha256 digests of the raw and the normalized source",
        phase: "source_pin",
        after: true,
        check: |e| {
            let raw = e.str_field("source_pin", "raw_sha256")?;
            let norm = e.str_field("source_pin", "normalized_sha256")?;
            Ok((
                is_sha256_hex(raw) && is_sha256_hex(norm),
                format!("raw {raw}, normalized {norm}"),
            ))
        },
    },
    Def {
        name: "G-SOURCE-NONEMPTY",
        description: "the pinned source has at least one byte and one character",
        phase: "source_pin",
        after: true,
        check: |e| {
            let bytes = e.u64_field("source_pin", "raw_bytes")?;
            let chars = e.u64_field("source_pin", "chars")?;
            Ok((
                bytes > 0 && chars > 0,
                format!("{bytes} bytes, {chars} chars"),
            ))
        },
    },
    Def {
        name: "G-SOURCE-COUNTS-CONSISTENT",
        description: "the normalized text is non-empty and has no more characters than bytes",
        phase: "source_pin",
        after: true,
        check: |e| {
            let bytes = n(e, "source_pin", "normalized_bytes")?;
            let chars = n(e, "source_pin", "chars")?;
            Ok((
                bytes > 0 && chars <= bytes,
                format!("{chars} chars in {bytes} normalized bytes"),
            ))
        },
    },
    Def {
        name: "G-SOURCE-VERSION-NOT-RETIRED",
        description: "the version being cut is not one the store already retired",
        phase: "source_pin",
        after: true,
        check: |e| {
            let st = e.field("source_pin", "version_status")?;
            Ok((
                st.as_str() != Some("retired"),
                format!("status of this version in the store: {st}"),
            ))
        },
    },
    Def {
        name: "G-SOURCE-VERSION-BOUND",
        description: "the version label is derived from the raw sha256 of the pinned source",
        phase: "source_pin",
        after: true,
        check: |e| {
            let ok = e.bool_field("source_pin", "version_matches_source")?;
            let v = s(e, "source_pin", "version")?;
            Ok((ok, format!("version {v} matches the source: {ok}")))
        },
    },
    // mark
    Def {
        name: "G-MARK-SOURCE-MATCHES",
        description: "mark worked on the text source_pin pinned (same normalized sha256)",
        phase: "mark",
        after: true,
        check: |e| {
            same(
                e,
                ("mark", "normalized_sha256"),
                ("source_pin", "normalized_sha256"),
            )
        },
    },
    Def {
        name: "G-MARK-CAPS-RESPECTED",
        description: "units, largest unit and deepest nesting are within the caps",
        phase: "mark",
        after: true,
        check: |e| {
            let mut ok = true;
            let mut detail = Vec::new();
            for (used, cap) in [
                ("units", "max_units"),
                ("max_unit_bytes", "max_unit_bytes"),
                ("max_depth", "max_depth"),
            ] {
                let u = at_u64(e, "mark", &["cap_usage", used])?;
                let c = at_u64(e, "mark", &["caps", cap])?;
                ok &= u <= c;
                detail.push(format!("{used} {u}/{c}"));
            }
            Ok((ok, detail.join(", ")))
        },
    },
    Def {
        name: "G-MARK-HAS-ARTICLES",
        description: "the document has at least one article",
        phase: "mark",
        after: true,
        check: |e| {
            let a = obj(e, "mark", &["counts"])?
                .get("article")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            Ok((a > 0, format!("{a} articles")))
        },
    },
    Def {
        name: "G-MARK-REGION-COUNT",
        description: "the region counts per kind add up to the region total and the cap usage",
        phase: "mark",
        after: true,
        check: |e| {
            let total = n(e, "mark", "regions")?;
            let sum: u64 = obj(e, "mark", &["counts"])?
                .values()
                .map(|v| v.as_u64().ok_or("a region count is not a number"))
                .sum::<Result<u64, _>>()?;
            let usage = at_u64(e, "mark", &["cap_usage", "units"])?;
            Ok((
                total == sum && total == usage,
                format!("{total} regions, {sum} by kind, {usage} in cap usage"),
            ))
        },
    },
    Def {
        name: "G-MARK-REGION-DIGEST",
        description: "mark recorded the digest of its region_sha list",
        phase: "mark",
        after: true,
        check: |e| hex(e, "mark", "region_list_digest"),
    },
    Def {
        name: "G-MARK-NO-ABSORBED-MARKERS",
        description: "no line outside quotations shaped like an article heading or a clause was absorbed into another unit, unless mark's config allows it (allow_absorbed_markers = true)",
        phase: "mark",
        after: true,
        check: |e| {
            let count = at_u64(e, "mark", &["absorbed_markers", "count"])?;
            let allowed = at(e, "mark", &["absorbed_markers", "allowed"])?
                .as_bool()
                .ok_or("`mark.absorbed_markers.allowed` is not a boolean")?;
            if count == 0 {
                return Ok((true, "no absorbed marker line".into()));
            }
            let first = at(e, "mark", &["absorbed_markers", "first"])?
                .as_str()
                .unwrap_or("(not recorded)");
            if allowed {
                Ok((
                    true,
                    format!(
                        "{count} absorbed marker line(s), allowed by mark's config allow_absorbed_markers = true; first {first}"
                    ),
                ))
            } else {
                Ok((
                    false,
                    format!(
                        "{count} line(s) outside quotations look like article/clause markers but were absorbed into other units; first {first}. Fix the source, or set allow_absorbed_markers = true in mark's config"
                    ),
                ))
            }
        },
    },
    // cutplan
    Def {
        name: "G-PLAN-COVERAGE-100",
        description: "every byte of the normalized text belongs to exactly one unit",
        phase: "cutplan",
        after: true,
        check: |e| {
            let complete = e.bool_field("cutplan", "coverage_complete")?;
            let cov = n(e, "cutplan", "coverage_bytes")?;
            let body = n(e, "cutplan", "body_bytes")?;
            let pinned = n(e, "source_pin", "normalized_bytes")?;
            Ok((
                complete && cov == body && body == pinned,
                format!("{cov} of {body} bytes covered; {pinned} pinned"),
            ))
        },
    },
    Def {
        name: "G-PLAN-UNITS-EQ-REGIONS",
        description: "the plan has one unit per marked region, with the same counts per kind",
        phase: "cutplan",
        after: true,
        check: |e| {
            let units = n(e, "cutplan", "units")?;
            let regions = n(e, "mark", "regions")?;
            let same_kinds = obj(e, "cutplan", &["counts"])? == obj(e, "mark", &["counts"])?;
            Ok((
                units == regions && same_kinds,
                format!("{units} units, {regions} regions, counts per kind equal: {same_kinds}"),
            ))
        },
    },
    Def {
        name: "G-PLAN-SOURCE-MATCHES",
        description: "cutplan cut the text source_pin pinned",
        phase: "cutplan",
        after: true,
        check: |e| {
            same(
                e,
                ("cutplan", "normalized_sha256"),
                ("source_pin", "normalized_sha256"),
            )
        },
    },
    Def {
        name: "G-PLAN-REGION-DIGEST-MATCHES",
        description: "cutplan recomputed the same regions mark found",
        phase: "cutplan",
        after: true,
        check: |e| {
            same(
                e,
                ("cutplan", "region_list_digest"),
                ("mark", "region_list_digest"),
            )
        },
    },
    Def {
        name: "G-PLAN-DIGEST-WELLFORMED",
        description: "cutplan recorded a sha256 plan digest",
        phase: "cutplan",
        after: true,
        check: |e| hex(e, "cutplan", "plan_digest"),
    },
    Def {
        name: "G-PLAN-IDENTITY",
        description: "the plan is for the document and version source_pin pinned",
        phase: "cutplan",
        after: true,
        check: |e| {
            let (d, v) = (
                same(e, ("cutplan", "document_id"), ("source_pin", "document_id"))?,
                same(e, ("cutplan", "version"), ("source_pin", "version"))?,
            );
            Ok((d.0 && v.0, format!("{}; {}", d.1, v.1)))
        },
    },
    Def {
        name: "G-PLAN-NO-BIDI-CONTROLS",
        description: "the text holds no invisible bidirectional formatting character (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), unless cutplan's config allows them (allow_bidi_controls = true)",
        phase: "cutplan",
        after: true,
        check: |e| {
            let count = at_u64(e, "cutplan", &["control_chars", "count"])?;
            let allowed = at(e, "cutplan", &["control_chars", "allowed"])?
                .as_bool()
                .ok_or("`cutplan.control_chars.allowed` is not a boolean")?;
            if count == 0 {
                return Ok((true, "no control/bidi character".into()));
            }
            let first = at(e, "cutplan", &["control_chars", "first"])?
                .as_str()
                .unwrap_or("(not recorded)");
            if allowed {
                Ok((
                    true,
                    format!(
                        "{count} control/bidi character(s), allowed by cutplan's config allow_bidi_controls = true; first {first}"
                    ),
                ))
            } else {
                Ok((
                    false,
                    format!(
                        "{count} invisible control/bidi character(s) in the text, which can make it display in another order than it is stored; first {first}. Fix the source, or set allow_bidi_controls = true in cutplan's config"
                    ),
                ))
            }
        },
    },
    // pre_write_backup
    Def {
        name: "G-PLAN-DIGEST-STABLE",
        description: "cutplan run twice in fresh instances gave the same plan digest and unit count",
        phase: "pre_write_backup",
        after: false,
        check: |e| {
            let (d, _) = same(
                e,
                ("cutplan", "plan_digest"),
                ("@cutplan-rerun", "plan_digest"),
            )?;
            let u1 = n(e, "cutplan", "units")?;
            let u2 = n(e, "@cutplan-rerun", "units")?;
            Ok((
                d && u1 == u2,
                format!(
                    "{} vs {}, {u1} vs {u2} units",
                    s(e, "cutplan", "plan_digest")?,
                    s(e, "@cutplan-rerun", "plan_digest")?
                ),
            ))
        },
    },
    Def {
        name: "G-BACKUP-SHA-PRESENT",
        description: "the backup was stored, and the host's sha256 of it is the phase's own",
        phase: "pre_write_backup",
        after: true,
        check: |e| {
            let a = s(e, "pre_write_backup", "backup_sha256")?;
            let b = s(e, "pre_write_backup", "stored_sha256")?;
            Ok((
                is_sha256_hex(a) && a == b,
                format!("backup {a}, stored {b}"),
            ))
        },
    },
    Def {
        name: "G-BACKUP-DRYRUN-MARKER",
        description: "the DRYRUN marker was written if and only if the run is a dry run",
        phase: "pre_write_backup",
        after: true,
        check: |e| {
            let marker = e.bool_field("pre_write_backup", "dry_run_marker")?;
            let mode = s(e, "@host", "mode")?;
            Ok((
                marker == (mode == "dry"),
                format!("mode {mode}, marker {marker}"),
            ))
        },
    },
    Def {
        name: "G-BACKUP-ALL-TABLES",
        description: "the backup counted the rows of all four plugin tables",
        phase: "pre_write_backup",
        after: true,
        check: |e| {
            let rows = obj(e, "pre_write_backup", &["rows"])?;
            let missing: Vec<&str> = BACKUP_TABLES
                .into_iter()
                .filter(|t| rows.get(*t).and_then(Value::as_u64).is_none())
                .collect();
            Ok((missing.is_empty(), format!("tables missing: {missing:?}")))
        },
    },
    // grant_probe
    Def {
        name: "G-GRANT-PLAN-NO-DELETE",
        description: "no phase of the plan is granted delete on any table",
        phase: "grant_probe",
        after: false,
        check: |e| {
            let needs = obj(e, "@host", &["plan_needs"])?;
            let with_d: Vec<&String> = needs
                .iter()
                .filter(|(_, l)| l.as_str().is_none_or(|l| l.contains('d')))
                .map(|(t, _)| t)
                .collect();
            Ok((with_d.is_empty(), format!("tables with delete: {with_d:?}")))
        },
    },
    Def {
        name: "G-GRANT-NONE-MISSING",
        description: "the store role has every right the plan needs",
        phase: "grant_probe",
        after: true,
        check: |e| {
            let missing = strings(e, "grant_probe", "missing")?;
            Ok((missing.is_empty(), format!("missing: {missing:?}")))
        },
    },
    Def {
        name: "G-GRANT-NO-UNALLOWED-EXTRA",
        description: "every right the role has beyond the plan's needs is explicitly allowed",
        phase: "grant_probe",
        after: true,
        check: |e| {
            let extra = strings(e, "grant_probe", "extra")?;
            let allowed = strings(e, "grant_probe", "allowed_extra")?;
            let bad: Vec<&&str> = extra.iter().filter(|x| !allowed.contains(x)).collect();
            Ok((bad.is_empty(), format!("extra not allowed: {bad:?}")))
        },
    },
    Def {
        name: "G-GRANT-MATRIX-COVERS-NEEDS",
        description: "grant_probe compared against exactly the needs the host reported, table by table",
        phase: "grant_probe",
        after: true,
        check: |e| {
            let needs = obj(e, "@host", &["plan_needs"])?;
            let needed = obj(e, "grant_probe", &["needed"])?;
            let matrix = obj(e, "grant_probe", &["matrix"])?;
            let uncovered: Vec<&String> =
                needs.keys().filter(|t| !matrix.contains_key(*t)).collect();
            let same_needs = needs.iter().all(|(t, l)| {
                let sorted = |v: &Value| {
                    let mut c: Vec<char> = v.as_str().unwrap_or("?").chars().collect();
                    c.sort_unstable();
                    c
                };
                needed.get(t).is_some_and(|m| sorted(m) == sorted(l))
            }) && needs.len() == needed.len();
            Ok((
                uncovered.is_empty() && same_needs,
                format!("tables not in the matrix: {uncovered:?}; needs as reported: {same_needs}"),
            ))
        },
    },
    // cut_leg_a
    Def {
        name: "G-SG1-PRESENT",
        description: "an SG_1 approval (id, key) was accepted by the host before the first write",
        phase: "cut_leg_a",
        after: false,
        check: |e| sg_present(e, "sg1"),
    },
    Def {
        name: "G-SG1-BOUND-TO-PLAN",
        description: "the SG_1 approval is bound to this run's plan digest",
        phase: "cut_leg_a",
        after: false,
        check: |e| same(e, ("@sg1", "evidence_digest"), ("cutplan", "plan_digest")),
    },
    Def {
        name: "G-BACKUP-BEFORE-WRITE",
        description: "a backup and a passed grant probe exist before the first write",
        phase: "cut_leg_a",
        after: false,
        check: |e| {
            let b = is_sha256_hex(s(e, "pre_write_backup", "backup_sha256")?);
            let g = strings(e, "grant_probe", "missing")?.is_empty();
            Ok((b && g, format!("backup: {b}, grants complete: {g}")))
        },
    },
    Def {
        name: "G-LEGA-ROWS-WRITTEN",
        description: "the store holds exactly the planned units of this version (inserted + already present)",
        phase: "cut_leg_a",
        after: true,
        check: |e| {
            let units = n(e, "cutplan", "units")?;
            let planned = n(e, "cut_leg_a", "units_planned")?;
            let ins = n(e, "cut_leg_a", "units_inserted")?;
            let pre = n(e, "cut_leg_a", "units_already_present")?;
            let store = n(e, "cut_leg_a", "units_in_store")?;
            Ok((
                planned == units && ins + pre == units && store == units,
                format!("{units} planned, {ins} inserted + {pre} present, {store} in store"),
            ))
        },
    },
    Def {
        name: "G-LEGA-PLAN-BOUND",
        description: "leg A wrote the plan cutplan produced (and SG_1 approved)",
        phase: "cut_leg_a",
        after: true,
        check: |e| same(e, ("cut_leg_a", "plan_digest"), ("cutplan", "plan_digest")),
    },
    Def {
        name: "G-LEGA-BATCHED",
        description: "units crossed the boundary in batches of at most batch_size, as few as possible",
        phase: "cut_leg_a",
        after: true,
        check: |e| {
            let size = n(e, "cut_leg_a", "batch_size")?;
            let count = n(e, "cut_leg_a", "batch_count")?;
            let to_write = n(e, "cut_leg_a", "units_planned")?
                - n(e, "cut_leg_a", "units_already_present")?.min(n(
                    e,
                    "cut_leg_a",
                    "units_planned",
                )?);
            let batches = e
                .field("cut_leg_a", "batches")?
                .as_array()
                .ok_or("cut_leg_a.batches is not a list")?;
            let within = batches
                .iter()
                .all(|b| b.as_u64().is_some_and(|b| b <= size));
            let expected = if size == 0 {
                u64::MAX
            } else {
                to_write.div_ceil(size)
            };
            Ok((
                size > 0 && within && count == expected,
                format!("{count} batches of ≤ {size} for {to_write} rows (expected {expected})"),
            ))
        },
    },
    // structural_verify: one predicate per probe
    probe_def!(
        "G-PROBE-COUNT-MATCHES",
        "count_matches",
        "as many unit rows as planned units, and the same count per kind"
    ),
    probe_def!(
        "G-PROBE-EIDS-UNIQUE",
        "eids_unique",
        "no eId occurs twice among the rows"
    ),
    probe_def!(
        "G-PROBE-PARENTS-EXIST",
        "parents_exist",
        "every parent eId names another stored row"
    ),
    probe_def!(
        "G-PROBE-ORDINALS-CONTIGUOUS",
        "ordinals_contiguous",
        "ordinals under each (parent, kind) are 1, 2, 3, …"
    ),
    probe_def!(
        "G-PROBE-ARTICLE-NUMBERS-INCREASING",
        "article_numbers_increasing",
        "article numbers increase in document order"
    ),
    probe_def!(
        "G-PROBE-NO-EMPTY-TEXT",
        "no_empty_text",
        "no unit row has an empty or whitespace-only text"
    ),
    probe_def!(
        "G-PROBE-TEXT-SHA-OK",
        "text_sha_ok",
        "every row's text_sha is the sha256 of its text"
    ),
    probe_def!(
        "G-PROBE-REGION-SHA-OK",
        "region_sha_ok",
        "every marked region has a row whose text hashes to its region_sha, and no other rows exist"
    ),
    probe_def!(
        "G-PROBE-REASSEMBLY-MATCHES-SOURCE",
        "reassembly_matches_source",
        "the rows' texts in order reassemble the normalized source byte for byte"
    ),
    probe_def!(
        "G-PROBE-ALL-ON-PINNED-VERSION",
        "all_on_pinned_version",
        "every row is on the pinned version"
    ),
    probe_def!(
        "G-PROBE-NO-OTHER-DOCUMENT",
        "no_other_document",
        "every row belongs to the run's document"
    ),
    Def {
        name: "G-PROBE-ROWS-READ",
        description: "structural_verify read back as many rows as the plan has units, and ran all 11 probes",
        phase: "structural_verify",
        after: true,
        check: |e| {
            let read = n(e, "structural_verify", "rows_read")?;
            let units = n(e, "cutplan", "units")?;
            let probes = obj(e, "structural_verify", &["probes"])?.len();
            Ok((
                read == units && probes == 11,
                format!("{read} rows read, {units} units, {probes} probes"),
            ))
        },
    },
    // leg_b_record
    Def {
        name: "G-ENVELOPES-EQ-UNITS",
        description: "the store holds one envelope per planned unit",
        phase: "leg_b_record",
        after: true,
        check: |e| {
            let units = n(e, "cutplan", "units")?;
            let planned = n(e, "leg_b_record", "envelopes_planned")?;
            let store = n(e, "leg_b_record", "envelopes_in_store")?;
            Ok((
                planned == units && store == units,
                format!("{units} units, {planned} envelopes planned, {store} in store"),
            ))
        },
    },
    Def {
        name: "G-ENVELOPE-IDS-DIGEST",
        description: "leg B recorded the digest of its envelope ids, under the approved plan",
        phase: "leg_b_record",
        after: true,
        check: |e| {
            let (h, d) = hex(e, "leg_b_record", "id_digest")?;
            let (bound, d2) = same(
                e,
                ("leg_b_record", "plan_digest"),
                ("cutplan", "plan_digest"),
            )?;
            Ok((h && bound, format!("{d}; {d2}")))
        },
    },
    // write_verify
    Def {
        name: "G-VERIFY-OK",
        description: "write_verify found what was written equal to the plan",
        phase: "write_verify",
        after: true,
        check: |e| {
            let ok = e.bool_field("write_verify", "ok")?;
            let m = n(e, "write_verify", "mismatches")?;
            Ok((ok && m == 0, format!("ok {ok}, {m} mismatches")))
        },
    },
    Def {
        name: "G-VERIFY-ONCE",
        description: "write_verify ran exactly once in this run",
        phase: "write_verify",
        after: true,
        check: |e| {
            let c = e.count("write_verify");
            if c == 0 {
                return Err("no evidence of phase `write_verify`".into());
            }
            Ok((c == 1, format!("write_verify ran {c} time(s)")))
        },
    },
    Def {
        name: "G-VERIFY-COUNTS",
        description: "write_verify read one unit row per planned unit and one envelope per unit",
        phase: "write_verify",
        after: true,
        check: |e| {
            let u = n(e, "write_verify", "units_read")?;
            let env = n(e, "write_verify", "envelopes_read")?;
            let units = n(e, "cutplan", "units")?;
            Ok((
                u == units && env == units,
                format!("{u} units and {env} envelopes read, {units} planned"),
            ))
        },
    },
    Def {
        name: "G-VERIFY-MATCHES-WRITE",
        description: "the unit rows read back digest to what leg A wrote",
        phase: "write_verify",
        after: true,
        check: |e| {
            same(
                e,
                ("write_verify", "units_digest"),
                ("cut_leg_a", "written_digest"),
            )
        },
    },
    Def {
        name: "G-VERIFY-DIGEST-PRESENT",
        description: "write_verify produced a verify digest over the approved plan",
        phase: "write_verify",
        after: true,
        check: |e| {
            let (h, d) = hex(e, "write_verify", "verify_digest")?;
            let (bound, d2) = same(
                e,
                ("write_verify", "plan_digest"),
                ("cutplan", "plan_digest"),
            )?;
            Ok((h && bound, format!("{d}; {d2}")))
        },
    },
    // lifecycle_enact
    Def {
        name: "G-SG2-PRESENT",
        description: "an SG_2 approval (id, key) was accepted by the host before enactment",
        phase: "lifecycle_enact",
        after: false,
        check: |e| sg_present(e, "sg2"),
    },
    Def {
        name: "G-SG2-BOUND-TO-VERIFY",
        description: "the SG_2 approval is bound to this run's verify digest",
        phase: "lifecycle_enact",
        after: false,
        check: |e| {
            same(
                e,
                ("@sg2", "evidence_digest"),
                ("write_verify", "verify_digest"),
            )
        },
    },
    Def {
        name: "G-SG2-REVIEW-DECISION",
        description: "the SG_2 approval carries a review decision id",
        phase: "lifecycle_enact",
        after: false,
        check: |e| {
            let ok = nonempty(e, "@sg2", "review_decision_id")?;
            Ok((ok, format!("review decision present: {ok}")))
        },
    },
    Def {
        name: "G-SG2-DISTINCT-APPROVAL",
        description: "SG_2 is a different approval from SG_1",
        phase: "lifecycle_enact",
        after: false,
        check: |e| {
            let a = s(e, "@sg1", "approval_id")?;
            let b = s(e, "@sg2", "approval_id")?;
            Ok((a != b, format!("SG_1 {a}, SG_2 {b}")))
        },
    },
    Def {
        name: "G-ENACTED-EQ-UNITS",
        description: "after enactment every planned unit of this version is in force",
        phase: "lifecycle_enact",
        after: true,
        check: |e| {
            let f = n(e, "lifecycle_enact", "units_in_force")?;
            let units = n(e, "cutplan", "units")?;
            Ok((f == units, format!("{f} in force, {units} planned")))
        },
    },
    Def {
        name: "G-PREVIOUS-RETIRED",
        description: "no unit of the replaced version is still in force",
        phase: "lifecycle_enact",
        after: true,
        check: |e| {
            let still = n(e, "lifecycle_enact", "previous_units_still_in_force")?;
            let prev = e.field("lifecycle_enact", "previous_version")?;
            Ok((
                still == 0,
                format!("previous version {prev}: {still} unit(s) still in force"),
            ))
        },
    },
    Def {
        name: "G-DIFF-CONSISTENT",
        description: "added + changed + unchanged = new units; removed + changed + unchanged = previous units",
        phase: "lifecycle_enact",
        after: true,
        check: |e| {
            let c = |k: &str| at_u64(e, "lifecycle_enact", &[k, "count"]);
            let (a, ch, r) = (c("added")?, c("changed")?, c("removed")?);
            let same = n(e, "lifecycle_enact", "unchanged")?;
            let units = n(e, "lifecycle_enact", "units")?;
            let prev = n(e, "lifecycle_enact", "previous_units")?;
            Ok((
                a + ch + same == units && r + ch + same == prev,
                format!("+{a} ~{ch} -{r} ={same}; {units} units, {prev} before"),
            ))
        },
    },
    // closeout
    Def {
        name: "G-ALL-PHASES-EVIDENCED",
        description: "every phase from source_pin to lifecycle_enact left evidence",
        phase: "closeout",
        after: false,
        check: |e| {
            let missing: Vec<&str> = run_phases()
                .iter()
                .copied()
                .filter(|p| e.get(p).is_none())
                .collect();
            if missing.len() == run_phases().len() {
                return Err("no evidence of any phase".into());
            }
            Ok((missing.is_empty(), format!("missing: {missing:?}")))
        },
    },
    Def {
        name: "G-INDEX-ENTRY-COMPLETE",
        description: "the runs-index entry names run, document, version, both digests and the counts",
        phase: "closeout",
        after: true,
        check: |e| {
            let entry = obj(e, "closeout", &["index_entry"])?;
            let text = |k: &str| {
                entry
                    .get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|v| !v.is_empty())
            };
            let sha = |k: &str| {
                entry
                    .get(k)
                    .and_then(Value::as_str)
                    .is_some_and(is_sha256_hex)
            };
            let ok = text("run_id")
                && text("document_id")
                && text("version")
                && sha("plan_digest")
                && sha("verify_digest")
                && entry.get("counts").is_some_and(Value::is_object);
            Ok((ok, format!("index entry complete: {ok}")))
        },
    },
    Def {
        name: "G-INDEX-ENTRY-BOUND",
        description: "the runs-index entry carries this run's document, version, plan and verify digests",
        phase: "closeout",
        after: true,
        check: |e| {
            let checks = [
                (["index_entry", "plan_digest"], ("cutplan", "plan_digest")),
                (
                    ["index_entry", "verify_digest"],
                    ("write_verify", "verify_digest"),
                ),
                (
                    ["index_entry", "document_id"],
                    ("source_pin", "document_id"),
                ),
                (["index_entry", "version"], ("source_pin", "version")),
            ];
            let mut bad = Vec::new();
            for (path, (p, f)) in checks {
                if at(e, "closeout", &path)?.as_str() != Some(s(e, p, f)?) {
                    bad.push(path[1]);
                }
            }
            Ok((bad.is_empty(), format!("fields not bound: {bad:?}")))
        },
    },
];

/// Evaluate predicate `name`; an unknown name is an error.
pub fn evaluate(name: &str, evidence: &EvidenceSet) -> Outcome {
    let def = ALL
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| format!("unknown predicate `{name}`"))?;
    (def.check)(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(raw_sha: &str, bytes: u64) -> EvidenceSet {
        let json = format!(
            r#"{{"raw_sha256":"{raw_sha}","normalized_sha256":"{}","raw_bytes":{bytes},"chars":{bytes}}}"#,
            "b".repeat(64)
        );
        EvidenceSet::parse([("source_pin", json.as_str())]).unwrap()
    }

    #[test]
    fn names_are_unique_and_there_are_at_least_41() {
        let mut names: Vec<_> = ALL.iter().map(|d| d.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert!(ALL.len() >= 41, "{} predicates", ALL.len());
    }

    #[test]
    fn sha_pinned_fails_on_a_bad_digest_and_errors_on_missing_evidence() {
        assert!(
            evaluate("G-SOURCE-SHA-PINNED", &pin(&"a".repeat(64), 5))
                .unwrap()
                .0
        );
        assert!(!evaluate("G-SOURCE-SHA-PINNED", &pin("abc", 5)).unwrap().0);
        assert!(evaluate("G-SOURCE-SHA-PINNED", &EvidenceSet::default()).is_err());
    }

    #[test]
    fn nonempty_fails_on_zero_bytes() {
        assert!(
            evaluate("G-SOURCE-NONEMPTY", &pin(&"a".repeat(64), 5))
                .unwrap()
                .0
        );
        assert!(
            !evaluate("G-SOURCE-NONEMPTY", &pin(&"a".repeat(64), 0))
                .unwrap()
                .0
        );
    }

    fn mark_absorbed(count: u64, allowed: &str) -> EvidenceSet {
        let first = if count == 0 {
            "null".to_string()
        } else {
            r#""line 76: “Điều 8.” looks like article 8 but is part of art_70""#.to_string()
        };
        let json = format!(
            r#"{{"absorbed_markers":{{"count":{count},"allowed":{allowed},"first":{first}}}}}"#
        );
        EvidenceSet::parse([("mark", json.as_str())]).unwrap()
    }

    #[test]
    fn absorbed_markers_stop_the_run_unless_allowed() {
        let name = "G-MARK-NO-ABSORBED-MARKERS";
        assert!(evaluate(name, &mark_absorbed(0, "false")).unwrap().0);
        let (holds, detail) = evaluate(name, &mark_absorbed(62, "false")).unwrap();
        assert!(!holds);
        assert!(
            detail.contains("line 76") && detail.contains("62 line(s)"),
            "{detail}"
        );
        assert!(detail.contains("allow_absorbed_markers"), "{detail}");
        let (holds, detail) = evaluate(name, &mark_absorbed(62, "true")).unwrap();
        assert!(holds, "{detail}");
        assert!(evaluate(name, &mark_absorbed(1, r#""yes""#)).is_err());
    }

    fn cutplan_controls(count: u64, allowed: &str) -> EvidenceSet {
        let first = if count == 0 {
            "null"
        } else {
            r#""line 5: U+202E RIGHT-TO-LEFT OVERRIDE""#
        };
        let json = format!(
            r#"{{"control_chars":{{"count":{count},"allowed":{allowed},"first":{first}}}}}"#
        );
        EvidenceSet::parse([("cutplan", json.as_str())]).unwrap()
    }

    #[test]
    fn bidi_controls_stop_the_run_unless_allowed() {
        let name = "G-PLAN-NO-BIDI-CONTROLS";
        assert!(evaluate(name, &cutplan_controls(0, "false")).unwrap().0);
        let (holds, detail) = evaluate(name, &cutplan_controls(3, "false")).unwrap();
        assert!(!holds);
        assert!(
            detail.starts_with("3 invisible control/bidi character(s)")
                && detail.contains("line 5: U+202E RIGHT-TO-LEFT OVERRIDE")
                && detail.contains("allow_bidi_controls = true"),
            "{detail}"
        );
        let (holds, detail) = evaluate(name, &cutplan_controls(3, "true")).unwrap();
        assert!(holds, "{detail}");
        assert!(evaluate(name, &cutplan_controls(1, r#""no""#)).is_err());
        assert!(evaluate(name, &EvidenceSet::parse([("cutplan", "{}")]).unwrap()).is_err());
    }

    #[test]
    fn unknown_predicate_is_an_error() {
        assert!(evaluate("G-NOPE", &EvidenceSet::default()).is_err());
    }

    #[test]
    fn every_predicate_errors_without_evidence() {
        for d in ALL {
            assert!(
                evaluate(d.name, &EvidenceSet::default()).is_err(),
                "{} must fail closed on missing evidence",
                d.name
            );
        }
    }
}
