//! Throughput of the secret scanner on the bundled corpus (`data/vlc`),
//! as the host uses it: every non-empty line of every text as one JSON row
//! (`{"doc":…,"seq":…,"text":…}`), fed to one [`StreamScanner`] per file
//! (what `store-write` does for the rows of a run), and the same rows
//! through [`scan_all`] alone, and the whole texts through [`scan_all`].
//!
//! `cargo bench -p phasehost-policy --bench scan` prints MB/s (best of
//! `SCAN_BENCH_RUNS` runs, default 3, in this thread's CPU time, so a busy
//! machine does not skew it much). `SCAN_BENCH_FILES=<n>` takes the first
//! `n` files only. No criterion: one run is a few seconds.

#[path = "common/cpu.rs"]
mod cpu;

use cpu::thread_cpu_time;
use std::hint::black_box;
use std::time::Duration;

use phasehost_policy::secrets::{StreamScanner, scan_all};

/// The corpus files, sorted (as `host/benches/common` lists them).
fn corpus() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/vlc");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the corpus folder")
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let take = std::env::var("SCAN_BENCH_FILES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    files
        .into_iter()
        .take(take)
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("a corpus text"))
        })
        .collect()
}

/// Every non-empty line of `text` as a JSON row.
fn rows(doc: &str, text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(seq, line)| serde_json::json!({"doc": doc, "seq": seq, "text": line}).to_string())
        .collect()
}

/// The best CPU time of `runs` runs of `f`.
fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = thread_cpu_time();
            f();
            thread_cpu_time() - start
        })
        .min()
        .unwrap_or_default()
}

fn report(what: &str, bytes: usize, time: Duration) {
    let mb = bytes as f64 / 1e6;
    println!(
        "{what:<34} {mb:>8.2} MB {:>9.1} ms {:>8.2} MB/s",
        time.as_secs_f64() * 1e3,
        mb / time.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let runs = std::env::var("SCAN_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let corpus = corpus();
    let docs: Vec<Vec<String>> = corpus.iter().map(|(n, t)| rows(n, t)).collect();
    let row_bytes: usize = docs.iter().flatten().map(String::len).sum();
    let text_bytes: usize = corpus.iter().map(|(_, t)| t.len()).sum();

    // The corpus holds no secret: every scan must come back empty.
    let mut findings = 0;
    let stream = best(runs, || {
        for rows in &docs {
            let mut scanner = StreamScanner::new();
            for row in rows {
                findings += black_box(scanner.feed(black_box(row))).len();
            }
        }
    });
    let each = best(runs, || {
        for row in docs.iter().flatten() {
            findings += black_box(scan_all(black_box(row))).len();
        }
    });
    let whole = best(runs, || {
        for (_, text) in &corpus {
            findings += black_box(scan_all(black_box(text))).len();
        }
    });
    println!(
        "secret scan of {} files, {} rows (best of {runs} runs, thread CPU time)",
        corpus.len(),
        docs.iter().map(Vec::len).sum::<usize>()
    );
    report("rows, StreamScanner::feed", row_bytes, stream);
    report("rows, scan_all", row_bytes, each);
    report("whole texts, scan_all", text_bytes, whole);
    println!("findings: {findings}");
}
