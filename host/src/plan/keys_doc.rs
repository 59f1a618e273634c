//! docs/PLAN.md documents every plan key: a test walks the serialized form
//! of a plan that sets every section and checks each key is named there.

#[cfg(test)]
mod tests {
    use crate::plan::parse_plan;
    use std::collections::BTreeSet;
    use std::path::Path;

    /// A plan with every section and key set.
    const FULL: &str = r#"
[plan]
name = "full"
plugin_set = "test"

[store.postgres]
url = "postgres://phasehost@db.example.com:5432/test"
password_env = "PHASEHOST_PG_PASSWORD"
schema = "s"
sslmode = "verify-full"
sslrootcert = "root.pem"

[kb]
path = "kb"

[approvals]
trusted_keys = ["a.pub"]
require_signed_start = true

[[approvals.gates]]
name = "sg1"
before = "two"
digest = "one.d"
ttl_secs = 60
quorum = 1
prevent_self_review = true
distinct_from = []
fresh_review_decision = false

[[tables]]
name = "t"
columns = [{ name = "seq", type = "int", nullable = false }, { name = "note", type = "text" }]
primary_key = ["seq"]

[[gates]]
name = "g"
component = "g.wasm"
sha256 = "00"
allow_unbound = []
[gates.limits]
memory_mib = 64

[[phases]]
name = "one"
component = "one.wasm"
sha256 = "00"
run_twice = false
gates_before = []
gates_after = []
on_denied = "stop"
[phases.grants]
source = true
log = true
store = { t = "r" }
artifacts = { "a.txt" = "ri" }
[phases.config]
anything = 1

[[phases]]
name = "two"
component = "two.wasm"
"#;

    /// Dotted key paths of `value` (array elements flattened); the maps
    /// whose keys are the plan author's own (config, store grants,
    /// artifact grants) are not descended into.
    fn paths(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
        let free = [
            "phases.config",
            "phases.grants.store",
            "phases.grants.artifacts",
        ];
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    out.insert(path.clone());
                    if !free.contains(&path.as_str()) {
                        paths(&path, child, out);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    paths(prefix, item, out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_plan_key_is_documented_in_plan_md() {
        let plan = parse_plan(FULL, Path::new("/p/plan.toml")).expect("the full plan loads");
        let value = serde_json::to_value(&plan).unwrap();
        let mut keys = BTreeSet::new();
        paths("", &value, &mut keys);
        assert!(
            keys.contains("approvals.gates.fresh_review_decision"),
            "{keys:?}"
        );
        assert!(keys.contains("phases.limits.max_log_bytes"), "{keys:?}");
        let doc =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/PLAN.md"))
                .expect("docs/PLAN.md");
        let missing: Vec<String> = keys
            .iter()
            .map(|k| {
                k.replace("gates.limits.", "limits.")
                    .replace("phases.limits.", "limits.")
            })
            .filter(|k| {
                ![format!("`{k}`"), format!("`[{k}]`"), format!("`[[{k}]]`")]
                    .iter()
                    .any(|named| doc.contains(named))
            })
            .collect();
        assert!(
            missing.is_empty(),
            "docs/PLAN.md does not document: {missing:?}"
        );
    }
}
