//! `[[approvals.gates]]`: validating the plan's list of human approval
//! gates, and refusing the old two-gate keys with a migration hint.

use super::{ApprovalGate, Plan, PlanError};
use phasehost_policy::approval::Gate;
use std::collections::HashSet;
use std::path::Path;

/// The migration hint shown for the old `sg1_before`/`[approvals.sg1]` keys.
const NEW_FORM: &str = r#"approval gates are a list now; write one entry per gate:
  [[approvals.gates]]
  name = "sg1"                      # [a-z][a-z0-9_-]{0,31}, unique
  before = "cut_leg_a"              # the phase the gate stands before
  digest = "cutplan.plan_digest"    # phase.field of an earlier phase's evidence
  ttl_secs = 86400                  # default 24 h
  quorum = 1                        # default 1
  prevent_self_review = true        # default true
  distinct_from = []                # other gates whose approvers may not approve this one
  fresh_review_decision = false     # true: refuse a review decision used before (was SG_2's rule)
(see docs/PLAN.md)"#;

/// Refuse the old keys (`sgN_before`, `sgN_digest`, `sgN_ttl_secs`,
/// `[approvals.sgN]`) with the new form, before the schema parse would call
/// them merely unknown.
pub(super) fn refuse_old_keys(text: &str, path: &Path) -> Result<(), PlanError> {
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(()); // the schema parse reports the syntax error
    };
    let Some(toml::Value::Table(approvals)) = table.get("approvals") else {
        return Ok(());
    };
    let old = approvals.iter().find(|(key, value)| {
        let known = matches!(
            key.as_str(),
            "trusted_keys" | "require_signed_start" | "gates"
        );
        !known
            && (value.is_table()
                || ["_before", "_digest", "_ttl_secs"]
                    .iter()
                    .any(|suffix| key.ends_with(suffix)))
    });
    let Some((key, value)) = old else {
        return Ok(());
    };
    let shown = if value.is_table() {
        format!("[approvals.{key}]")
    } else {
        format!("[approvals] {key}")
    };
    let line = text
        .lines()
        .position(|l| {
            let l = l.trim();
            l.strip_prefix(key.as_str())
                .is_some_and(|rest| rest.trim_start().starts_with('='))
                || l == format!("[approvals.{key}]")
        })
        .map(|i| format!(" (line {})", i + 1))
        .unwrap_or_default();
    Err(PlanError::Invalid {
        path: path.to_path_buf(),
        message: format!("{shown}{line} is the old form of the approval gates; {NEW_FORM}"),
    })
}

/// Where gate `gate` is declared, for messages: `[[approvals.gates]] \`name\`
/// (line N)`.
fn at(plan: &Plan, gate: &ApprovalGate) -> String {
    match plan.approval_lines.get(&gate.name) {
        Some(line) => format!("[[approvals.gates]] `{}` (line {line})", gate.name),
        None => format!("[[approvals.gates]] `{}`", gate.name),
    }
}

