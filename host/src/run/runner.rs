//! The run state machine: phases in order; at SG_1 / SG_2 an approval or a
//! pause; per phase: gates before → plugin → gates after → evidence document
//! → kill-switch → commit (live) → state saved. Every way out writes a stop
//! document; every change of status goes through [`Runner::transition`],
//! or, for a stop, through the one stop writer [`super::kb::write_stop`].
//!
//! Nothing the run folder says opens a gate or feeds one unchecked: an
//! approval is accepted only from its signed file (verified against the
//! plan's trusted keys and the consumed ledger, bound to the digest
//! recomputed from the evidence), and the evidence of phases already done
//! is re-read only after its digest matched the state's record and, on a
//! live run, the store's checkpoint of that phase.

use super::approvals::{Binding, GateKeeper, GateState, RunView};
use super::checkpoint::Checkpoints;
use super::documents::{evidence_document, gate_failure_document};
use super::gates::{GateResult, GateSet};
use super::kb::RunFolder;
use super::kill_switch::KillSwitch;
use super::phase_notes::PhaseNotes;
use super::run_store::RunStore;
use super::secret_scan::{SecretScanner, clean_evidence};
use super::state::{Mode, PhaseRecord, RunState, Status};
use crate::digest::sha256_hex;
use crate::plan::ApprovalGate;
use crate::plan::{Access, PhaseSpec, Plan};
use crate::runtime::state::RunServices;
use crate::runtime::{LoadedPhase, PhaseInput, Runtime};
use crate::stop::{Stop, StopCode};
use crate::store::Scope;
use phasehost_policy::approval::Gate;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// How a drive of the state machine ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Through the last phase.
    Completed,
    /// Waiting for an approval.
    Paused {
        /// Which gate.
        gate: Gate,
        /// The digest to approve.
        evidence_digest: String,
        /// The phase the gate stands before.
        before_phase: String,
    },
    /// Stopped; the stop document is in the run folder.
    Stopped(Stop),
}

/// Everything a run needs, loaded and checked.
pub struct Runner {
    pub(super) plan: Plan,
    pub(super) runtime: Arc<Runtime>,
    pub(super) phases: Vec<LoadedPhase>,
    pub(super) gates: GateSet,
    pub(super) store: RunStore,
    pub(super) folder: RunFolder,
    pub(super) state: RunState,
    pub(super) source: Arc<[u8]>,
    pub(super) kill: KillSwitch,
    /// The trusted keys, the consumed-approvals ledger (see
    /// [`super::ledger`]) and the gates opened in this process.
    pub(super) gatekeeper: GateKeeper,
    /// [`super::fingerprint::inputs_digest`] of the run's inputs.
    pub(super) inputs_digest: String,
    /// Called around each commit (see [`super::RunHooks`]).
    pub(super) commit_hooks: super::CommitHooks,
}

impl Runner {
    /// The run's state.
    pub fn state(&self) -> &RunState {
        &self.state
    }

    /// The run folder.
    pub fn folder(&self) -> &RunFolder {
        &self.folder
    }

