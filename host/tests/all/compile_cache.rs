//! The compile cache holds native code, so it is attacked here: entries
//! swapped between components, forged records, a cache folder others can
//! write or that is a symlink, a plan that tries to choose the folder.

use crate::support::*;
use phasehost::StopCode;
use phasehost::plan::{PlanError, load_plan};
use phasehost::run::{self, StartRequest};
use phasehost::runtime::{CacheOutcome, LoadedGate, RejectedEntry, Runtime};
use phasehost_test_artifacts::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A plan with two gate plugins whose predicates tell them apart: `iu`
/// (iu-gates: G-…) and `test` (test-gates: T-…).
fn two_gates() -> phasehost::plan::Plan {
    TestPlan::write(
        &[("iu", IU_GATES_COMPONENT), ("test", TEST_GATES_COMPONENT)],
        &[PhaseDef::new("alpha", TEST_PROBE_COMPONENT)],
        "",
    )
    .load()
}

/// A private cache folder with both gates compiled into it.
fn warm_cache(plan: &phasehost::plan::Plan) -> TempDir {
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(cache.path()).unwrap();
    for gate in &plan.gates {
        let loaded = runtime.load_gate(plan, gate).unwrap();
        assert_eq!(loaded.info().cache, CacheOutcome::Compiled);
    }
    cache
}

/// The cache entry (`.cwasm`) of `component` in `cache`.
fn entry_of(cache: &Path, component: &str) -> PathBuf {
    let sha = sha256_file(component);
    let mut found = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with(&sha) && name.ends_with(".cwasm")
        });
    let entry = found.next().expect("the component has a cache entry");
    assert!(found.next().is_none());
    entry
}

fn record_of(entry: &Path) -> PathBuf {
    PathBuf::from(format!("{}.record", entry.display()))
}

/// Load gate `iu` from `cache` in a fresh runtime (nothing in memory).
fn load_iu(cache: &Path, plan: &phasehost::plan::Plan) -> LoadedGate {
    Runtime::new(cache)
        .unwrap()
        .load_gate(plan, &plan.gates[0])
        .unwrap()
}

fn is_iu_gates(gate: &LoadedGate) -> bool {
    let names: Vec<&str> = gate.predicates().iter().map(|p| p.name.as_str()).collect();
    names.contains(&"G-SOURCE-SHA-PINNED") && !names.iter().any(|n| n.starts_with("T-"))
}

#[test]
fn a_verified_entry_is_a_hit() {
    let plan = two_gates();
    let cache = warm_cache(&plan);
    let gate = load_iu(cache.path(), &plan);
    assert_eq!(gate.info().cache, CacheOutcome::Hit);
    assert!(is_iu_gates(&gate));
    let mode = std::fs::metadata(record_of(&entry_of(cache.path(), IU_GATES_COMPONENT)))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "records are private");
}

/// The finding: another component's compiled code under this component's
/// name ran in its place. Now the entry's bytes are checked against the
/// record the host wrote, so the swap is caught and the real component is
/// compiled from its pinned bytes.
#[test]
fn an_entry_swapped_for_another_components_is_recompiled_not_run() {
    let plan = two_gates();
    let cache = warm_cache(&plan);
    let iu_entry = entry_of(cache.path(), IU_GATES_COMPONENT);
    let test_entry = entry_of(cache.path(), TEST_GATES_COMPONENT);
    std::fs::copy(&test_entry, &iu_entry).unwrap();

    let gate = load_iu(cache.path(), &plan);
    assert!(
        is_iu_gates(&gate),
        "the loaded code is iu-gates', not the swapped-in test-gates': {:?}",
        gate.predicates()
    );
    assert_eq!(
        gate.info().cache,
        CacheOutcome::Recompiled {
            reason: RejectedEntry::DigestMismatch
        }
    );
    // The bad entry was replaced: the next start is a hit on iu-gates' code.
    assert_ne!(
        std::fs::read(&iu_entry).unwrap(),
        std::fs::read(&test_entry).unwrap()
    );
    let again = load_iu(cache.path(), &plan);
    assert_eq!(again.info().cache, CacheOutcome::Hit);
    assert!(is_iu_gates(&again));
}

