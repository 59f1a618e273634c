//! The secret scanner on 1 MiB adversarial inputs: every one must scan in
//! at most 50 ms in release (the scanner is linear; before it was made so,
//! 64 KiB of one repeated token prefix took 26 s).
//!
//! `cargo bench -p phasehost-policy --bench scanner` first prints a table
//! (best of 5 runs of `scan_all` on each input, wall and thread CPU time,
//! and the ratio to scanning 1 MiB of the plain corpus text
//! `data/vlc/hien-phap.txt` repeated; an input is over the limit when both
//! times are, so that a busy machine does not fail it), then runs the
//! criterion benchmarks. `SCANNER_BENCH_TABLE_ONLY=1` stops after
//! the table, `SCANNER_BENCH_INPUT=<text>` keeps the inputs whose name
//! contains it; criterion's usual filter argument selects benchmarks.
//! `SCANNER_BENCH_PROFILE=<name>` only scans that input (or the corpus)
//! 50 times, for a profiler.

#[path = "common/cpu.rs"]
mod cpu;
#[path = "common/inputs.rs"]
#[allow(dead_code)]
mod inputs;

use cpu::thread_cpu_time;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use phasehost_policy::secrets::{StreamScanner, scan_all};

const MIB: usize = 1024 * 1024;
/// The most a 1 MiB scan may take.
const LIMIT: Duration = Duration::from_millis(50);

fn corpus_mib() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/vlc/hien-phap.txt");
    let text = std::fs::read_to_string(path).expect("the corpus text");
    inputs::repeat_to(&text, MIB)
}

/// The best wall time and the best CPU time of `runs` runs of `f`.
fn best_of(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    (0..runs)
        .map(|_| {
            let (start, cpu) = (Instant::now(), thread_cpu_time());
            f();
            (start.elapsed(), thread_cpu_time() - cpu)
        })
        .fold((Duration::MAX, Duration::MAX), |(wall, cpu), (w, c)| {
            (wall.min(w), cpu.min(c))
        })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print_table(baseline: &str, inputs: &[(String, String)]) {
    let (base, base_cpu) = best_of(5, || {
        black_box(scan_all(black_box(baseline)));
    });
    let mut rows: Vec<(Duration, Duration, &str, usize, usize)> = inputs
        .iter()
        .map(|(name, text)| {
            let findings = scan_all(text).len();
            let (wall, cpu) = best_of(5, || {
                black_box(scan_all(black_box(text)));
            });
            (wall, cpu, name.as_str(), text.len(), findings)
        })
        .collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.1));
    println!();
    println!(
        "scan_all on 1 MiB inputs (best of 5), slowest CPU time first; limit {} ms",
        ms(LIMIT)
    );
    println!("| input | bytes | findings | wall ms | CPU ms | MiB/s (CPU) | x corpus (CPU) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let row = |name: &str, len: usize, findings: usize, wall: Duration, cpu: Duration| {
        println!(
            "| {name} | {len} | {findings} | {:.2} | {:.2} | {:.0} | {:.2} |{}",
            ms(wall),
            ms(cpu),
            len as f64 / MIB as f64 / cpu.as_secs_f64(),
            cpu.as_secs_f64() / base_cpu.as_secs_f64(),
            if wall.min(cpu) > LIMIT {
                " OVER THE LIMIT"
            } else {
                ""
            }
        );
    };
    row(
        "corpus hien-phap.txt (baseline)",
        baseline.len(),
        scan_all(baseline).len(),
        base,
        base_cpu,
    );
    for &(wall, cpu, name, len, findings) in &rows {
        row(name, len, findings, wall, cpu);
    }
    let over = rows.iter().filter(|r| r.0.min(r.1) > LIMIT).count();
    let worst = rows.first().map_or(Duration::ZERO, |r| r.1);
    println!(
        "{} inputs, {over} over {} ms; slowest {:.2} ms CPU ({:.2} x corpus)",
        rows.len(),
        ms(LIMIT),
        ms(worst),
        worst.as_secs_f64() / base_cpu.as_secs_f64()
    );

    // The stream scanner, fed the corpus line by line.
    let lines: Vec<&str> = baseline.lines().collect();
    let (stream, stream_cpu) = best_of(5, || {
        let mut scanner = StreamScanner::new();
        for line in &lines {
            black_box(scanner.feed(black_box(line)));
        }
    });
    println!(
        "StreamScanner over the 1 MiB corpus text, {} lines: {:.2} ms wall, {:.2} ms CPU ({:.2} x scan_all)",
        lines.len(),
        ms(stream),
        ms(stream_cpu),
        stream_cpu.as_secs_f64() / base_cpu.as_secs_f64()
    );
    println!();
}

fn main() {
    // For a profiler: scan one input (by name) many times, nothing else.
    if let Ok(name) = std::env::var("SCANNER_BENCH_PROFILE") {
        let inputs = inputs::adversarial_inputs(MIB);
        let text = match inputs.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => text.clone(),
            None => corpus_mib(),
        };
        for _ in 0..50 {
            black_box(scan_all(black_box(&text)));
        }
        return;
    }
    let baseline = corpus_mib();
    let mut inputs = inputs::adversarial_inputs(MIB);
    if let Ok(only) = std::env::var("SCANNER_BENCH_INPUT") {
        inputs.retain(|(name, _)| name.contains(&only));
    }
    print_table(&baseline, &inputs);
    if std::env::var_os("SCANNER_BENCH_TABLE_ONLY").is_some() {
        return;
    }

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    let mut group = criterion.benchmark_group("scan_all_1MiB");
    group.throughput(Throughput::Bytes(MIB as u64));
    group.bench_function("corpus", |b| b.iter(|| scan_all(black_box(&baseline))));
    for (name, text) in &inputs {
        group.bench_with_input(BenchmarkId::from_parameter(name), text, |b, text| {
            b.iter(|| scan_all(black_box(text)));
        });
    }
    group.finish();
    criterion.final_summary();
}
