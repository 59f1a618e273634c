//! Durability at the points that matter: inside a run the KB documents are
//! written atomically but not fsynced one by one; one barrier (the store's
//! commits, then the KB files, the state last) runs at every way out of
//! `start` and `resume` — a pause, a completion, every stop, the early ones
//! included — and a barrier that fails is a `kb-write-failed` stop, never a
//! reported result. What a power loss between barriers can leave (a KB
//! older or newer than the store, an empty evidence file) is refused on
//! resume, never used.

use crate::iu_cut::IuCut;
use crate::support::corpus;
use phasehost::StopCode;
use phasehost::fsutil::SyncCounts;
use phasehost::run::state::{RunState, Status};
use phasehost::run::{self, Outcome, ResumeRequest, RunHooks, RunReport, StartRequest};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The barriers one call made, as its hook saw them.
#[derive(Clone, Default)]
struct Barriers(Arc<Mutex<Vec<SyncCounts>>>);

impl Barriers {
    fn hooks<'a>(&self) -> RunHooks<'a> {
        let seen = self.0.clone();
        RunHooks {
            after_barrier: Some(Box::new(move |synced| seen.lock().unwrap().push(synced))),
            ..RunHooks::default()
        }
    }

    /// Exactly one barrier since the last call, and it synced something.
    fn assert_one(&self, what: &str) {
        let seen = std::mem::take(&mut *self.0.lock().unwrap());
        assert_eq!(seen.len(), 1, "{what}: one barrier, got {seen:?}");
        assert!(seen[0].files > 0, "{what}: it synced the run's files");
    }
}

fn start_request(iu: &IuCut) -> StartRequest {
    StartRequest {
        plan: iu.plan.clone(),
        source: corpus("luat-quy-dinh-quyen-tu-do-hoi-hop.txt"),
        live: true,
        host_config: Some(iu.host_config.clone()),
        as_key: None,
    }
}

fn resume_request(iu: &IuCut, folder: &Path, host_config: &Path) -> ResumeRequest {
    ResumeRequest {
        run_folder: folder.to_path_buf(),
        plan: iu.plan.clone(),
        host_config: Some(host_config.to_path_buf()),
        as_key: None,
    }
}

fn stopped(report: &RunReport, code: StopCode) {
    match &report.outcome {
        Outcome::Stopped(stop) => assert_eq!(stop.code, code, "{stop}"),
        other => panic!("expected a {code} stop, got {other:?}"),
    }
}

#[test]
fn the_barrier_runs_at_the_pauses_and_at_completion() {
    let iu = IuCut::new(|_| {});
    let barriers = Barriers::default();
    let report = run::start_with(&start_request(&iu), barriers.hooks()).unwrap();
    assert!(matches!(report.outcome, Outcome::Paused { .. }));
    barriers.assert_one("start, paused at sg1");
    let folder = report.folder.unwrap();
    for (gate, what) in [
        (crate::support::sg1(), "resume, paused at sg2"),
        (crate::support::sg2(), "resume, completed"),
    ] {
        crate::support::approve(&folder, gate, &iu.key, &iu.plan).unwrap();
        let resumed = run::resume_hooked(
            &resume_request(&iu, &folder, &iu.host_config),
            barriers.hooks(),
        )
        .unwrap();
        barriers.assert_one(what);
        if what.ends_with("completed") {
            assert_eq!(resumed.outcome, Outcome::Completed);
        }
    }
}

#[test]
fn the_barrier_runs_at_a_stop_in_a_phase() {
    let iu = IuCut::new(|_| {});
    let barriers = Barriers::default();
    let kill_file = iu.dir.path().join("kb/KILL");
    let mut hooks = barriers.hooks();
    hooks.before_commit = Some(Box::new(move |phase: &str| {
        if phase == "mark" {
            std::fs::write(&kill_file, b"stop").unwrap();
        }
    }));
    let report = run::start_with(&start_request(&iu), hooks).unwrap();
    stopped(&report, StopCode::KillSwitch);
    barriers.assert_one("a kill-switch stop in a phase");
}

#[test]
fn the_barrier_runs_at_a_stop_before_any_phase() {
    let iu = IuCut::new(|_| {});
    let barriers = Barriers::default();
    let mut refuse = |_: &str| {
        Err(phasehost::Stop::new(
            StopCode::QueueEntryRefused,
            "the queue said no",
        ))
    };
    let mut hooks = barriers.hooks();
    hooks.on_created = Some(&mut refuse);
    let report = run::start_with(&start_request(&iu), hooks).unwrap();
    stopped(&report, StopCode::QueueEntryRefused);
    barriers.assert_one("a stop before the runner exists");
}

