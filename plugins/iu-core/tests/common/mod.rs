//! Shared helpers of the integration tests.
#![allow(dead_code)]

use iu_core::{Caps, CutPlan, Pinned, Region};

/// The corpus folder of the project.
pub const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/vlc");

/// Raw bytes of one corpus file.
pub fn raw(name: &str) -> Vec<u8> {
    std::fs::read(format!("{CORPUS}/{name}")).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// pin → mark → cut, panicking on any error.
pub fn cut_file(name: &str) -> (Pinned, Vec<Region>, CutPlan) {
    let pinned = iu_core::pin(&raw(name)).expect("pin");
    let regions = iu_core::mark(&pinned.normalized, &Caps::default()).expect("mark");
    let plan = iu_core::cut_plan(name, "v1", &pinned.normalized, &regions).expect("cut");
    (pinned, regions, plan)
}

/// pin → mark → cut of a text, panicking on any error.
pub fn cut_text(text: &str) -> (Pinned, Vec<Region>, CutPlan) {
    let pinned = iu_core::pin(text.as_bytes()).expect("pin");
    let regions = iu_core::mark(&pinned.normalized, &Caps::default()).expect("mark");
    let plan = iu_core::cut_plan("doc", "v1", &pinned.normalized, &regions).expect("cut");
    (pinned, regions, plan)
}
