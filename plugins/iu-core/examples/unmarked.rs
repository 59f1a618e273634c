//! Lists, for every corpus file, the marker-looking lines outside quotations
//! that did not start a region (`mark_report`), one per line:
//! `file<TAB>line<TAB>kind<TAB>reason<TAB>into<TAB>excerpt`; absorbed ones
//! (what `G-MARK-NO-ABSORBED-MARKERS` stops) are flagged `ABSORBED`.
//!
//! `cargo run -p iu-core --example unmarked -- [DIR]`

use iu_core::Caps;
use std::fs;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/vlc").to_string());
    let mut names: Vec<_> = fs::read_dir(&dir)
        .expect("read corpus dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    for name in names {
        let raw = fs::read(format!("{dir}/{name}")).expect("read file");
        let Ok(pinned) = iu_core::pin(&raw) else {
            continue;
        };
        let Ok((regions, report)) = iu_core::mark_report(&pinned.normalized, &Caps::default())
        else {
            continue;
        };
        let plan = iu_core::cut_plan(&name, "v1", &pinned.normalized, &regions).expect("cut");
        let numbering = iu_core::review::numbering(&plan.units);
        let controls = iu_core::review::controls(&pinned.normalized);
        println!(
            "{name}\tNUMBERING\t{}\tcontrols {} on lines {:?} {:?}",
            numbering.summary(),
            controls.count,
            controls.first_lines,
            controls.by_char
        );
        for u in &report.unmarked {
            println!(
                "{name}\t{}\t{}\t{}\t{}\t{}\t{}",
                u.line,
                u.kind,
                u.reason.as_str(),
                u.into,
                if u.is_absorbed() { "ABSORBED" } else { "-" },
                u.excerpt
            );
        }
    }
}
