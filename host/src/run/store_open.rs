//! Opening the plan's store: SQLite by default, PostgreSQL when the plan
//! names it (the password comes from the `PHASEHOST_` environment variable
//! the plan names, never from the plan or the command line, and is only
//! sent over TLS).

use crate::plan::Plan;
use crate::runtime::state::SharedStore;
use crate::stop::{Stop, StopCode};
use crate::store::StoreBackend;
use std::sync::{Arc, Mutex};

/// The plan's store, or `None` when the plan names none.
pub fn open(plan: &Plan) -> Result<Option<SharedStore>, Stop> {
    Ok(open_backend(plan)?.map(|store| Arc::new(Mutex::new(store))))
}

/// The store the plan names (its paths resolved), or `None`.
fn store_spec(plan: &Plan) -> Option<phasehost_store::StoreSpec> {
    if let Some(path) = &plan.store.sqlite {
        Some(phasehost_store::StoreSpec::Sqlite(plan.resolve(path)))
    } else {
        plan.store
            .postgres
            .as_ref()
            .map(|pg| phasehost_store::StoreSpec::Postgres {
                url: pg.url.clone(),
                password_env: pg.password_env.clone(),
                schema: pg.schema.clone(),
                sslmode: pg.sslmode,
                sslrootcert: pg.sslrootcert.as_deref().map(|p| plan.resolve(p)),
            })
    }
}

/// The plan's store as one connection of its own, or `None`, with the
/// tables the plan declares (`[[tables]]`) checked against the database: on
/// SQLite a missing one is created (as the built-in schema is, on open); on
/// PostgreSQL it must exist already (`phasehost migrate`, by the store's
/// owner). A declared table that exists with another shape is refused.
pub fn open_backend(plan: &Plan) -> Result<Option<Box<dyn StoreBackend>>, Stop> {
    let Some(mut store) = open_undeclared(plan)? else {
        return Ok(None);
    };
    let create = store.kind() == "sqlite";
    declare(plan, store.as_mut(), create)?;
    Ok(Some(store))
}

/// Makes the plan's declared tables the store's (creating missing ones when
/// `create`); what was done with each.
pub fn declare(
    plan: &Plan,
    store: &mut dyn StoreBackend,
    create: bool,
) -> Result<Vec<phasehost_store::declared::Declared>, Stop> {
    if plan.tables.is_empty() {
        return Ok(Vec::new());
    }
    store.declare_tables(&plan.tables, create).map_err(|e| {
        Stop::new(
            StopCode::StoreFailed,
            format!("the plan's declared tables ([[tables]]): {e}"),
        )
    })
}

/// The plan's store as one connection of its own, or `None`, before its
/// declared tables are checked (`phasehost migrate` creates them).
pub fn open_undeclared(plan: &Plan) -> Result<Option<Box<dyn StoreBackend>>, Stop> {
    let Some(spec) = store_spec(plan) else {
        return Ok(None);
    };
    if let phasehost_store::StoreSpec::Sqlite(path) = &spec
        && let Some(parent) = path.parent()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            Stop::new(
                StopCode::StoreFailed,
                format!("cannot create {}: {e}", parent.display()),
            )
        })?;
    }
    phasehost_store::open(&spec)
        .map(Some)
        .map_err(|e| Stop::new(StopCode::StoreFailed, format!("cannot open the store: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use phasehost_store::{SslMode, StoreSpec};
    use std::path::{Path, PathBuf};

    const PLAN: &str = r#"
[plan]
name = "t"
plugin_set = "test"

[[phases]]
name = "one"
component = "one.wasm"
sha256 = "00"

[store.postgres]
url = "postgres://u@db.example.com/db"
password_env = "PHASEHOST_PG_PASSWORD"
"#;

    fn spec(extra: &str) -> StoreSpec {
        let plan = crate::plan::parse_plan(&format!("{PLAN}{extra}"), Path::new("/p/plan.toml"))
            .expect("plan");
        store_spec(&plan).expect("a store")
    }

    #[test]
    fn the_tls_settings_reach_the_store_spec_with_the_root_file_resolved() {
        let StoreSpec::Postgres {
            password_env,
            sslmode,
            sslrootcert,
            ..
        } = spec("sslmode = \"require\"\nsslrootcert = \"certs/root.pem\"\n")
        else {
            panic!("not postgres")
        };
        assert_eq!(password_env.as_deref(), Some("PHASEHOST_PG_PASSWORD"));
        assert_eq!(sslmode, Some(SslMode::Require));
        assert_eq!(sslrootcert, Some(PathBuf::from("/p/certs/root.pem")));
        let StoreSpec::Postgres {
            sslmode,
            sslrootcert,
            ..
        } = spec("")
        else {
            panic!("not postgres")
        };
        assert_eq!((sslmode, sslrootcert), (None, None));
    }
}
