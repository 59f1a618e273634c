//! PostgreSQL specifics: concurrency of the queue, privileges, secrets.

use std::collections::HashSet;
use std::sync::{Arc, Barrier, Mutex};

use phasehost_store::{
    HostTables, PgStore, PgTls, SslMode, StoreBackend, StoreSpec, open, redact_url,
};

use crate::cases::PLAN_SHA;
use crate::support::*;

#[test]
fn concurrent_workers_never_claim_a_document_twice() {
    let h = PgHarness::new();
    let mut setup = h.open();
    let docs: Vec<(String, String)> = (0..60)
        .map(|i| (format!("doc{i:03}"), format!("/src/{i}")))
        .collect();
    setup.enqueue(&docs, PLAN_SHA).expect("enqueue");
    let claimed = Arc::new(Mutex::new(Vec::new()));
    let barrier = Arc::new(Barrier::new(6));
    let workers: Vec<_> = (0..6)
        .map(|w| {
            let (schema, claimed, barrier) = (h.schema.clone(), claimed.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut store =
                    PgStore::connect(&pg_url(), None, &schema, &PgTls::default()).expect("connect");
                let worker = format!("w{w}");
                barrier.wait();
                while let Some(claim) = store.claim(&worker, 60).expect("claim") {
                    claimed
                        .lock()
                        .expect("lock")
                        .push(claim.document_id.clone());
                    if claim.document_id.ends_with('7') {
                        store
                            .fail(&claim.document_id, &worker, "boom")
                            .expect("fail");
                    } else {
                        store
                            .complete(&claim.document_id, &worker, "run")
                            .expect("complete");
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let claimed = claimed.lock().expect("lock").clone();
    let unique: HashSet<_> = claimed.iter().collect();
    assert_eq!(claimed.len(), 60, "every document claimed exactly once");
    assert_eq!(unique.len(), 60);
    let counts = setup.queue_counts().expect("counts");
    assert_eq!(
        (counts.done, counts.failed, counts.pending, counts.claimed),
        (54, 6, 0, 0)
    );
}

#[test]
fn live_leases_hold_across_connections_and_expired_ones_are_taken_over() {
    let h = PgHarness::new();
    let mut a = h.open();
    let mut b = h.open();
    a.enqueue(&[("only".into(), "/only".into())], PLAN_SHA)
        .expect("enqueue");
    let claim = a.claim("wa", 1).expect("claim").expect("some");
    assert_eq!(claim.attempts, 1);
    // Many tries from another connection while the lease is live.
    for _ in 0..20 {
        assert_eq!(b.claim("wb", 60).expect("claim"), None);
    }
    std::thread::sleep(std::time::Duration::from_millis(1300));
    // Several connections race for the expired lease: exactly one wins.
    let winners = Arc::new(Mutex::new(Vec::new()));
    let barrier = Arc::new(Barrier::new(4));
    let racers: Vec<_> = (0..4)
        .map(|i| {
            let (schema, winners, barrier) = (h.schema.clone(), winners.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut store =
                    PgStore::connect(&pg_url(), None, &schema, &PgTls::default()).expect("connect");
                barrier.wait();
                if let Some(c) = store.claim(&format!("r{i}"), 60).expect("claim") {
                    winners
                        .lock()
                        .expect("lock")
                        .push((format!("r{i}"), c.attempts));
                }
            })
        })
        .collect();
    for r in racers {
        r.join().expect("racer");
    }
    let winners = winners.lock().expect("lock").clone();
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(winners[0].1, 2);
    // The first holder lost the lease.
    assert!(a.complete("only", "wa", "run").is_err());
    a.complete("only", &winners[0].0, "run")
        .expect("winner completes");
}

#[test]
fn concurrent_enqueue_of_one_document_queues_it_once() {
    let h = PgHarness::new();
    drop(h.open());
    let barrier = Arc::new(Barrier::new(4));
    let results: Vec<Result<u64, phasehost_store::StoreError>> = (0..4)
        .map(|i| {
            let (schema, barrier) = (h.schema.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut store =
                    PgStore::connect(&pg_url(), None, &schema, &PgTls::default()).expect("connect");
                barrier.wait();
                store.enqueue(
                    &[
                        ("same".into(), format!("/{i}")),
                        (format!("own{i}"), "/o".into()),
                    ],
                    PLAN_SHA,
                )
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let counts = h.open().queue_counts().expect("counts");
    assert_eq!(counts.pending, 2);
}

#[test]
fn role_privileges_come_from_the_server() {
    let h = PgHarness::new();
    let mut store = h.open();
    assert_eq!(store.kind(), "postgres");
    let privileges = store.role_privileges().expect("privileges").expect("some");
    assert_eq!(
        privileges.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["documents", "envelopes", "source_versions", "units"]
    );
    // The test role owns the tables.
    assert!(
        privileges
            .values()
            .all(|p| p.select && p.insert && p.update && p.delete)
    );
}

#[test]
fn a_least_privilege_role_connects_to_a_migrated_schema_and_sees_its_matrix() {
    let h = PgHarness::new();
    drop(h.open());
    let role = format!("r_{}", h.schema);
    h.raw(&format!(
        "CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA \"{s}\" TO {role}; \
         GRANT SELECT ON schema_version TO {role}; \
         GRANT SELECT ON units TO {role}; GRANT SELECT, INSERT ON envelopes TO {role}; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON documents TO {role};",
        s = h.schema
    ))
    .expect("role");
    let url = pg_url();
    let (_, host) = url.split_once('@').expect("a URL with a user");
    let result = PgStore::connect(
        &format!("postgres://{role}@{host}"),
        None,
        &h.schema,
        &PgTls::default(),
    )
    .and_then(|mut store| store.role_privileges());
    h.raw(&format!("DROP OWNED BY {role}; DROP ROLE {role};"))
        .expect("drop role");
    let privileges = result.expect("connect without DDL rights").expect("some");
    let p = |t: &str| {
        let p = privileges[t];
        (p.select, p.insert, p.update, p.delete)
    };
    assert_eq!(p("units"), (true, false, false, false));
    assert_eq!(p("envelopes"), (true, true, false, false));
    assert_eq!(p("documents"), (true, true, true, true));
    assert_eq!(p("source_versions"), (false, false, false, false));
}

#[test]
fn a_least_privilege_role_sees_its_rights_on_declared_tables() {
    let h = PgHarness::new();
    h.open()
        .declare_tables(&[crate::declared_cases::rows_decl()], true)
        .expect("the owner creates the declared table");
    let role = format!("r_{}", h.schema);
    h.raw(&format!(
        "CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA \"{s}\" TO {role}; \
         GRANT SELECT ON schema_version TO {role}; GRANT SELECT, INSERT ON \"rows\" TO {role};",
        s = h.schema
    ))
    .expect("role");
    let url = pg_url();
    let (_, host) = url.split_once('@').expect("a URL with a user");
    let url = format!("postgres://{role}@{host}");
    let result =
        PgStore::connect(&url, None, &h.schema, &PgTls::default()).and_then(|mut store| {
            // The role cannot create tables, and need not: the shape is read
            // from the catalog and checked without any privilege on the table.
            let mut missing = crate::declared_cases::rows_decl();
            missing.name = "other_rows".into();
            let refused = store.declare_tables(&[missing], true);
            store.declare_tables(&[crate::declared_cases::rows_decl()], false)?;
            Ok((refused, store.role_privileges()?))
        });
    h.raw(&format!("DROP OWNED BY {role}; DROP ROLE {role};"))
        .expect("drop role");
    let (refused, privileges) = result.expect("connect and declare");
    assert!(
        refused.is_err(),
        "a role without CREATE cannot create a table"
    );
    let privileges = privileges.expect("some");
    let rows = privileges["rows"];
    assert_eq!(
        (rows.select, rows.insert, rows.update, rows.delete),
        (true, true, false, false)
    );
    assert!(!privileges["units"].select);
}

#[test]
fn passwords_never_show_in_errors_or_debug() {
    let secret = "Sup3r-Secret-Pw";
    // Server reachable but the role/database do not exist: an error, without the password.
    for url in [
        format!("postgres://nosuchrole:{secret}@127.0.0.1:5432/nosuchdb"),
        format!("postgres://nosuchrole@127.0.0.1:5432/nosuchdb?password={secret}"),
        format!("postgres://nosuchrole:{secret}@127.0.0.1:1/db"),
        format!("postgres://u:{secret}@[::zz]/db"),
    ] {
        // Refused before connecting (a URL password without TLS), or the
        // connection fails over TLS: either way without the password.
        for sslmode in [None, Some(SslMode::Require)] {
            let tls = PgTls {
                sslmode,
                sslrootcert: None,
            };
            let err =
                PgStore::connect(&url, Some(secret), "phasehost", &tls).expect_err("must fail");
            let text = format!("{err} {err:?}");
            assert!(!text.contains(secret), "{text}");
        }
    }
    let require = PgTls {
        sslmode: Some(SslMode::Require),
        sslrootcert: None,
    };
    let err = PgStore::connect(
        &pg_url().replace("/test", "/nosuchdb"),
        Some(secret),
        "x",
        &require,
    )
    .expect_err("no such database");
    assert!(!format!("{err} {err:?}").contains(secret));
    // Trust auth accepts any password: the store's Debug still hides it.
    let h = PgHarness::new();
    let with_pw = pg_url().replacen(
        "postgres://postgres@",
        &format!("postgres://postgres:{secret}@"),
        1,
    );
    let store = PgStore::connect(&with_pw, Some(secret), &h.schema, &require).expect("connect");
    let debug = format!("{store:?}");
    assert!(!debug.contains(secret), "{debug}");
    assert!(debug.contains("***"), "{debug}");
    // The spec's Debug too.
    let spec = StoreSpec::Postgres {
        url: with_pw.clone(),
        password_env: Some("PHASEHOST_TEST_PW".into()),
        schema: h.schema.clone(),
        sslmode: Some(SslMode::Require),
        sslrootcert: None,
    };
    assert!(!format!("{spec:?}").contains(secret));
    assert_eq!(
        redact_url(&format!("postgres://a:{secret}@h:5432/db")),
        "postgres://a:***@h:5432/db"
    );
}

#[test]
fn open_spec_reads_the_password_from_the_named_variable() {
    let h = PgHarness::new();
    let spec = |var: &str| StoreSpec::Postgres {
        url: pg_url(),
        password_env: Some(var.into()),
        schema: h.schema.clone(),
        sslmode: None,
        sslrootcert: None,
    };
    let missing = spec("PHASEHOST_TEST_SURELY_UNSET_VAR");
    let err = open(&missing).map(|_| ()).expect_err("unset variable");
    assert!(
        err.to_string().contains("PHASEHOST_TEST_SURELY_UNSET_VAR"),
        "{err}"
    );
    // Only PHASEHOST_ variables may be named: any other is refused, its
    // value unread and unshown.
    let path = std::env::var("PATH").expect("PATH");
    let err = open(&spec("PATH")).map(|_| ()).expect_err("PATH refused");
    assert!(err.to_string().contains("PHASEHOST_[A-Z0-9_]+"), "{err}");
    assert!(!format!("{err} {err:?}").contains(&path));
    // A set variable works under trust auth; its value never shows.
    let var = "PHASEHOST_TEST_PG_PASSWORD";
    let value = std::env::var(var).expect("set by .cargo/config.toml");
    let spec = spec(var);
    let mut store = open(&spec).expect("open");
    assert_eq!(store.kind(), "postgres");
    assert!(!format!("{spec:?}").contains(&value));
    seed(store.as_mut(), "d1");
}

#[test]
fn schema_names_are_checked_and_schemas_created() {
    let err =
        PgStore::connect(&pg_url(), None, "bad;drop", &PgTls::default()).expect_err("bad name");
    assert!(err.to_string().contains("schema name"), "{err}");
    let h = PgHarness::new();
    drop(h.open());
    let mut client = h.client();
    let n: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1",
            &[&h.schema],
        )
        .expect("query")
        .get(0);
    assert_eq!(n, 10, "4 plugin tables, 5 host tables, schema_version");
}

#[test]
fn lookups_by_key_use_the_primary_key_without_statistics() {
    let h = PgHarness::new();
    drop(h.open());
    let mut client = h.client();
    client
        .batch_execute(
            "INSERT INTO units SELECT 'big', 'v1', 'e' || g, NULL, 'k', g, 'n', 'h', 't', 's', g, \
             'staged' FROM generate_series(1, 20000) g",
        )
        .expect("fill");
    let plan: Vec<String> = client
        .query(
            "EXPLAIN UPDATE units SET status = 'retired' \
             WHERE document_id = 'big' AND version = 'v1' AND eid = 'e5'",
            &[],
        )
        .expect("explain")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(
        plan.contains("units_pkey") && !plan.contains("Filter"),
        "{plan}"
    );
}

#[test]
fn version_2_keeps_the_identity_and_guards_checkpoints_against_truncate() {
    let h = PgHarness::new();
    h.create_v1();
    drop(h.open());
    let mut client = h.client();
    let row = client
        .query_one(
            "SELECT (SELECT MAX(version) FROM schema_version), \
             (SELECT attidentity::text FROM pg_attribute \
              WHERE attrelid = 'queue'::regclass AND attname = 'position'), \
             (SELECT pg_get_constraintdef(oid) FROM pg_constraint \
              WHERE conrelid = 'queue'::regclass AND conname = 'queue_state_check')",
            &[],
        )
        .expect("catalog");
    assert_eq!(row.get::<_, i64>(0), 4);
    assert_eq!(
        row.get::<_, String>(1),
        "a",
        "position is still an identity"
    );
    let check: String = row.get(2);
    assert!(check.contains("'waiting'"), "{check}");
    let err = h
        .raw("TRUNCATE run_checkpoints")
        .expect_err("truncate refused");
    assert!(err.contains("append-only"), "{err}");
}
