//! Shared helpers: the corpus, the demo plan's grants and configs.
#![allow(dead_code)]

use std::collections::BTreeMap;

use iu_phases::harness::RunSpec;
use iu_phases::memory::{MemoryStore, PhaseGrants};
use serde_json::Value;

/// The project root (plugins/iu-phases/../..).
pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Raw bytes of a corpus file.
pub fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(format!("{ROOT}/data/vlc/{name}")).expect("corpus file")
}

/// The Constitution.
pub fn constitution() -> Vec<u8> {
    corpus("hien-phap.txt")
}

/// The demo plan (plans/iu-cut.toml) as TOML.
pub fn plan() -> toml::Table {
    let text = std::fs::read_to_string(format!("{ROOT}/plans/iu-cut.toml")).expect("plan");
    text.parse().expect("plan parses")
}

fn str_map(v: Option<&toml::Value>) -> BTreeMap<String, String> {
    v.and_then(|v| v.as_table())
        .map(|t| {
            t.iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("letters").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A run spec with the demo plan's grants, configs and run_twice.
pub fn spec(run_id: &str, dry_run: bool) -> RunSpec {
    let plan = plan();
    let mut spec = RunSpec::new(run_id, dry_run);
    spec.run_twice.clear();
    let mut grants = BTreeMap::new();
    for p in plan["phases"].as_array().expect("phases") {
        let name = p["name"].as_str().unwrap().to_string();
        let g = p.get("grants").and_then(|g| g.as_table());
        let flag = |k: &str| {
            g.and_then(|g| g.get(k))
                .and_then(|v| v.as_bool())
                .unwrap_or(false)
        };
        grants.insert(
            name.clone(),
            PhaseGrants {
                source: flag("source"),
                log: flag("log"),
                store: str_map(g.and_then(|g| g.get("store"))),
                artifacts: str_map(g.and_then(|g| g.get("artifacts"))),
            },
        );
        let config: Value = p
            .get("config")
            .map(|c| serde_json::to_value(c).expect("config as JSON"))
            .unwrap_or_else(|| Value::Object(Default::default()));
        spec.configs.insert(name.clone(), config.to_string());
        if p.get("run_twice").and_then(|v| v.as_bool()) == Some(true) {
            spec.run_twice.push(name);
        }
    }
    spec.grants = Some(grants);
    spec
}

/// A store for the Constitution.
pub fn store(source: Vec<u8>) -> MemoryStore {
    iu_phases::memory::iu_cut_store("hien-phap", source)
}

/// The evidence of `phase` in a record.
pub fn ev(evidence: &[(String, String)], phase: &str) -> Value {
    let (_, json) = evidence
        .iter()
        .rev()
        .find(|(p, _)| p == phase)
        .unwrap_or_else(|| panic!("no evidence of {phase}"));
    serde_json::from_str(json).unwrap()
}
