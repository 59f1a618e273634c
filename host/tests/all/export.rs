//! `phasehost export`: the Constitution cut live on SQLite through both
//! approvals, exported as Akoma Ntoso and JSON, validated against the
//! official AKN 3.0 schema (vendor/akn/) with xmllint and read back to the
//! store's units; and the refusals on a small store written by hand
//! (unknown document or version, a text whose sha256 is not its text_sha,
//! a control character XML cannot carry, an --out that exists).

use crate::iu_cut::IuCut;
use crate::support::*;
use phasehost::StopCode;
use phasehost::export::{self, ExportRequest, Format, Kind, akn_import};
use phasehost::run::Outcome;
use phasehost::store::{Row, Scope};
use phasehost_test_artifacts::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn has_xmllint() -> bool {
    Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// xmllint, installed by scripts/install-test-tools (once) when missing;
/// a test that needs it fails, never skips, when it cannot be had.
fn require_xmllint() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if !has_xmllint() {
            let status = Command::new(repo().join("scripts/install-test-tools")).status();
            eprintln!("scripts/install-test-tools: {status:?}");
        }
    });
    assert!(
        has_xmllint(),
        "xmllint is missing and scripts/install-test-tools could not install it \
         (it needs apt-get and root): install Debian's libxml2-utils, then run the tests again"
    );
}

/// `xmllint --schema` against the vendored Akoma Ntoso 3.0 schema, never
/// touching the network.
fn validate_akn(file: &Path) {
    require_xmllint();
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(repo().join("vendor/akn/akomantoso30.xsd"))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} does not validate:\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn request(plan: &Path, document: &str, format: Format, out: PathBuf) -> ExportRequest {
    ExportRequest {
        plan: plan.to_path_buf(),
        host_config: None,
        document: document.into(),
        version: None,
        work_date: None,
        format,
        out,
    }
}

