//! `phasehost export`: one version of one document of the store as Akoma
//! Ntoso 3.0 XML ([`akn`]) or JSON ([`json`]), and the readers that parse
//! those files back ([`akn_import`], [`json::import`]).
//!
//! The store is untrusted here. [`load`] reads the document's rows in one
//! read snapshot and refuses (`export-refused`), before anything is written:
//! a unit whose text's sha256 is not its `text_sha`, a character XML 1.0
//! cannot carry (in any exported field), an eId that is not one token, an
//! unknown kind, two units with one eId, and a tree the document order
//! cannot nest (a parent that is not an enclosing unit before it, a
//! preamble that is not first, a closing that is not last). docs/EXPORT.md
//! has the mapping.

pub mod akn;
pub mod akn_import;
mod frbr;
pub mod json;

pub use frbr::{Frbr, work_date_in};

use crate::plan::load_plan;
use crate::run::host_config::HostConfig;
use crate::run::ids;
use crate::run::store_open;
use crate::stop::{Stop, StopCode};
use crate::store::{Row, Scope, StoreBackend};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Akoma Ntoso 3.0 XML.
    Akn,
    /// JSON (`phasehost-export/v1`).
    Json,
}

/// The kind of a unit: the store's `kind` names, in hierarchy order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Text before the first structural marker.
    Preamble,
    /// Phần.
    Part,
    /// Chương.
    Chapter,
    /// Mục.
    Section,
    /// Tiểu mục.
    Subsection,
    /// Điều.
    Article,
    /// Khoản.
    Clause,
    /// Điểm.
    Point,
    /// Enactment sentence, signature and what follows.
    Closing,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 9] = [
        Kind::Preamble,
        Kind::Part,
        Kind::Chapter,
        Kind::Section,
        Kind::Subsection,
        Kind::Article,
        Kind::Clause,
        Kind::Point,
        Kind::Closing,
    ];

    /// The store's name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Preamble => "preamble",
            Kind::Part => "part",
            Kind::Chapter => "chapter",
            Kind::Section => "section",
            Kind::Subsection => "subsection",
            Kind::Article => "article",
            Kind::Clause => "clause",
            Kind::Point => "point",
            Kind::Closing => "closing",
        }
    }

    /// The Akoma Ntoso element the kind is exported as.
    pub fn element(self) -> &'static str {
        match self {
            Kind::Preamble => "preamble",
            Kind::Part => "part",
            Kind::Chapter => "chapter",
            Kind::Section => "section",
            Kind::Subsection => "subsection",
            Kind::Article => "article",
            Kind::Clause => "paragraph",
            Kind::Point => "point",
            Kind::Closing => "conclusions",
        }
    }

    /// The kind a store name or an Akoma Ntoso element stands for.
    pub fn from_store(name: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The kind exported as element `name`.
    pub fn from_element(name: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.element() == name)
    }

    /// Whether units of this kind sit in `<body>` (not preamble or closing).
    pub fn in_body(self) -> bool {
        !matches!(self, Kind::Preamble | Kind::Closing)
    }
}

/// One exported unit: what both formats carry, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    /// The store's eId.
    pub eid: String,
    /// The work-level id: equal to the eId (see docs/EXPORT.md).
    pub wid: String,
    /// The enclosing unit's eId (the store's `parent_eid`).
    pub parent_eid: Option<String>,
    /// The kind.
    pub kind: Kind,
    /// The number as written ("I", "5", "a"); empty when none.
    pub number: String,
    /// The heading; empty when none.
    pub heading: String,
    /// The unit's own text, exactly as stored.
    pub text: String,
    /// sha256 (lowercase hex) of `text`, checked.
    pub text_sha: String,
}

/// One document version, as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// The document id.
    pub document_id: String,
    /// The store's version label.
    pub version: String,
    /// The document's title in the store (empty when it has none).
    pub title: String,
    /// The FRBR identifiers.
    pub frbr: Frbr,
    /// The units in document order (the store's `seq`).
    pub units: Vec<Unit>,
}