    /// Drive the run as far as it goes. Never panics: a host panic becomes
    /// an `internal` stop with its stop document.
    pub fn drive(&mut self) -> Outcome {
        let result = catch_unwind(AssertUnwindSafe(|| self.drive_phases()));
        let stop = match result {
            Ok(Ok(outcome)) => return outcome,
            Ok(Err(stop)) => stop,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Stop::new(StopCode::Internal, format!("the host panicked: {what}"))
            }
        };
        Outcome::Stopped(self.record_stop(stop))
    }

    /// The one place a run's status changes: set it and save the state.
    fn transition(&mut self, status: Status) -> Result<(), Stop> {
        self.state.status = status;
        self.folder.save_state(&self.state)
    }

    /// Roll back, write the stop document, save the state. If the stop
    /// document cannot be written the stop becomes `kb-write-failed`.
    fn record_stop(&mut self, stop: Stop) -> Stop {
        self.store.rollback();
        super::kb::write_stop(&self.folder, &mut self.state, stop)
    }

    /// The store's digest of this document's rows, if there is a store.
    pub(super) fn store_digest(&self) -> Result<Option<String>, Stop> {
        self.store.document_digest(&self.state.document_id)
    }

    /// The run's checkpoints in the store.
    fn checkpoints(&self) -> Checkpoints<'_> {
        Checkpoints {
            store: &self.store,
            plan: &self.plan,
            folder: &self.folder,
            inputs_digest: &self.inputs_digest,
        }
    }

    /// Bring the state in line with the store's checkpoints (a live run
    /// resumed after a crash); whether a phase was adopted. See
    /// [`Checkpoints::reconcile`].
    pub(super) fn reconcile_with_store(&mut self) -> Result<bool, Stop> {
        let checkpoints = Checkpoints {
            store: &self.store,
            plan: &self.plan,
            folder: &self.folder,
            inputs_digest: &self.inputs_digest,
        };
        checkpoints.reconcile(&mut self.state)
    }

    /// Check the approval gate `rules` standing before `before_phase`,
    /// bound to `digest` of the `bound` evidence (see
    /// [`GateKeeper::check_gate`]).
    fn check_gate(
        &mut self,
        rules: &ApprovalGate,
        (digest, bound): (&str, &Value),
        before_phase: &str,
        replaying: bool,
    ) -> Result<GateState, Stop> {
        let run = RunView {
            plan: &self.plan,
            state: &self.state,
            folder: &self.folder,
        };
        let binding = Binding {
            digest,
            evidence: bound,
        };
        self.gatekeeper
            .check_gate(run, rules, binding, before_phase, replaying)
    }

    fn services(&self) -> RunServices {
        RunServices {
            run_id: self.state.run_id.clone(),
            source: Some(self.source.clone()),
            store: self.store.shared(),
            scope: Scope {
                document_id: self.state.document_id.clone(),
            },
            artifacts_dir: self.folder.artifacts().ok(),
            artifacts_durability: self.folder.artifacts_durability(),
            guard: Arc::new(self.kill.clone()),
            scanner: Arc::new(SecretScanner),
        }
    }

    /// `@host`: what the host tells every phase about the store and grants.
    fn host_evidence(&self) -> Result<(String, String), Stop> {
        let mut needs: BTreeMap<String, Access> = BTreeMap::new();
        let mut phase_grants = serde_json::Map::new();
        for phase in &self.plan.phases {
            let mut tables = serde_json::Map::new();
            for (table, access) in &phase.grants.store {
                let need = needs.entry(table.clone()).or_default();
                need.read |= access.read;
                need.insert |= access.insert;
                need.update |= access.update;
                need.delete |= access.delete;
                tables.insert(table.clone(), json!(access.to_string()));
            }
            phase_grants.insert(phase.name.clone(), Value::Object(tables));
        }
        let privileges = self.store.with(|s| s.role_privileges())?.flatten();
        if let Some(role) = &privileges {
            check_declared_rights(&self.plan, &needs, role)?;
        }
        let role = privileges.map(|p| {
            p.into_iter()
                .map(|(table, p)| {
                    let access = Access {
                        read: p.select,
                        insert: p.insert,
                        update: p.update,
                        delete: p.delete,
                    };
                    (table, json!(access.to_string()))
                })
                .collect::<serde_json::Map<_, _>>()
        });
        let store_kind = self.store.kind();
        let needs: serde_json::Map<String, Value> = needs
            .into_iter()
            .map(|(t, a)| (t, json!(a.to_string())))
            .collect();
        let value = json!({
            "store_kind": store_kind,
            "mode": self.state.mode.as_str(),
            "plan_needs": needs,
            "role_privileges": role,
            "phase_grants": phase_grants,
        });
        Ok(("@host".into(), value.to_string()))
    }

    /// The approval gate standing before `phase`, if any.
    fn gate_before(&self, phase: &str) -> Option<ApprovalGate> {
        self.plan.approvals.gate_before(phase).cloned()
    }

    fn drive_phases(&mut self) -> Result<Outcome, Stop> {
        let dry = self.state.mode == Mode::Dry;
        // A dry run keeps nothing between processes, so it replays from the
        // start (deterministically, checked against the recorded evidence).
        let start = if dry { 0 } else { self.state.next_phase };
        let mut evidence = vec![self.host_evidence()?];
        self.replay_history(start, &mut evidence)?;
        self.transition(Status::Running)?;
        if dry {
            self.store.with(|s| s.begin())?;
        }
        for index in start..self.phases.len() {
            if let Some(outcome) = self.run_one(index, &mut evidence)? {
                return Ok(outcome);
            }
        }
        if dry {
            self.store.with(|s| s.rollback())?;
        }
        self.transition(Status::Completed)?;
        Ok(Outcome::Completed)
    }

    /// The evidence of the phases before `start` (a live run going on), as
    /// the gates of later phases see it: each document read back only when
    /// its digest is the one recorded in the state and, with a store, in the
    /// store's checkpoint of that phase; the approvals of the gates passed
    /// re-verified from their signed files; nothing else from the files.
    fn replay_history(
        &mut self,
        start: usize,
        evidence: &mut Vec<(String, String)>,
    ) -> Result<(), Stop> {
        if start == 0 {
            return Ok(());
        }
        let checkpoints = self.checkpoints().committed(&self.state)?;
        for index in 0..start {
            let spec = self.plan.phases[index].clone();
            let name = spec.name.as_str();
            let record = self.state.phases.get(index).cloned().ok_or_else(|| {
                Stop::new(
                    StopCode::CorruptState,
                    format!("the run state has no record of phase {}", index + 1),
                )
            })?;
            if record.phase != name {
                return Err(Stop::new(
                    StopCode::CorruptState,
                    format!(
                        "phase {} of the run state is `{}`, the plan's is `{name}`",
                        index + 1,
                        record.phase
                    ),
                ));
            }
            if let Some(checkpoints) = &checkpoints {
                let anchored = checkpoints.get(index).is_some_and(|c| {
                    c.phase == name && c.evidence_digest == record.evidence_digest
                });
                if !anchored {
                    return Err(Stop::new(
                        StopCode::Drift,
                        format!(
                            "the evidence digest of `{name}` in the run state is not the one the store committed with it"
                        ),
                    )
                    .in_phase(name));
                }
            }
            let value = self.verified_evidence(&record)?;
            if let Some(gate) = self.gate_before(name) {
                let pseudo = self.recorded_approval(&gate, name, evidence)?;
                evidence.push(pseudo);
            }
            let json_text = value.to_string();
            if spec.run_twice {
                evidence.push((format!("@{name}-rerun"), json_text.clone()));
            }
            evidence.push((name.to_string(), json_text));
        }
        Ok(())
    }

    /// The evidence value of a done phase, read from its document only if
    /// it hashes to the recorded digest (anything else is drift naming
    /// the file).
    fn verified_evidence(&self, record: &PhaseRecord) -> Result<Value, Stop> {
        self.folder
            .evidence_with_digest(&record.document, &record.evidence_digest)?
            .ok_or_else(|| {
                Stop::new(
                    StopCode::Drift,
                    format!(
                        "{} does not hold the evidence recorded for `{}` (its digest differs)",
                        record.document, record.phase
                    ),
                )
                .in_phase(&record.phase)
            })
    }

    /// A gate the run passed before: its approvals re-verified from the
    /// signed files (all consumed by this run, the quorum and duties met),
    /// bound to the digest the evidence gives now. Returns its pseudo-evidence.
    fn recorded_approval(
        &mut self,
        gate: &ApprovalGate,
        before_phase: &str,
        evidence: &[(String, String)],
    ) -> Result<(String, String), Stop> {
        let (digest, bound) = bound_digest(&gate.digest, evidence)
            .map_err(|m| Stop::new(StopCode::InvariantFailed, m).in_phase(before_phase))?;
        match self.check_gate(gate, (&digest, &bound), before_phase, true)? {
            GateState::Open(opened) => Ok(opened.pseudo_evidence(&gate.id())),
            GateState::Waiting => Err(Stop::new(
                StopCode::ApprovalMissing,
                format!("{} is not approved", gate.name),
            )
            .in_phase(before_phase)),
        }
    }

    /// Commit the phase's open transaction, with the kill-switch checked
    /// immediately before: a kill file that appeared after the phase's
    /// last write still stops the commit (the stop rolls back).
    fn commit(&mut self, phase: &str) -> Result<(), Stop> {
        if let Some(hook) = self.commit_hooks.before.as_mut() {
            hook(phase);
        }
        if let Some(reason) = self.kill.reason() {
            return Err(Stop::new(StopCode::KillSwitch, reason).in_phase(phase));
        }
        self.store.with(|s| s.commit())?;
        if let Some(hook) = self.commit_hooks.after.as_mut() {
            hook(phase);
        }
        Ok(())
    }

    /// Run phase `index`; `Some(outcome)` when the run pauses.
    fn run_one(
        &mut self,
        index: usize,
        evidence: &mut Vec<(String, String)>,
    ) -> Result<Option<Outcome>, Stop> {
        let spec = self.plan.phases[index].clone();
        let name = spec.name.as_str();
        if let Some(reason) = self.kill.reason() {
            return Err(Stop::new(StopCode::KillSwitch, reason).in_phase(name));
        }
        let inputs_added = match self.pass_gate_before(name, evidence)? {
            Ok(inputs_added) => inputs_added,
            Err(paused) => return Ok(Some(paused)),
        };
        let mut notes = PhaseNotes::start(inputs_added);
        notes.gates_before =
            self.check_gates(index, name, "before", &spec.gates_before, evidence)?;
        let writes = may_write(&spec);
        let output = self.run_plugin_in_transaction(index, &spec, writes, evidence, &mut notes)?;
        let (value, rerun) = self.clean_and_log(name, output, &mut notes)?;
        if let Some(rerun) = rerun {
            notes
                .inputs_added
                .insert(format!("@{name}-rerun"), rerun.clone());
            evidence.push((format!("@{name}-rerun"), rerun.to_string()));
        }
        let json_text = value.to_string();
        evidence.push((name.to_string(), json_text.clone()));
        notes.gates_after = self.check_gates(index, name, "after", &spec.gates_after, evidence)?;
        let digest = sha256_hex(json_text.as_bytes());
        notes.runs_index = self.runs_index_entry(index, name, &value)?;
        let document = evidence_document(index, name);
        let replaying = self.replays_recorded_phase(index, name, &digest)?;
        if !replaying {
            let record = notes.record(json_text.len());
            self.write_evidence(&document, name, &value, &digest, record)?;
        }
        self.checkpoint_and_commit(index, name, &digest, writes)?;
        if !replaying {
            self.state.phases.push(PhaseRecord {
                phase: name.to_string(),
                evidence_digest: digest,
                document,
                duration_ms: Some(notes.elapsed_ms()),
            });
        }
        self.state.next_phase = index + 1;
        self.folder.save_state(&self.state)?;
        Ok(None)
    }

    /// The approval gate standing before `phase`, if there is one: opened
    /// (its pseudo-evidence pushed to `evidence` and returned as the
    /// phase's first added input) or the run paused (`Err(outcome)`).
    fn pass_gate_before(
        &mut self,
        phase: &str,
        evidence: &mut Vec<(String, String)>,
    ) -> Result<Result<serde_json::Map<String, Value>, Outcome>, Stop> {
        let mut inputs_added = serde_json::Map::new();
        if let Some(gate) = self.gate_before(phase) {
            match self.approve_gate(&gate, phase, evidence)? {
                Ok(pseudo) => {
                    let value: Value = serde_json::from_str(&pseudo.1).map_err(|e| {
                        Stop::new(StopCode::Internal, format!("approval evidence: {e}"))
                    })?;
                    inputs_added.insert(pseudo.0.clone(), value);
                    evidence.push(pseudo);
                }
                Err(outcome) => return Ok(Err(outcome)),
            }
        }
        Ok(Ok(inputs_added))
    }

    /// Check the gates of `phase` at `checkpoint` (`before` or `after`);
    /// a failure's verdicts are written to the run folder before the stop.
    fn check_gates(
        &self,
        index: usize,
        phase: &str,
        checkpoint: &'static str,
        required: &[String],
        evidence: &[(String, String)],
    ) -> Result<Vec<GateResult>, Stop> {
        self.gates
            .check(&self.runtime, phase, checkpoint, required, evidence)
            .map_err(|failure| self.record_gate_failure(index, phase, checkpoint, failure))
    }

    /// Run the plugin inside the phase's store transaction (a live run).
    /// A phase that may write holds the store's write transaction while it
    /// runs; one that only reads runs in a read-only transaction and takes
    /// the write lock only to record its checkpoint, so runs of other
    /// documents (other threads of a batch, other processes) are not held
    /// up while it computes.
    fn run_plugin_in_transaction(
        &self,
        index: usize,
        spec: &PhaseSpec,
        writes: bool,
        evidence: &[(String, String)],
        notes: &mut PhaseNotes,
    ) -> Result<PluginOutput, Stop> {
        let dry = self.state.mode == Mode::Dry;
        if !dry {
            self.store
                .with(|s| if writes { s.begin() } else { s.begin_read() })?;
        }
        notes.evidence_in = evidence.iter().map(|(_, json)| json.len()).sum();
        let plugin_started = std::time::Instant::now();
        let output = self.run_plugin(index, spec, evidence)?;
        notes.plugin_ms = plugin_started.elapsed().as_millis() as u64;
        if !dry && !writes {
            // The plugin has read what it needed: end its read view and take
            // the write lock for what the host records (index, checkpoint).
            self.store.with(|s| s.commit())?;
            self.store.with(|s| s.begin())?;
        }
        Ok(output)
    }

    /// Append the plugin's log to the run folder (with a line for the
    /// denied calls the plan let the phase go on after) and return its
    /// evidence with secret-shaped keys stripped, and its second run's; a
    /// secret-shaped value stops the phase before the log is written.
    fn clean_and_log(
        &self,
        phase: &str,
        output: PluginOutput,
        notes: &mut PhaseNotes,
    ) -> Result<(Value, Option<Value>), Stop> {
        let PluginOutput {
            value,
            mut log,
            rerun,
            denied,
        } = output;
        notes.denied = denied;
        notes.log_bytes = log.iter().map(|l| l.message.len()).sum();
        if let Some(denied) = &notes.denied {
            // `on_denied = "record"`: the calls are in the log and the
            // evidence document, never silent.
            log.push(crate::runtime::state::LogLine {
                at: super::ids::rfc3339_now(),
                level: "warn",
                message: format!("host: denied capability calls: {denied}"),
            });
        }
        let (value, stripped) = clean_evidence(value).map_err(|finding| {
            Stop::new(
                StopCode::SecretDetected,
                format!("secret-shaped value in the evidence: {finding}"),
            )
            .in_phase(phase)
        })?;
        self.folder.append_log(phase, &log)?;
        notes.stripped = stripped;
        Ok((value, rerun))
    }

    /// The last phase of a live run appends its `index_entry` to the
    /// store's runs index; the entry appended, for the evidence document.
    fn runs_index_entry(
        &self,
        index: usize,
        phase: &str,
        value: &Value,
    ) -> Result<Option<Value>, Stop> {
        if index + 1 == self.phases.len() && self.state.mode != Mode::Dry {
            self.append_index(value).map_err(|s| s.in_phase(phase))
        } else {
            Ok(None)
        }
    }

    /// Whether the state already records phase `index` (a dry run replays
    /// from the start): then the phase must have given the evidence
    /// recorded before the pause, and its document is not written again.
    fn replays_recorded_phase(
        &self,
        index: usize,
        phase: &str,
        digest: &str,
    ) -> Result<bool, Stop> {
        let Some(previous) = self.state.phases.get(index) else {
            return Ok(false);
        };
        if previous.evidence_digest != digest {
            return Err(Stop::new(
                StopCode::Drift,
                format!(
                    "replaying `{phase}` gave different evidence than recorded before the pause"
                ),
            )
            .in_phase(phase));
        }
        Ok(true)
    }

    /// A live phase's checkpoint (in its transaction) and commit; the
    /// store's digest of the document after it goes to the fingerprint.
    fn checkpoint_and_commit(
        &mut self,
        index: usize,
        phase: &str,
        digest: &str,
        writes: bool,
    ) -> Result<(), Stop> {
        if self.state.mode == Mode::Dry {
            return Ok(());
        }
        let store_digest = self
            .checkpoints()
            .record(&self.state, index, phase, digest, !writes)?;
        self.commit(phase)?;
        if store_digest.is_some() {
            self.state.fingerprint.store_digest = store_digest;
        }
        Ok(())
    }

    /// Run the plugin (twice in fresh instances when the plan says so).
    fn run_plugin(
        &self,
        index: usize,
        spec: &PhaseSpec,
        evidence: &[(String, String)],
    ) -> Result<PluginOutput, Stop> {
        let input = PhaseInput {
            run_id: self.state.run_id.clone(),
            document_id: self.state.document_id.clone(),
            version: self.state.version.clone(),
            dry_run: self.state.mode == Mode::Dry,
            config: serde_json::to_string(&spec.config).expect("a TOML table converts to JSON"),
            evidence: evidence.to_vec(),
        };
        let services = self.services();
        let phase = &self.phases[index];
        let first = phase.run(self.runtime.engine(), &services, &input);
        let denied = (first.denied_calls > 0).then(|| {
            let calls: Vec<&str> = first
                .incidents
                .iter()
                .filter_map(|i| match i {
                    crate::runtime::state::Incident::Denied(what) => Some(what.as_str()),
                    _ => None,
                })
                .collect();
            json!({"count": first.denied_calls, "first": calls})
        });
        let value = first.outcome?;
        let mut output = PluginOutput {
            value,
            log: first.log,
            rerun: None,
            denied,
        };
        if !spec.run_twice {
            return Ok(output);
        }
        let second = phase
            .run(self.runtime.engine(), &services, &input)
            .outcome?;
        if second != output.value {
            return Err(Stop::new(
                StopCode::NondeterministicPlan,
                format!(
                    "`{}` gave different evidence in two fresh instances of the same input",
                    spec.name
                ),
            )
            .in_phase(&spec.name));
        }
        output.rerun = Some(second);
        Ok(output)
    }

    /// Write a phase's evidence document: what the plugin returned, its
    /// digest, and the host's record of the phase (`record`: gate results,
    /// stripped keys, inputs added, runs index entry, denied calls).
    fn write_evidence(
        &self,
        document: &str,
        phase: &str,
        value: &Value,
        digest: &str,
        record: Value,
    ) -> Result<(), Stop> {
        let mut doc = json!({
            "run_id": self.state.run_id,
            "document_id": self.state.document_id,
            "version": self.state.version,
            "mode": self.state.mode.as_str(),
            "phase": phase,
            "plugin_sha256": self.phases.iter().find(|p| p.info().name == phase).map(|p| p.info().sha256.clone()),
            "evidence": value,
            "evidence_digest": digest,
        });
        if let (Some(doc), Value::Object(record)) = (doc.as_object_mut(), record) {
            doc.extend(record);
        }
        self.folder
            .write_json(document, &doc)
            .map(|_| ())
            .map_err(|s| s.in_phase(phase))
    }

    /// Append the last phase's `index_entry` to the store's runs index.
    fn append_index(&self, value: &Value) -> Result<Option<Value>, Stop> {
        let Some(entry) = value.get("index_entry") else {
            return Ok(None);
        };
        let (run_id, doc) = (self.state.run_id.clone(), self.state.document_id.clone());
        let text = entry.to_string();
        // Inside the phase's transaction: the entry commits with the
        // phase's writes and checkpoint, or not at all.
        let appended = self.store.with(|s| s.append_index(&run_id, &doc, &text))?;
        Ok(appended.map(|e| json!({"seq": e.seq, "prev_hash": e.prev_hash, "hash": e.hash})))
    }

    /// Write the verdicts of a failed gate check to the run folder
    /// ([`gate_failure_document`]) before the stop, and
    /// name that file in the stop's message. If it cannot be written the
    /// stop says so (`kb-write-failed`): the run stops either way.
    fn record_gate_failure(
        &self,
        index: usize,
        phase: &str,
        checkpoint: &'static str,
        failure: super::gates::GateFailure,
    ) -> Stop {
        let document = gate_failure_document(index, phase, checkpoint);
        let failed = failure.results.last();
        let value = json!({
            "phase": phase,
            "checkpoint": checkpoint,
            "holds": false,
            "stop_code": failure.stop.code.as_str(),
            "message": failure.stop.message,
            "failed": failed,
            "results": failure.results,
        });
        match self.folder.write_json(&document, &value) {
            Ok(_) => Stop {
                message: format!(
                    "{} (the verdicts are in {document} of the run folder)",
                    failure.stop.message
                ),
                ..failure.stop
            },
            Err(write) => Stop::new(
                write.code,
                format!(
                    "{}; and the verdicts could not be written: {}",
                    failure.stop.message, write.message
                ),
            )
            .in_phase(phase),
        }
    }

    /// At a gate: verify the approvals from their signed files and consume
    /// them once the quorum is met, or pause. Approvals this run consumed
    /// before (a dry run replaying, a crash after consuming) are
    /// re-verified, not consumed again. `Ok(Ok(pseudo-evidence))` to go on,
    /// `Ok(Err(outcome))` to pause.
    fn approve_gate(
        &mut self,
        spec: &ApprovalGate,
        before_phase: &str,
        evidence: &[(String, String)],
    ) -> Result<Result<(String, String), Outcome>, Stop> {
        let gate = spec.id();
        let (digest, bound) = bound_digest(&spec.digest, evidence)
            .map_err(|m| Stop::new(StopCode::InvariantFailed, m).in_phase(before_phase))?;
        match self.check_gate(spec, (&digest, &bound), before_phase, false)? {
            GateState::Open(opened) => Ok(Ok(opened.pseudo_evidence(&gate))),
            GateState::Waiting => {
                self.store.rollback();
                self.state.fingerprint.store_digest = self.store_digest()?;
                self.folder.record_pause(&super::kb::PauseRecord {
                    at: super::ids::rfc3339_now(),
                    gate: gate.clone(),
                    before_phase: before_phase.to_string(),
                    evidence_digest: digest.clone(),
                })?;
                let status = Status::Paused {
                    gate: gate.clone(),
                    evidence_digest: digest.clone(),
                    before_phase: before_phase.to_string(),
                };
                self.transition(status)?;
                Ok(Err(Outcome::Paused {
                    gate,
                    evidence_digest: digest,
                    before_phase: before_phase.to_string(),
                }))
            }
        }
    }
}

