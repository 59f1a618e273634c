//! Review data for approvers: the generic `review` object of the `cutplan`
//! evidence (what SG_1 approves) and of the `write_verify` evidence (what
//! SG_2 approves). The host prints it without knowing iu-cut; the shape is
//! documented in `plugins/README.md` ("Review data for approvers"):
//!
//! ```json
//! { "title": "…",
//!   "facts":    [{"label": "…", "value": "…"}],
//!   "warnings": [{"line": 76, "text": "…"}, {"line": null, "text": "…"}],
//!   "tables":   [{"title": "…", "columns": ["…"], "rows": [["…"]]}] }
//! ```
//!
//! Every value is a string (lines: a 1-based integer or null); lists are
//! capped, with the full count said in a fact or a last warning, so the
//! object stays a few KiB on any document.

use iu_core::review::{self as facts, LineIndex};
use iu_core::{CutPlan, MarkReport, Pinned, RegionKind, Unmarked};
use serde_json::{Value, json};

use crate::common::LIST_CAP;
use crate::domain::Diff;

/// Absorbed marker lines listed (in the mark evidence, the cutplan review).
pub const ABSORBED_SHOWN: usize = 20;
/// Marker-looking lines listed in the cutplan review's table.
pub const UNMARKED_SHOWN: usize = 20;
/// Gaps, repeats, control-character lines listed as warnings (with the
/// absorbed markers and a summary line each, at most 48 warnings: the host
/// renders 50 items of a list).
pub const OTHER_SHOWN: usize = 8;
/// Largest units listed.
pub const LARGEST_SHOWN: usize = 5;
/// eIds listed per kind of change in the write_verify diff.
pub const DIFF_SHOWN: usize = 5;

/// A table: a title, column names, rows of cells (strings).
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// What the table shows.
    pub title: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<String>>,
}

/// The generic review object (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Review {
    /// One line saying what is approved.
    pub title: String,
    /// (label, value) pairs, in display order.
    pub facts: Vec<(String, String)>,
    /// (1-based line or none, text), in display order.
    pub warnings: Vec<(Option<u64>, String)>,
    /// Tables, in display order.
    pub tables: Vec<Table>,
}

impl Review {
    fn fact(&mut self, label: &str, value: impl Into<String>) {
        self.facts.push((label.to_string(), value.into()));
    }

    fn warn(&mut self, line: Option<u64>, text: impl Into<String>) {
        self.warnings.push((line, text.into()));
    }

    /// The JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "title": self.title,
            "facts": self.facts.iter().map(|(l, v)| json!({"label": l, "value": v})).collect::<Vec<_>>(),
            "warnings": self.warnings.iter().map(|(l, t)| json!({"line": l, "text": t})).collect::<Vec<_>>(),
            "tables": self.tables.iter().map(|t| json!({
                "title": t.title,
                "columns": t.columns,
                "rows": t.rows,
            })).collect::<Vec<_>>(),
        })
    }
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

/// What an absorbed or unmarked line looks like, in words.
fn looks_like(u: &Unmarked) -> String {
    match u.kind {
        RegionKind::Article => format!("article {}", u.label),
        RegionKind::Clause => format!("clause {}", u.label),
        RegionKind::Point => format!("point {}", u.label),
        k => format!("{k} {}", u.label),
    }
}

/// Why the line did not become a unit, in words.
pub fn reason_text(u: &Unmarked) -> &'static str {
    use iu_core::Why;
    match u.reason {
        Why::ArticleBelowLast => "its number is below the last article's",
        Why::ArticleNotNext => "its number does not follow the last article's",
        Why::ArticleReference => "a sentence citing an article, not a heading",
        Why::OutsideArticle => "outside any article",
        Why::OutOfSequence => "out of sequence",
        Why::InClosing => "in the closing (signature, annexes), which is not read",
    }
}

/// "“Điều 8.” looks like article 8 but is part of art_70__para_2 (its
/// number is below the last article's)" — a review warning, whose `line`
/// the host prints in front.
pub fn absorbed_warning(u: &Unmarked) -> String {
    format!(
        "“{}” looks like {} but is part of {} ({})",
        u.excerpt,
        looks_like(u),
        u.into,
        reason_text(u)
    )
}

