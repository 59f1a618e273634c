//! The store contract of `MemoryStore` over tables a test declares:
//! document scoping, idempotent insert, conflict, primary-key order,
//! primary keys not updatable, grants refused, calls counted.

use phasehost_sdk::memory::{ColumnType, Grants, MemoryStore, TableDef};
use phasehost_sdk::{CapError, Caps, Level};

const ITEMS: TableDef = TableDef {
    name: "items",
    columns: &[
        ("document_id", ColumnType::Text),
        ("key", ColumnType::Text),
        ("n", ColumnType::Int),
        ("note", ColumnType::NullableText),
    ],
    primary_key: &["document_id", "key"],
};

const EVENTS: TableDef = TableDef {
    name: "events",
    columns: &[
        ("document_id", ColumnType::Text),
        ("id", ColumnType::Text),
        ("seq", ColumnType::Int),
    ],
    primary_key: &["document_id", "id"],
};

fn store() -> MemoryStore {
    MemoryStore::new()
        .table(ITEMS)
        .table_ordered_by(EVENTS, &["document_id", "seq"])
        .with_document("d")
}

fn item(key: &str, n: i64) -> String {
    format!(r#"{{"key":"{key}","n":{n},"note":null}}"#)
}

fn keys(rows: &[String]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_str(r).unwrap();
            v["key"].as_str().or(v["id"].as_str()).unwrap().to_string()
        })
        .collect()
}

