//! The second plugin set, `examples/csv-rows`, end to end on SQLite: its
//! plan (declared tables, its own gates, one approval) as bundled, with the
//! test build's components pinned, a temp store, KB and approver key.

use phasehost::run::state::RunState;
use phasehost::run::{self, Outcome, StartRequest};
use phasehost_test_artifacts::ALL_PLUGINS;
use std::path::{Path, PathBuf};
use toml_edit::{DocumentMut, value};

struct CsvRows {
    dir: tempfile::TempDir,
    plan: PathBuf,
    key: PathBuf,
    host_config: PathBuf,
}

fn example(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/csv-rows")
        .join(rel)
}

/// The component built for the plan's `component` file name
/// (`…/csvrows_pin.wasm` → plugin `csvrows-pin`).
fn component(bundled: &str) -> &'static str {
    let stem = Path::new(bundled).file_stem().unwrap().to_str().unwrap();
    let name = stem.replace('_', "-");
    ALL_PLUGINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("no plugin `{name}` built"))
}

impl CsvRows {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut doc: DocumentMut = std::fs::read_to_string(example("plan.toml"))
            .unwrap()
            .parse()
            .unwrap();
        doc["store"]["sqlite"] = value("store.sqlite");
        doc["kb"]["path"] = value("kb");
        let mut keys = toml_edit::Array::new();
        keys.push("keys/approver.pub");
        doc["approvals"]["trusted_keys"] = value(keys);
        for section in ["gates", "phases"] {
            for table in doc[section].as_array_of_tables_mut().unwrap().iter_mut() {
                let path = component(table["component"].as_str().unwrap());
                table["component"] = value(path);
                table["sha256"] = value(crate::support::sha256_file(path));
            }
        }
        let plan = dir.path().join("plan.toml");
        std::fs::write(&plan, doc.to_string()).unwrap();
        let (key, host_config) = crate::support::live_run_files(dir.path());
        Self {
            key,
            plan,
            host_config,
            dir,
        }
    }

    /// Starts a run of the bundled file; pauses once (at `load_ok`), is
    /// approved with the test key and resumed to its end.
    fn run(&self, live: bool) -> (PathBuf, Outcome, usize) {
        let report = run::start(&StartRequest {
            plan: self.plan.clone(),
            source: example("data/elements.csv"),
            live,
            host_config: Some(self.host_config.clone()),
            as_key: None,
        })
        .unwrap_or_else(|stop| panic!("start refused: {stop}"));
        let folder = report.folder.unwrap();
        let mut outcome = report.outcome;
        let mut pauses = 0;
        while let Outcome::Paused { gate, .. } = outcome {
            pauses += 1;
            crate::support::approve(&folder, gate, &self.key, &self.plan).unwrap();
            outcome = crate::support::resume(&folder, &self.plan, &self.host_config)
                .unwrap()
                .outcome;
        }
        (folder, outcome, pauses)
    }

    fn query(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.dir.path().join("store.sqlite")).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

fn evidence(folder: &Path, phase: &str) -> serde_json::Value {
    let state = RunState::load(folder).unwrap();
    let record = state.phases.iter().find(|r| r.phase == phase).unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join(&record.document)).unwrap()).unwrap();
    doc["evidence"].clone()
}

#[test]
fn the_example_loads_its_rows_after_one_approval_dry_then_live() {
    let c = CsvRows::new();
    let (_, outcome, pauses) = c.run(false);
    assert_eq!(outcome, Outcome::Completed, "dry: {outcome:?}");
    assert_eq!(pauses, 1, "one approval");
    assert_eq!(
        c.query("SELECT count(*) FROM csv_rows"),
        0,
        "a dry run keeps nothing"
    );

    let (folder, outcome, pauses) = c.run(true);
    assert_eq!(outcome, Outcome::Completed, "live: {outcome:?}");
    assert_eq!(pauses, 1);
    let plan = evidence(&folder, "plan");
    let verify = evidence(&folder, "verify");
    assert_eq!(plan["rows"], 36, "{plan}");
    assert_eq!(verify["rows_digest"], plan["rows_digest"], "{verify}");
    assert_eq!(c.query("SELECT count(*) FROM csv_rows"), 36);
    assert_eq!(
        c.query("SELECT count(*) FROM csv_rows WHERE seq = 26 AND fields = '[\"26\",\"Fe\",\"Iron\",\"4\",\"8\",\"d\",\"transition metal\"]'"),
        1
    );
    assert_eq!(c.query("SELECT rows FROM csv_files"), 36);
    // Every predicate of the plugin set was checked (and held: the run ended).
    for name in [
        "G-CSV-PINNED",
        "G-CSV-ROWS-WITHIN-CAP",
        "G-CSV-LOADED-AS-PLANNED",
        "G-CSV-READ-BACK-MATCHES",
    ] {
        assert!(
            !crate::support::grep_tree(&folder.join("evidence"), name).is_empty(),
            "{name} not checked"
        );
    }
    // A second live run of the same file inserts nothing twice.
    let (_, outcome, _) = c.run(true);
    assert_eq!(outcome, Outcome::Completed, "{outcome:?}");
    assert_eq!(c.query("SELECT count(*) FROM csv_rows"), 36);
}

#[test]
fn the_example_audits_with_no_wasi_and_imports_equal_to_grants() {
    let c = CsvRows::new();
    let out = crate::support::phasehost_command()
        .args(["audit", c.plan.to_str().unwrap(), "--json"])
        .env("PHASEHOST_CACHE_DIR", crate::support::shared_cache())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    let plugins = report["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 5, "one gate plugin, four phases");
    for p in plugins {
        let info = &p["plugin"];
        assert_eq!(p["loads"], true, "{p}");
        assert_eq!(info["diff"]["ambient"], serde_json::json!([]), "WASI: {p}");
        assert_eq!(
            info["diff"]["unused"],
            serde_json::json!([]),
            "granted, not imported: {p}"
        );
    }
    let tables = report["tables"].as_array().unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["csv_files", "csv_rows"]);
    assert_eq!(
        tables[1]["grants"],
        serde_json::json!({"load": "i", "verify": "r"})
    );
    assert_eq!(
        tables[1]["primary_key"],
        serde_json::json!(["document_id", "version", "seq"])
    );
}
