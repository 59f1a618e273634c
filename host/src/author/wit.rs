//! The WIT package `phasehost:plugin`, embedded in the binary so an
//! installed `phasehost` can hand it to authors (`phasehost wit --out DIR`).

use super::refused;
use crate::stop::Stop;
use std::path::{Path, PathBuf};

/// Every file of `wit/`, by name. A test keeps this list equal to the folder.
pub const FILES: &[(&str, &str)] = &[
    ("artifacts.wit", include_str!("../../../wit/artifacts.wit")),
    ("gate.wit", include_str!("../../../wit/gate.wit")),
    ("log.wit", include_str!("../../../wit/log.wit")),
    ("phase.wit", include_str!("../../../wit/phase.wit")),
    ("source.wit", include_str!("../../../wit/source.wit")),
    (
        "store-read.wit",
        include_str!("../../../wit/store-read.wit"),
    ),
    (
        "store-write.wit",
        include_str!("../../../wit/store-write.wit"),
    ),
    ("types.wit", include_str!("../../../wit/types.wit")),
    ("worlds.wit", include_str!("../../../wit/worlds.wit")),
];

/// What `write` did to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The file was absent and is written.
    Written,
    /// The file held these bytes already.
    Unchanged,
    /// The file differed and `force` replaced it.
    Replaced,
}

/// Write the package into `out` (created if missing). A file that exists
/// with other bytes is refused unless `force`; any other `.wit` file in
/// `out` is refused always (wit-bindgen would read it as part of the
/// package). Nothing is written unless every file may be.
pub fn write(out: &Path, force: bool) -> Result<Vec<(PathBuf, Outcome)>, Stop> {
    if out.exists() && !out.is_dir() {
        return Err(refused(format!(
            "{} exists and is not a folder",
            out.display()
        )));
    }
    let io = |e: std::io::Error, p: &Path| refused(format!("{}: {e}", p.display()));
    if out.is_dir() {
        for entry in std::fs::read_dir(out).map_err(|e| io(e, out))? {
            let path = entry.map_err(|e| io(e, out))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".wit") && !FILES.iter().any(|(f, _)| *f == name) {
                return Err(refused(format!(
                    "{} is not part of the package phasehost:plugin@{}; wit-bindgen would read it \
                     with the package: remove it or choose another --out",
                    path.display(),
                    crate::plan::PACKAGE_VERSION
                )));
            }
        }
    }
    let mut plan = Vec::new();
    let mut differing = Vec::new();
    for (name, text) in FILES {
        let path = out.join(name);
        let outcome = match std::fs::read(&path) {
            Ok(have) if have == text.as_bytes() => Outcome::Unchanged,
            Ok(_) => {
                differing.push(path.display().to_string());
                Outcome::Replaced
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Outcome::Written,
            Err(e) => return Err(io(e, &path)),
        };
        plan.push((path, text, outcome));
    }
    if !differing.is_empty() && !force {
        return Err(refused(format!(
            "{} differ from this phasehost's WIT (phasehost:plugin@{}); nothing was written: pass \
             --force to replace them",
            differing.join(", "),
            crate::plan::PACKAGE_VERSION
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| io(e, out))?;
    let mut done = Vec::new();
    for (path, text, outcome) in plan {
        if outcome != Outcome::Unchanged {
            crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| io(e, &path))?;
        }
        done.push((path, outcome));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_files_are_the_wit_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let embedded: Vec<&str> = FILES.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, embedded, "add the new file to author::wit::FILES");
        for (name, text) in FILES {
            assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), *text);
        }
    }

    #[test]
    fn a_differing_file_is_refused_without_force_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("log.wit"), "changed").unwrap();
        let err = write(dir.path(), false).unwrap_err();
        assert_eq!(err.code, crate::StopCode::AuthorRefused);
        assert!(err.message.contains("log.wit"), "{}", err.message);
        assert!(!dir.path().join("phase.wit").exists(), "nothing written");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("log.wit")).unwrap(),
            "changed"
        );
        let done = write(dir.path(), true).unwrap();
        assert!(
            done.iter()
                .any(|(p, o)| p.ends_with("log.wit") && *o == Outcome::Replaced)
        );
        let again = write(dir.path(), false).unwrap();
        assert!(again.iter().all(|(_, o)| *o == Outcome::Unchanged));
    }

    #[test]
    fn a_foreign_wit_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("extra.wit"), "package a:b;").unwrap();
        let err = write(dir.path(), true).unwrap_err();
        assert!(err.message.contains("extra.wit"), "{}", err.message);
        assert!(!dir.path().join("phase.wit").exists());
    }
}
