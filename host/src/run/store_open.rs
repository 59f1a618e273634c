//! Opening the plan's store: SQLite by default, PostgreSQL when the plan
//! names it (the password comes from the environment variable the plan
//! names, never from the plan or the command line).

use crate::plan::Plan;
use crate::runtime::state::SharedStore;
use crate::stop::{Stop, StopCode};
use crate::store::StoreBackend;
use std::sync::{Arc, Mutex};

/// The plan's store, or `None` when the plan names none.
pub fn open(plan: &Plan) -> Result<Option<SharedStore>, Stop> {
    Ok(open_backend(plan)?.map(|store| Arc::new(Mutex::new(store))))
}

/// The plan's store as one connection of its own, or `None`.
pub fn open_backend(plan: &Plan) -> Result<Option<Box<dyn StoreBackend>>, Stop> {
    let spec = if let Some(path) = &plan.store.sqlite {
        phasehost_store::StoreSpec::Sqlite(plan.resolve(path))
    } else if let Some(pg) = &plan.store.postgres {
        phasehost_store::StoreSpec::Postgres {
            url: pg.url.clone(),
            password_env: pg.password_env.clone(),
            schema: pg.schema.clone(),
        }
    } else {
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
