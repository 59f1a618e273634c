//! Workers over the PostgreSQL queue: `phasehost batch` fills it, any number
//! of `phasehost worker` processes drain it; each document is cut once, a
//! killed worker's document is taken over with nothing duplicated or lost,
//! and approvals release one document at a time.

use crate::batch::queue;
use crate::corpus::{EXPECTED_STOPS, FILES_CUT, assert_corpus_units, corpus_files};
use crate::iu_cut::{EXACT, IuCut, evidence};
use crate::support::{corpus, grep_tree, phasehost_command};
use phasehost::run::state::{RunState, Status};
use phasehost::run::worker;
use phasehost::store::QueueEntry;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

/// `phasehost batch <queue>` on a PostgreSQL plan: enqueues.
fn enqueue(iu: &IuCut, sources: &[PathBuf]) -> Output {
    let path = queue(iu, sources);
    phasehost_command()
        .args(["batch", path.to_str().unwrap()])
        .output()
        .unwrap()
}

/// A worker process; `extra` are more flags.
fn spawn_worker(iu: &IuCut, extra: &[&str]) -> Child {
    phasehost_command()
        .arg("worker")
        .arg(&iu.plan)
        .arg("--host-config")
        .arg(&iu.host_config)
        .args(["--live", "--json", "--poll-ms", "100"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Run `n` workers until the queue is idle; their outputs.
fn drain(iu: &IuCut, n: usize, extra: &[&str]) -> Vec<Output> {
    let mut args = vec!["--until-idle"];
    args.extend_from_slice(extra);
    let children: Vec<Child> = (0..n).map(|_| spawn_worker(iu, &args)).collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "worker failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out
        })
        .collect()
}

fn entries(iu: &IuCut) -> Vec<QueueEntry> {
    worker::queue_status(&iu.plan).unwrap().1
}

fn run_folder(iu: &IuCut, run_id: &str) -> PathBuf {
    iu.dir.path().join("kb/runs").join(run_id)
}

/// As the operator: approve every document waiting in the queue. Returns how many.
fn approve_waiting(iu: &IuCut) -> usize {
    let mut approved = 0;
    for entry in entries(iu).iter().filter(|e| e.state == "waiting") {
        let gate = match entry.waiting_gate.as_deref() {
            Some("sg1") => crate::support::sg1(),
            Some("sg2") => crate::support::sg2(),
            other => panic!("waiting at {other:?}"),
        };
        crate::support::approve(
            &run_folder(iu, entry.run_id.as_ref().unwrap()),
            gate,
            &iu.key,
            &iu.plan,
        )
        .unwrap();
        approved += 1;
    }
    approved
}

fn json_lines(outputs: &[Output]) -> Vec<serde_json::Value> {
    outputs
        .iter()
        .flat_map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .into_owned()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect()
}

#[test]
fn four_worker_processes_cut_the_whole_corpus_each_document_once() {
    let iu = IuCut::postgres_role("worker", EXACT, |_| {});
    let files = corpus_files();
    let queued = enqueue(&iu, &files);
    assert!(
        queued.status.success(),
        "{}",
        String::from_utf8_lossy(&queued.stderr)
    );
    let mut outputs = Vec::new();
    // Workers run to the next approval; the operator approves; again.
    for round in 0..3 {
        outputs.extend(drain(&iu, 4, &[]));
        let approved = approve_waiting(&iu);
        // The files that stop (EXPECTED_STOPS) do so before SG_1.
        let expected = if round < 2 { FILES_CUT } else { 0 };
        assert_eq!(approved, expected, "round {round}");
    }
    let entries = entries(&iu);
    assert_eq!(entries.len(), 110);
    let mut failed = Vec::new();
    for entry in &entries {
        match entry.state.as_str() {
            "done" => {
                let state =
                    RunState::load(&run_folder(&iu, entry.run_id.as_ref().unwrap())).unwrap();
                assert_eq!(state.status, Status::Completed, "{}", entry.document_id);
            }
            "failed" => failed.push(entry.document_id.clone()),
            other => panic!("{}: {other}", entry.document_id),
        }
    }
    let expected_failed: Vec<String> = EXPECTED_STOPS
        .iter()
        .map(|(name, code)| {
            let id = name.trim_end_matches(".txt").to_string();
            let entry = entries.iter().find(|e| e.document_id == id).unwrap();
            assert!(
                entry
                    .last_error
                    .as_deref()
                    .unwrap()
                    .starts_with(code.as_str()),
                "{entry:?}"
            );
            id
        })
        .collect();
    assert_eq!(failed, expected_failed);
    // Exactly once: one run folder per document, one completion per document.
    let mut runs_per_document: BTreeMap<String, usize> = BTreeMap::new();
    for folder in std::fs::read_dir(iu.dir.path().join("kb/runs")).unwrap() {
        let state = RunState::load(&folder.unwrap().path()).unwrap();
        *runs_per_document.entry(state.document_id).or_default() += 1;
    }
    assert_eq!(runs_per_document.len(), 110);
    assert!(
        runs_per_document.values().all(|&n| n == 1),
        "{runs_per_document:?}"
    );
    let lines = json_lines(&outputs);
    let completed: Vec<&str> = lines
        .iter()
        .filter(|l| l["outcome"]["status"] == "completed")
        .map(|l| l["document_id"].as_str().unwrap())
        .collect();
    assert_eq!(completed.len(), FILES_CUT);
    assert_eq!(completed.iter().collect::<BTreeSet<_>>().len(), FILES_CUT);
    let workers: BTreeSet<&str> = lines
        .iter()
        .map(|l| l["worker"].as_str().unwrap())
        .collect();
    assert!(workers.len() >= 2, "the work was shared: {workers:?}");
    // The same units as the single-process run, none twice.
    assert_corpus_units(&iu);
    // The password never shows.
    let password = crate::pg::PASSWORD;
    for out in &outputs {
        assert!(!String::from_utf8_lossy(&out.stdout).contains(password));
        assert!(!String::from_utf8_lossy(&out.stderr).contains(password));
    }
    assert!(grep_tree(iu.dir.path(), password).is_empty());
}

/// Wait until `done()` or panic after a minute.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_killed_worker_s_document_is_taken_over_with_nothing_duplicated_or_lost() {
    let iu = IuCut::postgres_role("worker", EXACT, |_| {});
    let schema = iu.pg_schema.clone().unwrap();
    assert!(enqueue(&iu, &[corpus("hien-phap.txt")]).status.success());
    drain(&iu, 1, &[]);
    let entry = entries(&iu).remove(0);
    assert_eq!(entry.state, "waiting", "{entry:?}");
    let run_id = entry.run_id.clone().unwrap();
    let folder = run_folder(&iu, &run_id);
    // Hold leg_b_record's table so the worker is stuck inside that phase,
    // after cut_leg_a and structural_verify committed.
    let mut blocker = crate::pg::client();
    blocker
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE {schema}.envelopes IN SHARE MODE"
        ))
        .unwrap();
    crate::support::approve(&folder, crate::support::sg1(), &iu.key, &iu.plan).unwrap();
    let mut victim = spawn_worker(&iu, &["--lease-secs", "2"]);
    let leg_b = 7;
    wait_for("the worker to reach leg_b_record", || {
        RunState::load(&folder).is_ok_and(|s| s.next_phase == leg_b && s.status == Status::Running)
    });
    let mut watcher = crate::pg::client();
    wait_for("the worker to block on the envelopes lock", || {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE NOT l.granted AND n.nspname = $1",
                &[&schema],
            )
            .unwrap()
            .get(0);
        waiting > 0
    });
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    blocker.batch_execute("ROLLBACK").unwrap();
    let units = iu.query("SELECT count(*) FROM units");
    assert!(units > 0, "cut_leg_a had committed");
    // Another worker takes the document over once the lease expires.
    let takeover = drain(&iu, 1, &["--lease-secs", "2"]);
    let entry = entries(&iu).remove(0);
    assert_eq!(
        (entry.state.as_str(), entry.waiting_gate.as_deref()),
        ("waiting", Some("sg2"))
    );
    assert_eq!(
        entry.run_id.as_deref(),
        Some(run_id.as_str()),
        "the same run went on"
    );
    crate::support::approve(&folder, crate::support::sg2(), &iu.key, &iu.plan).unwrap();
    let finish = drain(&iu, 1, &[]);
    let entry = entries(&iu).remove(0);
    assert_eq!(entry.state, "done");
    assert_eq!(
        entry.attempts, 4,
        "start, killed resume, takeover, after SG_2"
    );
    assert_eq!(RunState::load(&folder).unwrap().status, Status::Completed);
    assert_eq!(
        std::fs::read_dir(iu.dir.path().join("kb/runs"))
            .unwrap()
            .count(),
        1
    );
    // Nothing lost, nothing twice: every planned unit once, one envelope each.
    let planned = evidence(&folder, "cut_leg_a")["units_planned"]
        .as_i64()
        .unwrap();
    assert_eq!(units, planned);
    assert_eq!(iu.query("SELECT count(*) FROM units"), planned);
    assert_eq!(iu.query("SELECT count(*) FROM envelopes"), planned);
    assert_eq!(
        iu.query("SELECT count(*) FROM (SELECT eid FROM units GROUP BY document_id, eid HAVING count(*) > 1) d"),
        0
    );
    let lines = json_lines(&[takeover, finish].concat());
    assert!(lines.iter().any(|l| l["outcome"]["status"] == "completed"));
}

