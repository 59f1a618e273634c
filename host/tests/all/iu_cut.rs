//! The bundled iu-cut plan (plans/iu-cut.toml) end to end on real documents:
//! the Constitution dry and live through both approvals, re-runs, a second
//! version, and the stop routes of its phases — each on SQLite and on
//! PostgreSQL (a role with exactly the plan's rights).

use phasehost::StopCode;
use phasehost::run::state::RunState;
use phasehost::run::{self, Outcome, StartRequest};
use phasehost_test_artifacts::ALL_PLUGINS;
use std::path::{Path, PathBuf};
use toml_edit::{DocumentMut, value};

/// The bundled plan, rewritten to use the test build's components (pinned),
/// a temp KB, store and approver key.
pub struct IuCut {
    pub dir: tempfile::TempDir,
    /// The PostgreSQL schema, when the plan's store is PostgreSQL.
    pub pg_schema: Option<String>,
    /// The PostgreSQL role made for this test, if any (dropped with it).
    pub pg_role: Option<String>,
    pub plan: PathBuf,
    pub key: PathBuf,
    pub host_config: PathBuf,
}

/// Which store an end-to-end test runs on: every test below runs on both.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A `#[test]` per backend for each listed `fn name(backend: Backend)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(super::Backend::Sqlite)
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name(super::Backend::Postgres)
            })*
        }
    };
}

on_both_backends!(
    the_constitution_goes_through_both_approvals_live,
    the_constitution_dry_run_goes_through_both_approvals_and_persists_nothing,
    rerunning_a_committed_run_changes_nothing,
    a_second_version_enacts_and_retires_the_first,
    the_empty_corpus_file_stops_at_source_pin,
    a_text_without_articles_stops_as_unknown_document,
    a_mistyped_article_number_stops_after_mark_naming_the_line,
    a_document_over_the_unit_cap_stops_with_cap_exceeded,
    an_unneeded_delete_grant_stops_before_any_write,
    the_runs_index_chains_every_completed_run,
);

/// The plan's needs: documents ri, source_versions riu, units riu, envelopes ri.
pub const EXACT: &[&str] = &[
    "SELECT, INSERT ON documents",
    "SELECT, INSERT, UPDATE ON source_versions",
    "SELECT, INSERT, UPDATE ON units",
    "SELECT, INSERT ON envelopes",
];

fn component_for(phase_or_gate: &str) -> &'static str {
    let crate_name = phase_or_gate.replace('_', "-");
    ALL_PLUGINS
        .iter()
        .find(|(name, _)| *name == crate_name)
        .map(|(_, path)| *path)
        .unwrap_or_else(|| panic!("no plugin crate `{crate_name}`"))
}

impl IuCut {
    /// The bundled plan on SQLite; `edit` may change the plan document.
    pub fn new(edit: impl FnOnce(&mut DocumentMut)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plans/iu-cut.toml");
        let mut doc: DocumentMut = std::fs::read_to_string(bundled).unwrap().parse().unwrap();
        doc["store"]["sqlite"] = value("store.sqlite");
        doc["kb"]["path"] = value("kb");
        let mut keys = toml_edit::Array::new();
        keys.push("keys/approver.pub");
        doc["approvals"]["trusted_keys"] = value(keys);
        // One key starts nothing and approves both gates here: the bundled
        // plan's separation of duties is tested in duties.rs and run by the demo.
        if let Some(approvals) = doc["approvals"].as_table_mut() {
            approvals.remove("require_signed_start");
        }
        for gate in doc["approvals"]["gates"]
            .as_array_of_tables_mut()
            .unwrap()
            .iter_mut()
        {
            gate.remove("distinct_from");
        }
        for section in ["gates", "phases"] {
            for table in doc[section].as_array_of_tables_mut().unwrap().iter_mut() {
                let name = table["name"].as_str().unwrap().to_string();
                let path = component_for(&name);
                table["component"] = value(path);
                table["sha256"] = value(crate::support::sha256_file(path));
            }
        }
        edit(&mut doc);
        let plan = dir.path().join("iu-cut.toml");
        std::fs::write(&plan, doc.to_string()).unwrap();
        let (key, host_config) = crate::support::live_run_files(dir.path());
        Self {
            pg_schema: None,
            pg_role: None,
            key,
            plan,
            host_config,
            dir,
        }
    }