fn refused(message: impl Into<String>) -> Stop {
    Stop::new(StopCode::ExportRefused, message)
}

fn store_failed(e: impl std::fmt::Display) -> Stop {
    Stop::new(StopCode::StoreFailed, format!("cannot read the store: {e}"))
}

/// sha256 (lowercase hex) of a text.
pub fn sha256_hex(text: &str) -> String {
    crate::digest::sha256_hex(text.as_bytes())
}

/// The first character of `text` that XML 1.0 cannot carry (its `Char`
/// production: controls other than tab, LF and CR, and U+FFFE, U+FFFF),
/// with its character index.
pub fn forbidden_char(text: &str) -> Option<(usize, char)> {
    text.chars().enumerate().find(|(_, c)| {
        let c = *c as u32;
        (c < 0x20 && !matches!(c, 0x09 | 0x0A | 0x0D)) || c == 0xFFFE || c == 0xFFFF
    })
}

/// Refuses `value` when it holds a character XML 1.0 cannot carry.
fn check_chars(what: &str, value: &str) -> Result<(), Stop> {
    match forbidden_char(value) {
        None => Ok(()),
        Some((at, c)) => Err(refused(format!(
            "{what} holds U+{:04X} at character {at}, which XML 1.0 cannot carry; the store's row must be fixed",
            c as u32
        ))),
    }
}

/// Whether `id` can be an eId, a wId or a version label in a FRBR URI: 1–200
/// ASCII letters, digits, '_', '-' or '.'.
pub fn is_token(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn text_of(row: &Row, column: &str, what: &str) -> Result<String, Stop> {
    match row.get(column) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(serde_json::Value::Null) | None => Ok(String::new()),
        Some(other) => Err(refused(format!(
            "{what}: column {column} is not text ({other})"
        ))),
    }
}

