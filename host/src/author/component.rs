//! `phasehost component <core.wasm> -o <out.wasm>`: encode a core module
//! built for wasm32-unknown-unknown (its wit-bindgen custom sections
//! describe its world) as a component, with no WASI adapter.

use super::refused;
use crate::digest::sha256_hex;
use crate::stop::Stop;
use std::path::{Path, PathBuf};

/// A component written to disk.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    /// Where.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its sha256 (hex): what a plan pins.
    pub sha256: String,
}

/// Encode the core module `bytes` (read from `from`, for messages) and write
/// it to `out`. An existing `out` with other bytes is refused unless `force`.
pub fn encode_to(bytes: &[u8], from: &Path, out: &Path, force: bool) -> Result<Written, Stop> {
    let component = phasehost_build_plugins::encode_component(bytes).map_err(|e| {
        refused(format!(
            "cannot encode {} as a component: {e:#}",
            from.display()
        ))
    })?;
    match std::fs::read(out) {
        Ok(have) if have != component && !force => {
            return Err(refused(format!(
                "{} exists with other bytes; pass --force to replace it",
                out.display()
            )));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(refused(format!("{}: {e}", out.display()))),
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| refused(format!("{}: {e}", parent.display())))?;
    }
    crate::fsutil::write_atomic(out, &component)
        .map_err(|e| refused(format!("{}: {e}", out.display())))?;
    Ok(Written {
        path: out.to_path_buf(),
        bytes: component.len() as u64,
        sha256: sha256_hex(&component),
    })
}

/// Read core module `input`, encode it, write `out`.
pub fn run(input: &Path, out: &Path, force: bool) -> Result<Written, Stop> {
    let bytes = std::fs::read(input)
        .map_err(|e| refused(format!("cannot read {}: {e}", input.display())))?;
    encode_to(&bytes, input, out, force)
}
