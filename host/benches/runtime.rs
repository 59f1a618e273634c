//! Runtime benchmarks (a bench binary, `cargo bench -p phasehost --bench runtime`):
//!
//! 1. warm instantiate + call of a trivial phase: bare wasmtime (pooling,
//!    `InstancePre`, no limiter, no WASI) vs phasehost's own path (fresh
//!    store, deny-all WASI context, limiter, epoch deadline, typed bindings);
//! 2. cold start of a plan's plugin: compile vs load from the compile cache.
//!
//! Figures are medians of many iterations, reported with their ratio.

use phasehost::plan::load_plan;
use phasehost::runtime::state::{AllowAll, OutboundScanner, RunServices};
use phasehost::runtime::{PhaseInput, Runtime};
use phasehost::store::Scope;
use phasehost_test_artifacts::{SOURCE_PIN_COMPONENT, TEST_PROBE_COMPONENT};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker, Val};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, Store};

struct NoScan;
impl OutboundScanner for NoScan {
    fn scan(&self, _: &str) -> Result<(), String> {
        Ok(())
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn measure(iterations: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..iterations / 10 {
        f();
    }
    median(
        (0..iterations)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn plan_for(component: &str, grants: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let sha = hex::encode(Sha256::digest(std::fs::read(component).unwrap()));
    let text = format!(
        "[plan]\nname = \"bench\"\nplugin_set = \"bench\"\n[[phases]]\nname = \"p\"\ncomponent = {component:?}\nsha256 = \"{sha}\"\n[phases.grants]\n{grants}\n"
    );
    let path = dir.join("plan.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn echo_input() -> PhaseInput {
    PhaseInput {
        run_id: "bench".into(),
        document_id: "doc".into(),
        version: "v1".into(),
        dry_run: true,
        config: "{\"mode\":\"echo\"}".into(),
        evidence: Vec::new(),
    }
}

/// Bare wasmtime: instantiate from `InstancePre` and call `function` of the
/// phase interface (`describe`, no arguments; or `run` with an echo input).
fn bare_wasmtime(bytes: &[u8], iterations: usize, function: &str) -> Duration {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .allocation_strategy(InstanceAllocationStrategy::pooling());
    let engine = Engine::new(&config).unwrap();
    let component = Component::new(&engine, bytes).unwrap();
    let mut linker: Linker<()> = Linker::new(&engine);
    linker.define_unknown_imports_as_traps(&component).unwrap();
    let pre = linker.instantiate_pre(&component).unwrap();
    let iface = component
        .get_export_index(None, "phasehost:plugin/phase@0.1.0")
        .unwrap();
    let run = component.get_export_index(Some(&iface), function).unwrap();
    let no_args: Vec<Val> = Vec::new();
    let input = Val::Record(vec![
        ("run-id".into(), Val::String("bench".into())),
        ("document-id".into(), Val::String("doc".into())),
        ("version".into(), Val::String("v1".into())),
        ("dry-run".into(), Val::Bool(true)),
        ("config".into(), Val::String("{\"mode\":\"echo\"}".into())),
        ("evidence".into(), Val::List(Vec::new())),
    ]);
    measure(iterations, || {
        let mut store = Store::new(&engine, ());
        let instance = pre.instantiate(&mut store).unwrap();
        let func = instance.get_func(&mut store, run).unwrap();
        let mut results = [Val::Bool(false)];
        let params = if function == "run" {
            std::slice::from_ref(&input)
        } else {
            &no_args[..]
        };
        func.call(&mut store, params, &mut results).unwrap();
        black_box(&results);
    })
}

fn main() {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let grants = "source = true\nlog = true\nstore = { documents = \"ri\" }\nartifacts = { \"note.txt\" = \"ri\" }";
    let plan = load_plan(&plan_for(TEST_PROBE_COMPONENT, grants, dir.path())).unwrap();
    let runtime = Runtime::new(&cache).unwrap();
    let phase = runtime.load_phase(&plan, &plan.phases[0]).unwrap();
    let services = RunServices {
        run_id: "bench".into(),
        source: None,
        store: None,
        scope: Scope {
            document_id: "doc".into(),
        },
        artifacts_dir: None,
        artifacts_durability: phasehost::fsutil::Durability::Immediate,
        guard: Arc::new(AllowAll),
        scanner: Arc::new(NoScan),
    };
    let input = echo_input();
    let ours = measure(iterations, || {
        let run = phase.run(runtime.engine(), &services, &input);
        black_box(run.outcome.unwrap());
    });
    let bytes = std::fs::read(TEST_PROBE_COMPONENT).unwrap();
    let bare = bare_wasmtime(&bytes, iterations, "run");
    let ours_describe = measure(iterations, || {
        black_box(phase.describe(runtime.engine(), &services).unwrap());
    });
    let bare_describe = bare_wasmtime(&bytes, iterations, "describe");
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "warm instantiate + call, test-probe ({} KB), median of {iterations}:",
        bytes.len() / 1024
    );
    println!(
        "  describe (trivial)          bare wasmtime {:>7.1} µs   phasehost {:>7.1} µs   ratio {:.2}×",
        us(bare_describe),
        us(ours_describe),
        us(ours_describe) / us(bare_describe)
    );
    println!(
        "  run echo (JSON in and out)  bare wasmtime {:>7.1} µs   phasehost {:>7.1} µs   ratio {:.2}×",
        us(bare),
        us(ours),
        us(ours) / us(bare)
    );

    let cold_iterations = (iterations / 100).max(5);
    let pin_plan = load_plan(&plan_for(
        SOURCE_PIN_COMPONENT,
        "source = true\nlog = true\nstore = { source_versions = \"r\" }",
        dir.path(),
    ))
    .unwrap();
    let compile = measure(cold_iterations, || {
        let fresh = tempfile::tempdir().unwrap();
        let runtime = Runtime::new(fresh.path()).unwrap();
        black_box(runtime.load_phase(&pin_plan, &pin_plan.phases[0]).unwrap());
    });
    Runtime::new(&cache)
        .unwrap()
        .load_phase(&pin_plan, &pin_plan.phases[0])
        .unwrap();
    let cached = measure(cold_iterations, || {
        let runtime = Runtime::new(&cache).unwrap();
        black_box(runtime.load_phase(&pin_plan, &pin_plan.phases[0]).unwrap());
    });
    println!(
        "cold start of a plugin (source_pin, {} KB), median of {cold_iterations}:",
        std::fs::metadata(SOURCE_PIN_COMPONENT).unwrap().len() / 1024
    );
    println!(
        "  compile                                    {:>9.2} ms",
        compile.as_secs_f64() * 1e3
    );
    println!(
        "  from the compile cache                     {:>9.2} ms",
        cached.as_secs_f64() * 1e3
    );
    println!(
        "  compile / cache                            {:>9.1}×",
        compile.as_secs_f64() / cached.as_secs_f64()
    );
}