/// "line 76: “Điều 8.” looks like …" ([`absorbed_warning`] with its line):
/// the mark evidence's `absorbed_markers.first`, which the gate's detail
/// quotes.
pub fn absorbed_text(u: &Unmarked) -> String {
    format!("line {}: {}", u.line, absorbed_warning(u))
}

/// The mark evidence's `absorbed_markers` object: count, whether the plan
/// allows them (mark config `allow_absorbed_markers`), the first
/// [`ABSORBED_SHOWN`] lines; and `unmarked_lines`: every marker-looking
/// line that did not become a unit, counted by (kind, reason).
pub fn mark_fields(report: &MarkReport, allowed: bool) -> (Value, Value) {
    let absorbed: Vec<&Unmarked> = report.absorbed().collect();
    let lines: Vec<Value> = absorbed
        .iter()
        .take(ABSORBED_SHOWN)
        .map(|u| {
            json!({
                "line": u.line,
                "kind": u.kind,
                "label": u.label,
                "reason": u.reason,
                "into": u.into,
                "text": u.excerpt,
            })
        })
        .collect();
    let mut by: std::collections::BTreeMap<String, u64> = Default::default();
    for u in &report.unmarked {
        *by.entry(format!("{}:{}", u.kind, u.reason.as_str()))
            .or_insert(0) += 1;
    }
    (
        json!({
            "count": absorbed.len(),
            "allowed": allowed,
            "first": absorbed.first().map(|u| absorbed_text(u)),
            "lines": lines,
            "truncated": absorbed.len() > ABSORBED_SHOWN,
        }),
        json!({
            "count": report.unmarked.len(),
            "by_kind_reason": by,
        }),
    )
}

/// The cutplan evidence's `article_numbering`: the summary, and the runs
/// present, the gaps and the repeated labels (lists capped at
/// [`LIST_CAP`], full counts kept).
pub fn numbering_field(plan: &CutPlan) -> Value {
    let n = facts::numbering(&plan.units);
    let spans = |l: &[facts::Span]| {
        l.iter()
            .take(LIST_CAP)
            .map(|(a, b)| json!([a, b]))
            .collect::<Vec<_>>()
    };
    json!({
        "summary": n.summary(),
        "articles": n.articles,
        "ranges": spans(&n.ranges),
        "range_count": n.ranges.len(),
        "gaps": spans(&n.gaps),
        "gap_count": n.gaps.len(),
        "repeats": n.repeats.iter().take(LIST_CAP).map(|(l, c)| json!({"label": l, "count": c})).collect::<Vec<_>>(),
        "repeat_count": n.repeats.len(),
    })
}

/// The cutplan evidence's `control_chars`: how many hidden control /
/// bidirectional characters the normalized text holds, per code point, the
/// first lines, the `first` one ("line 5: U+202E RIGHT-TO-LEFT OVERRIDE"),
/// and `allowed` (cutplan's config `allow_bidi_controls`), which
/// `G-PLAN-NO-BIDI-CONTROLS` reads.
pub fn controls_field(pinned: &Pinned, allowed: bool) -> Value {
    let c = facts::controls(&pinned.normalized);
    let first = c
        .first_lines
        .first()
        .zip(c.first_chars.first())
        .map(|(line, what)| format!("line {line}: {what}"));
    json!({
        "count": c.count,
        "lines": c.lines,
        "first_lines": c.first_lines,
        "by_char": c.by_char,
        "first": first,
        "allowed": allowed,
    })
}

/// The review of the cutplan evidence (what SG_1 approves).
pub fn cutplan_review(
    pinned: &Pinned,
    plan: &CutPlan,
    report: &MarkReport,
    allowed: bool,
    bidi_allowed: bool,
) -> Review {
    let text = pinned.normalized.as_str();
    let view = CutplanView {
        pinned,
        plan,
        report,
        text,
        index: LineIndex::new(text),
        absorbed: report.absorbed().collect(),
        numbering: facts::numbering(&plan.units),
        controls: facts::controls(text),
    };
    let mut r = Review {
        title: format!(
            "Cut plan of {} (version {}): {} units",
            plan.document_id,
            plan.version,
            plan.units.len()
        ),
        ..Review::default()
    };
    view.facts(&mut r, allowed, bidi_allowed);
    view.absorbed_warnings(&mut r);
    view.numbering_warnings(&mut r);
    view.control_warnings(&mut r);
    view.tables(&mut r);
    r
}

