//! The iu-cut sandbox tax and corpus throughput (a bench binary:
//! `cargo bench -p phasehost --bench iu_cut`).
//!
//! 1. The 11 phases over the whole corpus, live on SQLite, twice in one run:
//!    as wasm components through the host's capabilities, and as the same
//!    domain code (`iu-phases`) called natively through a `Caps` over the
//!    same store backend. The ratio is the sandbox tax.
//! 2. The full host (`phasehost::run`: gates, KB documents, state, signed
//!    approvals, kill-switch and secret checks) over the corpus, live on
//!    SQLite: documents/s and units/s.

mod common;

use common::{BenchStore, bench_plan, run_approving};
use iu_phases::{CapError, Caps, Input, Level, PHASES, phase_fn};
use phasehost::plan::load_plan;
use phasehost::run::Outcome;
use phasehost::runtime::state::{AllowAll, OutboundScanner, RunServices, SharedStore};
use phasehost::runtime::{PhaseInput, Runtime};
use phasehost::store::{Row, Scope};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct NoScan;
impl OutboundScanner for NoScan {
    fn scan(&self, _: &str) -> Result<(), String> {
        Ok(())
    }
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    common::corpus_files()
        .into_iter()
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .filter(|(_, bytes)| !bytes.is_empty())
        .collect()
}

fn field(evidence: &[(String, String)], phase: &str, name: &str) -> Value {
    evidence
        .iter()
        .rev()
        .find(|(p, _)| p == phase)
        .and_then(|(_, j)| serde_json::from_str::<Value>(j).ok())
        .and_then(|v| v.get(name).cloned())
        .unwrap_or(Value::Null)
}

/// The host's run loop without gates or KB: pseudo-evidence, cutplan twice,
/// one transaction per phase. `step` runs one phase.
fn drive(
    doc: &str,
    version: &str,
    store: &SharedStore,
    configs: &HashMap<String, String>,
    mut step: impl FnMut(&str, &Input) -> Result<String, String>,
) -> u64 {
    let host = json!({"store_kind": "sqlite", "mode": "live", "plan_needs": {"documents": "ri", "source_versions": "riu", "units": "riu", "envelopes": "ri"}, "role_privileges": null, "phase_grants": {}});
    let mut evidence = vec![("@host".to_string(), host.to_string())];
    for phase in PHASES {
        if phase == "cut_leg_a" {
            let sg1 = json!({"gate": "sg1", "approval_id": "a1", "evidence_digest": field(&evidence, "cutplan", "plan_digest"), "key_id": "k", "review_decision_id": "r1"});
            evidence.push(("@sg1".into(), sg1.to_string()));
        }
        if phase == "lifecycle_enact" {
            let sg2 = json!({"gate": "sg2", "approval_id": "a2", "evidence_digest": field(&evidence, "write_verify", "verify_digest"), "key_id": "k", "review_decision_id": "r2"});
            evidence.push(("@sg2".into(), sg2.to_string()));
        }
        let input = Input {
            run_id: format!("bench-{doc}"),
            document_id: doc.to_string(),
            version: version.to_string(),
            dry_run: false,
            config: configs.get(phase).cloned().unwrap_or_else(|| "{}".into()),
            evidence: evidence.clone(),
        };
        store.lock().unwrap().begin().unwrap();
        let json = step(phase, &input).unwrap_or_else(|e| panic!("{doc} {phase}: {e}"));
        if phase == "cutplan" {
            let again = step(phase, &input).unwrap();
            evidence.push(("@cutplan-rerun".into(), again));
        }
        store.lock().unwrap().commit().unwrap();
        evidence.insert(
            evidence.len() - usize::from(phase == "cutplan"),
            (phase.to_string(), json),
        );
    }
    field(&evidence, "cutplan", "units").as_u64().unwrap_or(0)
}

