//! The proof for plugin authors (docs/PLUGINS.md follows it step by step):
//! `phasehost new` scaffolds a phase and a gate in a folder outside the
//! repository; each is built three ways — `phasehost build` (zero-WASI),
//! `cargo build --target wasm32-wasip2` and `cargo component build`; the
//! plan is written from the scaffolds' snippets, pinned, checked, audited
//! and run (dry and live, SQLite). A gate built with WASI is refused, naming
//! the zero-WASI build.
//!
//! No network: cargo runs offline (the registry cache is warm from the
//! plugin build, which uses the same crates). cargo-component is installed by
//! `scripts/install-cargo-component` (CI runs it). The scaffolds' builds
//! share one target folder under target/.

use phasehost::StopCode;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `phasehost <args>`, its scaffolded builds offline into the shared
/// target folder.
fn phasehost(args: &[&str]) -> (i32, String, String) {
    crate::support::output_of(
        crate::support::phasehost_command()
            .args(args)
            .env("CARGO_TARGET_DIR", shared_target())
            .env("CARGO_NET_OFFLINE", "true"),
    )
}

/// One target folder for every scaffolded build, kept between test runs.
fn shared_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("authoring-target")
}

/// `cargo <args>` in `dir`, offline, into the shared target folder.
fn cargo(dir: &Path, args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", shared_target())
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn has_cargo_component() -> bool {
    Command::new("cargo")
        .args(["component", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `cargo component`, installed by scripts/install-cargo-component (the
/// pinned version, about 15 minutes to compile) when missing, so a plain
/// `cargo test --workspace` on a fresh machine needs nothing by hand; the
/// test fails, never skips, when it cannot be had.
fn cargo_component_is_installed() {
    if !has_cargo_component() {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-cargo-component");
        let status = Command::new(&script).status();
        eprintln!("{}: {status:?}", script.display());
    }
    assert!(
        has_cargo_component(),
        "`cargo component` is missing and scripts/install-cargo-component could not install it"
    );
}

fn json(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The header of the plan, then the gate's and the phase's snippets, with
/// each `component` line pointed at `gate` / `phase` when given.
fn write_plan(root: &Path, file: &str, gate: Option<&Path>, phase: Option<&Path>) -> PathBuf {
    let snippet = |crate_dir: &str, component: Option<&Path>| {
        let text = std::fs::read_to_string(root.join(crate_dir).join("plan-snippet.toml")).unwrap();
        match component {
            None => text,
            Some(path) => text
                .lines()
                .map(|l| {
                    if l.starts_with("component = ") {
                        format!("component = {:?}", path.display().to_string())
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    };
    let text = format!(
        "[plan]\nname = \"hello\"\nplugin_set = \"hello\"\n\n[store]\nsqlite = \"store.sqlite\"\n\n\
         [kb]\npath = \"kb\"\n\n{}\n\n{}\n",
        snippet("hello-gate", gate),
        snippet("hello-phase", phase)
    );
    let path = root.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

/// Pin, check and run `plan` dry; returns the audit of the phase and the
/// phase's evidence document.
fn pin_check_run(plan: &Path, source: &Path, extra: &[&str]) -> (Value, Value) {
    let plan = plan.to_str().unwrap();
    let (status, out, err) = phasehost(&["pin", plan]);
    assert_eq!(status, 0, "{out}{err}");
    let (status, out, err) = phasehost(&["check", plan]);
    assert_eq!(status, 0, "{out}{err}");
    let (status, out, err) = phasehost(&["audit", plan, "--json"]);
    assert_eq!(status, 0, "{err}");
    let audit = json(&out);
    let gate = &audit["plugins"][0]["plugin"];
    assert_eq!(
        gate["imports"],
        serde_json::json!([]),
        "a gate imports nothing"
    );
    let phase = audit["plugins"][1]["plugin"].clone();
    assert_eq!(phase["diff"]["missing"], serde_json::json!([]));
    assert_eq!(
        phase["diff"]["unused"],
        serde_json::json!([]),
        "grants = calls"
    );
    let mut args = vec!["run", plan, "--source", source.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let (status, out, err) = phasehost(&args);
    assert_eq!(status, 0, "{out}{err}");
    let run = json(&out);
    assert_eq!(run["outcome"], "completed", "{run}");
    let folder = Path::new(plan)
        .parent()
        .unwrap()
        .join(run["run_folder"].as_str().unwrap());
    let evidence: Value = serde_json::from_str(
        &std::fs::read_to_string(folder.join("evidence/01-hello_phase.json")).unwrap(),
    )
    .unwrap();
    // The phase's evidence, and the gate's verdict on it.
    assert_eq!(evidence["evidence"]["lines"], 3, "{evidence}");
    assert_eq!(evidence["evidence"]["bytes"], 14, "{evidence}");
    let verdict = &evidence["gates_after"][0];
    assert_eq!(verdict["name"], "G-HELLO-GATE-LINES", "{evidence}");
    assert_eq!(verdict["holds"], true, "{evidence}");
    assert_eq!(verdict["detail"], "hello_phase counted 3 line(s)");
    (phase, evidence)
}

fn names(imports: &Value, kind: &str) -> Vec<String> {
    imports
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == kind)
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_scaffolded_phase_and_gate_build_three_ways_pin_and_run() {
    cargo_component_is_installed();
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    assert!(!root.starts_with(repo), "outside the repository");
    let (phase_dir, gate_dir) = (root.join("hello-phase"), root.join("hello-gate"));

    // 1. Scaffold (the SDK path defaults to this repository's plugins/sdk).
    let (status, out, err) = phasehost(&[
        "new",
        "phase",
        "hello-phase",
        "--dir",
        phase_dir.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{out}{err}");
    let (status, out, err) = phasehost(&[
        "new",
        "gate",
        "hello-gate",
        "--dir",
        gate_dir.to_str().unwrap(),
        "--guards",
        "hello_phase",
    ]);
    assert_eq!(status, 0, "{out}{err}");
    let (status, _, err) = phasehost(&[
        "new",
        "gate",
        "hello-gate",
        "--dir",
        gate_dir.to_str().unwrap(),
    ]);
    assert_eq!(
        status,
        StopCode::AuthorRefused.exit_status(),
        "a non-empty folder: {err}"
    );

    // 2. The scaffolds' own native tests.
    cargo(&phase_dir, &["test", "--quiet"]);
    cargo(&gate_dir, &["test", "--quiet"]);

    // 3. Zero-WASI: `phasehost build`.
    for dir in [&phase_dir, &gate_dir] {
        let (status, out, err) =
            phasehost(&["build", dir.to_str().unwrap(), "--release", "--json"]);
        assert_eq!(status, 0, "{out}{err}");
        let built = &json(&out)["components"][0];
        assert_eq!(built["sha256"].as_str().unwrap().len(), 64, "{out}");
        assert!(
            Path::new(built["path"].as_str().unwrap()).starts_with(dir.join("target/phasehost"))
        );
    }
    let source = root.join("source.txt");
    std::fs::write(&source, "one\ntwo\nthree\n").unwrap();
    let plan = write_plan(root, "plan.toml", None, None);
    let (phase, evidence) = pin_check_run(&plan, &source, &[]);
    assert_eq!(evidence["mode"], "dry");
    assert_eq!(names(&phase["imports"], "capability"), ["source", "log"]);
    assert!(
        names(&phase["imports"], "ambient").is_empty(),
        "zero-WASI: {phase}"
    );
    // Live, on SQLite.
    let host_config = root.join("host.toml");
    std::fs::write(&host_config, "[execution]\nenabled = true\n").unwrap();
    let (_, evidence) = pin_check_run(
        &plan,
        &source,
        &["--live", "--host-config", host_config.to_str().unwrap()],
    );
    assert_eq!(evidence["mode"], "live");
    assert!(root.join("store.sqlite").is_file());
    // A refusal of the phase maps to its stop code.
    let empty = root.join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let (status, out, _) = phasehost(&[
        "run",
        plan.to_str().unwrap(),
        "--source",
        empty.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(status, StopCode::EmptySource.exit_status(), "{out}");

    // 4. Plain cargo for wasm32-wasip2, and 5. cargo-component
    //    (wasm32-wasip1 + the WASI adapter): the phase runs with WASI
    //    linked deny-all; the gate is refused.
    let release =
        |target: &str, name: &str| shared_target().join(target).join("release").join(name);
    // (Plan file names stay short: the argument guard takes a long
    // letters-and-digits run such as `wasm32-wasip2-gate` for a secret.)
    let ways: [(&[&str], &str, &str); 2] = [
        (
            &["build", "--release", "--target", "wasm32-wasip2"],
            "wasm32-wasip2",
            "wasip2",
        ),
        (
            &["component", "build", "--release"],
            "wasm32-wasip1",
            "component",
        ),
    ];
    for (build, target, short) in ways {
        cargo(&phase_dir, build);
        cargo(&gate_dir, build);
        let phase_wasm = release(target, "hello_phase.wasm");
        let plan = write_plan(root, &format!("plan-{short}.toml"), None, Some(&phase_wasm));
        let (phase, _) = pin_check_run(&plan, &source, &[]);
        assert_eq!(
            names(&phase["imports"], "capability"),
            ["source", "log"],
            "{target}"
        );
        let ambient = names(&phase["imports"], "ambient");
        assert!(
            ambient
                .iter()
                .any(|n| n.starts_with("wasi:cli/environment@")),
            "{target}: {ambient:?}"
        );
        eprintln!("{target} phase imports: {:?}", phase["imports"]);

        let gate_wasm = release(target, "hello_gate.wasm");
        let plan = write_plan(root, &format!("gate-{short}.toml"), Some(&gate_wasm), None);
        let plan = plan.to_str().unwrap();
        assert_eq!(phasehost(&["pin", plan]).0, 0);
        let (status, out, _) = phasehost(&["check", plan]);
        assert_eq!(
            status,
            StopCode::GrantExceeded.exit_status(),
            "{target}: {out}"
        );
        assert!(out.contains("a gate plugin must import nothing"), "{out}");
        assert!(
            out.contains("phasehost build <crate-dir>"),
            "the fix: {out}"
        );
    }
}
