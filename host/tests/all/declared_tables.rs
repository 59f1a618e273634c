//! Plugin-declared tables through the host: `phasehost migrate` creates
//! them once and reports them, a table of another shape is refused with
//! its rows kept, a PostgreSQL run never creates one, and a store role
//! lacking a right the plan needs on one stops the run before any phase.

use crate::iu_cut::{EXACT, IuCut};
use crate::support::phasehost;
use phasehost::StopCode;
use phasehost::run::Outcome;
use std::path::Path;

/// `notes (n int, body text)`, key `n`, granted `ri` to the one phase.
const NOTES: &str = r#"
[[tables]]
name = "notes"
columns = [ { name = "n", type = "int" }, { name = "body", type = "text" } ]
primary_key = ["n"]
"#;

/// A plan on `store` (a `[store]` body) declaring `tables`; its component
/// is never loaded by the commands used here.
fn plan(dir: &Path, store: &str, tables: &str) -> std::path::PathBuf {
    let text = format!(
        "[plan]\nname = \"t\"\nplugin_set = \"notes\"\n\n[store]\n{store}\n\n[kb]\npath = \"kb\"\n{tables}\n\
         [[phases]]\nname = \"one\"\ncomponent = \"one.wasm\"\n[phases.grants]\nstore = {{ notes = \"ri\" }}\n"
    );
    let path = dir.join("plan.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn notes_rows(store: &Path) -> i64 {
    let conn = rusqlite::Connection::open(store).unwrap();
    conn.query_row("SELECT count(*) FROM notes", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn migrate_creates_a_declared_table_once_and_refuses_another_shape() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), "sqlite = \"store.sqlite\"", NOTES);
    let plan = plan.to_str().unwrap();
    let (code, out, err) = phasehost(&["migrate", plan]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("table notes: created"), "{out}");
    let (code, out, err) = phasehost(&["migrate", plan]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("table notes: exists with the declared shape"),
        "{out}"
    );
    let store = dir.path().join("store.sqlite");
    rusqlite::Connection::open(&store)
        .unwrap()
        .execute_batch("INSERT INTO notes VALUES ('doc', 1, 'kept'), ('doc', 2, 'also')")
        .unwrap();
    // The plan changes the type of `body`: refused, the rows left as they are.
    std::fs::write(
        plan,
        std::fs::read_to_string(plan).unwrap().replace(
            "name = \"body\", type = \"text\"",
            "name = \"body\", type = \"int\"",
        ),
    )
    .unwrap();
    let (code, out, err) = phasehost(&["migrate", plan]);
    assert_eq!(code, StopCode::StoreFailed.exit_status(), "{out}{err}");
    assert!(err.contains("exists with a different shape"), "{err}");
    assert!(
        err.contains("`body` int not null, found `body` text not null"),
        "{err}"
    );
    assert_eq!(notes_rows(&store), 2);
    // A run's open is refused the same way (verify-index opens the store).
    let (code, _, err) = phasehost(&["verify-index", plan]);
    assert_eq!(code, StopCode::StoreFailed.exit_status(), "{err}");
    assert!(err.contains("different shape"), "{err}");
    assert_eq!(notes_rows(&store), 2);
}

#[test]
fn a_grant_of_an_undeclared_table_is_plan_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), "sqlite = \"store.sqlite\"", "");
    let (code, _, err) = phasehost(&["migrate", plan.to_str().unwrap()]);
    assert_eq!(code, StopCode::PlanInvalid.exit_status(), "{err}");
    assert!(err.contains("nor declared in [[tables]]"), "{err}");
    assert!(!dir.path().join("store.sqlite").exists(), "nothing opened");
}

#[test]
fn on_postgres_only_migrate_creates_a_declared_table() {
    let dir = tempfile::tempdir().unwrap();
    let schema = crate::pg::unique_schema("decl");
    let store = format!(
        "[store.postgres]\nurl = {:?}\nschema = {schema:?}\npassword_env = {:?}",
        crate::pg::base_url(),
        crate::pg::PASSWORD_ENV
    );
    let plan = plan(dir.path(), &store, NOTES);
    let plan = plan.to_str().unwrap();
    // A run's open (here verify-index's) does not create it; it names migrate.
    let (code, _, err) = phasehost(&["verify-index", plan]);
    assert_eq!(code, StopCode::StoreFailed.exit_status(), "{err}");
    assert!(err.contains("phasehost migrate"), "{err}");
    assert_eq!(
        crate::pg::count(
            &schema,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'notes' AND schemaname = current_schema()"
        ),
        0
    );
    let (code, out, err) = phasehost(&["migrate", plan]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("table notes: created"), "{out}");
    let (code, out, err) = phasehost(&["verify-index", plan]);
    assert_eq!(code, 0, "{out}{err}");
    crate::pg::drop_schema(&schema);
}

