//! The four phases and the gates over the SDK's in-memory store, natively:
//! the bundled file end to end, then what each refusal and gate catches.

use csv_rows::{gates, phases};
use phasehost_sdk::memory::{ColumnType, MemoryStore, TableDef};
use phasehost_sdk::{EvidenceSet, Input, RefusalKind};

const FILE: &[u8] = include_bytes!("../../data/elements.csv");

/// The plan's `[[tables]]`, as the host creates them (`document_id` first).
const FILES: TableDef = TableDef {
    name: "csv_files",
    columns: &[
        ("document_id", ColumnType::Text),
        ("version", ColumnType::Text),
        ("source_sha256", ColumnType::Text),
        ("columns", ColumnType::Text),
        ("rows", ColumnType::Int),
        ("rows_digest", ColumnType::Text),
    ],
    primary_key: &["document_id", "version"],
};
const ROWS: TableDef = TableDef {
    name: "csv_rows",
    columns: &[
        ("document_id", ColumnType::Text),
        ("version", ColumnType::Text),
        ("seq", ColumnType::Int),
        ("line", ColumnType::Int),
        ("fields", ColumnType::Text),
        ("row_sha256", ColumnType::Text),
    ],
    primary_key: &["document_id", "version", "seq"],
};

fn store(source: &[u8]) -> MemoryStore {
    MemoryStore::new()
        .table(FILES)
        .table(ROWS)
        .with_document("elements")
        .with_source(source.to_vec())
}

fn input(evidence: &[(String, String)], config: &str) -> Input {
    Input {
        run_id: "run-1".into(),
        document_id: "elements".into(),
        version: "v-1".into(),
        dry_run: false,
        config: config.into(),
        evidence: evidence.to_vec(),
    }
}

/// Runs pin, plan, load and verify; the evidence so far.
fn run_all(store: &mut MemoryStore) -> Vec<(String, String)> {
    let mut ev = Vec::new();
    type Phase = fn(&Input, &mut MemoryStore) -> Result<String, phasehost_sdk::Refusal>;
    let all: [(&str, Phase); 4] = [
        ("pin", phases::run_pin),
        ("plan", phases::run_plan),
        ("load", phases::run_load),
        ("verify", phases::run_verify),
    ];
    for (name, run) in all {
        let out = run(&input(&ev, "{}"), store).unwrap_or_else(|r| panic!("{name}: {r}"));
        ev.push((name.to_string(), out));
    }
    ev
}

fn holds(ev: &[(String, String)], name: &str) -> bool {
    let set = EvidenceSet::parse(ev.iter().map(|(p, j)| (p.as_str(), j.as_str()))).expect("json");
    phasehost_sdk::checked_evaluate(
        gates::PREDICATES,
        name,
        ev.iter().map(|(p, j)| (p.as_str(), j.as_str())),
        gates::evaluate,
    )
    .map(|v| v.holds)
    .unwrap_or_else(|e| panic!("{name}: {e} ({:?})", set.phases().collect::<Vec<_>>()))
}

#[test]
fn the_bundled_file_loads_and_every_gate_holds() {
    let mut s = store(FILE);
    let ev = run_all(&mut s);
    assert_eq!(s.rows("csv_rows").len(), 36);
    assert_eq!(s.rows("csv_files").len(), 1);
    assert_eq!(
        s.rows("csv_rows")[1]["fields"],
        r#"["2","He","Helium","1","18","s","noble gas"]"#
    );
    for p in gates::PREDICATES {
        assert!(holds(&ev, p.name), "{}", p.name);
    }
    // Per batch, not per row: one insert for the file, one for 36 rows.
    assert_eq!(s.calls_to("insert"), 2);
    // A second load (a resumed run) inserts nothing and still holds.
    let again = phases::run_load(&input(&ev[..2], "{}"), &mut s).expect("again");
    assert!(again.contains("\"inserted\":0"), "{again}");
}