/// What one phase's plugin run gave the runner.
struct PluginOutput {
    value: Value,
    log: Vec<crate::runtime::state::LogLine>,
    /// The second run's evidence (`run_twice`), equal to `value`.
    rerun: Option<Value>,
    /// Denied calls the plan let the phase go on after (`on_denied = "record"`).
    denied: Option<Value>,
}

/// Whether the phase's grants let it write to the store (insert, update
/// or delete on any table).
fn may_write(spec: &PhaseSpec) -> bool {
    spec.grants
        .store
        .values()
        .any(|a| a.insert || a.update || a.delete)
}

/// The digest an approval binds to: field `field` of the latest evidence of
/// `phase`; with that evidence (for the review).
fn bound_digest(binds: &str, evidence: &[(String, String)]) -> Result<(String, Value), String> {
    let (phase, field) = binds
        .split_once('.')
        .ok_or_else(|| format!("bad binding `{binds}`"))?;
    let (_, json) = evidence
        .iter()
        .rev()
        .find(|(p, _)| p == phase)
        .ok_or_else(|| format!("the approval binds to `{binds}`, but `{phase}` has no evidence"))?;
    let value: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let digest = value[field]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| format!("the approval binds to `{binds}`, which the evidence lacks"))?;
    Ok((digest, value))
}

