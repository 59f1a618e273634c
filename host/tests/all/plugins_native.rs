//! The plugins workspace is a workspace of its own (its crates build for
//! wasm), so `cargo test --workspace` here does not reach the native unit
//! tests of its domain crates. This test runs them: iu-core (structure,
//! cut, probes, the corpus table), iu-phases (every phase natively, with an
//! in-memory store), iu-gates (every predicate made to fail; descriptors
//! and plan agree), the SDK (store contract, macros) and iu-cut-phases
//! (each phase's export type-checks natively).

use std::process::Command;

#[test]
fn the_plugin_domain_crates_pass_their_native_tests() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO"))
        .current_dir(root.join("plugins"))
        .args(["test"])
        .args([
            "-p",
            "iu-core",
            "-p",
            "iu-phases",
            "-p",
            "iu-gates",
            "-p",
            "phasehost-sdk",
            "-p",
            "iu-cut-phases",
            "-p",
            "csv-rows",
        ])
        .env(
            "CARGO_TARGET_DIR",
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugins-native"),
        )
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let passed: usize = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum();
    for lib in [
        "iu_core",
        "iu_phases",
        "iu_gates",
        "phasehost_sdk",
        "iu_cut_phases",
    ] {
        assert!(
            stderr.contains(&format!("/{lib}-")),
            "the tests of {lib} did not run: {stderr}"
        );
    }
    assert!(passed > 0, "{stdout}");
    println!("plugins workspace: {passed} native tests passed");
}
