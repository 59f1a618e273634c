//! Stop codes: every way a run can end, each with its own exit status.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a run (or a command) stopped. Each code has a stable kebab-case name,
/// an exit status and a hint for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopCode {
    /// A gate predicate was false, unknown, erroring or trapping.
    InvariantFailed,
    /// The kill file exists (or appeared during a live run).
    KillSwitch,
    /// `--live` was asked for but the host config does not enable execution.
    ExecutionDisabled,
    /// A gate needs an approval and none was given.
    ApprovalMissing,
    /// The approval's validity window is over (or not yet begun).
    ApprovalExpired,
    /// The approval was already consumed.
    ApprovalReplayed,
    /// The approval is bound to another run, gate or digest.
    ApprovalMismatch,
    /// The approval is malformed, badly signed or signed by an untrusted key.
    ApprovalInvalid,
    /// A gate with `fresh_review_decision` got a review decision id seen before.
    ReviewDecisionReused,
    /// Source, plugins, plan or store rows changed while the run was paused.
    Drift,
    /// Something a plugin emitted looks like a secret.
    SecretDetected,
    /// A plugin needed a capability the plan does not grant.
    CapabilityDenied,
    /// A plugin trapped.
    PluginTrap,
    /// A plugin ran past its wall-clock deadline.
    PluginDeadline,
    /// A plugin tried to grow its memory past its limit.
    PluginOutOfMemory,
    /// An evidence or stop document could not be written to the KB.
    KbWriteFailed,
    /// Two cut plans of the same input differ.
    NondeterministicPlan,
    /// A cap (units, unit bytes, depth) was exceeded.
    CapExceeded,
    /// The source is empty.
    EmptySource,
    /// The source is not valid UTF-8.
    BadEncoding,
    /// The source does not look like a document the plugin set knows.
    UnknownDocument,
    /// The document id is already present where it must be unique.
    DuplicateDocument,
    /// A component's bytes do not match the sha256 the plan pins.
    PluginDigestMismatch,
    /// A component imports capabilities the plan does not grant.
    GrantExceeded,
    /// A component could not be loaded (not a component, bad imports, bad exports).
    PluginInvalid,
    /// The plan (or host config) is malformed.
    PlanInvalid,
    /// The store's grants differ from what the plan needs.
    GrantMismatch,
    /// The store failed.
    StoreFailed,
    /// A run's saved state is unreadable.
    CorruptState,
    /// A command-line argument looks like a digest, id or secret.
    ArgumentRefused,
    /// A queue row names a run id outside the run-id grammar or the KB's
    /// runs folder, or was enqueued under another plan than the worker's.
    QueueEntryRefused,
    /// A plugin made the host take more than its budget allows (bytes or
    /// rows crossing into the host, log lines, evidence size).
    PluginOutputTooLarge,
    /// The key that signed the run's start approved it (the gate's
    /// `prevent_self_review`).
    ApprovalSelfReview,
    /// A key that approved another gate approved this one (the gate's
    /// `distinct_from`), or one key approved the same gate twice.
    ApprovalNotDistinct,
    /// The plan requires a signed run start (`require_signed_start`) and
    /// there is none, or it does not verify.
    StartUnsigned,
    /// The source is not a regular file that can be read (a folder, FIFO,
    /// device or socket, or missing).
    BadSource,
    /// `phasehost export` refused: the document or version is not in the
    /// store, a row cannot be exported as it is (a text whose sha256 is not
    /// its `text_sha`, a character XML 1.0 cannot carry, a broken tree), or
    /// the output file exists.
    ExportRefused,
    /// An unexpected host error.
    Internal,
}

