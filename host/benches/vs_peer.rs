//! phasehost against the peer to beat, in one run (a bench binary:
//! `cargo bench -p phasehost --bench vs_peer`).
//!
//! The peer (`benches/peer/py_peer.py`) is what a user would write instead
//! of phasehost: one in-process Python script, no sandbox, no gates, no
//! approvals, that pins, cuts and stores the same corpus in SQLite. Absolute
//! times on a shared 2-core machine drift by 2-3x between runs, so the
//! modes run in alternating pairs (peer, phasehost, peer, phasehost …) and
//! the table reports medians and ratios to the peer of the same run:
//!
//! - **batch**: this process runs the corpus live on SQLite through all 11
//!   phases, every gate predicate, KB evidence and both approvals (signed
//!   by a bench key as each document pauses), `PHASEHOST_BENCH_JOBS`
//!   documents at a time (default: the cores available), and once with one
//!   job for the parallel speed-up;
//! - **operator**: the five commands an operator types per document (`run
//!   --live`, `approve sg1`, `resume`, `approve sg2`, `resume`), each a new
//!   `phasehost` process, one document after another.
//!
//! Every phasehost mode must end with the same units (document, eId,
//! text sha256) in its store, or the bench fails. It also reports the bytes
//! each mode leaves on disk (store + KB) per input byte.
//!
//! `PHASEHOST_BENCH_PAIRS` (default 3) sets the pairs; `PHASEHOST_BENCH_FILES`
//! (default all) takes the first N corpus files, largest first;
//! `PHASEHOST_BENCH_MODES` (e.g. `0,2`) runs only those modes;
//! `PHASEHOST_BENCH_KEEP=1` keeps every mode's folder.

mod common;

use common::{BenchStore, bench_plan, corpus_files};
use phasehost::run::{ApproveRequest, Outcome, ResumeRequest, StartRequest};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A named way to cut the corpus into the folder it is given.
type Mode<'a> = (&'a str, &'a dyn Fn(&Path));

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// CPU seconds (user + system) of this process and its waited-for children.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is the
    // 3rd field, utime/stime/cutime/cstime are the 14th-17th.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest
        .split(' ')
        .skip(11)
        .take(4)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum::<f64>() / 100.0
}

/// A measured run: wall and CPU time.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: f64,
}

