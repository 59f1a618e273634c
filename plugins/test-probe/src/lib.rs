//! A test phase plugin whose behaviour is chosen by its config, so the
//! host's tests can drive every route: `{"mode": "echo" | "write" | "log" |
//! "source" | "artifact" | "artifact-get" | "select" | "spin" | "grow" |
//! "trap" | "refuse" | "deny-loop" | "log-flood" | "big-evidence" |
//! "log-lines"}`. `deny-loop`, `log-flood` and `big-evidence` are hostile:
//! they try to make the host do unbounded work for them.
//! Capability errors are returned as evidence (`{"error": ...}`), showing
//! that a denial is a value the plugin can handle.

wit_bindgen::generate!({ path: "../../wit", world: "phase-plugin" });

use exports::phasehost::plugin::phase::{Descriptor, Guest, PhaseInput, Refusal, RefusalKind};
use phasehost::plugin::types::{Error, Filter};
use phasehost::plugin::{artifacts, log, source, store_read, store_write};
use serde_json::{Value, json};

struct Probe;

fn error_json(e: Error) -> Value {
    let (kind, message) = match e {
        Error::AccessDenied(m) => ("access-denied", m),
        Error::NotFound(m) => ("not-found", m),
        Error::Refused(m) => ("refused", m),
        Error::Invalid(m) => ("invalid", m),
    };
    json!({ "error": kind, "message": message })
}

fn str_of<'a>(config: &'a Value, key: &str) -> &'a str {
    config.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn run(input: &PhaseInput, config: &Value) -> Result<Value, Refusal> {
    let mode = str_of(config, "mode");
    let emit = config.get("emit").cloned().unwrap_or_else(|| json!({}));
    let mut out = match mode {
        "echo" | "" => emit,
        "write" => {
            let rows: Vec<String> = config["rows"]
                .as_array()
                .map(|rows| rows.iter().map(Value::to_string).collect())
                .unwrap_or_default();
            match store_write::insert(str_of(config, "table"), &rows) {
                Ok(n) => json!({ "inserted": n }),
                Err(e) => error_json(e),
            }
        }
        "delete" => match store_write::delete(str_of(config, "table"), &[]) {
            Ok(n) => json!({ "deleted": n }),
            Err(e) => error_json(e),
        },
        "select" => {
            let filters: Vec<Filter> = config["filters"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| Filter {
                            column: k.clone(),
                            value: v.as_str().unwrap_or_default().to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            match store_read::select(str_of(config, "table"), &filters) {
                Ok(rows) => json!({ "rows": rows.len() }),
                Err(e) => error_json(e),
            }
        }
        "log" => {
            log::emit(log::Level::Info, str_of(config, "message"));
            json!({ "logged": true })
        }
        "log-lines" => {
            for line in config["lines"].as_array().into_iter().flatten() {
                log::emit(log::Level::Info, line.as_str().unwrap_or_default());
            }
            json!({ "logged": true })
        }
        "source" => match source::read() {
            Ok(bytes) => json!({ "source_bytes": bytes.len() }),
            Err(e) => error_json(e),
        },
        "artifact" => {
            match artifacts::put(str_of(config, "name"), str_of(config, "content").as_bytes()) {
                Ok(sha) => json!({ "artifact_sha256": sha }),
                Err(e) => error_json(e),
            }
        }
        "artifact-get" => match artifacts::get(str_of(config, "name")) {
            Ok(bytes) => json!({ "artifact_bytes": bytes.len() }),
            Err(e) => error_json(e),
        },
        "spin" => {
            let mut n: u64 = 0;
            loop {
                n = core::hint::black_box(n.wrapping_add(1));
            }
        }
        "grow" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                core::hint::black_box(&hoard);
            }
        }
        "trap" => panic!("test-probe was told to trap"),
        "deny-loop" => {
            // Call an ungranted table `count` times with a name of
            // `name_len` bytes, ignoring every denial.
            let name = "t".repeat(config["name_len"].as_u64().unwrap_or(8) as usize);
            let count = config["count"].as_u64().unwrap_or(1);
            let mut denied = 0u64;
            for _ in 0..count {
                if let Err(Error::AccessDenied(_)) = store_write::insert(&name, &[]) {
                    denied += 1;
                }
            }
            json!({ "denied_seen": denied })
        }
        "log-flood" => {
            // `count` lines of `unit` repeated `repeat` times.
            let line =
                str_of(config, "unit").repeat(config["repeat"].as_u64().unwrap_or(1) as usize);
            for _ in 0..config["count"].as_u64().unwrap_or(1) {
                log::emit(log::Level::Info, &line);
            }
            json!({ "flooded": true })
        }
        "big-evidence" => {
            json!({ "pad": "x".repeat(config["bytes"].as_u64().unwrap_or(0) as usize) })
        }
        "refuse" => {
            return Err(Refusal {
                kind: RefusalKind::InvariantFailed,
                message: str_of(config, "message").to_string(),
            });
        }
        other => {
            return Err(Refusal {
                kind: RefusalKind::InvariantFailed,
                message: format!("unknown mode `{other}`"),
            });
        }
    };
    if let Value::Object(map) = &mut out {
        map.insert("run_id".into(), json!(input.run_id));
        map.insert("evidence_seen".into(), json!(input.evidence.len()));
    }
    Ok(out)
}

impl Guest for Probe {
    fn describe() -> Descriptor {
        Descriptor {
            // Empty: a generic component that claims no phase name (the
            // tests run it as many phases); the host refuses a non-empty
            // name that is not the plan's phase name.
            name: String::new(),
            version: env!("CARGO_PKG_VERSION").into(),
            gates_before: vec![],
            gates_after: vec![],
        }
    }

    fn run(input: PhaseInput) -> Result<String, Refusal> {
        let config: Value = serde_json::from_str(&input.config).map_err(|e| Refusal {
            kind: RefusalKind::InvariantFailed,
            message: format!("bad config: {e}"),
        })?;
        run(&input, &config).map(|v| v.to_string())
    }
}

export!(Probe);