impl StopCode {
    /// Every stop code, in declaration order.
    pub const ALL: [StopCode; 38] = [
        Self::InvariantFailed,
        Self::KillSwitch,
        Self::ExecutionDisabled,
        Self::ApprovalMissing,
        Self::ApprovalExpired,
        Self::ApprovalReplayed,
        Self::ApprovalMismatch,
        Self::ApprovalInvalid,
        Self::ReviewDecisionReused,
        Self::Drift,
        Self::SecretDetected,
        Self::CapabilityDenied,
        Self::PluginTrap,
        Self::PluginDeadline,
        Self::PluginOutOfMemory,
        Self::KbWriteFailed,
        Self::NondeterministicPlan,
        Self::CapExceeded,
        Self::EmptySource,
        Self::BadEncoding,
        Self::UnknownDocument,
        Self::DuplicateDocument,
        Self::PluginDigestMismatch,
        Self::GrantExceeded,
        Self::PluginInvalid,
        Self::PlanInvalid,
        Self::GrantMismatch,
        Self::StoreFailed,
        Self::CorruptState,
        Self::ArgumentRefused,
        Self::QueueEntryRefused,
        Self::PluginOutputTooLarge,
        Self::ApprovalSelfReview,
        Self::ApprovalNotDistinct,
        Self::StartUnsigned,
        Self::BadSource,
        Self::ExportRefused,
        Self::Internal,
    ];