/// Checks units in document order: ids, kinds, characters, digests and the
/// tree (see the module's doc). Shared by [`load`] and the importers.
pub fn check_units(units: &[Unit]) -> Result<(), Stop> {
    let body = units.iter().filter(|u| u.kind.in_body()).count();
    if body == 0 {
        return Err(refused(
            "the version has no unit to put in <body> (no part, chapter, section, article, clause or point)",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    // The eIds of the units that enclose the current position.
    let mut open: Vec<&str> = Vec::new();
    for (i, u) in units.iter().enumerate() {
        let at = format!("unit {} ({})", i + 1, u.eid.escape_debug());
        if !is_token(&u.eid) || !is_token(&u.wid) {
            return Err(refused(format!(
                "{at}: an eId or wId must be 1-200 ASCII letters, digits, '_', '-' or '.'"
            )));
        }
        if !seen.insert(u.eid.as_str()) {
            return Err(refused(format!("{at}: the eId occurs twice")));
        }
        for (what, value) in [
            ("number", &u.number),
            ("heading", &u.heading),
            ("text", &u.text),
        ] {
            check_chars(&format!("{at}: its {what}"), value)?;
        }
        let sha = sha256_hex(&u.text);
        if sha != u.text_sha {
            return Err(refused(format!(
                "{at}: the sha256 of its text is {sha}, not its text_sha {}; the store's row was changed",
                u.text_sha.escape_debug()
            )));
        }
        match u.kind {
            Kind::Preamble | Kind::Closing => {
                let place_ok = if u.kind == Kind::Preamble {
                    i == 0
                } else {
                    i + 1 == units.len()
                };
                if !place_ok || u.parent_eid.is_some() {
                    return Err(refused(format!(
                        "{at}: a {} must be the {} unit and have no parent",
                        u.kind.as_str(),
                        if u.kind == Kind::Preamble {
                            "first"
                        } else {
                            "last"
                        }
                    )));
                }
                if !u.number.is_empty() || !u.heading.is_empty() {
                    return Err(refused(format!(
                        "{at}: a {} has no number or heading in Akoma Ntoso",
                        u.kind.as_str()
                    )));
                }
                open.clear();
            }
            _ => {
                match &u.parent_eid {
                    None => open.clear(),
                    Some(parent) => {
                        let Some(depth) = open.iter().rposition(|e| *e == parent.as_str()) else {
                            return Err(refused(format!(
                                "{at}: its parent {} is not a unit that encloses it in document order",
                                parent.escape_debug()
                            )));
                        };
                        open.truncate(depth + 1);
                    }
                }
                open.push(&u.eid);
            }
        }
    }
    Ok(())
}

/// Reads version `version` (default: the one in force) of `document_id`
/// from `store` in one read snapshot, and checks it ([`check_units`]).
/// `work_date`, when given, replaces the date found in the text.
pub fn load(
    store: &mut dyn StoreBackend,
    document_id: &str,
    version: Option<&str>,
    work_date: Option<&str>,
) -> Result<Export, Stop> {
    if !ids::is_document_id(document_id) {
        return Err(refused(format!(
            "`{}` is not a document id (ASCII letters, digits, '-', '_' or '.')",
            document_id.escape_debug()
        )));
    }
    let scope = Scope {
        document_id: document_id.to_string(),
    };
    // Plugin-table reads run in a transaction; it is rolled back, so the
    // export writes nothing to the store.
    store.begin().map_err(store_failed)?;
    let picked = document_and_versions(store, &scope)
        .map_err(store_failed)
        .and_then(|(documents, versions)| {
            title_and_version(document_id, &documents, &versions, version)
        });
    let (title, version) = match picked {
        Ok(r) => r,
        Err(stop) => {
            let _ = store.rollback();
            return Err(stop);
        }
    };
    let rows = store.select("units", &scope, &[("version".to_string(), version.clone())]);
    let _ = store.rollback();
    let rows = rows.map_err(store_failed)?;
    let units = rows
        .iter()
        .enumerate()
        .map(|(i, row)| unit_of(i, row))
        .collect::<Result<Vec<_>, _>>()?;
    check_units(&units)?;
    let frbr = Frbr::new(document_id, &version, work_date, &units)?;
    Ok(Export {
        document_id: document_id.to_string(),
        version,
        title,
        frbr,
        units,
    })
}

/// The document's `documents` and `source_versions` rows.
fn document_and_versions(
    store: &mut dyn StoreBackend,
    scope: &Scope,
) -> Result<(Vec<Row>, Vec<Row>), crate::store::StoreError> {
    let documents = store.select("documents", scope, &[])?;
    let versions = store.select("source_versions", scope, &[])?;
    Ok((documents, versions))
}

/// The document's title and the version to export: `requested`, or else
/// the one version in force; it must be able to name an FRBR expression.
fn title_and_version(
    document_id: &str,
    documents: &[Row],
    versions: &[Row],
    requested: Option<&str>,
) -> Result<(String, String), Stop> {
    let Some(document) = documents.first() else {
        return Err(refused(format!(
            "document `{document_id}` is not in the store"
        )));
    };
    let title = text_of(document, "title", "the document")?;
    let labels: Vec<String> = versions
        .iter()
        .map(|v| text_of(v, "version", "a source version"))
        .collect::<Result<_, _>>()?;
    let version = match requested {
        Some(v) => {
            if !labels.iter().any(|l| l == v) {
                return Err(refused(format!(
                    "document `{document_id}` has no version `{}` (versions: {})",
                    v.escape_debug(),
                    labels.join(", ")
                )));
            }
            v.to_string()
        }
        None => version_in_force(document_id, versions, &labels)?,
    };
    if !is_token(&version) {
        return Err(refused(format!(
            "version `{}` cannot name an FRBR expression: 1-200 ASCII letters, digits, '_', '-' or '.'",
            version.escape_debug()
        )));
    }
    check_chars("the document's title", &title)?;
    Ok((title, version))
}

/// The label of the one version whose `status` is `in_force` (`labels`
/// are the versions' labels, in the same order).
fn version_in_force(
    document_id: &str,
    versions: &[Row],
    labels: &[String],
) -> Result<String, Stop> {
    let in_force: Vec<&String> = versions
        .iter()
        .zip(labels)
        .filter(|(row, _)| row.get("status").and_then(|s| s.as_str()) == Some("in_force"))
        .map(|(_, label)| label)
        .collect();
    match in_force.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(refused(format!(
            "document `{document_id}` has no version in force; name one with --version (versions: {})",
            labels.join(", ")
        ))),
        _ => Err(refused(format!(
            "document `{document_id}` has {} versions in force; name one with --version",
            in_force.len()
        ))),
    }
}

fn unit_of(i: usize, row: &Row) -> Result<Unit, Stop> {
    let at = format!("unit {}", i + 1);
    let eid = text_of(row, "eid", &at)?;
    let kind_name = text_of(row, "kind", &at)?;
    let kind = Kind::from_store(&kind_name).ok_or_else(|| {
        refused(format!(
            "{at} ({}): unknown kind `{}`",
            eid.escape_debug(),
            kind_name.escape_debug()
        ))
    })?;
    let parent_eid = match row.get("parent_eid") {
        Some(serde_json::Value::String(p)) => Some(p.clone()),
        _ => None,
    };
    Ok(Unit {
        wid: eid.clone(),
        eid,
        parent_eid,
        kind,
        number: text_of(row, "number", &at)?,
        heading: text_of(row, "heading", &at)?,
        text: text_of(row, "text", &at)?,
        text_sha: text_of(row, "text_sha", &at)?,
    })
}

/// What `phasehost export` is asked to do.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The plan file: its store.
    pub plan: PathBuf,
    /// The operator's host config (read and checked; nothing in it changes
    /// an export today).
    pub host_config: Option<PathBuf>,
    /// The document id.
    pub document: String,
    /// The version label; default the version in force.
    pub version: Option<String>,
    /// The work date (`YYYY-MM-DD`); default the date found in the text.
    pub work_date: Option<String>,
    /// The format.
    pub format: Format,
    /// The file to write; it must not exist.
    pub out: PathBuf,
}

/// What `phasehost export` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The document id.
    pub document_id: String,
    /// The version exported.
    pub version: String,
    /// `akn` or `json`.
    pub format: &'static str,
    /// Units exported.
    pub units: usize,
    /// The FRBR expression URI.
    pub expression: String,
    /// The file written.
    pub out: PathBuf,
    /// Bytes written.
    pub bytes: usize,
    /// sha256 (lowercase hex) of the file.
    pub sha256: String,
}