/// Every gate well named, unique, before a phase of the plan (one gate per
/// phase), bound to a field of an earlier phase, with a quorum the trusted
/// keys can meet and `distinct_from` naming other gates of the list.
pub(super) fn validate(plan: &Plan) -> Result<(), String> {
    let approvals = &plan.approvals;
    if approvals.gates.is_empty() {
        return Ok(());
    }
    let keys = approvals.trusted_keys.len();
    if keys == 0 {
        return Err("[approvals] trusted_keys is empty, so no approval could ever be valid".into());
    }
    let position = |n: &str| plan.phases.iter().position(|p| p.name == n);
    let mut names = HashSet::new();
    let mut befores = HashSet::new();
    for gate in &approvals.gates {
        if let Err(why) = Gate::new(&gate.name) {
            return Err(format!("{}: name {why}", at(plan, gate)));
        }
        if !names.insert(gate.name.as_str()) {
            return Err(format!(
                "{}: the name appears twice; gate names must be unique",
                at(plan, gate)
            ));
        }
        let Some(gate_at) = position(&gate.before) else {
            return Err(format!(
                "{}: before = \"{}\" names a phase the plan does not have (phases: {})",
                at(plan, gate),
                gate.before,
                plan.phases
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        if !befores.insert(gate.before.as_str()) {
            return Err(format!(
                "{}: phase `{}` already has an approval gate; one gate per phase at most",
                at(plan, gate),
                gate.before
            ));
        }
        check_binding(plan, gate, gate_at)?;
        check_limits(plan, gate, keys)?;
    }
    for gate in &approvals.gates {
        for other in &gate.distinct_from {
            if *other == gate.name || !names.contains(other.as_str()) {
                return Err(format!(
                    "{}: distinct_from names `{other}`: it may name only other gates of this list ({})",
                    at(plan, gate),
                    approvals.names()
                ));
            }
        }
    }
    Ok(())
}

/// The gate binds to `phase.field` of a phase that runs before the one it
/// stands before (at `gate_at` in the plan).
fn check_binding(plan: &Plan, gate: &ApprovalGate, gate_at: usize) -> Result<(), String> {
    let position = |n: &str| plan.phases.iter().position(|p| p.name == n);
    let Some((phase, field)) = gate.digest.split_once('.') else {
        return Err(format!(
            "{}: digest = \"{}\" must name the evidence field the approval binds to, as \"phase.field\"",
            at(plan, gate),
            gate.digest
        ));
    };
    if field.is_empty() || position(phase).is_none_or(|p| p >= gate_at) {
        return Err(format!(
            "{}: digest names `{phase}.{field}`; it must be a field of a phase that runs before `{}`",
            at(plan, gate),
            gate.before
        ));
    }
    Ok(())
}

/// A positive TTL, and a quorum the `keys` trusted keys can meet.
fn check_limits(plan: &Plan, gate: &ApprovalGate, keys: usize) -> Result<(), String> {
    if gate.ttl_secs == 0 {
        return Err(format!(
            "{}: ttl_secs = 0 would make every approval expired; give it a positive number of seconds",
            at(plan, gate)
        ));
    }
    if gate.quorum == 0 || gate.quorum as usize > keys {
        return Err(format!(
            "{}: quorum = {} cannot be met: it must be between 1 and the number of trusted keys ({keys})",
            at(plan, gate),
            gate.quorum
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::plan::{PlanError, parse_plan};
    use std::path::Path;

    /// Three phases `a`, `b`, `c`; two trusted keys; `gates` appended.
    fn plan(approvals: &str) -> String {
        format!(
            "[plan]\nname = \"t\"\nplugin_set = \"test\"\n\n[approvals]\ntrusted_keys = [\"k1.pub\", \"k2.pub\"]\n{approvals}\n\n[[phases]]\nname = \"a\"\ncomponent = \"a.wasm\"\n\n[[phases]]\nname = \"b\"\ncomponent = \"b.wasm\"\n\n[[phases]]\nname = \"c\"\ncomponent = \"c.wasm\"\n"
        )
    }

    fn gate(name: &str, before: &str, digest: &str, extra: &str) -> String {
        format!(
            "[[approvals.gates]]\nname = \"{name}\"\nbefore = \"{before}\"\ndigest = \"{digest}\"\n{extra}\n"
        )
    }

    fn refused(text: &str) -> String {
        match parse_plan(text, Path::new("p.toml")) {
            Err(PlanError::Invalid { message, .. }) => message,
            Err(other) => panic!("expected plan-invalid, got {other}"),
            Ok(_) => panic!("expected plan-invalid, the plan loaded:\n{text}"),
        }
    }

    #[test]
    fn any_number_of_gates_loads_with_defaults_and_lines() {
        let none = parse_plan(&plan(""), Path::new("p.toml")).unwrap();
        assert!(none.approvals.gates.is_empty());
        let text = plan(&format!(
            "{}{}",
            gate("first", "b", "a.d", ""),
            gate(
                "second-2",
                "c",
                "b.d",
                "ttl_secs = 60\nquorum = 2\nprevent_self_review = false\ndistinct_from = [\"first\"]\nfresh_review_decision = true"
            )
        ));
        let p = parse_plan(&text, Path::new("p.toml")).unwrap();
        let first = p.approvals.gate("first").unwrap();
        assert_eq!(
            (
                first.ttl_secs,
                first.quorum,
                first.prevent_self_review,
                first.fresh_review_decision
            ),
            (86_400, 1, true, false)
        );
        let second = p.approvals.gate_before("c").unwrap();
        assert_eq!(second.name, "second-2");
        assert_eq!((second.ttl_secs, second.quorum), (60, 2));
        assert!(second.fresh_review_decision && !second.prevent_self_review);
        let line = text
            .lines()
            .position(|l| l == "name = \"second-2\"")
            .unwrap();
        assert_eq!(
            p.approval_location("second-2"),
            format!("p.toml line {line}")
        );
    }

    #[test]
    fn the_old_two_gate_keys_are_refused_with_the_new_form() {
        for old in [
            "sg1_before = \"b\"\nsg1_digest = \"a.d\"",
            "sg2_digest = \"a.d\"",
            "sg1_ttl_secs = 60",
            "[approvals.sg2]\ndistinct_from = [\"sg1\"]",
        ] {
            let message = refused(&plan(old));
            assert!(message.contains("old form"), "{old}: {message}");
            assert!(message.contains("[[approvals.gates]]"), "{message}");
            assert!(
                message.contains("digest = \"cutplan.plan_digest\""),
                "{message}"
            );
            assert!(message.contains("(line 7)"), "{old}: {message}");
        }
    }

    #[test]
    fn every_bad_gate_is_refused_at_load_with_its_line() {
        let cases = [
            (gate("Sg1", "b", "a.d", ""), "is not a gate name"),
            (
                gate("x", "nope", "a.d", ""),
                "names a phase the plan does not have",
            ),
            (
                gate("x", "b", "b.d", ""),
                "must be a field of a phase that runs before `b`",
            ),
            (
                gate("x", "b", "c.d", ""),
                "must be a field of a phase that runs before `b`",
            ),
            (
                gate("x", "b", "zz.d", ""),
                "must be a field of a phase that runs before `b`",
            ),
            (gate("x", "b", "a", ""), "as \"phase.field\""),
            (gate("x", "b", "a.", ""), "must be a field of a phase"),
            (
                format!("{}{}", gate("x", "b", "a.d", ""), gate("x", "c", "a.d", "")),
                "appears twice",
            ),
            (
                format!("{}{}", gate("x", "b", "a.d", ""), gate("y", "b", "a.d", "")),
                "one gate per phase",
            ),
            (
                gate("x", "b", "a.d", "distinct_from = [\"x\"]"),
                "distinct_from names `x`",
            ),
            (
                gate("x", "b", "a.d", "distinct_from = [\"nobody\"]"),
                "distinct_from names `nobody`",
            ),
            (
                gate("x", "b", "a.d", "quorum = 0"),
                "quorum = 0 cannot be met",
            ),
            (
                gate("x", "b", "a.d", "quorum = 3"),
                "quorum = 3 cannot be met",
            ),
            (gate("x", "b", "a.d", "ttl_secs = 0"), "ttl_secs = 0"),
        ];
        for (gates, why) in cases {
            let text = plan(&gates);
            let message = refused(&text);
            assert!(message.contains(why), "{gates}: {message}");
            assert!(message.contains("(line "), "{gates}: {message}");
        }
        let no_keys = plan(&gate("x", "b", "a.d", "")).replace("\"k1.pub\", \"k2.pub\"", "");
        assert!(refused(&no_keys).contains("trusted_keys is empty"));
        let unknown = plan(&gate("x", "b", "a.d", "sg1 = true"));
        let err = parse_plan(&unknown, Path::new("p.toml")).unwrap_err();
        assert!(err.to_string().contains("unknown field `sg1`"), "{err}");
    }
}