#[test]
fn approving_one_queued_document_releases_no_other() {
    let iu = IuCut::postgres_role("worker", EXACT, |_| {});
    let sources = [corpus("hien-phap.txt"), corpus("luat-bao-chi.txt")];
    assert!(enqueue(&iu, &sources).status.success());
    drain(&iu, 1, &[]);
    let before = entries(&iu);
    assert!(
        before
            .iter()
            .all(|e| e.state == "waiting" && e.waiting_gate.as_deref() == Some("sg1"))
    );
    // The operator's command, as the README and `phasehost queue` say.
    let first = &before[0];
    let approved = phasehost_command()
        .arg("approve")
        .arg(run_folder(&iu, first.run_id.as_ref().unwrap()))
        .args(["--gate", "sg1", "--key"])
        .arg(&iu.key)
        .arg("--plan")
        .arg(&iu.plan)
        .output()
        .unwrap();
    assert!(approved.status.success(), "{approved:?}");
    let said = String::from_utf8_lossy(&approved.stdout);
    assert!(said.contains("a `phasehost worker` resumes it"), "{said}");
    let listed = phasehost_command()
        .arg("queue")
        .arg(&iu.plan)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("pending 1") && listed.contains("waiting 1"),
        "{listed}"
    );
    assert!(listed.contains("phasehost approve"), "{listed}");
    let after = entries(&iu);
    assert_eq!(after[0].state, "pending");
    assert_eq!(
        (after[1].state.as_str(), after[1].waiting_gate.as_deref()),
        ("waiting", Some("sg1"))
    );
    drain(&iu, 1, &[]);
    let after = entries(&iu);
    assert_eq!(after[0].waiting_gate.as_deref(), Some("sg2"));
    assert_eq!(after[1].waiting_gate.as_deref(), Some("sg1"));
}