    /// The bundled plan on a fresh PostgreSQL schema of the test server,
    /// connecting as `user` (None: the URL's user).
    pub fn postgres(user: Option<&str>, edit: impl FnOnce(&mut DocumentMut)) -> Self {
        let schema = crate::pg::unique_schema("iucut");
        let url = crate::pg::url_as(user);
        let schema_for_plan = schema.clone();
        let mut iu = Self::new(move |doc| {
            doc["store"].as_table_mut().unwrap().remove("sqlite");
            let mut pg = toml_edit::Table::new();
            pg["url"] = value(url);
            pg["schema"] = value(schema_for_plan);
            pg["password_env"] = value(crate::pg::PASSWORD_ENV);
            doc["store"]["postgres"] = toml_edit::Item::Table(pg);
            edit(doc);
        });
        iu.pg_schema = Some(schema);
        iu
    }

    /// The bundled plan on a fresh PostgreSQL schema made by the superuser,
    /// run as a new role holding `grants` (e.g. [`EXACT`]) and the host tables.
    pub fn postgres_role(
        label: &str,
        grants: &[&str],
        edit: impl FnOnce(&mut DocumentMut),
    ) -> Self {
        let role = crate::pg::unique_schema(&format!("r_{label}"));
        let schema = crate::pg::unique_schema("iucut");
        let mut iu = Self::postgres(Some(&role), edit);
        // Point the role's plan at the superuser-made schema.
        let plan = std::fs::read_to_string(&iu.plan)
            .unwrap()
            .replace(iu.pg_schema.as_deref().unwrap(), &schema);
        std::fs::write(&iu.plan, plan).unwrap();
        // Create the schema, its tables and the plan's declared tables as
        // the superuser (the store's owner), then the role.
        let mut owner = phasehost_store::open(&phasehost_store::StoreSpec::Postgres {
            url: crate::pg::base_url(),
            password_env: None,
            schema: schema.clone(),
            sslmode: None,
            sslrootcert: None,
        })
        .unwrap();
        let tables = phasehost::plan::load_plan(&iu.plan).unwrap().tables;
        owner.declare_tables(&tables, true).unwrap();
        drop(owner);
        crate::pg::role_with(&schema, &role, grants);
        iu.pg_schema = Some(schema);
        iu.pg_role = Some(role);
        iu
    }

    /// The bundled plan on `backend` (PostgreSQL: a role with exactly the
    /// plan's rights, see [`EXACT`]).
    pub fn on(backend: Backend, edit: impl FnOnce(&mut DocumentMut)) -> Self {
        match backend {
            Backend::Sqlite => Self::new(edit),
            Backend::Postgres => Self::postgres_role("e2e", EXACT, edit),
        }
    }

    /// A connection of our own to the plan's store (PostgreSQL as the superuser).
    pub fn open_store(&self) -> Box<dyn phasehost_store::StoreBackend> {
        let spec = match &self.pg_schema {
            Some(schema) => phasehost_store::StoreSpec::Postgres {
                url: crate::pg::base_url(),
                password_env: None,
                schema: schema.clone(),
                sslmode: None,
                sslrootcert: None,
            },
            None => phasehost_store::StoreSpec::Sqlite(self.store_path()),
        };
        phasehost_store::open(&spec).unwrap()
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("store.sqlite")
    }

    /// Start a run of `source` and approve every gate it pauses at.
    pub fn run(&self, source: &Path, live: bool) -> (PathBuf, Outcome) {
        let report = run::start(&StartRequest {
            plan: self.plan.clone(),
            source: source.to_path_buf(),
            live,
            host_config: Some(self.host_config.clone()),
            as_key: None,
        })
        .unwrap_or_else(|stop| panic!("start refused: {stop}"));
        let folder = report.folder.unwrap();
        let mut outcome = report.outcome;
        while let Outcome::Paused { gate, .. } = outcome {
            crate::support::approve(&folder, gate, &self.key, &self.plan).unwrap();
            outcome = crate::support::resume(&folder, &self.plan, &self.host_config)
                .unwrap()
                .outcome;
        }
        (folder, outcome)
    }

