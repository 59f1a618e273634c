//! Plugin-declared tables on both backends: declared, created, written and
//! read through the same calls as the built-in tables; hostile names and
//! shape drift refused with nothing created or touched.

use phasehost_store::StoreError;
use phasehost_store::declared::{ColumnDecl, DeclType, TableDecl};
use serde_json::json;

use crate::cases::{is_conflict, is_invalid};
use crate::support::*;

fn column(name: &str, ty: DeclType, nullable: bool) -> ColumnDecl {
    ColumnDecl {
        name: name.into(),
        ty,
        nullable,
    }
}

/// `rows (seq int, text text, note text null, weight int null)`, key `seq`.
pub fn rows_decl() -> TableDecl {
    TableDecl {
        name: "rows".into(),
        columns: vec![
            column("seq", DeclType::Int, false),
            column("text", DeclType::Text, false),
            column("note", DeclType::Text, true),
            column("weight", DeclType::Int, true),
        ],
        primary_key: vec!["seq".into()],
    }
}

fn seq_row(seq: i64, text: &str) -> phasehost_store::Row {
    row(json!({"seq": seq, "text": text}))
}

fn seqs(rows: &[phasehost_store::Row]) -> Vec<i64> {
    rows.iter()
        .map(|r| r["seq"].as_i64().expect("int"))
        .collect()
}

pub fn declared_round_trip(h: &dyn Harness) {
    let mut store = h.open();
    // Before the plan declares it, the table is unknown like any other.
    store.begin().expect("begin");
    assert!(matches!(
        store.select("rows", &scope("d1"), &[]),
        Err(StoreError::UnknownTable(_))
    ));
    store.rollback().expect("rollback");
    let report = store.declare_tables(&[rows_decl()], true).expect("declare");
    assert_eq!(
        (report[0].table.as_str(), report[0].created),
        ("rows", true)
    );
    assert!(h.table_names().contains(&"rows".to_string()));
    let before = store.document_digest("d1").expect("digest");
    store.begin().expect("begin");
    let written = [seq_row(10, "ten"), seq_row(2, "two"), seq_row(9, "nine")];
    assert_eq!(
        store
            .insert("rows", &scope("d1"), &written)
            .expect("insert"),
        3
    );
    // Idempotent on the key: the same row again is skipped, another is a conflict.
    assert_eq!(
        store
            .insert("rows", &scope("d1"), &written[..1])
            .expect("again"),
        0
    );
    let m = is_conflict(store.insert("rows", &scope("d1"), &[seq_row(10, "TEN")]));
    assert!(m.contains("seq=10"), "{m}");
    // Another document's rows are apart.
    store
        .insert("rows", &scope("d2"), &[seq_row(1, "other")])
        .expect("d2");
    let set = row(json!({"note": "checked", "weight": 3}));
    assert_eq!(
        store
            .update("rows", &scope("d1"), &filters(&[("seq", "9")]), &set)
            .expect("update"),
        1
    );
    store.commit().expect("commit");
    assert_ne!(store.document_digest("d1").expect("digest"), before);
    drop(store);

    // A new connection, as a later run: the table exists, nothing is created.
    let mut store = h.open();
    let report = store
        .declare_tables(&[rows_decl()], false)
        .expect("declare");
    assert!(!report[0].created);
    store.begin_read().expect("read");
    let rows = store.select("rows", &scope("d1"), &[]).expect("select");
    assert_eq!(seqs(&rows), [2, 9, 10], "key order, as integers");
    assert_eq!(rows[1]["note"], "checked");
    assert_eq!(rows[1]["weight"], 3);
    assert_eq!(rows[0]["note"], serde_json::Value::Null);
    assert_eq!(rows[0]["document_id"], "d1");
    assert_eq!(store.count("rows", &scope("d2"), &[]).expect("count"), 1);
    store.commit().expect("end read");
}

