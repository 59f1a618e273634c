//! The operators' commands, library side: checking the runs index's hash
//! chain (`verify-index`), listing the run folders of a KB (`runs`) and
//! migrating the store's schema explicitly (`migrate`).

use super::state::{RunState, Status};
use super::{RunFolder, store_open};
use crate::plan::{Plan, load_plan};
use crate::stop::{Stop, StopCode};
use crate::store::{IndexCheck, StoreBackend};
use phasehost_policy::safe_dir::SafeDir;
use serde::Serialize;
use std::path::{Path, PathBuf};

fn plan_of(path: &Path) -> Result<Plan, Stop> {
    load_plan(path).map_err(|e| Stop::new(StopCode::PlanInvalid, e.to_string()))
}

fn store_of(plan: &Plan) -> Result<Box<dyn StoreBackend>, Stop> {
    store_open::open_backend(plan)?
        .ok_or_else(|| Stop::new(StopCode::PlanInvalid, "the plan names no store ([store])"))
}

fn store_failed(what: &str, e: impl std::fmt::Display) -> Stop {
    Stop::new(StopCode::StoreFailed, format!("{what}: {e}"))
}

/// Recompute the hash chain of the runs index of the plan's store.
pub fn check_index(plan: &Path) -> Result<IndexCheck, Stop> {
    let mut store = store_of(&plan_of(plan)?)?;
    store
        .check_index()
        .map_err(|e| store_failed("cannot read the runs index", e))
}

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migration {
    /// `sqlite` or `postgres`.
    pub store: &'static str,
    /// The schema version before (0: a new, empty schema).
    pub before: i64,
    /// The schema version after.
    pub after: i64,
    /// The version this phasehost migrates to.
    pub latest: i64,
    /// The plan's declared tables (`[[tables]]`), in plan order: created
    /// now, or found with the declared shape.
    pub tables: Vec<phasehost_store::declared::Declared>,
}

/// Connect to the plan's store, bringing its schema to the latest version
/// (the store migrates on connect, in one transaction; a schema already
/// there is left alone), then create the tables the plan declares that are
/// missing and check the others have the declared shape (one transaction;
/// a table of another shape is refused and left as it is).
pub fn migrate(plan: &Path) -> Result<Migration, Stop> {
    let plan = plan_of(plan)?;
    let mut store = store_open::open_undeclared(&plan)?
        .ok_or_else(|| Stop::new(StopCode::PlanInvalid, "the plan names no store ([store])"))?;
    let before = store.version_on_open();
    let after = store
        .schema_version()
        .map_err(|e| store_failed("cannot read the schema version", e))?;
    let tables = store_open::declare(&plan, store.as_mut(), true)?;
    Ok(Migration {
        store: store.kind(),
        before,
        after,
        latest: crate::store::SCHEMA_VERSION,
        tables,
    })
}

/// One run folder, as `runs` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// The folder's name (the run id).
    pub run: String,
    /// The folder.
    pub folder: PathBuf,
    /// The document id (none when the state is corrupt).
    pub document_id: Option<String>,
    /// The version label.
    pub version: Option<String>,
    /// `dry` or `live`.
    pub mode: Option<&'static str>,
    /// `paused`, `stopped`, `completed`, `running` or `corrupt`.
    pub status: &'static str,
    /// The gate a paused run waits at (`sg1`, `sg2`).
    pub gate: Option<String>,
    /// The stop code of a stopped run.
    pub code: Option<StopCode>,
    /// Seconds since the run started.
    pub age_secs: Option<u64>,
    /// For a paused run: the command to type next.
    pub next: Option<String>,
    /// For a corrupt one: why.
    pub problem: Option<String>,
}