/// What the cutplan review is drawn from, each derived once.
struct CutplanView<'a> {
    pinned: &'a Pinned,
    plan: &'a CutPlan,
    report: &'a MarkReport,
    /// The normalized source.
    text: &'a str,
    index: LineIndex,
    absorbed: Vec<&'a Unmarked>,
    numbering: facts::Numbering,
    controls: facts::Controls,
}

impl CutplanView<'_> {
    /// Facts: the document, the units, absorbed and other marker-like
    /// lines, control characters, duplicates, lines.
    fn facts(&self, r: &mut Review, allowed: bool, bidi_allowed: bool) {
        let Self {
            pinned,
            plan,
            report,
            text,
            index,
            absorbed,
            numbering,
            controls,
        } = self;
        r.fact("Document", plan.document_id.as_str());
        r.fact("Version", plan.version.as_str());
        r.fact("Source sha256", pinned.raw_sha256.as_str());
        r.fact("Plan digest", plan.digest.as_str());
        let per_kind: Vec<String> = RegionKind::ALL
            .iter()
            .filter_map(|k| plan.counts.get(k.as_str()).map(|n| format!("{k} {n}")))
            .collect();
        r.fact(
            "Units",
            format!("{} ({})", plan.units.len(), per_kind.join(", ")),
        );
        r.fact("Article numbering", numbering.summary());

        r.fact("Absorbed markers", absorbed_fact(absorbed, allowed));
        let others = report.unmarked.len() - absorbed.len();
        r.fact(
            "Other marker-like lines not cut",
            if others == 0 {
                "none".to_string()
            } else {
                let mut by: std::collections::BTreeMap<String, u64> = Default::default();
                for u in report.unmarked.iter().filter(|u| !u.is_absorbed()) {
                    *by.entry(format!("{} {}", u.kind, reason_text(u)))
                        .or_insert(0) += 1;
                }
                let parts: Vec<String> = by.iter().map(|(k, n)| format!("{n} {k}")).collect();
                format!("{others}: {}", parts.join("; "))
            },
        );
        r.fact(
            "Control/bidi characters",
            controls_fact(controls, bidi_allowed),
        );
        let dups = plan
            .units
            .iter()
            .filter(|u| u.duplicate_of.is_some())
            .count();
        r.fact(
            "Duplicate eIds (_dupN)",
            if dups == 0 { s("none") } else { s(dups) },
        );
        r.fact(
            "Lines",
            format!(
                "{} ({} inside quotations, not read for markers{})",
                index.lines(text),
                report.quoted_lines,
                report
                    .closing_line
                    .map(|l| format!("; closing from line {l}"))
                    .unwrap_or_default()
            ),
        );
    }

    /// Warnings for the absorbed markers (capped, with the count).
    fn absorbed_warnings(&self, r: &mut Review) {
        let absorbed = &self.absorbed;
        for u in absorbed.iter().take(ABSORBED_SHOWN) {
            r.warn(Some(u.line), absorbed_warning(u));
        }
        if absorbed.len() > ABSORBED_SHOWN {
            r.warn(
                None,
                format!(
                    "… {} more absorbed marker line(s) ({} in all)",
                    absorbed.len() - ABSORBED_SHOWN,
                    absorbed.len()
                ),
            );
        }
    }

    /// Warnings for article numbering gaps and repeats (capped).
    fn numbering_warnings(&self, r: &mut Review) {
        let Self {
            plan,
            index,
            numbering,
            ..
        } = self;
        let gaps = facts::gap_starts(&plan.units, numbering);
        for (i, (from, to)) in gaps.iter().take(OTHER_SHOWN) {
            let u = &plan.units[*i];
            let missing = if from == to {
                format!("article {from} is missing")
            } else {
                format!("articles {from}–{to} are missing")
            };
            r.warn(
                Some(index.line_of(u.start)),
                format!(
                    "article numbering jumps to {} ({}): {missing}",
                    u.number, u.eid
                ),
            );
        }
        if numbering.gaps.len() > OTHER_SHOWN {
            r.warn(
                None,
                format!("… {} numbering gaps in all", numbering.gaps.len()),
            );
        }
        let repeated: Vec<&iu_core::Unit> = plan
            .units
            .iter()
            .filter(|u| u.kind == RegionKind::Article && u.duplicate_of.is_some())
            .collect();
        for u in repeated.iter().take(OTHER_SHOWN) {
            r.warn(
                Some(index.line_of(u.start)),
                format!(
                    "article {} is numbered again: {} (duplicate of {})",
                    u.number,
                    u.eid,
                    u.duplicate_of.as_deref().unwrap_or_default()
                ),
            );
        }
        if repeated.len() > OTHER_SHOWN {
            r.warn(
                None,
                format!("… {} repeated article numbers in all", repeated.len()),
            );
        }
    }

    /// Warnings for invisible control and bidi characters (capped).
    fn control_warnings(&self, r: &mut Review) {
        let controls = &self.controls;
        for (line, what) in controls
            .first_lines
            .iter()
            .zip(&controls.first_chars)
            .take(OTHER_SHOWN)
        {
            r.warn(
                Some(*line),
                format!("invisible control/bidi character {what}"),
            );
        }
        if controls.lines > controls.first_lines.len() as u64 {
            r.warn(
                None,
                format!(
                    "… control/bidi characters on {} lines in all ({} characters)",
                    controls.lines, controls.count
                ),
            );
        }
    }

    /// Tables: units per kind, the largest units, marker-like lines.
    fn tables(&self, r: &mut Review) {
        let Self {
            plan,
            report,
            index,
            ..
        } = self;
        r.tables.push(Table {
            title: s("Units per kind"),
            columns: vec![s("kind"), s("units")],
            rows: RegionKind::ALL
                .iter()
                .filter_map(|k| {
                    plan.counts
                        .get(k.as_str())
                        .map(|n| vec![k.as_str().to_string(), n.to_string()])
                })
                .collect(),
        });
        r.tables.push(Table {
            title: format!("Largest units (top {LARGEST_SHOWN})"),
            columns: vec![s("eId"), s("kind"), s("line"), s("bytes")],
            rows: facts::largest(&plan.units, LARGEST_SHOWN)
                .into_iter()
                .map(|i| {
                    let u = &plan.units[i];
                    vec![
                        u.eid.clone(),
                        s(u.kind),
                        s(index.line_of(u.start)),
                        s(u.text.len()),
                    ]
                })
                .collect(),
        });
        if !report.unmarked.is_empty() {
            let shown = report.unmarked.len().min(UNMARKED_SHOWN);
            r.tables.push(Table {
                title: format!(
                    "Marker-like lines outside quotations that are not units ({shown} of {})",
                    report.unmarked.len()
                ),
                columns: vec![
                    s("line"),
                    s("looks like"),
                    s("absorbed"),
                    s("why not a unit"),
                    s("part of"),
                    s("text"),
                ],
                rows: report
                    .unmarked
                    .iter()
                    .take(UNMARKED_SHOWN)
                    .map(|u| {
                        vec![
                            s(u.line),
                            looks_like(u),
                            s(if u.is_absorbed() { "yes" } else { "no" }),
                            s(reason_text(u)),
                            u.into.clone(),
                            u.excerpt.clone(),
                        ]
                    })
                    .collect(),
            });
        }
    }
}