#[test]
fn a_document_already_queued_is_refused_and_nothing_is_queued() {
    let iu = IuCut::postgres_role("worker", EXACT, |_| {});
    assert!(enqueue(&iu, &[corpus("hien-phap.txt")]).status.success());
    let again = enqueue(&iu, &[corpus("luat-bao-chi.txt"), corpus("hien-phap.txt")]);
    assert_eq!(
        again.status.code(),
        Some(phasehost::StopCode::DuplicateDocument.exit_status())
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("hien-phap"));
    let ids: Vec<String> = entries(&iu).into_iter().map(|e| e.document_id).collect();
    assert_eq!(ids, ["hien-phap"]);
}

#[test]
fn a_worker_refuses_a_plan_whose_store_is_not_postgresql() {
    let iu = IuCut::new(|_| {});
    let out = phasehost_command()
        .arg("worker")
        .arg(&iu.plan)
        .args(["--until-idle", "--live"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(phasehost::StopCode::PlanInvalid.exit_status())
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("PostgreSQL"));
    assert!(!Path::new(&iu.dir.path().join("kb/runs")).exists());
}

#[test]
fn a_worker_without_live_is_refused_and_claims_nothing() {
    let iu = IuCut::postgres_role("worker", EXACT, |_| {});
    assert!(enqueue(&iu, &[corpus("hien-phap.txt")]).status.success());
    let out = phasehost_command()
        .arg("worker")
        .arg(&iu.plan)
        .args(["--until-idle", "--host-config"])
        .arg(&iu.host_config)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(phasehost::StopCode::ArgumentRefused.exit_status())
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--live"));
    let entry = entries(&iu).remove(0);
    assert_eq!((entry.state.as_str(), entry.attempts), ("pending", 0));
}

#[test]
fn the_kill_file_stops_a_worker_before_it_claims_anything() {
    let iu = IuCut::postgres_role("worker", EXACT, |_| {});
    assert!(enqueue(&iu, &[corpus("hien-phap.txt")]).status.success());
    std::fs::create_dir_all(iu.dir.path().join("kb")).unwrap();
    std::fs::write(iu.dir.path().join("kb/KILL"), "").unwrap();
    let out = spawn_worker(&iu, &["--until-idle"])
        .wait_with_output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(phasehost::StopCode::KillSwitch.exit_status())
    );
    let entry = entries(&iu).remove(0);
    assert_eq!((entry.state.as_str(), entry.attempts), ("pending", 0));
}