/// Renders `export` in `format`.
pub fn render(export: &Export, format: Format) -> Result<Vec<u8>, Stop> {
    match format {
        Format::Akn => akn::write(export),
        Format::Json => json::write(export),
    }
}

/// `phasehost export`: read, check, render, then write `out` (never over an
/// existing file).
pub fn export(request: &ExportRequest) -> Result<ExportReport, Stop> {
    let plan =
        load_plan(&request.plan).map_err(|e| Stop::new(StopCode::PlanInvalid, e.to_string()))?;
    HostConfig::load(request.host_config.as_deref())?;
    if request.out.symlink_metadata().is_ok() {
        return Err(refused(format!(
            "{} exists; phasehost export never overwrites a file: choose another --out",
            request.out.display()
        )));
    }
    let mut store = store_open::open_backend(&plan)?
        .ok_or_else(|| Stop::new(StopCode::PlanInvalid, "the plan names no store ([store])"))?;
    let export = load(
        store.as_mut(),
        &request.document,
        request.version.as_deref(),
        request.work_date.as_deref(),
    )?;
    drop(store);
    let bytes = render(&export, request.format)?;
    write_new(&request.out, &bytes)?;
    Ok(ExportReport {
        document_id: export.document_id,
        version: export.version,
        format: match request.format {
            Format::Akn => "akn",
            Format::Json => "json",
        },
        units: export.units.len(),
        expression: export.frbr.expression_uri,
        out: request.out.clone(),
        bytes: bytes.len(),
        sha256: crate::digest::sha256_hex(&bytes),
    })
}