#[test]
fn every_call_is_scoped_to_the_document() {
    let mut s = store();
    s.insert("items", &[item("a", 1)]).unwrap();
    // A row of another document, put there behind the store's back.
    let other: serde_json::Map<_, _> =
        serde_json::from_str(r#"{"document_id":"e","key":"a","n":1,"note":null}"#).unwrap();
    s.tables.get_mut("items").unwrap().push(other);
    assert_eq!(s.count("items", &[]).unwrap(), 1);
    assert_eq!(s.select("items", &[("key", "a")]).unwrap().len(), 1);
    assert!(s.select("items", &[]).unwrap()[0].contains(r#""document_id":"d""#));
    assert_eq!(s.update("items", &[], r#"{"n":5}"#).unwrap(), 1);
    assert_eq!(s.delete("items", &[]).unwrap(), 1);
    assert_eq!(
        s.rows("items").len(),
        1,
        "the other document's row is untouched"
    );
    // A row naming another document is refused; one without is scoped.
    let err = s
        .insert(
            "items",
            &[r#"{"document_id":"e","key":"b","n":1,"note":null}"#.into()],
        )
        .unwrap_err();
    assert!(matches!(err, CapError::Refused(m) if m.contains("another document")));
}

#[test]
fn insert_is_idempotent_and_refuses_a_different_row_with_the_same_key() {
    let mut s = store();
    assert_eq!(s.insert("items", &[item("a", 1), item("b", 2)]).unwrap(), 2);
    assert_eq!(
        s.insert("items", &[item("a", 1)]).unwrap(),
        0,
        "identical: skipped, not counted"
    );
    let err = s
        .insert("items", &[item("c", 3), item("a", 9)])
        .unwrap_err();
    assert!(matches!(err, CapError::Refused(m) if m.contains("conflict")));
    assert_eq!(
        s.count("items", &[]).unwrap(),
        2,
        "a refused batch inserts nothing"
    );
    let err = s
        .insert("items", &[item("x", 1), item("x", 2)])
        .unwrap_err();
    assert!(
        matches!(err, CapError::Refused(_)),
        "a conflict inside one batch too"
    );
}

#[test]
fn rows_are_checked_against_the_declared_columns() {
    let mut s = store();
    for bad in [
        r#"{"key":"a","n":"1","note":null}"#,
        r#"{"key":"a","note":null}"#,
        r#"{"key":"a","n":1,"note":null,"extra":1}"#,
        r#"{"key":"a","n":1.5,"note":null}"#,
        r#"[1]"#,
    ] {
        assert!(
            matches!(s.insert("items", &[bad.into()]), Err(CapError::Invalid(_))),
            "{bad}"
        );
    }
    assert!(matches!(s.count("nope", &[]), Err(CapError::NotFound(_))));
    assert!(matches!(
        s.count("items", &[("nope", "1")]),
        Err(CapError::Invalid(_))
    ));
    assert!(s.rows("items").is_empty());
}

#[test]
fn select_orders_by_primary_key_or_the_declared_order() {
    let mut s = store();
    s.insert("items", &[item("c", 1), item("a", 2), item("b", 3)])
        .unwrap();
    assert_eq!(keys(&s.select("items", &[]).unwrap()), ["a", "b", "c"]);
    let ev = |id: &str, seq: u64| format!(r#"{{"id":"{id}","seq":{seq}}}"#);
    s.insert("events", &[ev("x", 10), ev("y", 9), ev("z", 100)])
        .unwrap();
    assert_eq!(
        keys(&s.select("events", &[]).unwrap()),
        ["y", "x", "z"],
        "by seq as a number, not as text"
    );
    assert_eq!(
        s.select("items", &[("n", "2")]).unwrap().len(),
        1,
        "filters compare as text"
    );
}

#[test]
fn primary_key_columns_cannot_be_updated() {
    let mut s = store();
    s.insert("items", &[item("a", 1)]).unwrap();
    for set in [r#"{"key":"z"}"#, r#"{"document_id":"e"}"#] {
        let err = s.update("items", &[], set).unwrap_err();
        assert!(
            matches!(err, CapError::Invalid(m) if m.contains("primary key")),
            "{set}"
        );
    }
    assert!(matches!(
        s.update("items", &[], r#"{"n":"x"}"#),
        Err(CapError::Invalid(_))
    ));
    assert!(matches!(
        s.update("items", &[], "[]"),
        Err(CapError::Invalid(_))
    ));
    assert_eq!(
        s.update("items", &[("key", "a")], r#"{"note":"hi"}"#)
            .unwrap(),
        1
    );
    assert!(s.select("items", &[]).unwrap()[0].contains(r#""note":"hi""#));
}

#[test]
fn calls_without_a_grant_are_refused_and_recorded() {
    let grants = Grants {
        source: false,
        log: false,
        store: [("items".to_string(), "r".to_string())].into(),
        artifacts: [("out.json".to_string(), "i".to_string())].into(),
    };
    let mut s = store().with_source(b"text".to_vec()).with_grants(grants);
    assert_eq!(s.count("items", &[]).unwrap(), 0);
    assert!(matches!(
        s.insert("items", &[item("a", 1)]),
        Err(CapError::AccessDenied(_))
    ));
    assert!(matches!(
        s.count("events", &[]),
        Err(CapError::AccessDenied(_))
    ));
    assert!(matches!(s.read_source(), Err(CapError::AccessDenied(_))));
    assert!(s.put_artifact("out.json", b"{}").is_ok());
    assert!(matches!(
        s.get_artifact("out.json"),
        Err(CapError::AccessDenied(_))
    ));
    assert!(matches!(
        s.put_artifact("other", b""),
        Err(CapError::AccessDenied(_))
    ));
    s.log(Level::Info, "dropped");
    assert!(s.logs.is_empty());
    assert_eq!(
        s.violations,
        [
            "store items:i",
            "store events:r",
            "source",
            "artifact out.json:r",
            "artifact other:i",
            "log"
        ]
    );
    assert!(s.rows("items").is_empty());
}

#[test]
fn an_invalid_grant_allows_nothing() {
    let grants = Grants {
        store: [("items".to_string(), "rx".to_string())].into(),
        ..Grants::default()
    };
    let mut s = store().with_grants(grants);
    assert!(matches!(
        s.count("items", &[]),
        Err(CapError::AccessDenied(_))
    ));
}

#[test]
fn source_artifacts_logs_and_call_counts() {
    let mut s = store().with_source(b"abc".to_vec());
    assert_eq!(s.read_source().unwrap(), b"abc");
    let sha = s.put_artifact("a", b"abc").unwrap();
    assert_eq!(
        sha,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(s.get_artifact("a").unwrap(), b"abc");
    assert!(matches!(s.get_artifact("b"), Err(CapError::NotFound(_))));
    s.log(Level::Warn, "careful");
    assert_eq!(s.logs, [(Level::Warn, "careful".to_string())]);
    s.insert("items", &[item("a", 1), item("b", 1)]).unwrap();
    assert_eq!(s.calls_to("insert"), 1, "one call per batch");
    assert_eq!(s.calls_to("get_artifact"), 2);
    assert_eq!(s.calls_to("select"), 0);
}

#[test]
#[should_panic(expected = "no `document_id` text column")]
fn a_table_without_a_document_column_is_a_test_bug() {
    let _ = MemoryStore::new().table(TableDef {
        name: "t",
        columns: &[("id", ColumnType::Text)],
        primary_key: &["id"],
    });
}

#[test]
#[should_panic(expected = "declared twice")]
fn a_table_declared_twice_is_a_test_bug() {
    let _ = MemoryStore::new().table(ITEMS).table(ITEMS);
}