/// Finding 5 (trust boundaries): a queue row is data. A run id rewritten to
/// a path is refused with `queue-entry-refused` and nothing outside the
/// KB's runs folder is opened; an entry enqueued under another plan is
/// refused the same way, and the worker does not run that plan.
#[test]
fn a_worker_refuses_queue_rows_that_point_elsewhere_or_name_another_plan() {
    let iu = IuCut::postgres_role("hostile_queue", EXACT, |_| {});
    let queued = enqueue(&iu, &[corpus("hien-phap.txt"), corpus("luat-bao-chi.txt")]);
    assert!(queued.status.success(), "{queued:?}");
    let schema = iu.pg_schema.clone().unwrap();
    // A foreign "run folder" with a state file the attacker controls.
    let foreign = iu.dir.path().join("foreign");
    std::fs::create_dir_all(foreign.join("evidence")).unwrap();
    let mut db = crate::pg::client();
    db.execute(
        &format!(
            "UPDATE {schema}.queue SET run_id = '../../foreign' WHERE document_id = 'hien-phap'"
        ),
        &[],
    )
    .unwrap();
    db.execute(
        &format!(
            "UPDATE {schema}.queue SET plan_sha256 = repeat('0', 64) WHERE document_id = 'luat-bao-chi'"
        ),
        &[],
    )
    .unwrap();
    drain(&iu, 1, &[]);
    let entries = entries(&iu);
    for entry in &entries {
        assert_eq!(entry.state, "failed", "{entry:?}");
        let error = entry.last_error.as_deref().unwrap_or_default();
        assert!(error.starts_with("queue-entry-refused"), "{error}");
    }
    assert_eq!(iu.query("SELECT count(*) FROM units"), 0, "nothing ran");
    assert!(!foreign.join("state.json").exists());
    assert!(
        !iu.dir.path().join("kb/runs").exists()
            || std::fs::read_dir(iu.dir.path().join("kb/runs"))
                .unwrap()
                .next()
                .is_none(),
        "no run was started"
    );
}
