//! The run state machine with test plugins: pause at SG_1 → approve →
//! resume → pause at SG_2 → approve → resume → done, dry and live; and
//! every refusal on the way.

use crate::support::*;
use phasehost::StopCode;
use phasehost::run::state::{Mode, RunState, Status};
use phasehost::run::{self, Outcome, StartRequest};
use phasehost_policy::approval::{self, Gate};
use phasehost_test_artifacts::*;
use std::path::{Path, PathBuf};

/// test-probe imports every capability, so every phase that runs it needs them all.
pub const PROBE_GRANTS: &str = "source = true\nlog = true\nstore = { documents = \"ri\" }\nartifacts = { \"note.txt\" = \"ri\" }";

pub const DIGEST_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const DIGEST_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A test pipeline: alpha (echo, SG_1 binds alpha.digest) → [SG_1] →
/// write1 (writes a documents row) → beta (echo ok, SG_2 binds beta.digest)
/// → [SG_2] → omega (echo an index entry).
pub struct Pipeline {
    pub plan: TestPlan,
    /// A private copy of the probe component that beta runs, so a test can change it.
    pub beta_component: PathBuf,
    _beta_dir: tempfile::TempDir,
    pub source: PathBuf,
    pub key: PathBuf,
    pub host_config: PathBuf,
}

impl Pipeline {
    pub fn new() -> Self {
        Self::with(&[], "")
    }

    /// With extra phases appended before omega, and extra lines in alpha's config.
    pub fn with(extra: &[PhaseDef], alpha_config_extra: &str) -> Self {
        Self::build(extra, alpha_config_extra, &[], &Self::approvals("", "", ""))
    }

    /// A team: `approver` plus `people` (file stem, holder) as trusted
    /// keys, and `rules` added to `[approvals]` (e.g. `require_signed_start`).
    pub fn team(people: &[(&str, &str)], rules: &str) -> Self {
        Self::team_gates(people, rules, "", "")
    }

    /// [`Self::team`], with `sg1` and `sg2` added to those gates'
    /// `[[approvals.gates]]` entries (e.g. `quorum = 2`).
    pub fn team_gates(people: &[(&str, &str)], rules: &str, sg1: &str, sg2: &str) -> Self {
        Self::build(&[], "", people, &Self::approvals(rules, sg1, sg2))
    }

    /// The pipeline with `approvals` as the lines after `trusted_keys`
    /// (any `[[approvals.gates]]`, or none).
    pub fn with_approvals(approvals: &str) -> Self {
        Self::build(&[], "", &[], approvals)
    }

    /// `[approvals]` lines `rules`, then the two gates: `sg1` before
    /// write1 (binding alpha.digest) and `sg2` before omega (binding
    /// beta.digest, with a fresh review decision), each with its extra lines.
    pub fn approvals(rules: &str, sg1: &str, sg2: &str) -> String {
        format!(
            "{rules}\n\n[[approvals.gates]]\nname = \"sg1\"\nbefore = \"write1\"\ndigest = \"alpha.digest\"\n{sg1}\n\n[[approvals.gates]]\nname = \"sg2\"\nbefore = \"omega\"\ndigest = \"beta.digest\"\nfresh_review_decision = true\n{sg2}\n"
        )
    }

    /// The signing key file of team member `stem`.
    pub fn key_of(&self, stem: &str) -> PathBuf {
        self.dir().join("keys").join(format!("{stem}.key"))
    }