pub fn declared_rows_are_validated(h: &dyn Harness) {
    let mut store = h.open();
    store.declare_tables(&[rows_decl()], true).expect("declare");
    store.begin().expect("begin");
    let s = scope("d1");
    let unknown = store.insert(
        "rows",
        &s,
        &[row(json!({"seq": 1, "text": "a", "bogus": 1}))],
    );
    assert!(
        matches!(unknown, Err(StoreError::UnknownColumn { .. })),
        "{unknown:?}"
    );
    let m = is_invalid(store.insert("rows", &s, &[row(json!({"seq": "1", "text": "a"}))]));
    assert!(m.contains("`rows.seq` must be an integer"), "{m}");
    let m = is_invalid(store.insert("rows", &s, &[row(json!({"seq": 1, "text": null}))]));
    assert!(m.contains("`rows.text` must be a string"), "{m}");
    let m = is_invalid(store.insert("rows", &s, &[row(json!({"seq": 1}))]));
    assert!(m.contains("lacks `text`"), "{m}");
    let m = is_invalid(store.insert(
        "rows",
        &s,
        &[row(json!({"seq": 1, "text": "a", "weight": 1.5}))],
    ));
    assert!(m.contains("`rows.weight` must be"), "{m}");
    let other = row(json!({"document_id": "d2", "seq": 1, "text": "a"}));
    let m = is_invalid(store.insert("rows", &s, &[other]));
    assert!(m.contains("not the run's document"), "{m}");
    store.insert("rows", &s, &[seq_row(1, "a")]).expect("valid");
    let m = is_invalid(store.update("rows", &s, &[], &row(json!({"seq": 5}))));
    assert!(m.contains("primary key"), "{m}");
    let m = is_invalid(store.update("rows", &s, &[], &row(json!({"text": null}))));
    assert!(m.contains("`rows.text` must be a string"), "{m}");
    // Nothing of the refused calls stayed; the transaction is usable.
    let rows = store.select("rows", &s, &[]).expect("select");
    assert_eq!(
        rows,
        vec![row(
            json!({"document_id": "d1", "seq": 1, "text": "a", "note": null, "weight": null})
        )]
    );
    // Tables nobody declared, and the host's own, stay unknown.
    for name in ["rowz", "runs", "queue", "schema_version", "\"rows\""] {
        assert!(
            matches!(store.count(name, &s, &[]), Err(StoreError::UnknownTable(_))),
            "{name}"
        );
    }
    store.rollback().expect("rollback");
}

pub fn hostile_declarations_create_nothing(h: &dyn Harness) {
    let mut store = h.open();
    let tables = h.table_names();
    for name in [
        "x\"; DROP TABLE units; --",
        "rows\"",
        "ro'ws",
        "ROWS",
        "rôws",
        "rows\u{202e}",
        &"r".repeat(49),
        "units",
        "runs",
        "runs_index",
        "run_checkpoints",
        "sqlite_master",
        "pg_class",
    ] {
        let mut d = rows_decl();
        d.name = name.to_string();
        // A valid table first: the refusal takes it back too.
        let m = is_invalid(store.declare_tables(&[rows_decl(), d], true));
        assert!(
            m.contains("must match")
                || m.contains("pick another")
                || m.contains("keeps for itself"),
            "{name}: {m}"
        );
    }
    let mut d = rows_decl();
    d.columns[1].name = "text\" TEXT); DROP TABLE units; --".into();
    let m = is_invalid(store.declare_tables(&[d], true));
    assert!(m.contains("column name"), "{m}");
    assert_eq!(h.table_names(), tables, "nothing created, nothing dropped");
    // A refused declaration leaves the store's tables as they were.
    store.begin().expect("begin");
    assert!(matches!(
        store.count("rows", &scope("d1"), &[]),
        Err(StoreError::UnknownTable(_))
    ));
    store.rollback().expect("rollback");
}

