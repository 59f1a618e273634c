//! Fingerprints for the drift check: source bytes, plan file, plugin files,
//! and the store's rows of the document.

pub use super::state::Fingerprint;
use crate::digest::sha256_hex;
use crate::plan::Plan;
use crate::stop::{Stop, StopCode};
use std::collections::BTreeMap;
use std::path::Path;

/// The largest plan, source or component file hashed.
const MAX_INPUT_BYTES: u64 = 256 << 20;

fn read(path: &Path, what: &str) -> Result<Vec<u8>, Stop> {
    phasehost_policy::safe_fs::read_regular_following(path, MAX_INPUT_BYTES).map_err(|e| {
        Stop::new(
            StopCode::Drift,
            format!("cannot read {what} {}: {e}", path.display()),
        )
    })
}

/// sha256 of the file at `path` (a regular file; `what` names it in errors).
pub fn file_sha256(path: &Path, what: &str) -> Result<String, Stop> {
    Ok(sha256_hex(&read(path, what)?))
}

/// One digest of the run's inputs (source, plan, plugins; not the store),
/// recorded with every live checkpoint: a resumed run proves with it that
/// its inputs are the ones its committed phases ran on.
pub fn inputs_digest(fingerprint: &Fingerprint) -> String {
    let mut text = format!(
        "phasehost-inputs-v1\nsource {}\nplan {}\n",
        fingerprint.source_sha256, fingerprint.plan_sha256
    );
    for (name, sha) in &fingerprint.plugins {
        text.push_str(&format!("plugin {name} {sha}\n"));
    }
    sha256_hex(text.as_bytes())
}

/// sha256 of every component the plan names, by plugin name.
pub fn plugin_digests(plan: &Plan) -> Result<BTreeMap<String, String>, Stop> {
    let mut digests = BTreeMap::new();
    let gates = plan.gates.iter().map(|g| (&g.name, &g.component));
    let phases = plan.phases.iter().map(|p| (&p.name, &p.component));
    for (name, component) in gates.chain(phases) {
        let bytes = read(&plan.resolve(component), "component")?;
        digests.insert(name.clone(), sha256_hex(&bytes));
    }
    Ok(digests)
}

/// Read the run's source document: a regular file (a FIFO or device is
/// refused, never waited on), bounded. `start` and `resume` read it once:
/// the bytes hashed into the fingerprint are the bytes the phases get.
/// Unreadable, it is `code`: `bad-source` when a run starts,
/// `drift` when a run resumes (its source was readable at the start).
pub fn read_source(path: &Path, code: StopCode) -> Result<Vec<u8>, Stop> {
    read(path, "source").map_err(|stop| Stop::new(code, stop.message))
}

/// The fingerprint of the run's inputs now (without the store digest);
/// `source` is the source document's bytes ([`read_source`]).
pub fn inputs(plan: &Plan, plan_path: &Path, source: &[u8]) -> Result<Fingerprint, Stop> {
    Ok(Fingerprint {
        source_sha256: sha256_hex(source),
        plan_sha256: sha256_hex(&read(plan_path, "plan")?),
        plugins: plugin_digests(plan)?,
        store_digest: None,
    })
}

/// Compare what was recorded with what is there now; name every difference.
pub fn compare(recorded: &Fingerprint, now: &Fingerprint) -> Result<(), Stop> {
    let mut changed = Vec::new();
    if recorded.source_sha256 != now.source_sha256 {
        changed.push("the source bytes".to_string());
    }
    if recorded.plan_sha256 != now.plan_sha256 {
        changed.push("the plan file".to_string());
    }
    for (name, sha) in &recorded.plugins {
        if now.plugins.get(name) != Some(sha) {
            changed.push(format!("plugin `{name}`"));
        }
    }
    if recorded.store_digest.is_some() && recorded.store_digest != now.store_digest {
        changed.push("the document's rows in the store".to_string());
    }
    if changed.is_empty() {
        Ok(())
    } else {
        Err(Stop::new(
            StopCode::Drift,
            format!("changed while the run was paused: {}", changed.join(", ")),
        ))
    }
}
