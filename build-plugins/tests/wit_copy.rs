//! The SDK's WIT copy must equal `wit/`: the repository's does, and a copy
//! that differs, misses or adds a file is refused, naming it.

use phasehost_build_plugins::{SDK_WIT_DIR, WIT_DIR, check_wit_copy};
use std::path::Path;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// A scratch repository with `wit/` and the SDK copy both holding the real files.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in [WIT_DIR, SDK_WIT_DIR] {
        let to = dir.path().join(sub);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(repo_root().join(WIT_DIR)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

#[test]
fn the_repositorys_sdk_copy_equals_wit() {
    check_wit_copy(repo_root()).unwrap();
}

#[test]
fn an_identical_copy_passes() {
    check_wit_copy(scratch().path()).unwrap();
}

#[test]
fn a_changed_file_is_refused_by_name() {
    let dir = scratch();
    let file = dir.path().join(SDK_WIT_DIR).join("phase.wit");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\n// drift\n");
    std::fs::write(&file, text).unwrap();
    let err = check_wit_copy(dir.path()).unwrap_err().to_string();
    assert!(err.contains("phase.wit differs"), "{err}");
    assert!(err.contains("cp wit/*.wit plugins/sdk/wit/"), "{err}");
}

#[test]
fn a_missing_or_extra_file_is_refused_by_name() {
    let dir = scratch();
    std::fs::remove_file(dir.path().join(SDK_WIT_DIR).join("gate.wit")).unwrap();
    std::fs::write(dir.path().join(SDK_WIT_DIR).join("extra.wit"), "").unwrap();
    let err = check_wit_copy(dir.path()).unwrap_err().to_string();
    assert!(err.contains("gate.wit is missing"), "{err}");
    assert!(err.contains("extra.wit is in plugins/sdk/wit"), "{err}");
}

#[test]
fn a_change_in_wit_alone_is_refused_too() {
    let dir = scratch();
    std::fs::write(dir.path().join(WIT_DIR).join("log.wit"), "package x:y;\n").unwrap();
    let err = check_wit_copy(dir.path()).unwrap_err().to_string();
    assert!(err.contains("log.wit differs"), "{err}");
}