    fn build(
        extra: &[PhaseDef],
        alpha_config_extra: &str,
        people: &[(&str, &str)],
        approvals: &str,
    ) -> Self {
        let alpha_config =
            format!("mode = \"echo\"\nemit = {{ digest = \"{DIGEST_A}\" }}\n{alpha_config_extra}");
        let beta_config =
            format!("mode = \"echo\"\nemit = {{ ok = true, digest = \"{DIGEST_B}\" }}");
        let beta_dir = tempfile::tempdir().unwrap();
        let beta_component = beta_dir.path().join("beta.wasm");
        std::fs::copy(TEST_PROBE_COMPONENT, &beta_component).unwrap();
        let beta_path = beta_component.display().to_string();
        let mut phases = vec![
            PhaseDef::new("alpha", TEST_PROBE_COMPONENT)
                .grants(PROBE_GRANTS)
                .config(&alpha_config),
            PhaseDef::new("write1", TEST_PROBE_COMPONENT)
                .grants(PROBE_GRANTS)
                .config("mode = \"write\"\ntable = \"documents\"\nrows = [{ title = \"t\", first_seen_run = \"r\" }]"),
            PhaseDef::new("beta", &beta_path)
                .grants(PROBE_GRANTS)
                .config(&beta_config),
        ];
        for p in extra {
            phases.push(PhaseDef {
                name: p.name,
                component: p.component,
                grants: p.grants,
                config: p.config,
                limits: p.limits,
                head: p.head,
            });
        }
        phases.push(
            PhaseDef::new("omega", TEST_PROBE_COMPONENT)
                .grants(PROBE_GRANTS)
                .config("mode = \"echo\"\nemit = { index_entry = { closed = true } }"),
        );
        let trusted: Vec<String> = std::iter::once("\"keys/approver.pub\"".to_string())
            .chain(
                people
                    .iter()
                    .map(|(stem, _)| format!("\"keys/{stem}.pub\"")),
            )
            .collect();
        let header = format!(
            "[store]\nsqlite = \"store.sqlite\"\n\n[approvals]\ntrusted_keys = [{}]\n{approvals}\n",
            trusted.join(", ")
        );
        let plan = TestPlan::write(&[("test-gates", TEST_GATES_COMPONENT)], &phases, &header);
        let dir = plan.dir.path().to_path_buf();
        let keys = dir.join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        approval::write_key_files(&keys, "approver").unwrap();
        for (stem, holder) in people {
            approval::write_held_key_files(&keys, stem, Some(holder)).unwrap();
        }
        let source = dir.join("doc.txt");
        std::fs::write(&source, "Điều 1. Một văn bản thử.\n").unwrap();
        let host_config = dir.join("host.toml");
        std::fs::write(&host_config, "[execution]\nenabled = true\n").unwrap();
        Self {
            plan,
            beta_component,
            _beta_dir: beta_dir,
            source,
            key: keys.join("approver.key"),
            host_config,
        }
    }

    pub fn dir(&self) -> &Path {
        self.plan.dir.path()
    }

    pub fn kb(&self) -> PathBuf {
        self.dir().join("kb")
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir().join("store.sqlite")
    }

    pub fn start(&self, live: bool) -> (PathBuf, Outcome) {
        let report = run::start(&StartRequest {
            plan: self.plan.path.clone(),
            source: self.source.clone(),
            live,
            host_config: Some(self.host_config.clone()),
            as_key: None,
        })
        .unwrap_or_else(|stop| panic!("start refused: {stop}"));
        (report.folder.unwrap(), report.outcome)
    }

    pub fn approve(&self, folder: &Path, gate: Gate) {
        crate::support::approve(folder, gate, &self.key, &self.plan.path)
            .unwrap_or_else(|s| panic!("{s}"));
    }

    pub fn resume(&self, folder: &Path) -> Outcome {
        crate::support::resume(folder, &self.plan.path, &self.host_config)
            .unwrap_or_else(|s| panic!("{s}"))
            .outcome
    }

    /// Start and go through SG_1 to the SG_2 pause.
    pub fn to_sg2(&self, live: bool) -> PathBuf {
        let (folder, outcome) = self.start(live);
        assert_paused(&outcome, crate::support::sg1());
        self.approve(&folder, crate::support::sg1());
        assert_paused(&self.resume(&folder), crate::support::sg2());
        folder
    }
}

pub fn assert_paused(outcome: &Outcome, gate: Gate) {
    match outcome {
        Outcome::Paused { gate: g, .. } => assert_eq!(*g, gate, "{outcome:?}"),
        other => panic!("expected a pause at {gate}, got {other:?}"),
    }
}

pub fn assert_stopped(outcome: &Outcome, code: StopCode, folder: &Path) -> phasehost::Stop {
    let Outcome::Stopped(stop) = outcome else {
        panic!("expected a stop with {code}, got {outcome:?}")
    };
    assert_eq!(stop.code, code, "{stop}");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("stop.json")).expect("a stop document"))
            .unwrap();
    assert_eq!(doc["code"], code.as_str());
    assert_eq!(doc["hint"], code.hint());
    let state = RunState::load(folder).unwrap();
    assert!(
        matches!(state.status, Status::Stopped { code: c, .. } if c == code),
        "{:?}",
        state.status
    );
    stop.clone()
}

