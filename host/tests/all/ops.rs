//! The operators' commands: `verify-index`, `runs`, `migrate`.

use crate::orchestrator::{Pipeline, assert_paused};
use crate::support::phasehost;
use phasehost::StopCode;
use phasehost::store::StoreBackend;
use std::path::Path;
use std::process::Command;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn append_entries(store: &Path, n: usize) {
    let mut store = phasehost::store::SqliteStore::open(store).unwrap();
    for i in 1..=n {
        store
            .append_index(&format!("run-{i}"), "doc", &format!("{{\"n\":{i}}}"))
            .unwrap();
    }
}

#[test]
fn ops_verify_index_passes_an_intact_chain() {
    let p = Pipeline::new();
    let plan = s(&p.plan.path);
    let (code, out, err) = phasehost(&["verify-index", plan]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("intact: 0 entries"), "{out}");

    append_entries(&p.store_path(), 3);
    let (code, out, err) = phasehost(&["verify-index", plan, "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["intact"], true);
    assert_eq!(v["entries"], 3);
}

#[test]
fn ops_verify_index_names_the_first_tampered_link() {
    let p = Pipeline::new();
    append_entries(&p.store_path(), 3);
    {
        let conn = rusqlite::Connection::open(p.store_path()).unwrap();
        conn.execute_batch(
            "DROP TRIGGER runs_index_no_update; \
             UPDATE runs_index SET entry = '{\"n\":99}' WHERE seq = 2;",
        )
        .unwrap();
    }
    let plan = s(&p.plan.path);
    let (code, out, err) = phasehost(&["verify-index", plan]);
    assert_eq!(code, StopCode::InvariantFailed.exit_status(), "{out}{err}");
    assert!(err.contains("invariant-failed"), "{err}");
    assert!(err.contains("seq 2 (run run-2)"), "{err}");

    let (code, out, _) = phasehost(&["verify-index", plan, "--json"]);
    assert_eq!(code, StopCode::InvariantFailed.exit_status());
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["intact"], false);
    assert_eq!(v["first_break"]["seq"], 2);
    assert_eq!(v["first_break"]["run_id"], "run-2");
    assert_eq!(v["stop"]["code"], "invariant-failed");
}

#[test]
fn ops_runs_lists_every_run_and_the_waiting_ones() {
    let p = Pipeline::new();
    let (first, outcome) = p.start(false);
    assert_paused(&outcome, crate::support::sg1());
    let second = p.to_sg2(false);
    // Junk next to the runs: a folder without a state, a damaged state, a symlink.
    let runs_dir = p.kb().join("runs");
    std::fs::create_dir(runs_dir.join("empty-folder")).unwrap();
    std::os::unix::fs::symlink(&first, runs_dir.join("linked")).unwrap();

    let plan = s(&p.plan.path);
    let (code, out, err) = phasehost(&["runs", plan, "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let runs: Vec<serde_json::Value> = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(runs.len(), 4, "{out}");
    let by_folder = |folder: &Path| {
        runs.iter()
            .find(|r| r["folder"] == s(folder))
            .unwrap_or_else(|| panic!("{} not listed: {out}", folder.display()))
            .clone()
    };
    let one = by_folder(&first);
    assert_eq!(one["status"], "paused");
    assert_eq!(one["gate"], "sg1");
    assert_eq!(one["mode"], "dry");
    assert!(one["document_id"].is_string());
    assert!(one["age_secs"].as_u64().unwrap() < 3600);
    assert_eq!(by_folder(&second)["gate"], "sg2");
    assert_eq!(
        by_folder(&runs_dir.join("empty-folder"))["status"],
        "corrupt"
    );
    let linked = by_folder(&runs_dir.join("linked"));
    assert_eq!(linked["status"], "corrupt", "a symlink is never followed");

    let (code, out, err) = phasehost(&["runs", s(&p.kb()), "--waiting"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("paused at sg1") && out.contains("paused at sg2"),
        "{out}"
    );
    assert!(!out.contains("corrupt"), "{out}");
    assert!(
        out.contains(&format!(
            "next: phasehost approve {} --gate sg1 --key <key-file> --plan <plan>",
            first.display()
        )),
        "{out}"
    );

    // Through SG_2 to completion: no longer waiting.
    p.approve(&second, crate::support::sg2());
    p.resume(&second);
    let (_, out, _) = phasehost(&["runs", plan, "--waiting", "--json"]);
    let waiting: Vec<serde_json::Value> = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(waiting.len(), 1, "{out}");
    assert_eq!(waiting[0]["folder"], s(&first));
    assert!(
        waiting[0]["next"]
            .as_str()
            .unwrap()
            .ends_with(&format!("--plan {plan}")),
        "{out}"
    );
    let (_, out, _) = phasehost(&["runs", plan]);
    assert!(out.contains("completed"), "{out}");
}

/// A run entry under `runs/` that is a symlink, to a run folder in `runs/`
/// itself (which cap-std would follow inside the handle) or to a copy of
/// one outside the KB, is listed as `corrupt`: each listed run is opened
/// from the `runs/` handle without following a symlink.
#[test]
fn ops_runs_never_reads_a_run_through_a_symlinked_entry() {
    let p = Pipeline::new();
    let (first, outcome) = p.start(false);
    assert_paused(&outcome, crate::support::sg1());
    let name = first.file_name().unwrap().to_str().unwrap();
    let elsewhere = p.dir().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let copied = Command::new("cp")
        .arg("-a")
        .arg(&first)
        .arg(&elsewhere)
        .status()
        .unwrap();
    assert!(copied.success());
    let runs_dir = p.kb().join("runs");
    std::os::unix::fs::symlink(name, runs_dir.join("alias")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join(name), runs_dir.join("outside")).unwrap();

    let (code, out, err) = phasehost(&["runs", s(&p.kb()), "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let runs: Vec<serde_json::Value> = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(runs.len(), 3, "{out}");
    for run in &runs {
        if run["run"] == name {
            assert_eq!(run["status"], "paused", "{out}");
            continue;
        }
        assert_eq!(run["status"], "corrupt", "{out}");
        assert!(run["document_id"].is_null(), "{out}");
        let problem = run["problem"].as_str().unwrap();
        assert!(problem.contains("is a symlink"), "{problem}");
    }
}

#[test]
fn ops_migrate_on_sqlite_reports_versions_and_is_idempotent() {
    let p = Pipeline::new();
    let plan = s(&p.plan.path);
    let latest = phasehost::store::SCHEMA_VERSION;
    let (code, out, err) = phasehost(&["migrate", plan]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("store: sqlite"), "{out}");
    assert!(out.contains("schema version before: 0"), "{out}");
    assert!(
        out.contains(&format!("schema version after: {latest}")),
        "{out}"
    );
    let (code, out, err) = phasehost(&["migrate", plan]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("schema version before: {latest}")),
        "{out}"
    );
    assert!(out.contains("nothing to do"), "{out}");
}

#[test]
fn ops_migrate_on_postgres_reports_versions_and_is_idempotent() {
    let p = Pipeline::new();
    let schema = crate::pg::unique_schema("ops_migrate");
    let text = std::fs::read_to_string(&p.plan.path).unwrap();
    let pg = format!(
        "[store.postgres]\nurl = \"{}\"\nschema = \"{schema}\"\n",
        crate::pg::base_url()
    );
    let text = text.replace("[store]\nsqlite = \"store.sqlite\"\n", &pg);
    assert!(text.contains("[store.postgres]"), "{text}");
    std::fs::write(&p.plan.path, text).unwrap();
    let plan = s(&p.plan.path);
    let latest = phasehost::store::SCHEMA_VERSION;
    let result = || {
        let (code, out, err) = phasehost(&["migrate", plan]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("store: postgres"), "{out}");
        assert!(out.contains("schema version before: 0"), "{out}");
        assert!(out.contains(&format!("after: {latest}")), "{out}");
        let (code, out, err) = phasehost(&["migrate", plan]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains(&format!("before: {latest}")), "{out}");
        let (code, out, err) = phasehost(&["verify-index", plan]);
        assert_eq!(code, 0, "{out}{err}");
    };
    let outcome = std::panic::catch_unwind(result);
    crate::pg::drop_schema(&schema);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