/// The store's units of a version, read with SQL of our own, in `seq`
/// order: (eid, parent_eid, kind, number, heading, text, text_sha).
type StoreUnit = (
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
);
fn store_units(db: &Path, document: &str, version: &str) -> Vec<StoreUnit> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT eid, parent_eid, kind, number, heading, text, lower(hex(text_sha)) FROM units \
             WHERE document_id = ?1 AND version = ?2 ORDER BY seq",
        )
        .unwrap();
    stmt.query_map([document, version], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn as_store_units(export: &export::Export) -> Vec<StoreUnit> {
    export
        .units
        .iter()
        .map(|u| {
            (
                u.eid.clone(),
                u.parent_eid.clone(),
                u.kind.as_str().to_string(),
                u.number.clone(),
                u.heading.clone(),
                u.text.clone(),
                u.text_sha.clone(),
            )
        })
        .collect()
}

#[test]
fn the_constitution_exports_to_valid_akoma_ntoso_and_json_that_read_back_to_the_store() {
    let iu = IuCut::new(|_| {});
    let (_, outcome) = iu.run(&corpus("hien-phap.txt"), true);
    assert_eq!(outcome, Outcome::Completed, "{outcome:?}");
    let out = tempfile::tempdir().unwrap();
    let akn_file = out.path().join("hien-phap.akn.xml");
    let json_file = out.path().join("hien-phap.json");
    let akn = export::export(&request(
        &iu.plan,
        "hien-phap",
        Format::Akn,
        akn_file.clone(),
    ))
    .unwrap_or_else(|s| panic!("{s}"));
    let js = export::export(&request(
        &iu.plan,
        "hien-phap",
        Format::Json,
        json_file.clone(),
    ))
    .unwrap();
    assert_eq!(akn.units, js.units);
    assert_eq!(
        akn.expression,
        format!("/akn/vn/act/2013/hien-phap/vie@{}", akn.version)
    );

    validate_akn(&akn_file);

    // Read both files back: the same units as the store, field for field.
    let from_store = store_units(&iu.store_path(), "hien-phap", &akn.version);
    assert_eq!(from_store.len(), akn.units);
    let xml = std::fs::read_to_string(&akn_file).unwrap();
    let from_akn = akn_import::import(&xml).unwrap_or_else(|s| panic!("{s}"));
    let from_json = export::json::import(&std::fs::read_to_string(&json_file).unwrap()).unwrap();
    assert_eq!(as_store_units(&from_akn), from_store);
    assert_eq!(from_akn, from_json);
    assert!(from_akn.units.iter().all(|u| u.wid == u.eid));
    let count = |kind: Kind| from_akn.units.iter().filter(|u| u.kind == kind).count();
    assert_eq!(count(Kind::Chapter), 11);
    assert_eq!(count(Kind::Article), 120);
    assert_eq!(count(Kind::Preamble), 1);
    assert_eq!(count(Kind::Closing), 1);
    assert_eq!(from_akn.frbr.date, "2013-11-28");
    assert_eq!(from_akn.frbr.language, "vie");
    assert_eq!(from_akn.frbr.country, "vn");

    // What the XML looks like where a reader meets it.
    for needle in [
        "<akomaNtoso xmlns=\"http://docs.oasis-open.org/legaldocml/ns/akn/3.0\">",
        "<act name=\"hien-phap\">",
        "<identification source=\"#phasehost\">",
        "<FRBRthis value=\"/akn/vn/act/2013/hien-phap/!main\"/>",
        "<FRBRlanguage language=\"vie\"/>",
        "<chapter eId=\"chp_1\" wId=\"chp_1\">",
        "<article eId=\"art_2\" wId=\"art_2\">",
        "<paragraph eId=\"art_2__para_1\" wId=\"art_2__para_1\">",
        "<preamble eId=\"preamble\" wId=\"preamble\">",
        "<conclusions eId=\"conclusions\" wId=\"conclusions\">",
    ] {
        assert!(xml.contains(needle), "no {needle}");
    }
    assert!(xml.find("</preamble>") < xml.find("<body>"));
    assert!(xml.find("</body>") < xml.find("<conclusions"));

    // Deterministic: the same rows give the same bytes.
    let again = export::export(&request(
        &iu.plan,
        "hien-phap",
        Format::Akn,
        out.path().join("again.xml"),
    ))
    .unwrap();
    assert_eq!(again.sha256, akn.sha256);

    // An existing --out is never overwritten.
    let before = std::fs::read(&json_file).unwrap();
    let err = export::export(&request(
        &iu.plan,
        "hien-phap",
        Format::Akn,
        json_file.clone(),
    ))
    .unwrap_err();
    assert_eq!(err.code, StopCode::ExportRefused);
    assert!(err.message.contains("exists"), "{err}");
    assert_eq!(std::fs::read(&json_file).unwrap(), before);
}

/// A plan whose SQLite store is `store.sqlite` beside it (export loads no
/// plugin; the phase only makes the plan valid).
fn fixture_plan() -> TestPlan {
    TestPlan::write(
        &[],
        &[PhaseDef::new("source_pin", SOURCE_PIN_COMPONENT).grants(SOURCE_PIN_GRANTS)],
        "[store]\nsqlite = \"store.sqlite\"\n",
    )
}

fn row(value: serde_json::Value) -> Row {
    value.as_object().unwrap().clone()
}

/// Hostile-looking but valid text: markup characters, CR, tab.
const TRICKY: &str = "1. a < b && c > d \"q\" 'a' ]]> <!-- x --> &amp;\r\n\tend\n";

/// A small store written through the store's own API: one document, one
/// version in force, six units.
fn fixture() -> (TestPlan, PathBuf) {
    let plan = fixture_plan();
    let db = plan.dir.path().join("store.sqlite");
    let mut store = phasehost_store::open(&phasehost_store::StoreSpec::Sqlite(db.clone())).unwrap();
    let scope = Scope {
        document_id: "luat-x".into(),
    };
    store.begin().unwrap();
    store
        .insert(
            "documents",
            &scope,
            &[row(
                json!({"document_id": "luat-x", "title": "Luật X", "first_seen_run": "r"}),
            )],
        )
        .unwrap();
    store
        .insert(
            "source_versions",
            &scope,
            &[row(json!({
                "document_id": "luat-x", "version": "v-1", "seq": 1,
                "raw_sha256": "0".repeat(64), "normalized_sha256": "0".repeat(64), "raw_bytes": 1,
                "normalized_bytes": 1, "chars": 1, "status": "in_force"
            }))],
        )
        .unwrap();
    let units = [
        (
            "preamble",
            None,
            "preamble",
            "",
            "",
            "LUẬT X\nHà Nội, ngày 1 tháng 7 năm 2015\n",
        ),
        (
            "chp_1",
            None,
            "chapter",
            "I",
            "QUY ĐỊNH CHUNG",
            "Chương I\nQUY ĐỊNH CHUNG\n",
        ),
        (
            "art_1",
            Some("chp_1"),
            "article",
            "1",
            "Phạm vi",
            "Điều 1. Phạm vi\n",
        ),
        ("art_1__para_1", Some("art_1"), "clause", "1", "", TRICKY),
        (
            "art_1__para_1__point_a",
            Some("art_1__para_1"),
            "point",
            "a",
            "",
            "a) điểm\n",
        ),
        (
            "conclusions",
            None,
            "closing",
            "",
            "",
            "Luật này đã được Quốc hội thông qua.\n",
        ),
    ];
    let rows: Vec<Row> = units
        .iter()
        .enumerate()
        .map(|(i, (eid, parent, kind, number, heading, text))| {
            row(json!({
                "document_id": "luat-x", "version": "v-1", "eid": eid,
                "parent_eid": parent, "kind": kind, "ordinal": 1,
                "number": number, "heading": heading, "text": text,
                "text_sha": export::sha256_hex(text), "seq": i + 1,
                "status": "in_force"
            }))
        })
        .collect();
    store.insert("units", &scope, &rows).unwrap();
    store.commit().unwrap();
    (plan, db)
}

fn sql(db: &Path, statement: &str, params: &[&str]) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(statement, rusqlite::params_from_iter(params))
        .unwrap();
}

