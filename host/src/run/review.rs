//! The review an approver reads before signing: what the gate approves,
//! made from the run's evidence only (so the same evidence always gives the
//! same review, byte for byte, and its sha256 can be signed with the
//! approval and checked again at the gate).
//!
//! The host knows nothing of iu-cut: it shows the document, version, gate
//! and digest, then the bound phase's evidence `review` object as the
//! plugin wrote it — every field, in a stable order (objects sorted by key,
//! arrays in order). A plugin set that wants approvers to see something
//! puts it there; `plugins/README.md` documents the convention.

use phasehost_policy::approval::Gate;
use serde_json::Value;
use std::fmt::Write as _;

/// The deepest nesting of a review object rendered (deeper is elided).
const MAX_DEPTH: usize = 6;
/// The most items of one array rendered.
const MAX_ITEMS: usize = 50;

/// What a review is made from.
#[derive(Debug, Clone)]
pub struct ReviewInput<'a> {
    /// The gate.
    pub gate: Gate,
    /// The run.
    pub run_id: &'a str,
    /// The document id and version label.
    pub document_id: &'a str,
    /// The version label.
    pub version: &'a str,
    /// The phase whose evidence the gate binds, and the field.
    pub binds: &'a str,
    /// The digest the approval binds to.
    pub digest: &'a str,
    /// That phase's evidence.
    pub evidence: &'a Value,
}

/// The review as Markdown (deterministic).
pub fn render(input: &ReviewInput<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Review for {} of run {}\n", input.gate, input.run_id);
    let _ = writeln!(out, "- document: {} ({})", input.document_id, input.version);
    let _ = writeln!(out, "- approves: `{}` = {}", input.binds, input.digest);
    match input.evidence.get("review") {
        Some(review) => {
            let _ = writeln!(out, "\n## What the phase reports\n");
            render_value(&mut out, review, 0);
        }
        None => {
            let _ = writeln!(
                out,
                "\nThe phase's evidence has no `review` section; its fields:\n"
            );
            if let Some(map) = input.evidence.as_object() {
                for (key, value) in map {
                    if !value.is_object() && !value.is_array() {
                        let _ = writeln!(out, "- {key}: {}", scalar(value));
                    }
                }
            }
        }
    }
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn render_value(out: &mut String, value: &Value, depth: usize) {
    let indent = "  ".repeat(depth);
    if depth >= MAX_DEPTH {
        let _ = writeln!(out, "{indent}- …");
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if item.is_object() || item.is_array() {
                    let _ = writeln!(out, "{indent}- {key}:");
                    render_value(out, item, depth + 1);
                } else {
                    let _ = writeln!(out, "{indent}- {key}: {}", scalar(item));
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter().take(MAX_ITEMS) {
                match item {
                    Value::Object(map) if map.values().all(|v| !v.is_object() && !v.is_array()) => {
                        let fields: Vec<String> = map
                            .iter()
                            .map(|(k, v)| format!("{k}: {}", scalar(v)))
                            .collect();
                        let _ = writeln!(out, "{indent}- {}", fields.join(", "));
                    }
                    Value::Object(_) | Value::Array(_) => {
                        let _ = writeln!(out, "{indent}-");
                        render_value(out, item, depth + 1);
                    }
                    other => {
                        let _ = writeln!(out, "{indent}- {}", scalar(other));
                    }
                }
            }
            if items.len() > MAX_ITEMS {
                let _ = writeln!(out, "{indent}- … and {} more", items.len() - MAX_ITEMS);
            }
        }
        other => {
            let _ = writeln!(out, "{indent}- {}", scalar(other));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_review_is_the_same_for_the_same_evidence_and_shows_the_review_section() {
        let evidence = json!({
            "plan_digest": "ab",
            "review": {"articles": {"ranges": "1–6, 70–120", "gaps": ["7–69"]},
                       "warnings": [{"line": 12, "text": "Điều 7. looks like a marker"}]}
        });
        let input = ReviewInput {
            gate: Gate::Sg1,
            run_id: "r",
            document_id: "d",
            version: "v",
            binds: "cutplan.plan_digest",
            digest: "ab",
            evidence: &evidence,
        };
        let a = render(&input);
        assert_eq!(a, render(&input));
        assert!(a.contains("gaps:"), "{a}");
        assert!(a.contains("7–69"), "{a}");
        assert!(
            a.contains("line: 12, text: Điều 7. looks like a marker"),
            "{a}"
        );
    }
}