/// The "Absorbed markers" fact: how many, the first, and whether mark's
/// config lets the run go on.
fn absorbed_fact(absorbed: &[&Unmarked], allowed: bool) -> String {
    match (absorbed.first(), allowed) {
        (None, _) => "none".to_string(),
        (Some(u), false) => format!(
            "{} line(s) outside quotations look like article/clause markers but are inside other units (first: line {}); the run stops at mark unless mark's config sets allow_absorbed_markers = true",
            absorbed.len(),
            u.line
        ),
        (Some(u), true) => format!(
            "{} line(s) outside quotations look like article/clause markers but are inside other units (first: line {}); allowed by mark's config allow_absorbed_markers = true",
            absorbed.len(),
            u.line
        ),
    }
}

/// The "Control/bidi characters" fact: how many, which, the first lines,
/// and whether cutplan's config lets the run go on.
fn controls_fact(controls: &facts::Controls, bidi_allowed: bool) -> String {
    if controls.count == 0 {
        "none".to_string()
    } else {
        let lines: Vec<String> = controls.first_lines.iter().map(u64::to_string).collect();
        let kinds: Vec<String> = controls
            .by_char
            .iter()
            .map(|(c, n)| format!("{c} ×{n}"))
            .collect();
        format!(
            "{} on {} line(s) ({}); first on line(s) {}; {}",
            controls.count,
            controls.lines,
            kinds.join(", "),
            lines.join(", "),
            if bidi_allowed {
                "allowed by cutplan's config allow_bidi_controls = true"
            } else {
                "the run stops after cutplan unless cutplan's config sets allow_bidi_controls = true"
            }
        )
    }
}