/// Copying the other component's record along with its entry does not help:
/// a record names the component and engine it was written for.
#[test]
fn an_entry_swapped_with_its_record_is_recompiled_not_run() {
    let plan = two_gates();
    let cache = warm_cache(&plan);
    let iu_entry = entry_of(cache.path(), IU_GATES_COMPONENT);
    let test_entry = entry_of(cache.path(), TEST_GATES_COMPONENT);
    std::fs::copy(&test_entry, &iu_entry).unwrap();
    std::fs::copy(record_of(&test_entry), record_of(&iu_entry)).unwrap();

    let gate = load_iu(cache.path(), &plan);
    assert!(is_iu_gates(&gate), "{:?}", gate.predicates());
    assert_eq!(
        gate.info().cache,
        CacheOutcome::Recompiled {
            reason: RejectedEntry::BadRecord
        }
    );
}

/// An entry without a record (an older host's, or planted) is never loaded.
#[test]
fn an_entry_without_a_record_is_recompiled_not_run() {
    let plan = two_gates();
    let cache = warm_cache(&plan);
    let iu_entry = entry_of(cache.path(), IU_GATES_COMPONENT);
    std::fs::copy(entry_of(cache.path(), TEST_GATES_COMPONENT), &iu_entry).unwrap();
    std::fs::remove_file(record_of(&iu_entry)).unwrap();

    let gate = load_iu(cache.path(), &plan);
    assert!(is_iu_gates(&gate), "{:?}", gate.predicates());
    assert_eq!(
        gate.info().cache,
        CacheOutcome::Recompiled {
            reason: RejectedEntry::NoRecord
        }
    );
    assert!(record_of(&iu_entry).is_file(), "the record is written anew");
}

/// A record that does not parse is not trusted either.
#[test]
fn a_malformed_record_is_not_trusted() {
    let plan = two_gates();
    let cache = warm_cache(&plan);
    let iu_entry = entry_of(cache.path(), IU_GATES_COMPONENT);
    std::fs::copy(entry_of(cache.path(), TEST_GATES_COMPONENT), &iu_entry).unwrap();
    std::fs::write(record_of(&iu_entry), "{ not json").unwrap();

    let gate = load_iu(cache.path(), &plan);
    assert!(is_iu_gates(&gate), "{:?}", gate.predicates());
    assert_eq!(
        gate.info().cache,
        CacheOutcome::Recompiled {
            reason: RejectedEntry::BadRecord
        }
    );
}

/// Garbage under a forged record whose digest matches it: the record check
/// passes, wasmtime refuses the bytes, and the component is recompiled.
///
/// The records are no defense against whoever can write the cache folder:
/// such an attacker can forge a matching record for a *valid* foreign
/// `.cwasm` (or hand-made native code) just as this test forges one for
/// garbage, and that entry would load. What keeps that attacker out is the
/// folder check (`a_cache_folder_others_may_write_is_refused`, …): the folder
/// must be this user's own, writable by nobody else, and not a symlink.
#[test]
fn garbage_under_a_forged_record_is_not_loaded() {
    let plan = two_gates();
    let cache = warm_cache(&plan);
    let iu_entry = entry_of(cache.path(), IU_GATES_COMPONENT);
    let garbage = b"\x7fELF this is not what Component::serialize wrote".to_vec();
    std::fs::write(&iu_entry, &garbage).unwrap();
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(record_of(&iu_entry)).unwrap()).unwrap();
    record["cwasm_blake3"] = blake3::hash(&garbage).to_hex().to_string().into();
    std::fs::write(record_of(&iu_entry), record.to_string()).unwrap();

    let gate = load_iu(cache.path(), &plan);
    assert!(is_iu_gates(&gate));
    assert_eq!(
        gate.info().cache,
        CacheOutcome::Recompiled {
            reason: RejectedEntry::Undeserializable
        }
    );
}

