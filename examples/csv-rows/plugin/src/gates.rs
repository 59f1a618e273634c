//! The csv-rows gate predicates: pure functions of the phases' evidence.
//! An unknown name, missing evidence or a field of the wrong type is an
//! error, which the host treats as "does not hold".

use phasehost_sdk::{Checkpoint, EvidenceSet, PredicateDecl, Verdict, is_sha256_hex};

/// Every predicate, with the phase it guards.
pub const PREDICATES: &[PredicateDecl] = &[
    PredicateDecl {
        name: "G-CSV-PINNED",
        description: "plan parsed the very bytes pin pinned (same sha256, a real digest)",
        phase: "plan",
        checkpoint: Checkpoint::After,
    },
    PredicateDecl {
        name: "G-CSV-ROWS-WITHIN-CAP",
        description: "plan found at least one record and no more than its max_rows",
        phase: "plan",
        checkpoint: Checkpoint::After,
    },
    PredicateDecl {
        name: "G-CSV-LOADED-AS-PLANNED",
        description: "load inserted the planned number of rows with the planned (approved) rows digest",
        phase: "load",
        checkpoint: Checkpoint::After,
    },
    PredicateDecl {
        name: "G-CSV-READ-BACK-MATCHES",
        description: "verify read back the planned number of rows, every row's digest matches its fields, and the rows digest equals the plan's",
        phase: "verify",
        checkpoint: Checkpoint::After,
    },
];

fn verdict(holds: bool, detail: String) -> Result<Verdict, String> {
    Ok(Verdict { holds, detail })
}

/// Evaluates the predicate `name` over `ev`.
pub fn evaluate(name: &str, ev: &EvidenceSet) -> Result<Verdict, String> {
    match name {
        "G-CSV-PINNED" => {
            let pinned = ev.str_field("pin", "sha256")?;
            let parsed = ev.str_field("plan", "source_sha256")?;
            verdict(
                is_sha256_hex(pinned) && pinned == parsed,
                format!("pin {pinned}, plan {parsed}"),
            )
        }
        "G-CSV-ROWS-WITHIN-CAP" => {
            let rows = ev.u64_field("plan", "rows")?;
            let cap = ev.u64_field("plan", "max_rows")?;
            verdict(rows >= 1 && rows <= cap, format!("{rows} rows, cap {cap}"))
        }
        "G-CSV-LOADED-AS-PLANNED" => {
            let (planned, loaded) = (ev.u64_field("plan", "rows")?, ev.u64_field("load", "rows")?);
            let approved = ev.str_field("plan", "rows_digest")?;
            let digest = ev.str_field("load", "rows_digest")?;
            verdict(
                planned == loaded && approved == digest,
                format!("planned {planned} rows ({approved}), loaded {loaded} ({digest})"),
            )
        }
        "G-CSV-READ-BACK-MATCHES" => {
            let planned = ev.u64_field("plan", "rows")?;
            let approved = ev.str_field("plan", "rows_digest")?;
            let rows = ev.u64_field("verify", "rows")?;
            let file_rows = ev.u64_field("verify", "file_rows")?;
            let digest = ev.str_field("verify", "rows_digest")?;
            let file_digest = ev.str_field("verify", "file_rows_digest")?;
            let mismatched = ev.u64_field("verify", "mismatched_rows")?;
            verdict(
                rows == planned
                    && file_rows == planned
                    && digest == approved
                    && file_digest == approved
                    && mismatched == 0,
                format!(
                    "read back {rows} rows ({digest}), {mismatched} mismatched; planned {planned} ({approved})"
                ),
            )
        }
        other => Err(format!("unknown predicate `{other}`")),
    }
}