/// The KB folder and the plan file (when one was given) of `target`, a KB
/// folder or a plan file.
pub fn kb_of(target: &Path) -> Result<(PathBuf, Option<PathBuf>), Stop> {
    let meta = std::fs::symlink_metadata(target).map_err(|e| {
        Stop::new(
            StopCode::PlanInvalid,
            format!("cannot read {}: {e}", target.display()),
        )
    })?;
    if meta.is_dir() {
        return Ok((target.to_path_buf(), None));
    }
    let plan = plan_of(target)?;
    Ok((plan.resolve(&plan.kb.path), Some(target.to_path_buf())))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The summary of entry `name` of `runs`, read from the `runs/` handle.
fn summarize(runs: &SafeDir, name: String, plan: Option<&Path>, now: u64) -> RunSummary {
    let folder = runs.shown(&name);
    let mut summary = RunSummary {
        folder: folder.clone(),
        run: name,
        document_id: None,
        version: None,
        mode: None,
        status: "corrupt",
        gate: None,
        code: None,
        age_secs: None,
        next: None,
        problem: None,
    };
    let state =
        match RunFolder::open_listed(runs, &summary.run).and_then(|f| RunState::load_in(f.dir())) {
            Ok(state) => state,
            Err(stop) => {
                summary.problem = Some(stop.message);
                return summary;
            }
        };
    summary.document_id = Some(state.document_id.clone());
    summary.version = Some(state.version.clone());
    summary.mode = Some(state.mode.as_str());
    summary.age_secs = Some(now.saturating_sub(state.started_at));
    summary.status = match &state.status {
        Status::Running => "running",
        Status::Completed => "completed",
        Status::Stopped { code, .. } => {
            summary.code = Some(*code);
            "stopped"
        }
        Status::Paused { gate, .. } => {
            summary.gate = Some(gate.to_string());
            let plan = plan.map_or_else(|| "<plan>".to_string(), |p| p.display().to_string());
            summary.next = Some(format!(
                "phasehost approve {} --gate {} --key <key-file> --plan {plan}",
                folder.display(),
                gate.as_str()
            ));
            "paused"
        }
    };
    summary
}

/// Every run folder under `<kb>/runs/`, by name; `waiting`: only the runs
/// paused at a gate. A folder whose state cannot be read (or that is a
/// symlink) is listed as `corrupt`; symlinks are never followed. `plan`
/// fills in the next command of paused runs.
pub fn list_runs(kb: &Path, plan: Option<&Path>, waiting: bool) -> Result<Vec<RunSummary>, Stop> {
    let runs = kb.join("runs");
    let dir = match SafeDir::open_trusted(kb).and_then(|kb| kb.subdir("runs")) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Stop::new(
                StopCode::CorruptState,
                format!("runs folder {}: {e}", runs.display()),
            ));
        }
        Ok(dir) => dir,
    };
    let unreadable = |e: std::io::Error| {
        Stop::new(
            StopCode::CorruptState,
            format!("cannot list {}: {e}", runs.display()),
        )
    };
    let mut names = Vec::new();
    for entry in dir.handle().entries().map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let kind = entry.file_type().map_err(unreadable)?;
        if kind.is_file() {
            continue;
        }
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    let now = now();
    Ok(names
        .into_iter()
        .map(|name| summarize(&dir, name, plan, now))
        .filter(|s| !waiting || s.status == "paused")
        .collect())
}

/// An age for people: `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn age_text(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_well() {
        assert_eq!(age_text(5), "5s");
        assert_eq!(age_text(125), "2m");
        assert_eq!(age_text(3 * 3600 + 300), "3h 5m");
        assert_eq!(age_text(2 * 86_400 + 4 * 3600), "2d 4h");
    }

    #[test]
    fn a_missing_runs_folder_is_no_runs_and_junk_is_corrupt() {
        let kb = tempfile::tempdir().unwrap();
        assert!(list_runs(kb.path(), None, false).unwrap().is_empty());
        std::fs::create_dir_all(kb.path().join("runs/junk")).unwrap();
        std::fs::write(kb.path().join("runs/notes.txt"), "x").unwrap();
        let runs = list_runs(kb.path(), None, false).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, "corrupt");
        assert!(list_runs(kb.path(), None, true).unwrap().is_empty());
    }
}