#[test]
fn a_role_lacking_a_right_on_a_declared_table_stops_before_any_phase() {
    let declare = |doc: &mut toml_edit::DocumentMut| {
        let tables: toml_edit::DocumentMut = NOTES.parse().unwrap();
        doc["tables"] = tables["tables"].clone();
        for table in doc["phases"].as_array_of_tables_mut().unwrap().iter_mut() {
            if table["name"].as_str() == Some("cut_leg_a") {
                table["grants"]["store"]["notes"] = toml_edit::value("i");
            }
        }
    };
    // The role has exactly iu-cut's rights, and only SELECT on `notes`.
    let mut grants = EXACT.to_vec();
    grants.push("SELECT ON notes");
    let iu = IuCut::postgres_role("decl", &grants, declare);
    let (folder, outcome) = iu.run(&crate::support::corpus("hien-phap.txt"), true);
    let Outcome::Stopped(stop) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(stop.code, StopCode::GrantMismatch, "{stop}");
    assert!(stop.message.contains("notes:i"), "{stop}");
    let state = phasehost::run::state::RunState::load(&folder).unwrap();
    assert!(state.phases.is_empty(), "no phase ran: {:?}", state.phases);
    assert_eq!(iu.query("SELECT count(*) FROM documents"), 0);
}

/// A phase (the test probe) writing declared tables on SQLite: granted
/// `notes = "ri"` and `other = "r"`.
fn probe_run(config: &str) -> (phasehost::runtime::PhaseRun, i64) {
    use crate::support::{PhaseDef, TestPlan, run_phase, services};
    use phasehost_test_artifacts::TEST_PROBE_COMPONENT;
    let other = NOTES.replace("\"notes\"", "\"other\"");
    let tp = TestPlan::write(
        &[],
        &[PhaseDef::new("probe", TEST_PROBE_COMPONENT).grants(
            "source = true\nlog = true\nstore = { notes = \"ri\", other = \"r\" }\nartifacts = { \"backup.json\" = \"ri\" }",
        )],
        &format!("{NOTES}{other}"),
    );
    let plan = tp.load();
    let path = tp.dir.path().join("store.sqlite");
    let mut store =
        phasehost_store::open(&phasehost_store::StoreSpec::Sqlite(path.clone())).unwrap();
    store.declare_tables(&plan.tables, true).unwrap();
    store.begin().unwrap();
    let shared: phasehost::runtime::state::SharedStore =
        std::sync::Arc::new(std::sync::Mutex::new(store));
    let mut services = services("r1", None);
    services.store = Some(shared.clone());
    let run = run_phase(&plan, "probe", &services, config);
    shared.lock().unwrap().commit().unwrap();
    (run, notes_rows(&path))
}

#[test]
fn a_phase_writes_a_declared_table_through_the_same_checks() {
    let (run, rows) = probe_run(
        r#"{"mode":"write","table":"notes","rows":[{"n":1,"body":"a"},{"n":2,"body":"b"}]}"#,
    );
    assert_eq!(run.outcome.expect("written")["inserted"], 2);
    assert_eq!(rows, 2);
    // Row validation: a wrong type is `invalid`, nothing of the call stays.
    let (run, rows) = probe_run(
        r#"{"mode":"write","table":"notes","rows":[{"n":1,"body":"a"},{"n":"2","body":"b"}]}"#,
    );
    let evidence = run.outcome.expect("the error is a value");
    assert_eq!(evidence["error"], "invalid", "{evidence}");
    assert!(
        evidence["message"]
            .as_str()
            .unwrap()
            .contains("`notes.n` must be an integer")
    );
    assert_eq!(rows, 0);
    for (bad, want) in [
        (r#"{"n":1}"#, "lacks `body`"),
        (r#"{"n":1,"body":null}"#, "must be a string"),
        (r#"{"n":1,"body":"a","x":1}"#, "unknown column"),
        (
            r#"{"n":1,"body":"a","document_id":"other"}"#,
            "not the run's document",
        ),
    ] {
        let config = format!(r#"{{"mode":"write","table":"notes","rows":[{bad}]}}"#);
        let evidence = probe_run(&config).0.outcome.expect("a value");
        assert!(
            evidence["message"].as_str().unwrap().contains(want),
            "{bad}: {evidence}"
        );
    }
    // A declared table the phase may only read, and one nobody declared.
    for table in ["other", "nope", "runs_index"] {
        let config =
            format!(r#"{{"mode":"write","table":"{table}","rows":[{{"n":1,"body":"a"}}]}}"#);
        let stop = probe_run(&config).0.outcome.expect_err("denied");
        assert_eq!(stop.code, StopCode::CapabilityDenied, "{table}: {stop}");
        assert!(
            stop.message.contains(&format!("insert on table `{table}`")),
            "{stop}"
        );
    }
}