#[test]
fn markup_characters_and_cr_survive_the_round_trip_and_validate() {
    let (plan, db) = fixture();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("luat-x.xml");
    let report = export::export(&request(&plan.path, "luat-x", Format::Akn, file.clone()))
        .unwrap_or_else(|s| panic!("{s}"));
    assert_eq!(report.units, 6);
    validate_akn(&file);
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(xml.contains("&#13;"), "CR is a character reference");
    assert!(xml.contains("<FRBRname value=\"Luật X\"/>"), "{xml}");
    let back = akn_import::import(&xml).unwrap_or_else(|s| panic!("{s}"));
    assert_eq!(as_store_units(&back), store_units(&db, "luat-x", "v-1"));
    assert_eq!(back.units[3].text, TRICKY);
    assert_eq!(back.title, "Luật X");
    assert_eq!(back.frbr.date, "2015-07-01");
    // The article has children: its own text is an <intro>; the point is
    // a leaf: <content>.
    assert!(xml.contains("<intro>"), "{xml}");
    assert!(
        xml.contains("<point eId=\"art_1__para_1__point_a\""),
        "{xml}"
    );
}

#[test]
fn an_unknown_document_or_version_is_refused() {
    let (plan, _) = fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.xml");
    let err =
        export::export(&request(&plan.path, "khong-co", Format::Akn, out.clone())).unwrap_err();
    assert_eq!(err.code, StopCode::ExportRefused);
    assert!(
        err.message.contains("`khong-co` is not in the store"),
        "{err}"
    );
    let mut req = request(&plan.path, "luat-x", Format::Json, out.clone());
    req.version = Some("v-9".into());
    let err = export::export(&req).unwrap_err();
    assert_eq!(err.code, StopCode::ExportRefused);
    assert!(
        err.message.contains("no version `v-9` (versions: v-1)"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn a_text_that_does_not_match_its_text_sha_is_refused() {
    let (plan, db) = fixture();
    sql(
        &db,
        "UPDATE units SET text = text || 'sửa' WHERE eid = 'art_1'",
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    for format in [Format::Akn, Format::Json] {
        let out = dir.path().join("x.out");
        let err = export::export(&request(&plan.path, "luat-x", format, out.clone())).unwrap_err();
        assert_eq!(err.code, StopCode::ExportRefused);
        assert!(
            err.message.contains("(art_1)") && err.message.contains("not its text_sha"),
            "{err}"
        );
        assert!(!out.exists(), "nothing written");
    }
    // A file edited after the export is refused the same way on import.
    let (plan, _) = fixture();
    let file = dir.path().join("ok.json");
    export::export(&request(&plan.path, "luat-x", Format::Json, file.clone())).unwrap();
    let edited = std::fs::read_to_string(&file)
        .unwrap()
        .replace("a) điểm", "a) điểm khác");
    let err = export::json::import(&edited).unwrap_err();
    assert!(err.message.contains("not its text_sha"), "{err}");
}

#[test]
fn a_control_character_xml_cannot_carry_is_refused() {
    let (plan, db) = fixture();
    let text = "Điều 1. chuông \u{7} ở đây\n";
    sql(
        &db,
        "UPDATE units SET text = ?1, text_sha = unhex(?2) WHERE eid = 'art_1'",
        &[text, &export::sha256_hex(text)],
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.xml");
    let err = export::export(&request(&plan.path, "luat-x", Format::Akn, out.clone())).unwrap_err();
    assert_eq!(err.code, StopCode::ExportRefused);
    assert!(
        err.message.contains("(art_1)") && err.message.contains("U+0007"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
    // In a heading too, and in JSON as well (one rule for both formats).
    sql(
        &db,
        "UPDATE units SET heading = ?1 WHERE eid = 'chp_1'",
        &["QUY\u{1b}ĐỊNH"],
    );
    let text = "Điều 1. Phạm vi\n";
    sql(
        &db,
        "UPDATE units SET text = ?1, text_sha = unhex(?2) WHERE eid = 'art_1'",
        &[text, &export::sha256_hex(text)],
    );
    let err =
        export::export(&request(&plan.path, "luat-x", Format::Json, out.clone())).unwrap_err();
    assert!(
        err.message.contains("(chp_1): its heading holds U+001B"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn the_binary_exports_and_reports_refusals_with_their_exit_status() {
    let (plan, _) = fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("luat-x.xml");
    let run = |document: &str| {
        crate::support::phasehost_command()
            .args(["export", "--plan"])
            .arg(&plan.path)
            .args(["--document", document, "--format", "akn", "--json", "--out"])
            .arg(&out)
            .output()
            .unwrap()
    };
    let ok = run("luat-x");
    assert!(ok.status.success(), "{ok:?}");
    let report: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(report["outcome"], "exported");
    assert_eq!(report["units"], 6);
    assert!(out.is_file());
    // Again: the file exists now.
    let again = run("luat-x");
    assert_eq!(
        again.status.code(),
        Some(StopCode::ExportRefused.exit_status())
    );
    let refusal: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(refusal["stop"]["code"], "export-refused");
    std::fs::remove_file(&out).unwrap();
    let unknown = run("khong-co");
    assert_eq!(
        unknown.status.code(),
        Some(StopCode::ExportRefused.exit_status())
    );
    assert!(!out.exists());
}

/// The same document on PostgreSQL (a role with exactly the plan's rights)
/// exports to the same bytes as on SQLite: one SQL core, one export.
#[test]
fn postgres_and_sqlite_export_the_same_bytes() {
    let out = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for backend in [
        crate::iu_cut::Backend::Sqlite,
        crate::iu_cut::Backend::Postgres,
    ] {
        let iu = IuCut::on(backend, |_| {});
        assert_eq!(iu.run(&corpus("hien-phap.txt"), true).1, Outcome::Completed);
        let file = out.path().join(format!("{backend:?}.xml"));
        export::export(&request(&iu.plan, "hien-phap", Format::Akn, file.clone()))
            .unwrap_or_else(|s| panic!("{backend:?}: {s}"));
        let xml = std::fs::read_to_string(&file).unwrap();
        let loaded = export::load(iu.open_store().as_mut(), "hien-phap", None, None).unwrap();
        assert_eq!(akn_import::import(&xml).unwrap(), loaded, "{backend:?}");
        files.push(xml);
    }
    assert!(files[0] == files[1], "the two backends' exports differ");
}