    /// The stable name, as written in stop documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvariantFailed => "invariant-failed",
            Self::KillSwitch => "kill-switch",
            Self::ExecutionDisabled => "execution-disabled",
            Self::ApprovalMissing => "approval-missing",
            Self::ApprovalExpired => "approval-expired",
            Self::ApprovalReplayed => "approval-replayed",
            Self::ApprovalMismatch => "approval-mismatch",
            Self::ApprovalInvalid => "approval-invalid",
            Self::ReviewDecisionReused => "review-decision-reused",
            Self::Drift => "drift",
            Self::SecretDetected => "secret-detected",
            Self::CapabilityDenied => "capability-denied",
            Self::PluginTrap => "plugin-trap",
            Self::PluginDeadline => "plugin-deadline",
            Self::PluginOutOfMemory => "plugin-out-of-memory",
            Self::KbWriteFailed => "kb-write-failed",
            Self::NondeterministicPlan => "nondeterministic-plan",
            Self::CapExceeded => "cap-exceeded",
            Self::EmptySource => "empty-source",
            Self::BadEncoding => "bad-encoding",
            Self::UnknownDocument => "unknown-document",
            Self::DuplicateDocument => "duplicate-document",
            Self::PluginDigestMismatch => "plugin-digest-mismatch",
            Self::GrantExceeded => "grant-exceeded",
            Self::PluginInvalid => "plugin-invalid",
            Self::PlanInvalid => "plan-invalid",
            Self::GrantMismatch => "grant-mismatch",
            Self::StoreFailed => "store-failed",
            Self::CorruptState => "corrupt-state",
            Self::ArgumentRefused => "argument-refused",
            Self::QueueEntryRefused => "queue-entry-refused",
            Self::PluginOutputTooLarge => "plugin-output-too-large",
            Self::ApprovalSelfReview => "approval-self-review",
            Self::ApprovalNotDistinct => "approval-not-distinct",
            Self::StartUnsigned => "start-unsigned",
            Self::BadSource => "bad-source",
            Self::ExportRefused => "export-refused",
            Self::Internal => "internal",
        }
    }

    /// The process exit status for this stop. 0 is success, 2 is a usage
    /// error (clap), 3 is "paused, waiting for approval"; stops are 10 and up.
    ///
    /// The numbers are part of the interface scripts depend on: each is
    /// written here, never derived from a position, and pinned by a test.
    pub fn exit_status(self) -> i32 {
        match self {
            Self::InvariantFailed => 10,
            Self::KillSwitch => 11,
            Self::ExecutionDisabled => 12,
            Self::ApprovalMissing => 13,
            Self::ApprovalExpired => 14,
            Self::ApprovalReplayed => 15,
            Self::ApprovalMismatch => 16,
            Self::ApprovalInvalid => 17,
            Self::ReviewDecisionReused => 18,
            Self::Drift => 19,
            Self::SecretDetected => 20,
            Self::CapabilityDenied => 21,
            Self::PluginTrap => 22,
            Self::PluginDeadline => 23,
            Self::PluginOutOfMemory => 24,
            Self::KbWriteFailed => 25,
            Self::NondeterministicPlan => 26,
            Self::CapExceeded => 27,
            Self::EmptySource => 28,
            Self::BadEncoding => 29,
            Self::UnknownDocument => 30,
            Self::DuplicateDocument => 31,
            Self::PluginDigestMismatch => 32,
            Self::GrantExceeded => 33,
            Self::PluginInvalid => 34,
            Self::PlanInvalid => 35,
            Self::GrantMismatch => 36,
            Self::StoreFailed => 37,
            Self::CorruptState => 38,
            Self::ArgumentRefused => 39,
            Self::QueueEntryRefused => 40,
            Self::PluginOutputTooLarge => 41,
            Self::ApprovalSelfReview => 42,
            Self::ApprovalNotDistinct => 43,
            Self::StartUnsigned => 44,
            Self::BadSource => 45,
            Self::ExportRefused => 46,
            Self::Internal => 70,
        }
    }

    /// What the operator can do about it.
    pub fn hint(self) -> &'static str {
        match self {
            Self::InvariantFailed => {
                "read the message; a failed gate predicate's verdicts are in the run folder file it names (evidence/NN-<phase>.gates-<checkpoint>-failed.json)"
            }
            Self::KillSwitch => "remove the kill file only when it is safe to write again",
            Self::ExecutionDisabled => {
                "a live run needs `[execution] enabled = true` in the operator's host config (--host-config); dry-run needs nothing"
            }
            Self::ApprovalMissing => {
                "review the evidence, then `phasehost approve <run-folder> --gate <gate> --key <key-file>` and `phasehost resume <run-folder>`"
            }
            Self::ApprovalExpired => "sign a new approval; approvals expire after the plan's TTL",
            Self::ApprovalReplayed => "an approval is consumed once; sign a new one",
            Self::ApprovalMismatch => {
                "the approval belongs to another run, gate or evidence digest; sign one from this run folder"
            }
            Self::ApprovalInvalid => {
                "check the approval file and that its key is in the plan's trusted keys"
            }
            Self::ReviewDecisionReused => {
                "the gate needs a fresh review decision (fresh_review_decision = true); sign a new approval"
            }
            Self::Drift => "something changed while the run was paused; start a new run",
            Self::SecretDetected => {
                "a plugin emitted secret-shaped data; nothing was written; fix the plugin or its input"
            }
            Self::CapabilityDenied => {
                "grant the capability in the plan if the plugin really needs it (see `phasehost audit`)"
            }
            Self::PluginTrap => "the plugin crashed; report it to its author",
            Self::PluginDeadline => {
                "the plugin ran past its deadline; raise limits.deadline_ms only if the input justifies it"
            }
            Self::PluginOutOfMemory => {
                "the plugin hit its memory limit; raise limits.memory_mib only if the input justifies it"
            }
            Self::KbWriteFailed => {
                "make the KB folder writable; nothing proceeds without its documents"
            }
            Self::NondeterministicPlan => {
                "the cut plan differs between two runs of the same input; report it to the plugin author"
            }
            Self::CapExceeded => {
                "the document exceeds a cap; check the document or raise the plan's caps"
            }
            Self::EmptySource => "the source file is empty",
            Self::BadEncoding => {
                "the source must be UTF-8 text with no control characters but tab, CR and LF; the message names the byte offset of the first bad one"
            }
            Self::UnknownDocument => {
                "the source does not look like a document this plugin set knows"
            }
            Self::DuplicateDocument => "each document id may appear once",
            Self::PluginDigestMismatch => {
                "the component changed since the plan pinned it; review it, then `phasehost pin <plan>`"
            }
            Self::GrantExceeded => {
                "the component imports more than the plan grants; see the diff and `phasehost audit`"
            }
            Self::PluginInvalid => {
                "the file is not a loadable phasehost component; see `phasehost check`"
            }
            Self::PlanInvalid => "fix the plan file at the line shown",
            Self::GrantMismatch => {
                "the store role's rights differ from what the plan needs; fix the role's grants"
            }
            Self::StoreFailed => "check the store connection and the message",
            Self::CorruptState => "the run's state file is damaged; start a new run",
            Self::ArgumentRefused => "digests, ids and secrets are read from files, never typed",
            Self::QueueEntryRefused => {
                "the queue row was changed or enqueued under another plan; re-enqueue the document with this plan"
            }
            Self::PluginOutputTooLarge => {
                "the plugin sent the host more than its budget; raise the named limit in the plan's [phases.limits] only if the input justifies it"
            }
            Self::ApprovalSelfReview => {
                "whoever started the run may not approve it ([[approvals.gates]] prevent_self_review); ask another approver"
            }
            Self::ApprovalNotDistinct => {
                "this gate needs approvers other than those of the gate it is distinct from ([[approvals.gates]] distinct_from); ask another approver"
            }
            Self::StartUnsigned => {
                "the plan requires a signed start: `phasehost run … --as <key-file>` with a key the plan trusts"
            }
            Self::BadSource => {
                "--source must name a regular file this user can read (not a folder, FIFO, device or socket)"
            }
            Self::ExportRefused => {
                "nothing was written; the message names the row or file: fix the store (a new run of the document) or choose another --out"
            }
            Self::Internal => "a bug in phasehost; the stop document has the details",
        }
    }
}

