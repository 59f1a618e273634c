//! `phasehost new phase|gate NAME`: a plugin crate from the templates in
//! `host/templates/` (Cargo.toml, src/lib.rs with a working example and
//! native tests, plan-snippet.toml, README.md).

use super::refused;
use crate::stop::Stop;
use std::path::{Path, PathBuf};

/// What kind of plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// World `phase-plugin`.
    Phase,
    /// World `gate-plugin`.
    Gate,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Phase => "phase",
            Kind::Gate => "gate",
        }
    }
}

const CARGO_TOML: &str = include_str!("../../templates/common/Cargo.toml.tmpl");
const PHASE_FILES: [(&str, &str); 3] = [
    (
        "src/lib.rs",
        include_str!("../../templates/phase/lib.rs.tmpl"),
    ),
    (
        "plan-snippet.toml",
        include_str!("../../templates/phase/plan-snippet.toml.tmpl"),
    ),
    (
        "README.md",
        include_str!("../../templates/phase/README.md.tmpl"),
    ),
];
const GATE_FILES: [(&str, &str); 3] = [
    (
        "src/lib.rs",
        include_str!("../../templates/gate/lib.rs.tmpl"),
    ),
    (
        "plan-snippet.toml",
        include_str!("../../templates/gate/plan-snippet.toml.tmpl"),
    ),
    (
        "README.md",
        include_str!("../../templates/gate/README.md.tmpl"),
    ),
];

/// The SDK of the repository this binary was built from.
pub fn default_sdk_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk")
}

/// A crate name phasehost accepts: 1–64 of lowercase ASCII letters, digits
/// and single `-` between them, starting with a letter. (The phase or gate
/// name is the same with `_`, which the host's plan names accept.)
pub fn validate_name(name: &str) -> Result<(), Stop> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(refused(format!(
            "`{name}` is not a plugin name: use 1 to 64 lowercase letters, digits and single `-`, \
             starting with a letter (e.g. `count-lines`)"
        )))
    }
}

/// What `new` needs.
#[derive(Debug, Clone)]
pub struct Request {
    /// Phase or gate.
    pub kind: Kind,
    /// The crate name.
    pub name: String,
    /// The folder to write (absent or empty).
    pub dir: PathBuf,
    /// The phasehost-sdk folder the crate depends on.
    pub sdk_path: PathBuf,
    /// For a gate: the phase its example predicate guards.
    pub guards: Option<String>,
}

/// The files of a new crate, `(relative path, text)`.
pub fn render(req: &Request) -> Result<Vec<(&'static str, String)>, Stop> {
    validate_name(&req.name)?;
    let sdk = std::fs::canonicalize(&req.sdk_path).unwrap_or_else(|_| req.sdk_path.clone());
    if !sdk.join("Cargo.toml").is_file() {
        return Err(refused(format!(
            "{} is not the phasehost-sdk crate (no Cargo.toml): pass --sdk-path <the folder of plugins/sdk>",
            sdk.display()
        )));
    }
    let sdk = sdk
        .to_str()
        .ok_or_else(|| refused("the SDK path is not UTF-8"))?;
    if sdk.contains(['"', '\\', '\n']) {
        return Err(refused(format!(
            "the SDK path {sdk:?} cannot be written into Cargo.toml"
        )));
    }
    let ident = req.name.replace('-', "_");
    let guards = req.guards.clone().unwrap_or_else(|| "my_phase".into());
    if guards.is_empty()
        || !guards
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(refused(format!("`{guards}` is not a phase name")));
    }
    let predicate = format!("G-{}-LINES", req.name.to_ascii_uppercase());
    let fill = |template: &str| {
        template
            .replace("{{crate_name}}", &req.name)
            .replace("{{ident}}", &ident)
            .replace("{{kind}}", req.kind.as_str())
            .replace("{{sdk_path}}", sdk)
            .replace("{{wit_version}}", crate::plan::PACKAGE_VERSION)
            .replace("{{guards}}", &guards)
            .replace("{{predicate}}", &predicate)
    };
    let mut files = vec![("Cargo.toml", fill(CARGO_TOML))];
    let kind_files = match req.kind {
        Kind::Phase => PHASE_FILES,
        Kind::Gate => GATE_FILES,
    };
    files.extend(kind_files.iter().map(|(path, t)| (*path, fill(t))));
    Ok(files)
}

/// Write a new crate; the folder must be absent or empty.
pub fn create(req: &Request) -> Result<Vec<PathBuf>, Stop> {
    let files = render(req)?;
    let dir = &req.dir;
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).map_err(|e| refused(format!("{}: {e}", dir.display())))?;
        if entries.next().is_some() {
            return Err(refused(format!(
                "{} is not empty; `phasehost new` writes only into an absent or empty folder",
                dir.display()
            )));
        }
    }
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| refused(format!("{}: {e}", parent.display())))?;
        }
        crate::fsutil::write_atomic(&path, text.as_bytes())
            .map_err(|e| refused(format!("{}: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(dir: &Path, name: &str) -> Request {
        Request {
            kind: Kind::Gate,
            name: name.into(),
            dir: dir.to_path_buf(),
            sdk_path: default_sdk_path(),
            guards: Some("count_lines".into()),
        }
    }

    #[test]
    fn names_are_validated() {
        for good in ["a", "count-lines", "g2"] {
            validate_name(good).unwrap();
        }
        for bad in [
            "",
            "Count",
            "1a",
            "a_b",
            "a-",
            "a--b",
            "../x",
            "a b",
            &"a".repeat(65),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_placeholder_is_filled() {
        let dir = tempfile::tempdir().unwrap();
        for kind in [Kind::Phase, Kind::Gate] {
            let req = Request {
                kind,
                ..request(dir.path(), "count-lines")
            };
            for (path, text) in render(&req).unwrap() {
                assert!(!text.contains("{{"), "{path}: {text}");
            }
        }
    }

    #[test]
    fn a_non_empty_folder_is_refused_and_left_as_is() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let err = create(&request(dir.path(), "my-gate")).unwrap_err();
        assert_eq!(err.code, crate::StopCode::AuthorRefused);
        assert!(err.message.contains("not empty"), "{}", err.message);
        assert!(!dir.path().join("Cargo.toml").exists());
        let err = create(&request(&dir.path().join("new"), "My-Gate")).unwrap_err();
        assert!(err.message.contains("not a plugin name"), "{}", err.message);
        assert!(
            !dir.path().join("new").exists(),
            "nothing made for a bad name"
        );
    }
}
