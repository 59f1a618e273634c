//! The one digest the host computes: sha256 as lowercase hex (plugins'
//! pins, the compile cache, evidence, run ids, source fingerprints).

use sha2::{Digest, Sha256};

/// sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