/// `Caps` for the native run: the same store backend, scoped like the host does.
struct NativeCaps<'a> {
    store: &'a SharedStore,
    scope: Scope,
    source: &'a [u8],
    artifacts: HashMap<String, Vec<u8>>,
}

fn cap_err(e: phasehost::store::StoreError) -> CapError {
    CapError::Refused(e.to_string())
}

fn pairs(filters: &[(&str, &str)]) -> Vec<(String, String)> {
    filters
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn rows(json: &[String]) -> Vec<Row> {
    json.iter()
        .map(|r| match serde_json::from_str(r).unwrap() {
            Value::Object(m) => m,
            _ => panic!("row"),
        })
        .collect()
}

impl Caps for NativeCaps<'_> {
    fn read_source(&mut self) -> Result<Vec<u8>, CapError> {
        Ok(self.source.to_vec())
    }
    fn select(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<Vec<String>, CapError> {
        let found = self
            .store
            .lock()
            .unwrap()
            .select(table, &self.scope, &pairs(filters))
            .map_err(cap_err)?;
        Ok(found
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect())
    }
    fn count(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<u64, CapError> {
        self.store
            .lock()
            .unwrap()
            .count(table, &self.scope, &pairs(filters))
            .map_err(cap_err)
    }
    fn insert(&mut self, table: &str, json: &[String]) -> Result<u64, CapError> {
        self.store
            .lock()
            .unwrap()
            .insert(table, &self.scope, &rows(json))
            .map_err(cap_err)
    }
    fn update(
        &mut self,
        table: &str,
        filters: &[(&str, &str)],
        set: &str,
    ) -> Result<u64, CapError> {
        let set = rows(&[set.to_string()]).remove(0);
        self.store
            .lock()
            .unwrap()
            .update(table, &self.scope, &pairs(filters), &set)
            .map_err(cap_err)
    }
    fn delete(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<u64, CapError> {
        self.store
            .lock()
            .unwrap()
            .delete(table, &self.scope, &pairs(filters))
            .map_err(cap_err)
    }
    fn put_artifact(&mut self, name: &str, bytes: &[u8]) -> Result<String, CapError> {
        self.artifacts.insert(name.into(), bytes.to_vec());
        Ok(phasehost::digest::sha256_hex(bytes))
    }
    fn get_artifact(&mut self, name: &str) -> Result<Vec<u8>, CapError> {
        self.artifacts
            .get(name)
            .cloned()
            .ok_or_else(|| CapError::NotFound(name.into()))
    }
    fn log(&mut self, _level: Level, _message: &str) {}
}

fn open_store(path: &Path) -> SharedStore {
    Arc::new(Mutex::new(
        phasehost_store::open(&phasehost_store::StoreSpec::Sqlite(path.to_path_buf())).unwrap(),
    ))
}

fn version_of(bytes: &[u8]) -> String {
    format!("v-{}", &phasehost::digest::sha256_hex(bytes)[..16])
}

fn main() {
    let docs = corpus();
    let bytes_in: usize = docs.iter().map(|(_, b)| b.len()).sum();
    let dir = tempfile::tempdir().unwrap();
    let plan_path = bench_plan(dir.path(), BenchStore::Sqlite);
    let plan = load_plan(&plan_path).unwrap();
    let configs: HashMap<String, String> = plan
        .phases
        .iter()
        .map(|p| (p.name.clone(), serde_json::to_string(&p.config).unwrap()))
        .collect();

    // 1a. native
    let native_store = open_store(&dir.path().join("native.sqlite"));
    let started = Instant::now();
    let mut units = 0;
    for (doc, bytes) in &docs {
        let mut caps = NativeCaps {
            store: &native_store,
            scope: Scope {
                document_id: doc.clone(),
            },
            source: bytes,
            artifacts: HashMap::new(),
        };
        units += drive(
            doc,
            &version_of(bytes),
            &native_store,
            &configs,
            |phase, input| {
                phase_fn::<NativeCaps>(phase).unwrap()(input, &mut caps).map_err(|r| r.message)
            },
        );
    }
    let native = started.elapsed();

    // 1b. wasm, through the host's capabilities
    let runtime = Runtime::new(&dir.path().join("cache")).unwrap();
    let phases: HashMap<String, phasehost::runtime::LoadedPhase> = plan
        .phases
        .iter()
        .map(|spec| (spec.name.clone(), runtime.load_phase(&plan, spec).unwrap()))
        .collect();
    let wasm_store = open_store(&dir.path().join("wasm.sqlite"));
    let artifacts = dir.path().join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let artifacts = phasehost_policy::safe_dir::SafeDir::open_trusted(&artifacts).unwrap();
    let started = Instant::now();
    let mut wasm_units = 0;
    for (doc, bytes) in &docs {
        let services = RunServices {
            run_id: format!("bench-{doc}"),
            source: Some(Arc::from(bytes.as_slice())),
            store: Some(wasm_store.clone()),
            scope: Scope {
                document_id: doc.clone(),
            },
            artifacts_dir: Some(artifacts.clone()),
            artifacts_durability: phasehost::fsutil::Durability::Immediate,
            guard: Arc::new(AllowAll),
            scanner: Arc::new(NoScan),
        };
        wasm_units += drive(
            doc,
            &version_of(bytes),
            &wasm_store,
            &configs,
            |phase, input| {
                let input = PhaseInput {
                    run_id: input.run_id.clone(),
                    document_id: input.document_id.clone(),
                    version: input.version.clone(),
                    dry_run: input.dry_run,
                    config: input.config.clone(),
                    evidence: input.evidence.clone(),
                };
                phases[phase]
                    .run(runtime.engine(), &services, &input)
                    .outcome
                    .map(|v| v.to_string())
                    .map_err(|s| s.to_string())
            },
        );
    }
    let wasm = started.elapsed();
    assert_eq!(units, wasm_units);

    // 2. the full host
    let started = Instant::now();
    let mut completed = 0;
    for (doc, _) in &docs {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../data/vlc")
            .join(format!("{doc}.txt"));
        let outcome = run_approving(dir.path(), &plan_path, &source);
        assert_eq!(outcome, Outcome::Completed, "{doc}");
        completed += 1;
    }
    let full = started.elapsed();

    let secs = |d: Duration| d.as_secs_f64();
    let db_bytes = |name: &str| {
        ["", "-wal"]
            .iter()
            .map(|s| {
                std::fs::metadata(dir.path().join(format!("{name}{s}")))
                    .map(|m| m.len())
                    .unwrap_or(0)
            })
            .sum::<u64>()
    };
    println!(
        "iu-cut over the corpus: {} documents, {:.1} MB, {units} units, live on SQLite",
        docs.len(),
        bytes_in as f64 / 1e6
    );
    println!(
        "  11 phases, native (iu-phases)        {:>8.2} s  {:>7.1} docs/s {:>9.0} units/s",
        secs(native),
        docs.len() as f64 / secs(native),
        units as f64 / secs(native)
    );
    println!(
        "  11 phases, wasm (through the host)   {:>8.2} s  {:>7.1} docs/s {:>9.0} units/s",
        secs(wasm),
        docs.len() as f64 / secs(wasm),
        units as f64 / secs(wasm)
    );
    println!(
        "  sandbox tax (wasm / native)          {:>8.2}×",
        secs(wasm) / secs(native)
    );
    println!(
        "  full host run (gates, KB, approvals) {:>8.2} s  {:>7.1} docs/s {:>9.0} units/s  ({completed} runs)",
        secs(full),
        completed as f64 / secs(full),
        units as f64 / secs(full)
    );
    println!(
        "  store bytes written per input byte: native {:.1}, wasm {:.1}",
        db_bytes("native.sqlite") as f64 / bytes_in as f64,
        db_bytes("wasm.sqlite") as f64 / bytes_in as f64
    );
}
