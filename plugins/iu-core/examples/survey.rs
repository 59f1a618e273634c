//! Corpus survey: for every `.txt` file of a folder, the outcome of
//! pin → mark → cut, the unit counts per kind, duplicates, depth and the
//! largest unit.
//!
//! `cargo run -p iu-core --example survey -- [DIR]` (default: the project
//! corpus). Set `SURVEY_CLOSING=1` to also print each closing's first line,
//! `SURVEY_DUMP=<file>` to list every region of one file.

use iu_core::{Caps, Region};
use std::fs;

fn first_line(text: &str, r: &Region) -> String {
    let line = text[r.start..r.end].lines().next().unwrap_or("");
    line.chars().take(80).collect()
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/vlc").to_string());
    let show_closing = std::env::var("SURVEY_CLOSING").is_ok();
    let dump = std::env::var("SURVEY_DUMP").ok();
    let mut names: Vec<_> = fs::read_dir(&dir)
        .expect("read corpus dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    for name in names {
        let raw = fs::read(format!("{dir}/{name}")).expect("read file");
        let pinned = match iu_core::pin(&raw) {
            Ok(p) => p,
            Err(e) => {
                println!("{name}\tpin error: {e}");
                continue;
            }
        };
        let text = &pinned.normalized;
        let regions = match iu_core::mark(text, &Caps::default()) {
            Ok(r) => r,
            Err(e) => {
                println!("{name}\tmark error: {e}");
                continue;
            }
        };
        let plan = match iu_core::cut_plan(&name, "v1", text, &regions) {
            Ok(p) => p,
            Err(e) => {
                println!("{name}\tcut error: {e}");
                continue;
            }
        };
        let dups = iu_core::evidence::duplicates(&regions);
        let usage = iu_core::evidence::cap_usage(&regions);
        println!(
            "{name}\t{:?}\tdups={}\tdepth={}\tmaxbytes={}",
            plan.counts,
            dups.len(),
            usage.max_depth,
            usage.max_unit_bytes
        );
        for d in dups {
            println!("  dup {} ({}): {}", d.eid, d.kind, first_line(text, d));
        }
        if show_closing && let Some(c) = regions.last() {
            println!("  last {} ({}): {}", c.eid, c.kind, first_line(text, c));
        }
        if dump.as_deref() == Some(name.as_str()) {
            for r in &regions {
                println!("  {}\t{}", r.eid, first_line(text, r));
            }
        }
    }
}
