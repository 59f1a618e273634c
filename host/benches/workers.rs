//! Corpus throughput over the store backends and the PostgreSQL queue (a
//! bench binary: `cargo bench -p phasehost --bench workers`), in one run:
//!
//! 1. one process, SQLite; 2. one process, PostgreSQL — each document
//!    started, approved and resumed in turn by this process;
//! 3. `phasehost worker` processes (1, 2 and 4) draining the PostgreSQL
//!    queue filled by `phasehost batch`, this process approving every
//!    waiting document between rounds, as an operator would.
//!
//! Every mode runs all 110 files live through both approvals; the time
//! includes the approvals. PostgreSQL is the test server
//! (`PHASEHOST_TEST_PG_URL`, default postgres://postgres@127.0.0.1:5432/test);
//! each mode gets a schema of its own, dropped at the end.

mod common;

use common::{BenchStore, bench_plan, corpus_files, run_approving};
use phasehost_policy::approval::Gate;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn pg_url() -> String {
    std::env::var("PHASEHOST_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn pg_units(schema: &str) -> i64 {
    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
    client
        .query_one(
            &format!("SELECT count(*) FROM {schema}.units WHERE status = 'in_force'"),
            &[],
        )
        .unwrap()
        .get(0)
}

fn drop_schema(schema: &str) {
    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
}

/// One process over every file; (time, documents completed).
fn single_process(dir: &Path, plan: &Path) -> (Duration, usize) {
    let started = Instant::now();
    let completed = corpus_files()
        .iter()
        .filter(|file| run_approving(dir, plan, file) == phasehost::run::Outcome::Completed)
        .count();
    (started.elapsed(), completed)
}

/// `workers` worker processes over the queue, approving between rounds;
/// (time, documents done).
fn with_workers(dir: &Path, plan: &Path, workers: usize) -> (Duration, u64) {
    let mut queue = format!("plan = {:?}\n", plan.display().to_string());
    for file in corpus_files() {
        queue.push_str(&format!(
            "[[documents]]\nsource = {:?}\n",
            file.display().to_string()
        ));
    }
    let queue_file = dir.join("queue.toml");
    std::fs::write(&queue_file, queue).unwrap();
    let started = Instant::now();
    let phasehost = env!("CARGO_BIN_EXE_phasehost");
    let enqueued = Command::new(phasehost)
        .arg("batch")
        .arg(&queue_file)
        .status()
        .unwrap();
    assert!(enqueued.success());
    loop {
        let children: Vec<_> = (0..workers)
            .map(|_| {
                Command::new(phasehost)
                    .arg("worker")
                    .arg(plan)
                    .arg("--host-config")
                    .arg(dir.join("host.toml"))
                    .args(["--live", "--until-idle", "--poll-ms", "50"])
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        let (counts, entries) = phasehost::run::worker::queue_status(plan).unwrap();
        let waiting: Vec<_> = entries.iter().filter(|e| e.state == "waiting").collect();
        if waiting.is_empty() {
            return (started.elapsed(), counts.done);
        }
        for entry in waiting {
            let gate = Gate::new(entry.waiting_gate.as_deref().unwrap()).unwrap();
            let folder = dir.join("kb/runs").join(entry.run_id.as_deref().unwrap());
            phasehost::run::approve(&phasehost::run::ApproveRequest {
                run_folder: folder,
                gate,
                key_file: dir.join("keys/bench.key"),
                plan: plan.to_path_buf(),
            })
            .unwrap();
        }
    }
}

fn main() {
    let root = tempfile::tempdir().unwrap();
    let stamp = format!("{}_{}", std::process::id(), rand_suffix());
    let url = pg_url();
    let mut rows: Vec<(String, Duration, u64, i64)> = Vec::new();

    let dir = root.path().join("sqlite");
    let plan = bench_plan(&dir, BenchStore::Sqlite);
    let (time, done) = single_process(&dir, &plan);
    let units: i64 = rusqlite::Connection::open(dir.join("store.sqlite"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM units WHERE status = 'in_force'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    rows.push(("one process, SQLite".into(), time, done as u64, units));

    let schema = format!("bench_single_{stamp}");
    let dir = root.path().join("pg-single");
    let plan = bench_plan(
        &dir,
        BenchStore::Postgres {
            url: &url,
            schema: &schema,
        },
    );
    let (time, done) = single_process(&dir, &plan);
    rows.push((
        "one process, PostgreSQL".into(),
        time,
        done as u64,
        pg_units(&schema),
    ));
    drop_schema(&schema);

    for workers in [1, 2, 4] {
        let schema = format!("bench_workers{workers}_{stamp}");
        let dir = root.path().join(format!("pg-workers-{workers}"));
        let plan = bench_plan(
            &dir,
            BenchStore::Postgres {
                url: &url,
                schema: &schema,
            },
        );
        let (time, done) = with_workers(&dir, &plan, workers);
        rows.push((
            format!("{workers} worker process(es), PostgreSQL"),
            time,
            done,
            pg_units(&schema),
        ));
        drop_schema(&schema);
    }

    println!(
        "iu-cut over the corpus (110 files, live, both approvals), {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let base = rows[0].1.as_secs_f64();
    for (label, time, done, units) in &rows {
        let secs = time.as_secs_f64();
        println!(
            "  {label:<36} {secs:>8.2} s  {:>6.2} docs/s  {:>8.0} units/s  ({done} done, {units} units)  {:.2}× SQLite's time",
            *done as f64 / secs,
            *units as f64 / secs,
            secs / base
        );
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}
