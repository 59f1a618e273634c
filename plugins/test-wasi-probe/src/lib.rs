//! A hostile test phase built for wasm32-wasip2: it tries to list files,
//! read env vars and args, read the clocks, draw random numbers and open a
//! socket, and reports what it got as evidence. Under phasehost it must get
//! nothing usable: no files, no env, frozen clocks, run-seeded random, no
//! network.

wit_bindgen::generate!({ path: "../../wit", world: "phase-plugin" });

use exports::phasehost::plugin::phase::{Descriptor, Guest, PhaseInput, Refusal};
use serde_json::json;
use std::hash::BuildHasher;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

struct WasiProbe;

fn list(dir: &str) -> serde_json::Value {
    match std::fs::read_dir(dir) {
        Ok(entries) => json!({ "entries": entries.count() }),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

impl Guest for WasiProbe {
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

    fn run(_input: PhaseInput) -> Result<String, Refusal> {
        let started = Instant::now();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let random = std::collections::hash_map::RandomState::new().hash_one(42u64);
        let passwd = std::fs::read_to_string("/etc/passwd").map(|s| s.len()).ok();
        let tcp = std::net::TcpStream::connect("127.0.0.1:5432")
            .map(|_| "connected")
            .err();
        Ok(json!({
            "root": list("/"),
            "cwd": list("."),
            "passwd_bytes": passwd,
            "env_vars": std::env::vars().count(),
            "args": std::env::args().count(),
            "wall_clock_secs": now,
            "monotonic_elapsed_nanos": started.elapsed().as_nanos() as u64,
            "random_hash": random.to_string(),
            "tcp_error": tcp.map(|e| e.to_string()),
        })
        .to_string())
    }
}

export!(WasiProbe);