fn measure(f: impl FnOnce()) -> Sample {
    let cpu = cpu_seconds();
    let started = Instant::now();
    f();
    Sample {
        wall: started.elapsed(),
        cpu: cpu_seconds() - cpu,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The peer over `corpus` (a folder of the chosen files) into `db`.
fn run_peer(corpus: &Path, db: &Path) {
    let out = Command::new("python3")
        .arg(repo().join("host/benches/peer/py_peer.py"))
        .arg(corpus)
        .arg(db)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One document live through both approvals, in this process.
fn drive_in_process(dir: &Path, plan: &Path, source: &Path) -> Outcome {
    let host_config = Some(dir.join("host.toml"));
    let report = phasehost::run::start(&StartRequest {
        plan: plan.to_path_buf(),
        source: source.to_path_buf(),
        live: true,
        host_config: host_config.clone(),
        as_key: None,
    })
    .expect("the run starts");
    let Some(folder) = report.folder else {
        return report.outcome;
    };
    let mut outcome = report.outcome;
    while let Outcome::Paused { gate, .. } = outcome {
        phasehost::run::approve(&ApproveRequest {
            run_folder: folder.clone(),
            gate,
            key_file: dir.join("keys/bench.key"),
            plan: plan.to_path_buf(),
        })
        .expect("the bench key approves");
        outcome = phasehost::run::resume(&ResumeRequest {
            run_folder: folder.clone(),
            plan: plan.to_path_buf(),
            host_config: host_config.clone(),
            as_key: None,
        })
        .expect("the run resumes")
        .outcome;
    }
    outcome
}

/// The bench plan in `dir`, its host config naming the compile cache all
/// modes share (warmed before the clock starts: a long-running process or
/// a second run finds its components compiled).
fn prepare(dir: &Path, cache: &Path) -> PathBuf {
    let plan = bench_plan(dir, BenchStore::Sqlite);
    std::fs::write(
        dir.join("host.toml"),
        format!(
            "[execution]\nenabled = true\n\n[runtime]\ncache_dir = {}\n",
            toml_edit::value(cache.display().to_string())
        ),
    )
    .unwrap();
    plan
}

/// `phasehost check`: every component compiled into the cache.
fn warm_cache(dir: &Path, cache: &Path) {
    let plan = prepare(dir, cache);
    let out = Command::new(env!("CARGO_BIN_EXE_phasehost"))
        .arg("check")
        .arg(&plan)
        .arg("--host-config")
        .arg(dir.join("host.toml"))
        .output()
        .expect("phasehost runs");
    assert!(
        out.status.success(),
        "check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The batch mode: `jobs` documents at a time in this process.
fn run_batch(dir: &Path, cache: &Path, files: &[PathBuf], jobs: usize) {
    let plan = prepare(dir, cache);
    let outcomes = phasehost::run::batch::in_parallel(
        files,
        jobs,
        |_, source| drive_in_process(dir, &plan, source),
        |_, _| {},
    );
    check_outcomes(files, &outcomes);
}

/// The operator mode: five `phasehost` commands per document.
fn run_operator(dir: &Path, cache: &Path, files: &[PathBuf]) {
    let plan = prepare(dir, cache);
    let bin = env!("CARGO_BIN_EXE_phasehost");
    let host = dir.join("host.toml");
    let status = |args: &[&std::ffi::OsStr]| {
        Command::new(bin)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .output()
            .expect("phasehost runs")
    };
    let mut outcomes = Vec::new();
    for source in files {
        let run = status(&[
            "run".as_ref(),
            plan.as_os_str(),
            "--source".as_ref(),
            source.as_os_str(),
            "--live".as_ref(),
            "--host-config".as_ref(),
            host.as_os_str(),
            "--json".as_ref(),
        ]);
        let value: serde_json::Value =
            serde_json::from_slice(&run.stdout).expect("run --json prints one object");
        let Some(folder) = value["run_folder"].as_str().map(PathBuf::from) else {
            outcomes.push(value["outcome"].as_str().unwrap_or("?").to_string());
            continue;
        };
        let mut last = value["outcome"].as_str().unwrap_or("?").to_string();
        for gate in ["sg1", "sg2"] {
            if last != "paused" {
                break;
            }
            let approve = status(&[
                "approve".as_ref(),
                folder.as_os_str(),
                "--gate".as_ref(),
                gate.as_ref(),
                "--plan".as_ref(),
                plan.as_os_str(),
                "--key".as_ref(),
                dir.join("keys/bench.key").as_os_str(),
                "--yes".as_ref(),
            ]);
            assert!(approve.status.success(), "approve {gate} failed");
            let resume = status(&[
                "resume".as_ref(),
                folder.as_os_str(),
                "--plan".as_ref(),
                plan.as_os_str(),
                "--host-config".as_ref(),
                host.as_os_str(),
                "--json".as_ref(),
            ]);
            let value: serde_json::Value =
                serde_json::from_slice(&resume.stdout).expect("resume --json prints one object");
            last = value["outcome"].as_str().unwrap_or("?").to_string();
        }
        outcomes.push(last);
    }
    let completed = outcomes.iter().filter(|o| *o == "completed").count();
    let expected = files.iter().filter(|f| nonempty(f)).count();
    assert_eq!(completed, expected, "operator outcomes: {outcomes:?}");
}

fn nonempty(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

fn check_outcomes(files: &[PathBuf], outcomes: &[Outcome]) {
    for (file, outcome) in files.iter().zip(outcomes) {
        let expected_done = nonempty(file);
        assert_eq!(
            *outcome == Outcome::Completed,
            expected_done,
            "{}: {outcome:?}",
            file.display()
        );
    }
}

/// The units a mode left in force: count and a digest of (document, eId,
/// text sha256) in order.
fn units_of(dir: &Path) -> (u64, String) {
    let conn = rusqlite::Connection::open(dir.join("store.sqlite")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT document_id, eid, lower(hex(text_sha)) FROM units WHERE status = 'in_force' \
             ORDER BY document_id, seq",
        )
        .unwrap();
    let mut hash = Sha256::new();
    let mut count = 0;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (doc, eid, sha) = row.unwrap();
        hash.update(format!("{doc}\t{eid}\t{sha}\n"));
        count += 1;
    }
    (count, hex::encode(hash.finalize()))
}

fn tree_bytes(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .unwrap()
            .map(|e| tree_bytes(&e.unwrap().path()))
            .sum(),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// The parts of what a mode leaves on disk, as the table splits them.
const DISK_PARTS: [&str; 3] = ["store.sqlite", "store.sqlite-wal", "kb"];

/// Bytes a mode left on disk, per part of [`DISK_PARTS`]: the store, its WAL
/// and the KB.
fn bytes_written(dir: &Path) -> [u64; 3] {
    DISK_PARTS.map(|p| tree_bytes(&dir.join(p)))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let pairs = env_usize("PHASEHOST_BENCH_PAIRS").unwrap_or(3).max(1);
    let jobs = env_usize("PHASEHOST_BENCH_JOBS")
        .unwrap_or_else(phasehost::run::batch::default_jobs)
        .max(1);
    let mut files = corpus_files();
    files.sort_by_key(|f| std::cmp::Reverse(std::fs::metadata(f).map_or(0, |m| m.len())));
    if let Some(n) = env_usize("PHASEHOST_BENCH_FILES") {
        files.truncate(n);
    }
    let input_bytes: u64 = files.iter().map(|f| tree_bytes(f)).sum();
    // PHASEHOST_BENCH_KEEP=1 leaves each mode's folder (store, KB) to look
    // into after the run.
    let root = tempfile::Builder::new()
        .prefix("vs_peer-")
        .disable_cleanup(std::env::var_os("PHASEHOST_BENCH_KEEP").is_some())
        .tempdir()
        .unwrap();
    // The peer reads a folder: give it exactly the chosen files.
    let corpus = root.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for f in &files {
        std::fs::copy(f, corpus.join(f.file_name().unwrap())).unwrap();
    }
    println!(
        "{} files, {:.1} MB, {pairs} alternating pairs, batch with {jobs} jobs",
        files.len(),
        input_bytes as f64 / 1e6
    );

    let cache = root.path().join("cache");
    warm_cache(&root.path().join("warm"), &cache);
    let modes: [Mode; 4] = [
        ("peer (py_peer.py)", &|dir: &Path| {
            run_peer(&corpus, &dir.join("peer.sqlite"))
        }),
        ("phasehost batch, in-process", &|dir: &Path| {
            run_batch(dir, &cache, &files, jobs)
        }),
        ("phasehost batch, 1 job", &|dir: &Path| {
            run_batch(dir, &cache, &files, 1)
        }),
        (
            "phasehost operator path (5 commands per document)",
            &|dir: &Path| run_operator(dir, &cache, &files),
        ),
    ];
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); modes.len()];
    let mut units: Vec<Option<(u64, String)>> = vec![None; modes.len()];
    let mut bytes = vec![[0u64; 3]; modes.len()];
    // PHASEHOST_BENCH_MODES=1,2 runs only those modes (0 = the peer), e.g.
    // under `perf record`; the table then lists only what ran.
    let chosen: Vec<usize> = std::env::var("PHASEHOST_BENCH_MODES")
        .ok()
        .map(|v| v.split(',').filter_map(|m| m.trim().parse().ok()).collect())
        .unwrap_or_else(|| (0..modes.len()).collect());
    for pair in 0..pairs {
        for (index, (name, run)) in modes.iter().enumerate() {
            if !chosen.contains(&index) {
                continue;
            }
            let dir = root.path().join(format!("{pair}-{index}"));
            std::fs::create_dir_all(&dir).unwrap();
            let sample = measure(|| run(&dir));
            eprintln!(
                "pair {}: {name}: {:.2} s wall, {:.2} s CPU",
                pair + 1,
                sample.wall.as_secs_f64(),
                sample.cpu
            );
            samples[index].push(sample);
            if index > 0 {
                let got = units_of(&dir);
                if let Some(first) = units.iter().flatten().next() {
                    assert_eq!(&got, first, "{name} cut other units than the first mode");
                }
                units[index] = Some(got);
                bytes[index] = bytes_written(&dir);
            }
            if std::env::var_os("PHASEHOST_BENCH_KEEP").is_some() {
                eprintln!("kept {}", dir.display());
            } else {
                std::fs::remove_dir_all(&dir).ok();
            }
        }
    }
    let peer_wall = median(samples[0].iter().map(|s| s.wall.as_secs_f64()).collect());
    let peer_cpu = median(samples[0].iter().map(|s| s.cpu).collect());
    println!();
    println!(
        "| mode | wall (median) | CPU (median) | wall / peer | CPU / peer | bytes on disk / input |"
    );
    println!("|---|---|---|---|---|---|");
    for (index, (name, _)) in modes.iter().enumerate() {
        if samples[index].is_empty() {
            continue;
        }
        let wall = median(
            samples[index]
                .iter()
                .map(|s| s.wall.as_secs_f64())
                .collect(),
        );
        let cpu = median(samples[index].iter().map(|s| s.cpu).collect());
        let per_input = if index == 0 {
            "-".to_string()
        } else {
            let total: u64 = bytes[index].iter().sum();
            format!("{:.2}", total as f64 / input_bytes as f64)
        };
        // Ratios to the peer only when the peer ran (PHASEHOST_BENCH_MODES).
        let ratio = |x: f64, peer: f64| {
            if peer.is_nan() {
                "-".to_string()
            } else {
                format!("{:.2}x", x / peer)
            }
        };
        println!(
            "| {name} | {wall:.2} s | {cpu:.2} s | **{}** | {} | {per_input} |",
            ratio(wall, peer_wall),
            ratio(cpu, peer_cpu)
        );
    }
    println!();
    for (index, (name, _)) in modes.iter().enumerate().skip(1) {
        if samples[index].is_empty() {
            continue;
        }
        let parts: Vec<String> = DISK_PARTS
            .iter()
            .zip(bytes[index])
            .map(|(part, b)| format!("{part} {:.2}", b as f64 / input_bytes as f64))
            .collect();
        println!("bytes per input byte, {name}: {}", parts.join(", "));
    }
    println!();
    if !samples[1].is_empty() && !samples[2].is_empty() {
        let one = median(samples[2].iter().map(|s| s.wall.as_secs_f64()).collect());
        let many = median(samples[1].iter().map(|s| s.wall.as_secs_f64()).collect());
        println!("batch speed-up with {jobs} jobs over 1: {:.2}x", one / many);
    }
    let ran: Vec<&str> = (1..modes.len())
        .filter(|&i| units[i].is_some())
        .map(|i| modes[i].0)
        .collect();
    if let Some(first) = units.iter().flatten().next() {
        println!(
            "every phasehost mode that ran ({}) cut the same {} units",
            ran.join(", "),
            first.0
        );
    }
}