/// Writes `bytes` to `out`, which must not exist: a temp file beside it
/// (created new, synced), then hard-linked to `out` (which fails when `out`
/// exists, atomically: a reader never sees a half-written file, and an
/// existing file or symlink is never replaced).
fn write_new(out: &Path, bytes: &[u8]) -> Result<(), Stop> {
    let failed = |e: std::io::Error| {
        Stop::new(
            StopCode::KbWriteFailed,
            format!("cannot write {}: {e}", out.display()),
        )
    };
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = out
        .file_name()
        .ok_or_else(|| refused(format!("--out {} names no file", out.display())))?;
    let tmp = dir.join(format!(
        ".{}.export-{}-{:016x}",
        name.to_string_lossy(),
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut file = phasehost_policy::safe_fs::create_new(&tmp).map_err(failed)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, out));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(refused(format!(
            "{} exists; phasehost export never overwrites a file: choose another --out",
            out.display()
        ))),
        Err(e) => Err(failed(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(eid: &str, parent: Option<&str>, kind: Kind, text: &str) -> Unit {
        Unit {
            eid: eid.into(),
            wid: eid.into(),
            parent_eid: parent.map(Into::into),
            kind,
            number: String::new(),
            heading: String::new(),
            text: text.into(),
            text_sha: sha256_hex(text),
        }
    }

    #[test]
    fn forbidden_characters_are_the_xml_1_0_ones() {
        assert_eq!(forbidden_char("a\tb\nc\rd é"), None);
        assert_eq!(forbidden_char("ab\u{7}"), Some((2, '\u{7}')));
        assert_eq!(forbidden_char("\u{0}"), Some((0, '\u{0}')));
        assert_eq!(forbidden_char("x\u{FFFE}"), Some((1, '\u{FFFE}')));
        assert_eq!(forbidden_char("\u{1F}"), Some((0, '\u{1F}')));
        assert_eq!(forbidden_char("\u{7F}\u{85}\u{10000}"), None);
    }

    #[test]
    fn the_tree_must_nest_in_document_order() {
        let good = vec![
            unit("preamble", None, Kind::Preamble, "P\n"),
            unit("chp_1", None, Kind::Chapter, "Chương I\n"),
            unit("art_1", Some("chp_1"), Kind::Article, "Điều 1.\n"),
            unit("art_1__para_1", Some("art_1"), Kind::Clause, "1. x\n"),
            unit("art_2", Some("chp_1"), Kind::Article, "Điều 2.\n"),
            unit("conclusions", None, Kind::Closing, "end"),
        ];
        check_units(&good).unwrap();
        // A parent that was closed already (art_2 ends art_1).
        let mut bad = good.clone();
        bad.swap(3, 4);
        assert!(check_units(&bad).is_err());
        // A preamble that is not first.
        let mut bad = good.clone();
        bad.swap(0, 1);
        assert!(check_units(&bad).is_err());
        // A repeated eId, a bad eId, a wrong digest.
        let mut bad = good.clone();
        bad[4].eid = "art_1".into();
        assert!(check_units(&bad).is_err());
        let mut bad = good.clone();
        bad[4].eid = "art 2".into();
        assert!(check_units(&bad).is_err());
        let mut bad = good;
        bad[2].text_sha = sha256_hex("other");
        let err = check_units(&bad).unwrap_err();
        assert_eq!(err.code, StopCode::ExportRefused);
        assert!(err.message.contains("text_sha"), "{err}");
    }
}
