//! The store's behaviour on both backends (SQLite in a temp file,
//! PostgreSQL in a fresh schema at `PHASEHOST_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`), plus backend-specific checks.

mod cases;
mod cross;
mod postgres_only;
mod sqlite_only;
mod support;

/// One test per case per backend.
macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $case() {
                    crate::cases::$case(&crate::support::SqliteHarness::new());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $case() {
                    crate::cases::$case(&crate::support::PgHarness::new());
                }
            )*
        }
    };
}

both_backends!(
    scoping,
    validation,
    idempotent_insert,
    rollback_leaves_nothing,
    commit_persists,
    select_order_and_filters,
    digest_tracks_content,
    index_chain,
    approvals_ledger,
    queue_semantics,
    bulk_insert,
    newer_schema_refused,
    database_errors_keep_the_transaction_usable,
);