impl StopCode {
    /// The stop codes as plain text for `phasehost --help`: one line per
    /// code with its exit status and hint.
    pub fn help_text() -> String {
        let mut out = String::from(
            "Exit statuses: 0 success, 2 usage error (with --json: a `stop` object with code `usage`),\n\
             3 paused (waiting for an approval);\n\
             stops (also the `code` of stop.json and of the `stop` object printed with --json):\n",
        );
        for code in Self::ALL {
            out.push_str(&format!(
                "  {:>3}  {:<24} {}\n",
                code.exit_status(),
                code.as_str(),
                code.hint()
            ));
        }
        out
    }

    /// The Markdown of `docs/STOP_CODES.md`, rendered from this enum (a
    /// test keeps the file equal to it; `PHASEHOST_BLESS=1` rewrites it).
    pub fn markdown_table() -> String {
        let mut out = String::from(
            "# Stop codes and exit statuses\n\n\
             <!-- Generated from `StopCode` in host/src/stop.rs by `StopCode::markdown_table`.\n\
             Do not edit by hand: run\n\
             `PHASEHOST_BLESS=1 cargo test -p phasehost --lib stop::tests::stop_codes_doc_is_current`. -->\n\n\
             Every way a run (or a command) can stop has a stable code, written in\n\
             `stop.json` and in the `stop` object printed with `--json`, and its own\n\
             exit status. The numbers never change. `phasehost --help` lists the\n\
             same table; the `--json` output of each command is described in the\n\
             README (\"Output for scripts\").\n\n\
             | Exit status | Meaning |\n\
             |---:|---|\n\
             | 0 | success |\n\
             | 2 | usage error (command line); with `--json`, one `stop` object with code `usage` |\n\
             | 3 | paused: waiting for an approval |\n\n\
             | Exit status | Code | Hint |\n\
             |---:|---|---|\n",
        );
        for code in Self::ALL {
            out.push_str(&format!(
                "| {} | `{}` | {} |\n",
                code.exit_status(),
                code.as_str(),
                markdown_cell(code.hint())
            ));
        }
        out
    }
}

/// `text` for a Markdown table cell: `|` escaped, and `<`, `>` outside code
/// spans written as entities (else they read as HTML tags).
fn markdown_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    for c in text.chars() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '|' => out.push_str("\\|"),
            '<' if !in_code => out.push_str("&lt;"),
            '>' if !in_code => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