    /// A count(*) query on the plan's store.
    pub fn query(&self, sql: &str) -> i64 {
        if let Some(schema) = &self.pg_schema {
            return crate::pg::count(schema, sql);
        }
        let conn = rusqlite::Connection::open(self.store_path()).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

impl Drop for IuCut {
    /// A test's PostgreSQL schema and role go with it.
    fn drop(&mut self) {
        if let Some(schema) = &self.pg_schema {
            crate::pg::drop_schema(schema);
        }
        if let Some(role) = &self.pg_role {
            crate::pg::drop_role(role);
        }
    }
}

pub fn evidence(folder: &Path, phase: &str) -> serde_json::Value {
    let state = RunState::load(folder).unwrap();
    let record = state
        .phases
        .iter()
        .find(|r| r.phase == phase)
        .unwrap_or_else(|| panic!("no evidence of {phase}"));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join(&record.document)).unwrap()).unwrap();
    doc["evidence"].clone()
}

fn constitution() -> PathBuf {
    crate::support::corpus("hien-phap.txt")
}

fn the_constitution_goes_through_both_approvals_live(backend: Backend) {
    let iu = IuCut::on(backend, |_| {});
    let (folder, outcome) = iu.run(&constitution(), true);
    assert_eq!(outcome, Outcome::Completed, "{outcome:?}");
    let state = RunState::load(&folder).unwrap();
    assert_eq!(state.phases.len(), 11);
    for gate in ["sg1", "sg2"] {
        assert_eq!(
            std::fs::read_dir(folder.join("approvals").join(gate))
                .unwrap()
                .count(),
            1
        );
    }
    let in_force = |kind: &str| {
        iu.query(&format!(
            "SELECT count(*) FROM units WHERE document_id = 'hien-phap' AND kind = '{kind}' AND status = 'in_force'"
        ))
    };
    assert_eq!(in_force("chapter"), 11);
    assert_eq!(in_force("article"), 120);
    let units = evidence(&folder, "cutplan")["units"].as_i64().unwrap();
    assert_eq!(
        iu.query("SELECT count(*) FROM units WHERE status = 'in_force'"),
        units
    );
    assert_eq!(iu.query("SELECT count(*) FROM envelopes"), units);
    let closeout = std::fs::read_to_string(folder.join("evidence/11-closeout.json")).unwrap();
    assert!(closeout.contains("\"runs_index\""), "{closeout}");
}

fn the_constitution_dry_run_goes_through_both_approvals_and_persists_nothing(backend: Backend) {
    let iu = IuCut::on(backend, |_| {});
    let (folder, outcome) = iu.run(&constitution(), false);
    assert_eq!(outcome, Outcome::Completed, "{outcome:?}");
    assert_eq!(iu.query("SELECT count(*) FROM units"), 0);
    assert_eq!(
        evidence(&folder, "structural_verify")["probes"]["reassembly_matches_source"],
        true
    );
    // The plan digest is the same dry and live.
    let (live, _) = iu.run(&constitution(), true);
    assert_eq!(
        evidence(&folder, "cutplan")["plan_digest"],
        evidence(&live, "cutplan")["plan_digest"]
    );
}

fn rerunning_a_committed_run_changes_nothing(backend: Backend) {
    let iu = IuCut::on(backend, |_| {});
    let (_, first) = iu.run(&constitution(), true);
    assert_eq!(first, Outcome::Completed);
    let digest = |iu: &IuCut| iu.open_store().document_digest("hien-phap").unwrap();
    let before = digest(&iu);
    let (folder, second) = iu.run(&constitution(), true);
    assert_eq!(second, Outcome::Completed, "{second:?}");
    assert_eq!(digest(&iu), before);
    assert_eq!(evidence(&folder, "cut_leg_a")["units_inserted"], 0);
}

/// A second version of the Constitution: article 5 clause 1 amended,
/// article 119 removed, an article 121 added.
fn second_version(dir: &Path) -> PathBuf {
    use unicode_normalization::UnicodeNormalization;
    let text: String = std::fs::read_to_string(constitution())
        .unwrap()
        .nfc()
        .collect();
    let amended = text.replacen(
        "các dân tộc cùng sinh sống trên đất nước Việt Nam.",
        "các dân tộc cùng sinh sống trên đất nước Việt Nam (sửa đổi).",
        1,
    );
    assert_ne!(amended, text);
    let (from, to) = (
        amended.find("Điều 119.").unwrap(),
        amended.find("Điều 120.").unwrap(),
    );
    let removed = format!("{}{}", &amended[..from], &amended[to..]);
    let closing = removed.find("Hiến pháp này đã được Quốc hội").unwrap();
    let added = format!(
        "{}Điều 121.\n\nĐiều khoản mới được thêm vào để thử.\n\n{}",
        &removed[..closing],
        &removed[closing..]
    );
    let path = dir.join("hien-phap.txt");
    std::fs::write(&path, added).unwrap();
    path
}

