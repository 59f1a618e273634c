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
        Some(review) if render_known(&mut out, review) => {}
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

/// A control or bidirectional-formatting character: one that could move
/// the cursor, recolour or reorder what a person reads (also used by the
/// run report, which shows such characters as visible escapes).
pub(crate) fn is_control_or_bidi(c: char) -> bool {
    let bidi =
        matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    c.is_control() || bidi
}

/// Plugin text as it may be shown on an approver's terminal: control and
/// bidirectional-formatting characters become U+FFFD.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if is_control_or_bidi(c) { '\u{fffd}' } else { c })
        .collect()
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => clean(s),
        other => clean(&other.to_string()),
    }
}

/// The documented shape (`title`, `facts`, `warnings`, `tables`, see
/// plugins/README.md), rendered for people; false when `review` does not
/// have that shape (then it is rendered generically).
fn render_known(out: &mut String, review: &Value) -> bool {
    let (Some(title), Some(facts), Some(warnings), Some(tables)) = (
        review.get("title").and_then(Value::as_str),
        review.get("facts").and_then(Value::as_array),
        review.get("warnings").and_then(Value::as_array),
        review.get("tables").and_then(Value::as_array),
    ) else {
        return false;
    };
    let _ = writeln!(out, "\n## {}\n", clean(title));
    for fact in facts.iter().take(MAX_ITEMS) {
        let label = fact.get("label").map(scalar).unwrap_or_default();
        let value = fact.get("value").map(scalar).unwrap_or_default();
        let _ = writeln!(out, "- **{label}**: {value}");
    }
    let _ = writeln!(out, "\n### Warnings\n");
    if warnings.is_empty() {
        let _ = writeln!(out, "none");
    }
    for warning in warnings.iter().take(MAX_ITEMS) {
        let text = warning.get("text").map(scalar).unwrap_or_default();
        match warning.get("line").and_then(Value::as_u64) {
            Some(line) => {
                let _ = writeln!(out, "- line {line}: {text}");
            }
            None => {
                let _ = writeln!(out, "- {text}");
            }
        }
    }
    for table in tables.iter().take(MAX_ITEMS) {
        let title = table.get("title").map(scalar).unwrap_or_default();
        let cell = |v: &Value| scalar(v).replace('|', "\\|");
        let columns: Vec<String> = table
            .get("columns")
            .and_then(Value::as_array)
            .map(|c| c.iter().map(cell).collect())
            .unwrap_or_default();
        let _ = writeln!(out, "\n### {title}\n");
        let _ = writeln!(out, "| {} |", columns.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(columns.len().max(1)));
        for row in table
            .get("rows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .take(MAX_ITEMS)
        {
            let cells: Vec<String> = row
                .as_array()
                .map(|r| r.iter().map(cell).collect())
                .unwrap_or_default();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
    true
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
            gate: Gate::new("sg1").unwrap(),
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

#[cfg(test)]
mod shape_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_documented_shape_is_rendered_for_people_and_terminal_controls_are_defused() {
        let evidence = json!({"review": {
            "title": "Cut plan\u{1b}[2J",
            "facts": [{"label": "Article numbering", "value": "1–6, 70–120; gap 7–69"}],
            "warnings": [{"line": 12, "text": "“Điều 7.” absorbed\u{202e}"}],
            "tables": [{"title": "Units", "columns": ["kind", "n|x"], "rows": [["article", "120"]]}]
        }});
        let input = ReviewInput {
            gate: Gate::new("sg1").unwrap(),
            run_id: "r",
            document_id: "d",
            version: "v",
            binds: "cutplan.plan_digest",
            digest: "ab",
            evidence: &evidence,
        };
        let text = render(&input);
        assert!(
            text.contains("- **Article numbering**: 1–6, 70–120; gap 7–69"),
            "{text}"
        );
        assert!(
            text.contains("- line 12: “Điều 7.” absorbed\u{fffd}"),
            "{text}"
        );
        assert!(text.contains("| kind | n\\|x |"), "{text}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text}"
        );
    }
}