#[test]
fn the_barrier_runs_at_the_stops_of_a_resume() {
    let iu = IuCut::new(|_| {});
    let report = run::start(&start_request(&iu)).unwrap();
    let folder = report.folder.unwrap();
    let barriers = Barriers::default();
    // Refused by its checks (execution switched off since): a stop.json.
    let off = iu.dir.path().join("off.toml");
    std::fs::write(&off, "[execution]\nenabled = false\n").unwrap();
    let report = run::resume_hooked(&resume_request(&iu, &folder, &off), barriers.hooks()).unwrap();
    stopped(&report, StopCode::ExecutionDisabled);
    barriers.assert_one("a resume refused by its checks");
    // A state file that cannot be read: the stop document only.
    let report = run::start(&start_request(&iu));
    let folder = report.unwrap().folder.unwrap();
    std::fs::write(folder.join("state.json"), b"").unwrap();
    let err = run::resume_hooked(
        &resume_request(&iu, &folder, &iu.host_config),
        barriers.hooks(),
    )
    .unwrap_err();
    assert_eq!(err.code, StopCode::CorruptState, "{err}");
    barriers.assert_one("a resume of an unreadable state");
}

#[test]
fn a_barrier_that_cannot_sync_a_written_file_is_a_kb_write_failed_stop() {
    let iu = IuCut::new(|_| {});
    // The evidence of `mark` goes away after it was written (a disk that
    // lost it): the barrier at the pause cannot make it durable.
    let evidence = Arc::new(Mutex::new(None::<PathBuf>));
    let runs = iu.dir.path().join("kb/runs");
    let mut hooks = RunHooks::default();
    let seen = evidence.clone();
    hooks.before_commit = Some(Box::new(move |phase: &str| {
        if phase == "mark" {
            let run = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap();
            let file = run.path().join("evidence/02-mark.json");
            std::fs::remove_file(&file).unwrap();
            *seen.lock().unwrap() = Some(file);
        }
    }));
    let report = run::start_with(&start_request(&iu), hooks).unwrap();
    stopped(&report, StopCode::KbWriteFailed);
    let Outcome::Stopped(stop) = &report.outcome else {
        unreachable!()
    };
    assert!(stop.message.contains("02-mark.json"), "{stop}");
    assert!(stop.message.contains("paused at sg1"), "{stop}");
    let folder = report.folder.unwrap();
    let state = RunState::load(&folder).unwrap();
    assert!(
        matches!(
            state.status,
            Status::Stopped {
                code: StopCode::KbWriteFailed,
                ..
            }
        ),
        "{:?}",
        state.status
    );
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("stop.json")).unwrap()).unwrap();
    assert_eq!(written["code"], "kb-write-failed");
    assert!(evidence.lock().unwrap().is_some());
}

/// Regular files (not symlinks) and folders under `dir`, as
/// `make_all_durable` walks them: the folder itself, files at any of its
/// four levels, subfolders down to the fourth, never through a symlink.
fn tree_counts(dir: &Path, depth: usize) -> SyncCounts {
    let mut counts = SyncCounts {
        files: 0,
        folders: 1,
    };
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_file() {
            counts.files += 1;
        } else if kind.is_dir() && depth < 3 {
            let below = tree_counts(&entry.path(), depth + 1);
            counts.files += below.files;
            counts.folders += below.folders;
        }
    }
    counts
}

/// A run another process finished is made durable whole before a worker
/// reports it again (`RunFolder::make_all_durable`): every file and folder
/// of the run, and nothing a symlink in it points to.
#[test]
fn a_run_made_durable_whole_syncs_its_tree_and_follows_no_symlink() {
    let iu = IuCut::new(|_| {});
    let report = run::start_with(&start_request(&iu), RunHooks::default()).unwrap();
    assert!(matches!(report.outcome, Outcome::Paused { .. }));
    let folder = report.folder.unwrap();
    let outside = iu.dir.path().join("outside");
    std::fs::create_dir_all(outside.join("deeper")).unwrap();
    std::fs::write(outside.join("a.json"), "{}").unwrap();
    std::fs::write(outside.join("deeper/b.json"), "{}").unwrap();
    std::os::unix::fs::symlink(&outside, folder.join("evidence/linked-folder")).unwrap();
    std::os::unix::fs::symlink(outside.join("a.json"), folder.join("evidence/linked.json"))
        .unwrap();

    let synced = run::RunFolder::open(&folder)
        .unwrap()
        .make_all_durable()
        .unwrap();
    let expected = tree_counts(&folder, 0);
    assert_eq!(
        (synced.files, synced.folders),
        (expected.files, expected.folders),
        "every regular file and folder of the run, nothing behind the links"
    );
    assert!(expected.files > 5 && expected.folders > 2, "{expected:?}");
}
