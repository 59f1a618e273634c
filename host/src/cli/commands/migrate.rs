//! `phasehost migrate <plan>`: for the store's owner: connect and bring the
//! schema to this phasehost's version, printing the version before and
//! after, then create the tables the plan declares (`[[tables]]`) that are
//! missing, printing each. Idempotent: a schema already there is left alone,
//! and a declared table is only ever created, never altered.

use crate::run::ops;
use anyhow::Result;
use std::path::Path;

pub(super) fn run(plan: &Path) -> Result<i32> {
    let m = ops::migrate(plan).map_err(anyhow::Error::new)?;
    println!("store: {}", m.store);
    println!("schema version before: {}", m.before);
    println!("schema version after: {}", m.after);
    if m.before == m.after {
        println!("already at version {}: nothing to do", m.after);
    } else {
        println!("migrated {} -> {}", m.before, m.after);
    }
    for t in &m.tables {
        if t.created {
            println!("table {}: created", t.table);
        } else {
            println!("table {}: exists with the declared shape", t.table);
        }
    }
    Ok(0)
}