fn eids(list: &serde_json::Value) -> Vec<&str> {
    list["eids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect()
}

fn a_second_version_enacts_and_retires_the_first(backend: Backend) {
    let iu = IuCut::on(backend, |_| {});
    let (first_folder, first) = iu.run(&constitution(), true);
    assert_eq!(first, Outcome::Completed);
    let v1 = RunState::load(&first_folder).unwrap().version;
    let dir = tempfile::tempdir().unwrap();
    let (folder, second) = iu.run(&second_version(dir.path()), true);
    assert_eq!(second, Outcome::Completed, "{second:?}");
    let enact = evidence(&folder, "lifecycle_enact");
    assert!(
        eids(&enact["changed"]).contains(&"art_5__para_1"),
        "{enact}"
    );
    assert!(eids(&enact["removed"]).contains(&"art_119"), "{enact}");
    assert!(eids(&enact["added"]).contains(&"art_121"), "{enact}");
    assert_eq!(enact["previous_version"], v1.as_str());
    let v1_units = iu.query(&format!(
        "SELECT count(*) FROM units WHERE version = '{v1}'"
    ));
    assert_eq!(enact["retired"].as_i64().unwrap(), v1_units);
    assert_eq!(
        iu.query(&format!(
            "SELECT count(*) FROM units WHERE version = '{v1}' AND status = 'retired'"
        )),
        v1_units
    );
    let v2 = RunState::load(&folder).unwrap().version;
    assert_eq!(
        iu.query(&format!(
            "SELECT count(*) FROM units WHERE status = 'in_force' AND version <> '{v2}'"
        )),
        0
    );
    assert_eq!(
        iu.query("SELECT count(*) FROM units WHERE kind = 'article' AND status = 'in_force'"),
        120
    );
    assert_eq!(
        iu.query("SELECT count(*) FROM source_versions WHERE status = 'in_force'"),
        1
    );
    assert_eq!(
        iu.query("SELECT count(*) FROM source_versions WHERE status = 'retired'"),
        1
    );
}

fn stops(iu: &IuCut, source: &Path) -> (PathBuf, phasehost::Stop) {
    let (folder, outcome) = iu.run(source, true);
    let Outcome::Stopped(stop) = outcome else {
        panic!("expected a stop, got {outcome:?}")
    };
    (folder, stop)
}

fn the_empty_corpus_file_stops_at_source_pin(backend: Backend) {
    let iu = IuCut::on(backend, |_| {});
    let (folder, stop) = stops(
        &iu,
        &crate::support::corpus("luat-ban-hanh-van-ban-quy-pham-phap-luat.txt"),
    );
    assert_eq!(stop.code, StopCode::EmptySource);
    assert_eq!(stop.phase.as_deref(), Some("source_pin"));
    assert!(folder.join("stop.json").is_file());
}

fn a_text_without_articles_stops_as_unknown_document(backend: Backend) {
    let iu = IuCut::on(backend, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("notes.txt");
    std::fs::write(&src, "Một ghi chú không có điều khoản nào.\n").unwrap();
    let (_, stop) = stops(&iu, &src);
    assert_eq!(stop.code, StopCode::UnknownDocument, "{stop}");
    assert_eq!(stop.phase.as_deref(), Some("mark"));
}

/// "Điều 7." mistyped "Điều 70.": articles 8–69 would be swallowed into
/// art_70; the gate G-MARK-NO-ABSORBED-MARKERS stops the run after mark,
/// naming the first absorbed line, before any approval or write.
fn a_mistyped_article_number_stops_after_mark_naming_the_line(backend: Backend) {
    let iu = IuCut::on(backend, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(constitution()).unwrap();
    let at = text.find("\nĐiều 7.").unwrap() + 1;
    let mut typo = text.clone();
    typo.replace_range(at..at + "Điều 7.".len(), "Điều 70.");
    let src = dir.path().join("hien-phap.txt");
    std::fs::write(&src, typo).unwrap();
    let (folder, stop) = stops(&iu, &src);
    assert_eq!(stop.code, StopCode::InvariantFailed, "{stop}");
    assert_eq!(stop.phase.as_deref(), Some("mark"));
    assert!(
        stop.message.contains("G-MARK-NO-ABSORBED-MARKERS"),
        "{stop}"
    );
    assert!(stop.message.contains("line 76: “Điều 8.”"), "{stop}");
    let stop_json = std::fs::read_to_string(folder.join("stop.json")).unwrap();
    assert!(
        stop_json.contains("G-MARK-NO-ABSORBED-MARKERS"),
        "{stop_json}"
    );
    assert_eq!(iu.query("SELECT count(*) FROM units"), 0, "nothing written");
}

fn a_document_over_the_unit_cap_stops_with_cap_exceeded(backend: Backend) {
    let iu = IuCut::on(backend, |doc| {
        for table in doc["phases"].as_array_of_tables_mut().unwrap().iter_mut() {
            if table["name"].as_str() == Some("mark") {
                table["config"]["max_units"] = value(10);
            }
        }
    });
    let (_, stop) = stops(&iu, &constitution());
    assert_eq!(stop.code, StopCode::CapExceeded, "{stop}");
    assert_eq!(iu.query("SELECT count(*) FROM units"), 0, "nothing written");
}

/// An unneeded delete right in the plan is caught by the gate before
/// grant_probe, on both backends (the PostgreSQL role's own rights are
/// checked in postgres_e2e).
fn an_unneeded_delete_grant_stops_before_any_write(backend: Backend) {
    let iu = IuCut::on(backend, |doc| {
        for table in doc["phases"].as_array_of_tables_mut().unwrap().iter_mut() {
            if table["name"].as_str() == Some("pre_write_backup") {
                table["grants"]["store"]["units"] = value("rd");
            }
        }
    });
    let (_, stop) = stops(&iu, &constitution());
    assert_eq!(stop.code, StopCode::InvariantFailed, "{stop}");
    assert!(stop.message.contains("G-GRANT-PLAN-NO-DELETE"), "{stop}");
    assert_eq!(stop.phase.as_deref(), Some("grant_probe"));
    assert_eq!(iu.query("SELECT count(*) FROM units"), 0);
}

fn the_runs_index_chains_every_completed_run(backend: Backend) {
    let iu = IuCut::on(backend, |_| {});
    for _ in 0..2 {
        assert_eq!(iu.run(&constitution(), true).1, Outcome::Completed);
    }
    assert_eq!(iu.open_store().verify_index().unwrap(), 2);
}

/// The phases after SG_1 take the plan from the artifact `cutplan` put in
/// the run folder, which lies on disk across the pause: an edit of it (here
/// one unit's text only — the plan digest covers each unit's `text_sha`,
/// not its text, so the digest SG_1 approved still agrees) is refused by
/// the artifact's sha256 recorded in cutplan's evidence, before anything is
/// written. Without that check the forged text would be stored.
#[test]
fn a_plan_artifact_edited_during_the_pause_is_refused() {
    let iu = IuCut::new(|_| {});
    let report = run::start(&StartRequest {
        plan: iu.plan.clone(),
        source: constitution(),
        live: true,
        host_config: Some(iu.host_config.clone()),
        as_key: None,
    })
    .unwrap();
    let folder = report.folder.unwrap();
    assert!(
        matches!(report.outcome, Outcome::Paused { .. }),
        "{:?}",
        report.outcome
    );
    let artifact = folder.join("artifacts/cutplan.bin");
    let mut bytes = std::fs::read(&artifact).unwrap();
    assert!(
        bytes.starts_with(b"iu-cut plan artifact v2\n"),
        "the artifact is the binary plan"
    );
    // Rename a unit: one byte of the plan SG_1 is about to approve.
    let at = bytes
        .windows(5)
        .position(|w| w == b"art_3")
        .expect("unit art_3 in the artifact");
    bytes[at + 4] = b'9';
    std::fs::write(&artifact, &bytes).unwrap();

    crate::support::approve(&folder, crate::support::sg1(), &iu.key, &iu.plan).unwrap();
    let outcome = crate::support::resume(&folder, &iu.plan, &iu.host_config)
        .unwrap()
        .outcome;
    let Outcome::Stopped(stop) = outcome else {
        panic!("expected a stop, got {outcome:?}")
    };
    assert_eq!(stop.code, StopCode::InvariantFailed, "{stop}");
    assert_eq!(stop.phase.as_deref(), Some("cut_leg_a"));
    assert!(stop.message.contains("plan artifact"), "{stop}");
    assert_eq!(iu.query("SELECT count(*) FROM units"), 0, "nothing written");
}
