//! `phasehost report`: one self-contained HTML page of a run folder, for
//! people — the outcome, a timeline of the phases (an inline SVG bar chart),
//! every gate predicate checked, the approvals with the time each gate
//! waited for its approver, the review objects the approvers saw, the stop
//! and the plugins' sha256s.
//!
//! Everything in a run folder is hostile input (docs/THREAT_MODEL.md): the
//! folder is opened and read through [`RunFolder`] only (real folders,
//! no symlink, bounded reads), a file that does not parse or has fields of
//! the wrong type is `corrupt-state` (an approval file `approval-invalid`),
//! every text goes through maud, which escapes it, and control or
//! bidirectional-formatting characters are shown as visible `U+XXXX`
//! escapes so they cannot reorder or hide what the page says. The page
//! has no script and loads nothing (inline CSS and SVG; a
//! Content-Security-Policy that allows nothing else). The report checks no
//! signature: it shows what the folder records (`phasehost status <run>
//! --plan <plan>` checks the approvals against the plan's keys).

use super::kb::{PauseRecord, RunFolder};
use super::state::{RunState, Status};
use crate::stop::{Stop, StopCode};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use phasehost_policy::approval::Gate;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The longest text shown whole (longer is cut, saying how much).
const MAX_TEXT_CHARS: usize = 2000;
/// The most items of one review list or table shown (as `review.rs`).
const MAX_ITEMS: usize = 50;
/// The most gate results shown per phase.
const MAX_GATE_RESULTS: usize = 500;

/// A report, written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    /// Where.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its sha256.
    pub sha256: String,
}

/// Write the report of the run folder `run_folder` to `out` (default
/// `<run-folder>/report.html`). An existing file is refused unless `force`;
/// the page is written to a new temp file in the same folder and renamed
/// over the target, so a reader never sees half a page and a symlink at the
/// target is replaced, never followed.
pub fn write(run_folder: &Path, out: Option<&Path>, force: bool) -> Result<Written, Stop> {
    let folder = RunFolder::open(run_folder)?;
    let page = render(&folder)?.into_string();
    let path = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| folder.root().join("report.html"));
    let exists = match out {
        None => folder.holds("report.html"),
        Some(out) => std::fs::symlink_metadata(out).is_ok(),
    };
    if !force && exists {
        return Err(Stop::new(
            StopCode::KbWriteFailed,
            format!(
                "{} exists; nothing was written (pass --force to replace it)",
                path.display()
            ),
        ));
    }
    let written = match out {
        // In the run folder: through its handle.
        None => crate::fsutil::write_atomic_in(folder.dir(), "report.html", page.as_bytes(), 0o644),
        // A file the operator named.
        Some(out) => crate::fsutil::write_atomic(out, page.as_bytes()),
    };
    written.map_err(|e| {
        Stop::new(
            StopCode::KbWriteFailed,
            format!("cannot write the report {}: {e}", path.display()),
        )
    })?;
    Ok(Written {
        path,
        bytes: page.len() as u64,
        sha256: crate::digest::sha256_hex(page.as_bytes()),
    })
}

// ---------------------------------------------------------------------------
// What the run folder records (parsed leniently: missing fields are `None`,
// fields of the wrong type are `corrupt-state`).

#[derive(Debug, Default, Deserialize)]
struct EvidenceDoc {
    #[serde(default)]
    plugin_sha256: Option<String>,
    #[serde(default)]
    timing: Option<Timing>,
    #[serde(default)]
    bytes: Option<Bytes>,
    #[serde(default)]
    gates_before: Option<Vec<GateCheck>>,
    #[serde(default)]
    gates_after: Option<Vec<GateCheck>>,
    #[serde(default)]
    inputs_added: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    evidence: Value,
}

