//! `phasehost:plugin/artifacts`: named blobs in the run folder. Names are
//! granted one by one; a name is a plain file name (no path separators).

use super::{CapError, CapResult};
use crate::bindings::phase::phasehost::plugin::artifacts::Host;
use crate::digest::sha256_hex;
use crate::plan::Op;
use crate::runtime::state::PhaseState;
use phasehost_policy::safe_dir::SafeDir;

/// Largest blob a plugin may put.
const MAX_ARTIFACT_BYTES: usize = 256 << 20;

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl PhaseState {
    fn artifact_dir(&mut self, name: &str, op: Op) -> Result<SafeDir, CapError> {
        if !valid_name(name) {
            return Err(CapError::Invalid(format!(
                "artifact name `{}` must be a plain file name",
                super::shown(name)
            )));
        }
        if !self.grants.allows_artifact(name, op) {
            let verb = if op == Op::Read { "get" } else { "put" };
            return Err(self.deny(format!("{verb} on artifact `{}`", super::shown(name))));
        }
        let dir = self
            .services
            .artifacts_dir
            .clone()
            .ok_or_else(|| CapError::Refused("this run has no artifacts folder".into()))?;
        Ok(dir)
    }
}

impl Host for PhaseState {
    fn put(&mut self, name: String, bytes: Vec<u8>) -> CapResult<String> {
        self.enter(&[name.len(), bytes.len()], 0)?;
        let dir = self.artifact_dir(&name, Op::Insert)?;
        if bytes.len() > MAX_ARTIFACT_BYTES {
            return Err(CapError::Refused(format!(
                "artifact `{name}` is larger than {MAX_ARTIFACT_BYTES} bytes"
            ))
            .into());
        }
        self.guard_mutation()?;
        self.scan_outbound(
            &format!("artifact `{name}`"),
            &String::from_utf8_lossy(&bytes),
        )?;
        let durability = &self.services.artifacts_durability;
        durability
            .write_atomic_in(&dir, &name, &bytes, 0o644)
            .map_err(|e| {
                CapError::Refused(format!("artifact `{name}` could not be written: {e}"))
            })?;
        Ok(sha256_hex(&bytes))
    }

    fn get(&mut self, name: String) -> CapResult<Vec<u8>> {
        self.enter(&[name.len()], 0)?;
        let dir = self.artifact_dir(&name, Op::Read)?;
        // Never through a symlink planted in the run folder, never a FIFO.
        Ok(dir
            .read_regular(&name, MAX_ARTIFACT_BYTES as u64)
            .map_err(|_| CapError::NotFound(format!("artifact `{name}`")))?)
    }
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names_with_paths_are_invalid() {
        assert!(valid_name("backup.json"));
        for bad in ["", "..", "../x", "a/b", "a\\b", "/etc/passwd"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