/// The digest the approval of `gate` binds to, recomputed from the run
/// folder's evidence documents (each checked against its recorded digest),
/// for `approve` to compare with the digest the state says it is paused at.
pub(super) fn paused_digest_from_evidence(
    plan: &Plan,
    state: &RunState,
    folder: &RunFolder,
    gate: &Gate,
) -> Result<(String, Value), Stop> {
    let binds = plan
        .approvals
        .gate(gate.as_str())
        .map(|g| g.digest.as_str())
        .ok_or_else(|| {
            Stop::new(
                StopCode::PlanInvalid,
                format!(
                    "the plan has no approval gate `{gate}` (its gates: {})",
                    plan.approvals.names()
                ),
            )
        })?;
    let (phase, _) = binds
        .split_once('.')
        .ok_or_else(|| Stop::new(StopCode::PlanInvalid, format!("bad binding `{binds}`")))?;
    let record = state
        .phases
        .iter()
        .rev()
        .find(|r| r.phase == phase)
        .ok_or_else(|| {
            Stop::new(
                StopCode::CorruptState,
                format!("the run has no evidence of `{phase}` to approve"),
            )
        })?;
    let value = folder
        .evidence_with_digest(&record.document, &record.evidence_digest)?
        .ok_or_else(|| {
            Stop::new(
                StopCode::Drift,
                format!(
                    "{} does not hold the evidence recorded for `{phase}`",
                    record.document
                ),
            )
        })?;
    let text = value.to_string();
    bound_digest(binds, &[(phase.to_string(), text)]).map_err(|m| Stop::new(StopCode::Drift, m))
}

/// The privilege probe for the plan's declared tables, before any phase
/// runs: a store role (PostgreSQL) lacking a right the plan's grants need on
/// a declared table stops the run with `grant-mismatch`. (The built-in
/// tables are iu-cut's `grant_probe` phase's to check, which also refuses
/// rights the plan does not need.)
fn check_declared_rights(
    plan: &crate::plan::Plan,
    needs: &BTreeMap<String, Access>,
    role: &BTreeMap<String, phasehost_store::Privileges>,
) -> Result<(), Stop> {
    let mut missing = Vec::new();
    for table in &plan.tables {
        let need = needs.get(&table.name).copied().unwrap_or_default();
        let p = role.get(&table.name).copied().unwrap_or_default();
        let have = Access {
            read: p.select,
            insert: p.insert,
            update: p.update,
            delete: p.delete,
        };
        let lacks = need.minus(have);
        if !lacks.is_empty() {
            missing.push(format!("{}:{lacks}", table.name));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Stop::new(
        StopCode::GrantMismatch,
        format!(
            "the store role lacks rights the plan needs on its declared tables: {} (GRANT them to the role, or change the plan's grants)",
            missing.join(", ")
        ),
    ))
}