pub fn document_rows(store: &Path) -> i64 {
    let conn = rusqlite::Connection::open(store).unwrap();
    conn.query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn live_run_goes_through_both_approvals_to_closeout() {
    let p = Pipeline::new();
    let folder = p.to_sg2(true);
    assert_eq!(document_rows(&p.store_path()), 1, "committed after write1");
    p.approve(&folder, crate::support::sg2());
    assert_eq!(p.resume(&folder), Outcome::Completed);
    let state = RunState::load(&folder).unwrap();
    assert_eq!(state.status, Status::Completed);
    assert_eq!(state.mode, Mode::Live);
    assert_eq!(state.phases.len(), 4);
    for gate in ["sg1", "sg2"] {
        assert_eq!(
            std::fs::read_dir(folder.join("approvals").join(gate))
                .unwrap()
                .count(),
            1
        );
    }
    let omega: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("evidence/04-omega.json")).unwrap())
            .unwrap();
    assert_eq!(omega["runs_index"]["seq"], 1, "{omega}");
    assert_eq!(omega["gates_after"].as_array().unwrap().len(), 0);
    let alpha: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("evidence/01-alpha.json")).unwrap())
            .unwrap();
    assert_eq!(alpha["gates_after"][0]["name"], "T-HOLDS");
    assert_eq!(document_rows(&p.store_path()), 1);
}

#[test]
fn dry_run_goes_through_both_approvals_and_leaves_the_store_byte_identical() {
    let p = Pipeline::new();
    // Create the store file first so there is something to compare.
    drop(phasehost_store::open(&phasehost_store::StoreSpec::Sqlite(p.store_path())).unwrap());
    let before = std::fs::read(p.store_path()).unwrap();
    let folder = p.to_sg2(false);
    p.approve(&folder, crate::support::sg2());
    assert_eq!(p.resume(&folder), Outcome::Completed);
    assert_eq!(RunState::load(&folder).unwrap().mode, Mode::Dry);
    assert_eq!(document_rows(&p.store_path()), 0);
    assert_eq!(std::fs::read(p.store_path()).unwrap(), before);
    let write1: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("evidence/02-write1.json")).unwrap())
            .unwrap();
    assert_eq!(
        write1["evidence"]["inserted"], 1,
        "the write really happened: {write1}"
    );
}

#[test]
fn live_needs_execution_enabled_in_the_host_config() {
    let p = Pipeline::new();
    std::fs::write(&p.host_config, "[execution]\nenabled = false\n").unwrap();
    let err = run::start(&StartRequest {
        plan: p.plan.path.clone(),
        source: p.source.clone(),
        live: true,
        host_config: Some(p.host_config.clone()),
        as_key: None,
    })
    .unwrap_err();
    assert_eq!(err.code, StopCode::ExecutionDisabled);
    let err = run::start(&StartRequest {
        plan: p.plan.path.clone(),
        source: p.source.clone(),
        live: true,
        host_config: None,
        as_key: None,
    })
    .unwrap_err();
    assert_eq!(err.code, StopCode::ExecutionDisabled, "off by default");
}

#[test]
fn a_kill_file_refuses_a_live_start() {
    let p = Pipeline::new();
    std::fs::create_dir_all(p.kb()).unwrap();
    std::fs::write(p.kb().join("KILL"), "").unwrap();
    let err = run::start(&StartRequest {
        plan: p.plan.path.clone(),
        source: p.source.clone(),
        live: true,
        host_config: Some(p.host_config.clone()),
        as_key: None,
    })
    .unwrap_err();
    assert_eq!(err.code, StopCode::KillSwitch);
}

#[test]
fn a_kill_file_created_during_a_live_run_stops_it_before_the_write() {
    let p = Pipeline::new();
    let (folder, outcome) = p.start(true);
    assert_paused(&outcome, crate::support::sg1());
    p.approve(&folder, crate::support::sg1());
    std::fs::write(p.kb().join("KILL"), "").unwrap();
    let outcome = p.resume(&folder);
    assert_stopped(&outcome, StopCode::KillSwitch, &folder);
    assert_eq!(document_rows(&p.store_path()), 0, "nothing persisted");
}