/// The eId diff against the version(s) in force, as evidence: counts and the
/// first [`DIFF_SHOWN`] eIds of each kind of change.
pub fn diff_field(diff: &Diff, against: &[String], this_in_force: bool) -> Value {
    let list = |l: &[String]| json!({"count": l.len(), "eids": l.iter().take(DIFF_SHOWN).collect::<Vec<_>>()});
    json!({
        "against": against,
        "this_version_in_force": this_in_force,
        "added": list(&diff.added),
        "changed": list(&diff.changed),
        "removed": list(&diff.removed),
        "unchanged": diff.unchanged,
    })
}

/// What write_verify checked, for its review.
pub struct Verified<'a> {
    /// Document id.
    pub document_id: &'a str,
    /// Version.
    pub version: &'a str,
    /// Plan digest.
    pub plan_digest: &'a str,
    /// Verify digest (what SG_2 binds to).
    pub verify_digest: &'a str,
    /// Unit rows read back.
    pub units_read: usize,
    /// Envelopes read back.
    pub envelopes_read: usize,
}

/// The review of the write_verify evidence (what SG_2 approves).
pub fn write_verify_review(
    v: &Verified<'_>,
    diff: &Diff,
    against: &[String],
    this_in_force: bool,
) -> Review {
    let mut r = Review {
        title: format!(
            "Write verify of {} (version {}): written rows equal the plan",
            v.document_id, v.version
        ),
        ..Review::default()
    };
    r.fact("Document", v.document_id);
    r.fact("Version", v.version);
    r.fact(
        "Write-verify result",
        format!(
            "ok: {} unit rows and {} envelopes read back equal the approved plan, 0 mismatches",
            v.units_read, v.envelopes_read
        ),
    );
    r.fact("Plan digest (approved at SG_1)", v.plan_digest);
    r.fact("Verify digest", v.verify_digest);
    r.fact(
        "Version in force",
        if this_in_force && against == [v.version] {
            s("this version (a re-run): nothing changes")
        } else if against.is_empty() {
            s("none: this is the document's first version")
        } else {
            against.join(", ")
        },
    );
    r.fact(
        "eId diff against the version in force",
        format!(
            "{} added, {} changed, {} removed, {} unchanged",
            diff.added.len(),
            diff.changed.len(),
            diff.removed.len(),
            diff.unchanged
        ),
    );
    if !diff.removed.is_empty() {
        let first: Vec<&str> = diff
            .removed
            .iter()
            .take(DIFF_SHOWN)
            .map(String::as_str)
            .collect();
        r.warn(
            None,
            format!(
                "{} unit(s) in force will be retired without a successor eId (first: {})",
                diff.removed.len(),
                first.join(", ")
            ),
        );
    }
    r.tables.push(diff_table(diff, against));
    r
}

/// The eId diff as a table: per kind of change, the count and the first
/// [`DIFF_SHOWN`] eIds.
fn diff_table(diff: &Diff, against: &[String]) -> Table {
    let row = |what: &str, l: &[String]| {
        let shown: Vec<&str> = l.iter().take(DIFF_SHOWN).map(String::as_str).collect();
        let mut ex = shown.join(", ");
        if l.len() > DIFF_SHOWN {
            ex.push_str(", …");
        }
        vec![s(what), s(l.len()), ex]
    };
    Table {
        title: format!(
            "eId diff against {}",
            if against.is_empty() {
                s("(no version in force)")
            } else {
                against.join(", ")
            }
        ),
        columns: vec![s("change"), s("count"), format!("first {DIFF_SHOWN} eIds")],
        rows: vec![
            row("added", &diff.added),
            row("changed", &diff.changed),
            row("removed", &diff.removed),
            vec![s("unchanged"), s(diff.unchanged), String::new()],
        ],
    }
}