pub fn shape_drift_is_refused_and_rows_kept(h: &dyn Harness) {
    let mut store = h.open();
    store.declare_tables(&[rows_decl()], true).expect("declare");
    store.begin().expect("begin");
    store
        .insert(
            "rows",
            &scope("d1"),
            &[seq_row(1, "kept"), seq_row(2, "also")],
        )
        .expect("insert");
    store.commit().expect("commit");
    drop(store);
    let drifts: Vec<(&str, TableDecl)> = vec![
        (
            "declared `text` int not null, found `text` text not null",
            {
                let mut d = rows_decl();
                d.columns[1].ty = DeclType::Int;
                d
            },
        ),
        ("not null, found", {
            let mut d = rows_decl();
            d.columns[2].nullable = false;
            d
        }),
        ("declared 5 column(s)", {
            let mut d = rows_decl();
            d.columns.push(column("extra", DeclType::Text, true));
            d
        }),
        ("key #3", {
            let mut d = rows_decl();
            d.primary_key.push("text".into());
            d
        }),
        ("`seq2`", {
            let mut d = rows_decl();
            d.columns[0].name = "seq2".into();
            d.primary_key = vec!["seq2".into()];
            d
        }),
    ];
    for (want, drift) in drifts {
        let mut store = h.open();
        let m = is_conflict(store.declare_tables(&[drift], true));
        assert!(m.contains("exists with a different shape"), "{m}");
        assert!(m.contains(want), "{want}: {m}");
        assert!(m.contains("never alters"), "{m}");
    }
    // Something else of that name is refused too.
    h.raw("CREATE VIEW notes AS SELECT 1 AS seq").expect("view");
    let mut notes = rows_decl();
    notes.name = "notes".into();
    let m = is_conflict(h.open().declare_tables(&[notes], true));
    assert!(m.contains("a view of that name"), "{m}");
    // The rows are untouched and the declared shape still works.
    let mut store = h.open();
    store
        .declare_tables(&[rows_decl()], false)
        .expect("the original shape");
    store.begin_read().expect("read");
    let rows = store.select("rows", &scope("d1"), &[]).expect("select");
    assert_eq!(seqs(&rows), [1, 2]);
    assert_eq!(rows[0]["text"], "kept");
    store.commit().expect("end");
}

pub fn a_missing_table_is_created_only_when_asked(h: &dyn Harness) {
    let mut store = h.open();
    let tables = h.table_names();
    let m = is_invalid(store.declare_tables(&[rows_decl()], false));
    assert!(m.contains("phasehost migrate"), "{m}");
    assert_eq!(h.table_names(), tables);
    let m = is_invalid(store.declare_tables(&[rows_decl()], false));
    assert!(m.contains("`rows`"), "{m}");
    // Refused while the host's transaction is open.
    store.begin().expect("begin");
    is_invalid(store.declare_tables(&[rows_decl()], true));
    store.rollback().expect("rollback");
    assert_eq!(h.table_names(), tables);
}

pub fn bulk_insert_with_integer_keys(h: &dyn Harness) {
    let mut store = h.open();
    store.declare_tables(&[rows_decl()], true).expect("declare");
    store.begin().expect("begin");
    let many: Vec<_> = (0..12_000).map(|i| seq_row(i, &format!("r{i}"))).collect();
    assert_eq!(
        store.insert("rows", &scope("d1"), &many).expect("bulk"),
        12_000
    );
    assert_eq!(store.insert("rows", &scope("d1"), &many).expect("again"), 0);
    let mut changed = many.clone();
    changed[11_500] = seq_row(11_500, "changed");
    let m = is_conflict(store.insert("rows", &scope("d1"), &changed));
    assert!(m.contains("seq=11500"), "{m}");
    assert_eq!(
        store.count("rows", &scope("d1"), &[]).expect("count"),
        12_000
    );
    store.rollback().expect("rollback");
}
