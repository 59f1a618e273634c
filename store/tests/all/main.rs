//! The store's behaviour on both backends (SQLite in a temp file,
//! PostgreSQL in a fresh schema at `PHASEHOST_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`), plus backend-specific checks.

mod cases;
mod cross;
mod declared_cases;
mod inputs_cases;
mod postgres_only;
mod sqlite_only;
mod support;
mod tls;
mod worker_cases;

/// One test per case per backend; cases are grouped by the module holding them.
macro_rules! both_backends {
    ($($module:ident: [$($case:ident),* $(,)?]),* $(,)?) => {
        mod sqlite {
            $($(
                #[test]
                fn $case() {
                    crate::$module::$case(&crate::support::SqliteHarness::new());
                }
            )*)*
        }
        mod postgres {
            $($(
                #[test]
                fn $case() {
                    crate::$module::$case(&crate::support::PgHarness::new());
                }
            )*)*
        }
    };
}

both_backends!(
    cases: [
        scoping,
        validation,
        idempotent_insert,
        rollback_leaves_nothing,
        commit_persists,
        select_order_and_filters,
        select_json_is_select_serialized,
        digest_tracks_content,
        digest_sees_every_out_of_band_column_edit,
        digest_columns_hold_32_bytes,
        index_chain,
        approvals_ledger,
        queue_semantics,
        bulk_insert,
        newer_schema_refused,
        database_errors_keep_the_transaction_usable,
    ],
    worker_cases: [
        park_and_unpark,
        takeover_carries_the_attached_run,
        lease_refusals_change_nothing,
        checkpoints_follow_the_transaction,
        checkpoints_are_host_only_and_append_only,
        migration_from_v1_keeps_the_queue,
        every_table_is_plugin_or_host,
    ],
    declared_cases: [
        declared_round_trip,
        declared_rows_are_validated,
        hostile_declarations_create_nothing,
        shape_drift_is_refused_and_rows_kept,
        a_missing_table_is_created_only_when_asked,
        bulk_insert_with_integer_keys,
    ],
    inputs_cases: [
        checkpoints_carry_inputs_and_come_back_in_phase_order,
        enqueue_records_the_plan_digest,
        append_index_joins_the_open_transaction,
        a_failed_append_leaves_the_transaction_usable,
        migration_from_v2_keeps_rows,
        migration_to_v4_keeps_rows_and_the_document_digest,
        a_digest_that_is_not_hex_stops_the_migration_to_v4,
    ],
);