#[derive(Debug, Default, Deserialize)]
struct Timing {
    #[serde(default)]
    started_at: Option<String>,
    #[serde(default)]
    plugin_ms: Option<u64>,
    #[serde(default)]
    phase_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct Bytes {
    #[serde(default)]
    evidence_in: Option<u64>,
    #[serde(default)]
    evidence_out: Option<u64>,
    #[serde(default)]
    log: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct GateCheck {
    name: String,
    checkpoint: String,
    holds: bool,
    detail: String,
    #[serde(default)]
    ms: Option<u64>,
}

/// `@sg1` / `@sg2` as the host handed it to the phase after the gate.
#[derive(Debug, Deserialize)]
struct OpenedGate {
    #[serde(default)]
    approvers: Vec<OpenedBy>,
}

#[derive(Debug, Deserialize)]
struct OpenedBy {
    #[serde(default)]
    holder: Option<String>,
    approval_id: String,
}

#[derive(Debug, Deserialize)]
struct StopDoc {
    code: String,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    hint: Option<String>,
    #[serde(default)]
    exit_status: Option<i64>,
    #[serde(default)]
    stopped_at: Option<String>,
}

struct PhaseView {
    index: usize,
    name: String,
    document: String,
    duration_ms: Option<u64>,
    doc: EvidenceDoc,
}

impl PhaseView {
    fn gates(&self) -> impl Iterator<Item = &GateCheck> {
        self.doc
            .gates_before
            .iter()
            .flatten()
            .chain(self.doc.gates_after.iter().flatten())
    }

    fn gate_ms(&self) -> u64 {
        self.gates().filter_map(|g| g.ms).sum()
    }

    fn total_ms(&self) -> Option<u64> {
        self.duration_ms
            .or_else(|| self.doc.timing.as_ref().and_then(|t| t.phase_ms))
    }

    fn plugin_ms(&self) -> Option<u64> {
        self.doc.timing.as_ref().and_then(|t| t.plugin_ms)
    }

    fn started_at(&self) -> Option<&str> {
        self.doc
            .timing
            .as_ref()
            .and_then(|t| t.started_at.as_deref())
    }
}

struct ApprovalView {
    gate: Gate,
    key_id: String,
    approval_id: String,
    evidence_digest: String,
    issued_at: u64,
    expires_at: u64,
    review_sha256: Option<String>,
    /// Holder and the phase whose inputs recorded the opened gate.
    accepted: Option<(Option<String>, String)>,
    /// The first recorded pause at this gate for this digest.
    paused: Option<PauseRecord>,
}

impl ApprovalView {
    /// Seconds from the pause to the signature (negative: signed before
    /// the recorded pause, i.e. the signer's clock is behind the host's).
    fn wait_secs(&self) -> Option<i64> {
        let paused_ms = parse_rfc3339_ms(&self.paused.as_ref()?.at)?;
        Some(self.issued_at as i64 - paused_ms.div_euclid(1000))
    }
}

struct Model {
    state: RunState,
    phases: Vec<PhaseView>,
    approvals: Vec<ApprovalView>,
    pauses: Vec<PauseRecord>,
    stop: Option<StopDoc>,
    /// Per gate: the review file's sha256, if `review/<gate>.md` exists.
    review_files: Vec<(Gate, Option<String>)>,
}

fn corrupt(path: &Path, what: impl std::fmt::Display) -> Stop {
    Stop::new(
        StopCode::CorruptState,
        format!("damaged document {}: {what}", path.display()),
    )
}

fn load(folder: &RunFolder) -> Result<Model, Stop> {
    let state = super::load_state(folder)?;
    let mut phases = Vec::new();
    for (index, record) in state.phases.iter().enumerate() {
        let value = folder.read_json(&record.document)?;
        let doc: EvidenceDoc = serde_json::from_value(value)
            .map_err(|e| corrupt(&folder.root().join(&record.document), e))?;
        phases.push(PhaseView {
            index,
            name: record.phase.clone(),
            document: record.document.clone(),
            duration_ms: record.duration_ms,
            doc,
        });
    }
    let pauses = folder.pauses()?;
    let mut approvals = Vec::new();
    let mut review_files = Vec::new();
    // The gates of this run: those with approvals on file and those the
    // run paused at (the report reads the run folder, not the plan).
    let mut gates = folder.approval_gates()?;
    gates.extend(pauses.iter().map(|p| p.gate.clone()));
    gates.sort();
    gates.dedup();
    for gate in gates {
        for path in folder.approval_files(&gate)? {
            let signed = folder
                .load_approval(&path)
                .map_err(|e| Stop::new(StopCode::ApprovalInvalid, e.to_string()))?;
            let st = signed.statement;
            let accepted = opened_by(&phases, &gate, &st.approval_id)?;
            let paused = pauses
                .iter()
                .find(|p| p.gate == gate && p.evidence_digest == st.evidence_digest)
                .cloned();
            approvals.push(ApprovalView {
                gate: gate.clone(),
                key_id: st.key_id,
                approval_id: st.approval_id,
                evidence_digest: st.evidence_digest,
                issued_at: st.issued_at,
                expires_at: st.expires_at,
                review_sha256: st.review_sha256,
                accepted,
                paused,
            });
        }
        let review = folder
            .read_review(&gate)?
            .map(|bytes| crate::digest::sha256_hex(&bytes));
        review_files.push((gate, review));
    }
    let stop = if folder.holds("stop.json") {
        let value = folder.read_json("stop.json")?;
        Some(
            serde_json::from_value(value)
                .map_err(|e| corrupt(&folder.root().join("stop.json"), e))?,
        )
    } else {
        None
    };
    Ok(Model {
        state,
        phases,
        approvals,
        pauses,
        stop,
        review_files,
    })
}

/// The holder the host recorded for approval `approval_id` of `gate` when
/// the gate opened (the `@<gate>` input of the phase after it), and that
/// phase; `None` when no phase records it (the gate has not opened).
fn opened_by(
    phases: &[PhaseView],
    gate: &Gate,
    approval_id: &str,
) -> Result<Option<(Option<String>, String)>, Stop> {
    let key = format!("@{}", gate.as_str());
    for phase in phases {
        let Some(opened) = phase.doc.inputs_added.as_ref().and_then(|m| m.get(&key)) else {
            continue;
        };
        let opened: OpenedGate = serde_json::from_value(opened.clone()).map_err(|e| {
            corrupt(
                Path::new(&phase.document),
                format!("inputs_added.{key}: {e}"),
            )
        })?;
        if let Some(by) = opened
            .approvers
            .into_iter()
            .find(|a| a.approval_id == approval_id)
        {
            return Ok(Some((by.holder, phase.name.clone())));
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------
// Text from the run folder.

/// A character shown as an escape rather than as itself: the terminal
/// review's set (controls, bidirectional formatting) plus the invisible
/// ones that could hide text on a page.
fn shown_as_escape(c: char) -> bool {
    super::review::is_control_or_bidi(c)
        || matches!(
            c,
            '\u{061c}' | '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{feff}'
        )
}

/// Text from the run folder: escaped by maud, cut to [`MAX_TEXT_CHARS`],
/// control and bidi characters as visible `U+XXXX` marks.
fn text(raw: &str) -> Markup {
    let total = raw.chars().count();
    let mut parts: Vec<(bool, String)> = Vec::new();
    for c in raw.chars().take(MAX_TEXT_CHARS) {
        if shown_as_escape(c) {
            parts.push((true, format!("U+{:04X}", c as u32)));
        } else {
            match parts.last_mut() {
                Some((false, s)) => s.push(c),
                _ => parts.push((false, c.to_string())),
            }
        }
    }
    html! {
        @for (escape, part) in &parts {
            @if *escape {
                span.ctl title="a control or bidirectional-formatting character, shown as its code" { (part) }
            } @else {
                (part)
            }
        }
        @if total > MAX_TEXT_CHARS {
            span.cut { " … (" (total - MAX_TEXT_CHARS) " more characters)" }
        }
    }
}

/// A JSON scalar as text (strings without quotes).
fn scalar(value: &Value) -> Markup {
    match value {
        Value::String(s) => text(s),
        Value::Null => html! {},
        other => text(&other.to_string()),
    }
}

// ---------------------------------------------------------------------------
// Times.

/// Milliseconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SS[.fff]Z` (the
/// host's own format); `None` for anything else.
fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        (!part.is_empty() && part.bytes().all(|c| c.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let millis = match &s[19..s.len() - 1] {
        "" => 0,
        frac if frac.starts_with('.') && frac.len() == 4 => num(20..23)?,
        _ => return None,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    // Howard Hinnant's days-from-civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hour * 3600 + minute * 60 + second) * 1000) + millis)
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`.
fn unix_time(secs: u64) -> String {
    let s = super::ids::utc_stamp(secs);
    format!(
        "{}-{}-{} {}:{}:{} UTC",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    )
}

/// A recorded RFC 3339 time, shown in the same form as [`unix_time`]
/// (with its milliseconds); anything else is shown as recorded.
fn recorded_time(s: &str) -> Markup {
    match parse_rfc3339_ms(s) {
        Some(ms) if ms >= 0 => html! {
            (unix_time((ms / 1000) as u64).replace(" UTC", &format!(".{:03} UTC", ms % 1000)))
        },
        _ => text(s),
    }
}

/// A duration in seconds for people: `42 s`, `3 min 5 s`, `2 h 3 min`,
/// `1 d 4 h`.
fn duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min {} s", secs / 60, secs % 60),
        3600..86_400 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86_400, secs % 86_400 / 3600),
    }
}

fn short(digest: &str) -> &str {
    digest.get(..16).unwrap_or(digest)
}

// ---------------------------------------------------------------------------
// The page.

const CSS: &str = r#"
:root { --ink:#1d232b; --muted:#5b6573; --line:#d9dee5; --bg:#f6f7f9; --ok:#1f7a3a; --bad:#b42318; --wait:#a15c00;
        --plugin:#3b6fd8; --gate:#e08a1e; --host:#9aa4b2; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--ink);
       background: var(--bg); margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 40px; background: #fff; min-height: 100vh; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
.runid { color: var(--muted); margin: 0 0 14px; word-break: break-all; }
.badge { display: inline-block; padding: 3px 10px; border-radius: 12px; font-weight: 600; color: #fff; }
.badge.done { background: var(--ok); } .badge.paused { background: var(--wait); } .badge.stopped { background: var(--bad); }
.badge.running { background: var(--muted); }
.outcome { display: flex; gap: 12px; align-items: center; margin: 6px 0 14px; flex-wrap: wrap; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--bg); font-weight: 600; font-size: 12.5px; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv th { width: 170px; background: none; color: var(--muted); font-weight: 500; }
.holds { color: var(--ok); font-weight: 600; } .fails { color: var(--bad); font-weight: 600; }
.muted { color: var(--muted); }
.when { white-space: nowrap; } .small { font-size: 12px; }
table.approvals code { overflow-wrap: anywhere; }
.ctl { font-family: ui-monospace, monospace; font-size: 11px; background: #fde8e8; color: var(--bad);
       border: 1px solid #f5b5b5; border-radius: 3px; padding: 0 2px; margin: 0 1px; }
.cut { color: var(--muted); font-style: italic; }
.stopbox { border: 1px solid #f5b5b5; background: #fff5f5; border-radius: 6px; padding: 10px 14px; }
.review { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px 10px; margin: 10px 0 16px; }
.review h3 { margin-top: 6px; }
.warn { color: var(--wait); }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: var(--ink); }
svg .label { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
svg .ms { fill: var(--muted); }
svg .grid { stroke: var(--line); stroke-width: 1; }
.legend { display: flex; gap: 16px; color: var(--muted); font-size: 12.5px; margin: 2px 0 10px; }
.legend i { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12.5px; border-top: 1px solid var(--line); padding-top: 10px; }
"#;

/// The report page of the run in `folder`.
pub fn render(folder: &RunFolder) -> Result<Markup, Stop> {
    let model = load(folder)?;
    let state = &model.state;
    let title = format!("phasehost report: {}", state.run_id);
    Ok(html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy"
                    content="default-src 'none'; style-src 'unsafe-inline'; img-src data:";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                main {
                    (header(&model))
                    (stop_section(&model))
                    (timeline(&model))
                    (approvals(&model))
                    (reviews(&model))
                    (gate_tables(&model))
                    (plugins(&model))
                    footer {
                        "Made by phasehost " (env!("CARGO_PKG_VERSION")) " report from the run folder "
                        code { (text(&folder.root().display().to_string())) }
                        ". It shows what the folder records; it checks no signature ("
                        code { "phasehost status <run-folder> --plan <plan>" }
                        " does). Text from the run folder is escaped; control and "
                        "bidirectional-formatting characters are shown as "
                        span.ctl { "U+XXXX" } "."
                    }
                }
            }
        }
    })
}

fn outcome_badge(model: &Model) -> Markup {
    match &model.state.status {
        Status::Completed => html! { span.badge.done { "done" } },
        Status::Paused {
            gate, before_phase, ..
        } => html! {
            span.badge.paused { "paused at " (gate.to_string()) }
            span { "waiting for an approval before " code { (before_phase) } }
        },
        Status::Stopped { code, phase } => html! {
            span.badge.stopped { "stopped: " (code.as_str()) }
            @if let Some(phase) = phase { span { "in phase " code { (text(phase)) } } }
        },
        Status::Running => html! {
            span.badge.running { "running or interrupted" }
            span { "at phase " (model.state.next_phase + 1) }
        },
    }
}

/// When the run ended, if it did: a completed run at the end of its last
/// phase, a stopped one when its stop was written.
fn finished(model: &Model) -> Markup {
    match &model.state.status {
        Status::Completed => {
            let last = model.phases.last();
            let end = last.and_then(|p| {
                let start = parse_rfc3339_ms(p.started_at()?)?;
                Some(start + p.doc.timing.as_ref()?.phase_ms? as i64)
            });
            match end {
                Some(ms) if ms >= 0 => html! {
                    (unix_time((ms / 1000) as u64).replace(" UTC", &format!(".{:03} UTC", ms % 1000)))
                    span.muted { " (end of the last phase)" }
                },
                _ => html! { span.muted { "not recorded" } },
            }
        }
        Status::Stopped { .. } => match model.stop.as_ref().and_then(|s| s.stopped_at.as_deref()) {
            Some(at) => recorded_time(at),
            None => html! { span.muted { "not recorded (stop.json has no time)" } },
        },
        Status::Paused { gate, .. } => match model.pauses.iter().rev().find(|p| p.gate == *gate) {
            Some(p) => {
                html! { span.muted { "not finished; paused since " } (recorded_time(&p.at)) }
            }
            None => html! { span.muted { "not finished" } },
        },
        Status::Running => html! { span.muted { "not finished" } },
    }
}

fn header(model: &Model) -> Markup {
    let s = &model.state;
    let plan_name = s
        .plan_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    html! {
        h1 { "Run report" }
        p.runid.mono { (s.run_id) }
        div.outcome { (outcome_badge(model)) }
        table.kv {
            tr { th { "document" } td { code { (s.document_id) } " version " code { (s.version) } } }
            tr { th { "plan" } td { code { (text(&plan_name)) } " "
                span.muted { "(" (text(&s.plan_path.display().to_string())) ", sha256 " }
                code { (short(&s.fingerprint.plan_sha256)) "…" } span.muted { ")" } } }
            tr { th { "mode" } td {
                @if matches!(s.mode, super::state::Mode::Dry) { b { "dry" } " — store writes rolled back" }
                @else { b { "live" } " — store writes committed phase by phase" } } }
            tr { th { "source" } td { code { (text(&s.source_path.display().to_string())) } " "
                span.muted { "sha256 " } code { (short(&s.fingerprint.source_sha256)) "…" } } }
            tr { th { "started" } td { (unix_time(s.started_at)) } }
            tr { th { "finished" } td { (finished(model)) } }
            tr { th { "phases done" } td { (s.phases.len()) } }
        }
    }
}

fn stop_section(model: &Model) -> Markup {
    let Status::Stopped { code, phase } = &model.state.status else {
        return html! {};
    };
    html! {
        h2 id="stop" { "Stop" }
        div.stopbox {
            @match &model.stop {
                Some(stop) => {
                    table.kv {
                        tr { th { "code" } td { b.fails { (text(&stop.code)) } } }
                        @if let Some(status) = stop.exit_status { tr { th { "exit status" } td { (status) } } }
                        tr { th { "phase" } td { @match &stop.phase { Some(p) => code { (text(p)) }, None => span.muted { "none (before any phase)" } } } }
                        tr { th { "message" } td { (text(&stop.message)) } }
                        @if let Some(hint) = &stop.hint { tr { th { "hint" } td { (text(hint)) } } }
                        @if let Some(at) = &stop.stopped_at { tr { th { "when" } td { (recorded_time(at)) } } }
                    }
                    @if stop.code != code.as_str() {
                        p.fails { "stop.json says " (text(&stop.code)) " but the state says " (code.as_str()) "." }
                    }
                }
                None => {
                    p { "The state says " b.fails { (code.as_str()) }
                        @if let Some(p) = phase { " in " code { (text(p)) } }
                        ", but the run folder has no " code { "stop.json" } "." }
                }
            }
        }
    }
}

/// The bar chart: one bar per phase, its length the phase's duration,
/// split into plugin time, gate-check time and the host's other work.
fn chart(model: &Model) -> Markup {
    const WIDTH: f64 = 1040.0;
    const LABEL: f64 = 170.0;
    const VALUE: f64 = 190.0;
    const ROW: f64 = 24.0;
    const BAR: f64 = 15.0;
    let bars = WIDTH - LABEL - VALUE;
    let extra_row = !matches!(model.state.status, Status::Completed);
    let rows = model.phases.len() + usize::from(extra_row);
    let height = ROW * rows.max(1) as f64 + 8.0;
    let max = model
        .phases
        .iter()
        .filter_map(PhaseView::total_ms)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let scale = |ms: u64| ms as f64 / max * bars;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(height)
            viewBox=(format!("0 0 {WIDTH} {height}")) role="img"
            aria-label="phase durations in milliseconds" {
            line.grid x1=(LABEL) y1="0" x2=(LABEL) y2=(height) {}
            @for (row, phase) in model.phases.iter().enumerate() {
                @let y = ROW * row as f64 + 4.0;
                @let total = phase.total_ms().unwrap_or(0);
                @let gates = phase.gate_ms().min(total);
                @let plugin = phase.plugin_ms().unwrap_or(0).min(total - gates);
                @let host = total - gates - plugin;
                text.label x=(LABEL - 8.0) y=(y + 12.0) text-anchor="end" {
                    (format!("{:02} {}", phase.index + 1, phase.name))
                }
                @if total > 0 {
                    rect x=(LABEL) y=(y) width=(format!("{:.2}", scale(plugin))) height=(BAR) fill="#3b6fd8" {}
                    rect x=(format!("{:.2}", LABEL + scale(plugin))) y=(y) width=(format!("{:.2}", scale(gates))) height=(BAR) fill="#e08a1e" {}
                    rect x=(format!("{:.2}", LABEL + scale(plugin + gates))) y=(y) width=(format!("{:.2}", scale(host).max(1.0))) height=(BAR) fill="#9aa4b2" {}
                }
                text.ms x=(format!("{:.2}", LABEL + scale(total) + 8.0)) y=(y + 12.0) {
                    @match phase.total_ms() {
                        Some(ms) => (format!("{ms} ms  (gates {gates} ms)")),
                        None => "not recorded",
                    }
                }
            }
            @if extra_row {
                @let y = ROW * model.phases.len() as f64 + 4.0;
                @let (label, what) = match &model.state.status {
                    Status::Paused { gate, before_phase, .. } => (before_phase.clone(), format!("waiting for {gate}")),
                    Status::Stopped { code, phase } => (phase.clone().unwrap_or_default(), format!("stopped: {code}")),
                    _ => (String::new(), "running or interrupted".to_string()),
                };
                text.label x=(LABEL - 8.0) y=(y + 12.0) text-anchor="end" {
                    (format!("{:02} {}", model.phases.len() + 1, shown_plain(&label)))
                }
                text x=(LABEL + 8.0) y=(y + 12.0)
                    fill=(if matches!(model.state.status, Status::Stopped { .. }) { "#b42318" } else { "#a15c00" }) {
                    (what)
                }
            }
        }
    }
}

/// Text for places where no markup may go (SVG text): control and bidi
/// characters become U+FFFD, as on an approver's terminal.
fn shown_plain(raw: &str) -> String {
    raw.chars()
        .take(80)
        .map(|c| if shown_as_escape(c) { '\u{fffd}' } else { c })
        .collect()
}

fn timeline(model: &Model) -> Markup {
    html! {
        h2 id="timeline" { "Timeline" }
        @if model.phases.is_empty() {
            p.muted { "No phase completed." }
        }
        (chart(model))
        div.legend {
            span { i style="background:#3b6fd8" {} "plugin" }
            span { i style="background:#e08a1e" {} "gate checks" }
            span { i style="background:#9aa4b2" {} "host (store, evidence, log)" }
        }
        table {
            tr {
                th.num { "#" } th { "phase" } th { "started" } th.num { "duration ms" } th.num { "plugin ms" }
                th.num { "gate checks" } th.num { "gate ms" } th.num { "evidence in" } th.num { "evidence out" } th.num { "log bytes" }
            }
            @for phase in &model.phases {
                @let bytes = phase.doc.bytes.as_ref();
                tr {
                    td.num { (phase.index + 1) }
                    td { code { (phase.name) } }
                    td.when { @match phase.started_at() { Some(at) => (recorded_time(at)), None => span.muted { "—" } } }
                    td.num { (opt(phase.total_ms())) }
                    td.num { (opt(phase.plugin_ms())) }
                    td.num { (phase.gates().count()) }
                    td.num { (phase.gate_ms()) }
                    td.num { (opt(bytes.and_then(|b| b.evidence_in))) }
                    td.num { (opt(bytes.and_then(|b| b.evidence_out))) }
                    td.num { (opt(bytes.and_then(|b| b.log))) }
                }
            }
        }
    }
}

fn opt(value: Option<u64>) -> String {
    value.map_or_else(|| "—".into(), |v| v.to_string())
}

fn approvals(model: &Model) -> Markup {
    html! {
        h2 id="approvals" { "Approvals" }
        @if model.approvals.is_empty() {
            p.muted { "No approval file in the run folder." }
        } @else {
            table.approvals {
                tr {
                    th { "gate" } th { "approver (key id)" } th { "signed" } th { "waited" }
                    th { "accepted" } th { "binds" } th { "review signed" }
                }
                @for a in &model.approvals {
                    tr {
                        td { b { (a.gate.to_string()) } }
                        td { @match &a.accepted {
                            Some((Some(holder), _)) => (text(holder)),
                            Some((None, _)) => span.muted { "no holder name on the key" },
                            None => span.muted { "not recorded (the gate has not opened on it)" },
                        }
                        br; code.small { (text(&a.key_id)) } }
                        td.when { (unix_time(a.issued_at)) br; span.muted.small { "valid until " (unix_time(a.expires_at)) } }
                        td { @match a.wait_secs() {
                            Some(secs) if secs >= 0 => { b { (duration(secs as u64)) } br; span.muted.small { "paused " (recorded_time(&a.paused.as_ref().map(|p| p.at.clone()).unwrap_or_default())) } }
                            Some(secs) => span.warn { "signed " (duration(secs.unsigned_abs())) " before the recorded pause (clock skew)" },
                            None => span.muted { "not recorded (no pause record for this digest)" },
                        } }
                        td { @match &a.accepted {
                            Some((_, phase)) => { span.holds { "✓" } " gate opened before " code { (phase) } },
                            None => span.muted { "not (yet) used by the run" },
                        } }
                        td { code { (text(short(&a.evidence_digest))) "…" } br;
                            @if let Some(bound) = bound_field(model, &a.evidence_digest) { span.muted { (bound) } } }
                        td { (review_match(model, a)) }
                    }
                }
            }
            p.muted { "Waited: from the run's pause at the gate (host clock, "
                code { "pauses.jsonl" } ") to the approval's signing time (the signer's clock, whole seconds). "
                "Approval id of each: " @for (i, a) in model.approvals.iter().enumerate() {
                    @if i > 0 { ", " } code { (text(short(&a.approval_id))) }
                } "." }
        }
    }
}

/// Which phase evidence field holds `digest` (`cutplan.plan_digest`).
fn bound_field(model: &Model, digest: &str) -> Option<String> {
    model.phases.iter().find_map(|p| {
        p.doc
            .evidence
            .as_object()?
            .iter()
            .find(|(_, v)| v.as_str() == Some(digest))
            .map(|(k, _)| format!("{}.{}", p.name, shown_plain(k)))
    })
}

fn review_match(model: &Model, a: &ApprovalView) -> Markup {
    let Some(signed) = &a.review_sha256 else {
        return html! { span.muted { "no review digest in the approval" } };
    };
    let file = model
        .review_files
        .iter()
        .find(|(g, _)| *g == a.gate)
        .and_then(|(_, f)| f.as_deref());
    html! {
        code { (text(short(signed))) "…" } br;
        @match file {
            Some(f) if f == signed => span.holds { "= review/" (a.gate.as_str()) ".md" },
            Some(_) => span.fails { "≠ review/" (a.gate.as_str()) ".md (rewritten since)" },
            None => span.muted { "review/" (a.gate.as_str()) ".md missing" },
        }
    }
}

fn reviews(model: &Model) -> Markup {
    let with_review: Vec<&PhaseView> = model
        .phases
        .iter()
        .filter(|p| p.doc.evidence.get("review").is_some())
        .collect();
    html! {
        h2 id="reviews" { "What the approvers saw" }
        @if with_review.is_empty() {
            p.muted { "No phase's evidence has a " code { "review" } " object." }
        }
        @for phase in with_review {
            @let review = &phase.doc.evidence["review"];
            div.review {
                p.muted { "From the evidence of " code { (phase.name) } " (" code { (phase.document) } ")" }
                (review_object(review))
            }
        }
    }
}

/// A `review` object of the documented shape (title, facts, warnings,
/// tables); anything else as its JSON text.
fn review_object(review: &Value) -> Markup {
    let (Some(title), Some(facts), Some(warnings), Some(tables)) = (
        review.get("title").and_then(Value::as_str),
        review.get("facts").and_then(Value::as_array),
        review.get("warnings").and_then(Value::as_array),
        review.get("tables").and_then(Value::as_array),
    ) else {
        let json = serde_json::to_string_pretty(review).unwrap_or_default();
        return html! {
            p.muted { "Not the documented review shape; as recorded:" }
            pre.mono { (text(&json)) }
        };
    };
    html! {
        h3 { (text(title)) }
        table.kv {
            @for fact in facts.iter().take(MAX_ITEMS) {
                tr {
                    th { (fact.get("label").map(scalar).unwrap_or_default()) }
                    td { (fact.get("value").map(scalar).unwrap_or_default()) }
                }
            }
        }
        (more(facts.len()))
        h3 { "Warnings (" (warnings.len()) ")" }
        @if warnings.is_empty() { p.muted { "none" } }
        ul {
            @for warning in warnings.iter().take(MAX_ITEMS) {
                li.warn {
                    @if let Some(line) = warning.get("line").and_then(Value::as_u64) { "line " (line) ": " }
                    (warning.get("text").map(scalar).unwrap_or_default())
                }
            }
        }
        (more(warnings.len()))
        @for table in tables.iter().take(MAX_ITEMS) {
            h3 { (table.get("title").map(scalar).unwrap_or_default()) }
            @let rows = table.get("rows").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            table {
                tr {
                    @for column in table.get("columns").and_then(Value::as_array).into_iter().flatten().take(MAX_ITEMS) {
                        th { (scalar(column)) }
                    }
                }
                @for row in rows.iter().take(MAX_ITEMS) {
                    tr {
                        @for cell in row.as_array().into_iter().flatten().take(MAX_ITEMS) {
                            td { (scalar(cell)) }
                        }
                    }
                }
            }
            (more(rows.len()))
        }
    }
}

fn more(len: usize) -> Markup {
    html! {
        @if len > MAX_ITEMS { p.cut { "… and " (len - MAX_ITEMS) " more" } }
    }
}

fn gate_tables(model: &Model) -> Markup {
    let total: usize = model.phases.iter().map(|p| p.gates().count()).sum();
    html! {
        h2 id="gates" { "Gate predicates (" (total) " checks)" }
        @for phase in &model.phases {
            @let checks: Vec<&GateCheck> = phase.gates().collect();
            h3 { (phase.index + 1) ". " code { (phase.name) } span.muted { " — " (checks.len()) " checks, " (phase.gate_ms()) " ms" } }
            @if checks.is_empty() {
                p.muted { "No predicate is checked at this phase." }
            } @else {
                table {
                    tr { th { "predicate" } th { "checkpoint" } th { "verdict" } th.num { "ms" } th { "detail" } }
                    @for check in checks.iter().take(MAX_GATE_RESULTS) {
                        tr {
                            td { code { (text(&check.name)) } }
                            td { (text(&check.checkpoint)) }
                            td { @if check.holds { span.holds { "holds" } } @else { span.fails { "fails" } } }
                            td.num { (opt(check.ms)) }
                            td { (text(&check.detail)) }
                        }
                    }
                }
                @if checks.len() > MAX_GATE_RESULTS { p.cut { "… and " (checks.len() - MAX_GATE_RESULTS) " more" } }
            }
        }
        @if let Status::Stopped { phase: Some(phase), .. } = &model.state.status {
            p.muted { "The checks of " code { (text(phase)) } ", where the run stopped, are not recorded in an evidence document; a failing predicate is named in the stop's message." }
        }
    }
}

fn plugins(model: &Model) -> Markup {
    html! {
        h2 id="plugins" { "Plugins" }
        table {
            tr { th.num { "#" } th { "phase" } th { "component sha256 (evidence document)" } }
            @for phase in &model.phases {
                tr {
                    td.num { (phase.index + 1) }
                    td { code { (phase.name) } }
                    td { @match &phase.doc.plugin_sha256 { Some(sha) => code { (text(sha)) }, None => span.muted { "not recorded" } } }
                }
            }
        }
        h3 { "Pinned at the start (the run's fingerprint)" }
        table {
            tr { th { "plugin" } th { "sha256" } }
            @for (name, sha) in &model.state.fingerprint.plugins {
                tr { td { code { (text(name)) } } td { code { (sha) } } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_rfc3339_times_parse_and_others_do_not() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2026-12-02T14:13:28.123Z"),
            Some(1_796_220_808_123)
        );
        assert_eq!(
            unix_time(1_796_220_808),
            "2026-12-02 14:13:28 UTC".to_string()
        );
        for bad in [
            "",
            "2026-12-02 14:13:28Z",
            "2026-13-02T14:13:28.123Z",
            "2026-12-02T14:13:28.12Z",
            "２026-12-02T14:13:28.123Z",
            "2026-12-02T14:13:28.123+01:00",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn texts_are_escaped_and_controls_shown_as_codes() {
        let shown = text("a<script>x</script>\u{202e}b\u{1b}").into_string();
        assert!(shown.contains("a&lt;script&gt;x&lt;/script&gt;"), "{shown}");
        assert!(shown.contains(">U+202E</span>b"), "{shown}");
        assert!(shown.contains(">U+001B</span>"), "{shown}");
        assert!(!shown.contains('\u{202e}') && !shown.contains('\u{1b}'));
        let long = "x".repeat(MAX_TEXT_CHARS + 5);
        assert!(text(&long).into_string().contains("5 more characters"));
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(42), "42 s");
        assert_eq!(duration(185), "3 min 5 s");
        assert_eq!(duration(7380), "2 h 3 min");
        assert_eq!(duration(100_800), "1 d 4 h");
    }
}
