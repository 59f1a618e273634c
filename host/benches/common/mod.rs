//! What the bench binaries share: the bundled iu-cut plan rewritten for the
//! bench build, and an operator who approves every gate.

#![allow(dead_code, reason = "each bench binary uses part of this module")]

use phasehost::run::Outcome;
use phasehost_test_artifacts::ALL_PLUGINS;
use std::path::{Path, PathBuf};

/// Where a bench plan keeps its rows.
pub enum BenchStore<'a> {
    /// `<dir>/store.sqlite`.
    Sqlite,
    /// This PostgreSQL URL and schema; the password variable is the tests'.
    Postgres { url: &'a str, schema: &'a str },
}

/// The bundled plan with the bench build's components, pinned, in `dir`
/// (KB, approver key `keys/bench.key`, `host.toml` enabling live runs and
/// naming the compile cache `<dir>/cache`).
pub fn bench_plan(dir: &Path, store: BenchStore) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plans/iu-cut.toml");
    let mut doc: toml_edit::DocumentMut =
        std::fs::read_to_string(bundled).unwrap().parse().unwrap();
    match store {
        BenchStore::Sqlite => doc["store"]["sqlite"] = toml_edit::value("store.sqlite"),
        BenchStore::Postgres { url, schema } => {
            doc["store"].as_table_mut().unwrap().remove("sqlite");
            let mut pg = toml_edit::Table::new();
            pg["url"] = toml_edit::value(url);
            pg["schema"] = toml_edit::value(schema);
            pg["password_env"] = toml_edit::value("PHASEHOST_TEST_PG_PASSWORD");
            doc["store"]["postgres"] = toml_edit::Item::Table(pg);
            // The bench connects as the server's superuser: grant_probe must
            // be told that its extra rights are expected.
            let mut extra = toml_edit::Array::new();
            for right in [
                "documents:u",
                "documents:d",
                "envelopes:u",
                "envelopes:d",
                "source_versions:d",
                "units:d",
            ] {
                extra.push(right);
            }
            for table in doc["phases"].as_array_of_tables_mut().unwrap().iter_mut() {
                if table["name"].as_str() == Some("grant_probe") {
                    table["config"]["allow_extra"] = toml_edit::value(extra.clone());
                }
            }
        }
    }
    doc["kb"]["path"] = toml_edit::value("kb");
    let mut keys = toml_edit::Array::new();
    keys.push("keys/bench.pub");
    doc["approvals"]["trusted_keys"] = toml_edit::value(keys);
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
    // The corpus holds one real U+200E (luat-quan-ly-thue.txt, line 236),
    // which the bundled plan stops at; the benches measure the whole corpus.
    for table in doc["phases"].as_array_of_tables_mut().unwrap().iter_mut() {
        if table["name"].as_str() == Some("cutplan") {
            table["config"]["allow_bidi_controls"] = toml_edit::value(true);
        }
    }
    for section in ["gates", "phases"] {
        for table in doc[section].as_array_of_tables_mut().unwrap().iter_mut() {
            let crate_name = table["name"].as_str().unwrap().replace('_', "-");
            let path = ALL_PLUGINS
                .iter()
                .find(|(n, _)| *n == crate_name)
                .unwrap()
                .1;
            table["component"] = toml_edit::value(path);
            table["sha256"] =
                toml_edit::value(phasehost::digest::sha256_hex(&std::fs::read(path).unwrap()));
        }
    }
    let path = dir.join("iu-cut.toml");
    std::fs::write(&path, doc.to_string()).unwrap();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    phasehost_policy::approval::write_key_files(&dir.join("keys"), "bench").unwrap();
    std::fs::write(
        dir.join("host.toml"),
        "[execution]\nenabled = true\n\n[runtime]\ncache_dir = \"cache\"\n",
    )
    .unwrap();
    path
}

/// One live run of `source` in this process, every gate approved.
pub fn run_approving(dir: &Path, plan: &Path, source: &Path) -> Outcome {
    let report = phasehost::run::start(&phasehost::run::StartRequest {
        plan: plan.to_path_buf(),
        source: source.to_path_buf(),
        live: true,
        host_config: Some(dir.join("host.toml")),
        as_key: None,
    })
    .unwrap();
    let folder = report.folder.unwrap();
    let mut outcome = report.outcome;
    while let Outcome::Paused { gate, .. } = outcome {
        phasehost::run::approve(&phasehost::run::ApproveRequest {
            run_folder: folder.clone(),
            gate,
            key_file: dir.join("keys/bench.key"),
            plan: plan.to_path_buf(),
        })
        .unwrap();
        outcome = phasehost::run::resume(&phasehost::run::ResumeRequest {
            run_folder: folder.clone(),
            plan: plan.to_path_buf(),
            host_config: Some(dir.join("host.toml")),
            as_key: None,
        })
        .unwrap()
        .outcome;
    }
    outcome
}

/// The corpus files, sorted.
pub fn corpus_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/vlc");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
}