impl fmt::Display for StopCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stop: code, message and (when known) the phase it happened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Stop {
    /// The stop code.
    pub code: StopCode,
    /// What happened, for the operator. Never contains a secret.
    pub message: String,
    /// The phase, if the stop happened inside one.
    pub phase: Option<String>,
}

impl Stop {
    /// A stop outside any phase.
    pub fn new(code: StopCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            phase: None,
        }
    }

    /// The same stop, attributed to `phase`.
    pub fn in_phase(mut self, phase: &str) -> Self {
        self.phase.get_or_insert_with(|| phase.to_string());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_exit_statuses_are_unique() {
        let names: HashSet<_> = StopCode::ALL.iter().map(|c| c.as_str()).collect();
        let statuses: HashSet<_> = StopCode::ALL.iter().map(|c| c.exit_status()).collect();
        assert_eq!(names.len(), StopCode::ALL.len());
        assert_eq!(statuses.len(), StopCode::ALL.len());
        assert!(
            statuses
                .iter()
                .all(|s| *s >= 10 && *s != 0 && *s != 2 && *s != 3)
        );
    }

    #[test]
    fn every_exit_status_is_pinned() {
        let pinned: Vec<(StopCode, i32)> = vec![
            (StopCode::InvariantFailed, 10),
            (StopCode::KillSwitch, 11),
            (StopCode::ExecutionDisabled, 12),
            (StopCode::ApprovalMissing, 13),
            (StopCode::ApprovalExpired, 14),
            (StopCode::ApprovalReplayed, 15),
            (StopCode::ApprovalMismatch, 16),
            (StopCode::ApprovalInvalid, 17),
            (StopCode::ReviewDecisionReused, 18),
            (StopCode::Drift, 19),
            (StopCode::SecretDetected, 20),
            (StopCode::CapabilityDenied, 21),
            (StopCode::PluginTrap, 22),
            (StopCode::PluginDeadline, 23),
            (StopCode::PluginOutOfMemory, 24),
            (StopCode::KbWriteFailed, 25),
            (StopCode::NondeterministicPlan, 26),
            (StopCode::CapExceeded, 27),
            (StopCode::EmptySource, 28),
            (StopCode::BadEncoding, 29),
            (StopCode::UnknownDocument, 30),
            (StopCode::DuplicateDocument, 31),
            (StopCode::PluginDigestMismatch, 32),
            (StopCode::GrantExceeded, 33),
            (StopCode::PluginInvalid, 34),
            (StopCode::PlanInvalid, 35),
            (StopCode::GrantMismatch, 36),
            (StopCode::StoreFailed, 37),
            (StopCode::CorruptState, 38),
            (StopCode::ArgumentRefused, 39),
            (StopCode::QueueEntryRefused, 40),
            (StopCode::PluginOutputTooLarge, 41),
            (StopCode::ApprovalSelfReview, 42),
            (StopCode::ApprovalNotDistinct, 43),
            (StopCode::StartUnsigned, 44),
            (StopCode::BadSource, 45),
            (StopCode::ExportRefused, 46),
            (StopCode::Internal, 70),
        ];
        assert_eq!(pinned.len(), StopCode::ALL.len());
        for (code, status) in pinned {
            assert_eq!(code.exit_status(), status, "{code}");
        }
    }

    #[test]
    fn serde_name_matches_as_str() {
        for code in StopCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn stop_codes_doc_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/STOP_CODES.md");
        let want = StopCode::markdown_table();
        if std::env::var_os("PHASEHOST_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is out of date with StopCode; regenerate it with \
             `PHASEHOST_BLESS=1 cargo test -p phasehost --lib stop::tests::stop_codes_doc_is_current`",
            path.display()
        );
    }

    #[test]
    fn help_text_lists_every_code() {
        let help = StopCode::help_text();
        for code in StopCode::ALL {
            assert!(
                help.contains(&format!("{:>3}  {}", code.exit_status(), code.as_str())),
                "{code}"
            );
        }
    }
}