fn refusal(dir: &Path) -> String {
    match Runtime::new(dir) {
        Ok(_) => panic!("{} was accepted as a cache folder", dir.display()),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn a_cache_folder_others_may_write_is_refused() {
    let parent = tempfile::tempdir().unwrap();
    for mode in [0o777, 0o770, 0o702] {
        let dir = parent.path().join(format!("cache-{mode:o}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = refusal(&dir);
        assert!(err.contains("writable by group or others"), "{err}");
        assert!(err.contains(&format!("{mode:04o}")), "{err}");
    }
    let fine = parent.path().join("cache-755");
    std::fs::create_dir(&fine).unwrap();
    std::fs::set_permissions(&fine, std::fs::Permissions::from_mode(0o755)).unwrap();
    Runtime::new(&fine).expect("a folder only its owner may write is fine");
}

#[test]
fn a_symlinked_cache_folder_is_refused() {
    let parent = tempfile::tempdir().unwrap();
    let real = parent.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
    let link = parent.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let err = refusal(&link);
    assert!(err.contains("is a symlink"), "{err}");
    Runtime::new(&real).expect("the real folder is fine");
}

#[test]
fn a_cache_folder_of_another_user_is_refused() {
    if phasehost::runtime::cache::effective_uid() != 0 {
        eprintln!("skipped: only root can give a folder to another user");
        return;
    }
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("theirs");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
    let err = refusal(&dir);
    assert!(err.contains("owned by uid 65534"), "{err}");
}

#[test]
fn a_missing_cache_folder_is_created_private() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("a/b/cache");
    Runtime::new(&dir).unwrap();
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
}

#[test]
fn a_plan_cannot_choose_the_cache_folder() {
    let plan = TestPlan::write(
        &[],
        &[PhaseDef::new("alpha", TEST_PROBE_COMPONENT)],
        "[runtime]\ncache_dir = \"/tmp/anything\"\n",
    );
    let err = load_plan(&plan.path).unwrap_err();
    assert!(matches!(err, PlanError::Invalid { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("host config"), "{text}");
    assert!(text.contains("[runtime] cache_dir"), "{text}");
}

/// `phasehost check --host-config`: the cache folder is the host config's,
/// and one others may write stops the command with `internal`.
#[test]
fn check_uses_the_host_configs_cache_folder_and_refuses_an_open_one() {
    let plan = TestPlan::write(
        &[("iu", IU_GATES_COMPONENT)],
        &[PhaseDef::new("source_pin", SOURCE_PIN_COMPONENT).grants(SOURCE_PIN_GRANTS)],
        "",
    );
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().join("host.toml");
    std::fs::write(&host, "[runtime]\ncache_dir = \"cache\"\n").unwrap();
    let check = || {
        crate::support::phasehost_command()
            .args(["check", plan.path.to_str().unwrap(), "--host-config"])
            .arg(&host)
            .output()
            .unwrap()
    };
    let out = check();
    assert!(out.status.success(), "{out:?}");
    entry_of(&dir.path().join("cache"), IU_GATES_COMPONENT);

    std::fs::set_permissions(
        dir.path().join("cache"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    let out = check();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(StopCode::Internal.exit_status()),
        "{stderr}"
    );
    assert!(stderr.contains("writable by group or others"), "{stderr}");
}

/// At run time an unsafe cache folder stops the run with `internal`.
#[test]
fn a_run_with_an_open_cache_folder_stops() {
    let plan = TestPlan::write(
        &[],
        &[PhaseDef::new("alpha", TEST_PROBE_COMPONENT)],
        "[store]\nsqlite = \"store.sqlite\"\n",
    );
    let cache = plan.dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let host = plan.dir.path().join("host.toml");
    std::fs::write(&host, "[runtime]\ncache_dir = \"cache\"\n").unwrap();
    let source = plan.dir.path().join("doc.txt");
    std::fs::write(&source, "Điều 1. Một văn bản thử.\n").unwrap();
    let stop = match run::start(&StartRequest {
        plan: plan.path.clone(),
        source,
        live: false,
        host_config: Some(host),
        as_key: None,
    }) {
        Err(stop) => stop,
        Ok(report) => match report.outcome {
            run::Outcome::Stopped(stop) => stop,
            other => panic!("the run went on: {other:?}"),
        },
    };
    assert_eq!(stop.code, StopCode::Internal, "{stop}");
    assert!(
        stop.message.contains("writable by group or others"),
        "{stop}"
    );
}