#[test]
fn load_refuses_a_file_that_is_not_the_planned_one() {
    let mut s = store(FILE);
    let mut ev = run_all(&mut s)[..2].to_vec();
    // The plan (and the approval) named another digest.
    ev[1].1 = ev[1].1.replace("\"rows_digest\":\"", "\"rows_digest\":\"0");
    let mut fresh = store(FILE);
    let r = phases::run_load(&input(&ev, "{}"), &mut fresh).expect_err("refused");
    assert_eq!(r.kind, RefusalKind::InvariantFailed);
    assert!(r.message.contains("approved"), "{}", r.message);
    assert!(fresh.rows("csv_rows").is_empty(), "nothing inserted");
    // Another source than the pinned one.
    let ev = run_all(&mut store(FILE))[..2].to_vec();
    let mut other = store(&FILE[..FILE.len() - 1]);
    let r = phases::run_load(&input(&ev, "{}"), &mut other).expect_err("refused");
    assert!(r.message.contains("pin pinned"), "{}", r.message);
}

#[test]
fn a_row_changed_in_the_store_fails_the_read_back_gate() {
    let mut s = store(FILE);
    let mut ev = run_all(&mut s);
    assert!(holds(&ev, "G-CSV-READ-BACK-MATCHES"));
    let row = s
        .tables
        .get_mut("csv_rows")
        .and_then(|rows| rows.get_mut(4))
        .expect("row 5");
    row.insert(
        "fields".into(),
        r#"["5","B","Boron!","2","13","p","metalloid"]"#.into(),
    );
    ev.pop();
    let out = phases::run_verify(&input(&ev, "{}"), &mut s).expect("verify reports");
    ev.push(("verify".into(), out));
    assert!(!holds(&ev, "G-CSV-READ-BACK-MATCHES"));
}

#[test]
fn bad_input_is_refused_with_its_kind() {
    let cases: [(&[u8], &str, RefusalKind); 4] = [
        (b"", "{}", RefusalKind::EmptyInput),
        (b"a,b\n1,\xff\n", "{}", RefusalKind::BadEncoding),
        (FILE, r#"{"max_bytes": 10}"#, RefusalKind::CapExceeded),
        (b"a,b\n1,2,3\n", "{}", RefusalKind::UnknownDocument),
    ];
    for (bytes, pin_config, kind) in cases {
        let mut s = store(bytes);
        let refused = phases::run_pin(&input(&[], pin_config), &mut s).and_then(|pin| {
            let ev = vec![("pin".to_string(), pin)];
            phases::run_plan(&input(&ev, "{}"), &mut s)
        });
        assert_eq!(refused.expect_err("refused").kind, kind, "{pin_config}");
    }
    let mut s = store(FILE);
    let pin = phases::run_pin(&input(&[], "{}"), &mut s).expect("pin");
    let ev = vec![("pin".to_string(), pin)];
    let r = phases::run_plan(&input(&ev, r#"{"max_rows": 10}"#), &mut s).expect_err("cap");
    assert_eq!(r.kind, RefusalKind::CapExceeded);
    let r = phases::run_plan(&input(&ev, r#"{"max_rowz": 10}"#), &mut s).expect_err("config");
    assert!(r.message.contains("max_rowz"), "{}", r.message);
}

#[test]
fn gates_fail_closed_on_missing_or_unknown() {
    let ev = [("pin".to_string(), r#"{"sha256": "x"}"#.to_string())];
    for p in gates::PREDICATES {
        let r = phasehost_sdk::checked_evaluate(
            gates::PREDICATES,
            p.name,
            ev.iter().map(|(p, j)| (p.as_str(), j.as_str())),
            gates::evaluate,
        );
        assert!(r.is_err() || !r.expect("verdict").holds, "{}", p.name);
    }
    assert!(gates::evaluate("G-NOPE", &EvidenceSet::default()).is_err());
}
