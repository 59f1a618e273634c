//! PostgreSQL for the tests: the server on 127.0.0.1:5432 (trust auth), URL
//! from `PHASEHOST_TEST_PG_URL`; every test works in a schema of its own.

use std::sync::atomic::{AtomicU32, Ordering};

/// The environment variable the test plans name for the password.
pub const PASSWORD_ENV: &str = "PHASEHOST_TEST_PG_PASSWORD";
/// The password in that variable (set by .cargo/config.toml; trust auth
/// ignores it; it must never appear in any output).
pub const PASSWORD: &str = env!("PHASEHOST_TEST_PG_PASSWORD");

pub fn base_url() -> String {
    std::env::var("PHASEHOST_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The test URL with its user replaced by `user`.
pub fn url_as(user: Option<&str>) -> String {
    let url = base_url();
    match user {
        None => url,
        Some(user) => {
            let (scheme, rest) = url.split_once("://").unwrap();
            let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
            format!("{scheme}://{user}@{host}")
        }
    }
}

pub fn unique_schema(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn client() -> postgres::Client {
    postgres::Client::connect(&base_url(), postgres::NoTls).unwrap()
}

pub fn count(schema: &str, sql: &str) -> i64 {
    let mut client = client();
    client
        .batch_execute(&format!("SET search_path TO {schema}"))
        .unwrap();
    client.query_one(sql, &[]).unwrap().get(0)
}

/// Role and database grants touch shared catalogs: one change at a time.
static ROLES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Best effort: drop a test's schema and everything in it.
pub fn drop_schema(schema: &str) {
    if let Ok(mut client) = postgres::Client::connect(&base_url(), postgres::NoTls) {
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    }
}

/// Best effort: drop a test's role and its grants.
pub fn drop_role(role: &str) {
    let _one_at_a_time = ROLES.lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(mut client) = postgres::Client::connect(&base_url(), postgres::NoTls) {
        let _ = client.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE IF EXISTS {role}"));
    }
}

/// Create a login role with `grants` (SQL after `GRANT`, e.g.
/// `SELECT, INSERT ON units`) on `schema`, which must already exist with
/// its tables. The role may use the schema and the host-only tables.
pub fn role_with(schema: &str, role: &str, grants: &[&str]) {
    let _one_at_a_time = ROLES.lock().unwrap_or_else(|e| e.into_inner());
    let mut client = client();
    let mut sql = format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN; \
         GRANT CONNECT ON DATABASE test TO {role}; \
         GRANT USAGE ON SCHEMA {schema} TO {role}; \
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}; \
         GRANT SELECT, INSERT, UPDATE ON {schema}.runs, {schema}.consumed_approvals, {schema}.runs_index, {schema}.queue, {schema}.run_checkpoints TO {role};"
    );
    sql.push_str(&format!(
        "GRANT SELECT ON {schema}.schema_version TO {role};"
    ));
    for grant in grants {
        let (privileges, table) = grant.split_once(" ON ").unwrap();
        sql.push_str(&format!(
            "GRANT {privileges} ON {schema}.{table} TO {role};"
        ));
    }
    client.batch_execute(&sql).unwrap();
}
