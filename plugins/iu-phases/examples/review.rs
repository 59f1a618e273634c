//! Runs the 11 iu-cut phases natively (in-memory store, dry run, the
//! harness of `iu_phases::harness`) over source files and prints, per file,
//! the outcome, the absorbed-marker count, the evidence sizes of `cutplan`
//! and `write_verify`, and with `REVIEW_PRINT=1` both `review` objects.
//!
//! `cargo run --release -p iu-phases --example review -- FILE…`
//! (no file: the whole project corpus).

use iu_phases::harness::{RunSpec, run_iu_cut};
use serde_json::Value;

fn main() {
    let mut files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/vlc");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("corpus")
            .filter_map(|e| e.ok())
            .map(|e| e.path().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".txt"))
            .collect();
        names.sort();
        files = names;
    }
    let print = std::env::var("REVIEW_PRINT").is_ok();
    let (mut max_plan, mut max_verify) = ((0, String::new()), (0, String::new()));
    for file in &files {
        let raw = std::fs::read(file).expect("read");
        let doc = std::path::Path::new(file)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut store = iu_phases::memory::iu_cut_store(&doc, raw);
        let (outcome, rec) = match run_iu_cut(&mut store, &RunSpec::new("review", true)) {
            Ok(rec) => ("completed".to_string(), rec),
            Err((phase, r, rec)) => (format!("refused at {phase}: {r}"), rec),
        };
        let get = |phase: &str| -> Option<(usize, Value)> {
            rec.evidence
                .iter()
                .find(|(p, _)| p == phase)
                .map(|(_, j)| (j.len(), serde_json::from_str(j).unwrap()))
        };
        let mark = get("mark");
        let plan = get("cutplan");
        let verify = get("write_verify");
        let absorbed = mark
            .as_ref()
            .map_or(Value::Null, |(_, m)| m["absorbed_markers"]["count"].clone());
        let size = |e: &Option<(usize, Value)>| e.as_ref().map_or(0, |(n, _)| *n);
        println!(
            "{doc}\t{outcome}\tabsorbed={absorbed}\tcutplan={}B\twrite_verify={}B",
            size(&plan),
            size(&verify)
        );
        if size(&plan) > max_plan.0 {
            max_plan = (size(&plan), doc.clone());
        }
        if size(&verify) > max_verify.0 {
            max_verify = (size(&verify), doc.clone());
        }
        if print {
            for (phase, e) in [("cutplan", &plan), ("write_verify", &verify)] {
                if let Some((_, v)) = e {
                    println!(
                        "{phase} review:\n{}",
                        serde_json::to_string_pretty(&v["review"]).unwrap()
                    );
                }
            }
        }
    }
    println!(
        "largest cutplan evidence: {} B ({}); largest write_verify evidence: {} B ({})",
        max_plan.0, max_plan.1, max_verify.0, max_verify.1
    );
}
