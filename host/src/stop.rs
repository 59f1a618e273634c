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
    /// SG_2's review decision id was seen before.
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
    /// An unexpected host error.
    Internal,
}

impl StopCode {
    /// Every stop code, in declaration order.
    pub const ALL: [StopCode; 31] = [
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
            Self::Internal => "internal",
        }
    }

    /// The process exit status for this stop. 0 is success, 2 is a usage
    /// error (clap), 3 is "paused, waiting for approval"; stops are 10 and up.
    pub fn exit_status(self) -> i32 {
        let index = Self::ALL
            .iter()
            .position(|c| *c == self)
            .expect("every code is in ALL");
        if self == Self::Internal {
            70
        } else {
            10 + index as i32
        }
    }

    /// What the operator can do about it.
    pub fn hint(self) -> &'static str {
        match self {
            Self::InvariantFailed => "read the evidence of the failed predicate in the run folder",
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
            Self::ReviewDecisionReused => "SG_2 needs a fresh review decision; sign a new approval",
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
            Self::BadEncoding => "the source must be UTF-8 text",
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
            Self::Internal => "a bug in phasehost; the stop document has the details",
        }
    }
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
    fn serde_name_matches_as_str() {
        for code in StopCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
